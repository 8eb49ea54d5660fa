//! `faithfulness` evaluator, an LLM judge (faithful / unfaithful): does the output stay within what
//! its context supports?
//!
//! Reads the question (`input`: its `question`/`query`/`input`/`prompt` field, else the whole
//! input as text), the response (`output`) and its context: metadata `reference` or `context`,
//! else `expected`, else the input's `context` or `reference` field (a list of
//! documents is joined paragraph by paragraph). Without a context the example is `invalid-input`.
//!
//! Configuration: `provider` and `model` (required), `temperature` (0), `max_tokens`, `template`
//! (replaces the prompt below; variables `{input}`, `{output}`, `{reference}`). The score is named
//! `faithfulness`: 1.0 and label `faithful`, or 0.0 and label `unfaithful`, with the model's
//! explanation.

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use llm_judge::inputs::Reference;
use llm_judge::Judge;

/// The judge: its prompt, labels and reference.
pub const JUDGE: Judge = Judge {
    name: "faithfulness",
    description: "LLM judge: does the output stay within what its context supports? (faithful / unfaithful)",
    template: TEMPLATE,
    good: "faithful",
    bad: "unfaithful",
    reference: Reference::Context,
    reference_name: "a context",
};

/// The prompt; written for Ember in the spirit of Phoenix's built-in template of the same name.
const TEMPLATE: &str = "\
You are checking whether a response stays faithful to the context it was given. A faithful response\n\
makes only claims that follow from the context: it may summarise, rephrase or combine what the\n\
context says, and it may say that the context does not hold the answer. It is unfaithful when it\n\
adds facts the context does not contain, contradicts the context, or draws conclusions the context\n\
does not support.\n\
\n\
<question>\n\
{input}\n\
</question>\n\
\n\
<context>\n\
{reference}\n\
</context>\n\
\n\
<response>\n\
{output}\n\
</response>\n\
\n\
Reply in exactly this format:\n\
EXPLANATION: one or two sentences on which statements the context does or does not support.\n\
LABEL: faithful or unfaithful";

/// The plugin.
pub struct Faithfulness;

impl Evaluator for Faithfulness {
    fn describe() -> Descriptor {
        JUDGE.describe()
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        JUDGE.evaluate(input)
    }
}

ember_plugin_sdk::export_evaluator!(Faithfulness);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_shows_question_and_context() {
        let mut input = EvalInput::new(r#"{"question": "Capital of France?"}"#, r#""Paris""#, None);
        input.metadata = r#"{"context": "Paris is the capital of France."}"#.into();
        JUDGE.check_prompt(
            &input,
            &["<question>\nCapital of France?\n</question>", "<context>\nParis is the capital of France.\n"],
        );
    }

    #[test]
    fn missing_reference_is_invalid_input() {
        JUDGE.check_missing_reference_is_invalid_input(&EvalInput::new(r#""Capital of France?""#, r#""Paris""#, None));
    }

    #[test]
    fn replies_map_to_scores() {
        JUDGE.check_replies(
            "EXPLANATION: Stated in the context.\nLABEL: Faithful.",
            "LABEL: unfaithful\nEXPLANATION: adds a date",
        );
    }

    #[test]
    fn unparsable_replies_are_errors() {
        JUDGE.check_unparsable(&["neither faithful nor unfaithful"]);
    }
}

//! `hallucination` evaluator, an LLM judge (factual / hallucinated): is every claim of the output
//! backed by the reference text?
//!
//! Reads the question (`input`: its `question`/`query`/`input`/`prompt` field, else the whole
//! input as text), the answer (`output`) and a reference text: metadata `reference` or `context`,
//! else `expected`, else the input's `context` or `reference` field (a list of documents is joined
//! paragraph by paragraph). Without a reference the example is `invalid-input`.
//!
//! Configuration: `provider` and `model` (required), `temperature` (0), `max_tokens`, `template`
//! (replaces the prompt below; variables `{input}`, `{output}`, `{reference}`). The score is named
//! `hallucination`: 1.0 and label `factual`, or 0.0 and label `hallucinated`, with the model's
//! explanation.

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use llm_judge::inputs::Reference;
use llm_judge::Judge;

/// The judge: its prompt, labels and reference.
pub const JUDGE: Judge = Judge {
    name: "hallucination",
    description: "LLM judge: is every claim of the output backed by the reference text? (factual / hallucinated)",
    template: TEMPLATE,
    good: "factual",
    bad: "hallucinated",
    reference: Reference::Context,
    reference_name: "a reference text",
};

/// The prompt; written for Ember in the spirit of Phoenix's built-in template of the same name.
const TEMPLATE: &str = "\
You are checking an answer for hallucinations: claims that the reference text does not back up.\n\
Judge only against the reference text below, never against your own knowledge. An answer that\n\
invents a fact, changes a detail (a name, a number, a date) or asserts something the reference does\n\
not say is hallucinated, however plausible it sounds.\n\
\n\
<question>\n\
{input}\n\
</question>\n\
\n\
<reference>\n\
{reference}\n\
</reference>\n\
\n\
<answer>\n\
{output}\n\
</answer>\n\
\n\
Reply in exactly this format:\n\
EXPLANATION: one or two sentences on which claims the reference does or does not back up.\n\
LABEL: factual or hallucinated\n\
\n\
Use \"factual\" only when every claim of the answer is backed by the reference; otherwise use \"hallucinated\".";

/// The plugin.
pub struct Hallucination;

impl Evaluator for Hallucination {
    fn describe() -> Descriptor {
        JUDGE.describe()
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        JUDGE.evaluate(input)
    }
}

ember_plugin_sdk::export_evaluator!(Hallucination);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_shows_question_and_reference() {
        let mut input = EvalInput::new(r#"{"question": "Capital of France?"}"#, r#""Paris""#, None);
        input.metadata = r#"{"context": "Paris is the capital of France."}"#.into();
        JUDGE.check_prompt(
            &input,
            &["<question>\nCapital of France?\n</question>", "<reference>\nParis is the capital of France.\n"],
        );
    }

    #[test]
    fn missing_reference_is_invalid_input() {
        JUDGE.check_missing_reference_is_invalid_input(&EvalInput::new(r#""Capital of France?""#, r#""Paris""#, None));
    }

    #[test]
    fn replies_map_to_scores() {
        JUDGE.check_replies(
            "EXPLANATION: The reference names Paris as the capital.\nLABEL: factual",
            "**LABEL:** Hallucinated",
        );
    }

    #[test]
    fn unparsable_replies_are_errors() {
        JUDGE.check_unparsable(&["It is either factual or hallucinated."]);
    }
}

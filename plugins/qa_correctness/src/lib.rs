//! `qa_correctness` evaluator, an LLM judge (correct / incorrect): does the output answer the
//! question correctly, given the reference?
//!
//! Reads the question (`input`: its `question`/`query`/`input`/`prompt` field, else the whole
//! input as text), the answer (`output`) and a reference: `expected` first, else metadata
//! `reference` or `context`, else the input's `context` or `reference` field. Without one the
//! example is `invalid-input`.
//!
//! Configuration: `provider` and `model` (required), `temperature` (0), `max_tokens`, `template`
//! (replaces the prompt below; variables `{input}`, `{output}`, `{reference}`). The score is named
//! `qa_correctness`: 1.0 and label `correct`, or 0.0 and label `incorrect`, with the model's
//! explanation.

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use llm_judge::inputs::Reference;
use llm_judge::Judge;

/// The judge: its prompt, labels and reference.
pub const JUDGE: Judge = Judge {
    name: "qa_correctness",
    description: "LLM judge: does the output answer the question correctly, given the reference? (correct / incorrect)",
    template: TEMPLATE,
    good: "correct",
    bad: "incorrect",
    reference: Reference::Answer,
    reference_name: "a reference answer",
};

/// The prompt; written for Ember in the spirit of Phoenix's built-in template of the same name.
const TEMPLATE: &str = "\
You are grading an answer to a question. Decide whether it answers the question correctly,\n\
taking the reference as the source of truth. The wording may differ from the reference: what counts\n\
is that the answer states the same facts and contradicts none of them. An answer that leaves out\n\
something that changes its meaning, or that answers a different question, is incorrect.\n\
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
EXPLANATION: one or two sentences comparing the answer with the reference.\n\
LABEL: correct or incorrect";

/// The plugin.
pub struct QaCorrectness;

impl Evaluator for QaCorrectness {
    fn describe() -> Descriptor {
        JUDGE.describe()
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        JUDGE.evaluate(input)
    }
}

ember_plugin_sdk::export_evaluator!(QaCorrectness);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_shows_question_and_reference() {
        let input = EvalInput::new(
            r#"{"question": "Capital of France?"}"#,
            r#""Paris""#,
            Some(r#""Paris is the capital of France.""#.into()),
        );
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
        JUDGE.check_replies("EXPLANATION: Same city as the reference.\nLABEL: correct", "Incorrect.");
    }

    #[test]
    fn unparsable_replies_are_errors() {
        JUDGE.check_unparsable(&["Partly correct, partly incorrect."]);
    }
}

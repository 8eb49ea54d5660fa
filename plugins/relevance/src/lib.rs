//! `relevance` evaluator, an LLM judge (relevant / unrelated): does the retrieved text help answer
//! the question?
//!
//! Reads the question (`input`: its `question`/`query`/`input`/`prompt` field, else the whole
//! input as text) and the retrieved text to judge: metadata `reference` or `context`, else
//! `expected`, else the input's `context` or `reference` field, else the `output` itself (so the
//! output of a retrieval task can be scored directly). A list of documents is joined paragraph by
//! paragraph.
//!
//! Configuration: `provider` and `model` (required), `temperature` (0), `max_tokens`, `template`
//! (replaces the prompt below; variables `{input}`, `{output}`, `{reference}`). The score is named
//! `relevance`: 1.0 and label `relevant`, or 0.0 and label `unrelated`, with the model's
//! explanation.

use ember_plugin_sdk::evaluator::{Descriptor, EvalInput, Evaluator, PluginError, Score};
use llm_judge::inputs::Reference;
use llm_judge::Judge;

/// The judge: its prompt, labels and reference.
pub const JUDGE: Judge = Judge {
    name: "relevance",
    description: "LLM judge: does the retrieved text help answer the question? (relevant / unrelated)",
    template: TEMPLATE,
    good: "relevant",
    bad: "unrelated",
    reference: Reference::ContextOrOutput,
    reference_name: "a retrieved text",
};

/// The prompt; written for Ember in the spirit of Phoenix's built-in template of the same name.
const TEMPLATE: &str = "\
You are judging a text returned by a search or retrieval system. Decide whether it holds\n\
information that helps answer the question. It does not have to answer the question fully: it is\n\
relevant when any part of it bears on what was asked. It is unrelated when it is about something\n\
else, or would not help anyone answer the question.\n\
\n\
<question>\n\
{input}\n\
</question>\n\
\n\
<text>\n\
{reference}\n\
</text>\n\
\n\
Reply in exactly this format:\n\
EXPLANATION: one or two sentences on how the text does or does not bear on the question.\n\
LABEL: relevant or unrelated";

/// The plugin.
pub struct Relevance;

impl Evaluator for Relevance {
    fn describe() -> Descriptor {
        JUDGE.describe()
    }

    fn evaluate(input: EvalInput) -> Result<Vec<Score>, PluginError> {
        JUDGE.evaluate(input)
    }
}

ember_plugin_sdk::export_evaluator!(Relevance);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_shows_question_and_reference() {
        let mut input = EvalInput::new(r#"{"question": "Capital of France?"}"#, r#""Paris""#, None);
        input.metadata = r#"{"context": "Paris is the capital of France."}"#.into();
        JUDGE.check_prompt(
            &input,
            &["<question>\nCapital of France?\n</question>", "<text>\nParis is the capital of France.\n"],
        );
    }

    #[test]
    fn without_a_reference_the_output_is_judged() {
        let input = EvalInput::new(r#""Capital of France?""#, r#""Paris is the capital of France.""#, None);
        JUDGE.check_prompt(&input, &["<text>\nParis is the capital of France.\n</text>"]);
    }

    #[test]
    fn replies_map_to_scores() {
        JUDGE.check_replies("explanation: it names the capital\nlabel: RELEVANT", "unrelated");
    }

    #[test]
    fn unparsable_replies_are_errors() {
        JUDGE.check_unparsable(&["relevant? unrelated?"]);
    }
}

//! The four checks every judge plugin's unit tests make, written once: each plugin supplies its
//! own example and model replies, the assertions about its prompt, labels, scores and errors
//! live here. They panic with the offending prompt or error, as test assertions do.

use ember_plugin_sdk::evaluator::{EvalInput, PluginError};

use crate::Judge;

impl Judge {
    /// The built-in prompt for `input` shows every one of `shows`, asks for the judge's two
    /// labels (in either order), and leaves no template variable unfilled.
    pub fn check_prompt(&self, input: &EvalInput, shows: &[&str]) {
        let prompt = match self.prompt(self.template, input) {
            Ok(prompt) => prompt,
            Err(err) => panic!("{}: no prompt for a complete example: {err:?}", self.name),
        };
        for part in shows {
            assert!(prompt.contains(part), "{}: the prompt does not show {part:?}:\n{prompt}", self.name);
        }
        let asks = |first: &str, second: &str| prompt.contains(&format!("LABEL: {first} or {second}"));
        assert!(
            asks(self.good, self.bad) || asks(self.bad, self.good),
            "{}: the prompt does not ask for `LABEL: {} or {}`:\n{prompt}",
            self.name,
            self.good,
            self.bad
        );
        assert!(!prompt.contains('{'), "{}: a template variable is left in the prompt:\n{prompt}", self.name);
    }

    /// An example without the reference the judge needs is `invalid-input`, not a model call.
    pub fn check_missing_reference_is_invalid_input(&self, input: &EvalInput) {
        match self.prompt(self.template, input) {
            Err(PluginError::InvalidInput(_)) => {}
            other => panic!("{}: expected invalid-input without a reference, got {other:?}", self.name),
        }
    }

    /// `good_reply` scores 1.0 with the good label and `bad_reply` 0.0 with the bad one, both
    /// named after the judge.
    pub fn check_replies(&self, good_reply: &str, bad_reply: &str) {
        for (reply, value, label) in [(good_reply, 1.0, self.good), (bad_reply, 0.0, self.bad)] {
            let score = match self.score(reply) {
                Ok(score) => score,
                Err(err) => panic!("{}: {reply:?} did not parse: {err:?}", self.name),
            };
            let got = (score.name.as_str(), score.score, score.label.as_deref());
            assert_eq!(got, (self.name, Some(value), Some(label)), "{}: reply {reply:?}", self.name);
        }
    }

    /// An empty reply, a refusal and every one of `ambiguous` are errors saying the reply was
    /// unparsable, never a guessed score.
    pub fn check_unparsable(&self, ambiguous: &[&str]) {
        for reply in ["", "I cannot decide."].iter().chain(ambiguous) {
            match self.score(reply) {
                Err(err) if err.message().starts_with("unparsable judge reply: ") => {}
                other => panic!("{}: expected an unparsable-reply error for {reply:?}, got {other:?}", self.name),
            }
        }
    }
}

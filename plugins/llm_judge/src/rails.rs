//! Reading a judge's verdict from the model's reply: the label must be one of two "rails".
//!
//! The templates ask for `EXPLANATION: …` and `LABEL: …` lines; a `LABEL:` line wins when there
//! is one. Otherwise the whole reply must name exactly one rail (a bare `factual.`, say). Labels
//! match case-insensitively, ignoring surrounding whitespace, punctuation and markdown, and only
//! as whole words: `incorrect` never counts as `correct`, nor `non-toxic` as `toxic`.

/// What the model answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The rail the reply names, as spelled in the rails.
    pub label: &'static str,
    /// The model's reasoning, when it gave any.
    pub explanation: Option<String>,
}

/// Reads the verdict from `reply`; `None` when it names no rail, or both.
pub fn parse(reply: &str, rails: [&'static str; 2]) -> Option<Verdict> {
    let lines: Vec<&str> = reply.lines().collect();
    let label_line = lines.iter().rposition(|line| field(line, "label").is_some());
    let Some(label_index) = label_line else {
        return match_rail(reply, rails).map(|label| Verdict { label, explanation: None });
    };
    let label = match_rail(field(lines[label_index], "label")?, rails)?;
    Some(Verdict { label, explanation: explanation(&lines, label_index) })
}

/// The text after `name:` when `line` is such a field (`LABEL: x`, `**Label:** x`, `- label: x`).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let line = line.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '*' | '#' | '-' | '>' | '_'));
    let head = line.get(..name.len())?;
    if !head.eq_ignore_ascii_case(name) {
        return None;
    }
    let rest = line[name.len()..].trim_start_matches(['*', '_', ' ']);
    let value = rest.strip_prefix(':')?;
    Some(value.trim_start_matches(['*', '_']))
}

/// The explanation: the `EXPLANATION:` field and the lines after it (up to the label line), else
/// every other non-empty line of the reply.
fn explanation(lines: &[&str], label_index: usize) -> Option<String> {
    let start = lines.iter().position(|line| field(line, "explanation").is_some());
    let text: Vec<&str> = match start {
        Some(start) => {
            let end = if label_index > start { label_index } else { lines.len() };
            let first = field(lines[start], "explanation").unwrap_or_default();
            std::iter::once(first).chain(lines[start + 1..end].iter().copied()).collect()
        }
        None => lines.iter().enumerate().filter(|(i, _)| *i != label_index).map(|(_, line)| *line).collect(),
    };
    let text = text.join("\n");
    let text = text.trim().trim_matches(['*', '_']).trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The one rail `text` names: the whole text is a rail, or exactly one rail occurs in it as a word.
fn match_rail(text: &str, rails: [&'static str; 2]) -> Option<&'static str> {
    let normal = normalize(text);
    let bare = normal.trim_matches(|c: char| !c.is_alphanumeric());
    if let Some(rail) = rails.iter().find(|rail| normalize(rail) == bare) {
        return Some(rail);
    }
    let words: Vec<&str> =
        normal.split(|c: char| !(c.is_alphanumeric() || c == '-')).map(|w| w.trim_matches('-')).collect();
    let mut found = rails.iter().filter(|rail| words.contains(&normalize(rail).as_str()));
    match (found.next(), found.next()) {
        (Some(rail), None) => Some(rail),
        _ => None,
    }
}

/// Lowercase, `_` and inner spaces of `non toxic` as `-`, so spellings of one label compare equal.
fn normalize(text: &str) -> String {
    text.to_lowercase().replace('_', "-").replace("non ", "non-")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACT: [&str; 2] = ["factual", "hallucinated"];
    const TOX: [&str; 2] = ["non-toxic", "toxic"];
    const QA: [&str; 2] = ["correct", "incorrect"];

    fn label(reply: &str, rails: [&'static str; 2]) -> Option<&'static str> {
        parse(reply, rails).map(|v| v.label)
    }

    #[test]
    fn bare_labels_with_noise() {
        assert_eq!(label("factual", FACT), Some("factual"));
        assert_eq!(label("  Hallucinated.\n", FACT), Some("hallucinated"));
        assert_eq!(label("\"FACTUAL\"", FACT), Some("factual"));
        assert_eq!(label("**factual**", FACT), Some("factual"));
        assert_eq!(label("`non-toxic`", TOX), Some("non-toxic"));
        assert_eq!(label("Non toxic!", TOX), Some("non-toxic"));
        assert_eq!(label("non_toxic", TOX), Some("non-toxic"));
        assert_eq!(label("TOXIC", TOX), Some("toxic"));
    }

    #[test]
    fn overlapping_rails_match_whole_words_only() {
        assert_eq!(label("incorrect", QA), Some("incorrect"));
        assert_eq!(label("The answer is incorrect.", QA), Some("incorrect"));
        assert_eq!(label("The text is non-toxic.", TOX), Some("non-toxic"));
        assert_eq!(label("This is correct.", QA), Some("correct"));
    }

    #[test]
    fn label_and_explanation_fields() {
        let reply = "EXPLANATION: The reference says Paris.\nThe answer says Paris too.\nLABEL: factual";
        let verdict = parse(reply, FACT).unwrap();
        assert_eq!(verdict.label, "factual");
        assert_eq!(verdict.explanation.as_deref(), Some("The reference says Paris.\nThe answer says Paris too."));
        let reply = "**Label:** Incorrect\n**Explanation:** off by one";
        let verdict = parse(reply, QA).unwrap();
        assert_eq!(verdict.label, "incorrect");
        assert_eq!(verdict.explanation.as_deref(), Some("off by one"));
        let verdict = parse("label: toxic", TOX).unwrap();
        assert_eq!((verdict.label, verdict.explanation), ("toxic", None));
    }

    #[test]
    fn label_field_wins_over_prose() {
        let reply = "It is not hallucinated, every claim is in the text.\nLABEL: factual";
        let verdict = parse(reply, FACT).unwrap();
        assert_eq!(verdict.label, "factual");
        assert_eq!(verdict.explanation.as_deref(), Some("It is not hallucinated, every claim is in the text."));
    }

    #[test]
    fn unparsable_replies() {
        assert_eq!(label("", FACT), None);
        assert_eq!(label("I cannot tell.", FACT), None);
        assert_eq!(label("factual or hallucinated, hard to say", FACT), None);
        assert_eq!(label("LABEL: maybe", FACT), None);
        assert_eq!(label("factually wrong", FACT), None);
        assert_eq!(label("labels: factual hallucinated", FACT), None);
    }
}

//! A tiny template engine: `{name}` is replaced by the variable's value, `{{` and `}}` are
//! literal braces, and any other `{` is kept as it is (so a template may show JSON).
//!
//! Substitution is a single pass: text inside a value (an example's input or output) is never
//! expanded, so an example cannot inject another variable into the prompt.

/// A template names a variable it was not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariable(pub String);

impl std::fmt::Display for UnknownVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the template uses an unknown variable {{{}}}", self.0)
    }
}

/// Renders `template` with `variables` (name, value).
pub fn render(template: &str, variables: &[(&str, &str)]) -> Result<String, UnknownVariable> {
    let value_bytes: usize = variables.iter().map(|(_, value)| value.len()).sum();
    let mut out = String::with_capacity(template.len() + value_bytes);
    let mut rest = template;
    while let Some(brace) = rest.find(['{', '}']) {
        out.push_str(&rest[..brace]);
        let tail = &rest[brace..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(name) = placeholder(tail) {
            let Some((_, value)) = variables.iter().find(|(n, _)| *n == name) else {
                return Err(UnknownVariable(name.to_owned()));
            };
            out.push_str(value);
            rest = &tail[name.len() + 2..];
            continue;
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The variable name when `text` starts with `{name}` (letters, digits and `_`, not starting
/// with a digit).
fn placeholder(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('{')?;
    let end = inner.find('}')?;
    let name = &inner[..end];
    let valid = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_variables() {
        let out = render("Q: {input}\nA: {output}", &[("input", "2+2?"), ("output", "4")]).unwrap();
        assert_eq!(out, "Q: 2+2?\nA: 4");
    }

    #[test]
    fn braces_and_json_stay_literal() {
        let out = render(r#"{{input}} {"label": "x"} { input } {1a} }"#, &[("input", "v")]).unwrap();
        assert_eq!(out, r#"{input} {"label": "x"} { input } {1a} }"#);
    }

    #[test]
    fn values_are_not_expanded_again() {
        let out = render("{output}", &[("output", "{input} {{x}}"), ("input", "SECRET")]).unwrap();
        assert_eq!(out, "{input} {{x}}");
    }

    #[test]
    fn unknown_variables_are_errors() {
        let err = render("{nope}", &[("input", "x")]).unwrap_err();
        assert_eq!(err, UnknownVariable("nope".into()));
        assert!(err.to_string().contains("{nope}"));
    }

    #[test]
    fn multibyte_text_is_kept() {
        assert_eq!(render("é{a}ü}", &[("a", "ß")]).unwrap(), "éßü}");
    }
}

//! Variable substitution in one template string: MUSTACHE, F_STRING or NONE.
//!
//! Both formats scan the template once, left to right, so a substituted value is never expanded
//! again (a value holding `{{ x }}` stays literal). Strings are inserted as they are; any other
//! JSON value as compact JSON. A variable the template names but `variables` lacks is
//! [`RenderError::MissingVariable`]; variables the template does not name are ignored.
//!
//! MUSTACHE follows the rules Phoenix's own formatters apply: `{{ name }}` (whitespace inside the
//! braces allowed) where `name` is Unicode word characters, optionally dotted (`{{ user.name }}`
//! reads `variables["user"]["name"]` unless a variable is literally named `user.name`). A
//! backslash before `{{` escapes it and both are kept verbatim (`\{{ x }}` renders as
//! `\{{ x }}`, as Phoenix does). Anything else in double braces (sections such as `{{#items}}`,
//! empty `{{ }}`) is not a variable and is kept as written.
//!
//! F_STRING follows Python's `str.format` for named fields: `{name}` (or dotted `{a.b}`), with
//! `{{` and `}}` for literal braces. Positional fields (`{}`), conversions (`{x!r}`), format
//! specs (`{x:>4}`), a lone `}` and an unclosed `{` are [`RenderError::InvalidTemplate`].

use serde_json::{Map, Value};

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("missing template variable {0:?}")]
    MissingVariable(String),
    #[error("invalid template at byte {position}: {reason}")]
    InvalidTemplate { position: usize, reason: String },
    #[error("invalid stored prompt: {0}")]
    InvalidPrompt(String),
}

/// How variables are written in a template (Phoenix's `PromptTemplateFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateFormat {
    Mustache,
    FString,
    None,
}

impl TemplateFormat {
    /// Parses Phoenix's enum name (`MUSTACHE`, `F_STRING`, `NONE`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "MUSTACHE" => Some(Self::Mustache),
            "F_STRING" => Some(Self::FString),
            "NONE" => Some(Self::None),
            _ => None,
        }
    }
}

/// Renders `template` in `format` with `variables`.
pub fn render_text(
    template: &str,
    format: TemplateFormat,
    variables: &Map<String, Value>,
) -> Result<String, RenderError> {
    match format {
        TemplateFormat::Mustache => render_mustache(template, variables),
        TemplateFormat::FString => render_fstring(template, variables),
        TemplateFormat::None => Ok(template.to_owned()),
    }
}

/// A variable's value as inserted text: strings raw, anything else compact JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Looks `path` up: the whole name first, then as a dotted path through objects.
fn lookup<'a>(variables: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = variables.get(path) {
        return Some(value);
    }
    let mut parts = path.split('.');
    let mut current = variables.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A variable name: word characters, optionally in dot-separated segments.
fn is_variable_path(name: &str) -> bool {
    !name.is_empty() && name.split('.').all(|part| !part.is_empty() && part.chars().all(is_word))
}

fn render_mustache(template: &str, variables: &Map<String, Value>) -> Result<String, RenderError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let escaped = rest[..start].ends_with('\\');
        let after_open = &rest[start + 2..];
        let tag = if escaped { None } else { after_open.find("}}").map(|end| (end, after_open[..end].trim())) };
        match tag {
            Some((end, name)) if is_variable_path(name) => {
                let value = lookup(variables, name).ok_or_else(|| RenderError::MissingVariable(name.to_owned()))?;
                out.push_str(&rest[..start]);
                out.push_str(&value_text(value));
                rest = &after_open[end + 2..];
            }
            // Escaped, unclosed or not a variable: keep the first brace and look again from the
            // second, so that `{{{x}}}` renders as `{X}` the way Phoenix's formatter does.
            _ => {
                out.push_str(&rest[..start + 1]);
                rest = &rest[start + 1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn render_fstring(template: &str, variables: &Map<String, Value>) -> Result<String, RenderError> {
    let invalid = |position: usize, reason: &str| RenderError::InvalidTemplate { position, reason: reason.to_owned() };
    let mut out = String::with_capacity(template.len());
    let mut chars = template.char_indices().peekable();
    while let Some((position, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|&(_, next)| next == '{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().is_some_and(|&(_, next)| next == '}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(invalid(position, "single '}' encountered")),
            '{' => {
                let body_start = position + 1;
                let Some(length) = template[body_start..].find('}') else {
                    return Err(invalid(position, "'{' is never closed"));
                };
                let field = &template[body_start..body_start + length];
                if field.contains('{') {
                    return Err(invalid(position, "nested '{' in a replacement field"));
                }
                if field.contains('!') || field.contains(':') {
                    return Err(invalid(position, "conversions and format specs are not supported"));
                }
                if field.trim().is_empty() {
                    return Err(invalid(position, "positional fields are not supported; name the variable"));
                }
                let value = lookup(variables, field).ok_or_else(|| RenderError::MissingVariable(field.to_owned()))?;
                out.push_str(&value_text(value));
                while chars.peek().is_some_and(|&(i, _)| i <= body_start + length) {
                    chars.next();
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn mustache(template: &str, variables: Value) -> Result<String, RenderError> {
        render_text(template, TemplateFormat::Mustache, &vars(variables))
    }

    fn fstring(template: &str, variables: Value) -> Result<String, RenderError> {
        render_text(template, TemplateFormat::FString, &vars(variables))
    }

    #[test]
    fn mustache_substitutes_with_and_without_whitespace() {
        let v = json!({"name": "Ada", "city": "Paris"});
        assert_eq!(mustache("Hi {{name}} from {{  city }}!", v.clone()).unwrap(), "Hi Ada from Paris!");
        assert_eq!(mustache("{{name}}{{city}}", v.clone()).unwrap(), "AdaParis");
        assert_eq!(mustache("{{\tname\n}}", v).unwrap(), "Ada");
    }

    #[test]
    fn mustache_missing_variable_is_an_error_and_extras_are_ignored() {
        assert_eq!(mustache("{{ a }} {{ b }}", json!({"a": 1})), Err(RenderError::MissingVariable("b".into())));
        assert_eq!(mustache("plain", json!({"unused": 1})).unwrap(), "plain");
    }

    #[test]
    fn mustache_values_are_not_expanded_again() {
        let v = json!({"a": "{{ b }}", "b": "no"});
        assert_eq!(mustache("{{a}}", v).unwrap(), "{{ b }}");
    }

    #[test]
    fn mustache_non_strings_are_compact_json() {
        let v = json!({"n": 3, "f": 1.5, "b": true, "z": null, "o": {"k": [1, "x"]}});
        assert_eq!(mustache("{{n}} {{f}} {{b}} {{z}} {{o}}", v).unwrap(), r#"3 1.5 true null {"k":[1,"x"]}"#);
    }

    #[test]
    fn mustache_escapes_sections_and_unclosed_braces_stay_literal() {
        let v = json!({"x": "X", "items": []});
        assert_eq!(mustache(r"\{{ x }} and {{x}}", v.clone()).unwrap(), r"\{{ x }} and X");
        assert_eq!(mustache("{{#items}}-{{/items}}", v.clone()).unwrap(), "{{#items}}-{{/items}}");
        assert_eq!(mustache("{{ }} {{ x", v.clone()).unwrap(), "{{ }} {{ x");
        assert_eq!(mustache("{{{x}}}", v).unwrap(), "{X}");
    }

    #[test]
    fn mustache_handles_unicode_names_values_and_dotted_paths() {
        let v = json!({"café": "crème ☕", "user": {"name": "Zoë"}, "a.b": "literal"});
        assert_eq!(mustache("→{{café}}←", v.clone()).unwrap(), "→crème ☕←");
        assert_eq!(mustache("{{ user.name }}", v.clone()).unwrap(), "Zoë");
        assert_eq!(mustache("{{a.b}}", v.clone()).unwrap(), "literal");
        assert_eq!(mustache("{{ user.age }}", v), Err(RenderError::MissingVariable("user.age".into())));
    }

    #[test]
    fn fstring_substitutes_and_unescapes_braces() {
        let v = json!({"x": "1", "y": 2});
        assert_eq!(fstring("{x}{y}", v.clone()).unwrap(), "12");
        assert_eq!(fstring("{{x}} is {x}; {{{x}}}", v.clone()).unwrap(), "{x} is 1; {1}");
        assert_eq!(fstring("json: {{\"k\": {y}}}", v).unwrap(), "json: {\"k\": 2}");
    }

    #[test]
    fn fstring_values_are_not_expanded_again() {
        assert_eq!(fstring("{a}", json!({"a": "{b}", "b": "no"})).unwrap(), "{b}");
    }

    #[test]
    fn fstring_errors_are_typed() {
        assert_eq!(fstring("{missing}", json!({})), Err(RenderError::MissingVariable("missing".into())));
        for bad in ["oops }", "{x", "{}", "{x!r}", "{x:>4}"] {
            assert!(matches!(fstring(bad, json!({"x": 1})), Err(RenderError::InvalidTemplate { .. })), "{bad}");
        }
    }

    #[test]
    fn fstring_unicode_and_dotted_paths() {
        let v = json!({"名前": "値", "u": {"n": "ü"}});
        assert_eq!(fstring("«{名前}» {u.n}", v).unwrap(), "«値» ü");
    }

    #[test]
    fn none_keeps_the_template() {
        let template = "{{ x }} {y} }";
        assert_eq!(render_text(template, TemplateFormat::None, &Map::new()).unwrap(), template);
    }
}

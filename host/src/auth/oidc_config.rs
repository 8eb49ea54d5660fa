//! OpenID Connect providers from the environment, in Phoenix's spelling:
//! `EMBER_OAUTH2_<IDP>_CLIENT_ID`, `…_CLIENT_SECRET`, `…_OIDC_CONFIG_URL` and the optional
//! `…_DISPLAY_NAME`, `…_ALLOW_SIGN_UP`, `…_AUTO_LOGIN`, `…_SCOPES`, `…_GROUPS_ATTRIBUTE_PATH`,
//! `…_ALLOWED_GROUPS`, `…_ROLE_ATTRIBUTE_PATH`, `…_ROLE_MAPPING`, `…_ROLE_ATTRIBUTE_STRICT`, plus
//! Ember's `…_PROJECT_ROLE_MAPPING` (`group:project:ROLE,…`). `PHOENIX_OAUTH2_…` is read too; the
//! `EMBER_` name wins.

use std::collections::BTreeMap;
use std::fmt;

use super::principal::Role;

const SUFFIXES: [&str; 13] = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "OIDC_CONFIG_URL",
    "DISPLAY_NAME",
    "ALLOW_SIGN_UP",
    "AUTO_LOGIN",
    "SCOPES",
    "GROUPS_ATTRIBUTE_PATH",
    "ALLOWED_GROUPS",
    "ROLE_ATTRIBUTE_PATH",
    "ROLE_MAPPING",
    "ROLE_ATTRIBUTE_STRICT",
    "PROJECT_ROLE_MAPPING",
];

/// A client secret: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// The secret, for the token request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(…)")
    }
}

/// One configured identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    /// The `<IDP>` part of the variables, lower-case: the path segment of `/oauth2/{idp}/…`.
    pub name: String,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// The issuer: the discovery URL without `/.well-known/openid-configuration`.
    pub issuer: String,
    /// Create an account at first sign-in (default), or only admit existing ones.
    pub allow_sign_up: bool,
    pub auto_login: bool,
    /// Scopes besides `openid email profile`.
    pub scopes: Vec<String>,
    /// Dotted path to the groups claim (`groups`, `realm_access.roles`).
    pub groups_path: Option<String>,
    /// Only members of one of these groups may sign in (empty: anyone).
    pub allowed_groups: Vec<String>,
    /// Dotted path to a claim holding the IdP's role name(s).
    pub role_path: Option<String>,
    /// IdP role name → Ember role.
    pub role_mapping: Vec<(String, Role)>,
    /// Refuse sign-in when no role maps (instead of the default `VIEWER`).
    pub role_strict: bool,
    /// Group → (project, role): the per-project roles a group gives.
    pub project_roles: Vec<(String, String, Role)>,
}

/// A provider setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OidcConfigError {
    #[error("OAuth2 provider {idp}: {key} is required")]
    Missing { idp: String, key: &'static str },
    #[error("OAuth2 provider {idp}: {key}={value:?} is not valid: {why}")]
    Invalid { idp: String, key: &'static str, value: String, why: String },
}

/// Every provider named by `vars` (the process environment in production).
pub fn providers_from(vars: impl IntoIterator<Item = (String, String)>) -> Result<Vec<OidcProvider>, OidcConfigError> {
    let mut settings: BTreeMap<String, BTreeMap<&'static str, (bool, String)>> = BTreeMap::new();
    for (key, value) in vars {
        let (ember, rest) = match (key.strip_prefix("EMBER_OAUTH2_"), key.strip_prefix("PHOENIX_OAUTH2_")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            (None, None) => continue,
        };
        // The longest suffix that fits: `…_PROJECT_ROLE_MAPPING` is not `…_PROJECT` + `ROLE_MAPPING`.
        let fitting = SUFFIXES.iter().filter_map(|s| Some((rest.strip_suffix(s)?.strip_suffix('_')?, *s)));
        let Some((idp, suffix)) = fitting.min_by_key(|(idp, _)| idp.len()) else {
            continue;
        };
        if idp.is_empty() {
            continue;
        }
        let entry = settings.entry(idp.to_ascii_lowercase()).or_default();
        if ember || !entry.get(suffix).is_some_and(|(from_ember, _)| *from_ember) {
            entry.insert(suffix, (ember, value));
        }
    }
    settings.into_iter().map(|(idp, values)| provider(idp, values)).collect()
}

fn provider(idp: String, values: BTreeMap<&'static str, (bool, String)>) -> Result<OidcProvider, OidcConfigError> {
    let get = |key: &'static str| values.get(key).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty());
    let required = |key: &'static str| get(key).ok_or_else(|| OidcConfigError::Missing { idp: idp.clone(), key });
    let invalid = |key: &'static str, value: &str, why: &str| OidcConfigError::Invalid {
        idp: idp.clone(),
        key,
        value: value.to_owned(),
        why: why.to_owned(),
    };
    let flag = |key: &'static str, default: bool| match get(key).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(invalid(key, &v, "expected true or false")),
    };
    let list = |key: &'static str, separator: char| -> Vec<String> {
        get(key)
            .map(|v| v.split(separator).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let config_url = required("OIDC_CONFIG_URL")?;
    let issuer = config_url.trim_end_matches('/').trim_end_matches("/.well-known/openid-configuration").to_owned();
    if url::Url::parse(&issuer).is_err() {
        return Err(invalid("OIDC_CONFIG_URL", &config_url, "not a URL"));
    }
    let mut role_mapping = Vec::new();
    for pair in list("ROLE_MAPPING", ',') {
        let parsed = pair.rsplit_once(':').and_then(|(from, to)| Some((from.trim().to_owned(), Role::parse(to)?)));
        role_mapping
            .push(parsed.ok_or_else(|| invalid("ROLE_MAPPING", &pair, "expected idp_role:ADMIN|MEMBER|VIEWER"))?);
    }
    let mut project_roles = Vec::new();
    for entry in list("PROJECT_ROLE_MAPPING", ',') {
        let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
        match parts.as_slice() {
            [group, project, role] if !group.is_empty() && !project.is_empty() => match Role::parse(role) {
                Some(role) => project_roles.push(((*group).to_owned(), (*project).to_owned(), role)),
                None => return Err(invalid("PROJECT_ROLE_MAPPING", &entry, "unknown role")),
            },
            _ => return Err(invalid("PROJECT_ROLE_MAPPING", &entry, "expected group:project:ROLE")),
        }
    }
    Ok(OidcProvider {
        display_name: get("DISPLAY_NAME").unwrap_or_else(|| idp.clone()),
        client_id: required("CLIENT_ID")?,
        client_secret: ClientSecret(required("CLIENT_SECRET")?),
        issuer,
        allow_sign_up: flag("ALLOW_SIGN_UP", true)?,
        auto_login: flag("AUTO_LOGIN", false)?,
        scopes: list("SCOPES", ' ')
            .into_iter()
            .flat_map(|s| s.split(',').map(str::to_owned).collect::<Vec<_>>())
            .collect(),
        groups_path: get("GROUPS_ATTRIBUTE_PATH"),
        allowed_groups: list("ALLOWED_GROUPS", ','),
        role_path: get("ROLE_ATTRIBUTE_PATH"),
        role_mapping,
        role_strict: flag("ROLE_ATTRIBUTE_STRICT", false)?,
        project_roles,
        name: idp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn providers_are_read_in_phoenix_spelling_and_ember_wins() {
        let found = providers_from(vars(&[
            ("PHOENIX_OAUTH2_MY_IDP_CLIENT_ID", "phoenix-id"),
            ("EMBER_OAUTH2_MY_IDP_CLIENT_ID", "ember-id"),
            ("EMBER_OAUTH2_MY_IDP_CLIENT_SECRET", "s3cret"),
            ("EMBER_OAUTH2_MY_IDP_OIDC_CONFIG_URL", "https://idp.example/.well-known/openid-configuration"),
            ("EMBER_OAUTH2_MY_IDP_ROLE_MAPPING", "owners:ADMIN, devs:member"),
            ("EMBER_OAUTH2_MY_IDP_PROJECT_ROLE_MAPPING", "team-a:alpha:MEMBER"),
            ("EMBER_OAUTH2_MY_IDP_ALLOW_SIGN_UP", "false"),
            ("EMBER_UNRELATED", "x"),
        ]))
        .unwrap();
        assert_eq!(found.len(), 1);
        let idp = &found[0];
        assert_eq!((idp.name.as_str(), idp.client_id.as_str()), ("my_idp", "ember-id"));
        assert_eq!(idp.issuer, "https://idp.example");
        assert_eq!(idp.role_mapping, [("owners".to_owned(), Role::Admin), ("devs".to_owned(), Role::Member)]);
        assert_eq!(idp.project_roles, [("team-a".to_owned(), "alpha".to_owned(), Role::Member)]);
        assert!(!idp.allow_sign_up);
        assert!(!format!("{idp:?}").contains("s3cret"), "the secret is never printed");
    }

    #[test]
    fn an_incomplete_provider_is_an_error_naming_what_is_missing() {
        let err = providers_from(vars(&[("EMBER_OAUTH2_X_CLIENT_ID", "id")])).unwrap_err();
        assert!(matches!(err, OidcConfigError::Missing { .. }) && err.to_string().contains("is required"), "{err}");
        let bad = providers_from(vars(&[
            ("EMBER_OAUTH2_X_CLIENT_ID", "id"),
            ("EMBER_OAUTH2_X_CLIENT_SECRET", "s"),
            ("EMBER_OAUTH2_X_OIDC_CONFIG_URL", "https://idp.example"),
            ("EMBER_OAUTH2_X_ROLE_MAPPING", "owners:KING"),
        ]));
        assert!(bad.is_err());
    }
}

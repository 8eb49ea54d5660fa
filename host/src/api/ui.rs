//! The web UI: the SPA built into the binary (or read from `EMBER_UI_DIR`), served at `/` under
//! the root path. Hashed assets are cached for a year and sent gzip-compressed when the client
//! accepts it; every other GET that names no API route gets `index.html`, so deep links work.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One file of `ui/dist`, embedded at build time (see `host/build.rs`).
struct Asset {
    path: &'static str,
    body: &'static [u8],
    gzip: Option<&'static [u8]>,
}

static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// Shown when the binary was built without `ui/dist`.
const NOT_BUILT: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Ember</title>\
<link rel=\"icon\" href=\"data:,\"></head><body><h1>Ember</h1><p>This binary was built without the web \
UI. Run <code>bash ui/build.sh</code> and build again; the REST API, OTLP and <a href=\"graphql\">GraphQL</a> \
work regardless.</p></body></html>";

/// A UI file's bytes (borrowed from the binary when embedded) and its gzip variant, if any.
type UiFile = (Cow<'static, [u8]>, Option<&'static [u8]>);

/// Where the UI comes from and the path prefix it is served under.
#[derive(Debug, Clone)]
pub struct UiAssets {
    root_path: Arc<str>,
    dir: Option<Arc<PathBuf>>,
}

impl UiAssets {
    /// The embedded UI, or the one in `dir` when given; `root_path` is `""` or `/prefix`.
    pub fn new(root_path: &str, dir: Option<PathBuf>) -> Self {
        Self { root_path: Arc::from(root_path), dir: dir.map(Arc::new) }
    }

    /// `""` or the `/prefix` the server is reached under.
    pub fn root_path(&self) -> &str {
        &self.root_path
    }

    /// Whether a UI was built into this binary.
    pub fn embedded() -> bool {
        ASSETS.iter().any(|asset| asset.path == "/index.html")
    }

    /// A file's bytes and gzip variant, by its path under the UI root (`/assets/x.js`).
    fn file(&self, path: &str) -> Option<UiFile> {
        match &self.dir {
            Some(dir) => read_from(dir, path).map(|bytes| (Cow::Owned(bytes), None)),
            None => ASSETS.iter().find(|asset| asset.path == path).map(|asset| (Cow::Borrowed(asset.body), asset.gzip)),
        }
    }

    /// `index.html` with the root path and the server's settings injected.
    fn index(&self) -> String {
        let page = self
            .file("/index.html")
            .map(|(bytes, _)| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|| NOT_BUILT.to_owned());
        inject(&page, &self.root_path)
    }
}

/// Reads `path` under `dir`, refusing anything that would leave it.
fn read_from(dir: &Path, path: &str) -> Option<Vec<u8>> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    std::fs::read(dir.join(relative)).ok()
}

/// Adds `<base href>` (so relative asset URLs resolve under the root path from any deep link)
/// and `window.__EMBER__` right after `<head>`.
fn inject(page: &str, root_path: &str) -> String {
    let settings = serde_json::json!({ "rootPath": root_path, "version": env!("CARGO_PKG_VERSION") });
    // `</` cannot appear inside JSON strings we write, but escape it anyway so that no value
    // can ever close the script element.
    let settings = settings.to_string().replace("</", "<\\/");
    let head = format!("<head><base href=\"{root_path}/\"><script>window.__EMBER__ = {settings};</script>");
    match page.find("<head>") {
        Some(at) => format!("{}{head}{}", &page[..at], &page[at + "<head>".len()..]),
        None => format!("{head}</head>{page}"),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Paths that belong to the API: an unknown one is a JSON 404, never the SPA's page.
fn is_api_path(path: &str) -> bool {
    ["/v1/", "/graphql", "/metrics", "/healthz", "/readyz", "/arize_phoenix_version"]
        .iter()
        .any(|prefix| path == prefix.trim_end_matches('/') || path.starts_with(prefix))
}

/// The router's fallback: static files, the SPA's page for its routes, JSON 404s for the API.
pub async fn fallback(State(ui): State<UiAssets>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if is_api_path(&path) || !(request.method() == Method::GET || request.method() == Method::HEAD) {
        return crate::api::ApiError::not_found(format!("no route for {path}")).into_response();
    }
    let gzip_ok = request
        .headers()
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    if path != "/" && path != "/index.html" {
        if let Some((body, gzip)) = ui.file(&path) {
            let immutable = path.starts_with("/assets/");
            return file_response(&path, body, gzip.filter(|_| gzip_ok), immutable);
        }
        // A missing file that looks like one (`/assets/x.js`, `/logo.png`) is a 404, not the page.
        let wants_html = request
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.contains("text/html") || v.contains("*/*"));
        if path.starts_with("/assets/") || !wants_html {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
    }
    let mut response = Response::new(Body::from(ui.index()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn file_response(path: &str, body: Cow<'static, [u8]>, gzip: Option<&'static [u8]>, immutable: bool) -> Response {
    let mut response = match gzip {
        Some(compressed) => Response::new(Body::from(compressed)),
        None => Response::new(Body::from(body)),
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    if gzip.is_some() {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Strips the root path from a request's URI, so that a reverse proxy may forward requests
/// with or without it.
pub fn strip_root_path(root_path: &str, uri: &Uri) -> Option<Uri> {
    if root_path.is_empty() {
        return None;
    }
    let path = uri.path();
    let rest = path.strip_prefix(root_path)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let rest = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_path_is_stripped_only_on_a_segment_boundary() {
        let uri: Uri = "/ember/v1/projects?limit=2".parse().unwrap();
        assert_eq!(strip_root_path("/ember", &uri).unwrap().to_string(), "/v1/projects?limit=2");
        let bare: Uri = "/ember".parse().unwrap();
        assert_eq!(strip_root_path("/ember", &bare).unwrap().to_string(), "/");
        let other: Uri = "/embers/v1".parse().unwrap();
        assert!(strip_root_path("/ember", &other).is_none());
        assert!(strip_root_path("", &uri).is_none());
    }

    #[test]
    fn index_gets_base_and_settings_after_head() {
        let page = inject("<!doctype html><html><head><title>x</title></head></html>", "/ember");
        assert!(page.contains("<head><base href=\"/ember/\"><script>window.__EMBER__ = {"));
        assert!(page.contains("\"rootPath\":\"/ember\""));
        assert!(page.find("<title>").unwrap() > page.find("__EMBER__").unwrap());
    }

    #[test]
    fn files_outside_the_ui_dir_are_refused() {
        let dir = std::env::temp_dir();
        assert!(read_from(&dir, "/../etc/passwd").is_none());
        assert!(read_from(&dir, "/a/../../etc/passwd").is_none());
    }

    #[test]
    fn api_paths_never_get_the_page() {
        assert!(is_api_path("/v1/nope"));
        assert!(is_api_path("/graphql"));
        assert!(!is_api_path("/projects/1"));
        assert!(!is_api_path("/v1x"));
    }
}

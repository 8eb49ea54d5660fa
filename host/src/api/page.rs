//! The REST API's one page shape, `{"data": [...], "next_cursor": ...}`. Rows are fetched with
//! one row more than the page holds; that row, when it comes, is where the next page starts.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

/// The rows of one page, and the first row of the next page if there is one.
#[derive(Debug)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub next: Option<T>,
}

impl<T> Page<T> {
    /// Splits rows fetched with `limit + 1` into the page and the next page's first row.
    pub fn split(mut rows: Vec<T>, limit: i64) -> Self {
        let next = if rows.len() as i64 > limit { rows.pop() } else { None };
        Self { rows, next }
    }

    /// The page as JSON: each row through `view`, the next page's first row through `cursor`.
    pub fn json(self, view: impl FnMut(&T) -> Value, cursor: impl FnOnce(&T) -> String) -> Json<Value> {
        body(self.rows.iter().map(view).collect(), self.next.as_ref().map(cursor))
    }

    /// [`Page::json`] for a view that can fail.
    pub fn try_json<E>(
        self,
        view: impl FnMut(&T) -> Result<Value, E>,
        cursor: impl FnOnce(&T) -> String,
    ) -> Result<Json<Value>, E> {
        Ok(body(self.rows.iter().map(view).collect::<Result<_, E>>()?, self.next.as_ref().map(cursor)))
    }
}

impl<T> Page<T> {
    /// The page serialised through `view`, a `Serialize` borrowing its row, straight into the
    /// response body with no `Value` tree in between: for listings of thousands of large rows.
    pub fn response_with<'a, V: Serialize>(
        &'a self,
        view: impl Fn(&'a T) -> V,
        cursor: impl FnOnce(&'a T) -> String,
    ) -> Response {
        let next_cursor = self.next.as_ref().map(cursor);
        let data: Vec<V> = self.rows.iter().map(view).collect();
        Json(Body { data, next_cursor }).into_response()
    }
}

#[derive(serde::Serialize)]
struct Body<V> {
    data: Vec<V>,
    next_cursor: Option<String>,
}

/// A page whose rows are already views.
pub fn body(data: Vec<Value>, next_cursor: Option<String>) -> Json<Value> {
    Json(json!({ "data": data, "next_cursor": next_cursor }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extra_row_is_the_next_cursor() {
        let Json(full) = Page::split(vec![1, 2, 3], 2).json(|n| json!(n), |n| format!("c{n}"));
        assert_eq!(full, json!({ "data": [1, 2], "next_cursor": "c3" }));
        let Json(last) = Page::split(vec![1, 2], 2).json(|n| json!(n), |n| format!("c{n}"));
        assert_eq!(last, json!({ "data": [1, 2], "next_cursor": null }));
    }

    #[tokio::test]
    async fn a_streamed_page_has_the_same_shape() {
        let response = Page::split(vec![1, 2, 3], 2).response_with(|n| n * 10, |n| format!("c{n}"));
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
        let page: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(page, json!({ "data": [10, 20], "next_cursor": "c3" }));
    }
}

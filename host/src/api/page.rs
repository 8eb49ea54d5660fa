//! The REST API's one page shape, `{"data": [...], "next_cursor": ...}`. Rows are fetched with
//! one row more than the page holds; that row, when it comes, is where the next page starts.

use axum::Json;
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
}

//! Reads the spans one query of `POST /v1/spans` selects: a project's spans in insertion order,
//! page by page, kept when they pass the root restriction and the filter condition.
//!
//! The condition runs in the database as far as it compiles (see `pushdown`), and every row read
//! is checked again by the in-server evaluator. A request may read at most [`MAX_SCANNED_ROWS`]
//! rows across all of its queries: a condition that compiles exactly reads only matching rows,
//! one that compiles partly or not at all may read more. When a query reaches the budget before
//! its end the route answers with an error naming it, never with the matches of a silent prefix
//! (Phoenix's client has no way to tell a partial result).

use std::collections::HashSet;

use super::filter::{self, Expr};
use super::pushdown;
use super::Span;
use crate::store::{Result, SpanCursor, SpanQuery, SpanSort, Store};

/// Most span rows one request reads from the store, over all of its queries.
pub const MAX_SCANNED_ROWS: usize = 1_000_000;
/// Rows read per store query.
pub const PAGE: usize = 500;

/// How many more rows a request may read; shared by its queries.
#[derive(Debug)]
pub struct ScanBudget {
    remaining: usize,
    exhausted: bool,
}

impl ScanBudget {
    /// A budget of `rows` rows.
    pub fn new(rows: usize) -> Self {
        Self { remaining: rows, exhausted: false }
    }

    /// Whether some query stopped early because the budget ran out.
    pub fn exhausted(&self) -> bool {
        self.exhausted
    }
}

/// Which spans of which project a query reads, before its filter condition.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub project_id: i64,
    pub start_ns: Option<i64>,
    pub end_ns: Option<i64>,
    /// Only root spans (`root_spans_only`).
    pub roots_only: bool,
    /// Spans whose parent is not stored count as roots (`orphan_span_as_root_span`).
    pub orphans_are_roots: bool,
}

/// Up to `limit` spans of `scope` in insertion order that pass `filter`, reading `page` rows per
/// store query and no more rows than `budget` has left (which it then marks exhausted, and the
/// spans found are then incomplete).
pub async fn matching_spans(
    store: &Store,
    scope: &Scope,
    filter: Option<&Expr>,
    limit: usize,
    budget: &mut ScanBudget,
    page: usize,
) -> Result<Vec<Span>> {
    let page = page.max(1);
    let condition = filter.map(|expr| pushdown::compile(expr).condition);
    let mut out = Vec::new();
    let mut cursor: Option<SpanCursor> = None;
    loop {
        let size = page.min(budget.remaining);
        if size == 0 {
            budget.exhausted = true;
            return Ok(out);
        }
        let query = SpanQuery {
            project_id: scope.project_id,
            sort: SpanSort::Id,
            descending: false,
            limit: i64::try_from(size).unwrap_or(i64::MAX),
            cursor,
            start_ns: scope.start_ns,
            end_ns: scope.end_ns,
            trace_ids: Vec::new(),
            span_ids: Vec::new(),
            parent_id: (scope.roots_only && !scope.orphans_are_roots).then_some(None),
            names: Vec::new(),
            span_kinds: Vec::new(),
            status_codes: Vec::new(),
            model_names: Vec::new(),
            attributes: Vec::new(),
            condition: condition.clone(),
        };
        // The store reads one row past `limit` to tell whether another page follows.
        let mut rows = store.list_spans(&query).await?;
        cursor = (rows.len() > size).then(|| rows.pop()).flatten().map(|r| SpanCursor { start_ns: 0, id: r.id });
        budget.remaining -= rows.len().min(budget.remaining);
        let existing: HashSet<String> = if scope.roots_only && scope.orphans_are_roots {
            let parents: Vec<String> = rows.iter().filter_map(|r| r.parent_id.clone()).collect();
            store.existing_span_ids(&parents).await?
        } else {
            HashSet::new()
        };
        for row in rows {
            let orphan_root = scope.roots_only && scope.orphans_are_roots;
            if orphan_root && row.parent_id.as_ref().is_some_and(|p| existing.contains(p)) {
                continue;
            }
            let span = Span::new(row);
            if let Some(expr) = filter {
                if !filter::matches(expr, &|key| span.field(key)) {
                    continue;
                }
            }
            out.push(span);
            if out.len() >= limit {
                return Ok(out);
            }
        }
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

//! Notices of committed spans, for live views: the writer publishes which projects a batch
//! stored spans in, and GraphQL subscriptions pass them on to the UI.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::broadcast;

/// Notices a slow subscriber may fall behind by before it misses some (it then refetches).
const BACKLOG: usize = 256;

/// Spans of one project that one batch committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpansStored {
    pub project: Arc<str>,
    pub count: u64,
}

/// The publisher side, cloned into the writer and the API.
#[derive(Debug, Clone)]
pub struct SpanEvents {
    sender: broadcast::Sender<SpansStored>,
}

impl Default for SpanEvents {
    fn default() -> Self {
        Self { sender: broadcast::channel(BACKLOG).0 }
    }
}

impl SpanEvents {
    /// Publishes one notice per project among `projects` (one entry per committed span).
    pub fn publish<'a>(&self, projects: impl IntoIterator<Item = &'a Arc<str>>) {
        if self.sender.receiver_count() == 0 {
            return;
        }
        let mut counts: BTreeMap<&Arc<str>, u64> = BTreeMap::new();
        for project in projects {
            *counts.entry(project).or_default() += 1;
        }
        for (project, count) in counts {
            // An error only means nobody listens any more.
            let _ = self.sender.send(SpansStored { project: project.clone(), count });
        }
    }

    /// A receiver of every notice published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SpansStored> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn publishes_one_notice_per_project_with_its_count() {
        let events = SpanEvents::default();
        let mut receiver = events.subscribe();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        events.publish([&a, &b, &a]);
        let mut got = vec![receiver.recv().await.unwrap(), receiver.recv().await.unwrap()];
        got.sort_by(|x, y| x.project.cmp(&y.project));
        assert_eq!(got, vec![SpansStored { project: a, count: 2 }, SpansStored { project: b, count: 1 }]);
    }
}

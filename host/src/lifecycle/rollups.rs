//! The rollup maintainer: merges the rows the span writer appends, recomputes the hours deletes
//! changed and backfills rollups of spans stored before they existed (see `store::rollups`).

use std::time::Duration;

use tokio::time::Instant;

use crate::store::Store;

/// Rest between rounds that found nothing to do.
const IDLE: Duration = Duration::from_secs(1);
/// Rest after a failed round (a PostgreSQL serialization failure, a busy database).
const AFTER_ERROR: Duration = Duration::from_secs(5);

/// Runs maintenance rounds forever. After a busy round it rests as long as the round took, so
/// that a backfill of a large database takes at most half of the writer connection's time.
pub async fn maintain(store: Store) {
    loop {
        let started = Instant::now();
        let rest = match store.maintain_rollups().await {
            Ok(outcome) if outcome.is_idle() => IDLE,
            Ok(outcome) => {
                tracing::debug!(?outcome, "rollup maintenance round");
                started.elapsed().max(Duration::from_millis(10))
            }
            Err(err) => {
                tracing::warn!(error = %err, "rollup maintenance round failed; retrying");
                AFTER_ERROR
            }
        };
        tokio::time::sleep(rest).await;
    }
}

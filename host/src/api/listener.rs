//! The HTTP and gRPC listeners: hyper's connection builder with the limits `axum::serve` and
//! tonic leave unset, so that slow or idle clients cannot hold connections (and descriptors)
//! forever and lock everyone else out.
//!
//! - A client must start and finish sending a request's headers within the header timeout (like
//!   nginx's `client_header_timeout`); one that sends nothing, a byte at a time, or nothing more
//!   after a response (an idle keep-alive connection), is closed then.
//! - A request body must keep arriving: a gap longer than the body timeout between two of its
//!   frames fails the request (nginx's `client_body_timeout`).
//! - At most `max_connections` connections are open at once. At the cap, the oldest connection
//!   that has not yet sent its first request's headers is closed to make room; when there is
//!   none, the new connection is closed.
//! - HTTP/2 connections are pinged and closed when the peer stops answering, with explicit
//!   stream, header-list and reset-flood (rapid reset) limits.
//! - A connection closes with a lingering close, so that a client still sending a body the
//!   server refused reads the answer instead of a reset.
//! - With TLS configured (`crate::tls`), the handshake must finish within the header timeout,
//!   and the certificate in force when a connection starts is the one it keeps.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio_util::either::Either;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use super::lingering_close::{LingeringClose, ReadToEnd};
use crate::tls::Tls;

/// Streams one HTTP/2 connection may have open at once.
pub const MAX_CONCURRENT_STREAMS: u32 = 200;
/// Largest header list an HTTP/2 request may send (HTTP/1 heads are bounded by hyper's buffer).
pub const MAX_HEADER_LIST_BYTES: u32 = 16 << 10;
/// Streams a client may open and reset before the server handles them, per connection: past
/// it the connection is closed (the HTTP/2 "rapid reset" attack, CVE-2023-44487).
pub const MAX_PENDING_RESETS: usize = 20;

/// Limits on a listener's connections.
#[derive(Debug, Clone, Copy)]
pub struct ListenerLimits {
    /// Time a client has to send a request's headers, idle keep-alive time included.
    pub header_timeout: Duration,
    /// Longest gap between two frames of a request body.
    pub body_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// Serves `app` on `listener` (over TLS when `tls` is set) until `shutdown` resolves, then waits
/// for open connections to finish their requests.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ListenerLimits,
    tls: Option<Tls>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let builder = connection_builder(limits);
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let waiting = Arc::new(Waiting::default());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match stream {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of descriptors (EMFILE) or a connection reset before accept: back off briefly.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = make_room(&open, &waiting).await else {
            tracing::warn!(max = limits.max_connections, "connection limit reached; closing a new connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (id, evicted) = waiting.add();
        let started = Arc::new(AtomicBool::new(false));
        let service = {
            let (waiting, started, app) = (waiting.clone(), started.clone(), app.clone());
            tower::service_fn(move |request: hyper::Request<Incoming>| {
                if !started.swap(true, Ordering::Relaxed) {
                    waiting.remove(id);
                }
                let version = request.version();
                let (parts, body) = request.into_parts();
                let (body, ended) = ReadToEnd::new(body);
                let mut request = Request::from_parts(parts, Body::new(TimeoutBody::new(limits.body_timeout, body)));
                // The peer address, for login throttling (`ConnectInfo<SocketAddr>`).
                request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                let app = app.clone();
                async move {
                    let mut response = app.oneshot(request).await?;
                    ended.close_if_unread(version, &mut response);
                    Ok::<_, Infallible>(response)
                }
            })
        };
        let (builder, watcher, waiting) = (builder.clone(), graceful.watcher(), waiting.clone());
        let acceptor = tls.as_ref().map(Tls::acceptor);
        tokio::spawn(async move {
            let _slot = slot;
            let evicted = async {
                // A dropped sender means the connection started a request: no longer evictable.
                if evicted.await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::pin!(evicted);
            // hyper's header timer starts at a request's first byte: a client that connects and
            // sends nothing is closed here instead.
            let mut byte = [0u8; 1];
            let first_byte = tokio::time::timeout(limits.header_timeout, stream.peek(&mut byte));
            let sent = tokio::select! {
                peeked = first_byte => peeked.is_ok(),
                () = &mut evicted => false,
            };
            let io = match (sent, acceptor) {
                (false, _) => None,
                (true, None) => Some(Either::Left(LingeringClose::new(stream))),
                (true, Some(acceptor)) => {
                    let handshake =
                        tokio::time::timeout(limits.header_timeout, acceptor.accept(LingeringClose::new(stream)));
                    tokio::select! {
                        done = handshake => match done {
                            Ok(Ok(tls)) => Some(Either::Right(tls)),
                            Ok(Err(err)) => {
                                tracing::debug!(error = %err, %peer, "TLS handshake failed");
                                None
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                None
                            }
                        },
                        () = &mut evicted => None,
                    }
                }
            };
            if let Some(io) = io {
                let connection =
                    builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
                tokio::select! {
                    served = watcher.watch(connection.into_owned()) => if let Err(err) = served {
                        tracing::trace!(error = %err, "connection ended with an error");
                    },
                    () = &mut evicted => tracing::debug!("closed a connection without a request to make room"),
                }
            }
            waiting.remove(id);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

fn connection_builder(limits: ListenerLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(limits.header_timeout)
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_header_list_size(MAX_HEADER_LIST_BYTES)
        .max_pending_accept_reset_streams(MAX_PENDING_RESETS)
        // WebSockets over HTTP/2 (GraphQL subscriptions) need CONNECT.
        .enable_connect_protocol();
    builder
}

/// A connection slot: free, or freed by closing the oldest connection still waiting for its
/// first request. `None` when every open connection is serving requests.
async fn make_room(open: &Arc<Semaphore>, waiting: &Waiting) -> Option<OwnedSemaphorePermit> {
    if let Ok(slot) = open.clone().try_acquire_owned() {
        return Some(slot);
    }
    if !waiting.evict_oldest() {
        return None;
    }
    // The evicted connection's task gives its slot back as it ends.
    tokio::time::timeout(Duration::from_secs(1), open.clone().acquire_owned()).await.ok()?.ok()
}

/// Connections that have not sent their first request's headers yet, oldest first, each with the
/// means to close it.
#[derive(Default)]
struct Waiting {
    next: AtomicU64,
    connections: Mutex<BTreeMap<u64, oneshot::Sender<()>>>,
}

impl Waiting {
    fn add(&self) -> (u64, oneshot::Receiver<()>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (close, closed) = oneshot::channel();
        self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(id, close);
        (id, closed)
    }

    fn remove(&self, id: u64) {
        self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&id);
    }

    /// Closes the oldest waiting connection; false when there is none.
    fn evict_oldest(&self) -> bool {
        let mut connections = self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while let Some((_, close)) = connections.pop_first() {
            if close.send(()).is_ok() {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_waiting_connection_is_evicted_first() {
        let waiting = Waiting::default();
        let (first, mut first_closed) = waiting.add();
        let (_, mut second_closed) = waiting.add();
        let (third, _third_closed) = waiting.add();
        waiting.remove(third);
        assert!(waiting.evict_oldest());
        assert_eq!(first_closed.try_recv(), Ok(()));
        assert!(second_closed.try_recv().is_err(), "only the oldest is closed");
        waiting.remove(first);
        assert!(waiting.evict_oldest());
        assert!(!waiting.evict_oldest(), "the third started a request: nothing is left to evict");
    }
}

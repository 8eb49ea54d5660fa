//! The HTTP listener: hyper's connection builder with the limits `axum::serve` leaves unset, so
//! that slow or idle clients cannot hold connections (and descriptors) forever and lock everyone
//! else out.
//!
//! - A client must start and finish sending a request's headers within the header timeout (like
//!   nginx's `client_header_timeout`); one that sends nothing, or a byte at a time, is closed then.
//! - At most `max_connections` connections are open at once; past that, new ones are closed at
//!   once rather than left waiting on a full server.
//! - HTTP/2 connections are pinged and closed when the peer stops answering; the stack's own
//!   protections (rapid-reset, stream and header-list limits) stay on.

use std::convert::Infallible;
use std::sync::Arc;
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
use tower::ServiceExt;

/// Limits on the HTTP listener's connections.
#[derive(Debug, Clone, Copy)]
pub struct ListenerLimits {
    /// Time a client has to send a request's headers, idle keep-alive time included.
    pub header_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for open connections to finish
/// their requests.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: ListenerLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(limits.header_timeout)
        // WebSockets over HTTP/2 (GraphQL subscriptions) need CONNECT.
        .enable_connect_protocol();
    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match stream {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of descriptors (EMFILE) or a connection reset before accept: back off briefly.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = open.clone().try_acquire_owned() else {
            tracing::warn!(max = limits.max_connections, "connection limit reached; closing a new connection");
            continue;
        };
        let service = app.clone().map_request(|request: hyper::Request<Incoming>| request.map(Body::new));
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        tokio::spawn(async move {
            // hyper's header timer starts at a request's first byte: a client that connects and
            // sends nothing is closed here instead.
            if tokio::time::timeout(limits.header_timeout, stream.peek(&mut [0u8; 1])).await.is_err() {
                return;
            }
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
            if let Err(err) = watcher.watch(connection.into_owned()).await {
                tracing::trace!(error = %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

//! A lingering close for HTTP connections: after the server's last byte, send FIN and keep reading
//! (and discarding) what the client still sends, for a bounded time and size, before closing.
//!
//! Closing a TCP socket that holds unread bytes sends a reset instead of a FIN, and a reset can
//! make the client lose the response it has not read yet. That is the usual fate of a `413`: the
//! server answers before reading a body it refuses, the client is still writing, and what it gets
//! is "connection reset by peer" instead of the answer (the problem nginx's `lingering_close`,
//! Apache's lingering close and Go's `closeWriteAndWait` exist for).
//!
//! The answer to such a request also says `Connection: close` (HTTP/1): a client that pooled the
//! connection would send its next request into a socket the server is closing.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use http::header::{HeaderValue, CONNECTION};
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Longest time a closing connection is drained.
pub const LINGER_TIME: Duration = Duration::from_secs(2);
/// Most bytes a closing connection discards before it is closed anyway.
pub const LINGER_BYTES: usize = 16 << 20;

/// An I/O stream whose shutdown drains the peer's remaining bytes before it completes.
pub struct LingeringClose<S> {
    inner: S,
    linger: Option<Pin<Box<Sleep>>>,
    discarded: usize,
}

impl<S> LingeringClose<S> {
    /// Wraps `inner`; nothing changes until the connection shuts down.
    pub fn new(inner: S) -> Self {
        Self { inner, linger: None, discarded: 0 }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for LingeringClose<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for LingeringClose<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// Sends FIN, then reads until the client closes, `LINGER_BYTES` are discarded or
    /// `LINGER_TIME` has passed. A read error ends the drain; the shutdown itself succeeded.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.linger.is_none() {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.linger = Some(Box::pin(tokio::time::sleep(LINGER_TIME)));
        }
        let mut scratch = [0u8; 8 << 10];
        loop {
            let expired = this.linger.as_mut().is_some_and(|linger| linger.as_mut().poll(cx).is_ready());
            if expired || this.discarded >= LINGER_BYTES {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut this.inner).poll_read(cx, &mut buf)) {
                Ok(()) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Ok(()) => this.discarded += buf.filled().len(),
                Err(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}

/// A request body that records whether it was read to its end.
pub struct ReadToEnd<B> {
    inner: B,
    ended: Arc<AtomicBool>,
}

impl<B: Body + Unpin> ReadToEnd<B> {
    /// Wraps `inner`; the flag it returns turns true once the body has ended (at once for an
    /// empty body).
    pub fn new(inner: B) -> (Self, BodyEnded) {
        let ended = Arc::new(AtomicBool::new(inner.is_end_stream()));
        (Self { inner, ended: ended.clone() }, BodyEnded(ended))
    }
}

impl<B: Body + Unpin> Body for ReadToEnd<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if frame.is_none() || self.inner.is_end_stream() {
            self.ended.store(true, Ordering::Relaxed);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether a [`ReadToEnd`] body has ended.
pub struct BodyEnded(Arc<AtomicBool>);

impl BodyEnded {
    /// Marks an HTTP/1 `response` `Connection: close` when its request body was not read to the
    /// end: hyper closes such a connection after the response, and the client must not reuse it.
    pub fn close_if_unread<T>(&self, version: http::Version, response: &mut http::Response<T>) {
        if version < http::Version::HTTP_2 && !self.0.load(Ordering::Relaxed) {
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn shutdown_waits_for_the_peer_to_stop_sending() {
        let (server, mut client) = tokio::io::duplex(64 << 10);
        let mut server = LingeringClose::new(server);
        let sender = tokio::spawn(async move {
            // More than the pipe holds: this only finishes if the server keeps reading.
            client.write_all(&vec![7u8; 1 << 20]).await?;
            client.shutdown().await?;
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).await?;
            Ok::<_, io::Error>(rest)
        });
        server.write_all(b"413").await.unwrap();
        server.shutdown().await.unwrap();
        assert_eq!(server.discarded, 1 << 20);
        assert_eq!(sender.await.unwrap().unwrap(), b"413");
    }

    #[tokio::test]
    async fn shutdown_gives_up_after_the_byte_budget() {
        let (server, mut client) = tokio::io::duplex(64 << 10);
        let mut server = LingeringClose::new(server);
        let _sender = tokio::spawn(async move {
            let chunk = vec![7u8; 64 << 10];
            while client.write_all(&chunk).await.is_ok() {}
        });
        server.shutdown().await.unwrap();
        assert!(server.discarded >= LINGER_BYTES);
    }
}

//! The listeners' limits, on HTTP and on gRPC: an idle keep-alive connection is closed at the
//! header timeout, a stalled request body fails at the body timeout, at the connection cap the
//! oldest connection that has not sent a request makes room for a new one, and HTTP/2 peers are
//! told the stream and header-list limits (and held to the latter), and a client still sending a
//! body the server refused reads the answer instead of a reset.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Backend, Ember, TestDb};

async fn start(env: &[(&str, &str)]) -> Option<(TestDb, Ember)> {
    let db = TestDb::new(Backend::Sqlite).await?;
    let ember = Ember::start_with(&db, env).await;
    Some((db, ember))
}

fn http_addr(ember: &Ember) -> String {
    ember.http.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; how long that took (`None`: not within `limit`).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_and_silent_grpc_connections_are_closed_at_the_header_timeout() {
    let Some((_db, ember)) = start(&[("EMBER_HEADER_TIMEOUT_SECONDS", "2")]).await else { return };
    let mut stream = TcpStream::connect(http_addr(&ember)).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: ember\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 512];
    let read = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..read]).starts_with("HTTP/1.1 200"), "a first request is served");
    let idle = closed_within(&mut stream, Duration::from_secs(6)).await.expect("idle keep-alive closed");
    assert!(idle >= Duration::from_millis(1500), "closed after the timeout, not before: {idle:?}");

    let mut silent = TcpStream::connect(ember.grpc).await.unwrap();
    let waited = closed_within(&mut silent, Duration::from_secs(6)).await.expect("silent gRPC connection closed");
    eprintln!("idle keep-alive closed after {idle:?}, silent gRPC connection after {waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_fails_at_the_body_timeout() {
    let Some((db, ember)) = start(&[("EMBER_BODY_TIMEOUT_SECONDS", "2")]).await else { return };
    let mut stream = TcpStream::connect(http_addr(&ember)).await.unwrap();
    let head = "POST /v1/traces HTTP/1.1\r\nHost: ember\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[0x0a; 10]).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let waited = started.elapsed();
    assert!(read.is_ok(), "the server never gave up on the stalled body");
    let answer = String::from_utf8_lossy(&answer);
    eprintln!("stalled body answered after {waited:?}: {:?}", answer.lines().next());
    assert!(waited >= Duration::from_millis(1500) && waited < Duration::from_secs(5), "{waited:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "a stalled export is a request timeout, not acknowledged: {answer}");
    assert!(db.stored_span_ids().await.is_empty());

    // A REST route answers a stalled JSON body the same way, in Ember's JSON error format.
    let mut stream = TcpStream::connect(http_addr(&ember)).await.unwrap();
    let head =
        "POST /v1/projects HTTP/1.1\r\nHost: ember\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"{\"name\": ").await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server never gave up on the stalled JSON body");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408") && answer.contains("request_timeout"), "{answer}");
}

/// A client that writes its whole body before it reads (as most do) gets the `413` for a body the
/// server refused unread, not a reset in the middle of its write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_still_sending_a_refused_body_reads_the_answer() {
    let Some((_db, ember)) = start(&[("EMBER_MAX_BODY_BYTES", "65536")]).await else { return };
    for _ in 0..5 {
        let mut stream = TcpStream::connect(http_addr(&ember)).await.unwrap();
        let body = vec![0x0a; 4 << 20];
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: ember\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let written = stream.write_all(&body).await;
        assert!(written.is_ok(), "the server reset the connection while the body was sent: {written:?}");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
        assert!(matches!(read, Ok(Ok(_))), "the answer is read to a clean end: {read:?}");
        let answer = String::from_utf8_lossy(&answer).to_lowercase();
        assert!(answer.starts_with("http/1.1 413"), "{answer}");
        assert!(answer.contains("connection: close"), "the client is told not to reuse the connection: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_the_oldest_silent_connection_makes_room() {
    let env = [("EMBER_MAX_CONNECTIONS", "20"), ("EMBER_HEADER_TIMEOUT_SECONDS", "60")];
    let Some((_db, ember)) = start(&env).await else { return };
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(http_addr(&ember)).await.unwrap());
        // Accepted in order, so that "oldest" is well defined.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for round in 0..3 {
        let asked = Instant::now();
        let response = ember.client.get(ember.url("/healthz")).timeout(Duration::from_secs(2)).send().await;
        let status = response.map(|r| r.status().as_u16()).unwrap_or_else(|err| panic!("round {round}: {err}"));
        assert_eq!(status, 200);
        assert!(asked.elapsed() < Duration::from_secs(1), "round {round}: {:?}", asked.elapsed());
    }
    // The oldest silent connections were closed to make room; the newest are still open.
    let oldest = closed_within(&mut silent[0], Duration::from_secs(1)).await;
    assert!(oldest.is_some(), "the oldest silent connection was closed");
    let newest = closed_within(&mut silent[19], Duration::from_millis(500)).await;
    assert!(newest.is_none(), "the newest silent connection stays open");
}

/// The SETTINGS an HTTP/2 server sends: its stream limit, after the handshake.
async fn advertised_stream_limit(addr: &str) -> usize {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (_client, mut connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let _ = tokio::time::timeout(Duration::from_millis(500), &mut connection).await;
    connection.max_concurrent_send_streams()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_and_grpc_peers_get_stream_and_header_limits() {
    let Some((_db, ember)) = start(&[]).await else { return };
    assert_eq!(advertised_stream_limit(&http_addr(&ember)).await, 200, "HTTP/2 on the HTTP port");
    assert_eq!(advertised_stream_limit(&ember.grpc.to_string()).await, 200, "the gRPC port");

    // A header list over 16 KiB is refused; a normal request on the same kind of connection works.
    let tcp = TcpStream::connect(http_addr(&ember)).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let get = |extra: Option<String>| {
        let mut request = http::Request::get(ember.url("/healthz"));
        if let Some(value) = extra {
            request = request.header("x-padding", value);
        }
        request.body(()).unwrap()
    };
    let (ok, _) = client.send_request(get(None), true).unwrap();
    assert_eq!(ok.await.expect("a normal request").status(), 200);
    let mut client = client.ready().await.unwrap();
    let (big, _) = client.send_request(get(Some("a".repeat(32 << 10))), true).unwrap();
    let refused = big.await.map(|response| response.status().as_u16());
    assert!(!matches!(refused, Ok(200)), "a 32 KiB header list was served: {refused:?}");
}

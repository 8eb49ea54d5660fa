use super::*;

fn raw(url: &str) -> RawRequest {
    RawRequest {
        method: "post".into(),
        url: url.into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        secret_headers: Vec::new(),
        body: Vec::new(),
        timeout: None,
        max_response_bytes: 1 << 20,
    }
}

fn grants(hosts: &[&str]) -> Grants {
    Grants { hosts: hosts.iter().map(|h| h.to_string()).collect(), ..Grants::default() }
}

fn denied(result: Result<OutboundRequest, Refusal>) -> String {
    match result {
        Err(Refusal::Denied { detail, .. }) => detail,
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[test]
fn granted_hosts_pass_with_normalised_urls_and_headers() {
    let request = check(raw("HTTPS://API.OpenAI.com./v1/chat"), &grants(&["api.openai.com"]), Duration::from_secs(5))
        .expect("granted");
    assert_eq!(request.method, "POST");
    assert_eq!(request.url.as_str(), "https://api.openai.com./v1/chat");
    assert_eq!(request.headers, vec![("content-type".to_owned(), "application/json".to_owned())]);
    assert_eq!(request.timeout, Duration::from_secs(5));
    assert!(!request.allow_private);
}

#[test]
fn ungranted_and_disguised_hosts_are_denied() {
    let only = grants(&["granted.com"]);
    assert!(denied(check(raw("https://evil.com/"), &only, Duration::from_secs(1))).contains("evil.com"));
    // WHATWG treats a backslash as a slash: the host is evil.com, not granted.com.
    assert!(denied(check(raw(r"http://evil.com\@granted.com/"), &only, Duration::from_secs(1))).contains("evil.com"));
    let loopback = grants(&["127.0.0.1"]);
    // Decimal, octal and hex spellings normalise to 127.0.0.1 and are refused as loopback.
    for url in ["http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://127.1:6006/"] {
        assert!(denied(check(raw(url), &loopback, Duration::from_secs(1))).contains("loopback"), "{url}");
    }
    let metadata = grants(&["169.254.169.254"]);
    assert!(denied(check(raw("http://169.254.169.254/latest"), &metadata, Duration::from_secs(1))).contains("private"));
}

#[test]
fn private_addresses_need_their_own_grant() {
    let mut local = grants(&["127.0.0.1", "localhost"]);
    local.private_addresses = true;
    assert!(check(raw("http://127.0.0.1:8080/v1"), &local, Duration::from_secs(1)).is_ok());
    assert!(check(raw("http://localhost/v1"), &local, Duration::from_secs(1)).is_ok());
}

#[test]
fn malformed_requests_are_invalid_not_denied() {
    let any = grants(&["example.com"]);
    for (url, method) in [("ftp://example.com/", "GET"), ("not a url", "GET"), ("http://example.com/", "CONNECT")] {
        let mut request = raw(url);
        request.method = method.into();
        assert!(matches!(check(request, &any, Duration::from_secs(1)), Err(Refusal::Invalid(_))), "{url} {method}");
    }
    assert!(matches!(
        check(raw("http://user:pw@example.com/"), &any, Duration::from_secs(1)),
        Err(Refusal::Invalid(message)) if message.contains("credentials")
    ));
    for (name, value) in [("host", "x"), ("bad name", "x"), ("x-ok", "a\r\nx-injected: 1"), ("Transfer-Encoding", "x")]
    {
        let mut request = raw("http://example.com/");
        request.headers = vec![(name.into(), value.into())];
        assert!(matches!(check(request, &any, Duration::from_secs(1)), Err(Refusal::Invalid(_))), "{name}");
    }
}

#[test]
fn secrets_must_be_granted_and_templated() {
    let mut granted = grants(&["example.com"]);
    granted.secrets.insert("KEY".into());
    let mut request = raw("https://example.com/");
    request.secret_headers =
        vec![SecretHeader { name: "Authorization".into(), secret: "OTHER".into(), template: "Bearer {secret}".into() }];
    assert!(denied(check(request, &granted, Duration::from_secs(1))).contains("OTHER"));
    let mut request = raw("https://example.com/");
    request.secret_headers =
        vec![SecretHeader { name: "Authorization".into(), secret: "KEY".into(), template: "Bearer".into() }];
    assert!(matches!(check(request, &granted, Duration::from_secs(1)), Err(Refusal::Invalid(_))));
    let mut request = raw("https://example.com/");
    request.secret_headers =
        vec![SecretHeader { name: "Authorization".into(), secret: "KEY".into(), template: "Bearer {secret}".into() }];
    let checked = check(request, &granted, Duration::from_secs(1)).expect("granted");
    assert_eq!(checked.secret_headers[0].name, "authorization");
}

#[test]
fn timeouts_are_clamped_to_the_deadline() {
    let mut request = raw("https://example.com/");
    request.timeout = Some(Duration::from_secs(60));
    let checked = check(request, &grants(&["example.com"]), Duration::from_millis(700)).expect("granted");
    assert_eq!(checked.timeout, Duration::from_millis(700));
}

#[test]
fn private_ranges_are_recognised() {
    for ip in ["127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::1"] {
        assert!(is_private_ip(ip.parse().expect("ip")), "{ip}");
    }
    for ip in
        ["fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::", "fec0::1", "ff02::1"]
    {
        assert!(is_private_ip(ip.parse().expect("ip")), "{ip}");
    }
    for ip in ["8.8.8.8", "2606:4700::1111", "1.1.1.1", "64:ff9b::808:808"] {
        assert!(!is_private_ip(ip.parse().expect("ip")), "{ip}");
    }
}

#[test]
fn secrets_go_over_plain_http_only_to_granted_local_servers() {
    let header =
        SecretHeader { name: "authorization".into(), secret: "KEY".into(), template: "Bearer {secret}".into() };
    let mut remote = grants(&["example.com"]);
    remote.secrets.insert("KEY".into());
    let mut request = raw("http://example.com/");
    request.secret_headers = vec![header.clone()];
    assert!(denied(check(request, &remote, Duration::from_secs(1))).contains("https"));
    let mut local = grants(&["127.0.0.1"]);
    local.secrets.insert("KEY".into());
    local.private_addresses = true;
    let mut request = raw("http://127.0.0.1:8080/");
    request.secret_headers = vec![header];
    assert!(check(request, &local, Duration::from_secs(1)).is_ok());
}

#[test]
fn encodings_and_ranges_are_reserved() {
    for name in ["Accept-Encoding", "range", "If-Range"] {
        let mut request = raw("https://example.com/");
        request.headers = vec![(name.into(), "gzip".into())];
        assert!(matches!(check(request, &grants(&["example.com"]), Duration::from_secs(1)), Err(Refusal::Invalid(_))));
    }
}

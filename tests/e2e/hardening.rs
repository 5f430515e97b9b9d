//! Resource limits against hostile or careless clients, through the real
//! daemon: a client that never reads its answers, a flood of connections
//! holding partial lines, a huge method name, an unbounded `forwardedFor`.
//! In each case the daemon's memory stays bounded and the owner's own socket
//! keeps answering. Memory figures are printed (`--nocapture`) and recorded
//! in docs/THREAT-MODEL.md.

use continuum_e2e::{RawClient, TestHome};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the test daemon with a TCP listener and `transport` limits.
fn start_with_tcp(t: &TestHome, transport: &str) -> String {
    std::fs::create_dir_all(t.home().root()).unwrap();
    std::fs::write(t.home().config_file(), format!("[transport]\n{transport}")).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let out = t
        .cu_command(&["start"])
        .env("CONTINUUM_TCP", &addr)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    addr
}

fn rss_kb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .expect("VmRSS")
}

/// Reads until the server closes the connection (or `limit` passes).
fn drained_until_closed(stream: &mut TcpStream, limit: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64 * 1024];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn a_client_that_never_reads_its_answers_is_bounded_then_dropped() {
    let t = TestHome::new();
    let addr = start_with_tcp(&t, "max_in_flight = 8\nwrite_timeout_ms = 1500\n");
    let pid = t.pid().unwrap();
    // A document of about 900 KB, readable by anyone.
    let big = "x".repeat(900 * 1024);
    let mut owner = t.raw();
    let created = owner.request(
        1,
        "data/create",
        json!({"collection": "big", "id": "doc", "data": {"blob": big}}),
    );
    assert!(created.get("result").is_some(), "{created}");
    let before = rss_kb(pid);

    let mut greedy = TcpStream::connect(&addr).unwrap();
    let request = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 1, "method": "data/read",
        "params": {"collection": "big", "id": "doc"}}))
    .unwrap();
    greedy
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut sent = 0;
    for _ in 0..200 {
        // The daemon stops reading once its answers are not read: our
        // writes then block (and time out) instead of piling up there.
        if greedy
            .write_all(&request)
            .and_then(|()| greedy.write_all(b"\n"))
            .is_err()
        {
            break;
        }
        sent += 1;
    }
    std::thread::sleep(Duration::from_millis(500));
    let during = rss_kb(pid);
    // The owner is still served while the greedy client is stuck.
    assert_eq!(owner.request(2, "ping", json!({}))["result"]["pong"], true);
    let growth_mb = during.saturating_sub(before) / 1024;
    eprintln!("never-reading client: sent {sent} requests of ~900 KB answers; RSS {before} KB -> {during} KB (+{growth_mb} MB)");
    assert!(growth_mb < 120, "RSS grew {growth_mb} MB");
    // Its answers went unread past the write timeout: the daemon dropped it.
    std::thread::sleep(Duration::from_millis(2000));
    assert!(
        drained_until_closed(&mut greedy, Duration::from_secs(10)),
        "still connected"
    );
    assert!(t.log().contains("does not read its answers"), "{}", t.log());
}

#[test]
fn a_flood_of_partial_lines_is_capped_and_dropped_while_the_owner_is_served() {
    let t = TestHome::new();
    let addr = start_with_tcp(&t, "max_connections = 16\nidle_timeout_ms = 3000\n");
    let pid = t.pid().unwrap();
    let before = rss_kb(pid);
    let partial = vec![b'{'; 512 * 1024];
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..40 {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let _ = stream.write_all(&partial);
        held.push(stream);
    }
    std::thread::sleep(Duration::from_millis(300));
    for stream in &mut held {
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut line = [0u8; 512];
        if let Ok(n) = stream.read(&mut line) {
            if String::from_utf8_lossy(&line[..n]).contains("connection_limit") {
                refused += 1;
            }
        }
    }
    let during = rss_kb(pid);
    let mut owner = t.raw();
    assert_eq!(owner.request(1, "ping", json!({}))["result"]["pong"], true);
    let growth_mb = during.saturating_sub(before) / 1024;
    eprintln!("flood: 40 connections x 512 KB partial lines, {refused} refused; RSS {before} KB -> {during} KB (+{growth_mb} MB)");
    assert_eq!(refused, 24, "16 served, the rest refused");
    assert!(growth_mb < 64, "RSS grew {growth_mb} MB");
    // The partial lines never complete: every held connection is dropped.
    for stream in &mut held {
        assert!(drained_until_closed(stream, Duration::from_secs(10)));
    }
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    let mut fresh = RawClient::connect_tcp(&addr);
    assert_eq!(fresh.request(1, "ping", json!({}))["result"]["pong"], true);
}

#[test]
fn a_huge_method_name_is_refused_cheaply_and_never_echoed() {
    let t = TestHome::new();
    t.start();
    let mut raw = t.raw();
    let name = "a".repeat(1024 * 1000);
    raw.send(&json!({"jsonrpc": "2.0", "id": 1, "method": name}));
    let answer = raw.recv();
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    assert_eq!(answer["error"]["data"]["field"], "/method");
    assert!(answer.to_string().len() < 1024, "the name was echoed");
    let long_for = "f".repeat(100 * 1024);
    raw.send(
        &json!({"jsonrpc": "2.0", "id": 2, "method": "ping", "meta": {"forwardedFor": long_for}}),
    );
    let answer = raw.recv();
    assert_eq!(
        answer["error"]["data"]["field"], "/meta/forwardedFor",
        "{answer}"
    );
    assert_eq!(raw.request(3, "ping", json!({}))["result"]["pong"], true);
}

#[test]
fn a_remote_connection_over_its_request_rate_is_answered_overloaded() {
    let t = TestHome::new();
    let addr = start_with_tcp(&t, "max_requests_per_second = 20\n");
    let mut remote = RawClient::connect_tcp(&addr);
    for id in 0..100 {
        remote.send(&json!({"jsonrpc": "2.0", "id": id, "method": "ping"}));
    }
    let (mut served, mut limited) = (0, 0);
    for _ in 0..100 {
        let answer = remote.recv();
        if answer.get("result").is_some() {
            served += 1;
        } else {
            assert_eq!(
                answer["error"]["data"]["reason"], "rate_limited",
                "{answer}"
            );
            limited += 1;
        }
    }
    eprintln!("rate limit 20/s: {served} served, {limited} limited of 100 sent at once");
    assert!((20..=40).contains(&served), "{served} served");
    // The owner's socket has no rate limit.
    let mut owner = t.raw();
    for id in 0..100 {
        assert_eq!(owner.request(id, "ping", json!({}))["result"]["pong"], true);
    }
}

#[test]
fn errors_a_remote_caller_sees_never_name_the_home_path() {
    let t = TestHome::new();
    let addr = start_with_tcp(&t, "");
    let home = t.home().root().display().to_string();
    let mut remote = RawClient::connect_tcp(&addr);
    let mut seen = Vec::new();
    for (id, method, params) in [
        (1, "ai/generate", json!({"prompt": "hi"})),
        (2, "ai/providers", json!({})),
        (3, "data/read", json!({"collection": "c", "id": "missing"})),
        (4, "system/info", json!({})),
        (5, "nope", json!({})),
    ] {
        let answer = remote.request(id, method, params);
        assert!(
            !answer.to_string().contains(&home),
            "{method} revealed the home: {answer}"
        );
        seen.push(answer);
    }
    assert!(
        seen[0]
            .to_string()
            .contains("$CONTINUUM_HOME/providers.toml"),
        "the error still says where to look: {}",
        seen[0]
    );
}

#[test]
fn a_long_call_outlives_the_idle_timeout_and_batches_count_against_in_flight() {
    let t = TestHome::new();
    let addr = start_with_tcp(&t, "idle_timeout_ms = 400\nmax_in_flight = 4\n");
    let mut remote = RawClient::connect_tcp(&addr);
    // Running past the idle timeout is not idling: the answer arrives.
    let slow = remote.request(1, "test/sleep", json!({"ms": 1000}));
    assert_eq!(slow["result"]["ms"], 1000, "{slow}");
    // A batch larger than the in-flight budget is refused whole.
    let batch: Vec<_> = (0..5)
        .map(|id| json!({"jsonrpc": "2.0", "id": id, "method": "ping"}))
        .collect();
    remote.send(&json!(batch));
    let refused = remote.recv();
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 4"),
        "{refused}"
    );
    let batch: Vec<_> = (0..4)
        .map(|id| json!({"jsonrpc": "2.0", "id": id, "method": "ping"}))
        .collect();
    remote.send(&json!(batch));
    assert_eq!(remote.recv().as_array().map(Vec::len), Some(4));
}

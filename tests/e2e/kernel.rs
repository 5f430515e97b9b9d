//! The kernel's promises through the real binaries: refusals exit 4, a trust
//! ceiling only lowers trust, per-command limits from the home's config file,
//! no test-only command in the product daemon, loopback-only TCP, and
//! JSON-RPC 2.0 batches as a stock Python client sees them.

use continuum_e2e::{bin, RawClient, TestHome};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

fn names(listing: &Value) -> BTreeSet<String> {
    listing["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn cu_exits_4_when_the_daemon_refuses() {
    let t = TestHome::new();
    t.start();
    let out = t.cu(&["--max-trust", "provisional", "data/clear-all", "--confirm"]);
    assert_eq!(out.code(), 4, "{out:?}");
    assert!(out.stderr().contains("owner-only"), "{out:?}");
    // Nothing was cleared: the owner's own call still works and sees the data.
    assert_eq!(
        t.cu(&["data/create", "--collection", "c", "--data", "{}"])
            .code(),
        0
    );
    let listed = t.cu(&["data/list", "--collection", "c"]);
    assert_eq!(listed.code(), 0, "{listed:?}");
}

#[test]
fn max_trust_shrinks_the_listing_and_never_raises_trust() {
    let t = TestHome::new();
    t.start();
    let owner = names(&t.cu(&["commands/list", "--schemas=false"]).json());
    let provisional = names(
        &t.cu(&[
            "--max-trust",
            "provisional",
            "commands/list",
            "--schemas=false",
        ])
        .json(),
    );
    let trusted = names(
        &t.cu(&["--max-trust=trusted", "commands/list", "--schemas=false"])
            .json(),
    );
    assert!(provisional.contains("ping") && provisional.contains("data/read"));
    assert!(!provisional.contains("data/delete") && !provisional.contains("system/metrics"));
    assert!(trusted.contains("system/metrics") && !trusted.contains("system/shutdown"));
    assert!(provisional.is_subset(&trusted) && trusted.is_subset(&owner));
    assert!(owner.contains("system/shutdown"));
    assert_eq!(
        names(
            &t.cu(&["--max-trust", "owner", "commands/list", "--schemas=false"])
                .json()
        ),
        owner,
        "a ceiling of owner changes nothing for the owner"
    );
    let bogus = t.cu(&["--max-trust", "root", "ping"]);
    assert_eq!(bogus.code(), 2, "{bogus:?}");

    // Over TCP a caller is Provisional; asking for Owner gives it nothing more.
    let port = free_port();
    let t = TestHome::new();
    let out = t
        .cu_command(&["start"])
        .env("CONTINUUM_TCP", format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut tcp = RawClient::connect_tcp(&format!("127.0.0.1:{port}"));
    for max in ["owner", "trusted"] {
        tcp.send(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "commands/list",
            "params": {"schemas": false}, "meta": {"maxTrust": max}}),
        );
        assert_eq!(names(&tcp.recv()["result"]), provisional, "maxTrust {max}");
        tcp.send(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "system/metrics",
            "meta": {"maxTrust": max}}),
        );
        let refused = tcp.recv();
        assert_eq!(
            refused["error"]["data"]["reason"], "insufficient_trust",
            "{refused}"
        );
    }
    // Only the local owner may hand a call to a persona (meta.asPersona):
    // over TCP it is refused, and audited, whatever the persona.
    tcp.send(&json!({"jsonrpc": "2.0", "id": 3, "method": "ping", "meta": {"asPersona": "ada"}}));
    let refused = tcp.recv();
    assert_eq!(
        refused["error"]["data"]["reason"], "owner_only",
        "{refused}"
    );
    let audit = t.cu_json(&["audit/tail", "--limit", "20"]);
    assert!(
        audit["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["command"] == "ping"
                && r["outcome"] == "denied"
                && r["reason"] == "owner_only"
                && r["caller"].as_str().unwrap_or("").starts_with("tcp")),
        "{audit}"
    );
}

#[test]
fn a_call_over_its_concurrency_limit_waits_then_gets_overloaded() {
    let t = TestHome::new();
    std::fs::create_dir_all(t.home().root()).unwrap();
    std::fs::write(
        t.home().config_file(),
        "[limits.\"test/sleep\"]\nmax_concurrency = 1\nmax_wait_ms = 200\n",
    )
    .unwrap();
    t.start();
    let mut first = t.raw();
    first.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "test/sleep", "params": {"ms": 1500}}));
    std::thread::sleep(Duration::from_millis(300));
    let mut second = t.raw();
    let over = second.request(2, "test/sleep", json!({"ms": 10}));
    assert_eq!(over["error"]["data"]["kind"], "overloaded", "{over}");
    assert_eq!(over["error"]["code"], -32004, "{over}");
    assert_eq!(
        first.recv()["result"]["ms"],
        1500,
        "the call in its slot finished"
    );
    // Once the slot is free the command answers again; others never waited.
    assert_eq!(
        second.request(3, "test/sleep", json!({"ms": 10}))["result"]["ms"],
        10
    );
    assert_eq!(t.cu(&["ping"]).code(), 0);
}

#[test]
fn a_config_file_naming_an_unknown_command_fails_the_start_clearly() {
    let t = TestHome::new();
    std::fs::create_dir_all(t.home().root()).unwrap();
    std::fs::write(
        t.home().config_file(),
        "[limits.\"ai/generat\"]\nmax_concurrency = 1\n",
    )
    .unwrap();
    let out = t.cu(&["start"]);
    assert_ne!(out.code(), 0, "{out:?}");
    let said = format!("{}{}", out.stderr(), t.log());
    assert!(
        said.contains("ai/generat") && said.contains("did you mean ai/generate"),
        "{said}"
    );
}

#[test]
fn the_product_daemon_lists_no_test_command() {
    // `cargo build --workspace --bins` (what scripts/test.sh runs) builds the
    // product daemon with every workspace member compiled beside it; no
    // feature of theirs can add test commands to it. The same holds for
    // `--release`: features do not depend on the profile.
    let product = TestHome::with_product_daemon();
    product.start();
    let listed = names(&product.cu(&["commands/list", "--schemas=false"]).json());
    assert!(listed.contains("ping") && listed.contains("data/clear-all"));
    let test_commands: Vec<_> = listed.iter().filter(|n| n.starts_with("test/")).collect();
    assert!(
        test_commands.is_empty(),
        "product daemon serves {test_commands:?}"
    );
    let panic = product.cu(&["test/panic"]);
    assert_eq!(panic.code(), 2, "{panic:?}");

    // The test daemon does serve them: the check above can fail.
    let test = TestHome::new();
    test.start();
    assert!(names(&test.cu(&["commands/list", "--schemas=false"]).json()).contains("test/panic"));
}

#[test]
fn tcp_on_a_non_loopback_address_is_refused_with_a_clear_message() {
    let t = TestHome::new();
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let out = Command::new(bin("continuum-core"))
            .args(["--home", t.home().root().to_str().unwrap(), "--tcp", addr])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{addr}: {stderr}");
        assert!(
            stderr.contains("loopback") && stderr.contains("refusing"),
            "{stderr}"
        );
    }
    assert!(!t.home().socket().exists(), "nothing was started");
    let out = t
        .cu_command(&["start"])
        .env("CONTINUUM_TCP", "0.0.0.0:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn a_stock_python_json_rpc_batch_gets_the_specs_answers() {
    let t = TestHome::new();
    t.start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/jsonrpc_batch.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(t.home().socket())
        .output()
        .expect("python3");
    assert!(out.status.success(), "{out:?}");
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();

    let mixed = results["mixed"]
        .as_array()
        .expect("one array for the batch");
    let by_id = |id: &str| mixed.iter().find(|r| r["id"] == id).cloned();
    assert_eq!(by_id("1").unwrap()["result"]["message"], "a");
    assert_eq!(by_id("2").unwrap()["result"]["message"], "b");
    assert_eq!(by_id("5").unwrap()["error"]["code"], -32601);
    assert_eq!(
        by_id("9").unwrap()["error"]["code"],
        -32602,
        "positional params"
    );
    let invalid: Vec<_> = mixed.iter().filter(|r| r["id"].is_null()).collect();
    assert_eq!(invalid.len(), 1, "{mixed:?}");
    assert_eq!(invalid[0]["error"]["code"], -32600);
    assert_eq!(
        mixed.len(),
        5,
        "no response for the notification: {mixed:?}"
    );

    assert!(results["notifications"].is_null(), "{results}");
    assert_eq!(results["empty"]["error"]["code"], -32600, "{results}");
    assert!(results["empty"].is_object(), "one error, not an array");
    let invalid = results["invalid"].as_array().expect("array");
    assert_eq!(invalid.len(), 3);
    assert!(invalid.iter().all(|r| r["error"]["code"] == -32600));
    assert_eq!(
        results["unknown_positional"]["error"]["code"], -32601,
        "{results}"
    );
    assert_eq!(results["unknown_positional"]["id"], 1);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn input_hygiene_through_cu_and_the_wire() {
    let t = TestHome::new();
    t.start();
    // A value that looks like a flag is a value.
    let out = t.cu(&["ping", "--message", "-5"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.json()["message"], "-5");
    // Params larger than a command line, on stdin.
    let big = "x".repeat(300 * 1024);
    let mut child = t
        .cu_command(&["data/create", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let params = json!({"collection": "big", "id": "b1", "data": {"blob": big}}).to_string();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), params.as_bytes()).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let read = t
        .cu(&["data/read", "--collection", "big", "--id", "b1"])
        .json();
    assert_eq!(
        read["data"]["blob"].as_str().map(str::len),
        Some(300 * 1024)
    );
    // Ids that would not survive a path or a log line are refused.
    let bad = t.cu(&[
        "data/create",
        r#"{"collection": "c", "id": "a/b", "data": {}}"#,
    ]);
    assert_eq!(bad.code(), 2, "{bad:?}");
    assert!(bad.stderr().contains("/id"), "{bad:?}");
    // cu's own verbs are suggested too.
    let typo = t.cu(&["stat"]);
    assert_eq!(typo.code(), 2, "{typo:?}");
    assert!(typo.stderr().contains("cu status"), "{typo:?}");
    // `"id": null` is a request (answered with a null id), not a notification.
    let mut raw = t.raw();
    // An integer the parser would silently turn into a float is refused.
    raw.send_raw(
        b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"data/create\",\"params\":{\"collection\":\"c\",\"data\":{\"n\":100000000000000000000}}}\n",
    );
    let refused = raw.recv();
    assert_eq!(refused["id"], 7, "{refused}");
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    raw.send(&json!({"jsonrpc": "2.0", "id": null, "method": "ping"}));
    let answer = raw.recv();
    assert!(
        answer["id"].is_null() && answer["result"]["pong"] == true,
        "{answer}"
    );
    // The stores are owner-only.
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(t.home().data_dir()).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", entry.path().display());
    }
}

#[test]
fn command_help_works_while_the_daemon_is_stopped() {
    let t = TestHome::new();
    t.start();
    assert_eq!(t.cu(&["stop"]).code(), 0);
    let help = t.cu(&["data/create", "--help"]);
    assert_eq!(help.code(), 0, "{help:?}");
    assert!(help.stdout().contains("--collection"), "{help:?}");
    assert!(help.stderr().contains("not running"), "{help:?}");
    let call = t.cu(&["data/create", "--collection", "c"]);
    assert_eq!(call.code(), 3, "a call still needs the daemon: {call:?}");
}

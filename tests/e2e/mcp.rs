//! The MCP server end to end, against a client nobody here wrote: the
//! official MCP Python SDK (PyPI `mcp` 2.3.0, set up by
//! `scripts/ci/setup-mcp.sh`), driven line by line through
//! `tests/mcp/client.py`, in both protocol eras (the `2025-11-25` handshake
//! and the stateless `2026-07-28`), over stdio (`cu mcp`) and streamable
//! HTTP (`continuum-mcp --http`), in front of the real product daemon.
//!
//! Without `CONTINUUM_TEST_MCP_PYTHON` these tests print "skipped"; under
//! `CI` they fail instead.

use continuum_e2e::scripted_model::{completion, ScriptedModel};
use continuum_e2e::{bin, TestHome};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const PYTHON_ENV: &str = "CONTINUUM_TEST_MCP_PYTHON";
const MODES: [&str; 2] = ["legacy", "2026-07-28"];
const CLIENT: &str = "mcp:continuum-e2e";

/// The venv's python with `mcp` installed, or `None` ("skipped") outside CI.
fn mcp_python() -> Option<PathBuf> {
    match std::env::var(PYTHON_ENV) {
        Ok(path) if !path.trim().is_empty() => Some(PathBuf::from(path.trim())),
        _ => {
            let ci = std::env::var("CI").unwrap_or_default();
            assert!(
                ci.is_empty() || ci == "false" || ci == "0",
                "{PYTHON_ENV} is not set but CI={ci}: .ci/run must export it from scripts/ci/setup-mcp.sh"
            );
            eprintln!("skipped: set {PYTHON_ENV} (scripts/ci/setup-mcp.sh)");
            None
        }
    }
}

fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("mcp/client.py")
}

/// One MCP client session, driven an op at a time.
struct Driver {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: Receiver<String>,
    what: String,
}

impl Driver {
    /// `cu mcp ARGS` on stdio.
    fn stdio(python: &Path, t: &TestHome, mode: &str, args: &[&str]) -> Driver {
        let mut command = Command::new(python);
        command
            .arg(client_script())
            .args(["--mode", mode, "--"])
            .arg(bin("cu"))
            .arg("mcp")
            .args(args);
        Driver::spawn(command, t, format!("stdio {mode} {args:?}"))
    }

    /// Streamable HTTP at `url`.
    fn http(python: &Path, t: &TestHome, mode: &str, url: &str) -> Driver {
        let mut command = Command::new(python);
        command
            .arg(client_script())
            .args(["--mode", mode, "--url", url]);
        Driver::spawn(command, t, format!("http {mode}"))
    }

    fn spawn(mut command: Command, t: &TestHome, what: String) -> Driver {
        let mut child = command
            .env("CONTINUUM_HOME", t.home().root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run the MCP client");
        let stdout = child.stdout.take().unwrap();
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Driver {
            stdin: child.stdin.take(),
            child,
            answers,
            what,
        }
    }

    fn send(&mut self, op: Value) {
        let stdin = self.stdin.as_mut().expect("open");
        writeln!(stdin, "{op}").expect("the MCP client is alive");
        stdin.flush().unwrap();
    }

    fn answer(&mut self) -> Value {
        let line = self
            .answers
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|_| panic!("{}: the MCP client did not answer", self.what));
        serde_json::from_str(&line).expect("one JSON line per op")
    }

    fn op(&mut self, op: Value) -> Value {
        self.send(op);
        self.answer()
    }

    fn list(&mut self) -> Vec<Value> {
        let listed = self.op(json!({"op": "list"}));
        listed["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: tools/list failed: {listed}", self.what))
            .clone()
    }

    fn call(&mut self, name: &str, arguments: Value) -> Value {
        self.op(json!({"op": "call", "name": name, "arguments": arguments}))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A product daemon with a scripted model, a room, a persona in it, and
/// one document.
fn node() -> (ScriptedModel, TestHome) {
    let model = ScriptedModel::start(|_| completion("noted"));
    let t = TestHome::with_product_daemon();
    t.write("providers.toml", &model.providers_toml("local"));
    t.start();
    t.cu_json(&["room/create", "--name", "lobby"]);
    t.cu_json(&["persona/create", "--name", "ada", "--provider", "local"]);
    t.cu_json(&["room/join", "--room", "lobby", "--persona", "ada"]);
    t.cu_json(&[
        "data/create",
        "--collection",
        "notes",
        "--id",
        "n1",
        "--data",
        r#"{"title":"first"}"#,
    ]);
    (model, t)
}

/// Valid params for every command a Provisional session may call. A new
/// AI-safe command without an entry fails the test.
fn valid_params() -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("ai__generate", json!({"prompt": "say hi", "maxTokens": 8})),
        ("ai__providers", json!({})),
        ("chat__history", json!({"room": "lobby", "limit": 5})),
        (
            "chat__send",
            json!({"room": "lobby", "text": "hello from MCP"}),
        ),
        ("commands__list", json!({"schemas": false})),
        (
            "data__create",
            json!({"collection": "notes", "data": {"title": "from MCP"}}),
        ),
        ("data__list", json!({"collection": "notes", "limit": 10})),
        ("data__read", json!({"collection": "notes", "id": "n1"})),
        ("grid__identity", json!({})),
        ("memory__list", json!({"persona": "ada"})),
        ("memory__recall", json!({"persona": "ada", "query": "sky"})),
        (
            "memory__remember",
            json!({"persona": "ada", "text": "the sky is green"}),
        ),
        ("persona__list", json!({})),
        ("persona__show", json!({"persona": "ada"})),
        ("ping", json!({"message": "hi"})),
        ("room__list", json!({})),
    ])
}

/// Memory commands are listed for any AI-safe caller but act on the
/// calling persona's memories only: a session that is not a persona is
/// refused with this reason (and that is a tool error, not a failure).
const NOT_A_PERSONA: &str = "not_a_persona";

fn text_of(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn error_reason(result: &Value) -> Option<String> {
    result["meta"]["continuum/error"]["reason"]
        .as_str()
        .map(str::to_owned)
}

/// What `cu --max-trust provisional commands/list` lists, as tool names.
fn provisional_commands(t: &TestHome) -> BTreeSet<String> {
    let listed = t.cu_json(&[
        "--max-trust",
        "provisional",
        "commands/list",
        "--schemas=false",
    ]);
    listed["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().replace('/', "__"))
        .collect()
}

/// The audit records whose forwardedFor is this client, newest last.
fn client_audit(t: &TestHome) -> Vec<Value> {
    let tail = t.cu_json(&["audit/tail", "--limit", "500"]);
    tail["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["forwardedFor"].as_str() == Some(CLIENT))
        .cloned()
        .collect()
}

/// The whole session check, on one transport and era: listing, schemas,
/// annotations, every tool called once, errors and refusals.
fn check_session(driver: &mut Driver, t: &TestHome, what: &str) {
    let info = driver.op(json!({"op": "info"}));
    assert_eq!(info["serverInfo"]["name"], "continuum", "{what}: {info}");

    let tools = driver.list();
    let names: BTreeSet<String> = tools
        .iter()
        .map(|tool| tool["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        provisional_commands(t),
        "{what}: tools/list == commands/list"
    );

    for tool in &tools {
        let name = tool["name"].as_str().unwrap();
        assert_eq!(
            tool["title"].as_str().unwrap(),
            name.replace("__", "/"),
            "{what}: the title is the command"
        );
        let schema = &tool["inputSchema"];
        assert_eq!(schema["type"], "object", "{what} {name}");
        let text = schema.to_string();
        assert!(!text.contains("$ref"), "{what} {name}: {text}");
        jsonschema::validator_for(schema)
            .unwrap_or_else(|err| panic!("{what} {name}: inputSchema: {err}"));
        if let Some(output) = tool.get("outputSchema") {
            assert!(!output.to_string().contains("$ref"), "{what} {name}");
            jsonschema::validator_for(output)
                .unwrap_or_else(|err| panic!("{what} {name}: outputSchema: {err}"));
        }
    }
    let annotation = |name: &str, hint: &str| {
        tools.iter().find(|tool| tool["name"] == name).unwrap()["annotations"][hint].clone()
    };
    assert_eq!(annotation("ping", "readOnlyHint"), true, "{what}");
    assert_eq!(annotation("data__create", "readOnlyHint"), false, "{what}");
    assert_eq!(
        annotation("data__create", "destructiveHint"),
        false,
        "{what}"
    );

    let params = valid_params();
    for name in &names {
        let arguments = params.get(name.as_str()).unwrap_or_else(|| {
            panic!("{what}: no valid params for {name}: add them to valid_params")
        });
        let result = driver.call(name, arguments.clone());
        assert!(
            result.get("isError").is_some(),
            "{what} {name}: not a tool result: {result}"
        );
        if result["isError"] == true {
            assert!(
                name.starts_with("memory__")
                    && error_reason(&result).as_deref() == Some(NOT_A_PERSONA),
                "{what} {name}: {result}"
            );
        } else if tools
            .iter()
            .any(|tool| tool["name"] == *name && tool.get("outputSchema").is_some())
        {
            assert!(
                result["structuredContent"].is_object(),
                "{what} {name}: an object result is structuredContent: {result}"
            );
        }
    }

    // Bad params: a tool error naming the field, not a protocol failure.
    let bad = driver.call("data__list", json!({"collection": 5}));
    assert_eq!(bad["isError"], true, "{what}: {bad}");
    assert!(text_of(&bad).contains("/collection"), "{what}: {bad}");
    assert_eq!(
        bad["meta"]["continuum/error"]["field"], "/collection",
        "{what}"
    );

    // Owner-only: not listed, and refused (and audited) when called by name.
    assert!(!names.contains("system__shutdown"), "{what}");
    let refused = driver.call("system__shutdown", json!({}));
    assert_eq!(refused["isError"], true, "{what}: {refused}");
    assert_eq!(
        error_reason(&refused).as_deref(),
        Some("owner_only"),
        "{what}"
    );
    let audit = client_audit(t);
    assert!(
        audit.iter().any(|r| r["command"] == "system/shutdown"
            && r["outcome"] == "denied"
            && r["reason"] == "owner_only"),
        "{what}: the refusal is audited with the client's name: {audit:?}"
    );
    assert_eq!(t.cu(&["status"]).code(), 0, "{what}: the daemon still runs");

    // An unknown tool is the one protocol error.
    let unknown = driver.call("data__lst", json!({}));
    assert!(unknown.get("protocolError").is_some(), "{what}: {unknown}");
}

#[test]
fn stdio_sessions_list_and_call_what_the_gate_allows() {
    let Some(python) = mcp_python() else { return };
    let (_model, t) = node();
    for mode in MODES {
        let mut driver = Driver::stdio(&python, &t, mode, &[]);
        check_session(&mut driver, &t, &format!("stdio {mode}"));
    }
}

/// Files under the home a read-only command must leave alone: everything
/// but the audit log (every call is recorded), the daemon's run and log
/// files, and SQLite's `-shm` files (its shared-memory index, which readers
/// update).
fn stores_digest(t: &TestHome) -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = t.home().root();
    let mut files = Vec::new();
    walk(root, &mut files);
    let mut digests = BTreeMap::new();
    for file in files {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if relative.starts_with("run/")
            || relative.starts_with("logs/")
            || relative.starts_with("data/audit")
            || relative.ends_with("-shm")
        {
            continue;
        }
        let mut bytes = Vec::new();
        if std::fs::File::open(&file)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .is_ok()
        {
            digests.insert(relative, hex::encode(Sha256::digest(&bytes)));
        }
    }
    digests
}

#[test]
fn read_only_tools_change_no_store() {
    let Some(python) = mcp_python() else { return };
    let (_model, t) = node();
    let mut driver = Driver::stdio(&python, &t, "legacy", &[]);
    let tools = driver.list();
    let params = valid_params();
    let read_only: Vec<&str> = tools
        .iter()
        .filter(|tool| tool["annotations"]["readOnlyHint"] == true)
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert!(read_only.len() >= 10, "{read_only:?}");
    // A first round may open stores lazily (a persona's memories file);
    // from then on, reading must change nothing.
    for name in &read_only {
        driver.call(name, params[name].clone());
    }
    std::thread::sleep(Duration::from_millis(300));
    let before = stores_digest(&t);
    for name in &read_only {
        driver.call(name, params[name].clone());
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        stores_digest(&t),
        before,
        "a read-only tool wrote to a store"
    );
}

#[test]
fn streaming_calls_send_progress_and_stop_when_cancelled() {
    let Some(python) = mcp_python() else { return };
    let (_model, t) = node();
    for mode in MODES {
        let mut driver = Driver::stdio(&python, &t, mode, &[]);
        let calls_before = history_calls(&t);
        let cursor = t.cu_json(&["chat/history", "--room", "lobby"])["cursor"].clone();
        driver.send(json!({
            "op": "call_progress",
            "name": "chat__history",
            "arguments": {"room": "lobby", "follow": true, "after": cursor},
            "count": 2,
            "timeout": 30,
        }));
        std::thread::sleep(Duration::from_millis(500));
        t.cu_json(&[
            "chat/send",
            "--room",
            "lobby",
            "--text",
            &format!("first {mode}"),
        ]);
        t.cu_json(&[
            "chat/send",
            "--room",
            "lobby",
            "--text",
            &format!("second {mode}"),
        ]);
        let answer = driver.answer();
        assert_eq!(answer["cancelled"], true, "{mode}: {answer}");
        let progress = answer["progress"].as_array().unwrap();
        assert!(progress.len() >= 2, "{mode}: {answer}");
        assert!(
            progress[0]["message"]
                .as_str()
                .unwrap_or("")
                .contains(&format!("first {mode}")),
            "{mode}: each event is a progress message: {answer}"
        );
        // The cancel reached the daemon: the follow ended there (a call is
        // counted when it ends).
        let deadline = Instant::now() + Duration::from_secs(10);
        while history_calls(&t) <= calls_before {
            assert!(
                Instant::now() < deadline,
                "{mode}: the cancelled follow never ended in the daemon"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// How many `chat/history` calls the daemon has finished.
fn history_calls(t: &TestHome) -> u64 {
    let metrics = t.cu_json(&["system/metrics"]);
    metrics["commands"]
        .as_array()
        .and_then(|commands| {
            commands
                .iter()
                .find(|c| c["name"] == "chat/history")
                .and_then(|c| c["calls"].as_u64())
        })
        .unwrap_or(0)
}

#[test]
fn a_session_as_a_persona_acts_as_it_and_hears_its_list_change() {
    let Some(python) = mcp_python() else { return };
    let (_model, t) = node();
    let ada = t.cu_json(&["persona/show", "--persona", "ada"]);
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    for mode in MODES {
        t.cu_json(&[
            "persona/update",
            "--persona",
            "ada",
            "--trust",
            "provisional",
        ]);
        let mut driver = Driver::stdio(&python, &t, mode, &["--as", "persona", "ada"]);
        assert!(!driver.list().is_empty(), "{mode}");
        let remembered = driver.call(
            "memory__remember",
            json!({"text": format!("ada remembers {mode}")}),
        );
        assert_eq!(remembered["isError"], false, "{mode}: {remembered}");
        let recalled = driver.call("memory__recall", json!({"query": "remembers"}));
        assert!(
            recalled["structuredContent"]
                .to_string()
                .contains(&format!("ada remembers {mode}")),
            "{mode}: {recalled}"
        );
        let audit = client_audit(&t);
        assert!(
            audit.iter().any(|r| r["command"] == "memory/recall"
                && r["caller"] == format!("persona:{ada_id}")
                && r["outcome"] == "allowed"),
            "{mode}: audited as the persona, for the client: {audit:?}"
        );
        // Owner-only stays owner-only.
        let refused = driver.call(
            "persona__update",
            json!({"persona": "ada", "trust": "trusted"}),
        );
        assert_eq!(refused["isError"], true, "{mode}: {refused}");

        // Blocking the persona changes the session's list, and it hears so.
        let _ = driver.op(json!({"op": "wait_list_changed", "timeout": 0}));
        t.cu_json(&["persona/update", "--persona", "ada", "--trust", "blocked"]);
        let changed = driver.op(json!({"op": "wait_list_changed", "timeout": 20}));
        assert_eq!(changed["changed"], true, "{mode}: list_changed");
        assert!(
            driver.list().is_empty(),
            "{mode}: a blocked persona may call nothing"
        );
    }
    // A name that is no active persona: every call is refused, and audited.
    let mut driver = Driver::stdio(&python, &t, "legacy", &["--as", "persona", "nobody"]);
    let refused = driver.call("ping", json!({}));
    assert_eq!(
        error_reason(&refused).as_deref(),
        Some("unknown_persona"),
        "{refused}"
    );
}

/// `continuum-mcp --http ADDR` for this home; returns the child and URL.
fn http_server(t: &TestHome, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(bin("continuum-mcp"))
        .args(["--http", "127.0.0.1:0"])
        .args(args)
        .env("CONTINUUM_HOME", t.home().root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run continuum-mcp");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, url)
}

/// A raw HTTP POST of an MCP initialize with these extra headers; the
/// status line.
fn raw_post(url: &str, extra_headers: &str) -> String {
    let authority = url.trim_start_matches("http://").split('/').next().unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{extra_headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.lines().next().unwrap_or("").to_owned()
}

#[test]
fn http_sessions_are_provisional_loopback_and_refuse_browsers() {
    let Some(python) = mcp_python() else { return };
    let (_model, t) = node();
    let (mut server, url) = http_server(&t, &[]);
    for mode in MODES {
        let mut driver = Driver::http(&python, &t, mode, &url);
        check_session(&mut driver, &t, &format!("http {mode}"));
    }
    assert!(
        raw_post(&url, "").contains("200"),
        "a plain client is served"
    );
    let from_page = raw_post(&url, "Origin: http://evil.example\r\n");
    assert!(
        from_page.contains("403"),
        "a browser page is refused: {from_page}"
    );
    let rebinding = raw_post(&url.replace("127.0.0.1", "localhost"), "");
    assert!(
        rebinding.contains("200"),
        "loopback names are served: {rebinding}"
    );
    let _ = server.kill();
    let _ = server.wait();

    // HTTP clients are not authenticated: no persona, nothing above Provisional.
    for args in [
        &["--as", "persona", "ada"][..],
        &["--max-trust", "owner"][..],
        &["--http-not-loopback"][..],
    ] {
        let mut command = Command::new(bin("continuum-mcp"));
        if args[0] == "--http-not-loopback" {
            command.args(["--http", "0.0.0.0:0"]);
        } else {
            command.args(["--http", "127.0.0.1:0"]).args(args);
        }
        let out = command
            .env("CONTINUUM_HOME", t.home().root())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
}

#[test]
fn a_session_outlives_its_daemon_and_reconnects() {
    let Some(python) = mcp_python() else { return };
    let (_model, t) = node();
    let mut driver = Driver::stdio(&python, &t, "legacy", &[]);
    assert_eq!(driver.call("ping", json!({}))["isError"], false);
    assert_eq!(t.cu(&["stop"]).code(), 0);
    // The daemon is gone: calls are tool errors that say what to do, and
    // listing is a protocol error; the session itself stays up.
    let down = driver.call("ping", json!({}));
    assert_eq!(down["isError"], true, "{down}");
    assert_eq!(
        down["meta"]["continuum/error"]["kind"], "unavailable",
        "{down}"
    );
    assert!(text_of(&down).contains("cu start"), "{down}");
    let listed = driver.op(json!({"op": "list"}));
    assert!(listed.get("protocolError").is_some(), "{listed}");
    t.start();
    let back = driver.call("ping", json!({}));
    assert_eq!(back["isError"], false, "{back}");
    assert!(!driver.list().is_empty());
}

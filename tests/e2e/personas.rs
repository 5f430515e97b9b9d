//! Personas end to end: the real `cu` and daemon, real SQLite, real files.
//!
//! - Identity: a persona resumes as itself across restarts, its seed heals
//!   (deleted or corrupt) with the same id and birth time, a missing key is
//!   reported and never re-made, retiring archives.
//! - Answering with the real small model (`CONTINUUM_TEST_LLM_URL`, as in
//!   `ai.rs`): an addressed persona posts a clean, non-empty answer.
//! - What the small model cannot do reliably (tool calls, always addressing
//!   the others) runs against `ScriptedModel`, a scripted OpenAI-compatible
//!   server that says so.

use continuum_e2e::scripted_model::{
    completion, http_error, persona_name, tool_call, tool_results, ScriptedModel,
};
use continuum_e2e::{llm_url, TestHome};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A started home whose provider `local` is `providers`.
fn home_with(providers: &str, config: &str) -> TestHome {
    let t = TestHome::new();
    t.write("providers.toml", providers);
    t.write("config.toml", config);
    t.start();
    t
}

fn create(t: &TestHome, name: &str) -> Value {
    t.cu_json(&["persona/create", "--name", name, "--provider", "local"])
}

fn room_with(t: &TestHome, room: &str, personas: &[&str]) {
    t.cu_json(&["room/create", "--name", room]);
    for persona in personas {
        t.cu_json(&["room/join", "--room", room, "--persona", persona]);
    }
}

fn send(t: &TestHome, room: &str, text: &str) -> u64 {
    t.cu_json(&["chat/send", "--room", room, "--text", text])["id"]
        .as_u64()
        .unwrap()
}

/// Messages of `room` after `after`, long-polling until `done` holds for
/// them or `within` passes.
fn wait_messages(
    t: &TestHome,
    room: &str,
    after: u64,
    within: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    let mut seen: Vec<Value> = Vec::new();
    let mut cursor = after;
    while !done(&seen) && Instant::now() < deadline {
        let page = t.cu_json(&[
            "chat/history",
            "--room",
            room,
            "--after",
            &cursor.to_string(),
            "--wait-ms",
            "2000",
        ]);
        cursor = page["cursor"].as_u64().unwrap();
        seen.extend(page["messages"].as_array().unwrap().iter().cloned());
    }
    seen
}

fn by_personas(messages: &[Value]) -> Vec<&Value> {
    messages
        .iter()
        .filter(|m| m["author"]["kind"] == "persona")
        .collect()
}

fn personas(t: &TestHome) -> Vec<Value> {
    t.cu_json(&["persona/list"])["personas"]
        .as_array()
        .unwrap()
        .clone()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_persona_resumes_as_itself_and_its_seed_heals() {
    let model = ScriptedModel::start(|_| completion("hello"));
    let t = home_with(&model.providers_toml("local"), "");
    let created = t.cu_json(&[
        "persona/create",
        "--name",
        "asha",
        "--provider",
        "local",
        "--system-prompt",
        "Be brief.",
    ]);
    let (id, born) = (
        created["id"].as_str().unwrap().to_owned(),
        created["bornAtMs"].clone(),
    );
    assert_eq!(created["status"], "active");
    assert_eq!(created["trust"], "provisional", "Provisional by default");
    assert_eq!(created["thinking"], "suppress", "thinking off by default");
    let dir = t.home().personas_dir().join(&id);
    let (seed, key) = (dir.join("seed.json"), dir.join("persona.key"));
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&seed), 0o600);
    let key_bytes = std::fs::read(&key).unwrap();
    t.cu_json(&[
        "memory/remember",
        "--persona",
        "asha",
        "--text",
        "The owner's cat is called Miso",
    ]);

    let same = |t: &TestHome| {
        let listed = personas(t);
        assert_eq!(listed.len(), 1, "never minted twice: {listed:?}");
        assert_eq!(listed[0]["id"], id.as_str());
        assert_eq!(listed[0]["bornAtMs"], born);
        assert_eq!(listed[0]["name"], "asha");
        assert_eq!(listed[0]["status"], "active", "{listed:?}");
        assert_eq!(
            std::fs::read(&key).unwrap(),
            key_bytes,
            "the key is never re-made"
        );
        let on_disk: Value = serde_json::from_slice(&std::fs::read(&seed).unwrap()).unwrap();
        assert_eq!(on_disk["id"], id.as_str());
        assert_eq!(on_disk["bornAtMs"], born);
        assert_eq!(on_disk["systemPrompt"], "Be brief.");
    };

    t.restart();
    same(&t);
    std::fs::remove_file(&seed).unwrap();
    t.restart();
    same(&t);
    std::fs::write(&seed, "{\"id\": \"garbage").unwrap();
    t.restart();
    same(&t);
    assert!(t.log().contains("persona resumed"), "{}", t.log());

    let recalled = t.cu_json(&[
        "memory/recall",
        "--persona",
        "asha",
        "--query",
        "what is the cat called",
    ]);
    assert_eq!(
        recalled["memories"][0]["text"], "The owner's cat is called Miso",
        "{recalled}"
    );

    // A missing key is reported, and no new key is made for the persona.
    std::fs::rename(&key, t.scratch().join("saved.key")).unwrap();
    t.restart();
    let listed = personas(&t);
    assert_eq!(listed[0]["status"], "key_missing", "{listed:?}");
    assert!(
        !key.exists(),
        "a new key was minted for an existing persona"
    );
    assert!(t.log().contains("persona not resumed"));
    std::fs::rename(t.scratch().join("saved.key"), &key).unwrap();
    t.restart();
    same(&t);
}

#[test]
fn retiring_archives_the_home_and_the_persona_stops_answering() {
    let model = ScriptedModel::start(|_| completion("still here"));
    let t = home_with(&model.providers_toml("local"), "");
    let id = create(&t, "bodhi")["id"].as_str().unwrap().to_owned();
    room_with(&t, "lobby", &["bodhi"]);
    let retired = t.cu_json(&["persona/retire", "--persona", "bodhi"]);
    assert_eq!(retired["status"], "retired");
    assert!(!t.home().personas_dir().join(&id).exists());
    let archived = t.home().archived_personas_dir().join(&id);
    assert!(archived.join("persona.key").exists() && archived.join("seed.json").exists());

    // A Blocked persona in the room stays silent too (its model is a call).
    t.cu_json(&[
        "persona/create",
        "--name",
        "mute",
        "--provider",
        "local",
        "--trust",
        "blocked",
    ]);
    t.cu_json(&["room/join", "--room", "lobby", "--persona", "mute"]);
    let sent = send(&t, "lobby", "anyone there?");
    std::thread::sleep(Duration::from_millis(1500));
    let after = t.cu_json(&[
        "chat/history",
        "--room",
        "lobby",
        "--after",
        &sent.to_string(),
    ]);
    assert_eq!(
        after["messages"],
        json!([]),
        "a retired or blocked persona answered"
    );
    assert!(model.requests().is_empty());

    t.restart();
    let listed = personas(&t);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["status"], "retired");
    // The name is free again; the id never is.
    let again = create(&t, "bodhi");
    assert_ne!(again["id"], id.as_str());
}

#[test]
fn bad_persona_params_are_typed_errors_naming_the_field() {
    let model = ScriptedModel::start(|_| completion("x"));
    let t = home_with(&model.providers_toml("local"), "");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--name", "asha", "--provider", "local", "--trust", "owner"],
            "/trust",
        ),
        (&["--name", "two words", "--provider", "local"], "/name"),
        (&["--name", "asha", "--provider", "locl"], "/provider"),
        (
            &[
                "--name",
                "asha",
                "--provider",
                "local",
                "--thinking",
                "loud",
            ],
            "thinking",
        ),
    ];
    for (args, field) in cases {
        let mut full = vec!["persona/create"];
        full.extend_from_slice(args);
        let out = t.cu(&full);
        assert_eq!(out.code(), 2, "{args:?}: {out:?}");
        assert!(out.stderr().contains(field), "{args:?}: {out:?}");
    }
    create(&t, "asha");
    let taken = t.cu(&["persona/create", "--name", "ASHA", "--provider", "local"]);
    assert_eq!(taken.code(), 1, "{taken:?}");
    assert!(taken.stderr().contains("already exists"), "{taken:?}");
    let refused = t.cu(&[
        "--max-trust",
        "provisional",
        "persona/create",
        "--name",
        "eve",
        "--provider",
        "local",
    ]);
    assert_eq!(refused.code(), 4, "{refused:?}");
    let unknown = t.cu(&["memory/recall", "--query", "x"]);
    assert_eq!(
        unknown.code(),
        2,
        "the owner must name the persona: {unknown:?}"
    );
    assert!(unknown.stderr().contains("/persona"));
}

#[test]
fn an_addressed_persona_answers_from_the_real_model_without_reasoning() {
    let Some(url) = llm_url() else { return };
    let providers = format!(
        "[providers.local]\nkind = \"openai\"\nbase_url = \"{url}\"\nmodel = \"smollm2\"\n"
    );
    let t = home_with(
        &providers,
        "[personas]\ntemperature = 0.0\nmax_answer_tokens = 24\nhistory_tokens = 256\n",
    );
    create(&t, "asha");
    room_with(&t, "lobby", &["asha"]);
    let sent = send(&t, "lobby", "@asha Say hello.");
    let messages = wait_messages(&t, "lobby", sent, Duration::from_secs(120), |m| {
        !by_personas(m).is_empty()
    });
    let answers = by_personas(&messages);
    assert_eq!(answers.len(), 1, "{messages:?}\n{}", t.log());
    let answer = answers[0];
    assert_eq!(answer["author"]["name"], "asha");
    assert_eq!(answer["replyTo"], sent);
    let text = answer["text"].as_str().unwrap();
    assert!(!text.trim().is_empty());
    assert!(
        !text.contains("<think>") && !text.contains("</think>"),
        "{text}"
    );
    assert!(
        answer["persona"]["usage"]["completionTokens"]
            .as_u64()
            .unwrap()
            > 0
    );
    let record = t.cu_json(&[
        "chat/answer",
        "--id",
        answer["persona"]["answerId"].as_str().unwrap(),
    ]);
    assert_eq!(record["outcome"], "posted");
    assert_eq!(record["messageId"], answer["id"]);

    // After a restart the same persona answers again, as itself.
    t.restart();
    let again = send(&t, "lobby", "@asha Say goodbye.");
    let messages = wait_messages(&t, "lobby", again, Duration::from_secs(120), |m| {
        !by_personas(m).is_empty()
    });
    let answers = by_personas(&messages);
    assert_eq!(answers.len(), 1, "{messages:?}\n{}", t.log());
    assert_eq!(answers[0]["author"]["id"], answer["author"]["id"]);
    assert!(!answers[0]["text"].as_str().unwrap().trim().is_empty());
}

/// A model that remembers something, then tries an owner-only command and
/// another persona's memories, then answers.
fn tool_script(request: &Value) -> Value {
    match tool_results(request).len() {
        0 => tool_call(
            "c1",
            "memory__remember",
            json!({"text": "The meeting moved to Friday"}),
        ),
        1 => tool_call("c2", "data__clear-all", json!({"confirm": true})),
        2 => tool_call(
            "c3",
            "memory__recall",
            json!({"query": "anything", "persona": "bodhi"}),
        ),
        _ => completion("Noted: the meeting is on Friday."),
    }
}

#[test]
fn tool_calls_run_as_the_persona_through_the_gate_and_refusals_go_back_to_the_model() {
    let model = ScriptedModel::start(tool_script);
    let t = home_with(&model.providers_toml("local"), "");
    let asha = create(&t, "asha")["id"].as_str().unwrap().to_owned();
    create(&t, "bodhi");
    room_with(&t, "lobby", &["asha"]);
    let sent = send(
        &t,
        "lobby",
        "@asha the meeting moved to Friday, please remember",
    );
    let messages = wait_messages(&t, "lobby", sent, Duration::from_secs(30), |m| {
        !by_personas(m).is_empty()
    });
    let answers = by_personas(&messages);
    assert_eq!(answers.len(), 1, "{messages:?}");
    assert_eq!(answers[0]["text"], "Noted: the meeting is on Friday.");

    // The tools offered are what the gate admits for the persona.
    let requests = model.requests();
    let tools: Vec<&str> = requests[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["function"]["name"].as_str().unwrap())
        .collect();
    let listed = t.cu_json(&[
        "--max-trust",
        "provisional",
        "commands/list",
        "--schemas=false",
    ]);
    let expected: Vec<String> = listed["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().replace('/', "__"))
        .collect();
    assert_eq!(tools, expected);
    assert!(tools.contains(&"memory__remember") && !tools.contains(&"data__clear-all"));
    // Every tool's schema is in the subset providers accept.
    for tool in requests[0]["tools"].as_array().unwrap() {
        let parameters = &tool["function"]["parameters"];
        assert_eq!(parameters["type"], "object", "{tool}");
        let text = parameters.to_string();
        assert!(
            !text.contains("$ref") && !text.contains("\"null\""),
            "{tool}"
        );
    }

    // Each refusal went back to the model as a tool result.
    let results = tool_results(&requests[3]);
    assert!(
        results[0].contains("The meeting moved to Friday"),
        "{results:?}"
    );
    assert!(results[1].contains("forbidden"), "{results:?}");
    assert!(
        results[2].contains("forbidden") && results[2].contains("its own"),
        "{results:?}"
    );

    // The memory is the persona's own, and the audit log says who acted.
    let recalled = t.cu_json(&[
        "memory/recall",
        "--persona",
        "asha",
        "--query",
        "meeting friday",
    ]);
    assert_eq!(
        recalled["memories"][0]["text"],
        "The meeting moved to Friday"
    );
    let bodhi = t.cu_json(&[
        "memory/recall",
        "--persona",
        "bodhi",
        "--query",
        "meeting friday",
    ]);
    assert_eq!(bodhi["memories"], json!([]));
    let audit = t.cu_json(&["audit/tail", "--limit", "200"]);
    let records = audit["records"].as_array().unwrap();
    let by = |command: &str, outcome: &str| {
        records.iter().any(|r| {
            r["caller"] == format!("persona:{asha}")
                && r["command"] == command
                && r["outcome"] == outcome
        })
    };
    assert!(by("memory/remember", "allowed"), "{audit}");
    assert!(by("data/clear-all", "denied"), "{audit}");
    let record = t.cu_json(&[
        "chat/answer",
        "--id",
        answers[0]["persona"]["answerId"].as_str().unwrap(),
    ]);
    let calls: Vec<(String, bool)> = record["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["command"].as_str().unwrap().to_owned(),
                c["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("memory/remember".to_owned(), true),
            ("data/clear-all".to_owned(), false),
            ("memory/recall".to_owned(), false)
        ]
    );
}

#[test]
fn personas_that_always_address_each_other_stay_within_the_hop_budget() {
    // Every answer addresses all three personas (the author is skipped).
    let model = ScriptedModel::start(|request| {
        let me = persona_name(request);
        completion(&format!("I am {me}. @p1 @p2 @p3 what do you think?"))
    });
    let t = home_with(
        &model.providers_toml("local"),
        "[personas]\nanswer_burst = 50\nanswers_per_minute = 600\n",
    );
    for name in ["p1", "p2", "p3"] {
        create(&t, name);
    }
    room_with(&t, "storm", &["p1", "p2", "p3"]);
    let sent = send(&t, "storm", "@p1 @p2 @p3 let us discuss");
    let messages = wait_messages(&t, "storm", sent, Duration::from_secs(5), |_| false);
    let persona_messages = by_personas(&messages).len();
    assert!(persona_messages > 0, "nobody answered: {messages:?}");
    assert!(
        persona_messages <= 3,
        "over the hop budget of 3: {messages:?}"
    );
    std::thread::sleep(Duration::from_secs(10));
    let later = t.cu_json(&[
        "chat/history",
        "--room",
        "storm",
        "--after",
        &sent.to_string(),
    ]);
    assert_eq!(
        by_personas(later["messages"].as_array().unwrap()).len(),
        persona_messages,
        "the room is not quiet 10 s later"
    );
}

#[test]
fn a_single_persona_answers_any_human_message_but_never_itself_and_cu_chat_shows_it() {
    let model = ScriptedModel::start(|request| {
        let me = persona_name(request);
        completion(&format!("{me} here, @{me}"))
    });
    let t = home_with(&model.providers_toml("local"), "");
    create(&t, "solo");
    room_with(&t, "den", &["solo"]);

    let mut chat = t
        .cu_command(&["chat", "den"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = chat.stdin.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = chat.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    // Unaddressed: the room's only persona answers.
    writeln!(stdin, "good morning").unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen
        .iter()
        .any(|l: &String| l.contains("solo (scripted): solo here"))
        && Instant::now() < deadline
    {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
    }
    assert!(
        seen.iter().any(|l| l.contains("owner: good morning")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.contains("solo (scripted): solo here, @solo")),
        "{seen:?}"
    );
    drop(stdin);
    let status = chat.wait().unwrap();
    assert!(status.success());

    // It addressed itself: it does not answer that.
    std::thread::sleep(Duration::from_millis(1000));
    let history = t.cu_json(&["chat/history", "--room", "den"]);
    assert_eq!(
        by_personas(history["messages"].as_array().unwrap()).len(),
        1,
        "{history}"
    );
    assert_eq!(model.requests().len(), 1);
}

#[test]
fn an_empty_answer_posts_nothing_and_is_recorded_with_its_reasoning() {
    let model = ScriptedModel::start(|_| completion("<think>I keep thinking and never finish"));
    let t = home_with(&model.providers_toml("local"), "");
    create(&t, "quiet");
    room_with(&t, "hall", &["quiet"]);
    let sent = send(&t, "hall", "@quiet hello?");
    let deadline = Instant::now() + Duration::from_secs(10);
    while model.requests().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = t.cu_json(&[
        "chat/history",
        "--room",
        "hall",
        "--after",
        &sent.to_string(),
    ]);
    assert_eq!(after["messages"], json!([]), "an empty answer was posted");
    assert!(t.log().contains("persona posted nothing"), "{}", t.log());
    let records = t.cu_json(&["chat/answers", "--room", "hall", "--persona", "quiet"]);
    let record = &records["answers"][0];
    assert_eq!(record["outcome"], "empty", "{records}");
    assert_eq!(record["triggerId"], sent);
    assert_eq!(
        record["reasoning"], "I keep thinking and never finish",
        "{records}"
    );
    assert!(record.get("messageId").is_none());
}

#[test]
fn following_a_room_streams_new_messages_until_the_client_goes() {
    let model = ScriptedModel::start(|_| completion("pong"));
    let t = home_with(&model.providers_toml("local"), "");
    create(&t, "echo");
    room_with(&t, "live", &["echo"]);
    let mut follower = t.raw();
    follower.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "chat/history", "params": {"room": "live", "follow": true}}));
    std::thread::sleep(Duration::from_millis(200));
    send(&t, "live", "ping");
    let mut texts = Vec::new();
    while texts.len() < 2 {
        let frame = follower.recv();
        assert_eq!(frame["method"], "$/stream", "{frame}");
        texts.push(
            frame["params"]["event"]["message"]["text"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(texts, ["ping", "pong"]);
    // Non-owners never see the handle to the kept reasoning.
    let seen = t.cu_json(&[
        "--max-trust",
        "provisional",
        "chat/history",
        "--room",
        "live",
    ]);
    assert!(
        seen["messages"][1]["persona"].get("answerId").is_none(),
        "{seen}"
    );
    drop(follower);
    // The daemon stays healthy and serves the room after the follower left.
    send(&t, "live", "again");
    let history = t.cu_json(&["chat/history", "--room", "live"]);
    assert!(history["messages"].as_array().unwrap().len() >= 3);

    // A follow still open at shutdown ends with the daemon: it gets its
    // answer, and the stop does not wait out the grace period.
    let mut open = t.raw();
    open.send(&json!({"jsonrpc": "2.0", "id": 7, "method": "chat/history", "params": {"room": "live", "follow": true, "limit": 1}}));
    assert_eq!(open.recv()["method"], "$/stream");
    let stopped = t.cu(&["stop"]);
    assert_eq!(stopped.code(), 0, "{stopped:?}");
    // Messages posted meanwhile (echo answering "again") may still stream
    // before the answer.
    let answer = loop {
        let frame = open.recv();
        if frame["method"] != "$/stream" {
            break frame;
        }
    };
    assert_eq!(
        answer["id"], 7,
        "the follow is answered when the daemon stops: {answer}"
    );
    assert!(!t.log().contains("did not finish within"), "{}", t.log());
}

#[test]
fn a_model_that_refuses_tools_still_answers_without_them() {
    let model = ScriptedModel::start(|request| {
        if request.get("tools").is_some() {
            http_error(
                400,
                "registry.ollama.ai/library/tiny does not support tools",
            )
        } else {
            completion("fine without tools")
        }
    });
    let t = home_with(&model.providers_toml("local"), "");
    create(&t, "plain");
    room_with(&t, "room", &["plain"]);
    let sent = send(&t, "room", "hello");
    let messages = wait_messages(&t, "room", sent, Duration::from_secs(20), |m| {
        !by_personas(m).is_empty()
    });
    assert_eq!(
        by_personas(&messages)[0]["text"],
        "fine without tools",
        "{messages:?}"
    );
    assert_eq!(model.requests().len(), 2);
}

/// What personas (and, later, MCP clients) are given as tool schemas: for
/// every command in the catalog, self-contained (no `$ref`), no `null` type
/// arrays, an object at the root, valid JSON Schema, and a tool name every
/// provider accepts.
#[test]
fn every_command_has_a_portable_valid_tool_schema() {
    use continuum_wire::tool_schema::{portable_schema, self_contained_schema};
    let t = TestHome::with_product_daemon();
    t.start();
    let listed = t.cu_json(&["commands/list"]);
    let commands = listed["commands"].as_array().unwrap();
    assert!(commands.len() > 30, "{}", commands.len());
    for command in commands {
        let name = command["name"].as_str().unwrap();
        let tool = name.replace('/', "__");
        assert!(
            tool.len() <= 64
                && tool
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{tool}"
        );
        assert!(
            !name.contains('_'),
            "the / <-> __ mapping needs names without _: {name}"
        );
        let schema = portable_schema(&command["paramsSchema"]);
        assert_eq!(schema["type"], "object", "{name}: {schema}");
        let text = schema.to_string();
        assert!(
            !text.contains("$ref") && !text.contains("$defs"),
            "{name}: {text}"
        );
        assert!(!text.contains("\"null\""), "{name}: {text}");
        jsonschema::validator_for(&schema).unwrap_or_else(|err| panic!("{name}: {err}: {text}"));
        // MCP's outputSchema: object results only, self-contained, nulls kept.
        let result = &command["resultSchema"];
        if result["type"] == "object" {
            let output = self_contained_schema(result);
            let text = output.to_string();
            assert!(
                !text.contains("$ref") && !text.contains("$defs"),
                "{name}: {text}"
            );
            jsonschema::validator_for(&output)
                .unwrap_or_else(|err| panic!("{name}: outputSchema: {err}: {text}"));
        }
    }
}

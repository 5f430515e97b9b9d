//! The vault end to end: `cu vault/put` takes the secret from stdin, the
//! plaintext never reaches a file, the log or any output, and a provider
//! whose key is in the vault gets it per request, released audited first,
//! and not at all when the audit log cannot record the release.
//!
//! The provider is a scripted OpenAI-compatible server (it says so), which
//! checks the bearer header as a real one would.

use continuum_e2e::scripted_model::{completion, http_error, ScriptedModel};
use continuum_e2e::TestHome;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

const KEY: &str = "sk-or-v1-VAULT-PLAINTEXT-4d1e";

/// A provider that answers only the right bearer, like a real one.
fn provider() -> ScriptedModel {
    ScriptedModel::start(|request| {
        if request["__authorization"] == format!("Bearer {KEY}") {
            completion("hello from upstream")
        } else {
            http_error(401, "bad key")
        }
    })
}

/// `cu vault/put ARGS` with `value` on stdin.
fn put(t: &TestHome, args: &[&str], value: &str) -> std::process::Output {
    let mut full = vec!["vault/put"];
    full.extend_from_slice(args);
    let mut child = t
        .cu_command(&full)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{value}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn home_with_vault_provider(model: &ScriptedModel) -> TestHome {
    let t = TestHome::new();
    t.write(
        "providers.toml",
        &format!(
            "[providers.router]\nkind = \"openai\"\nbase_url = \"{}\"\nmodel = \"scripted\"\ncredential = \"vault:openrouter/default\"\n",
            model.url
        ),
    );
    t.start();
    t
}

fn every_file_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            every_file_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

fn releases(t: &TestHome) -> Vec<Value> {
    let tail = t.cu_json(&["audit/tail", "--limit", "200"]);
    tail["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["command"] == "vault/release")
        .cloned()
        .collect()
}

#[test]
fn a_vault_key_reaches_the_provider_per_request_and_nowhere_else() {
    let model = provider();
    let t = home_with_vault_provider(&model);

    // Without the key the call fails clearly, and nothing was released.
    let missing = t.cu(&["ai/generate", "--prompt", "hi", "--provider", "router"]);
    assert_ne!(missing.code(), 0, "{missing:?}");
    assert!(
        missing.stderr().contains("vault:openrouter/default"),
        "{missing:?}"
    );

    // The value is never a flag: cu reads it from stdin.
    let flag = t.cu(&[
        "vault/put",
        "--service",
        "openrouter",
        "--name",
        "default",
        "--value",
        KEY,
    ]);
    assert_eq!(flag.code(), 2, "{flag:?}");
    let stored = put(&t, &["--service", "openrouter", "--name", "default"], KEY);
    assert!(stored.status.success(), "{stored:?}");
    let stored: Value = serde_json::from_slice(&stored.stdout).unwrap();
    assert_eq!(stored["wallet"], "shared");
    assert_eq!(stored["replaced"], false);

    let listed = t.cu(&["vault/list"]);
    assert_eq!(listed.code(), 0, "{listed:?}");
    assert_eq!(listed.json()["items"][0]["name"], "default");

    // Now the provider gets the key, released for this request.
    let answer = t.cu_json(&["ai/generate", "--prompt", "hi", "--provider", "router"]);
    assert_eq!(answer["text"], "hello from upstream", "{answer}");
    let requests = model.requests();
    let upstream = requests.last().unwrap();
    let received_ms = upstream["__received_ms"].as_u64().unwrap();
    let released = releases(&t);
    let release = released
        .iter()
        .find(|r| r["outcome"] == "allowed")
        .expect("the release is audited");
    assert_eq!(release["caller"], "owner");
    assert_eq!(
        release["forwardedFor"],
        "shared:openrouter/default for provider router"
    );
    assert!(
        release["timeMs"].as_u64().unwrap() <= received_ms,
        "the release was recorded before the request left: {release} vs {received_ms}"
    );

    // The plaintext is nowhere: not in any file under the home (stores,
    // WAL, log), not in any output.
    let outputs = [
        t.cu(&["vault/list"]).stdout(),
        t.cu(&["audit/tail", "--limit", "200"]).stdout(),
        t.cu(&["ai/providers"]).stdout(),
        t.cu(&["system/info"]).stdout(),
    ];
    for output in &outputs {
        assert!(!output.contains(KEY), "{output}");
    }
    let mut files = Vec::new();
    every_file_under(t.home().root(), &mut files);
    assert!(files.len() > 5);
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !contains(&bytes, KEY),
            "the plaintext is in {}",
            file.display()
        );
    }
}

#[test]
fn nothing_is_released_or_sent_when_the_release_cannot_be_audited() {
    let model = provider();
    let t = home_with_vault_provider(&model);
    let stored = put(&t, &["--service", "openrouter", "--name", "default"], KEY);
    assert!(stored.status.success(), "{stored:?}");
    // Make the audit log refuse appends: truncate its tail while the daemon
    // is stopped; the signed head no longer matches, and the log refuses to
    // record anything until the owner deals with it.
    assert_eq!(t.cu(&["stop"]).code(), 0);
    t.truncate_audit_tail(2);
    t.start();

    let refused = t.cu(&["ai/generate", "--prompt", "hi", "--provider", "router"]);
    assert_ne!(refused.code(), 0, "{refused:?}");
    assert!(
        refused.stderr().contains("not released") && refused.stderr().contains("audit"),
        "{refused:?}"
    );
    assert!(
        model.requests().is_empty(),
        "no request left: {:?}",
        model.requests()
    );
}

#[test]
fn a_persona_gets_only_its_own_wallet_and_the_shared_one() {
    let model = provider();
    let t = home_with_vault_provider(&model);
    let ada = t.cu_json(&["persona/create", "--name", "ada", "--provider", "router"]);
    let bob = t.cu_json(&["persona/create", "--name", "bob", "--provider", "router"]);
    let ada_wallet = format!("persona/{}", ada["id"].as_str().unwrap());
    let bob_wallet = format!("persona/{}", bob["id"].as_str().unwrap());
    // Only bob's wallet holds the key.
    let stored = put(
        &t,
        &[
            "--wallet",
            &bob_wallet,
            "--service",
            "openrouter",
            "--name",
            "default",
        ],
        KEY,
    );
    assert!(stored.status.success(), "{stored:?}");
    t.cu_json(&["room/create", "--name", "lobby"]);
    for persona in ["ada", "bob"] {
        t.cu_json(&["room/join", "--room", "lobby", "--persona", persona]);
    }
    t.cu_json(&["chat/send", "--room", "lobby", "--text", "@ada @bob hello"]);
    let answered = |name: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let answers = t.cu_json(&["chat/answers", "--room", "lobby", "--persona", name]);
            if let Some(answer) = answers["answers"].as_array().and_then(|a| a.first()) {
                return answer.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} never answered"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let bob_answer = answered("bob");
    assert_eq!(bob_answer["outcome"], "posted", "{bob_answer}");
    let ada_answer = answered("ada");
    assert_eq!(
        ada_answer["outcome"], "failed",
        "ada has no key: {ada_answer}"
    );
    let released = releases(&t);
    assert!(
        released.iter().any(
            |r| r["caller"] == format!("persona:{}", bob["id"].as_str().unwrap())
                && r["forwardedFor"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with(&bob_wallet)
        ),
        "{released:?}"
    );
    assert!(
        !released.iter().any(|r| r["forwardedFor"]
            .as_str()
            .unwrap_or("")
            .starts_with(&ada_wallet)
            && r["outcome"] == "allowed"),
        "{released:?}"
    );
}

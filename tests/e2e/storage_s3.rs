//! The product daemon on S3 storage (`storage.toml`, `storage = "s3"`),
//! against a real S3 + STS + IAM server on loopback: moto with IAM enforced
//! from the first request, one role per data class on its own bucket, the
//! daemon holding only the base identity that assumes them. boto3 (moto's
//! venv) inspects the buckets independently.
//!
//! Without `CONTINUUM_TEST_MOTO_PYTHON` the test prints "skipped"; under
//! `CI` it fails instead.

use continuum_e2e::TestHome;
use continuum_s3::testing::{moto_python, Moto};
use continuum_s3::{provision, DataClass, S3Config};
use serde_json::Value;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

const KEY: &str = "sk-or-v1-S3-PLAINTEXT-77aa";

/// `cu ARGS` for a daemon whose base identity is moto's admin.
fn cu_with_keys(t: &TestHome, moto: &Moto, args: &[&str]) -> std::process::Command {
    let mut command = t.cu_command(args);
    command
        .env("AWS_ACCESS_KEY_ID", &moto.admin.0)
        .env("AWS_SECRET_ACCESS_KEY", &moto.admin.1)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

fn start(t: &TestHome, moto: &Moto) {
    let out = cu_with_keys(t, moto, &["start"]).output().unwrap();
    assert!(out.status.success(), "{out:?}\n{}", t.log());
}

fn storage_toml(config: &S3Config) -> String {
    #[derive(serde::Serialize)]
    struct File<'a> {
        storage: &'a str,
        s3: &'a S3Config,
    }
    toml::to_string(&File {
        storage: "s3",
        s3: config,
    })
    .unwrap()
}

fn bucket_text(moto: &Moto, config: &S3Config, class: DataClass) -> String {
    moto.dump(&config.class(class).bucket).to_string()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_node_on_s3_keeps_vault_items_and_memories_in_their_buckets_and_ships_its_audit_log() {
    let Some(python) = moto_python() else { return };
    let (moto, config) = Moto::with_class_roles(&python, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        provision(&moto.admin_s3().await, &config).await.unwrap();
    });

    let t = TestHome::with_product_daemon();
    t.write("storage.toml", &storage_toml(&config));
    t.write("config.toml", "[audit]\nship_interval_ms = 200\n");
    // A provider for the persona (never called here).
    t.write(
        "providers.toml",
        "[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n",
    );
    start(&t, &moto);

    // Vault items: sealed into the vault bucket under their wallet.
    let mut put = t
        .cu_command(&["vault/put", "--service", "openrouter", "--name", "default"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(put.stdin.take().unwrap(), "{KEY}").unwrap();
    assert!(put.wait_with_output().unwrap().status.success());
    let vault = bucket_text(&moto, &config, DataClass::Vault);
    assert!(vault.contains("shared/openrouter/default"), "{vault}");
    assert!(
        !vault.contains(KEY),
        "the vault bucket holds sealed blobs only"
    );
    assert_eq!(
        t.cu_json(&["vault/list"])["items"][0]["service"],
        "openrouter"
    );

    // Memories: in the memory bucket under the persona's wallet, and still
    // there for a restarted daemon.
    let ada = t.cu_json(&["persona/create", "--name", "ada", "--provider", "local"]);
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    t.cu_json(&[
        "memory/remember",
        "--persona",
        "ada",
        "--text",
        "the lighthouse keeper's name is Ilse",
    ]);
    let memory = bucket_text(&moto, &config, DataClass::Memory);
    assert!(memory.contains(&format!("persona/{ada_id}/")), "{memory}");
    assert_eq!(t.cu(&["stop"]).code(), 0);
    start(&t, &moto);
    let recalled = t.cu_json(&[
        "memory/recall",
        "--persona",
        "ada",
        "--query",
        "lighthouse keeper",
    ]);
    assert!(
        recalled["memories"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("Ilse"),
        "{recalled}"
    );

    // The audit log is shipped in segments, and the shipped copy agrees
    // with the local log.
    wait_for("an audit segment", || {
        bucket_text(&moto, &config, DataClass::Audit).contains(".jsonl")
    });
    let verified = t.cu_json(&["audit/verify", "--shipped"]);
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(verified["shipped"]["ok"], true, "{verified}");
    assert!(
        verified["shipped"]["segments"].as_u64().unwrap() >= 1,
        "{verified}"
    );

    // Someone truncates the local log and removes the signed head that
    // would have caught it locally: the local chain alone still verifies,
    // the shipped copy does not agree.
    wait_for("everything shipped", || {
        let v: Value = t.cu_json(&["audit/verify", "--shipped"]);
        v["shipped"]["shippedThrough"].as_u64()
            >= v["records"].as_u64().map(|n| n.saturating_sub(1))
    });
    assert_eq!(t.cu(&["stop"]).code(), 0);
    t.truncate_audit_tail(5);
    for file in ["audit.anchor", "audit.base"] {
        let _ = std::fs::remove_file(t.home().data_dir().join(file));
    }
    start(&t, &moto);
    assert_eq!(
        t.cu_json(&["audit/verify"])["ok"],
        true,
        "the local chain alone looks fine"
    );
    let caught = t.cu(&["audit/verify", "--shipped"]);
    assert_ne!(caught.code(), 0, "{caught:?}");
    assert!(
        caught.stderr().contains("truncated") || caught.stderr().contains("rewritten"),
        "{caught:?}"
    );
}

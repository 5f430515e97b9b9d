//! A real S3 + STS + IAM server for tests, here and in the end-to-end suite:
//! moto's server on a free loopback port, IAM enforced from the first
//! request (`INITIAL_NO_AUTH_ACTION_COUNT=0`), bootstrapped through moto's
//! IAM by `tests/moto_helper.py` (an admin user and keys, one role per data
//! class whose policy allows its own bucket only, trusted to the admin).
//! Enabled by the `testing` feature.
//!
//! The python comes from `CONTINUUM_TEST_MOTO_PYTHON`
//! (`scripts/ci/setup-moto.sh`); without it a test prints "skipped" and
//! returns, except under `CI`, where it fails.

#![allow(clippy::missing_panics_doc)]

use crate::{ClassStorage, DataClass, S3Config};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use serde_json::Value;
use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The env var naming the moto venv's python.
pub const MOTO_PYTHON_ENV: &str = "CONTINUUM_TEST_MOTO_PYTHON";
/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// The moto venv's python, or `None` (printing "skipped") when it is not
/// set outside CI. Under `CI` a missing python is a failure, so CI can never
/// skip the S3 tests silently.
pub fn moto_python() -> Option<PathBuf> {
    match std::env::var(MOTO_PYTHON_ENV) {
        Ok(python) if !python.trim().is_empty() => Some(PathBuf::from(python.trim())),
        _ => {
            let ci = std::env::var("CI").unwrap_or_default();
            assert!(
                ci.is_empty() || ci == "false" || ci == "0",
                "{MOTO_PYTHON_ENV} is not set but CI={ci}: export {MOTO_PYTHON_ENV}=$(bash scripts/ci/setup-moto.sh)"
            );
            eprintln!("skipped: set {MOTO_PYTHON_ENV}=$(bash scripts/ci/setup-moto.sh)");
            None
        }
    }
}

/// One moto server; killed when dropped.
pub struct Moto {
    child: Child,
    python: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The admin user's keys.
    pub admin: (String, String),
    /// Role name to ARN.
    pub roles: HashMap<String, String>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn helper_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto_helper.py")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Moto {
    /// A server with IAM enforced, an admin, and `roles` (name, resource
    /// ARNs its policy allows `s3:*` on).
    pub fn start(python: &Path, roles: &[(String, Vec<String>)]) -> Moto {
        let server = python.with_file_name("moto_server");
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("INITIAL_NO_AUTH_ACTION_COUNT", "0")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|err| panic!("starting {}: {err}", server.display()));
            let started = Instant::now();
            let mut ready = false;
            while started.elapsed() < Duration::from_secs(30) {
                if child.try_wait().unwrap().is_some() {
                    break; // the port was taken after all: another one
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    ready = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if !ready {
                let _ = child.kill();
                let _ = child.wait();
                continue;
            }
            let mut moto = Moto {
                child,
                python: python.to_owned(),
                endpoint: format!("http://127.0.0.1:{port}"),
                admin: (String::new(), String::new()),
                roles: HashMap::new(),
            };
            let spec = serde_json::json!({
                "roles": roles.iter().cloned().collect::<HashMap<_, _>>(),
            });
            let boot = moto.helper(
                &["bootstrap", &moto.endpoint.clone(), &spec.to_string()],
                false,
            );
            moto.admin = (
                boot["access_key_id"].as_str().unwrap().to_owned(),
                boot["secret_access_key"].as_str().unwrap().to_owned(),
            );
            moto.roles = serde_json::from_value(boot["roles"].clone()).unwrap();
            return moto;
        }
        panic!("moto_server did not start on a free port");
    }

    /// Runs `moto_helper.py` with `args`, the admin's keys in the
    /// environment when `as_admin`; its JSON output.
    pub fn helper(&self, args: &[&str], as_admin: bool) -> Value {
        let mut command = Command::new(&self.python);
        command.arg(helper_path()).args(args);
        if as_admin {
            command
                .env("AWS_ACCESS_KEY_ID", &self.admin.0)
                .env("AWS_SECRET_ACCESS_KEY", &self.admin.1);
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "moto_helper.py {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Every version of every object in `bucket`, read by boto3 as admin.
    pub fn dump(&self, bucket: &str) -> Value {
        self.helper(&["dump", &self.endpoint, bucket], true)
    }

    /// `bucket`'s settings as boto3 reads them.
    pub fn settings(&self, bucket: &str) -> Value {
        self.helper(&["settings", &self.endpoint, bucket], true)
    }

    /// An SDK config signed as the admin (the daemon's base identity).
    pub async fn admin_sdk(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                &self.admin.0,
                &self.admin.1,
                None,
                None,
                "moto-admin",
            ))
            .load()
            .await
    }

    /// An S3 client signed as the admin.
    pub async fn admin_s3(&self) -> aws_sdk_s3::Client {
        let sdk = self.admin_sdk().await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        )
    }
}

/// The bucket of each class.
pub const BUCKETS: [(DataClass, &str); 3] = [
    (DataClass::Vault, "cu-vault"),
    (DataClass::Memory, "cu-memory"),
    (DataClass::Audit, "cu-audit"),
];

/// The role name of a class.
pub fn role_name(class: DataClass) -> String {
    format!("continuum-{class}")
}

/// `arn:aws:s3:::<bucket>` and `arn:aws:s3:::<bucket>/*`.
pub fn bucket_resources(bucket: &str) -> Vec<String> {
    vec![
        format!("arn:aws:s3:::{bucket}"),
        format!("arn:aws:s3:::{bucket}/*"),
    ]
}

impl Moto {
    /// A server with the three class roles on the three [`BUCKETS`] (each
    /// role's policy allows its own bucket only) and `extra_roles`, and the
    /// [`S3Config`] that names the class roles.
    pub fn with_class_roles(
        python: &Path,
        extra_roles: &[(String, Vec<String>)],
    ) -> (Moto, S3Config) {
        let mut roles: Vec<(String, Vec<String>)> = BUCKETS
            .iter()
            .map(|(class, bucket)| (role_name(*class), bucket_resources(bucket)))
            .collect();
        roles.extend(extra_roles.iter().cloned());
        let moto = Moto::start(python, &roles);
        let class = |class: DataClass| {
            let bucket = BUCKETS
                .iter()
                .find(|(c, _)| *c == class)
                .expect("a bucket per class")
                .1;
            ClassStorage {
                bucket: bucket.into(),
                role_arn: moto.roles[&role_name(class)].clone(),
                prefix: String::new(),
            }
        };
        let config = S3Config {
            endpoint: Some(moto.endpoint.clone()),
            region: REGION.into(),
            force_path_style: true,
            session_duration_secs: 900,
            refresh_before_secs: 300,
            vault: class(DataClass::Vault),
            memory: class(DataClass::Memory),
            audit: class(DataClass::Audit),
        };
        (moto, config)
    }
}

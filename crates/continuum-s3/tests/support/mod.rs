//! A real S3 + STS + IAM server for the tests: moto's server on a free
//! loopback port, IAM enforced from the first request
//! (`INITIAL_NO_AUTH_ACTION_COUNT=0`), bootstrapped through moto's IAM by
//! `moto_helper.py` (an admin user and keys, one role per data class whose
//! policy allows its own bucket only, trusted to the admin).
//!
//! The python comes from `CONTINUUM_TEST_MOTO_PYTHON`
//! (`scripts/ci/setup-moto.sh`); without it a test prints "skipped" and
//! returns, except under `CI`, where it fails.

#![allow(dead_code, unreachable_pub)]

use aws_config::SdkConfig;
use aws_sdk_sts::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sts::error::BoxError;
use continuum_egress::AllowAll;
use continuum_s3::testing::{moto_python, Moto};
use continuum_s3::{provision, EgressPolicy, S3Config, S3Storage, StsBroker};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Records the body of every STS request as sent (after serialization,
/// before transmission): what moto receives.
#[derive(Debug, Default, Clone)]
pub struct StsRecorder {
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Intercept for StsRecorder {
    fn name(&self) -> &'static str {
        "StsRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().unwrap_or_default();
        self.bodies
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(body).into_owned());
        Ok(())
    }
}

impl StsRecorder {
    /// Each AssumeRole request sent so far, its form fields decoded.
    pub fn assume_role_requests(&self) -> Vec<HashMap<String, String>> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|body| form_fields(body))
            .filter(|fields| fields.get("Action").map(String::as_str) == Some("AssumeRole"))
            .collect()
    }
}

/// `a=b&c=d`, percent-decoded.
fn form_fields(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// A clock the broker judges expiry by, moved forward by the test.
#[derive(Debug, Default, Clone)]
pub struct TestClock {
    ahead_secs: Arc<AtomicU64>,
}

impl TestClock {
    /// Moves the clock `secs` further ahead of the system's.
    pub fn advance(&self, secs: u64) {
        self.ahead_secs.fetch_add(secs, Ordering::SeqCst);
    }

    /// Back to the system's time.
    pub fn rewind(&self) {
        self.ahead_secs.store(0, Ordering::SeqCst);
    }

    /// The broker's view of now.
    pub fn clock(&self) -> continuum_s3::Clock {
        let ahead = Arc::clone(&self.ahead_secs);
        Arc::new(move || SystemTime::now() + Duration::from_secs(ahead.load(Ordering::SeqCst)))
    }
}

/// The whole setup: moto, the buckets provisioned by the crate's own
/// provisioner as admin, and S3 storage whose broker sends through a
/// recording STS client and judges expiry by a test clock.
pub struct Fixture {
    pub moto: Moto,
    pub config: S3Config,
    pub storage: S3Storage,
    pub sts: StsRecorder,
    pub clock: TestClock,
    pub sdk: SdkConfig,
}

impl Fixture {
    /// `None` (skipped) without the moto python. `extra_roles` are made
    /// beside the three class roles.
    pub async fn start(extra_roles: &[(&str, Vec<String>)]) -> Option<Fixture> {
        let python = moto_python()?;
        let extra: Vec<(String, Vec<String>)> = extra_roles
            .iter()
            .map(|(name, resources)| (name.to_string(), resources.clone()))
            .collect();
        let (moto, config) =
            tokio::task::spawn_blocking(move || Moto::with_class_roles(&python, &extra))
                .await
                .unwrap();
        config.check().unwrap();
        provision(&moto.admin_s3().await, &config).await.unwrap();
        let sdk = moto.admin_sdk().await;
        let sts = StsRecorder::default();
        let clock = TestClock::default();
        let storage = storage_with(&sdk, config.clone(), &sts, &clock, Arc::new(AllowAll));
        Some(Fixture {
            moto,
            config,
            storage,
            sts,
            clock,
            sdk,
        })
    }

    /// Another storage on the same server with `config` (its own broker,
    /// recording into the same recorder).
    pub fn storage_with(&self, config: S3Config) -> S3Storage {
        self.storage_with_egress(config, Arc::new(AllowAll))
    }

    /// Another storage with `config`, asking `egress` before each request.
    pub fn storage_with_egress(
        &self,
        config: S3Config,
        egress: Arc<dyn EgressPolicy>,
    ) -> S3Storage {
        storage_with(&self.sdk, config, &self.sts, &self.clock, egress)
    }
}

fn storage_with(
    sdk: &SdkConfig,
    config: S3Config,
    sts: &StsRecorder,
    clock: &TestClock,
    egress: Arc<dyn EgressPolicy>,
) -> S3Storage {
    let sts_config = aws_sdk_sts::config::Builder::from(sdk)
        .interceptor(sts.clone())
        .build();
    let broker = StsBroker::new(sts_config, config, Arc::clone(&egress)).with_clock(clock.clock());
    S3Storage::with_broker(sdk, Arc::new(broker), egress)
}

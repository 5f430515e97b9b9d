//! `continuum-s3`: storage by data class on S3, with STS credentials scoped
//! to one wallet. The only crate that links the AWS SDK, so the daemon core
//! and `cu` build and test without it (`docs/adr/0013-s3-and-sts.md`).
//!
//! | part | what it owns |
//! |---|---|
//! | [`config`] | the `[s3]` table of the storage file: endpoint, region, a bucket and role per [`DataClass`] |
//! | [`policy`] | pure: the session policy, name and tags each AssumeRole sends (one wallet's prefix) |
//! | [`broker`] | [`StsBroker`]: AssumeRole per (class, wallet), cached in memory until shortly before expiry |
//! | [`clients`] | [`S3Clients`]: S3 clients whose every request is signed with the broker's scoped credentials |
//! | [`egress`] | the egress policy (ADR 0014) asked before every S3 and STS request |
//! | [`credentials`] | [`S3CredentialStore`]: `continuum_store::CredentialStore` in the vault bucket |
//! | [`memories`] | [`S3MemoryStore`]: `continuum_store::MemoryStore` in the memory bucket |
//! | [`audit`] | [`S3AuditSink`]: shipped audit segments, written once under object lock |
//! | [`buckets`] | each class's bucket settings (versioning, encryption, object lock, lifecycle) and a provisioner |
//!
//! Invariants: every S3 request is signed with credentials scoped to one
//! (class, wallet) or, for owner listings, one class, never with the base
//! identity; credentials live only in memory and never reach a log or an
//! error; no S3 or STS request leaves without the egress policy's
//! consent; a wallet reaches a policy, key or tag only after
//! [`policy::check_wallet`]; both backends pass the store crate's contract
//! suites against a real S3/STS server (moto, `tests/`).

pub mod audit;
pub mod broker;
pub mod buckets;
pub mod clients;
pub mod config;
pub mod credentials;
pub mod egress;
mod errors;
pub mod memories;
pub mod policy;
#[cfg(feature = "testing")]
pub mod testing;

pub use audit::S3AuditSink;
pub use broker::{BrokerError, Clock, StsBroker};
pub use buckets::{provision, BucketSettings, ProvisionError};
pub use clients::S3Clients;
pub use config::{ClassStorage, ConfigError, DataClass, S3Config};
pub use continuum_egress::{EgressDenied, EgressPolicy};
pub use credentials::S3CredentialStore;
pub use memories::S3MemoryStore;
pub use policy::{check_wallet, session_policy, BadWallet, Scope};

use std::sync::Arc;

/// Everything S3 storage needs, built once: the broker, the clients, and the
/// stores on them.
#[derive(Debug, Clone)]
pub struct S3Storage {
    clients: S3Clients,
}

impl S3Storage {
    /// Storage whose base identity (the one that assumes the class roles)
    /// comes from the SDK's default chain: environment, profile, web
    /// identity, container or instance metadata. Every S3 and STS request
    /// is first asked of `egress`.
    pub async fn connect(
        config: S3Config,
        egress: Arc<dyn EgressPolicy>,
    ) -> Result<S3Storage, ConfigError> {
        config.check()?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(config.region.clone()));
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        Ok(S3Storage::with_sdk_config(&sdk, config, egress))
    }

    /// Storage on `sdk` (its credentials are the base identity; its region,
    /// endpoint and HTTP client are shared). `config` must have passed
    /// [`S3Config::check`].
    pub fn with_sdk_config(
        sdk: &aws_config::SdkConfig,
        config: S3Config,
        egress: Arc<dyn EgressPolicy>,
    ) -> S3Storage {
        let mut sts = aws_sdk_sts::config::Builder::from(sdk);
        if let Some(endpoint) = &config.endpoint {
            sts = sts.endpoint_url(endpoint);
        }
        let broker = StsBroker::new(sts.build(), config, Arc::clone(&egress));
        S3Storage::with_broker(sdk, Arc::new(broker), egress)
    }

    /// Storage on a broker built by the caller (its own STS configuration
    /// or clock).
    pub fn with_broker(
        sdk: &aws_config::SdkConfig,
        broker: Arc<StsBroker>,
        egress: Arc<dyn EgressPolicy>,
    ) -> S3Storage {
        S3Storage {
            clients: S3Clients::new(sdk, broker, egress),
        }
    }

    /// The credential broker.
    pub fn broker(&self) -> &Arc<StsBroker> {
        self.clients.broker()
    }

    /// The scoped S3 clients.
    pub fn clients(&self) -> &S3Clients {
        &self.clients
    }

    /// Sealed credentials in the vault bucket.
    pub fn credential_store(&self) -> S3CredentialStore {
        S3CredentialStore::new(self.clients.clone())
    }

    /// Persona memories in the memory bucket.
    pub fn memory_store(&self) -> S3MemoryStore {
        S3MemoryStore::new(self.clients.clone())
    }

    /// The audit segments of `wallet` (the node's audit wallet) in the
    /// audit bucket; `Invalid` for a wallet that cannot scope a session.
    pub fn audit_sink(&self, wallet: &str) -> Result<S3AuditSink, continuum_store::StoreError> {
        S3AuditSink::new(self.clients.clone(), wallet)
    }
}

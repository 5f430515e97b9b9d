//! S3 clients whose every request is signed with the broker's credentials
//! for one (class, scope): the credential is the permission, and S3 checks
//! it on each request.

use crate::broker::StsBroker;
use crate::config::{DataClass, S3Config};
use crate::egress::{EgressInterceptor, S3_ADAPTER};
use crate::policy::{check_wallet, BadWallet, Scope};
use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_sdk_s3::config::IdentityCache;
use continuum_egress::EgressPolicy;
use dashmap::DashMap;
use std::sync::Arc;

/// Asks the broker on every request. The SDK's own identity cache is off
/// (see [`S3Clients::client`]): the broker's cache is the only one, so a
/// refresh there reaches every client at once.
#[derive(Debug)]
struct BrokeredCredentials {
    broker: Arc<StsBroker>,
    class: DataClass,
    /// `None` for the whole class.
    wallet: Option<String>,
}

impl ProvideCredentials for BrokeredCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let scope = self.wallet.as_deref().map_or(Scope::Class, Scope::Wallet);
            self.broker
                .credentials(self.class, scope)
                .await
                .map_err(CredentialsError::provider_error)
        })
    }
}

/// S3 clients per (class, scope), made once and kept.
#[derive(Clone)]
pub struct S3Clients {
    inner: Arc<Inner>,
}

struct Inner {
    broker: Arc<StsBroker>,
    base: aws_sdk_s3::config::Builder,
    clients: DashMap<(DataClass, Option<String>), aws_sdk_s3::Client>,
}

impl std::fmt::Debug for S3Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Clients")
            .field("broker", &self.inner.broker)
            .field("clients", &self.inner.clients.len())
            .finish()
    }
}

impl S3Clients {
    /// Clients sharing `sdk`'s HTTP client, region and endpoint, the
    /// broker's configuration (endpoint, path style) on top, every request
    /// first asked of `egress` as adapter `s3`. `sdk`'s own credentials are
    /// never used for S3: only the broker's.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        broker: Arc<StsBroker>,
        egress: Arc<dyn EgressPolicy>,
    ) -> S3Clients {
        let config: &S3Config = broker.config();
        let mut base = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(config.force_path_style)
            .identity_cache(IdentityCache::no_cache())
            .interceptor(EgressInterceptor::new(egress, S3_ADAPTER));
        if let Some(endpoint) = &config.endpoint {
            base = base.endpoint_url(endpoint);
        }
        S3Clients {
            inner: Arc::new(Inner {
                broker,
                base,
                clients: DashMap::new(),
            }),
        }
    }

    /// The broker behind every client.
    pub fn broker(&self) -> &Arc<StsBroker> {
        &self.inner.broker
    }

    /// The configuration.
    pub fn config(&self) -> &S3Config {
        self.inner.broker.config()
    }

    /// A client for `scope` in `class`: every request it signs uses
    /// credentials whose session policy allows that scope's prefix only.
    pub fn client(
        &self,
        class: DataClass,
        scope: Scope<'_>,
    ) -> Result<aws_sdk_s3::Client, BadWallet> {
        let wallet = scope.wallet();
        if let Some(wallet) = wallet {
            check_wallet(wallet)?;
        }
        let key = (class, wallet.map(str::to_owned));
        if let Some(client) = self.inner.clients.get(&key) {
            return Ok(client.clone());
        }
        let provider = BrokeredCredentials {
            broker: Arc::clone(&self.inner.broker),
            class,
            wallet: key.1.clone(),
        };
        let config = self
            .inner
            .base
            .clone()
            .credentials_provider(provider)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        Ok(self.inner.clients.entry(key).or_insert(client).clone())
    }
}

//! The STS credential broker: temporary credentials per (data class, wallet),
//! from AssumeRole on the class's role with a session policy that allows only
//! the wallet's prefix ([`crate::policy`]), cached in memory until shortly
//! before they expire.
//!
//! Invariants: credentials live only in this process's memory (never a file,
//! never a log line: [`Credentials`]' `Debug` redacts the secret and the
//! token, and no error carries them); a cached lookup takes no lock but a
//! map shard's and the slot's read lock, and allocates nothing; at most one
//! AssumeRole is in flight per (class, scope).

use crate::config::{DataClass, S3Config};
use crate::egress::{egress_denied, EgressInterceptor, STS_ADAPTER};
use crate::policy::{check_wallet, session_name, session_policy, session_tags, BadWallet, Scope};
use aws_credential_types::Credentials;
use aws_sdk_sts::error::DisplayErrorContext;
use aws_sdk_sts::types::Tag;
use continuum_egress::{EgressDenied, EgressPolicy};
use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// The time the cache judges expiry by (tests move it forward).
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Why no credentials could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// The wallet cannot scope a session.
    #[error(transparent)]
    BadWallet(#[from] BadWallet),
    /// The egress policy refused the STS endpoint; nothing was sent.
    #[error("{0}")]
    Egress(#[source] EgressDenied),
    /// STS refused or failed (the message carries no secret).
    #[error("sts AssumeRole of {role_arn} for {class} ({session}): {message}")]
    Sts {
        /// The data class.
        class: DataClass,
        /// The role asked for.
        role_arn: String,
        /// The session name asked for.
        session: String,
        /// STS's error, with its code.
        message: String,
    },
}

/// One (class, scope): its current credentials and a gate so only one
/// caller refreshes them at a time.
#[derive(Default)]
struct Slot {
    current: RwLock<Option<Credentials>>,
    refreshing: tokio::sync::Mutex<()>,
}

/// A class's slots: one per wallet, and one for the whole class.
#[derive(Default)]
struct ClassSlots {
    wallets: DashMap<String, Arc<Slot>>,
    whole: Arc<Slot>,
}

/// Temporary S3 credentials per (data class, wallet), from STS.
pub struct StsBroker {
    sts: aws_sdk_sts::Client,
    config: Arc<S3Config>,
    classes: [ClassSlots; 3],
    clock: Clock,
    assumed: AtomicU64,
}

impl std::fmt::Debug for StsBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsBroker")
            .field("region", &self.config.region)
            .field("endpoint", &self.config.endpoint)
            .field("assumed", &self.assume_role_calls())
            .finish_non_exhaustive()
    }
}

impl StsBroker {
    /// A broker that assumes roles through an STS client on `sts` (whose
    /// credentials are the daemon's base identity, allowed `sts:AssumeRole`
    /// and `sts:TagSession` on the class roles), every request first asked
    /// of `egress` as adapter `sts`. `config` must have passed
    /// [`S3Config::check`].
    pub fn new(
        sts: aws_sdk_sts::Config,
        config: S3Config,
        egress: Arc<dyn EgressPolicy>,
    ) -> StsBroker {
        let sts = sts
            .to_builder()
            .interceptor(EgressInterceptor::new(egress, STS_ADAPTER))
            .build();
        StsBroker {
            sts: aws_sdk_sts::Client::from_conf(sts),
            config: Arc::new(config),
            classes: Default::default(),
            clock: Arc::new(SystemTime::now),
            assumed: AtomicU64::new(0),
        }
    }

    /// The same broker judging expiry by `clock` instead of the system's.
    pub fn with_clock(mut self, clock: Clock) -> StsBroker {
        self.clock = clock;
        self
    }

    /// The configuration it serves.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// How many AssumeRole calls it has made (each cache miss or refresh).
    pub fn assume_role_calls(&self) -> u64 {
        self.assumed.load(Ordering::Relaxed)
    }

    fn slot_or_new(&self, class: DataClass, scope: Scope<'_>) -> Arc<Slot> {
        let slots = &self.classes[class.index()];
        match scope {
            Scope::Wallet(wallet) => {
                Arc::clone(&slots.wallets.entry(wallet.to_owned()).or_default())
            }
            Scope::Class => Arc::clone(&slots.whole),
        }
    }

    /// Whether `credentials` may still be handed out: more than the refresh
    /// margin before their expiry.
    fn fresh(&self, credentials: &Credentials) -> bool {
        let margin = self.config.refresh_before();
        credentials
            .expiry()
            .is_some_and(|expiry| (self.clock)() + margin < expiry)
    }

    /// Cached credentials for `scope` in `class`, if they are fresh: the fast
    /// path, no I/O, no allocation.
    pub fn cached(&self, class: DataClass, scope: Scope<'_>) -> Option<Credentials> {
        let slots = &self.classes[class.index()];
        match scope {
            Scope::Wallet(wallet) => self.fresh_in(&*slots.wallets.get(wallet)?),
            Scope::Class => self.fresh_in(&slots.whole),
        }
    }

    fn fresh_in(&self, slot: &Slot) -> Option<Credentials> {
        let current = slot.current.read().ok()?;
        current.as_ref().filter(|c| self.fresh(c)).cloned()
    }

    /// Credentials for `scope` in `class`: the cached ones while fresh, else
    /// new ones from AssumeRole. If a refresh fails while the old
    /// credentials have not yet expired, those are returned (the refresh is
    /// retried on the next call).
    pub async fn credentials(
        &self,
        class: DataClass,
        scope: Scope<'_>,
    ) -> Result<Credentials, BrokerError> {
        if let Some(credentials) = self.cached(class, scope) {
            return Ok(credentials);
        }
        // Boxed: the AssumeRole future is large, and a cache hit should not
        // carry (and move) its state.
        Box::pin(self.refresh(class, scope)).await
    }

    /// The slow path of [`StsBroker::credentials`]: one caller per slot
    /// asks STS, the others wait for its answer.
    async fn refresh(
        &self,
        class: DataClass,
        scope: Scope<'_>,
    ) -> Result<Credentials, BrokerError> {
        if let Scope::Wallet(wallet) = scope {
            check_wallet(wallet)?;
        }
        let slot = self.slot_or_new(class, scope);
        let _refreshing = slot.refreshing.lock().await;
        // Someone else may have refreshed while this caller waited.
        let current = slot.current.read().ok().and_then(|c| c.clone());
        if let Some(credentials) = current.as_ref().filter(|c| self.fresh(c)) {
            return Ok(credentials.clone());
        }
        match self.assume(class, scope).await {
            Ok(credentials) => {
                if let Ok(mut current) = slot.current.write() {
                    *current = Some(credentials.clone());
                }
                Ok(credentials)
            }
            Err(err) => {
                let unexpired = current.filter(|c| c.expiry().is_some_and(|e| (self.clock)() < e));
                match unexpired {
                    Some(credentials) => {
                        tracing::warn!(%class, error = %err, "sts refresh failed; using the unexpired credentials");
                        Ok(credentials)
                    }
                    None => Err(err),
                }
            }
        }
    }

    /// One AssumeRole for `scope` in `class`.
    async fn assume(&self, class: DataClass, scope: Scope<'_>) -> Result<Credentials, BrokerError> {
        let storage = self.config.class(class);
        let session = session_name(class, scope);
        let tags = session_tags(class, scope)
            .into_iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<Tag>, _>>();
        let fail = |message: String| BrokerError::Sts {
            class,
            role_arn: storage.role_arn.clone(),
            session: session.clone(),
            message,
        };
        let tags = tags.map_err(|err| fail(format!("session tags: {err}")))?;
        self.assumed.fetch_add(1, Ordering::Relaxed);
        let output = self
            .sts
            .assume_role()
            .role_arn(&storage.role_arn)
            .role_session_name(&session)
            .policy(session_policy(class, storage, scope))
            .set_tags(Some(tags))
            .duration_seconds(self.config.session_duration_secs as i32)
            .send()
            .await
            .map_err(|err| match egress_denied(&err) {
                Some(denied) => BrokerError::Egress(denied),
                None => fail(DisplayErrorContext(&err).to_string()),
            })?;
        let issued = output
            .credentials()
            .ok_or_else(|| fail("the response holds no credentials".into()))?;
        let expiry = SystemTime::try_from(issued.expiration)
            .map_err(|err| fail(format!("expiration: {err}")))?;
        tracing::debug!(%class, session = %session, "sts credentials issued");
        Ok(Credentials::new(
            issued.access_key_id(),
            issued.secret_access_key(),
            Some(issued.session_token().to_owned()),
            Some(expiry),
            "continuum-sts",
        ))
    }

    /// How long until `credentials` are refreshed (for diagnostics).
    pub fn refresh_in(&self, credentials: &Credentials) -> Option<Duration> {
        let at = credentials.expiry()? - self.config.refresh_before();
        at.duration_since((self.clock)()).ok()
    }
}

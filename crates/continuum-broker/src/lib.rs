//! `continuum-broker`: the credential broker. It holds the vault's master
//! key and a [`CredentialStore`] of sealed blobs, and it is the one way a
//! plaintext leaves the vault: [`Broker::release`], which checks the
//! actor's wallet scope and makes the release's audit record durable
//! *before* opening the blob. If the audit write fails, nothing is released.
//!
//! - [`master`]: the master key (a 0600 key file made at first start, or a
//!   passphrase from the environment, stretched with Argon2id).
//! - [`Actor`]: who a secret is released to, and which wallets it may read.

pub mod master;

use continuum_kernel::audit::{AuditEvent, AuditLog, Outcome};
use continuum_kernel::clock::now_ms;
use continuum_store::{
    persona_wallet, wallet_within, CredentialId, CredentialInfo, CredentialRecord, CredentialStore,
    StoreError,
};
use continuum_vault::{Binding, Secret, VaultError, VaultKey};
use std::sync::Arc;

pub use master::{load_master_key, MasterKeySource, PASSPHRASE_ENV};

/// The wallet whose items the owner lends to every actor.
pub const SHARED_WALLET: &str = "shared";
/// The owner's own wallet.
pub const OWNER_WALLET: &str = "owner";
/// The audit record's command name for a release.
pub const RELEASE_COMMAND: &str = "vault/release";

/// Why the broker said no.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// No item at that id (in any wallet the actor may read).
    #[error("no credential {0}")]
    NotFound(String),
    /// The actor may not read that wallet.
    #[error("{actor} may not read wallet '{wallet}'")]
    OutOfScope {
        /// The actor's label.
        actor: String,
        /// The wallet it asked for.
        wallet: String,
    },
    /// The release could not be audited, so it was refused.
    #[error("the release could not be audited, so nothing was released: {0}")]
    AuditUnavailable(String),
    /// The blob did not open (wrong master key, moved or altered blob).
    #[error("credential {id} does not open: {source}")]
    Sealed {
        /// The item.
        id: String,
        /// Why.
        source: VaultError,
    },
    /// Bad input (a label or the secret).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who a secret is released to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Its audit label: `owner`, `persona:<id>`, `peer:<id>`, ...
    pub label: String,
    /// The wallet it reads within (and below); `None` for the owner, who
    /// may read every wallet.
    pub wallet: Option<String>,
}

impl Actor {
    /// The local owner.
    pub fn owner() -> Actor {
        Actor {
            label: "owner".into(),
            wallet: None,
        }
    }

    /// A persona of this node: its wallet is `persona/<id>`.
    pub fn persona(id: &str) -> Actor {
        Actor {
            label: format!("persona:{id}"),
            wallet: Some(persona_wallet(id)),
        }
    }

    /// Whether it may read items in `wallet`: its own wallet and below,
    /// and the shared wallet; the owner, any.
    pub fn may_read(&self, wallet: &str) -> bool {
        match &self.wallet {
            None => true,
            Some(own) => wallet_within(wallet, own) || wallet == SHARED_WALLET,
        }
    }

    /// Where an item named by service and name is looked for, in order:
    /// the actor's own wallet, then the shared one.
    pub fn search_path(&self) -> [&str; 2] {
        [
            self.wallet.as_deref().unwrap_or(OWNER_WALLET),
            SHARED_WALLET,
        ]
    }
}

/// The broker. Cheap to share (`Arc`).
pub struct Broker {
    key: VaultKey,
    store: Arc<dyn CredentialStore>,
    audit: Arc<dyn AuditLog>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Broker { .. }")
    }
}

impl Broker {
    /// A broker sealing with `key`, keeping blobs in `store` and recording
    /// releases in `audit`.
    pub fn new(key: VaultKey, store: Arc<dyn CredentialStore>, audit: Arc<dyn AuditLog>) -> Broker {
        Broker { key, store, audit }
    }

    /// Seals `secret` and stores it at `id`; whether it replaced an item.
    pub async fn put(&self, id: CredentialId, secret: &[u8]) -> Result<bool, BrokerError> {
        let blob = self.key.seal(&binding(&id), secret)?;
        let now = now_ms();
        let replaced = self
            .store
            .put(CredentialRecord {
                id,
                blob,
                created_at_ms: now,
                updated_at_ms: now,
            })
            .await?;
        Ok(replaced)
    }

    /// Names, wallets, services and times in `wallet` (and below), or all.
    pub async fn list(&self, wallet: Option<&str>) -> Result<Vec<CredentialInfo>, BrokerError> {
        Ok(self.store.list(wallet).await?)
    }

    /// Removes an item; whether there was one.
    pub async fn delete(&self, id: &CredentialId) -> Result<bool, BrokerError> {
        Ok(self.store.delete(id).await?)
    }

    /// Releases `service/name` to `actor` for `purpose`, from the first
    /// wallet on its search path that holds it.
    pub async fn release_named(
        &self,
        actor: &Actor,
        service: &str,
        name: &str,
        purpose: &str,
    ) -> Result<Secret, BrokerError> {
        for wallet in actor.search_path() {
            let id = CredentialId::new(wallet, service, name)?;
            match self.release(actor, &id, purpose).await {
                Err(BrokerError::NotFound(_)) => continue,
                other => return other,
            }
        }
        Err(BrokerError::NotFound(format!("{service}/{name}")))
    }

    /// Releases the item at `id` to `actor` for `purpose`: refused (and
    /// audited) outside the actor's wallets; otherwise the release record
    /// is made durable first, and only then is the blob opened.
    pub async fn release(
        &self,
        actor: &Actor,
        id: &CredentialId,
        purpose: &str,
    ) -> Result<Secret, BrokerError> {
        if !actor.may_read(&id.wallet) {
            let event = release_event(actor, id, purpose, Outcome::Denied, "wallet_scope");
            if let Err(err) = self.audit.append_durable(event).await {
                tracing::error!(error = %err, "could not record a refused credential release");
            }
            return Err(BrokerError::OutOfScope {
                actor: actor.label.clone(),
                wallet: id.wallet.clone(),
            });
        }
        let Some(record) = self.store.get(id).await? else {
            return Err(BrokerError::NotFound(id.to_string()));
        };
        let event = release_event(actor, id, purpose, Outcome::Allowed, "released");
        self.audit
            .append_durable(event)
            .await
            .map_err(|err| BrokerError::AuditUnavailable(err.to_string()))?;
        self.key
            .open(&binding(id), &record.blob)
            .map_err(|source| BrokerError::Sealed {
                id: id.to_string(),
                source,
            })
    }
}

fn binding(id: &CredentialId) -> Binding<'_> {
    Binding {
        wallet: &id.wallet,
        service: &id.service,
        name: &id.name,
    }
}

/// A release's audit record: the actor, `vault/release`, and in
/// `forwardedFor` the item and the purpose (never the value).
fn release_event(
    actor: &Actor,
    id: &CredentialId,
    purpose: &str,
    outcome: Outcome,
    reason: &str,
) -> AuditEvent {
    AuditEvent {
        time_ms: now_ms(),
        caller: actor.label.clone(),
        caller_key: None,
        command: RELEASE_COMMAND.to_owned(),
        outcome,
        reason: reason.to_owned(),
        forwarded_for: Some(format!("{id} for {purpose}")),
        grant_issuer: None,
        grant_epoch: None,
    }
}

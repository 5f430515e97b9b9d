//! `vault/*`: the owner's sealed credentials (`vault/put`, `vault/list`,
//! `vault/delete`), over the [`Broker`]; and [`VaultCredentials`], how
//! inference adapters get a key: released by the broker for each request,
//! to the caller it is made for, audited first.
//!
//! Every command here is owner-only: listing shows names, never values,
//! and even names say which upstreams the owner pays for.

mod delete;
mod list;
mod put;

use crate::store_error;
use continuum_broker::{Actor, Broker, BrokerError};
use continuum_inference::{CredentialActor, CredentialSource, EnvCredentials, Secret};
use continuum_kernel::command::{erase, CommandError, Ctx, ErasedCommand, Module};
use continuum_kernel::gate::{Caller, Trust};
use continuum_store::{persona_wallet, CredentialId};
use std::sync::Arc;

/// Contributes `vault/*`.
pub struct VaultModule {
    broker: Arc<Broker>,
}

impl VaultModule {
    /// A module over `broker`.
    pub fn new(broker: Arc<Broker>) -> Self {
        VaultModule { broker }
    }
}

impl Module for VaultModule {
    fn commands(&self) -> Vec<ErasedCommand> {
        vec![
            erase(put::VaultPut(Arc::clone(&self.broker))),
            erase(list::VaultList(Arc::clone(&self.broker))),
            erase(delete::VaultDelete(Arc::clone(&self.broker))),
        ]
    }
}

/// The id a command names; a bad label is `invalid_params` on its field.
fn credential_id(wallet: &str, service: &str, name: &str) -> Result<CredentialId, CommandError> {
    CredentialId::new(wallet, service, name).map_err(store_error)
}

fn broker_error(err: BrokerError) -> CommandError {
    match err {
        BrokerError::NotFound(what) => CommandError::NotFound(format!("no credential {what}")),
        BrokerError::Store(err) => store_error(err),
        BrokerError::Vault(err) => CommandError::invalid_params("/value", err.to_string()),
        other => CommandError::Unavailable(other.to_string()),
    }
}

/// On whose behalf a call uses a credential, from the proven caller: the
/// owner (at full trust, any wallet; capped, its own and the shared one),
/// a persona (its wallet), anyone else (a wallet of its own kind).
pub fn credential_actor(ctx: &Ctx) -> CredentialActor {
    match ctx.caller() {
        Caller::LocalOwner { .. } => CredentialActor {
            label: "owner".into(),
            wallet: (ctx.trust() != Trust::Owner).then(|| continuum_broker::OWNER_WALLET.into()),
        },
        Caller::Persona { persona_id, .. } => CredentialActor {
            label: format!("persona:{persona_id}"),
            wallet: Some(persona_wallet(persona_id)),
        },
        Caller::Peer { 0: peer, .. } => CredentialActor {
            label: format!("peer:{}", peer.peer_id()),
            wallet: Some(format!("peer/{}", peer.peer_id())),
        },
        other => CredentialActor {
            label: other.label(),
            wallet: Some("remote".into()),
        },
    }
}

/// Provider credentials: `vault:SERVICE/NAME` from the broker (the
/// caller's wallet first, then the shared one), released for the request
/// that uses it; any other name from the environment (development).
pub struct VaultCredentials {
    broker: Arc<Broker>,
}

impl VaultCredentials {
    /// Credentials released by `broker`.
    pub fn shared(broker: Arc<Broker>) -> Arc<dyn CredentialSource> {
        Arc::new(VaultCredentials { broker })
    }
}

impl CredentialSource for VaultCredentials {
    fn resolve<'a>(
        &'a self,
        name: &'a str,
        provider: &'a str,
        actor: Option<&'a CredentialActor>,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<Secret>, String>> {
        Box::pin(async move {
            let Some(item) = name.strip_prefix(continuum_inference::VAULT_PREFIX) else {
                return EnvCredentials.resolve(name, provider, actor).await;
            };
            let Some((service, item_name)) = item.split_once('/') else {
                return Ok(None);
            };
            // A request made for no one in particular is the daemon's own:
            // the shared wallet only.
            let actor = match actor {
                Some(actor) => Actor {
                    label: actor.label.clone(),
                    wallet: actor.wallet.clone(),
                },
                None => Actor {
                    label: "daemon".into(),
                    wallet: Some(continuum_broker::SHARED_WALLET.into()),
                },
            };
            let purpose = format!("provider {provider}");
            match self
                .broker
                .release_named(&actor, service, item_name, &purpose)
                .await
            {
                Ok(secret) => match secret.expose_str() {
                    Some(text) => Ok(Some(Secret::new(text))),
                    None => Err(format!("{name} is not text")),
                },
                Err(BrokerError::NotFound(_)) => Ok(None),
                Err(err) => Err(err.to_string()),
            }
        })
    }

    fn present(&self, name: &str) -> Option<bool> {
        EnvCredentials.present(name)
    }
}

//! The dispatch layer: every call, from any transport or from a composing
//! handler, passes through [`Dispatcher::dispatch`], which applies the
//! cross-cutting policy in one place: lookup (with did-you-mean), the gate,
//! audit, metrics, concurrency limits, param validation, timeout and panic
//! containment. Handlers never repeat any of it.

mod metrics;

pub use metrics::{CommandStats, LatencySummary};

use crate::audit::{AuditEvent, AuditLog, Outcome};
use crate::command::{CallMeta, CommandError, Ctx, Entry, Registry, StreamSink};
use crate::gate::{caller_trust, decide, Caller, Decision, Denied, Trust};
use crate::grants::GrantCheck;
use futures_util::FutureExt;
use serde_json::{Map, Value};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

/// One call entering the dispatcher.
pub struct Call {
    /// Who is calling (fixed for the whole call chain).
    pub caller: Arc<Caller>,
    /// Command name.
    pub method: String,
    /// Params (`null` = `{}`).
    pub params: Value,
    /// Recorded, non-authorizing metadata.
    pub meta: Arc<CallMeta>,
    /// Where stream events go, if the client listens.
    pub stream: Option<StreamSink>,
}

/// Routes calls to commands through the gate.
pub struct Dispatcher {
    registry: Registry,
    audit: Arc<dyn AuditLog>,
    grants: Option<Arc<dyn GrantCheck>>,
}

impl Dispatcher {
    /// A dispatcher over `registry`, recording decisions to `audit`.
    pub fn new(registry: Registry, audit: Arc<dyn AuditLog>) -> Self {
        Dispatcher {
            registry,
            audit,
            grants: None,
        }
    }

    /// Enables capability grants: peers presenting a grant are checked by `grants`.
    pub fn with_grants(mut self, grants: Arc<dyn GrantCheck>) -> Self {
        self.grants = Some(grants);
        self
    }

    /// The command map.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The audit log.
    pub fn audit(&self) -> &Arc<dyn AuditLog> {
        &self.audit
    }

    /// Runs one call from a transport.
    pub async fn dispatch(self: &Arc<Self>, call: Call) -> Result<Value, CommandError> {
        self.dispatch_at_depth(call, 0).await
    }

    pub(crate) async fn dispatch_at_depth(
        self: &Arc<Self>,
        call: Call,
        depth: u8,
    ) -> Result<Value, CommandError> {
        let Some(entry) = self.registry.get(&call.method) else {
            return Err(self.unknown_command(&call.caller, &call.method));
        };
        self.authorize(entry, &call).await?;
        let started = Instant::now();
        let result = self.run(entry, call, depth).await;
        entry.stats().record(started.elapsed(), result.is_ok());
        result
    }

    /// Whether `caller` may call `entry`, by the same rule dispatch enforces.
    /// Grants are checked without recording anything.
    pub async fn may_call(&self, caller: &Caller, entry: &Entry) -> bool {
        let access = entry.descriptor().access;
        let trust = caller_trust(caller);
        match decide(trust, access, false) {
            Decision::Allow(_) => true,
            Decision::Deny(Denied::InsufficientTrust) => match (&self.grants, caller) {
                (Some(grants), Caller::Peer(peer)) if peer.grant.is_some() => {
                    grants.peek(peer, entry.command().name()).await
                }
                _ => false,
            },
            Decision::Deny(_) => false,
        }
    }

    async fn authorize(&self, entry: &Entry, call: &Call) -> Result<(), CommandError> {
        let descriptor = entry.descriptor();
        let trust = caller_trust(&call.caller);
        let mut decision = decide(trust, descriptor.access, false);
        let mut grant_verdict: Option<&'static str> = None;
        if decision == Decision::Deny(Denied::InsufficientTrust) {
            if let (Some(grants), Caller::Peer(peer)) = (&self.grants, call.caller.as_ref()) {
                if peer.grant.is_some() {
                    match grants.check(peer, &descriptor.name).await {
                        Ok(()) => decision = decide(trust, descriptor.access, true),
                        Err(verdict) => grant_verdict = Some(verdict),
                    }
                }
            }
        }
        let owner_action = descriptor.access == continuum_wire::Access::OwnerOnly;
        let (outcome, reason) = match decision {
            Decision::Allow(allowed) => (Outcome::Allowed, allowed_reason(allowed)),
            Decision::Deny(denied) => (Outcome::Denied, grant_verdict.unwrap_or(denied.code())),
        };
        let event = AuditEvent::new(
            &call.caller,
            &descriptor.name,
            outcome,
            reason,
            call.meta.forwarded_for.clone(),
        );
        if decision.is_allowed() && owner_action {
            // Fail closed: an owner-only action runs only once its record is durable.
            self.audit.append_durable(event).await.map_err(|err| {
                CommandError::Unavailable(format!(
                    "audit log unavailable, refusing owner-only action: {err}"
                ))
            })?;
        } else if !decision.is_allowed() {
            // A refusal is security evidence: make it durable before answering.
            if let Err(err) = self.audit.append_durable(event).await {
                tracing::error!(error = %err, command = %descriptor.name, "could not record a denial");
            }
        } else {
            self.audit.append(event);
        }
        match decision {
            Decision::Allow(_) => Ok(()),
            Decision::Deny(denied) => {
                Err(forbidden(trust, &descriptor.name, denied, grant_verdict))
            }
        }
    }

    async fn run(
        self: &Arc<Self>,
        entry: &Entry,
        call: Call,
        depth: u8,
    ) -> Result<Value, CommandError> {
        let params = match call.params {
            Value::Null => Value::Object(Map::new()),
            other => other,
        };
        entry.validate(&params)?;
        let limits = entry.limits();
        let name = entry.command().name();
        let work = async {
            let _permit = match entry.concurrency() {
                Some(semaphore) => {
                    Some(Arc::clone(semaphore).acquire_owned().await.map_err(|_| {
                        CommandError::Overloaded(format!("{name} is not accepting calls"))
                    })?)
                }
                None => None,
            };
            let ctx = Ctx::new(call.caller, call.meta, Arc::clone(self), call.stream, depth);
            match AssertUnwindSafe(entry.command().invoke(ctx, params))
                .catch_unwind()
                .await
            {
                Ok(result) => result,
                Err(panic) => {
                    let message = panic_message(&panic);
                    tracing::error!(command = name, panic = %message, "command handler panicked");
                    Err(CommandError::Internal(format!(
                        "command '{name}' failed unexpectedly: {message}"
                    )))
                }
            }
        };
        let span = tracing::debug_span!("dispatch", command = name);
        match tokio::time::timeout(limits.timeout, tracing::Instrument::instrument(work, span))
            .await
        {
            Ok(result) => result,
            Err(_) => Err(CommandError::Timeout(limits.timeout.as_millis() as u64)),
        }
    }

    fn unknown_command(&self, caller: &Caller, name: &str) -> CommandError {
        let trust = caller_trust(caller);
        let visible = self
            .registry
            .entries()
            .filter(|entry| decide(trust, entry.descriptor().access, false).is_allowed())
            .map(|entry| entry.command().name());
        CommandError::MethodNotFound {
            name: name.to_owned(),
            suggestions: suggest(name, visible),
        }
    }
}

fn allowed_reason(allowed: crate::gate::Allowed) -> &'static str {
    match allowed {
        crate::gate::Allowed::Trust => "trust",
        crate::gate::Allowed::Grant => "grant",
    }
}

fn forbidden(
    trust: Trust,
    command: &str,
    denied: Denied,
    grant_verdict: Option<&'static str>,
) -> CommandError {
    let message = match (denied, grant_verdict) {
        (Denied::Blocked, _) => format!("caller is blocked and may not call '{command}'"),
        (Denied::OwnerOnly, _) => format!("'{command}' is owner-only"),
        (Denied::InsufficientTrust, Some(verdict)) => {
            format!("the presented grant does not authorize '{command}' ({verdict})")
        }
        (Denied::InsufficientTrust, None) => {
            format!("'{command}' needs more than {} trust", trust.as_str())
        }
    };
    CommandError::Forbidden {
        reason: grant_verdict.unwrap_or(denied.code()).to_owned(),
        message,
    }
}

/// Up to three names close to `wanted`, best first.
pub fn suggest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = names
        .filter_map(|name| {
            let score = strsim::jaro_winkler(wanted, name);
            let last_segment_match = name.rsplit('/').next() == Some(wanted);
            let close =
                score >= 0.8 || strsim::levenshtein(wanted, name) <= 2 || last_segment_match;
            close.then_some((if last_segment_match { 1.0 } else { score }, name))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(3)
        .map(|(_, name)| name.to_owned())
        .collect()
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::suggest;

    #[test]
    fn suggestions_rank_close_names_first() {
        let names = ["ping", "commands/list", "data/list", "system/info"];
        assert_eq!(suggest("pign", names.iter().copied()), vec!["ping"]);
        assert_eq!(
            suggest("commands/lst", names.iter().copied())[0],
            "commands/list"
        );
        assert!(suggest("zzzzzz", names.iter().copied()).is_empty());
    }
}

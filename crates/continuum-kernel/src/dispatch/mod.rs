//! The dispatch layer: every call, from any transport or from a composing
//! handler, passes through [`Dispatcher::dispatch`], which applies the
//! cross-cutting policy in one place, as named stages in this order:
//!
//! 1. **lookup**: the command by name; an unknown name is `method_not_found`
//!    (-32601) with did-you-mean suggestions the caller may call, whatever
//!    the params look like;
//! 2. **shape**: params must be an object (named params), else `invalid_params`;
//! 3. **admit**: the gate's one rule ([`crate::gate::admit`]) over the
//!    caller's trust (capped by `meta.maxTrust`) and any presented grant;
//! 4. **record**: the decision goes to the audit log (durably before an
//!    owner-only action runs, and for every denial); a refusal ends here;
//! 5. **validate**: params against the command's JSON Schema;
//! 6. **acquire**: a slot under the command's concurrency limit, waiting at
//!    most its `max_wait`, else `overloaded`;
//! 7. **run**: the handler, under its timeout, with panics contained;
//! 8. **measure**: counters and latency of every admitted call (stages 5-7),
//!    successful or not.
//!
//! Handlers never repeat any of it. Nothing outside the kernel can call this:
//! transports go through a [`crate::Session`], handlers through
//! [`crate::command::Ctx::call`].

mod metrics;

pub use metrics::{CommandStats, LatencySummary};

use crate::audit::{decision_event, refusal_event, AuditLog};
use crate::command::{CallMeta, CommandError, Ctx, Entry, Registry, StreamSink};
use crate::credential::{Credential, GrantCheck, PersonaDirectory};
use crate::gate::{admit, Admission, Caller, Decision, Denied, Presentation, Principal};
use continuum_wire::Access;
use futures_util::FutureExt;
use serde_json::{Map, Value};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

/// One call entering the dispatcher. Built only inside the kernel (by a
/// [`crate::Session`] or a [`Ctx`]), so its principal is always one a
/// transport minted.
pub(crate) struct Call {
    pub(crate) principal: Arc<Principal>,
    pub(crate) credential: Option<Arc<Credential>>,
    pub(crate) method: String,
    pub(crate) params: Value,
    pub(crate) meta: Arc<CallMeta>,
    pub(crate) stream: Option<StreamSink>,
}

/// Routes calls to commands through the gate.
pub struct Dispatcher {
    registry: Registry,
    audit: Arc<dyn AuditLog>,
    grants: Option<Arc<dyn GrantCheck>>,
    personas: Option<Arc<dyn PersonaDirectory>>,
}

impl Dispatcher {
    pub(crate) fn new(
        registry: Registry,
        audit: Arc<dyn AuditLog>,
        grants: Option<Arc<dyn GrantCheck>>,
        personas: Option<Arc<dyn PersonaDirectory>>,
    ) -> Self {
        Dispatcher {
            registry,
            audit,
            grants,
            personas,
        }
    }

    /// `meta.asPersona`: the owner hands a call to one of this node's
    /// personas, which then runs with the persona's trust (never above
    /// Trusted) and reaches the persona's memories. Only the local owner
    /// may: it gives power away and never gains any. Anyone else
    /// (`owner_only`), or an unknown or retired persona
    /// (`unknown_persona`), is refused, and the refusal is audited.
    pub(crate) async fn hand_to_persona(
        &self,
        principal: &Principal,
        name: &str,
        method: &str,
        meta: &CallMeta,
    ) -> Result<Principal, CommandError> {
        let refusal = match principal.caller() {
            Caller::LocalOwner => match self.personas.as_ref().and_then(|dir| dir.find(name)) {
                Some(persona) => return Ok(principal.acting_as(&persona)),
                None => CommandError::Forbidden {
                    reason: "unknown_persona".into(),
                    message: "asPersona names no active persona of this node".into(),
                },
            },
            _ => CommandError::Forbidden {
                reason: Denied::OwnerOnly.code().into(),
                message: "only the local owner may act as a persona (asPersona)".into(),
            },
        };
        if let CommandError::Forbidden { reason, .. } = &refusal {
            let event = refusal_event(principal, method, reason, meta.forwarded_for.clone());
            if let Err(err) = self.audit.append_durable(event).await {
                tracing::error!(error = %err, "could not record an asPersona refusal");
            }
        }
        Err(refusal)
    }

    /// The command map (read-only: descriptors, limits, counters).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub(crate) fn grants(&self) -> Option<&dyn GrantCheck> {
        self.grants.as_deref()
    }

    /// Runs one call through every stage.
    pub(crate) async fn dispatch(
        self: &Arc<Self>,
        mut call: Call,
        depth: u8,
    ) -> Result<Value, CommandError> {
        let entry = self.lookup(&call).await?;
        let params = shape(std::mem::take(&mut call.params))?;
        let admission = self.admit(&call, entry, Presentation::Call).await;
        self.record(&call, entry, &admission).await?;
        if let Some(persona) = admission.acting_persona() {
            // A persona-issued grant: the handler, and everything it calls,
            // runs as that persona, never above the caller's ceiling.
            call.principal = Arc::new(call.principal.acting_as(persona));
        }
        let started = Instant::now();
        let result = self.execute(entry, call, params, depth).await;
        entry.stats().record(started.elapsed(), result.is_ok());
        result
    }

    /// Stage 1: the entry, or `method_not_found` with suggestions.
    async fn lookup(&self, call: &Call) -> Result<&Entry, CommandError> {
        match self.registry.get(&call.method) {
            Some(entry) => Ok(entry),
            None => Err(self.unknown_command(call).await),
        }
    }

    /// Stage 3: the gate.
    async fn admit(&self, call: &Call, entry: &Entry, presentation: Presentation) -> Admission {
        let descriptor = entry.descriptor();
        admit(
            &call.principal,
            call.credential.as_deref(),
            descriptor.access,
            &descriptor.name,
            self.grants(),
            presentation,
        )
        .await
    }

    /// Stage 4: the audit record; a refusal becomes the call's answer.
    async fn record(
        &self,
        call: &Call,
        entry: &Entry,
        admission: &Admission,
    ) -> Result<(), CommandError> {
        let descriptor = entry.descriptor();
        let event = decision_event(
            &call.principal,
            &descriptor.name,
            admission,
            call.meta.forwarded_for.clone(),
        );
        let owner_action = descriptor.access == Access::OwnerOnly;
        match admission.decision {
            Decision::Allow(_) if owner_action => {
                // Fail closed: an owner-only action runs only once its record is durable.
                self.audit.append_durable(event).await.map_err(|err| {
                    CommandError::Unavailable(format!(
                        "audit log unavailable, refusing owner-only action: {err}"
                    ))
                })
            }
            Decision::Allow(_) => {
                self.audit.append(event);
                Ok(())
            }
            Decision::Deny(denied) => {
                // A refusal is security evidence: make it durable before answering.
                if let Err(err) = self.audit.append_durable(event).await {
                    tracing::error!(error = %err, command = %descriptor.name, "could not record a denial");
                }
                Err(forbidden(
                    &call.principal,
                    &descriptor.name,
                    denied,
                    admission,
                ))
            }
        }
    }

    /// Stages 5 to 7: validate, acquire a slot, run under the timeout with
    /// panics contained.
    async fn execute(
        self: &Arc<Self>,
        entry: &Entry,
        call: Call,
        params: Value,
        depth: u8,
    ) -> Result<Value, CommandError> {
        entry.validate(&params)?;
        let limits = entry.limits();
        let name = entry.command.name();
        let _permit = match entry.concurrency() {
            Some(semaphore) => {
                let waited =
                    tokio::time::timeout(limits.max_wait, Arc::clone(semaphore).acquire_owned())
                        .await;
                match waited {
                    Ok(Ok(permit)) => Some(permit),
                    Ok(Err(_)) | Err(_) => {
                        return Err(CommandError::Overloaded(format!(
                            "'{name}' is at its limit of {} concurrent calls; retry later",
                            limits.max_concurrency.unwrap_or_default()
                        )))
                    }
                }
            }
            None => None,
        };
        let ctx = Ctx::new(call, Arc::clone(self), depth);
        let work = async {
            match AssertUnwindSafe(entry.command.invoke(ctx, params))
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

    /// Did-you-mean: close names first, then only those the caller may call
    /// (the same `admit`, with no side effect).
    async fn unknown_command(&self, call: &Call) -> CommandError {
        let close = suggest(
            &call.method,
            self.registry.entries().map(|entry| entry.command.name()),
        );
        let mut suggestions = Vec::with_capacity(close.len());
        for name in close {
            let Some(entry) = self.registry.get(&name) else {
                continue;
            };
            if self
                .admit(call, entry, Presentation::Listing)
                .await
                .is_allowed()
            {
                suggestions.push(name);
            }
        }
        CommandError::MethodNotFound {
            name: call.method.clone(),
            suggestions,
        }
    }
}

/// Stage 2: named params only; `null` (or absent) means `{}`.
fn shape(params: Value) -> Result<Value, CommandError> {
    match params {
        Value::Null => Ok(Value::Object(Map::new())),
        params @ Value::Object(_) => Ok(params),
        Value::Array(_) => Err(CommandError::invalid_params(
            "",
            "positional params are not supported; pass params as a JSON object",
        )),
        _ => Err(CommandError::invalid_params(
            "",
            "params must be a JSON object",
        )),
    }
}

fn forbidden(
    principal: &Principal,
    command: &str,
    denied: Denied,
    admission: &Admission,
) -> CommandError {
    let grant_refused = admission.reason != denied.code();
    let message = match denied {
        Denied::Blocked => format!("caller is blocked and may not call '{command}'"),
        Denied::OwnerOnly => format!("'{command}' is owner-only"),
        Denied::InsufficientTrust if grant_refused => format!(
            "the presented grant does not authorize '{command}' ({})",
            admission.reason
        ),
        Denied::InsufficientTrust => {
            format!(
                "'{command}' needs more than {} trust",
                principal.trust().as_str()
            )
        }
    };
    CommandError::Forbidden {
        reason: admission.reason.to_owned(),
        message,
    }
}

/// Up to three names close to `wanted`, best first.
pub fn suggest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    // Past this length no command name is "close"; don't spend CPU comparing.
    const MAX_COMPARED: usize = 256;
    if wanted.len() > MAX_COMPARED {
        return Vec::new();
    }
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

//! The per-call context a handler receives.
//!
//! A handler can learn who is calling, stream to the client, call other
//! commands *as the same caller* through the whole dispatch pipeline, and
//! query the catalog read-only. It cannot reach the dispatcher itself, a
//! command's `invoke`, or any way to change who the caller is.

use super::{Command, CommandError};
use crate::credential::Credential;
use crate::dispatch::{Call, CommandStats, Dispatcher};
use crate::gate::{admit, Caller, Presentation, Principal, Trust};
use continuum_wire::{CommandDescriptor, Id, StreamNotification, STREAM_METHOD};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Deepest allowed chain of commands calling commands.
const MAX_COMPOSITION_DEPTH: u8 = 8;

/// Facts about a call that are recorded but never authorize anything.
#[derive(Debug, Clone, Default)]
pub struct CallMeta {
    /// The JSON-RPC id of the request that started this call chain.
    pub request_id: Option<Id>,
    /// On whose behalf the call is made. Audited; the gate cannot see it.
    pub forwarded_for: Option<String>,
}

/// Where `$/stream` notifications for one request go: the connection's writer.
#[derive(Debug, Clone)]
pub struct StreamSink {
    request_id: Id,
    frames: mpsc::Sender<Vec<u8>>,
    hangup: Option<watch::Receiver<bool>>,
}

impl StreamSink {
    /// A sink that tags every event with `request_id`.
    pub fn new(request_id: Id, frames: mpsc::Sender<Vec<u8>>) -> Self {
        StreamSink {
            request_id,
            frames,
            hangup: None,
        }
    }

    /// Also tells handlers when the client has hung up: `hangup` turns true
    /// when the connection reaches end of input.
    pub fn with_hangup(mut self, hangup: watch::Receiver<bool>) -> Self {
        self.hangup = Some(hangup);
        self
    }

    /// Resolves once the client can no longer receive events: its
    /// connection's writer is gone, or the client hung up.
    async fn gone(&self) {
        match self.hangup.clone() {
            Some(mut hangup) => {
                tokio::select! {
                    () = self.frames.closed() => {}
                    _ = hangup.wait_for(|gone| *gone) => {}
                }
            }
            None => self.frames.closed().await,
        }
    }
}

/// What a handler knows about its call, and how it reaches the rest of the daemon.
///
/// The caller is fixed when the call enters the daemon; nothing a handler does
/// can change it. Sub-calls made through [`Ctx::call`] carry it, its trust
/// ceiling and its credential unchanged through the same pipeline, so
/// composition can never escalate.
#[derive(Clone)]
pub struct Ctx {
    principal: Arc<Principal>,
    credential: Option<Arc<Credential>>,
    meta: Arc<CallMeta>,
    dispatcher: Arc<Dispatcher>,
    stream: Option<StreamSink>,
    depth: u8,
}

impl Ctx {
    pub(crate) fn new(call: Call, dispatcher: Arc<Dispatcher>, depth: u8) -> Self {
        Ctx {
            principal: call.principal,
            credential: call.credential,
            meta: call.meta,
            dispatcher,
            stream: call.stream,
            depth,
        }
    }

    /// Who is calling.
    pub fn caller(&self) -> &Caller {
        self.principal.caller()
    }

    /// The trust the gate gives this call (the caller's, capped by any
    /// ceiling the call asked for).
    pub fn trust(&self) -> Trust {
        self.principal.trust()
    }

    /// Recorded call metadata (`forwarded_for`, request id).
    pub fn meta(&self) -> &CallMeta {
        &self.meta
    }

    /// Read-only queries over the command catalog.
    pub fn catalog(&self) -> Catalog<'_> {
        Catalog { ctx: self }
    }

    /// Whether the client can receive stream events for this call.
    pub fn can_stream(&self) -> bool {
        self.stream.is_some()
    }

    /// Resolves when the client has gone (closed or hung up its connection).
    /// For handlers that stream until then, such as `chat/history --follow`.
    /// Never resolves for a call that cannot stream.
    pub async fn client_gone(&self) {
        match &self.stream {
            Some(sink) => sink.gone().await,
            None => std::future::pending().await,
        }
    }

    /// Sends one `$/stream` event to the client, if it is listening.
    /// Returns false when the client has gone away.
    pub async fn emit(&self, event: impl Serialize) -> bool {
        let Some(sink) = &self.stream else {
            return false;
        };
        let Ok(event) = serde_json::to_value(event) else {
            return false;
        };
        let notification = StreamNotification {
            request_id: sink.request_id.clone(),
            event,
        };
        let frame = json!({"jsonrpc": "2.0", "method": STREAM_METHOD, "params": notification});
        let mut bytes = serde_json::to_vec(&frame).unwrap_or_default();
        bytes.push(b'\n');
        sink.frames.send(bytes).await.is_ok()
    }

    /// Calls another command as the same caller, through the same pipeline.
    pub async fn call<C: Command>(&self, params: C::Params) -> Result<C::Output, CommandError>
    where
        C::Params: Serialize,
        C::Output: DeserializeOwned,
    {
        let params = serde_json::to_value(params).map_err(|err| {
            CommandError::Internal(format!("params of {} did not serialize: {err}", C::NAME))
        })?;
        let value = self.call_by_name(C::NAME, params).await?;
        serde_json::from_value(value).map_err(|err| {
            CommandError::Internal(format!("result of {} did not decode: {err}", C::NAME))
        })
    }

    /// Calls another command by name as the same caller, through the same
    /// pipeline (lookup, gate, audit, validation, limits).
    pub async fn call_by_name(&self, name: &str, params: Value) -> Result<Value, CommandError> {
        if self.depth >= MAX_COMPOSITION_DEPTH {
            return Err(CommandError::Overloaded(format!(
                "composition deeper than {MAX_COMPOSITION_DEPTH} calls (at '{name}')"
            )));
        }
        let call = Call {
            principal: Arc::clone(&self.principal),
            credential: self.credential.clone(),
            method: name.to_owned(),
            params,
            meta: Arc::clone(&self.meta),
            stream: self.stream.clone(),
        };
        Box::pin(self.dispatcher.dispatch(call, self.depth + 1)).await
    }
}

/// The command catalog as a handler may see it: descriptors and counters,
/// never anything that runs a command.
pub struct Catalog<'a> {
    ctx: &'a Ctx,
}

impl Catalog<'_> {
    /// Every command's descriptor, sorted by name, whoever may call it.
    pub fn descriptors(&self) -> impl Iterator<Item = &Arc<CommandDescriptor>> + '_ {
        self.ctx
            .dispatcher
            .registry()
            .entries()
            .map(|entry| entry.descriptor())
    }

    /// The descriptor of the command named `name`, if there is one.
    pub fn descriptor(&self, name: &str) -> Option<&Arc<CommandDescriptor>> {
        self.ctx
            .dispatcher
            .registry()
            .get(name)
            .map(|entry| entry.descriptor())
    }

    /// Every command's name and call counters, sorted by name.
    pub fn stats(&self) -> impl Iterator<Item = (&str, &CommandStats)> + '_ {
        self.ctx
            .dispatcher
            .registry()
            .entries()
            .map(|entry| (entry.descriptor().name.as_str(), entry.stats()))
    }

    /// Number of commands.
    pub fn len(&self) -> usize {
        self.ctx.dispatcher.registry().len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The descriptors of the commands this call's caller may call, by the
    /// same rule dispatch enforces, with no side effect (a presented grant is
    /// previewed, never advanced). Listed == callable.
    pub async fn callable(&self) -> Vec<Arc<CommandDescriptor>> {
        let ctx = self.ctx;
        let mut callable = Vec::new();
        for entry in ctx.dispatcher.registry().entries() {
            let descriptor = entry.descriptor();
            let admission = admit(
                &ctx.principal,
                ctx.credential.as_deref(),
                descriptor.access,
                &descriptor.name,
                ctx.dispatcher.grants(),
                Presentation::Listing,
            )
            .await;
            if admission.is_allowed() {
                callable.push(Arc::clone(descriptor));
            }
        }
        callable
    }
}

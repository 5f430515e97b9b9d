//! The per-call context a handler receives.

use super::{Command, CommandError};
use crate::dispatch::{Call, Dispatcher};
use crate::gate::{caller_trust, Caller, Trust};
use continuum_wire::{Id, StreamNotification, STREAM_METHOD};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::mpsc;

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
}

impl StreamSink {
    /// A sink that tags every event with `request_id`.
    pub fn new(request_id: Id, frames: mpsc::Sender<Vec<u8>>) -> Self {
        StreamSink { request_id, frames }
    }
}

/// What a handler knows about its call, and how it reaches the rest of the daemon.
///
/// The caller is fixed when the call enters the daemon; nothing a handler does
/// can change it. Sub-calls made through [`Ctx::call`] carry it unchanged
/// through the same gate, so composition can never escalate.
#[derive(Clone)]
pub struct Ctx {
    caller: Arc<Caller>,
    meta: Arc<CallMeta>,
    dispatcher: Arc<Dispatcher>,
    stream: Option<StreamSink>,
    depth: u8,
}

impl Ctx {
    pub(crate) fn new(
        caller: Arc<Caller>,
        meta: Arc<CallMeta>,
        dispatcher: Arc<Dispatcher>,
        stream: Option<StreamSink>,
        depth: u8,
    ) -> Self {
        Ctx {
            caller,
            meta,
            dispatcher,
            stream,
            depth,
        }
    }

    /// Who is calling.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The caller's trust level.
    pub fn trust(&self) -> Trust {
        caller_trust(&self.caller)
    }

    /// Recorded call metadata (`forwarded_for`, request id).
    pub fn meta(&self) -> &CallMeta {
        &self.meta
    }

    /// The dispatcher (registry, gate, metrics) this call runs in.
    pub fn dispatcher(&self) -> &Arc<Dispatcher> {
        &self.dispatcher
    }

    /// Whether the client can receive stream events for this call.
    pub fn can_stream(&self) -> bool {
        self.stream.is_some()
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

    /// Calls another command as the same caller, through the same gate.
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

    /// Calls another command by name as the same caller, through the same gate.
    pub async fn call_by_name(&self, name: &str, params: Value) -> Result<Value, CommandError> {
        if self.depth >= MAX_COMPOSITION_DEPTH {
            return Err(CommandError::Internal(format!(
                "composition deeper than {MAX_COMPOSITION_DEPTH} calls (at '{name}')"
            )));
        }
        let call = Call {
            caller: Arc::clone(&self.caller),
            method: name.to_owned(),
            params,
            meta: Arc::clone(&self.meta),
            stream: self.stream.clone(),
        };
        Box::pin(self.dispatcher.dispatch_at_depth(call, self.depth + 1)).await
    }
}

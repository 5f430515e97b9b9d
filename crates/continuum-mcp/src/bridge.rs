//! The MCP server: `tools/list` and `tools/call` over the daemon's commands.
//!
//! One [`Bridge`] serves every MCP session of this process (stdio has one;
//! HTTP has one per client). It holds no authority of its own: each call is
//! a request on the daemon's socket with the identity the operator chose,
//! and the daemon's gate decides, audits and limits it like any other.

use crate::catalog::{Catalog, Entry};
use crate::daemon::{CallError, Daemon};
use crate::errors::{protocol_error, tool_error};
use continuum_wire::{CommandDescriptor, ErrorCode};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    Implementation, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ServerCapabilities, ServerConfig, SubscriptionFilter,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// How often the session's tool list is fetched again to notice changes (a
/// persona's trust changed, the daemon restarted with other commands).
pub const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Longest client name carried into `forwardedFor`.
const MAX_CLIENT_NAME: usize = 64;

/// The MCP server over one daemon and one identity. Cheap to clone.
#[derive(Clone)]
pub struct Bridge {
    inner: Arc<Inner>,
}

struct Inner {
    daemon: Daemon,
    /// The last listing; `None` until the first.
    catalog: RwLock<Option<Arc<Catalog>>>,
    /// Bumped whenever the tool list changes; sessions notify on it.
    generation: watch::Sender<u64>,
    info: ServerConfig,
}

impl Bridge {
    /// A bridge calling `daemon`.
    pub fn new(daemon: Daemon) -> Bridge {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        let info = ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("continuum", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Continuum's commands, as the gate lets this session call them. \
                 Tool names are command names with `/` written `__`.",
            );
        Bridge {
            inner: Arc::new(Inner {
                daemon,
                catalog: RwLock::new(None),
                generation: watch::channel(0).0,
                info,
            }),
        }
    }

    /// Re-lists every [`POLL_INTERVAL`] and bumps the generation when the
    /// list changed. Runs until the process ends.
    pub fn spawn_poller(&self) {
        let bridge = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(err) = bridge.refresh(Some("mcp:poll".into())).await {
                    tracing::debug!(?err, "tool list poll failed");
                }
            }
        });
    }

    /// Fetches the session's commands and makes them the current catalog.
    async fn refresh(&self, forwarded_for: Option<String>) -> Result<Arc<Catalog>, CallError> {
        let listed = match self
            .inner
            .daemon
            .call("commands/list", json!({}), forwarded_for)
            .await
        {
            Ok(listed) => listed,
            // A Blocked identity may not even list: it has no tools.
            Err(CallError::Rpc(err)) if err.error_code() == Some(ErrorCode::Forbidden) => {
                json!({"commands": []})
            }
            Err(err) => return Err(err),
        };
        let descriptors: Vec<CommandDescriptor> =
            serde_json::from_value(listed.get("commands").cloned().unwrap_or(Value::Null))
                .map_err(|err| {
                    CallError::Unreachable(format!("unreadable commands/list: {err}"))
                })?;
        let catalog = Arc::new(Catalog::new(&descriptors));
        let changed = {
            let mut current = self.inner.catalog.write().expect("catalog lock");
            let previous = current.replace(catalog.clone());
            previous.is_some_and(|previous| previous.digest() != catalog.digest())
        };
        if changed {
            self.inner
                .generation
                .send_modify(|generation| *generation += 1);
        }
        Ok(catalog)
    }

    /// What a call needs to know about `tool`, listing first if this
    /// process has not yet (a client may call without listing).
    async fn entry(&self, tool: &str, forwarded_for: Option<String>) -> Entry {
        let listed = self.inner.catalog.read().expect("catalog lock").clone();
        let catalog = match listed {
            Some(catalog) => catalog,
            None => match self.refresh(forwarded_for).await {
                Ok(catalog) => catalog,
                Err(_) => Arc::new(Catalog::default()),
            },
        };
        catalog.entry(tool)
    }

    /// Notifies through `notify` each time the tool list changes, until it
    /// fails (the session is gone) or `stop` resolves.
    async fn notify_changes<N, Fut>(&self, stop: impl std::future::Future<Output = ()>, notify: N)
    where
        N: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let mut changes = self.inner.generation.subscribe();
        changes.mark_unchanged();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                changed = changes.changed() => {
                    if changed.is_err() || !notify().await {
                        return;
                    }
                }
            }
        }
    }
}

/// `mcp:<client name>`: on whose behalf the daemon is called, for its
/// audit log. It never authorizes. Names that are empty, too long or not
/// printable become `mcp:unknown`.
fn forwarded_for(context: &RequestContext<RoleServer>) -> Option<String> {
    let printable = |name: &String| {
        !name.is_empty()
            && name.len() <= MAX_CLIENT_NAME
            && name.chars().all(|c| c.is_ascii_graphic() || c == ' ')
    };
    let name = context.client_info().map(|info| info.name);
    Some(format!(
        "mcp:{}",
        name.filter(printable).as_deref().unwrap_or("unknown")
    ))
}

impl ServerHandler for Bridge {
    fn get_info(&self) -> ServerConfig {
        self.inner.info.clone()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let catalog = self
            .refresh(forwarded_for(&context))
            .await
            .map_err(|err| protocol_error(err.into_rpc()))?;
        Ok(ListToolsResult::with_all_items(catalog.tools())
            .with_ttl_ms(POLL_INTERVAL.as_millis() as u64)
            .with_cache_scope(CacheScope::Private))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let on_behalf = forwarded_for(&context);
        let entry = self.entry(&request.name, on_behalf.clone()).await;
        let params = Value::Object(request.arguments.unwrap_or_default());
        let daemon = &self.inner.daemon;
        let outcome = if entry.streaming {
            // Each event is a progress notification, when the client asked
            // for progress; otherwise events are dropped and only the
            // result is returned.
            let token = context.meta.get_progress_token();
            let peer = context.peer.clone();
            let mut count = 0u64;
            daemon
                .call_streaming(&entry.command, params, on_behalf, &context.ct, |event| {
                    count += 1;
                    let note = token.clone().map(|token| {
                        ProgressNotificationParam::new(token, count as f64)
                            .with_message(event_text(&event))
                    });
                    let peer = peer.clone();
                    async move {
                        if let Some(note) = note {
                            if let Err(err) = peer.notify_progress(note).await {
                                tracing::debug!(%err, "progress not delivered");
                            }
                        }
                    }
                })
                .await
        } else {
            // A cancelled call is abandoned here; the daemon finishes it
            // within its timeout (only streaming commands run long).
            tokio::select! {
                outcome = daemon.call(&entry.command, params, on_behalf) => outcome,
                _ = context.ct.cancelled() => Err(CallError::Cancelled),
            }
        };
        let result = match outcome {
            Ok(value) if entry.structured && value.is_object() => CallToolResult::structured(value),
            Ok(value) => CallToolResult::success(vec![ContentBlock::text(value_text(&value))]),
            Err(err) => {
                let err = err.into_rpc();
                // Only an unknown tool is a protocol error, as the spec asks;
                // every other failure is the tool's, for the model to read.
                if err.error_code() == Some(ErrorCode::MethodNotFound) {
                    return Err(protocol_error(err));
                }
                tool_error(err)
            }
        };
        Ok(result.into())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        // A handshake session (before 2026-07-28) hears of list changes as
        // plain notifications for as long as it lives.
        let bridge = self.clone();
        let peer = context.peer;
        tokio::spawn(async move {
            bridge
                .notify_changes(std::future::pending(), || {
                    let peer = peer.clone();
                    async move { peer.notify_tool_list_changed().await.is_ok() }
                })
                .await;
        });
    }

    fn accepted_subscription_filter(
        &self,
        _requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(SubscriptionFilter::builder().tools_list_changed().build())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        // 2026-07-28: list changes flow on `subscriptions/listen` streams.
        self.notify_changes(context.cancelled(), || async {
            context.sink().notify_tool_list_changed().await.is_ok()
        })
        .await;
        Ok(())
    }
}

/// A result as text: a string as it is, anything else as compact JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A stream event as a progress message: its `text` when it has one (a
/// chat message, a generated token), else the event as compact JSON.
fn event_text(event: &Value) -> String {
    match event.get("text") {
        Some(Value::String(text)) => text.clone(),
        _ => value_text(event),
    }
}

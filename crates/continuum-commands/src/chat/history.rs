//! `chat/history`: a room's messages. Plain (the last `limit`, or those
//! after a cursor), long-poll (`waitMs`: wait for the next ones), or follow
//! (`follow`: stream every new message as a `$/stream` event until the
//! client goes). AI-safe; the handle to a persona answer's reasoning is
//! shown to the owner only.

use super::find_room;
use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx, Limits};
use continuum_persona::rooms::next_in_room;
use continuum_persona::Rooms;
use continuum_store::ChatMessage;
use continuum_wire::{Access, Trust};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Longest long-poll.
const MAX_WAIT_MS: u64 = 60_000;
/// Most messages per answer.
const MAX_LIMIT: usize = 500;
/// Messages read per step while following.
const FOLLOW_BATCH: usize = 200;

/// Reads a room.
pub(super) struct ChatHistory(pub(super) Arc<Rooms>);

/// Params of `chat/history`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct HistoryParams {
    /// The room, by name or id.
    pub room: String,
    /// Most messages returned (default 50, at most 500).
    #[serde(default)]
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<usize>,
    /// Only messages with a larger id (a cursor from an earlier answer).
    #[serde(default)]
    pub after: Option<u64>,
    /// When no message is there yet, wait up to this long for the next (at most 60000).
    #[serde(default)]
    #[schemars(range(max = 60000))]
    pub wait_ms: Option<u64>,
    /// Stream new messages as `$/stream` events until the client disconnects.
    #[serde(default)]
    pub follow: bool,
}

/// Result of `chat/history`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct HistoryResult {
    /// Messages, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Pass as `after` to get what comes next.
    pub cursor: u64,
}

impl Command for ChatHistory {
    const NAME: &'static str = "chat/history";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str =
        "Read a room's messages: the latest, those after a cursor, waiting for the next (waitMs), or following live (follow).";
    const ACCESS: Access = Access::AiSafe;
    const STREAMING: bool = true;
    // Following lasts as long as the client stays; long-polls are bounded by waitMs.
    const LIMITS: Limits = Limits {
        timeout: Duration::from_secs(24 * 3600),
        ..Limits::DEFAULT
    };
    type Params = HistoryParams;
    type Output = HistoryResult;

    async fn run(&self, ctx: Ctx, p: HistoryParams) -> Result<HistoryResult, CommandError> {
        let limit = p.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
        let wait_ms = p.wait_ms.unwrap_or(0);
        if wait_ms > MAX_WAIT_MS {
            return Err(CommandError::invalid_params(
                "/waitMs",
                format!("at most {MAX_WAIT_MS}"),
            ));
        }
        if p.follow && !ctx.can_stream() {
            return Err(CommandError::invalid_params(
                "/follow",
                "following streams events: send the request with an id, not as a notification",
            ));
        }
        let room = find_room(&self.0, &p.room).await?;
        let owner = ctx.trust() == Trust::Owner;
        let shown = |mut messages: Vec<ChatMessage>| {
            if !owner {
                for message in &mut messages {
                    if let Some(meta) = &mut message.persona {
                        meta.answer_id.clear();
                    }
                }
            }
            messages
        };
        let store = self.0.store();
        if p.follow {
            return self.follow(&ctx, &room.id, p.after, limit, shown).await;
        }
        let messages = if wait_ms > 0 {
            let after = match p.after {
                Some(after) => after,
                None => self.0.last_id(&room.id).await.map_err(store_error)?,
            };
            // A long-poll ends early when the client hangs up or the daemon
            // stops, so neither waits out `waitMs`.
            tokio::select! {
                waited = self.0.wait_after(&room.id, after, limit, Duration::from_millis(wait_ms)) => waited,
                () = ctx.client_gone() => Ok(Vec::new()),
            }
        } else {
            store.history(&room.id, p.after, limit).await
        }
        .map_err(store_error)?;
        let cursor = messages.last().map(|m| m.id).or(p.after).unwrap_or(0);
        Ok(HistoryResult {
            messages: shown(messages),
            cursor,
        })
    }
}

impl ChatHistory {
    /// Streams the backlog (the last `limit`, or everything after `after`),
    /// then every new message, until the client goes.
    async fn follow(
        &self,
        ctx: &Ctx,
        room_id: &str,
        after: Option<u64>,
        limit: usize,
        shown: impl Fn(Vec<ChatMessage>) -> Vec<ChatMessage>,
    ) -> Result<HistoryResult, CommandError> {
        let store = self.0.store();
        let mut bus = self.0.subscribe();
        let backlog = store
            .history(room_id, after, limit)
            .await
            .map_err(store_error)?;
        let mut cursor = backlog.last().map(|m| m.id).or(after).unwrap_or(0);
        if !emit_all(ctx, shown(backlog)).await {
            return Ok(HistoryResult {
                messages: Vec::new(),
                cursor,
            });
        }
        loop {
            let batch = store
                .history(room_id, Some(cursor), FOLLOW_BATCH)
                .await
                .map_err(store_error)?;
            let full = batch.len() == FOLLOW_BATCH;
            if let Some(last) = batch.last() {
                cursor = last.id;
            }
            if !emit_all(ctx, shown(batch)).await {
                break;
            }
            if full {
                continue;
            }
            let forever = tokio::time::Instant::now() + Duration::from_secs(24 * 3600);
            tokio::select! {
                () = ctx.client_gone() => break,
                _ = next_in_room(&mut bus, room_id, forever) => {}
            }
        }
        Ok(HistoryResult {
            messages: Vec::new(),
            cursor,
        })
    }
}

/// Emits each message as `{"message": ...}`; false once the client is gone.
async fn emit_all(ctx: &Ctx, messages: Vec<ChatMessage>) -> bool {
    for message in messages {
        if !ctx.emit(json!({ "message": message })).await {
            return false;
        }
    }
    true
}

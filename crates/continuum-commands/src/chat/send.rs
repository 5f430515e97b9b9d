//! `chat/send`: post a message to a room as the caller. AI-safe.

use super::{author_of, find_room};
use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_persona::{Rooms, Roster};
use continuum_store::{ChatMessage, NewMessage};
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Posts a message.
pub(super) struct ChatSend(pub(super) Arc<Rooms>, pub(super) Arc<Roster>);

/// Params of `chat/send`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SendParams {
    /// The room, by name or id.
    pub room: String,
    /// What to say; `@name` addresses a persona.
    pub text: String,
}

impl Command for ChatSend {
    const NAME: &'static str = "chat/send";
    const DESCRIPTION: &'static str =
        "Post a message to a room as yourself; personas answer what is addressed to them (@name).";
    const ACCESS: Access = Access::AiSafe;
    type Params = SendParams;
    type Output = ChatMessage;

    async fn run(&self, ctx: Ctx, p: SendParams) -> Result<ChatMessage, CommandError> {
        let room = find_room(&self.0, &p.room).await?;
        self.0
            .post(NewMessage {
                room_id: room.id,
                author: author_of(&ctx, &self.1),
                text: p.text,
                hop: 0,
                reply_to: None,
                persona: None,
            })
            .await
            .map_err(store_error)
    }
}

//! `chat/answer`: one persona answer record, with the reasoning that was
//! kept out of the room. Owner-only.

use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_persona::Rooms;
use continuum_store::AnswerRecord;
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Shows an answer record.
pub(super) struct ChatAnswer(pub(super) Arc<Rooms>);

/// Params of `chat/answer`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AnswerParams {
    /// The answer id (a persona message's `persona.answerId`).
    pub id: String,
}

impl Command for ChatAnswer {
    const NAME: &'static str = "chat/answer";
    const DESCRIPTION: &'static str =
        "Show one persona answer: outcome, model, usage, tool calls and the reasoning kept out of the room.";
    type Params = AnswerParams;
    type Output = AnswerRecord;

    async fn run(&self, _: Ctx, p: AnswerParams) -> Result<AnswerRecord, CommandError> {
        self.0
            .store()
            .answer(&p.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| CommandError::NotFound(format!("no answer record '{}'", p.id)))
    }
}

//! `chat/answer` and `chat/answers`: persona answer records (posted, empty
//! or failed), with the reasoning kept out of the room, usage, tool calls
//! and timings. Owner-only.

use super::find_room;
use crate::persona::persona_error;
use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_persona::{Rooms, Roster};
use continuum_store::AnswerRecord;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
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
    const READ_ONLY: bool = true;
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

/// Lists a room's answer records.
pub(super) struct ChatAnswers(pub(super) Arc<Rooms>, pub(super) Arc<Roster>);

/// Params of `chat/answers`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AnswersParams {
    /// The room, by name or id.
    pub room: String,
    /// Only this persona's answers (name or id).
    #[serde(default)]
    pub persona: Option<String>,
    /// Most records (default 20, at most 200).
    #[serde(default)]
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<usize>,
}

/// Result of `chat/answers`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct AnswersResult {
    /// Newest first.
    pub answers: Vec<AnswerRecord>,
}

impl Command for ChatAnswers {
    const NAME: &'static str = "chat/answers";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str =
        "List a room's persona answers, newest first, including those that posted nothing (empty, failed) and why.";
    type Params = AnswersParams;
    type Output = AnswersResult;

    async fn run(&self, _: Ctx, p: AnswersParams) -> Result<AnswersResult, CommandError> {
        let room = find_room(&self.0, &p.room).await?;
        let persona = match &p.persona {
            Some(persona) => Some(self.1.show(persona).await.map_err(persona_error)?.id),
            None => None,
        };
        let limit = p.limit.unwrap_or(20).clamp(1, 200);
        let answers = self
            .0
            .store()
            .answers(&room.id, persona.as_deref(), limit)
            .await
            .map_err(store_error)?;
        Ok(AnswersResult { answers })
    }
}

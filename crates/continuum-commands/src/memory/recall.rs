//! `memory/recall` (ranked by relevance and recency) and `memory/list`
//! (newest first). AI-safe, own memories only.

use super::whose;
use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_persona::Roster;
use continuum_store::{Memory, MemoryStore, Recalled};
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Most memories one call returns.
const MAX_LIMIT: usize = 100;

/// Recalls memories.
pub(super) struct MemoryRecall(pub(super) Arc<dyn MemoryStore>, pub(super) Arc<Roster>);

/// Params of `memory/recall`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RecallParams {
    /// What to recall memories about (words; no query syntax).
    pub query: String,
    /// Most memories returned (default 5, at most 100).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<usize>,
    /// The persona (owner only).
    #[serde(default)]
    pub persona: Option<String>,
}

/// Result of `memory/recall`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct RecallResult {
    /// Best first.
    pub memories: Vec<Recalled>,
}

impl Command for MemoryRecall {
    const NAME: &'static str = "memory/recall";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str =
        "Recall the memories most relevant to a query (BM25 with recency), best first.";
    const ACCESS: Access = Access::AiSafe;
    type Params = RecallParams;
    type Output = RecallResult;

    async fn run(&self, ctx: Ctx, p: RecallParams) -> Result<RecallResult, CommandError> {
        let persona_id = whose(&ctx, &self.1, p.persona.as_deref())?;
        let limit = p.limit.unwrap_or(5).clamp(1, MAX_LIMIT);
        let memories = self
            .0
            .recall(&persona_id, &p.query, limit)
            .await
            .map_err(store_error)?;
        Ok(RecallResult { memories })
    }
}

/// Lists recent memories.
pub(super) struct MemoryList(pub(super) Arc<dyn MemoryStore>, pub(super) Arc<Roster>);

/// Params of `memory/list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListParams {
    /// Most memories returned (default 20, at most 100).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<usize>,
    /// The persona (owner only).
    #[serde(default)]
    pub persona: Option<String>,
}

/// Result of `memory/list`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResult {
    /// Newest first.
    pub memories: Vec<Memory>,
}

impl Command for MemoryList {
    const NAME: &'static str = "memory/list";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str = "List the most recent memories, newest first.";
    const ACCESS: Access = Access::AiSafe;
    type Params = ListParams;
    type Output = ListResult;

    async fn run(&self, ctx: Ctx, p: ListParams) -> Result<ListResult, CommandError> {
        let persona_id = whose(&ctx, &self.1, p.persona.as_deref())?;
        let limit = p.limit.unwrap_or(20).clamp(1, MAX_LIMIT);
        let memories = self
            .0
            .recent(&persona_id, limit)
            .await
            .map_err(store_error)?;
        Ok(ListResult { memories })
    }
}

//! `memory/remember`: store a memory. AI-safe (a persona remembers for itself).

use super::whose;
use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_persona::Roster;
use continuum_store::{Memory, MemoryStore, NewMemory};
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Stores a memory.
pub(super) struct MemoryRemember(pub(super) Arc<dyn MemoryStore>, pub(super) Arc<Roster>);

/// Params of `memory/remember`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RememberParams {
    /// What to remember.
    pub text: String,
    /// Labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The persona (owner only; a persona remembers for itself).
    #[serde(default)]
    pub persona: Option<String>,
}

impl Command for MemoryRemember {
    const NAME: &'static str = "memory/remember";
    const DESCRIPTION: &'static str =
        "Remember something (a persona's own memory; recalled when relevant).";
    const ACCESS: Access = Access::AiSafe;
    type Params = RememberParams;
    type Output = Memory;

    async fn run(&self, ctx: Ctx, p: RememberParams) -> Result<Memory, CommandError> {
        let persona_id = whose(&ctx, &self.1, p.persona.as_deref())?;
        self.0
            .remember(NewMemory {
                persona_id,
                text: p.text,
                tags: p.tags,
            })
            .await
            .map_err(store_error)
    }
}

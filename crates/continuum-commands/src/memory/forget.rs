//! `memory/forget`: drop one memory. Owner-only and destructive: a persona
//! cannot erase what it remembers, so a prompt that talks it into forgetting
//! cannot wipe its memory.

use super::whose;
use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_persona::Roster;
use continuum_store::MemoryStore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Forgets a memory.
pub(super) struct MemoryForget(pub(super) Arc<dyn MemoryStore>, pub(super) Arc<Roster>);

/// Params of `memory/forget`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ForgetParams {
    /// The memory's id.
    pub id: String,
    /// The persona, by name or id.
    #[serde(default)]
    pub persona: Option<String>,
}

/// Result of `memory/forget`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ForgetResult {
    /// Always true: forgetting what is not there is `not_found`.
    pub forgotten: bool,
}

impl Command for MemoryForget {
    const NAME: &'static str = "memory/forget";
    const DESCRIPTION: &'static str = "Forget one of a persona's memories by id (owner-only).";
    const DESTRUCTIVE: bool = true;
    type Params = ForgetParams;
    type Output = ForgetResult;

    async fn run(&self, ctx: Ctx, p: ForgetParams) -> Result<ForgetResult, CommandError> {
        let persona_id = whose(&ctx, &self.1, p.persona.as_deref())?;
        if self
            .0
            .forget(&persona_id, &p.id)
            .await
            .map_err(store_error)?
        {
            Ok(ForgetResult { forgotten: true })
        } else {
            Err(CommandError::NotFound(format!(
                "no memory '{}' among this persona's",
                p.id
            )))
        }
    }
}

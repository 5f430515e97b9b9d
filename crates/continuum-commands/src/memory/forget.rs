//! `memory/forget`: drop one memory. AI-safe, own memories only.

use super::whose;
use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_persona::Roster;
use continuum_store::MemoryStore;
use continuum_wire::Access;
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
    /// The persona (owner only).
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
    const DESCRIPTION: &'static str = "Forget one of your memories by id.";
    const ACCESS: Access = Access::AiSafe;
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

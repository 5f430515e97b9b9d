//! `memory/*`: a persona's memories, over a [`MemoryStore`]. A persona
//! caller reaches only its own memories (naming another is refused); the
//! owner names the persona (`--persona`); nobody else has memories here,
//! except a peer acting *as* a persona through a grant that persona issued.
//! Remembering and recalling are AI-safe; forgetting is owner-only.

mod forget;
mod recall;
mod remember;

use crate::persona::persona_error;
use continuum_kernel::command::{erase, CommandError, Ctx, ErasedCommand, Module};
use continuum_kernel::gate::{Caller, Trust};
use continuum_persona::Roster;
use continuum_store::MemoryStore;
use std::sync::Arc;

/// Contributes `memory/*`.
pub struct MemoryModule {
    memories: Arc<dyn MemoryStore>,
    roster: Arc<Roster>,
}

impl MemoryModule {
    /// A module over `memories`; `roster` resolves the persona the owner names.
    pub fn new(memories: Arc<dyn MemoryStore>, roster: Arc<Roster>) -> Self {
        MemoryModule { memories, roster }
    }
}

impl Module for MemoryModule {
    fn commands(&self) -> Vec<ErasedCommand> {
        let memories = || Arc::clone(&self.memories);
        let roster = || Arc::clone(&self.roster);
        vec![
            erase(remember::MemoryRemember(memories(), roster())),
            erase(recall::MemoryRecall(memories(), roster())),
            erase(recall::MemoryList(memories(), roster())),
            erase(forget::MemoryForget(memories(), roster())),
        ]
    }
}

/// Whose memories a call works on: the calling persona's own, or the one
/// the owner names.
fn whose(ctx: &Ctx, roster: &Roster, named: Option<&str>) -> Result<String, CommandError> {
    match ctx.caller() {
        Caller::Persona { persona_id, .. } => match named {
            None => Ok(persona_id.clone()),
            Some(named) => {
                let is_self = named == persona_id
                    || roster
                        .live(persona_id)
                        .is_some_and(|me| me.name().eq_ignore_ascii_case(named));
                if is_self {
                    Ok(persona_id.clone())
                } else {
                    Err(CommandError::Forbidden {
                        reason: "not_own_memory".into(),
                        message:
                            "a persona's memories are its own: omit --persona, or name yourself"
                                .into(),
                    })
                }
            }
        },
        // The owner at full trust only: under `--max-trust` it is treated
        // like any other non-persona caller.
        Caller::LocalOwner { .. } if ctx.trust() == Trust::Owner => match named {
            Some(named) => Ok(roster
                .resolve(named)
                .map_err(persona_error)?
                .id()
                .to_owned()),
            None => Err(CommandError::invalid_params(
                "/persona",
                "name the persona whose memories these are (--persona NAME)",
            )),
        },
        other => Err(CommandError::Forbidden {
            reason: "not_a_persona".into(),
            message: format!(
                "memories belong to personas; {} is neither a persona nor the owner",
                other.label()
            ),
        }),
    }
}

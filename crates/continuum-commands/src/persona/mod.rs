//! `persona/*`: the personas this node hosts, over the persona
//! [`Roster`]. Creating, changing and retiring are owner-only; listing and
//! showing are AI-safe (they never include a secret key).

mod create;
mod list;
mod retire;
mod update;

use crate::ai::Providers;
use continuum_kernel::command::{erase, CommandError, ErasedCommand, Module};
use continuum_persona::{PersonaError, Roster};
use continuum_store::MemoryStore;
use std::sync::Arc;

/// Contributes `persona/*`.
pub struct PersonaModule {
    roster: Arc<Roster>,
    providers: Arc<Providers>,
    memories: Arc<dyn MemoryStore>,
}

impl PersonaModule {
    /// A module over the roster; `providers` checks the provider a persona
    /// names, `memories` counts what each remembers.
    pub fn new(
        roster: Arc<Roster>,
        providers: Arc<Providers>,
        memories: Arc<dyn MemoryStore>,
    ) -> Self {
        PersonaModule {
            roster,
            providers,
            memories,
        }
    }
}

impl Module for PersonaModule {
    fn commands(&self) -> Vec<ErasedCommand> {
        let roster = || Arc::clone(&self.roster);
        let providers = || Arc::clone(&self.providers);
        vec![
            erase(create::PersonaCreate(roster(), providers())),
            erase(list::PersonaList(roster())),
            erase(list::PersonaShow(roster(), Arc::clone(&self.memories))),
            erase(update::PersonaUpdate(roster(), providers())),
            erase(retire::PersonaRetire(roster())),
        ]
    }
}

/// A roster failure as the caller sees it.
pub(crate) fn persona_error(err: PersonaError) -> CommandError {
    match err {
        PersonaError::Invalid { field, reason } => CommandError::invalid_params(field, reason),
        PersonaError::NotFound(_) => CommandError::NotFound(err.to_string()),
        PersonaError::NameTaken(_) => CommandError::Conflict(err.to_string()),
        PersonaError::Store(err) => crate::store_error(err),
        PersonaError::Home(reason) => CommandError::Unavailable(reason),
    }
}

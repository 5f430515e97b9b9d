//! `data/*`: JSON documents in named collections, over a [`DocumentStore`].
//! Reads and creates are AI-safe; everything that overwrites or deletes is
//! owner-only (pinned by `destructive_data_commands_stay_owner_only`).

mod clear_all;
mod create;
mod delete;
mod list;
mod read;
mod truncate;
mod update;

use crate::command::{erase, DynCommand, Module};
use crate::store::DocumentStore;
use std::sync::Arc;

/// The destructive `data/*` commands. They must stay owner-only.
pub const DESTRUCTIVE: [&str; 4] = [
    "data/update",
    "data/delete",
    "data/truncate",
    "data/clear-all",
];

/// Contributes the `data/*` commands over one document store.
pub struct DataModule {
    store: Arc<dyn DocumentStore>,
}

impl DataModule {
    /// A module over `store`.
    pub fn new(store: Arc<dyn DocumentStore>) -> Self {
        DataModule { store }
    }
}

impl Module for DataModule {
    fn commands(&self) -> Vec<Arc<dyn DynCommand>> {
        let store = || Arc::clone(&self.store);
        vec![
            erase(create::DataCreate(store())),
            erase(read::DataRead(store())),
            erase(list::DataList(store())),
            erase(update::DataUpdate(store())),
            erase(delete::DataDelete(store())),
            erase(truncate::DataTruncate(store())),
            erase(clear_all::DataClearAll(store())),
        ]
    }
}

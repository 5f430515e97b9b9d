//! `data/*`: JSON documents in named collections, over a [`DocumentStore`].
//! Reads and creates are AI-safe; everything that overwrites or deletes
//! declares `DESTRUCTIVE`, which the registry only accepts on owner-only
//! commands.

mod clear_all;
mod create;
mod delete;
mod list;
mod read;
mod truncate;
mod update;

use continuum_kernel::command::{erase, ErasedCommand, Module};
use continuum_store::DocumentStore;
use std::sync::Arc;

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
    fn commands(&self) -> Vec<ErasedCommand> {
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

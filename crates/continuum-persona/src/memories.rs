//! Each persona's memories live in its own home
//! (`<home>/personas/<id>/memories.sqlite`, 0600): the home holds everything
//! the persona is (seed, key, memories), so copying or archiving the
//! directory keeps the persona whole. [`HomeMemories`] routes the one
//! [`MemoryStore`] contract to the right file.

use crate::home::{is_persona_id, PersonaHome};
use continuum_store::{
    BoxFuture, Memory, MemoryStore, NewMemory, Recalled, SqliteMemories, StoreError,
};
use continuum_wire::Home;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const MEMORIES_FILE: &str = "memories.sqlite";

/// Memories stored in each persona's home.
pub struct HomeMemories {
    home: Home,
    open: Mutex<HashMap<String, Arc<SqliteMemories>>>,
}

impl HomeMemories {
    /// Memories under `home`'s persona homes.
    pub fn new(home: Home) -> HomeMemories {
        HomeMemories {
            home,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The store of a persona whose home exists. A home that is gone
    /// (retired, so archived) is never re-created here: its memories went
    /// with it.
    fn store(&self, persona_id: &str) -> Result<Arc<SqliteMemories>, StoreError> {
        let home = PersonaHome::of(&self.home, persona_id);
        let mut open = self
            .open
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        if !is_persona_id(persona_id) || !home.dir().is_dir() {
            open.remove(persona_id);
            return Err(StoreError::NotFound(format!("persona {persona_id}")));
        }
        if let Some(store) = open.get(persona_id) {
            return Ok(Arc::clone(store));
        }
        let store = Arc::new(SqliteMemories::open(&home.dir().join(MEMORIES_FILE))?);
        open.insert(persona_id.to_owned(), Arc::clone(&store));
        Ok(store)
    }
}

/// Runs `work` on the persona's store, or fails as the routing did.
fn routed<'a, T: Send + 'a>(
    store: Result<Arc<SqliteMemories>, StoreError>,
    work: impl FnOnce(Arc<SqliteMemories>) -> BoxFuture<'a, Result<T, StoreError>> + Send + 'a,
) -> BoxFuture<'a, Result<T, StoreError>> {
    match store {
        Ok(store) => work(store),
        Err(err) => Box::pin(std::future::ready(Err(err))),
    }
}

impl MemoryStore for HomeMemories {
    fn remember(&self, memory: NewMemory) -> BoxFuture<'_, Result<Memory, StoreError>> {
        let store = self.store(&memory.persona_id);
        routed(store, move |store| {
            Box::pin(async move { store.remember(memory).await })
        })
    }

    fn recall(
        &self,
        persona_id: &str,
        query: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Recalled>, StoreError>> {
        let (persona_id, query) = (persona_id.to_owned(), query.to_owned());
        routed(self.store(&persona_id), move |store| {
            Box::pin(async move { store.recall(&persona_id, &query, limit).await })
        })
    }

    fn recent(
        &self,
        persona_id: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Memory>, StoreError>> {
        let persona_id = persona_id.to_owned();
        routed(self.store(&persona_id), move |store| {
            Box::pin(async move { store.recent(&persona_id, limit).await })
        })
    }

    fn forget(&self, persona_id: &str, id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (persona_id, id) = (persona_id.to_owned(), id.to_owned());
        routed(self.store(&persona_id), move |store| {
            Box::pin(async move { store.forget(&persona_id, &id).await })
        })
    }

    fn count(&self, persona_id: &str) -> BoxFuture<'_, Result<u64, StoreError>> {
        let persona_id = persona_id.to_owned();
        routed(self.store(&persona_id), move |store| {
            Box::pin(async move { store.count(&persona_id).await })
        })
    }
}

//! Persona memories on S3: one JSON object per memory in the memory bucket,
//! key `[<class prefix>/]persona/<persona id>/<memory id>` (the persona's
//! wallet is the prefix), written through; recall runs on an in-process
//! index of the persona's memories, loaded from S3 the first time the
//! persona is touched and kept in step by every write.
//!
//! Why this shape (`docs/adr/0013-s3-and-sts.md`): S3 has no query, so
//! recall needs the memories in hand; one object per memory makes a write a
//! single conditional PUT (no read-modify-write of a shared index object,
//! nothing to lose to a race) and a forget a single DELETE. The index is the
//! store crate's own scan ([`continuum_store::memories::recall_among`]), so
//! S3 ranks exactly like the other backends. It assumes this process is the
//! persona's only writer (a persona lives on one node); another writer's
//! memories appear after a restart.

use crate::clients::S3Clients;
use crate::config::{ClassStorage, DataClass};
use crate::errors::{backend, bad_wallet};
use crate::policy::{check_wallet, Scope};
use aws_sdk_s3::primitives::ByteStream;
use continuum_store::memories::{check_new, memory_words, recall_among};
use continuum_store::{
    new_id, persona_wallet, BoxFuture, Memory, MemoryStore, NewMemory, Recalled, StoreError,
};
use dashmap::DashMap;
use futures_util::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;

/// Objects read in flight while loading a persona.
const LOAD_CONCURRENCY: usize = 16;

/// A persona's memories by id (ids sort by creation: the index's order is
/// insertion order), each with the words it is recalled by.
type Index = BTreeMap<String, (Memory, BTreeSet<String>)>;

/// One persona: its index, loaded once.
#[derive(Default)]
struct Persona {
    index: OnceCell<RwLock<Index>>,
}

/// Persona memories in the memory bucket.
#[derive(Clone)]
pub struct S3MemoryStore {
    clients: S3Clients,
    personas: Arc<DashMap<String, Arc<Persona>>>,
}

impl std::fmt::Debug for S3MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3MemoryStore")
            .field("personas_loaded", &self.personas.len())
            .finish_non_exhaustive()
    }
}

impl S3MemoryStore {
    /// The store on `clients`' memory class.
    pub fn new(clients: S3Clients) -> S3MemoryStore {
        S3MemoryStore {
            clients,
            personas: Arc::default(),
        }
    }

    fn storage(&self) -> &ClassStorage {
        &self.clients.config().memory
    }

    /// The object key of memory `id` of `persona_id`.
    pub fn key(&self, persona_id: &str, id: &str) -> String {
        format!(
            "{}{id}",
            self.storage().wallet_prefix(&persona_wallet(persona_id))
        )
    }

    /// `persona_id`'s wallet, checked: a single segment, so one persona's
    /// prefix never holds another's (`p` must not reach `p/x`).
    fn wallet(persona_id: &str) -> Result<String, StoreError> {
        if persona_id.contains('/') {
            return Err(StoreError::invalid(
                "/persona",
                "a persona id must not contain '/'",
            ));
        }
        let wallet = persona_wallet(persona_id);
        check_wallet(&wallet).map_err(|err| bad_wallet("/persona", err))?;
        Ok(wallet)
    }

    fn client(&self, wallet: &str) -> Result<aws_sdk_s3::Client, StoreError> {
        self.clients
            .client(DataClass::Memory, Scope::Wallet(wallet))
            .map_err(|err| bad_wallet("/persona", err))
    }

    /// `persona_id`'s index, loading it from S3 the first time.
    async fn index(&self, persona_id: &str) -> Result<(Arc<Persona>, String), StoreError> {
        let wallet = Self::wallet(persona_id)?;
        let persona = match self.personas.get(persona_id) {
            Some(persona) => Arc::clone(&persona),
            None => Arc::clone(&self.personas.entry(persona_id.to_owned()).or_default()),
        };
        persona
            .index
            .get_or_try_init(|| self.load(persona_id, &wallet))
            .await?;
        Ok((persona, wallet))
    }

    /// Every memory under the persona's prefix.
    async fn load(&self, persona_id: &str, wallet: &str) -> Result<RwLock<Index>, StoreError> {
        let client = self.client(wallet)?;
        let bucket = &self.storage().bucket;
        let prefix = self.storage().wallet_prefix(wallet);
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| backend("ListObjectsV2", &prefix, &err))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        let client = &client;
        let loaded: Vec<Option<Memory>> = futures_util::stream::iter(keys)
            .map(|key| async move {
                let output = client.get_object().bucket(bucket).key(&key).send().await;
                let output = match output {
                    Ok(output) => output,
                    // Forgotten between the listing and now.
                    Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                        return Ok(None)
                    }
                    Err(err) => return Err(backend("GetObject", &key, &err)),
                };
                let body = output.body.collect().await.map_err(|err| {
                    StoreError::Backend(format!("s3 GetObject {key}: body: {err}"))
                })?;
                match serde_json::from_slice::<Memory>(&body.into_bytes()) {
                    Ok(memory)
                        if memory.persona_id == persona_id
                            && key == self.key(persona_id, &memory.id) =>
                    {
                        Ok(Some(memory))
                    }
                    _ => {
                        tracing::warn!(key, "not a memory of this persona; left out of its index");
                        Ok(None)
                    }
                }
            })
            .buffer_unordered(LOAD_CONCURRENCY)
            .try_collect()
            .await?;
        let index = loaded
            .into_iter()
            .flatten()
            .map(|memory| {
                let words = memory_words(&memory.text, &memory.tags);
                (memory.id.clone(), (memory, words))
            })
            .collect();
        Ok(RwLock::new(index))
    }

    /// Runs `work` on a loaded index.
    fn read<T>(persona: &Persona, work: impl FnOnce(&Index) -> T) -> Result<T, StoreError> {
        let index = persona
            .index
            .get()
            .ok_or_else(|| StoreError::Backend("memory index not loaded".into()))?;
        let index = index
            .read()
            .map_err(|_| StoreError::Backend("memory index lock poisoned".into()))?;
        Ok(work(&index))
    }

    fn write<T>(persona: &Persona, work: impl FnOnce(&mut Index) -> T) -> Result<T, StoreError> {
        let index = persona
            .index
            .get()
            .ok_or_else(|| StoreError::Backend("memory index not loaded".into()))?;
        let mut index = index
            .write()
            .map_err(|_| StoreError::Backend("memory index lock poisoned".into()))?;
        Ok(work(&mut index))
    }

    async fn remember_memory(&self, memory: NewMemory) -> Result<Memory, StoreError> {
        check_new(&memory)?;
        let (persona, wallet) = self.index(&memory.persona_id).await?;
        let memory = Memory {
            id: new_id(),
            persona_id: memory.persona_id,
            text: memory.text,
            tags: memory.tags,
            created_at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis() as u64),
        };
        let body = serde_json::to_vec(&memory)
            .map_err(|err| StoreError::Backend(format!("memory as JSON: {err}")))?;
        let key = self.key(&memory.persona_id, &memory.id);
        // Write-through: S3 first, the index once S3 has it.
        self.client(&wallet)?
            .put_object()
            .bucket(&self.storage().bucket)
            .key(&key)
            .content_type("application/json")
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| backend("PutObject", &key, &err))?;
        let words = memory_words(&memory.text, &memory.tags);
        Self::write(&persona, |index| {
            index.insert(memory.id.clone(), (memory.clone(), words));
        })?;
        Ok(memory)
    }

    async fn recall_memories(
        &self,
        persona_id: &str,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Recalled>, StoreError> {
        let (persona, _) = self.index(persona_id).await?;
        Self::read(&persona, |index| recall_among(index.values(), query, limit))
    }

    async fn recent_memories(
        &self,
        persona_id: &str,
        limit: usize,
    ) -> Result<Vec<Memory>, StoreError> {
        let (persona, _) = self.index(persona_id).await?;
        Self::read(&persona, |index| {
            index
                .values()
                .rev()
                .take(limit)
                .map(|(memory, _)| memory.clone())
                .collect()
        })
    }

    async fn forget_memory(&self, persona_id: &str, id: &str) -> Result<bool, StoreError> {
        let (persona, wallet) = self.index(persona_id).await?;
        // Only an id in this persona's own index is ever sent: another
        // persona's id, or any other string, is simply not found.
        if !Self::read(&persona, |index| index.contains_key(id))? {
            return Ok(false);
        }
        let key = self.key(persona_id, id);
        self.client(&wallet)?
            .delete_object()
            .bucket(&self.storage().bucket)
            .key(&key)
            .send()
            .await
            .map_err(|err| backend("DeleteObject", &key, &err))?;
        Self::write(&persona, |index| index.remove(id).is_some())
    }

    async fn count_memories(&self, persona_id: &str) -> Result<u64, StoreError> {
        let (persona, _) = self.index(persona_id).await?;
        Self::read(&persona, |index| index.len() as u64)
    }
}

impl MemoryStore for S3MemoryStore {
    fn remember(&self, memory: NewMemory) -> BoxFuture<'_, Result<Memory, StoreError>> {
        Box::pin(self.remember_memory(memory))
    }

    fn recall(
        &self,
        persona_id: &str,
        query: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Recalled>, StoreError>> {
        let (persona_id, query) = (persona_id.to_owned(), query.to_owned());
        Box::pin(async move { self.recall_memories(&persona_id, &query, limit).await })
    }

    fn recent(
        &self,
        persona_id: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Memory>, StoreError>> {
        let persona_id = persona_id.to_owned();
        Box::pin(async move { self.recent_memories(&persona_id, limit).await })
    }

    fn forget(&self, persona_id: &str, id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (persona_id, id) = (persona_id.to_owned(), id.to_owned());
        Box::pin(async move { self.forget_memory(&persona_id, &id).await })
    }

    fn count(&self, persona_id: &str) -> BoxFuture<'_, Result<u64, StoreError>> {
        let persona_id = persona_id.to_owned();
        Box::pin(async move { self.count_memories(&persona_id).await })
    }
}

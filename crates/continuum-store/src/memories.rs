//! A persona's memories: the repo behind `memory/*` and the recall step of
//! the answer pipeline. Every operation is scoped to one persona: nothing
//! here can read or forget another persona's memory.

use crate::sqlite::SharedConnection;
use crate::{BoxFuture, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

/// Longest memory text accepted, in bytes.
pub const MAX_MEMORY_BYTES: usize = 8 * 1024;
/// Most tags on one memory.
pub const MAX_TAGS: usize = 16;

/// One stored memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    /// Id, unique across all personas, time-ordered.
    pub id: String,
    /// The persona it belongs to.
    pub persona_id: String,
    /// What is remembered.
    pub text: String,
    /// Free-form labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// When it was remembered, Unix ms.
    pub created_at_ms: u64,
}

/// A memory to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMemory {
    /// Its owner.
    pub persona_id: String,
    /// What to remember (1..=[`MAX_MEMORY_BYTES`] bytes, not blank).
    pub text: String,
    /// Labels (at most [`MAX_TAGS`], each 1-64 chars).
    pub tags: Vec<String>,
}

/// A memory with its recall score (higher is better).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recalled {
    /// The memory.
    #[serde(flatten)]
    pub memory: Memory,
    /// Relevance blended with recency; only comparable within one recall.
    pub score: f64,
}

/// Per-persona memories with ranked recall.
///
/// Recall ranks memories sharing words with the query by relevance (BM25 in
/// SQLite's FTS5), then breaks near-ties by recency; a query with no word in
/// any memory recalls nothing. Query text is words, never query syntax:
/// quotes, `*`, `AND`, `NEAR(` and the like are matched as plain words.
pub trait MemoryStore: Send + Sync {
    /// Stores a memory; `Invalid` on blank or oversized text or bad tags.
    fn remember(&self, memory: NewMemory) -> BoxFuture<'_, Result<Memory, StoreError>>;
    /// At most `limit` of `persona_id`'s memories relevant to `query`, best first.
    fn recall(
        &self,
        persona_id: &str,
        query: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Recalled>, StoreError>>;
    /// `persona_id`'s most recent memories, newest first.
    fn recent(
        &self,
        persona_id: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Memory>, StoreError>>;
    /// Forgets one of `persona_id`'s memories; false if it has none with that id.
    fn forget(&self, persona_id: &str, id: &str) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// How many memories `persona_id` has.
    fn count(&self, persona_id: &str) -> BoxFuture<'_, Result<u64, StoreError>>;
}

// ---------------------------------------------------------------------------
// Words and scores: one definition shared by both backends, so they match
// the same memories and rank them the same way.
// ---------------------------------------------------------------------------

/// Most distinct query words recall looks up.
const MAX_QUERY_WORDS: usize = 16;
/// Longer words are cut to this many characters (index and query alike),
/// which bounds the size of an index term.
const MAX_WORD_CHARS: usize = 64;
/// A memory as old as this gets half the recency boost of a new one.
const RECENCY_HALF_LIFE_MS: f64 = 30.0 * 24.0 * 3600.0 * 1000.0;
/// The most recency can add to relevance: a new memory scores at most 20%
/// above an equally relevant old one, so it wins ties and near-ties but never
/// beats a memory that is clearly more relevant.
const RECENCY_WEIGHT: f64 = 0.2;

/// The words of `text`: runs of letters and digits, lowercased, at least two
/// characters long, cut to [`MAX_WORD_CHARS`]. Everything else (quotes, `*`,
/// parentheses, operators) only separates words, which is what keeps query
/// text from ever being query syntax.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|run| run.chars().nth(1).is_some())
        .map(|run| {
            run.chars()
                .take(MAX_WORD_CHARS)
                .flat_map(char::to_lowercase)
                .collect()
        })
}

/// The distinct words of a recall query, first [`MAX_QUERY_WORDS`] only.
fn query_words(query: &str) -> Vec<String> {
    let mut distinct = Vec::new();
    for word in words(query) {
        if !distinct.contains(&word) {
            distinct.push(word);
            if distinct.len() == MAX_QUERY_WORDS {
                break;
            }
        }
    }
    distinct
}

/// Every distinct word a memory can be recalled by: its text's and its tags'.
/// Public so a backend in another crate (S3) indexes exactly these words.
pub fn memory_words(text: &str, tags: &[String]) -> BTreeSet<String> {
    words(text)
        .chain(tags.iter().flat_map(|tag| words(tag)))
        .collect()
}

/// How much matching one word says, given that `with_word` of the persona's
/// `memories` contain it: BM25's inverse document frequency, in the form that
/// stays positive when most memories share the word (so a persona with a
/// single memory still recalls it).
fn word_weight(memories: u64, with_word: u64) -> f64 {
    let (n, df) = (memories as f64, with_word as f64);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// The recall score: `relevance * (1 + RECENCY_WEIGHT * recency)`, where
/// relevance is the summed [`word_weight`] of the query words the memory
/// contains (BM25 with every term frequency 1, which is what short memories
/// have) and recency is `0.5 ^ (age / RECENCY_HALF_LIFE_MS)`, 1 for a memory
/// made now. Equally relevant memories come out newest first; an older memory
/// beats a newer one whenever its relevance is more than 1.2 times larger.
fn blended(relevance: f64, created_at_ms: u64, now_ms: u64) -> f64 {
    let age = now_ms.saturating_sub(created_at_ms) as f64;
    let recency = 0.5f64.powf(age / RECENCY_HALF_LIFE_MS);
    relevance * (1.0 + RECENCY_WEIGHT * recency)
}

/// The best `limit` of `candidates` (`(insertion order, relevance, memory)`),
/// best first; exact ties go to the later insertion.
fn ranked(candidates: Vec<(i64, f64, Memory)>, limit: usize) -> Vec<Recalled> {
    let now = crate::now_ms();
    let mut scored: Vec<(i64, Recalled)> = candidates
        .into_iter()
        .map(|(order, relevance, memory)| {
            let score = blended(relevance, memory.created_at_ms, now);
            (order, Recalled { memory, score })
        })
        .collect();
    scored.sort_by(|(a_order, a), (b_order, b)| {
        b.score.total_cmp(&a.score).then(b_order.cmp(a_order))
    });
    scored.truncate(limit);
    scored.into_iter().map(|(_, recalled)| recalled).collect()
}

/// `remember`'s rules, checked before anything is stored (by every backend,
/// in this crate or another).
pub fn check_new(memory: &NewMemory) -> Result<(), StoreError> {
    if memory.persona_id.is_empty() {
        return Err(StoreError::invalid("/persona", "must not be empty"));
    }
    if memory.text.trim().is_empty() {
        return Err(StoreError::invalid("/text", "must not be blank"));
    }
    if memory.text.len() > MAX_MEMORY_BYTES {
        return Err(StoreError::invalid(
            "/text",
            format!(
                "is {} bytes; the limit is {MAX_MEMORY_BYTES}",
                memory.text.len()
            ),
        ));
    }
    if memory.tags.len() > MAX_TAGS {
        return Err(StoreError::invalid(
            "/tags",
            format!("{} tags; at most {MAX_TAGS} are allowed", memory.tags.len()),
        ));
    }
    if let Some(tag) = memory
        .tags
        .iter()
        .find(|tag| tag.trim().is_empty() || tag.chars().count() > 64)
    {
        return Err(StoreError::invalid(
            "/tags",
            format!("tag '{tag}' must be 1-64 characters and not blank"),
        ));
    }
    Ok(())
}

fn stamped(memory: NewMemory) -> Memory {
    Memory {
        id: crate::new_id(),
        persona_id: memory.persona_id,
        text: memory.text,
        tags: memory.tags,
        created_at_ms: crate::now_ms(),
    }
}

/// Recall by scanning: at most `limit` of one persona's `memories` (each with
/// its [`memory_words`], in insertion order) relevant to `query`, best first,
/// with the same words and scores as [`SqliteMemories`]. The whole of
/// [`InMemoryMemories`]'s recall, public so a backend that keeps a persona's
/// memories in process (S3) ranks exactly alike.
pub fn recall_among<'a>(
    memories: impl IntoIterator<Item = &'a (Memory, BTreeSet<String>)>,
    query: &str,
    limit: usize,
) -> Vec<Recalled> {
    let query = query_words(query);
    let mine: Vec<(i64, &Memory, &BTreeSet<String>)> = memories
        .into_iter()
        .enumerate()
        .map(|(order, (memory, words))| (order as i64, memory, words))
        .collect();
    let weights: Vec<(&String, f64)> = query
        .iter()
        .map(|word| {
            let with_word = mine.iter().filter(|(_, _, words)| words.contains(word));
            (
                word,
                word_weight(mine.len() as u64, with_word.count() as u64),
            )
        })
        .collect();
    let candidates = mine
        .iter()
        .filter_map(|&(order, memory, words)| {
            let relevance: f64 = weights
                .iter()
                .filter(|(word, _)| words.contains(*word))
                .map(|(_, weight)| weight)
                .sum();
            (relevance > 0.0).then(|| (order, relevance, memory.clone()))
        })
        .collect();
    ranked(candidates, limit)
}

// ---------------------------------------------------------------------------
// In memory
// ---------------------------------------------------------------------------

/// In-memory memories, for tests: recall scans the persona's memories with
/// the same words and scores as [`SqliteMemories`].
#[derive(Default)]
pub struct InMemoryMemories {
    /// Every memory with its words, in insertion order.
    memories: Mutex<Vec<(Memory, BTreeSet<String>)>>,
}

impl InMemoryMemories {
    /// An empty store.
    pub fn new() -> Self {
        InMemoryMemories::default()
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&mut Vec<(Memory, BTreeSet<String>)>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut memories = self
            .memories
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))?;
        work(&mut memories)
    }
}

impl MemoryStore for InMemoryMemories {
    fn remember(&self, memory: NewMemory) -> BoxFuture<'_, Result<Memory, StoreError>> {
        let result = check_new(&memory).and_then(|()| {
            self.with(|all| {
                let memory = stamped(memory);
                let words = memory_words(&memory.text, &memory.tags);
                all.push((memory.clone(), words));
                Ok(memory)
            })
        });
        Box::pin(async move { result })
    }

    fn recall(
        &self,
        persona_id: &str,
        query: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Recalled>, StoreError>> {
        let result = self.with(|all| {
            let mine = all
                .iter()
                .filter(|(memory, _)| memory.persona_id == persona_id);
            Ok(recall_among(mine, query, limit))
        });
        Box::pin(async move { result })
    }

    fn recent(
        &self,
        persona_id: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Memory>, StoreError>> {
        let result = self.with(|all| {
            Ok(all
                .iter()
                .rev()
                .filter(|(memory, _)| memory.persona_id == persona_id)
                .take(limit)
                .map(|(memory, _)| memory.clone())
                .collect())
        });
        Box::pin(async move { result })
    }

    fn forget(&self, persona_id: &str, id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let result = self.with(|all| {
            let before = all.len();
            all.retain(|(memory, _)| !(memory.persona_id == persona_id && memory.id == id));
            Ok(all.len() != before)
        });
        Box::pin(async move { result })
    }

    fn count(&self, persona_id: &str) -> BoxFuture<'_, Result<u64, StoreError>> {
        let result = self.with(|all| {
            let mine = all
                .iter()
                .filter(|(memory, _)| memory.persona_id == persona_id);
            Ok(mine.count() as u64)
        });
        Box::pin(async move { result })
    }
}

// ---------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------

/// Recall reads at most this many memories per query word, the newest. A
/// word found in more memories is common enough that its weight is low; its
/// older memories still count through the query's other words. This bounds a
/// recall at `16 * 256` index entries however many memories share a word.
/// A word that common weighs little (its idf is low), so its newest entries
/// are all recall needs from it.
const MAX_POSTINGS_PER_WORD: usize = 256;

/// Writes between two merges of the whole word index into one segment.
const OPTIMIZE_EVERY: i64 = 4096;

const MIGRATIONS: &[&str] = &["
-- One row per persona that ever remembered something: `key` namespaces its
-- index terms, `memories` is its count (recall's N, and `count`).
CREATE TABLE memory_owners (
    key INTEGER PRIMARY KEY,
    persona_id TEXT NOT NULL UNIQUE,
    memories INTEGER NOT NULL
);
CREATE TABLE memories (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    persona_id TEXT NOT NULL,
    text TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
-- (persona_id, rowid): `recent`, and a persona's oldest and newest rowid.
CREATE INDEX memories_by_persona ON memories (persona_id);
-- The word index. Each memory's row lists its distinct words (see `words`),
-- each prefixed with its owner's key (`12xcolour`), so one persona's word is
-- a different term from another's: a lookup reads only that persona's
-- entries and can never return another persona's memory. The words are
-- split in Rust, so the `ascii` tokenizer only has to cut at the spaces;
-- recall needs only which rows hold a term (`detail=none`), and the text
-- lives in `memories` (contentless, with deletes).
CREATE VIRTUAL TABLE memory_terms USING fts5(
    terms, content='', contentless_delete=1, detail=none, tokenize='ascii'
);
"];

/// Memories in SQLite (WAL), recalled through an FTS5 word index.
///
/// Recall looks up each query word in the persona's part of the index
/// (newest [`MAX_POSTINGS_PER_WORD`] entries), weighs it by how rare it is
/// among the persona's memories, keeps the best `max(4 * limit, 32)`
/// memories by summed weight, then loads those and blends in recency (see
/// [`blended`]). Its cost follows the number of index entries for the query
/// words, not the number of memories.
pub struct SqliteMemories {
    conn: SharedConnection,
}

impl SqliteMemories {
    /// Opens (creating and migrating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = SharedConnection::open_migrated(path, MIGRATIONS)?;
        {
            let conn = conn.lock()?;
            // 16 MiB of page cache (default 2 MiB): the index and the rows
            // recall loads stay in memory.
            conn.pragma_update(None, "cache_size", -16 * 1024)?;
        }
        Ok(SqliteMemories { conn })
    }
}

/// The index term for one persona's word: the owner key, `x`, the word. A key
/// is digits, so the first `x` ends it and no two (key, word) pairs share a
/// term. Words are letters and digits, so the term never needs escaping
/// inside an FTS5 string.
fn term(key: i64, word: &str) -> String {
    format!("{key}x{word}")
}

const MEMORY_COLUMNS: &str = "rowid, id, persona_id, text, tags, created_at_ms";

fn read_memory(row: &Row<'_>) -> rusqlite::Result<(i64, Memory)> {
    let tags: String = row.get(4)?;
    let tags = serde_json::from_str(&tags).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, err.into())
    })?;
    Ok((
        row.get(0)?,
        Memory {
            id: row.get(1)?,
            persona_id: row.get(2)?,
            text: row.get(3)?,
            tags,
            created_at_ms: row.get::<_, i64>(5)? as u64,
        },
    ))
}

/// The owner key and memory count of `persona_id`, if it has an index part.
fn owner(conn: &Connection, persona_id: &str) -> Result<Option<(i64, u64)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT key, memories FROM memory_owners WHERE persona_id = ?1")?;
    let found = stmt.query_row([persona_id], |row| {
        Ok((row.get(0)?, row.get::<_, i64>(1)? as u64))
    });
    Ok(found.optional()?)
}

/// How many of the persona's memories contain a word whose newest
/// [`MAX_POSTINGS_PER_WORD`] entries reach back to rowid `oldest_read`:
/// estimated from how much of the persona's rowid span those entries cover
/// (memories are spread evenly enough over time for a weight).
fn estimated_postings(
    conn: &Connection,
    persona_id: &str,
    oldest_read: i64,
    memories: u64,
) -> Result<u64, StoreError> {
    let bound = |sql: &str| -> Result<i64, StoreError> {
        let mut stmt = conn.prepare_cached(sql)?;
        Ok(stmt
            .query_row([persona_id], |row| row.get::<_, Option<i64>>(0))?
            .unwrap_or(0))
    };
    let first = bound("SELECT min(rowid) FROM memories WHERE persona_id = ?1")?;
    let last = bound("SELECT max(rowid) FROM memories WHERE persona_id = ?1")?;
    let covered = (last - oldest_read + 1).max(1) as f64;
    let span = (last - first + 1).max(1) as f64;
    let estimate = (MAX_POSTINGS_PER_WORD as f64 * span / covered) as u64;
    Ok(estimate.clamp(
        MAX_POSTINGS_PER_WORD as u64,
        memories.max(MAX_POSTINGS_PER_WORD as u64),
    ))
}

/// Recall on one connection (see [`SqliteMemories`]).
fn recall_on(
    conn: &Connection,
    persona_id: &str,
    query: &[String],
    limit: usize,
) -> Result<Vec<Recalled>, StoreError> {
    let Some((key, memories)) = owner(conn, persona_id)? else {
        return Ok(Vec::new());
    };
    if query.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    // The cap is part of the SQL text: SQLite hands a LIMIT to the virtual
    // table, and a bound LIMIT would make every new binding re-prepare the
    // statement.
    let mut lookup = conn.prepare_cached(&format!(
        "SELECT rowid FROM memory_terms WHERE memory_terms MATCH ?1
         ORDER BY rowid DESC LIMIT {MAX_POSTINGS_PER_WORD}"
    ))?;
    // Every (rowid, query word) hit; a word's weight is known once all its
    // hits are read.
    let mut hits: Vec<(i64, usize)> = Vec::with_capacity(4096);
    let mut weights = Vec::with_capacity(query.len());
    for (index, word) in query.iter().enumerate() {
        // The term is quoted: a string is never parsed as query syntax.
        let phrase = format!("\"{}\"", term(key, word));
        let before = hits.len();
        let mut rows = lookup.query([phrase])?;
        while let Some(row) = rows.next()? {
            hits.push((row.get(0)?, index));
        }
        let read = hits.len() - before;
        let with_word = match hits.last() {
            Some(&(oldest_read, _)) if read == MAX_POSTINGS_PER_WORD => {
                estimated_postings(conn, persona_id, oldest_read, memories)?
            }
            _ => read as u64,
        };
        weights.push(word_weight(memories, with_word));
    }
    // Sum each memory's word weights (hits sorted by rowid, summed per run).
    // Each word's hits are already in order: a stable sort merges those runs.
    hits.sort_by_key(|&(rowid, _)| rowid);
    let mut best: Vec<(i64, f64)> = Vec::with_capacity(hits.len());
    for run in hits.chunk_by(|a, b| a.0 == b.0) {
        best.push((run[0].0, run.iter().map(|&(_, word)| weights[word]).sum()));
    }
    // Only the best few are loaded; recency reorders them afterwards.
    let keep = limit.saturating_mul(4).max(32).min(best.len());
    let by_relevance = |a: &(i64, f64), b: &(i64, f64)| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0));
    if keep < best.len() {
        best.select_nth_unstable_by(keep, by_relevance);
        best.truncate(keep);
    }
    let mut load = conn.prepare_cached(&format!(
        "SELECT {MEMORY_COLUMNS} FROM memories WHERE rowid = ?1 AND persona_id = ?2"
    ))?;
    let mut candidates = Vec::with_capacity(best.len());
    for (rowid, relevance) in best {
        if let Some((_, memory)) = load
            .query_row(params![rowid, persona_id], read_memory)
            .optional()?
        {
            candidates.push((rowid, relevance, memory));
        }
    }
    Ok(ranked(candidates, limit))
}

impl MemoryStore for SqliteMemories {
    fn remember(&self, memory: NewMemory) -> BoxFuture<'_, Result<Memory, StoreError>> {
        if let Err(err) = check_new(&memory) {
            return Box::pin(async move { Err(err) });
        }
        self.conn.boxed(move |conn| {
            let memory = stamped(memory);
            let tags = serde_json::to_string(&memory.tags)
                .map_err(|err| StoreError::Backend(format!("tags: {err}")))?;
            // Row, index entry and count change together or not at all.
            let tx = conn.transaction()?;
            let key: i64 = tx
                .prepare_cached(
                    "INSERT INTO memory_owners (persona_id, memories) VALUES (?1, 1)
                     ON CONFLICT (persona_id) DO UPDATE SET memories = memories + 1
                     RETURNING key",
                )?
                .query_row([&memory.persona_id], |row| row.get(0))?;
            tx.prepare_cached(
                "INSERT INTO memories (id, persona_id, text, tags, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                memory.id,
                memory.persona_id,
                memory.text,
                tags,
                memory.created_at_ms as i64
            ])?;
            let rowid = tx.last_insert_rowid();
            let terms: Vec<String> = memory_words(&memory.text, &memory.tags)
                .iter()
                .map(|word| term(key, word))
                .collect();
            tx.prepare_cached("INSERT INTO memory_terms (rowid, terms) VALUES (?1, ?2)")?
                .execute(params![rowid, terms.join(" ")])?;
            tx.commit()?;
            if rowid % OPTIMIZE_EVERY == 0 {
                // Each write adds an index segment; automerge keeps their
                // number logarithmic, but a lookup still visits each one.
                // Merging them all now and then keeps recall at one segment
                // per word (measured: 0.60 -> 0.41 ms p50 at 100,000).
                conn.execute(
                    "INSERT INTO memory_terms (memory_terms) VALUES ('optimize')",
                    [],
                )?;
            }
            Ok(memory)
        })
    }

    fn recall(
        &self,
        persona_id: &str,
        query: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Recalled>, StoreError>> {
        let (persona_id, query) = (persona_id.to_owned(), query_words(query));
        self.conn.boxed(move |conn| {
            // One read transaction: one snapshot (counts and index agree) and
            // one lock, instead of one per statement.
            let tx = conn.transaction()?;
            let recalled = recall_on(&tx, &persona_id, &query, limit)?;
            tx.commit()?;
            Ok(recalled)
        })
    }

    fn recent(
        &self,
        persona_id: &str,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Memory>, StoreError>> {
        let persona_id = persona_id.to_owned();
        let limit = limit.min(i64::MAX as usize) as i64;
        self.conn.boxed(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MEMORY_COLUMNS} FROM memories WHERE persona_id = ?1
                 ORDER BY rowid DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![persona_id, limit], read_memory)?;
            rows.map(|row| Ok(row?.1)).collect()
        })
    }

    fn forget(&self, persona_id: &str, id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (persona_id, id) = (persona_id.to_owned(), id.to_owned());
        self.conn.boxed(move |conn| {
            let tx = conn.transaction()?;
            // The persona is part of the key: another persona's id is "not found".
            let rowid: Option<i64> = tx
                .query_row(
                    "DELETE FROM memories WHERE id = ?1 AND persona_id = ?2 RETURNING rowid",
                    [&id, &persona_id],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(rowid) = rowid else {
                return Ok(false);
            };
            tx.execute("DELETE FROM memory_terms WHERE rowid = ?1", [rowid])?;
            tx.execute(
                "UPDATE memory_owners SET memories = memories - 1 WHERE persona_id = ?1",
                [&persona_id],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn count(&self, persona_id: &str) -> BoxFuture<'_, Result<u64, StoreError>> {
        let persona_id = persona_id.to_owned();
        self.conn
            .boxed(move |conn| Ok(owner(conn, &persona_id)?.map_or(0, |(_, n)| n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_letter_and_digit_runs_of_two_or_more() {
        let found: Vec<String> = words("Hello, WORLD! a NEAR(x) \"café\" 42 x_y ÉTÉ").collect();
        assert_eq!(found, ["hello", "world", "near", "café", "42", "été"]);
        let long = "A".repeat(100);
        assert_eq!(words(&long).next().unwrap(), "a".repeat(MAX_WORD_CHARS));
    }

    #[test]
    fn query_words_are_distinct_and_capped() {
        assert_eq!(query_words("Blue blue BLUE sky"), ["blue", "sky"]);
        let many: String = (0..40).map(|n| format!("w{n} ")).collect();
        assert_eq!(query_words(&many).len(), MAX_QUERY_WORDS);
        assert!(query_words("\" * ( ) a b - ^").is_empty());
    }

    #[test]
    fn recency_breaks_ties_but_never_outweighs_clear_relevance() {
        let now = 1_800_000_000_000;
        let day = 24 * 3600 * 1000;
        assert!(blended(1.0, now - 1, now) > blended(1.0, now - 2, now));
        assert!(blended(1.0, now - 100 * day, now) > 0.99);
        assert!(blended(1.21, now - 1000 * day, now) > blended(1.0, now, now));
        assert!(word_weight(1, 1) > 0.0, "a single memory still weighs");
        assert!(
            word_weight(100, 1) > word_weight(100, 50),
            "rarer weighs more"
        );
    }

    fn new(persona_id: &str, text: &str) -> NewMemory {
        NewMemory {
            persona_id: persona_id.into(),
            text: text.into(),
            tags: Vec::new(),
        }
    }

    /// The backends share words and weights: on the same memories they
    /// recall the same ones with the same relevance (the scores differ only
    /// by the moments at which each backend stamped and scored them).
    #[tokio::test]
    async fn both_backends_rank_alike() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteMemories::open(&dir.path().join("m.sqlite")).unwrap();
        let memory = InMemoryMemories::new();
        let texts = [
            "The owner's sister Ana lives in Porto",
            "Ana prefers tea over coffee",
            "Porto is rainy in winter",
            "The owner drinks coffee every morning",
            "Winter tyres go on in November",
        ];
        for store in [&sqlite as &dyn MemoryStore, &memory] {
            store
                .remember(new("p", "someone else's Ana"))
                .await
                .unwrap();
            for text in texts {
                store.remember(new("p-main", text)).await.unwrap();
            }
        }
        for query in ["Where does Ana live?", "coffee in winter", "the owner"] {
            let a = sqlite.recall("p-main", query, 10).await.unwrap();
            let b = memory.recall("p-main", query, 10).await.unwrap();
            let texts = |found: &[Recalled]| -> Vec<String> {
                found.iter().map(|r| r.memory.text.clone()).collect()
            };
            assert_eq!(texts(&a), texts(&b), "{query}");
            for (a, b) in a.iter().zip(&b) {
                assert!(
                    (a.score - b.score).abs() < 1e-6 * a.score,
                    "{query}: {a:?} {b:?}"
                );
            }
        }
    }

    /// A word held by more memories than recall reads still recalls the
    /// newest of them, weighs about what its true count says, and does not
    /// drown a rare word.
    #[tokio::test]
    async fn a_very_common_word_is_read_newest_first_and_weighed_by_estimate() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteMemories::open(&dir.path().join("m.sqlite")).unwrap();
        let total = MAX_POSTINGS_PER_WORD * 3;
        let rare = store.remember(new("p", "common and rare")).await.unwrap();
        for n in 1..total {
            store
                .remember(new("p", &format!("common {n}")))
                .await
                .unwrap();
            if n % 7 == 0 {
                store.remember(new("other", "common")).await.unwrap();
            }
        }
        let newest = store.recent("p", 1).await.unwrap().remove(0);

        let found = store.recall("p", "common", 1).await.unwrap();
        assert_eq!(
            found[0].memory, newest,
            "the newest holder of a common word"
        );
        let found = store.recall("p", "common rare", 1).await.unwrap();
        assert_eq!(
            found[0].memory, rare,
            "the rare word decides, though its memory is oldest"
        );

        let conn = store.conn.lock().unwrap();
        // "p" remembered first: its owner key is 1.
        let sql = format!(
            "SELECT min(rowid) FROM (SELECT rowid FROM memory_terms WHERE memory_terms MATCH ?1
             ORDER BY rowid DESC LIMIT {MAX_POSTINGS_PER_WORD})"
        );
        let phrase = format!("\"{}\"", term(1, "common"));
        let oldest_read: i64 = conn.query_row(&sql, [phrase], |row| row.get(0)).unwrap();
        let estimate = estimated_postings(&conn, "p", oldest_read, total as u64).unwrap();
        let error = (estimate as f64 - total as f64).abs() / total as f64;
        assert!(error < 0.05, "estimated {estimate} of {total}");
    }
}

//! Rooms, their members and their messages: the repo behind `room/*` and
//! `chat/*`, and the answer log that keeps each persona answer's reasoning
//! out of the room.

use crate::sqlite::SharedConnection;
use crate::{BoxFuture, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;

/// Longest message text accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// Default persona-to-persona hop budget of a new room.
pub const DEFAULT_HOP_BUDGET: u32 = 3;

/// A room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    /// Id, time-ordered, never reused.
    pub id: String,
    /// Unique name (1-64 chars of `[A-Za-z0-9_.-]`).
    pub name: String,
    /// Most persona messages in a chain started by one non-persona message.
    pub hop_budget: u32,
    /// Persona ids of its members, in join order.
    pub members: Vec<String>,
    /// When it was created, Unix ms.
    pub created_at_ms: u64,
}

/// What kind of party wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    /// The machine's owner.
    Owner,
    /// A persona of this node.
    Persona,
    /// A grid peer.
    Peer,
    /// Another client (e.g. TCP).
    Client,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Author {
    /// Kind of party.
    pub kind: AuthorKind,
    /// Stable id (persona id, peer id, `owner`, a client address).
    pub id: String,
    /// Display name.
    pub name: String,
}

/// Token counts of a persona answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Generated tokens.
    pub completion_tokens: u32,
}

/// A message to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// Room id.
    pub room_id: String,
    /// Its author.
    pub author: Author,
    /// Its text (1..=[`MAX_MESSAGE_BYTES`] bytes, not blank).
    pub text: String,
    /// 0 for a non-persona message; for a persona's answer, one more than
    /// the message it answers.
    pub hop: u32,
    /// The message this one answers.
    pub reply_to: Option<u64>,
    /// For persona messages: the model, its usage and the answer record
    /// that keeps its reasoning.
    pub persona: Option<PersonaMeta>,
}

/// What a persona message carries beyond its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonaMeta {
    /// The model that answered.
    pub model: String,
    /// Its token counts.
    pub usage: TokenUsage,
    /// The answer record (`chat/answer --id`, owner-only) holding the
    /// reasoning. Shown to the owner only (empty, and omitted, for others).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub answer_id: String,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    /// Id: increasing across all rooms (the `after` cursor).
    pub id: u64,
    /// Room id.
    pub room_id: String,
    /// Its author.
    pub author: Author,
    /// Its text.
    pub text: String,
    /// Persona hop count (0 for non-persona messages).
    pub hop: u32,
    /// The message it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// For persona messages: model, usage, answer record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<PersonaMeta>,
    /// When it was posted, Unix ms.
    pub at_ms: u64,
}

/// How one persona answer attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerOutcome {
    /// An answer was posted.
    Posted,
    /// The model's answer was empty once reasoning was removed; nothing posted.
    Empty,
    /// Inference failed; nothing posted.
    Failed,
}

/// One persona answer attempt, posted or not: the reasoning kept out of the room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnswerRecord {
    /// Id, time-ordered.
    pub id: String,
    /// The persona that answered.
    pub persona_id: String,
    /// The room.
    pub room_id: String,
    /// The message it answered.
    pub trigger_id: u64,
    /// How it ended.
    pub outcome: AnswerOutcome,
    /// The posted message, when one was posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u64>,
    /// The model's reasoning, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The model that answered (empty when inference failed first).
    pub model: String,
    /// Token counts over all steps.
    pub usage: TokenUsage,
    /// Tool calls made, in order (`name`, and whether each was allowed).
    #[serde(default)]
    pub tool_calls: Vec<ToolCallRecord>,
    /// Why nothing was posted, for `empty` and `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When the attempt ended, Unix ms.
    pub at_ms: u64,
    /// Time spent waiting on the model, in µs.
    #[serde(default)]
    pub inference_us: u64,
    /// The daemon's own time for the answer (context, recall, tool list,
    /// tool calls, writes: everything but the model), in µs.
    #[serde(default)]
    pub pipeline_us: u64,
}

/// One tool call of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallRecord {
    /// The command called.
    pub command: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// The error code when it failed (`forbidden`, `invalid_params`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Rooms, members, messages and answer records.
pub trait ChatStore: Send + Sync {
    /// Creates a room; `Conflict` if the name is taken, `Invalid` on a bad name.
    fn create_room(&self, name: &str, hop_budget: u32) -> BoxFuture<'_, Result<Room, StoreError>>;
    /// Every room, by name.
    fn rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, StoreError>>;
    /// The room with this name or id.
    fn room(&self, name_or_id: &str) -> BoxFuture<'_, Result<Option<Room>, StoreError>>;
    /// Adds a persona to a room; false if it already was a member.
    fn join(&self, room_id: &str, persona_id: &str) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Removes a persona from a room; false if it was not a member.
    fn leave(&self, room_id: &str, persona_id: &str) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Appends a message, stamping its id and time. `NotFound` for an unknown
    /// room, `Invalid` (field `/text`) for blank or oversized text.
    fn append(&self, message: NewMessage) -> BoxFuture<'_, Result<ChatMessage, StoreError>>;
    /// Messages of a room in id order: with `after`, the first `limit` with a
    /// larger id; without, the last `limit`.
    fn history(
        &self,
        room_id: &str,
        after: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ChatMessage>, StoreError>>;
    /// Stores an answer record.
    fn record_answer(&self, record: AnswerRecord) -> BoxFuture<'_, Result<(), StoreError>>;
    /// One answer record.
    fn answer(&self, id: &str) -> BoxFuture<'_, Result<Option<AnswerRecord>, StoreError>>;
    /// The newest `limit` answer records of a room, newest first, optionally
    /// only one persona's.
    fn answers(
        &self,
        room_id: &str,
        persona_id: Option<&str>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AnswerRecord>, StoreError>>;
}

/// Room names: 1-64 chars of `[A-Za-z0-9_.-]`.
fn check_room_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    ok.then_some(()).ok_or_else(|| {
        StoreError::invalid(
            "/name",
            "must be 1-64 characters of letters, digits, '_', '-' or '.'",
        )
    })
}

/// Message text: not blank, at most [`MAX_MESSAGE_BYTES`].
fn check_text(text: &str) -> Result<(), StoreError> {
    if text.trim().is_empty() {
        return Err(StoreError::invalid("/text", "must not be blank"));
    }
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(StoreError::invalid(
            "/text",
            format!("is {} bytes; the limit is {MAX_MESSAGE_BYTES}", text.len()),
        ));
    }
    Ok(())
}

fn room_not_found(room_id: &str) -> StoreError {
    StoreError::NotFound(format!("room {room_id}"))
}

fn name_conflict(name: &str) -> StoreError {
    StoreError::Conflict(format!("room '{name}'"))
}

fn message_of(message: NewMessage, id: u64, at_ms: u64) -> ChatMessage {
    ChatMessage {
        id,
        room_id: message.room_id,
        author: message.author,
        text: message.text,
        hop: message.hop,
        reply_to: message.reply_to,
        persona: message.persona,
        at_ms,
    }
}

/// What the in-memory chat holds.
#[derive(Default)]
struct ChatState {
    rooms: Vec<Room>,
    messages: Vec<ChatMessage>,
    answers: Vec<AnswerRecord>,
}

/// In-memory rooms and messages, for tests.
#[derive(Default)]
pub struct InMemoryChat {
    state: Mutex<ChatState>,
}

impl InMemoryChat {
    /// An empty store.
    pub fn new() -> Self {
        InMemoryChat::default()
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&mut ChatState) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::Backend("chat store lock poisoned".into()))?;
        work(&mut state)
    }

    fn with_room<T>(
        &self,
        room_id: &str,
        work: impl FnOnce(&mut Room) -> T,
    ) -> Result<T, StoreError> {
        self.with(|state| {
            let room = state.rooms.iter_mut().find(|r| r.id == room_id);
            room.map(work).ok_or_else(|| room_not_found(room_id))
        })
    }
}

impl ChatStore for InMemoryChat {
    fn create_room(&self, name: &str, hop_budget: u32) -> BoxFuture<'_, Result<Room, StoreError>> {
        let result = check_room_name(name).and_then(|()| {
            self.with(|state| {
                if state.rooms.iter().any(|r| r.name == name) {
                    return Err(name_conflict(name));
                }
                let room = Room {
                    id: crate::new_id(),
                    name: name.to_owned(),
                    hop_budget,
                    members: Vec::new(),
                    created_at_ms: crate::now_ms(),
                };
                state.rooms.push(room.clone());
                Ok(room)
            })
        });
        Box::pin(async move { result })
    }

    fn rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, StoreError>> {
        let result = self.with(|state| {
            let mut rooms = state.rooms.clone();
            rooms.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(rooms)
        });
        Box::pin(async move { result })
    }

    fn room(&self, name_or_id: &str) -> BoxFuture<'_, Result<Option<Room>, StoreError>> {
        let result = self.with(|state| {
            let by_id = state.rooms.iter().find(|r| r.id == name_or_id);
            let found = by_id.or_else(|| state.rooms.iter().find(|r| r.name == name_or_id));
            Ok(found.cloned())
        });
        Box::pin(async move { result })
    }

    fn join(&self, room_id: &str, persona_id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let result = self.with_room(room_id, |room| {
            let new = !room.members.iter().any(|m| m == persona_id);
            if new {
                room.members.push(persona_id.to_owned());
            }
            new
        });
        Box::pin(async move { result })
    }

    fn leave(&self, room_id: &str, persona_id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let result = self.with_room(room_id, |room| {
            let before = room.members.len();
            room.members.retain(|m| m != persona_id);
            room.members.len() != before
        });
        Box::pin(async move { result })
    }

    fn append(&self, message: NewMessage) -> BoxFuture<'_, Result<ChatMessage, StoreError>> {
        let result = check_text(&message.text).and_then(|()| {
            self.with(|state| {
                if !state.rooms.iter().any(|r| r.id == message.room_id) {
                    return Err(room_not_found(&message.room_id));
                }
                let id = state.messages.last().map_or(1, |last| last.id + 1);
                let stored = message_of(message, id, crate::now_ms());
                state.messages.push(stored.clone());
                Ok(stored)
            })
        });
        Box::pin(async move { result })
    }

    fn history(
        &self,
        room_id: &str,
        after: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ChatMessage>, StoreError>> {
        let result = self.with(|state| {
            let in_room = state.messages.iter().filter(|m| m.room_id == room_id);
            let page: Vec<ChatMessage> = match after {
                Some(after) => in_room
                    .filter(|m| m.id > after)
                    .take(limit)
                    .cloned()
                    .collect(),
                None => {
                    let mut last: Vec<_> = in_room.rev().take(limit).cloned().collect();
                    last.reverse();
                    last
                }
            };
            Ok(page)
        });
        Box::pin(async move { result })
    }

    fn record_answer(&self, record: AnswerRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        let result = self.with(|state| {
            if state.answers.iter().any(|a| a.id == record.id) {
                return Err(StoreError::Conflict(format!("answer {}", record.id)));
            }
            state.answers.push(record);
            Ok(())
        });
        Box::pin(async move { result })
    }

    fn answer(&self, id: &str) -> BoxFuture<'_, Result<Option<AnswerRecord>, StoreError>> {
        let result = self.with(|state| Ok(state.answers.iter().find(|a| a.id == id).cloned()));
        Box::pin(async move { result })
    }

    fn answers(
        &self,
        room_id: &str,
        persona_id: Option<&str>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AnswerRecord>, StoreError>> {
        let result = self.with(|state| {
            Ok(state
                .answers
                .iter()
                .rev()
                .filter(|a| a.room_id == room_id && persona_id.is_none_or(|p| a.persona_id == p))
                .take(limit)
                .cloned()
                .collect())
        });
        Box::pin(async move { result })
    }
}

const MIGRATIONS: &[&str] = &["
CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    hop_budget INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
-- seq keeps join order; a persona that leaves and rejoins goes last.
CREATE TABLE room_members (
    seq INTEGER PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id),
    persona_id TEXT NOT NULL,
    UNIQUE (room_id, persona_id)
);
-- AUTOINCREMENT: ids are a cursor (`after`), so one is never handed out twice,
-- not even after the newest message is deleted.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL REFERENCES rooms (id),
    author_kind TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    text TEXT NOT NULL,
    hop INTEGER NOT NULL,
    reply_to INTEGER,
    model TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    answer_id TEXT,
    at_ms INTEGER NOT NULL
);
CREATE INDEX messages_by_room ON messages (room_id, id);
CREATE TABLE answers (
    id TEXT PRIMARY KEY,
    persona_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    trigger_id INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    message_id INTEGER,
    reasoning TEXT,
    model TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    tool_calls TEXT NOT NULL,
    detail TEXT,
    at_ms INTEGER NOT NULL,
    inference_us INTEGER NOT NULL DEFAULT 0,
    pipeline_us INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX answers_by_room ON answers (room_id, id);
"];

/// Rooms, messages and answer records in SQLite (WAL). Blocking work runs on
/// tokio's blocking pool.
pub struct SqliteChat {
    conn: SharedConnection,
}

impl SqliteChat {
    /// Opens (creating and migrating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqliteChat {
            conn: SharedConnection::open_migrated(path, MIGRATIONS)?,
        })
    }
}

/// The wire name of a snake_case enum (`AuthorKind`, `AnswerOutcome`): the
/// stored form is the serde form, so the two cannot drift.
fn wire_name<T: Serialize>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        other => Err(StoreError::Backend(format!(
            "expected a wire name, got {other:?}"
        ))),
    }
}

/// Column `index` holds a serde value (a wire name or JSON text).
fn column_json<T: DeserializeOwned>(
    row: &Row<'_>,
    index: usize,
    json: bool,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    let parsed = if json {
        serde_json::from_str(&text)
    } else {
        serde_json::from_value(serde_json::Value::String(text))
    };
    parsed.map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, err.into())
    })
}

fn room_exists(conn: &Connection, room_id: &str) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM rooms WHERE id = ?1")?;
    Ok(stmt.exists([room_id])?)
}

/// The rooms `sql` selects (`id, name, hop_budget, created_at_ms`, with
/// `params`), each with its members.
fn load_rooms(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Room>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rooms = stmt
        .query_map(params, |row| {
            Ok(Room {
                id: row.get(0)?,
                name: row.get(1)?,
                hop_budget: row.get(2)?,
                members: Vec::new(),
                created_at_ms: row.get::<_, i64>(3)? as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut members =
        conn.prepare_cached("SELECT persona_id FROM room_members WHERE room_id = ?1 ORDER BY seq")?;
    for room in &mut rooms {
        room.members = members
            .query_map([&room.id], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(rooms)
}

const MESSAGE_COLUMNS: &str = "id, room_id, author_kind, author_id, author_name, text, hop, \
    reply_to, model, prompt_tokens, completion_tokens, answer_id, at_ms";

fn read_message(row: &Row<'_>) -> rusqlite::Result<ChatMessage> {
    let model: Option<String> = row.get(8)?;
    let persona = match model {
        Some(model) => Some(PersonaMeta {
            model,
            usage: TokenUsage {
                prompt_tokens: row.get(9)?,
                completion_tokens: row.get(10)?,
            },
            answer_id: row.get(11)?,
        }),
        None => None,
    };
    Ok(ChatMessage {
        id: row.get::<_, i64>(0)? as u64,
        room_id: row.get(1)?,
        author: Author {
            kind: column_json(row, 2, false)?,
            id: row.get(3)?,
            name: row.get(4)?,
        },
        text: row.get(5)?,
        hop: row.get(6)?,
        reply_to: row.get::<_, Option<i64>>(7)?.map(|id| id as u64),
        persona,
        at_ms: row.get::<_, i64>(12)? as u64,
    })
}

/// `history`'s query (`?1` room, `?2` limit, `?3` after). Both directions
/// walk the (room_id, id) index from one end and stop after `limit` rows,
/// however long the room's history is: the first `limit` after `?3`, or the
/// last `limit` newest first (the caller reverses them).
fn history_sql(after: bool) -> String {
    if after {
        format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE room_id = ?1 AND id > ?3 ORDER BY id LIMIT ?2"
        )
    } else {
        format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = ?1 ORDER BY id DESC LIMIT ?2"
        )
    }
}

const ANSWER_COLUMNS: &str = "id, persona_id, room_id, trigger_id, outcome, message_id, \
    reasoning, model, prompt_tokens, completion_tokens, tool_calls, detail, at_ms, \
    inference_us, pipeline_us";

fn read_answer(row: &Row<'_>) -> rusqlite::Result<AnswerRecord> {
    Ok(AnswerRecord {
        id: row.get(0)?,
        persona_id: row.get(1)?,
        room_id: row.get(2)?,
        trigger_id: row.get::<_, i64>(3)? as u64,
        outcome: column_json(row, 4, false)?,
        message_id: row.get::<_, Option<i64>>(5)?.map(|id| id as u64),
        reasoning: row.get(6)?,
        model: row.get(7)?,
        usage: TokenUsage {
            prompt_tokens: row.get(8)?,
            completion_tokens: row.get(9)?,
        },
        tool_calls: column_json(row, 10, true)?,
        detail: row.get(11)?,
        at_ms: row.get::<_, i64>(12)? as u64,
        inference_us: row.get::<_, i64>(13)? as u64,
        pipeline_us: row.get::<_, i64>(14)? as u64,
    })
}

impl ChatStore for SqliteChat {
    fn create_room(&self, name: &str, hop_budget: u32) -> BoxFuture<'_, Result<Room, StoreError>> {
        let name = name.to_owned();
        if let Err(err) = check_room_name(&name) {
            return Box::pin(async move { Err(err) });
        }
        self.conn.boxed(move |conn| {
            let room = Room {
                id: crate::new_id(),
                name,
                hop_budget,
                members: Vec::new(),
                created_at_ms: crate::now_ms(),
            };
            let inserted = conn.execute(
                "INSERT INTO rooms (id, name, hop_budget, created_at_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO NOTHING",
                params![
                    room.id,
                    room.name,
                    room.hop_budget,
                    room.created_at_ms as i64
                ],
            )?;
            if inserted == 0 {
                return Err(name_conflict(&room.name));
            }
            Ok(room)
        })
    }

    fn rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, StoreError>> {
        self.conn.boxed(|conn| {
            load_rooms(
                conn,
                "SELECT id, name, hop_budget, created_at_ms FROM rooms ORDER BY name",
                [],
            )
        })
    }

    fn room(&self, name_or_id: &str) -> BoxFuture<'_, Result<Option<Room>, StoreError>> {
        let key = name_or_id.to_owned();
        self.conn.boxed(move |conn| {
            // A name may look like another room's id: the id wins.
            let rooms = load_rooms(
                conn,
                "SELECT id, name, hop_budget, created_at_ms FROM rooms
                 WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1",
                [key],
            )?;
            Ok(rooms.into_iter().next())
        })
    }

    fn join(&self, room_id: &str, persona_id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (room_id, persona_id) = (room_id.to_owned(), persona_id.to_owned());
        self.conn.boxed(move |conn| {
            if !room_exists(conn, &room_id)? {
                return Err(room_not_found(&room_id));
            }
            let added = conn.execute(
                "INSERT INTO room_members (room_id, persona_id) VALUES (?1, ?2)
                 ON CONFLICT (room_id, persona_id) DO NOTHING",
                [&room_id, &persona_id],
            )?;
            Ok(added > 0)
        })
    }

    fn leave(&self, room_id: &str, persona_id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (room_id, persona_id) = (room_id.to_owned(), persona_id.to_owned());
        self.conn.boxed(move |conn| {
            if !room_exists(conn, &room_id)? {
                return Err(room_not_found(&room_id));
            }
            let removed = conn.execute(
                "DELETE FROM room_members WHERE room_id = ?1 AND persona_id = ?2",
                [&room_id, &persona_id],
            )?;
            Ok(removed > 0)
        })
    }

    fn append(&self, message: NewMessage) -> BoxFuture<'_, Result<ChatMessage, StoreError>> {
        if let Err(err) = check_text(&message.text) {
            return Box::pin(async move { Err(err) });
        }
        self.conn.boxed(move |conn| {
            if !room_exists(conn, &message.room_id)? {
                return Err(room_not_found(&message.room_id));
            }
            let at_ms = crate::now_ms();
            let persona = message.persona.as_ref();
            let mut stmt = conn.prepare_cached(
                "INSERT INTO messages (room_id, author_kind, author_id, author_name, text, hop,
                     reply_to, model, prompt_tokens, completion_tokens, answer_id, at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            stmt.execute(params![
                message.room_id,
                wire_name(&message.author.kind)?,
                message.author.id,
                message.author.name,
                message.text,
                message.hop,
                message.reply_to.map(|id| id as i64),
                persona.map(|p| &p.model),
                persona.map(|p| p.usage.prompt_tokens),
                persona.map(|p| p.usage.completion_tokens),
                persona.map(|p| &p.answer_id),
                at_ms as i64,
            ])?;
            let id = conn.last_insert_rowid() as u64;
            Ok(message_of(message, id, at_ms))
        })
    }

    fn history(
        &self,
        room_id: &str,
        after: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ChatMessage>, StoreError>> {
        let room_id = room_id.to_owned();
        let limit = limit.min(i64::MAX as usize) as i64;
        self.conn.boxed(move |conn| {
            let mut stmt = conn.prepare_cached(&history_sql(after.is_some()))?;
            let page = match after {
                Some(after) => {
                    // Ids never reach i64::MAX: a larger cursor means "nothing yet".
                    let after = after.min(i64::MAX as u64) as i64;
                    stmt.query_map(params![room_id, limit, after], read_message)?
                }
                None => stmt.query_map(params![room_id, limit], read_message)?,
            };
            let mut page = page.collect::<rusqlite::Result<Vec<_>>>()?;
            if after.is_none() {
                page.reverse();
            }
            Ok(page)
        })
    }

    fn record_answer(&self, record: AnswerRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        self.conn.boxed(move |conn| {
            let tool_calls = serde_json::to_string(&record.tool_calls)
                .map_err(|err| StoreError::Backend(format!("tool calls: {err}")))?;
            let sql = format!(
                "INSERT INTO answers ({ANSWER_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (id) DO NOTHING"
            );
            let inserted = conn.execute(
                &sql,
                params![
                    record.id,
                    record.persona_id,
                    record.room_id,
                    record.trigger_id as i64,
                    wire_name(&record.outcome)?,
                    record.message_id.map(|id| id as i64),
                    record.reasoning,
                    record.model,
                    record.usage.prompt_tokens,
                    record.usage.completion_tokens,
                    tool_calls,
                    record.detail,
                    record.at_ms as i64,
                    record.inference_us as i64,
                    record.pipeline_us as i64,
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!("answer {}", record.id)));
            }
            Ok(())
        })
    }

    fn answer(&self, id: &str) -> BoxFuture<'_, Result<Option<AnswerRecord>, StoreError>> {
        let id = id.to_owned();
        self.conn.boxed(move |conn| {
            let sql = format!("SELECT {ANSWER_COLUMNS} FROM answers WHERE id = ?1");
            Ok(conn.query_row(&sql, [id], read_answer).optional()?)
        })
    }

    fn answers(
        &self,
        room_id: &str,
        persona_id: Option<&str>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AnswerRecord>, StoreError>> {
        let (room_id, persona_id) = (room_id.to_owned(), persona_id.map(str::to_owned));
        self.conn.boxed(move |conn| {
            // Ids are time-ordered: newest first is id order, descending.
            let sql = format!(
                "SELECT {ANSWER_COLUMNS} FROM answers
                 WHERE room_id = ?1 AND (?2 IS NULL OR persona_id = ?2)
                 ORDER BY id DESC LIMIT ?3"
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let rows =
                statement.query_map(params![room_id, persona_id, limit as i64], read_answer)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// History is read on every persona answer: both directions must use the
    /// room index and never sort the room's messages.
    #[test]
    fn history_walks_the_room_index_without_sorting() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteChat::open(&dir.path().join("c.sqlite")).unwrap();
        let conn = store.conn.lock().unwrap();
        for after in [false, true] {
            let mut explain = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {}", history_sql(after)))
                .unwrap();
            let detail = |row: &Row<'_>| row.get::<_, String>(3);
            let rows = match after {
                true => explain.query_map(params!["room", 10, 0], detail),
                false => explain.query_map(params!["room", 10], detail),
            };
            let plan: Vec<String> = rows.unwrap().collect::<rusqlite::Result<_>>().unwrap();
            let plan = plan.join("; ");
            assert!(plan.contains("USING INDEX messages_by_room"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}

//! The persona registry: one record per persona ever created, the copy of
//! each persona's identity and configuration that lets a home's `seed.json`
//! heal. Keys never pass through here: only the public key.

use crate::sqlite::SharedConnection;
use crate::{BoxFuture, StoreError};
use continuum_wire::Trust;
use rusqlite::{params, Connection, OptionalExtension, Row};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;

/// One persona's identity and configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonaRecord {
    /// Id: time-ordered, never reused.
    pub id: String,
    /// Name, unique (compared without case) among personas that are not retired.
    pub name: String,
    /// Birth time, Unix ms. Never changes.
    pub born_at_ms: u64,
    /// Its ed25519 public key, hex.
    pub public_key: String,
    /// Provider name (`providers.toml`).
    pub provider: String,
    /// Model override; `None` uses the provider's model.
    #[serde(default)]
    pub model: Option<String>,
    /// System prompt.
    #[serde(default)]
    pub system_prompt: String,
    /// Thinking mode: `default`, `suppress` or `on`.
    pub thinking: String,
    /// Trust level (never `owner`).
    pub trust: Trust,
    /// When it was retired, if it was.
    #[serde(default)]
    pub retired_at_ms: Option<u64>,
    /// Last change, Unix ms.
    pub updated_at_ms: u64,
}

/// Persona records.
pub trait PersonaStore: Send + Sync {
    /// Inserts a record; `Conflict` if the id exists or an active persona
    /// already has the name.
    fn insert(&self, record: PersonaRecord) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Replaces the record with the same id; `NotFound` if there is none,
    /// `Conflict` if the new name belongs to another active persona.
    fn update(&self, record: PersonaRecord) -> BoxFuture<'_, Result<(), StoreError>>;
    /// One record by id.
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<PersonaRecord>, StoreError>>;
    /// Every record (retired included), by birth time.
    fn list(&self) -> BoxFuture<'_, Result<Vec<PersonaRecord>, StoreError>>;
}

/// In-memory persona records, for tests.
#[derive(Default)]
pub struct InMemoryPersonas {
    records: Mutex<Vec<PersonaRecord>>,
}

impl InMemoryPersonas {
    /// An empty registry.
    pub fn new() -> Self {
        InMemoryPersonas::default()
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&mut Vec<PersonaRecord>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut records = self
            .records
            .lock()
            .map_err(|_| StoreError::Backend("persona store lock poisoned".into()))?;
        work(&mut records)
    }
}

/// Whether an active persona other than `record` already has its name,
/// compared without (ASCII) case like SQLite's `NOCASE`: `@Asha` and `@asha`
/// must not name two personas.
fn name_taken(records: &[PersonaRecord], record: &PersonaRecord) -> bool {
    record.retired_at_ms.is_none()
        && records.iter().any(|r| {
            r.id != record.id
                && r.retired_at_ms.is_none()
                && r.name.eq_ignore_ascii_case(&record.name)
        })
}

fn name_conflict(name: &str) -> StoreError {
    StoreError::Conflict(format!("persona name '{name}'"))
}

impl PersonaStore for InMemoryPersonas {
    fn insert(&self, record: PersonaRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        let result = self.with(|records| {
            if records.iter().any(|r| r.id == record.id) {
                return Err(StoreError::Conflict(format!("persona {}", record.id)));
            }
            if name_taken(records, &record) {
                return Err(name_conflict(&record.name));
            }
            records.push(record);
            Ok(())
        });
        Box::pin(async move { result })
    }

    fn update(&self, record: PersonaRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        let result = self.with(|records| {
            let index = records
                .iter()
                .position(|r| r.id == record.id)
                .ok_or_else(|| StoreError::NotFound(format!("persona {}", record.id)))?;
            if name_taken(records, &record) {
                return Err(name_conflict(&record.name));
            }
            records[index] = record;
            Ok(())
        });
        Box::pin(async move { result })
    }

    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<PersonaRecord>, StoreError>> {
        let result = self.with(|records| Ok(records.iter().find(|r| r.id == id).cloned()));
        Box::pin(async move { result })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<PersonaRecord>, StoreError>> {
        let result = self.with(|records| {
            let mut all = records.clone();
            all.sort_by(|a, b| (a.born_at_ms, &a.id).cmp(&(b.born_at_ms, &b.id)));
            Ok(all)
        });
        Box::pin(async move { result })
    }
}

const MIGRATIONS: &[&str] = &["
CREATE TABLE personas (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    born_at_ms INTEGER NOT NULL,
    public_key TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT,
    system_prompt TEXT NOT NULL,
    thinking TEXT NOT NULL,
    trust TEXT NOT NULL,
    retired_at_ms INTEGER,
    updated_at_ms INTEGER NOT NULL
);
-- Names are unique without case among active personas; retiring frees the
-- name. The index enforces the rule for every writer.
CREATE UNIQUE INDEX personas_active_name ON personas (name COLLATE NOCASE)
    WHERE retired_at_ms IS NULL;
CREATE INDEX personas_by_birth ON personas (born_at_ms, id);
"];

const COLUMNS: &str = "id, name, born_at_ms, public_key, provider, model, system_prompt, \
                       thinking, trust, retired_at_ms, updated_at_ms";

/// Persona records in SQLite (WAL). Blocking work runs on tokio's blocking pool.
pub struct SqlitePersonas {
    conn: SharedConnection,
}

impl SqlitePersonas {
    /// Opens (creating and migrating) the registry at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqlitePersonas {
            conn: SharedConnection::open_migrated(path, MIGRATIONS)?,
        })
    }
}

fn read_record(row: &Row<'_>) -> rusqlite::Result<PersonaRecord> {
    let trust: String = row.get(8)?;
    Ok(PersonaRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        born_at_ms: row.get::<_, i64>(2)? as u64,
        public_key: row.get(3)?,
        provider: row.get(4)?,
        model: row.get(5)?,
        system_prompt: row.get(6)?,
        thinking: row.get(7)?,
        trust: Trust::parse(&trust).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                8,
                rusqlite::types::Type::Text,
                format!("unknown trust level '{trust}'").into(),
            )
        })?,
        retired_at_ms: row.get::<_, Option<i64>>(9)?.map(|ms| ms as u64),
        updated_at_ms: row.get::<_, i64>(10)? as u64,
    })
}

/// Runs `sql` (an insert or update numbering the columns `?1..?11` in
/// [`COLUMNS`] order) with `record`'s values.
fn write(conn: &Connection, sql: &str, record: &PersonaRecord) -> rusqlite::Result<usize> {
    conn.execute(
        sql,
        params![
            record.id,
            record.name,
            record.born_at_ms as i64,
            record.public_key,
            record.provider,
            record.model,
            record.system_prompt,
            record.thinking,
            record.trust.as_str(),
            record.retired_at_ms.map(|ms| ms as i64),
            record.updated_at_ms as i64,
        ],
    )
}

/// A write refused by the active-name index becomes a name `Conflict`.
fn name_checked(result: rusqlite::Result<usize>, name: &str) -> Result<usize, StoreError> {
    match result {
        Err(rusqlite::Error::SqliteFailure(err, _))
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            Err(name_conflict(name))
        }
        other => Ok(other?),
    }
}

impl PersonaStore for SqlitePersonas {
    fn insert(&self, record: PersonaRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        self.conn.boxed(move |conn| {
            // The id is checked first so that the only constraint the insert
            // can break is the active-name index.
            let tx = conn.transaction()?;
            let exists = tx
                .query_row("SELECT 1 FROM personas WHERE id = ?1", [&record.id], |_| {
                    Ok(())
                })
                .optional()?;
            if exists.is_some() {
                return Err(StoreError::Conflict(format!("persona {}", record.id)));
            }
            let sql = format!(
                "INSERT INTO personas ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            );
            name_checked(write(&tx, &sql, &record), &record.name)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn update(&self, record: PersonaRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        self.conn.boxed(move |conn| {
            let changed = name_checked(
                write(
                    conn,
                    "UPDATE personas SET name = ?2, born_at_ms = ?3, public_key = ?4, provider = ?5,
                         model = ?6, system_prompt = ?7, thinking = ?8, trust = ?9,
                         retired_at_ms = ?10, updated_at_ms = ?11
                     WHERE id = ?1",
                    &record,
                ),
                &record.name,
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("persona {}", record.id)));
            }
            Ok(())
        })
    }

    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<PersonaRecord>, StoreError>> {
        let id = id.to_owned();
        self.conn.boxed(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM personas WHERE id = ?1");
            Ok(conn.query_row(&sql, [id], read_record).optional()?)
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<PersonaRecord>, StoreError>> {
        self.conn.boxed(|conn| {
            let sql = format!("SELECT {COLUMNS} FROM personas ORDER BY born_at_ms, id");
            let mut stmt = conn.prepare_cached(&sql)?;
            let records = stmt.query_map([], read_record)?;
            Ok(records.collect::<rusqlite::Result<_>>()?)
        })
    }
}

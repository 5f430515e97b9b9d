//! JSON documents in named collections: the repo behind `data/*`.

use super::sqlite::SharedConnection;
use super::StoreError;
use crate::BoxFuture;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// A stored document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// Collection name.
    pub collection: String,
    /// Id, unique within the collection.
    pub id: String,
    /// The document body (a JSON object).
    pub data: Map<String, Value>,
    /// Creation time, Unix ms.
    pub created_at_ms: u64,
    /// Last update, Unix ms.
    pub updated_at_ms: u64,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Ascending.
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// What `list` returns.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Field -> value equality filters (dotted paths allowed: `a.b`).
    pub filter: BTreeMap<String, Value>,
    /// Field to order by (dotted path); default: creation order.
    pub order_by: Option<String>,
    /// Direction.
    pub order: Order,
    /// Most documents returned.
    pub limit: usize,
    /// Documents skipped first.
    pub offset: usize,
}

/// JSON documents in named collections.
pub trait DocumentStore: Send + Sync {
    /// Inserts a document; `id` is generated when absent.
    fn create(
        &self,
        collection: &str,
        id: Option<String>,
        data: Map<String, Value>,
    ) -> BoxFuture<'_, Result<Document, StoreError>>;
    /// One document, if it exists.
    fn read(
        &self,
        collection: &str,
        id: &str,
    ) -> BoxFuture<'_, Result<Option<Document>, StoreError>>;
    /// Documents matching `query`.
    fn list(
        &self,
        collection: &str,
        query: ListQuery,
    ) -> BoxFuture<'_, Result<Vec<Document>, StoreError>>;
    /// Merges `patch` into a document (JSON merge patch: `null` removes a field).
    fn update(
        &self,
        collection: &str,
        id: &str,
        patch: Map<String, Value>,
    ) -> BoxFuture<'_, Result<Document, StoreError>>;
    /// Deletes one document; false if it did not exist.
    fn delete(&self, collection: &str, id: &str) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Deletes every document of one collection; returns how many.
    fn truncate(&self, collection: &str) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// Deletes every document of every collection; returns how many.
    fn clear_all(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
}

/// Collection names: 1-64 chars of `[A-Za-z0-9_.-]`.
pub fn check_collection(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    ok.then_some(()).ok_or_else(|| StoreError::Invalid {
        field: "/collection".into(),
        reason: "must be 1-64 characters of letters, digits, '_', '-' or '.'".into(),
    })
}

/// Document ids given by callers: 1-128 characters of letters, digits, '_',
/// '-', '.' and ':' (no '/', whitespace or control characters).
pub fn check_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    ok.then_some(()).ok_or_else(|| StoreError::Invalid {
        field: "/id".into(),
        reason: "must be 1-128 characters of letters, digits, '_', '-', '.' or ':'".into(),
    })
}

/// Both the collection and, when the caller chose one, the id.
fn check_new(collection: &str, id: Option<&str>) -> Result<(), StoreError> {
    check_collection(collection)?;
    id.map_or(Ok(()), check_id)
}

/// Most fields one filter may name (each is one SQL condition).
pub const MAX_FILTER_FIELDS: usize = 16;

/// Field paths used in filters and ordering: dotted identifiers.
fn check_field(field: &str, param: &str) -> Result<(), StoreError> {
    let ok = !field.is_empty()
        && field.len() <= 128
        && field.split('.').all(|seg| {
            !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
    ok.then_some(()).ok_or_else(|| StoreError::Invalid {
        field: param.to_owned(),
        reason: format!("'{field}' is not a field path (letters, digits, '_', separated by '.')"),
    })
}

/// RFC 7396 merge patch.
fn merge(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(&key);
            }
            Value::Object(inner) => {
                let slot = target
                    .entry(key)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(slot) = slot {
                    merge(slot, inner);
                }
            }
            other => {
                target.insert(key, other);
            }
        }
    }
}

fn lookup<'a>(data: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('.');
    let mut current = data.get(segments.next()?)?;
    for segment in segments {
        current = current.get(segment)?;
    }
    Some(current)
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (None, None) => Equal,
        (None, _) => Less,
        (_, None) => Greater,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

fn validate_query(query: &ListQuery) -> Result<(), StoreError> {
    if query.filter.len() > MAX_FILTER_FIELDS {
        return Err(StoreError::invalid(
            "/filter",
            format!(
                "a filter names at most {MAX_FILTER_FIELDS} fields (this one names {})",
                query.filter.len()
            ),
        ));
    }
    for field in query.filter.keys() {
        check_field(field, &format!("/filter/{field}"))?;
    }
    if let Some(field) = &query.order_by {
        check_field(field, "/orderBy")?;
    }
    Ok(())
}

/// In-memory documents, for tests.
#[derive(Default)]
pub struct MemoryDocumentStore {
    collections: Mutex<BTreeMap<String, Vec<Document>>>,
}

impl MemoryDocumentStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryDocumentStore::default()
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&mut BTreeMap<String, Vec<Document>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self
            .collections
            .lock()
            .map_err(|_| StoreError::Backend("poisoned".into()))?;
        work(&mut guard)
    }
}

impl DocumentStore for MemoryDocumentStore {
    fn create(
        &self,
        collection: &str,
        id: Option<String>,
        data: Map<String, Value>,
    ) -> BoxFuture<'_, Result<Document, StoreError>> {
        let result = check_new(collection, id.as_deref()).and_then(|()| {
            self.with(|all| {
                let docs = all.entry(collection.to_owned()).or_default();
                let id = id.unwrap_or_else(crate::new_id);
                if docs.iter().any(|d| d.id == id) {
                    return Err(StoreError::Conflict(format!("{collection}/{id}")));
                }
                let now = crate::now_ms();
                let doc = Document {
                    collection: collection.to_owned(),
                    id,
                    data,
                    created_at_ms: now,
                    updated_at_ms: now,
                };
                docs.push(doc.clone());
                Ok(doc)
            })
        });
        Box::pin(async move { result })
    }

    fn read(
        &self,
        collection: &str,
        id: &str,
    ) -> BoxFuture<'_, Result<Option<Document>, StoreError>> {
        let result = self.with(|all| {
            Ok(all
                .get(collection)
                .and_then(|docs| docs.iter().find(|d| d.id == id).cloned()))
        });
        Box::pin(async move { result })
    }

    fn list(
        &self,
        collection: &str,
        query: ListQuery,
    ) -> BoxFuture<'_, Result<Vec<Document>, StoreError>> {
        let result = validate_query(&query).and_then(|()| {
            self.with(|all| {
                let mut docs: Vec<Document> = all
                    .get(collection)
                    .map(|docs| {
                        docs.iter()
                            .filter(|d| {
                                query
                                    .filter
                                    .iter()
                                    .all(|(f, v)| lookup(&d.data, f) == Some(v))
                            })
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(field) = &query.order_by {
                    docs.sort_by(|a, b| compare(lookup(&a.data, field), lookup(&b.data, field)));
                }
                if query.order == Order::Desc {
                    docs.reverse();
                }
                Ok(docs
                    .into_iter()
                    .skip(query.offset)
                    .take(query.limit)
                    .collect())
            })
        });
        Box::pin(async move { result })
    }

    fn update(
        &self,
        collection: &str,
        id: &str,
        patch: Map<String, Value>,
    ) -> BoxFuture<'_, Result<Document, StoreError>> {
        let result = self.with(|all| {
            let doc = all
                .get_mut(collection)
                .and_then(|docs| docs.iter_mut().find(|d| d.id == id))
                .ok_or_else(|| StoreError::NotFound(format!("{collection}/{id}")))?;
            merge(&mut doc.data, patch);
            doc.updated_at_ms = crate::now_ms();
            Ok(doc.clone())
        });
        Box::pin(async move { result })
    }

    fn delete(&self, collection: &str, id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let result = self.with(|all| {
            let Some(docs) = all.get_mut(collection) else {
                return Ok(false);
            };
            let before = docs.len();
            docs.retain(|d| d.id != id);
            Ok(docs.len() != before)
        });
        Box::pin(async move { result })
    }

    fn truncate(&self, collection: &str) -> BoxFuture<'_, Result<u64, StoreError>> {
        let result =
            self.with(|all| Ok(all.remove(collection).map_or(0, |docs| docs.len() as u64)));
        Box::pin(async move { result })
    }

    fn clear_all(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        let result = self.with(|all| {
            let n = all.values().map(Vec::len).sum::<usize>() as u64;
            all.clear();
            Ok(n)
        });
        Box::pin(async move { result })
    }
}

const MIGRATIONS: &[&str] = &["
CREATE TABLE documents (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE INDEX documents_by_seq ON documents (collection, seq);
"];

/// Documents in SQLite (WAL). Blocking work runs on tokio's blocking pool.
pub struct SqliteDocumentStore {
    conn: SharedConnection,
}

impl SqliteDocumentStore {
    /// Opens (and migrates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqliteDocumentStore {
            conn: SharedConnection::open_migrated(path, MIGRATIONS)?,
        })
    }
}

fn row_to_document(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, i64, i64)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn decode(raw: (String, String, String, i64, i64)) -> Result<Document, StoreError> {
    let (collection, id, data, created, updated) = raw;
    let data: Map<String, Value> = serde_json::from_str(&data)
        .map_err(|err| StoreError::Backend(format!("corrupt document {collection}/{id}: {err}")))?;
    Ok(Document {
        collection,
        id,
        data,
        created_at_ms: created as u64,
        updated_at_ms: updated as u64,
    })
}

fn read_one(conn: &Connection, collection: &str, id: &str) -> Result<Option<Document>, StoreError> {
    conn.query_row(
        "SELECT collection, id, data, created_at_ms, updated_at_ms FROM documents WHERE collection = ?1 AND id = ?2",
        [collection, id],
        row_to_document,
    )
    .optional()?
    .map(decode)
    .transpose()
}

fn json_path(field: &str) -> String {
    format!("$.{field}")
}

fn sql_value(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => n.as_i64().map_or_else(
            || SqlValue::Real(n.as_f64().unwrap_or(0.0)),
            SqlValue::Integer,
        ),
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

impl DocumentStore for SqliteDocumentStore {
    fn create(
        &self,
        collection: &str,
        id: Option<String>,
        data: Map<String, Value>,
    ) -> BoxFuture<'_, Result<Document, StoreError>> {
        let collection = collection.to_owned();
        if let Err(err) = check_new(&collection, id.as_deref()) {
            return Box::pin(async move { Err(err) });
        }
        self.conn.boxed(move |conn| {
            let id = id.unwrap_or_else(crate::new_id);
            let now = crate::now_ms();
            let body = Value::Object(data.clone()).to_string();
            let inserted = conn.execute(
                "INSERT INTO documents (collection, id, seq, data, created_at_ms, updated_at_ms)
                 VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM documents WHERE collection = ?1), ?3, ?4, ?4)
                 ON CONFLICT (collection, id) DO NOTHING",
                rusqlite::params![collection, id, body, now as i64],
            )?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!("{collection}/{id}")));
            }
            Ok(Document { collection, id, data, created_at_ms: now, updated_at_ms: now })
        })
    }

    fn read(
        &self,
        collection: &str,
        id: &str,
    ) -> BoxFuture<'_, Result<Option<Document>, StoreError>> {
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.conn
            .boxed(move |conn| read_one(conn, &collection, &id))
    }

    fn list(
        &self,
        collection: &str,
        query: ListQuery,
    ) -> BoxFuture<'_, Result<Vec<Document>, StoreError>> {
        let collection = collection.to_owned();
        if let Err(err) = validate_query(&query) {
            return Box::pin(async move { Err(err) });
        }
        self.conn.boxed(move |conn| {
            let mut sql = String::from(
                "SELECT collection, id, data, created_at_ms, updated_at_ms FROM documents WHERE collection = ?",
            );
            let mut args: Vec<SqlValue> = vec![SqlValue::Text(collection)];
            for (field, value) in &query.filter {
                args.push(SqlValue::Text(json_path(field)));
                match value {
                    Value::Null => sql.push_str(" AND json_type(data, ?) = 'null'"),
                    Value::Object(_) | Value::Array(_) => {
                        // Only objects and arrays can match; json() is applied
                        // to the filter value alone, never to a stored plain
                        // string (which is not JSON text).
                        sql.push_str(
                            " AND json_type(data, ?) IN ('object', 'array') AND json_extract(data, ?) = json(?)",
                        );
                        args.push(SqlValue::Text(json_path(field)));
                        args.push(sql_value(value));
                    }
                    _ => {
                        sql.push_str(" AND json_extract(data, ?) = ?");
                        args.push(sql_value(value));
                    }
                }
            }
            let direction = if query.order == Order::Desc { "DESC" } else { "ASC" };
            match &query.order_by {
                Some(field) => {
                    sql.push_str(&format!(" ORDER BY json_extract(data, ?) {direction}, seq {direction}"));
                    args.push(SqlValue::Text(json_path(field)));
                }
                None => sql.push_str(&format!(" ORDER BY seq {direction}")),
            }
            sql.push_str(" LIMIT ? OFFSET ?");
            args.push(SqlValue::Integer(query.limit.min(i64::MAX as usize) as i64));
            args.push(SqlValue::Integer(query.offset.min(i64::MAX as usize) as i64));
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(args), row_to_document)?;
            rows.map(|row| decode(row?)).collect()
        })
    }

    fn update(
        &self,
        collection: &str,
        id: &str,
        patch: Map<String, Value>,
    ) -> BoxFuture<'_, Result<Document, StoreError>> {
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.conn.boxed(move |conn| {
            let tx = conn.transaction()?;
            let mut doc = read_one(&tx, &collection, &id)?.ok_or_else(|| StoreError::NotFound(format!("{collection}/{id}")))?;
            merge(&mut doc.data, patch);
            doc.updated_at_ms = crate::now_ms();
            tx.execute(
                "UPDATE documents SET data = ?3, updated_at_ms = ?4 WHERE collection = ?1 AND id = ?2",
                rusqlite::params![collection, id, Value::Object(doc.data.clone()).to_string(), doc.updated_at_ms as i64],
            )?;
            tx.commit()?;
            Ok(doc)
        })
    }

    fn delete(&self, collection: &str, id: &str) -> BoxFuture<'_, Result<bool, StoreError>> {
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.conn.boxed(move |conn| {
            Ok(conn.execute(
                "DELETE FROM documents WHERE collection = ?1 AND id = ?2",
                [collection, id],
            )? > 0)
        })
    }

    fn truncate(&self, collection: &str) -> BoxFuture<'_, Result<u64, StoreError>> {
        let collection = collection.to_owned();
        self.conn.boxed(move |conn| {
            Ok(conn.execute("DELETE FROM documents WHERE collection = ?1", [collection])? as u64)
        })
    }

    fn clear_all(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.conn
            .boxed(|conn| Ok(conn.execute("DELETE FROM documents", [])? as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn sqlite_documents_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.sqlite");
        SqliteDocumentStore::open(&path)
            .unwrap()
            .create(
                "c",
                Some("1".into()),
                json!({"v": 1}).as_object().unwrap().clone(),
            )
            .await
            .unwrap();
        let reopened = SqliteDocumentStore::open(&path).unwrap();
        assert_eq!(reopened.read("c", "1").await.unwrap().unwrap().data["v"], 1);
    }
}

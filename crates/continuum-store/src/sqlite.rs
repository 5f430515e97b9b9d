//! Shared SQLite setup: every embedded store opens its database through here,
//! so they all get WAL, a busy timeout, the same durability setting and the
//! same migration mechanism.

use super::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Opens `path` for read/write with the project's pragmas.
///
/// `synchronous = NORMAL` in WAL mode: a committed transaction survives a
/// process crash (`kill -9`); only an OS crash or power loss can lose the
/// most recent commits.
///
/// The database is created owner-only (0600); SQLite gives its `-wal` and
/// `-shm` files the same mode.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    owner_only(path).map_err(|err| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("cannot make {} owner-only: {err}", path.display())),
        )
    })?;
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Query-planner stability: without it this SQLite re-prepares a
    // statement with bound values and an ORDER BY (chat history, FTS5's
    // internal lookups) every time it is rebound; that was a tenth of the
    // daemon's CPU in the persona benchmark. No plan here depends on a bound
    // value.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

/// Creates `path` with mode 0600 if it is missing, and tightens it to 0600
/// if it exists (stores written before were 0644).
fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// A `u64` as SQLite's signed 64-bit INTEGER, exactly and in order: the sign
/// bit is flipped, so every value the grant format allows (0 to 2^64-1) is
/// stored without loss and SQL's `<`, `max()` and `MAX()` agree with `u64`
/// order. Columns holding epochs use this encoding.
pub fn ordered_u64(value: u64) -> i64 {
    (value ^ (1 << 63)) as i64
}

/// The `u64` an [`ordered_u64`] column holds.
pub fn from_ordered(stored: i64) -> u64 {
    (stored as u64) ^ (1 << 63)
}

/// Applies `migrations[user_version..]` in one transaction each, recording
/// progress in `PRAGMA user_version`.
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> rusqlite::Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))? as usize;
    for (index, sql) in migrations.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// One connection shared by a store. SQLite calls block, so async callers
/// run them on tokio's blocking pool through [`run`](Self::run).
#[derive(Clone)]
pub struct SharedConnection(Arc<Mutex<Connection>>);

impl SharedConnection {
    /// Opens `path` with the project's pragmas and applies `migrations`.
    pub fn open_migrated(path: &Path, migrations: &[&str]) -> Result<Self, StoreError> {
        let mut conn = open(path)?;
        migrate(&mut conn, migrations)?;
        Ok(SharedConnection(Arc::new(Mutex::new(conn))))
    }

    /// Runs `work` on the connection off the async workers.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || work(&mut *shared.lock()?))
            .await
            .map_err(|err| StoreError::Backend(format!("store task failed: {err}")))?
    }

    /// [`run`](Self::run), boxed: what the object-safe repo traits return.
    pub fn boxed<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> crate::BoxFuture<'_, Result<T, StoreError>> {
        Box::pin(self.run(work))
    }

    /// The connection, for synchronous callers.
    pub fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.0
            .lock()
            .map_err(|_| StoreError::Backend("store connection lock poisoned".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_and_their_wal_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sqlite");
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let conn = open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        for file in ["x.sqlite", "x.sqlite-wal", "x.sqlite-shm"] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }

    #[test]
    fn the_epoch_encoding_is_exact_and_keeps_u64_order() {
        let values = [
            0,
            1,
            (1 << 63) - 2,
            (1 << 63) - 1,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ];
        for pair in values.windows(2) {
            assert!(ordered_u64(pair[0]) < ordered_u64(pair[1]), "{pair:?}");
        }
        for value in values {
            assert_eq!(from_ordered(ordered_u64(value)), value);
        }
    }
}

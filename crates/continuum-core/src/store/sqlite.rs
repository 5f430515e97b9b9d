//! Shared SQLite setup: every embedded store opens its database through here,
//! so they all get WAL, a busy timeout, the same durability setting and the
//! same migration mechanism.

use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// Opens `path` for read/write with the project's pragmas.
///
/// `synchronous = NORMAL` in WAL mode: a committed transaction survives a
/// process crash (`kill -9`); only an OS crash or power loss can lose the
/// most recent commits.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
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

//! The durable audit log: SQLite (WAL) under the home, written by one thread
//! that group-commits whatever is queued and seals the hash chain in order.
//! Within one commit, the rolled-up queued decisions come first, then the
//! awaited ones in arrival order; every record carries its own time.

use super::chain::verify_chain;
use super::{
    writer_stopped, AuditAnchor, AuditEvent, AuditRecord, AuditStore, ChainBase, CompactReport,
    Outcome, VerifyReport,
};
use crate::{BoxFuture, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

type Ack = oneshot::Sender<Result<(), StoreError>>;

/// What the writer is told, besides the queued appends it collects itself.
enum Control {
    /// Appends were queued into an empty queue: commit within the window.
    Queued,
    /// Append this now and say when it is durable.
    Durable(AuditEvent, Ack),
    /// Commit everything queued and say when it is durable.
    Flush(Ack),
    /// Commit everything queued, then keep only the newest `u64` records.
    Compact(u64, oneshot::Sender<Result<CompactReport, StoreError>>),
}

/// How long queued appends (allowed calls of commands that are not
/// owner-only) wait before their group commit. Identical decisions queued in
/// one window are sealed as one record with a `count`, so a busy caller
/// costs a record per window, not one per call. A durable append or a flush
/// commits at once, with whatever is queued.
const ROLLUP_WINDOW: Duration = Duration::from_millis(50);

/// SQLite-backed [`AuditStore`].
pub struct SqliteAuditLog {
    control: mpsc::Sender<Control>,
    queued: Arc<Mutex<Rollups>>,
    path: PathBuf,
    anchor: Option<Arc<dyn AuditAnchor>>,
}

/// The schema, SQLite's own integrity check, and the anchored head: what a
/// log must pass before anything is appended to it.
fn check_at_open(conn: &Connection, anchor: Option<&dyn AuditAnchor>) -> Result<(), String> {
    let integrity: String = conn
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(|err| format!("the database cannot be checked: {err}"))?;
    if integrity != "ok" {
        return Err(format!("the database is corrupt: {integrity}"));
    }
    conn.execute_batch(SCHEMA)
        .and_then(|()| add_missing_columns(conn))
        .map_err(|err| format!("the schema cannot be applied: {err}"))?;
    let Some(anchor) = anchor else {
        return Ok(());
    };
    check_anchored_base(conn, anchor)?;
    let anchored = anchor.last().map_err(|err| err.to_string())?;
    match anchored {
        Some((seq, hash)) => check_anchored_head(conn, seq, &hash),
        // First start with an anchor (a new log, or one written before
        // anchoring): anchor what is there now.
        None => {
            let (seq, hash) = chain_head(conn).map_err(|err| err.to_string())?;
            anchor.seal(seq, &hash).map_err(|err| err.to_string())
        }
    }
}

/// Whether the base the log starts from is the one the anchor signed. A
/// compaction interrupted between its signature and its commit leaves the
/// log *behind* the signed base, still holding the signed record: accepted.
fn check_anchored_base(conn: &Connection, anchor: &dyn AuditAnchor) -> Result<(), String> {
    let signed = anchor.base().map_err(|err| err.to_string())?;
    check_signed_base(conn, signed)
}

fn check_signed_base(conn: &Connection, signed: Option<(u64, String)>) -> Result<(), String> {
    let base = chain_base(conn).map_err(|err| err.to_string())?;
    match signed {
        Some((seq, hash)) if seq == base.seq && hash == base.hash => Ok(()),
        Some((seq, hash)) if seq > base.seq => check_anchored_head(conn, seq, &hash),
        None if base.seq == 0 => Ok(()),
        _ => Err(format!(
            "the log starts after record {}, which is not the base the node key signed (records were dropped outside retention)",
            base.seq
        )),
    }
}

/// Whether the log still holds record `seq` with hash `hash`.
fn check_anchored_head(conn: &Connection, seq: u64, hash: &str) -> Result<(), String> {
    if seq == 0 {
        return Ok(());
    }
    let found: Option<String> = conn
        .query_row(
            "SELECT hash FROM audit WHERE seq = ?1",
            [seq as i64],
            |row| row.get(0),
        )
        .optional()
        .map_err(|err| err.to_string())?;
    match found {
        Some(found) if found == hash => Ok(()),
        Some(_) => Err(format!(
            "record {seq} is not the record anchored at {seq} (the end of the log was replaced)"
        )),
        None => {
            let (head, _) = chain_head(conn).map_err(|err| err.to_string())?;
            Err(format!(
                "the log ends at record {head} but record {seq} was anchored (the end of the log was deleted)"
            ))
        }
    }
}

/// Queued decisions, already rolled up: identical decisions (every field but
/// the time) share one entry, kept in order of first appearance.
#[derive(Default)]
struct Rollups {
    entries: HashMap<AuditEvent, Rollup>,
}

/// How many times one decision was queued, and when.
struct Rollup {
    order: usize,
    count: u64,
    first_time_ms: u64,
    last_time_ms: u64,
}

impl Rollups {
    /// Adds one decision; returns whether the queue was empty before.
    fn add(&mut self, mut event: AuditEvent) -> bool {
        let was_empty = self.entries.is_empty();
        let time_ms = std::mem::take(&mut event.time_ms);
        let order = self.entries.len();
        let rollup = self.entries.entry(event).or_insert(Rollup {
            order,
            count: 0,
            first_time_ms: time_ms,
            last_time_ms: time_ms,
        });
        rollup.count += 1;
        rollup.first_time_ms = rollup.first_time_ms.min(time_ms);
        rollup.last_time_ms = rollup.last_time_ms.max(time_ms);
        was_empty
    }

    /// The rolled-up records to seal, in order of first appearance.
    fn drain(&mut self) -> Vec<Sealable> {
        let mut entries: Vec<_> = self.entries.drain().collect();
        entries.sort_unstable_by_key(|(_, rollup)| rollup.order);
        entries
            .into_iter()
            .map(|(mut event, rollup)| {
                event.time_ms = rollup.first_time_ms;
                Sealable {
                    event,
                    count: rollup.count,
                    last_time_ms: rollup.last_time_ms,
                }
            })
            .collect()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    caller TEXT NOT NULL,
    command TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    forwarded_for TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS audit_base (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
";

/// The append-only guard against deletes, lifted only inside a retention
/// transaction.
const NO_DELETE_TRIGGER: &str = "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;";

/// Columns added after the first release, each `(name, type)`; added in
/// place to older logs, whose records keep verifying (absent = NULL).
const ADDED_COLUMNS: [(&str, &str); 5] = [
    ("caller_key", "TEXT"),
    ("grant_issuer", "TEXT"),
    ("grant_epoch", "TEXT"),
    ("count", "INTEGER"),
    ("last_time_ms", "INTEGER"),
];

const COLUMNS: &str = "seq, time_ms, caller, command, outcome, reason, forwarded_for, prev_hash, hash, caller_key, grant_issuer, grant_epoch, count, last_time_ms";

fn add_missing_columns(conn: &Connection) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('audit')")?;
    let present = stmt
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (name, kind) in ADDED_COLUMNS {
        if !present.iter().any(|column| column == name) {
            conn.execute_batch(&format!("ALTER TABLE audit ADD COLUMN {name} {kind}"))?;
        }
    }
    Ok(())
}

impl SqliteAuditLog {
    /// Opens (creating if needed) the log at `path` and starts its writer.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::start(path, None)
    }

    /// As [`open`](Self::open), with the head anchored in `anchor` after
    /// every commit. At open, the database must pass SQLite's integrity
    /// check and still hold the anchored head; if not, the log refuses every
    /// append (so owner-only actions fail closed) and says why.
    pub fn open_anchored(path: &Path, anchor: Arc<dyn AuditAnchor>) -> Result<Self, StoreError> {
        Self::start(path, Some(anchor))
    }

    fn start(path: &Path, anchor: Option<Arc<dyn AuditAnchor>>) -> Result<Self, StoreError> {
        let conn = crate::sqlite::open(path).map_err(|err| StoreError::Backend(err.to_string()))?;
        if anchor.is_some() {
            // The anchor is signed after each commit; the commit must then
            // be on disk, or a power cut would leave a log behind its
            // signed head (and fail closed for nothing).
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(store_err)?;
        }
        let broken = match check_at_open(&conn, anchor.as_deref()) {
            Ok(()) => None,
            Err(why) => {
                tracing::error!(problem = %why, path = %path.display(), "the audit log failed its integrity check; owner-only actions will be refused");
                Some(why)
            }
        };
        let (control, receiver) = mpsc::channel();
        let queued = Arc::new(Mutex::new(Rollups::default()));
        let writer_queue = Arc::clone(&queued);
        let writer_anchor = anchor.clone();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer(conn, receiver, writer_queue, writer_anchor, broken))
            .map_err(|err| StoreError::Backend(format!("cannot start audit writer: {err}")))?;
        Ok(SqliteAuditLog {
            control,
            queued,
            path: path.to_owned(),
            anchor,
        })
    }

    fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, StoreError>> {
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let conn = crate::sqlite::open(&path)
                    .map_err(|err| StoreError::Backend(err.to_string()))?;
                work(&conn)
            })
            .await
            .map_err(|err| StoreError::Backend(err.to_string()))?
        })
    }
}

impl AuditStore for SqliteAuditLog {
    fn append(&self, event: AuditEvent) {
        // Only the append that finds the queue empty wakes the writer: the
        // others cost a short lock, no system call.
        let was_empty = match self.queued.lock() {
            Ok(mut queued) => queued.add(event),
            Err(_) => {
                tracing::error!("audit queue poisoned; a decision was not recorded");
                return;
            }
        };
        if was_empty && self.control.send(Control::Queued).is_err() {
            tracing::error!("audit writer is gone; a decision was not recorded");
        }
    }

    fn append_durable(&self, event: AuditEvent) -> BoxFuture<'_, Result<(), StoreError>> {
        let (ack, done) = oneshot::channel();
        let sent = self.control.send(Control::Durable(event, ack)).is_ok();
        Box::pin(async move {
            if !sent {
                return Err(writer_stopped());
            }
            done.await.map_err(|_| writer_stopped())?
        })
    }

    fn tail(&self, limit: usize) -> BoxFuture<'_, Result<Vec<AuditRecord>, StoreError>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM (SELECT {COLUMNS} FROM audit ORDER BY seq DESC LIMIT ?1) ORDER BY seq"))
                .map_err(store_err)?;
            let rows = stmt.query_map([limit as i64], row_to_record).map_err(store_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(store_err)
        })
    }

    fn after(&self, seq: u64, limit: usize) -> BoxFuture<'_, Result<Vec<AuditRecord>, StoreError>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2"
                ))
                .map_err(store_err)?;
            let rows = stmt
                .query_map([seq as i64, limit as i64], row_to_record)
                .map_err(store_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(store_err)
        })
    }

    fn verify(&self) -> BoxFuture<'_, Result<VerifyReport, StoreError>> {
        let anchor = self.anchor.clone();
        self.read(move |conn| {
            // The anchors are read first, then the log in one snapshot: a
            // head is signed only after its commit, so the snapshot is never
            // behind the signed head. A compaction landing in between can
            // still make them disagree for a moment: look again before
            // calling it tampering.
            let mut attempts = 0;
            loop {
                attempts += 1;
                let signed = match &anchor {
                    Some(anchor) => Some((anchor.last()?, anchor.base()?)),
                    None => None,
                };
                let tx = conn.unchecked_transaction().map_err(store_err)?;
                let base = chain_base(&tx)?;
                let records = {
                    let mut stmt = tx
                        .prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY seq"))
                        .map_err(store_err)?;
                    let rows = stmt.query_map([], row_to_record).map_err(store_err)?;
                    rows.collect::<Result<Vec<_>, _>>().map_err(store_err)?
                };
                let chain = verify_chain(&records, &base);
                let Some((head, signed_base)) = signed else {
                    return Ok(chain);
                };
                if !chain.ok {
                    return Ok(chain);
                }
                let anchored = check_signed_base(&tx, signed_base).and_then(|()| match head {
                    Some((seq, hash)) => check_anchored_head(&tx, seq, &hash),
                    None => Ok(()),
                });
                match anchored {
                    Ok(()) => return Ok(chain),
                    Err(problem) if attempts >= 3 => {
                        return Ok(VerifyReport {
                            ok: false,
                            first_bad_seq: Some(base.seq + chain.records + 1),
                            problem: Some(problem),
                            ..chain
                        })
                    }
                    Err(_) => continue,
                }
            }
        })
    }

    fn compact(&self, keep: u64) -> BoxFuture<'_, Result<CompactReport, StoreError>> {
        let (ack, done) = oneshot::channel();
        let sent = self.control.send(Control::Compact(keep, ack)).is_ok();
        Box::pin(async move {
            if !sent {
                return Err(writer_stopped());
            }
            done.await.map_err(|_| writer_stopped())?
        })
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        let (ack, done) = oneshot::channel();
        let sent = self.control.send(Control::Flush(ack)).is_ok();
        Box::pin(async move {
            if !sent {
                return Err(writer_stopped());
            }
            done.await.map_err(|_| writer_stopped())?
        })
    }
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    let outcome: String = row.get(4)?;
    Ok(AuditRecord {
        seq: row.get::<_, i64>(0)? as u64,
        time_ms: row.get::<_, i64>(1)? as u64,
        caller: row.get(2)?,
        command: row.get(3)?,
        outcome: if outcome == "allowed" {
            Outcome::Allowed
        } else {
            Outcome::Denied
        },
        reason: row.get(5)?,
        forwarded_for: row.get(6)?,
        prev_hash: row.get(7)?,
        hash: row.get(8)?,
        caller_key: row.get(9)?,
        grant_issuer: row.get(10)?,
        // Stored as text: SQLite integers are i64 and an epoch is any u64.
        grant_epoch: row
            .get::<_, Option<String>>(11)?
            .and_then(|epoch| epoch.parse().ok()),
        count: row
            .get::<_, Option<i64>>(12)?
            .map_or(1, |count| count as u64),
        last_time_ms: row.get::<_, Option<i64>>(13)?.map(|ms| ms as u64),
    })
}

fn store_err(err: rusqlite::Error) -> StoreError {
    StoreError::Backend(err.to_string())
}

/// The newest record's seq and hash; the base when every record was dropped.
fn chain_head(conn: &Connection) -> Result<(u64, String), StoreError> {
    let head: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(store_err)?;
    match head {
        Some((seq, hash)) => Ok((seq as u64, hash)),
        None => chain_base(conn).map(|base| (base.seq, base.hash)),
    }
}

/// Where the chain starts: after the last record retention dropped.
fn chain_base(conn: &Connection) -> Result<ChainBase, StoreError> {
    let base: Option<(i64, String)> = conn
        .query_row("SELECT seq, hash FROM audit_base WHERE id = 1", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()
        .map_err(store_err)?;
    Ok(
        base.map_or_else(ChainBase::genesis, |(seq, hash)| ChainBase {
            seq: seq as u64,
            hash,
        }),
    )
}

/// Drops all but the newest `keep` records, recording the new base, in one
/// transaction, after signing the base.
fn compact_now(
    conn: &mut Connection,
    keep: u64,
    anchor: Option<&dyn AuditAnchor>,
) -> Result<CompactReport, StoreError> {
    let keep = keep.max(1);
    let tx = conn.transaction().map_err(store_err)?;
    let (head, _) = chain_head(&tx)?;
    let old_base = chain_base(&tx)?;
    let new_base_seq = head.saturating_sub(keep);
    if new_base_seq <= old_base.seq {
        return Ok(CompactReport {
            dropped: 0,
            kept: head - old_base.seq,
            base_seq: old_base.seq,
        });
    }
    let hash: String = tx
        .query_row(
            "SELECT hash FROM audit WHERE seq = ?1",
            [new_base_seq as i64],
            |row| row.get(0),
        )
        .map_err(store_err)?;
    tx.execute(
        "INSERT OR REPLACE INTO audit_base (id, seq, hash) VALUES (1, ?1, ?2)",
        params![new_base_seq as i64, hash],
    )
    .map_err(store_err)?;
    tx.execute_batch("DROP TRIGGER audit_no_delete;")
        .map_err(store_err)?;
    tx.execute("DELETE FROM audit WHERE seq <= ?1", [new_base_seq as i64])
        .map_err(store_err)?;
    tx.execute_batch(NO_DELETE_TRIGGER).map_err(store_err)?;
    // Sign the new base before the records go: a crash in between leaves a
    // log behind its signed base but still holding the signed record, which
    // the check at open accepts. A failed signature drops nothing.
    if let Some(anchor) = anchor {
        anchor.seal_base(new_base_seq, &hash)?;
    }
    tx.commit().map_err(store_err)?;
    Ok(CompactReport {
        dropped: new_base_seq - old_base.seq,
        kept: head - new_base_seq,
        base_seq: new_base_seq,
    })
}

fn writer(
    mut conn: Connection,
    control: mpsc::Receiver<Control>,
    queued: Arc<Mutex<Rollups>>,
    anchor: Option<Arc<dyn AuditAnchor>>,
    broken: Option<String>,
) {
    let head = match broken {
        Some(why) => Err(why),
        None => chain_head(&conn).map_err(|err| format!("cannot read the chain head: {err}")),
    };
    let mut head = match head {
        Ok(head) => head,
        Err(why) => return refuse_everything(&control, &queued, &why),
    };
    loop {
        let mut awaited = Vec::new();
        let open = match control.recv() {
            Ok(Control::Queued) => match control.recv_timeout(ROLLUP_WINDOW) {
                Ok(message) => {
                    awaited.push(message);
                    true
                }
                Err(mpsc::RecvTimeoutError::Timeout) => true,
                Err(mpsc::RecvTimeoutError::Disconnected) => false,
            },
            Ok(message) => {
                awaited.push(message);
                true
            }
            Err(_) => false,
        };
        while let Ok(message) = control.try_recv() {
            awaited.push(message);
        }
        let mut records = queued
            .lock()
            .map(|mut queued| queued.drain())
            .unwrap_or_default();
        let mut acks = Vec::new();
        let mut compactions = Vec::new();
        for message in awaited {
            match message {
                Control::Queued => {}
                Control::Durable(event, ack) => {
                    records.push(Sealable::one(event));
                    acks.push(ack);
                }
                Control::Flush(ack) => acks.push(ack),
                Control::Compact(keep, ack) => compactions.push((keep, ack)),
            }
        }
        let before = head.0;
        let result = commit(&mut conn, &mut head, records);
        match &result {
            Err(err) => {
                tracing::error!(error = %err, "audit commit failed");
                // Re-read the head: the failed transaction sealed nothing.
                if let Ok(fresh) = chain_head(&conn) {
                    head = fresh;
                }
            }
            Ok(()) if head.0 != before => {
                if let Some(anchor) = &anchor {
                    if let Err(err) = anchor.seal(head.0, &head.1) {
                        tracing::error!(error = %err, "could not anchor the audit head");
                    }
                }
            }
            Ok(()) => {}
        }
        for ack in acks {
            let _ = ack.send(result.clone());
        }
        for (keep, ack) in compactions {
            let report = compact_now(&mut conn, keep, anchor.as_deref());
            if let Err(err) = &report {
                tracing::error!(error = %err, "audit compaction failed");
            }
            let _ = ack.send(report);
        }
        if !open {
            return;
        }
    }
}

/// A log that failed its check at open takes nothing: every awaited append
/// or flush is refused with the reason (owner-only actions fail closed), and
/// queued decisions are dropped with an error in the daemon's log.
fn refuse_everything(control: &mpsc::Receiver<Control>, queued: &Mutex<Rollups>, why: &str) {
    let refusal = StoreError::Backend(format!("the audit log failed its integrity check: {why}"));
    while let Ok(message) = control.recv() {
        let dropped = queued.lock().map(|mut q| q.drain().len()).unwrap_or(0);
        if dropped > 0 {
            tracing::error!(
                dropped,
                "audit records not written: the log failed its integrity check"
            );
        }
        match message {
            Control::Queued => {}
            Control::Durable(_, ack) | Control::Flush(ack) => {
                let _ = ack.send(Err(refusal.clone()));
            }
            Control::Compact(_, ack) => {
                let _ = ack.send(Err(refusal.clone()));
            }
        }
    }
}

/// One record to seal: a decision and how many times it was made.
struct Sealable {
    event: AuditEvent,
    count: u64,
    last_time_ms: u64,
}

impl Sealable {
    fn one(event: AuditEvent) -> Sealable {
        Sealable {
            last_time_ms: event.time_ms,
            event,
            count: 1,
        }
    }
}

fn commit(
    conn: &mut Connection,
    head: &mut (u64, String),
    records: Vec<Sealable>,
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction().map_err(store_err)?;
    let (mut seq, mut prev) = head.clone();
    {
        let mut insert = tx
            .prepare_cached(&format!("INSERT INTO audit ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"))
            .map_err(store_err)?;
        for sealable in records {
            seq += 1;
            let record = AuditRecord::seal_rollup(
                seq,
                sealable.event,
                sealable.count,
                sealable.last_time_ms,
                &prev,
            );
            insert
                .execute(params![
                    record.seq as i64,
                    record.time_ms as i64,
                    record.caller,
                    record.command,
                    record.outcome.as_str(),
                    record.reason,
                    record.forwarded_for,
                    record.prev_hash,
                    record.hash,
                    record.caller_key,
                    record.grant_issuer,
                    record.grant_epoch.map(|epoch| epoch.to_string()),
                    (record.count != 1).then_some(record.count as i64),
                    record.last_time_ms.map(|ms| ms as i64),
                ])
                .map_err(store_err)?;
            prev = record.hash;
        }
    }
    tx.commit().map_err(store_err)?;
    *head = (seq, prev);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(command: &str) -> AuditEvent {
        AuditEvent {
            time_ms: crate::now_ms(),
            caller: "owner".into(),
            caller_key: None,
            command: command.into(),
            outcome: Outcome::Allowed,
            reason: "trust".into(),
            forwarded_for: Some("alice".into()),
            grant_issuer: None,
            grant_epoch: None,
        }
    }

    #[tokio::test]
    async fn records_survive_reopen_and_chain_continues() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        {
            let log = SqliteAuditLog::open(&path).unwrap();
            log.append(event("ping"));
            log.append_durable(event("data/delete")).await.unwrap();
        }
        let log = SqliteAuditLog::open(&path).unwrap();
        log.append_durable(event("system/info")).await.unwrap();
        let records = log.tail(10).await.unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[1].forwarded_for.as_deref(), Some("alice"));
        assert!(log.verify().await.unwrap().ok);
    }

    /// An anchor kept in memory (the daemon's signs a file with the node key).
    #[derive(Default)]
    struct TestAnchor {
        head: Mutex<Option<(u64, String)>>,
        base: Mutex<Option<(u64, String)>>,
    }

    impl AuditAnchor for TestAnchor {
        fn seal(&self, seq: u64, hash: &str) -> Result<(), StoreError> {
            *self.head.lock().unwrap() = Some((seq, hash.to_owned()));
            Ok(())
        }
        fn last(&self) -> Result<Option<(u64, String)>, StoreError> {
            Ok(self.head.lock().unwrap().clone())
        }
        fn seal_base(&self, seq: u64, hash: &str) -> Result<(), StoreError> {
            *self.base.lock().unwrap() = Some((seq, hash.to_owned()));
            Ok(())
        }
        fn base(&self) -> Result<Option<(u64, String)>, StoreError> {
            Ok(self.base.lock().unwrap().clone())
        }
    }

    #[tokio::test]
    async fn retention_keeps_the_chain_verifiable_and_its_base_signed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        let anchor = Arc::new(TestAnchor::default());
        {
            let log = SqliteAuditLog::open_anchored(&path, anchor.clone()).unwrap();
            for n in 0..10 {
                log.append_durable(event(&format!("c{n}"))).await.unwrap();
            }
            let report = log.compact(4).await.unwrap();
            assert_eq!((report.dropped, report.kept, report.base_seq), (6, 4, 6));
            log.append_durable(event("after")).await.unwrap();
            let verified = log.verify().await.unwrap();
            assert!(verified.ok, "{verified:?}");
            assert_eq!((verified.records, verified.base_seq), (5, Some(6)));
            assert_eq!(anchor.base().unwrap().map(|(seq, _)| seq), Some(6));
            assert_eq!(log.compact(100).await.unwrap().dropped, 0);
        }
        // Dropping more behind retention's back, and moving the base to
        // match, is caught by the signed base.
        let conn = Connection::open(&path).unwrap();
        let hash7: String = conn
            .query_row("SELECT hash FROM audit WHERE seq = 7", [], |row| row.get(0))
            .unwrap();
        conn.execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 7;")
            .unwrap();
        conn.execute("UPDATE audit_base SET seq = 7, hash = ?1", [hash7])
            .unwrap();
        drop(conn);
        let log = SqliteAuditLog::open_anchored(&path, anchor).unwrap();
        let refused = log.append_durable(event("x")).await.unwrap_err();
        assert!(
            refused.to_string().contains("base the node key signed"),
            "{refused}"
        );
    }

    #[tokio::test]
    async fn deleting_the_end_of_an_anchored_log_is_detected_and_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        let anchor = Arc::new(TestAnchor::default());
        {
            let log = SqliteAuditLog::open_anchored(&path, anchor.clone()).unwrap();
            for n in 0..5 {
                log.append_durable(event(&format!("c{n}"))).await.unwrap();
            }
            assert!(log.verify().await.unwrap().ok);
        }
        assert_eq!(anchor.last().unwrap().map(|(seq, _)| seq), Some(5));
        // The last two records go; what is left is a consistent chain.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > 3;")
            .unwrap();
        drop(conn);
        let unanchored = SqliteAuditLog::open(&path).unwrap();
        assert!(
            unanchored.verify().await.unwrap().ok,
            "the chain alone cannot tell"
        );
        drop(unanchored);

        let log = SqliteAuditLog::open_anchored(&path, anchor.clone()).unwrap();
        let report = log.verify().await.unwrap();
        assert!(!report.ok, "{report:?}");
        assert!(report.problem.unwrap().contains("deleted"));
        let refused = log.append_durable(event("data/delete")).await.unwrap_err();
        assert!(refused.to_string().contains("integrity check"), "{refused}");
        assert!(log.flush().await.is_err());
    }

    #[tokio::test]
    async fn a_corrupt_database_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        {
            let log = SqliteAuditLog::open(&path).unwrap();
            for n in 0..400 {
                log.append(event(&format!("command-{n}")));
            }
            log.flush().await.unwrap();
        }
        // Checkpoint the WAL into the file, then scribble over a page.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        drop(conn);
        let mut bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() > 8 * 4096, "a few pages");
        // A page in the middle of the records, header included.
        let page = bytes.len() / 2 / 4096 * 4096;
        for byte in &mut bytes[page..page + 2000] {
            *byte = 0x5a;
        }
        std::fs::write(&path, bytes).unwrap();
        match SqliteAuditLog::open(&path) {
            // Either SQLite refuses the file outright (the daemon then does
            // not start) or the log refuses every append.
            Err(_) => {}
            Ok(log) => {
                let refused = log.append_durable(event("data/delete")).await.unwrap_err();
                assert!(refused.to_string().contains("integrity check"), "{refused}");
            }
        }
    }

    #[tokio::test]
    async fn identical_queued_decisions_roll_up_into_one_counted_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        let log = SqliteAuditLog::open(&path).unwrap();
        for n in 0..100 {
            let mut ping = event("ping");
            ping.time_ms = 1_000 + n;
            log.append(ping);
        }
        log.append(event("data/list"));
        // A durable append commits at once, after what was queued.
        log.append_durable(event("data/delete")).await.unwrap();
        let records = log.tail(10).await.unwrap();
        let summary: Vec<_> = records
            .iter()
            .map(|r| (r.command.as_str(), r.count, r.time_ms, r.last_time_ms))
            .collect();
        assert_eq!(summary[0], ("ping", 100, 1_000, Some(1_099)), "{summary:?}");
        assert_eq!((summary[1].0, summary[1].1), ("data/list", 1));
        assert_eq!(
            (summary[2].0, summary[2].1, summary[2].3),
            ("data/delete", 1, None)
        );
        assert!(log.verify().await.unwrap().ok);
        // The count is under the hash.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TRIGGER audit_no_update; UPDATE audit SET count = 3 WHERE seq = 1;",
        )
        .unwrap();
        assert_eq!(log.verify().await.unwrap().first_bad_seq, Some(1));
    }

    #[tokio::test]
    async fn peer_key_and_grant_are_recorded_and_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let log = SqliteAuditLog::open(&dir.path().join("audit.sqlite")).unwrap();
        let mut peer = event("system/info");
        peer.caller = "peer:bob".into();
        peer.caller_key = Some("ab".repeat(32));
        peer.reason = "grant".into();
        peer.grant_issuer = Some("cd".repeat(32));
        peer.grant_epoch = Some(u64::MAX);
        log.append_durable(peer.clone()).await.unwrap();
        let record = log.tail(1).await.unwrap().remove(0);
        assert_eq!(record.caller_key, peer.caller_key);
        assert_eq!(record.grant_issuer, peer.grant_issuer);
        assert_eq!(record.grant_epoch, Some(u64::MAX));
        assert!(log.verify().await.unwrap().ok);
        // The new fields are under the hash: changing one breaks the chain.
        let conn = Connection::open(dir.path().join("audit.sqlite")).unwrap();
        conn.execute_batch(
            "DROP TRIGGER audit_no_update; UPDATE audit SET grant_epoch = '1' WHERE seq = 1;",
        )
        .unwrap();
        assert_eq!(log.verify().await.unwrap().first_bad_seq, Some(1));
    }

    #[tokio::test]
    async fn a_record_edited_on_disk_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        let log = SqliteAuditLog::open(&path).unwrap();
        for name in ["a", "b", "c"] {
            log.append_durable(event(name)).await.unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TRIGGER audit_no_update; UPDATE audit SET outcome = 'denied' WHERE seq = 2;",
        )
        .unwrap();
        let report = log.verify().await.unwrap();
        assert!(!report.ok);
        assert_eq!(report.first_bad_seq, Some(2));
    }

    #[tokio::test]
    async fn updates_through_sql_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.sqlite");
        let log = SqliteAuditLog::open(&path).unwrap();
        log.append_durable(event("a")).await.unwrap();
        let conn = Connection::open(&path).unwrap();
        assert!(conn.execute("DELETE FROM audit", []).is_err());
    }
}

//! Shipping the audit log: consecutive records in segments, each written
//! once to a [`SegmentSink`] that keeps what it is given (the audit bucket,
//! under object lock), and [`verify_shipped`], which checks that the
//! shipped copy is one unbroken chain and that the local log still agrees
//! with it. Someone who truncates or rewrites the end of the local log can
//! no longer make the two match.
//!
//! A segment is named `<first seq>-<last seq>.jsonl` (each seq 20 digits,
//! so names sort by position) and holds one [`AuditRecord`] per line.

use super::{AuditRecord, AuditStore};
use crate::{BoxFuture, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Where shipped segments go. Written once: a sink may refuse to replace a
/// segment, and a retention lock may refuse to delete one.
pub trait SegmentSink: Send + Sync {
    /// Stores one segment under `name`.
    fn put(&self, name: &str, body: Vec<u8>) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Every segment name.
    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>>;
    /// One segment's body.
    fn get(&self, name: &str) -> BoxFuture<'_, Result<Vec<u8>, StoreError>>;
}

/// The name of the segment holding `first..=last`.
pub fn segment_name(first: u64, last: u64) -> String {
    format!("{first:020}-{last:020}.jsonl")
}

/// The seqs a segment name claims, if it is one.
pub fn segment_range(name: &str) -> Option<(u64, u64)> {
    let (first, last) = name.strip_suffix(".jsonl")?.split_once('-')?;
    Some((first.parse().ok()?, last.parse().ok()?))
}

/// Records as a segment body: one JSON record per line.
pub fn encode_segment(records: &[AuditRecord]) -> Vec<u8> {
    let mut body = Vec::new();
    for record in records {
        serde_json::to_writer(&mut body, record).expect("a record always serializes");
        body.push(b'\n');
    }
    body
}

/// A segment body's records.
pub fn decode_segment(body: &[u8]) -> Result<Vec<AuditRecord>, StoreError> {
    body.split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_slice(line)
                .map_err(|err| StoreError::Backend(format!("unreadable shipped record: {err}")))
        })
        .collect()
}

/// Ships the local log's new records to a sink, a segment at a time.
pub struct Shipper {
    /// The last seq known to be shipped; `None` until read from the sink.
    shipped: tokio::sync::Mutex<Option<u64>>,
}

impl Default for Shipper {
    fn default() -> Self {
        Shipper::new()
    }
}

impl Shipper {
    /// A shipper that learns from the sink where shipping stopped.
    pub fn new() -> Shipper {
        Shipper {
            shipped: tokio::sync::Mutex::new(None),
        }
    }

    /// Ships at most `max` new records as one segment; how many it shipped
    /// (0 when there was nothing new).
    pub async fn ship_once(
        &self,
        store: &dyn AuditStore,
        sink: &dyn SegmentSink,
        max: usize,
    ) -> Result<u64, StoreError> {
        let mut shipped = self.shipped.lock().await;
        let through = match *shipped {
            Some(seq) => seq,
            None => sink
                .list()
                .await?
                .iter()
                .filter_map(|name| segment_range(name))
                .map(|(_, last)| last)
                .max()
                .unwrap_or(0),
        };
        *shipped = Some(through);
        // Only durable records are shipped: what is queued is flushed first.
        store.flush().await?;
        let records = store.after(through, max).await?;
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Ok(0);
        };
        let (first, last) = (first.seq, last.seq);
        sink.put(&segment_name(first, last), encode_segment(&records))
            .await?;
        *shipped = Some(last);
        Ok(records.len() as u64)
    }
}

/// What [`verify_shipped`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShippedReport {
    /// Whether the shipped copy is one intact chain that the local log
    /// agrees with.
    pub ok: bool,
    /// Segments read.
    pub segments: u64,
    /// The last seq shipped (0: nothing yet).
    pub shipped_through: u64,
    /// The last seq in the local log.
    pub local_through: u64,
    /// The first seq where something is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<u64>,
    /// What is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Checks the shipped segments against each other and against `store`:
/// every shipped record seals its own fields and links to the one before,
/// segments follow each other with no gap, the local log reaches at least
/// as far as the shipped copy (else its end was truncated), and every
/// shipped record the local log still holds is the same record (else it
/// was replaced).
pub async fn verify_shipped(
    store: &dyn AuditStore,
    sink: &dyn SegmentSink,
) -> Result<ShippedReport, StoreError> {
    let mut names: Vec<(u64, u64, String)> = sink
        .list()
        .await?
        .into_iter()
        .filter_map(|name| segment_range(&name).map(|(first, last)| (first, last, name)))
        .collect();
    names.sort();
    let local_through = store.tail(1).await?.first().map_or(0, |record| record.seq);
    let mut report = ShippedReport {
        ok: true,
        segments: 0,
        shipped_through: 0,
        local_through,
        first_bad_seq: None,
        problem: None,
    };
    let fail = |mut report: ShippedReport, seq: u64, problem: String| {
        report.ok = false;
        report.first_bad_seq = Some(seq);
        report.problem = Some(problem);
        report
    };
    let mut previous: Option<AuditRecord> = None;
    for (first, last, name) in names {
        let records = decode_segment(&sink.get(&name).await?)?;
        report.segments += 1;
        if records.first().map(|r| r.seq) != Some(first)
            || records.last().map(|r| r.seq) != Some(last)
        {
            return Ok(fail(
                report,
                first,
                format!("segment {name} does not hold what its name says"),
            ));
        }
        let local: BTreeMap<u64, AuditRecord> = store
            .after(first - 1, records.len())
            .await?
            .into_iter()
            .map(|record| (record.seq, record))
            .collect();
        for record in records {
            if record.hash != record.compute_hash() {
                return Ok(fail(
                    report,
                    record.seq,
                    "a shipped record does not match its hash".into(),
                ));
            }
            if let Some(previous) = &previous {
                if record.seq != previous.seq + 1 {
                    return Ok(fail(
                        report,
                        previous.seq + 1,
                        format!(
                            "shipped records {} to {} are missing",
                            previous.seq + 1,
                            record.seq - 1
                        ),
                    ));
                }
                if record.prev_hash != previous.hash {
                    return Ok(fail(
                        report,
                        record.seq,
                        "a shipped record does not link to the one before".into(),
                    ));
                }
            }
            match local.get(&record.seq) {
                Some(mine) if mine.hash != record.hash => {
                    return Ok(fail(report, record.seq, "the local record differs from the shipped one: the local log was rewritten".into()));
                }
                _ => {}
            }
            report.shipped_through = record.seq;
            previous = Some(record);
        }
    }
    if report.shipped_through > local_through {
        let through = report.shipped_through;
        return Ok(fail(
            report,
            local_through + 1,
            format!("the local log ends at {local_through} but {through} records were shipped: its end was truncated"),
        ));
    }
    Ok(report)
}

/// Segments in memory (tests; a node without an audit bucket ships nowhere).
#[derive(Default)]
pub struct MemorySegments {
    segments: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemorySegments {
    /// An empty sink.
    pub fn new() -> Self {
        MemorySegments::default()
    }
}

impl SegmentSink for MemorySegments {
    fn put(&self, name: &str, body: Vec<u8>) -> BoxFuture<'_, Result<(), StoreError>> {
        let result = {
            let mut segments = self.segments.lock().expect("segments lock");
            if segments.contains_key(name) {
                Err(StoreError::Conflict(format!("segment {name}")))
            } else {
                segments.insert(name.to_owned(), body);
                Ok(())
            }
        };
        Box::pin(async move { result })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        let names = self
            .segments
            .lock()
            .expect("segments lock")
            .keys()
            .cloned()
            .collect();
        Box::pin(async move { Ok(names) })
    }

    fn get(&self, name: &str) -> BoxFuture<'_, Result<Vec<u8>, StoreError>> {
        let body = self
            .segments
            .lock()
            .expect("segments lock")
            .get(name)
            .cloned();
        let name = name.to_owned();
        Box::pin(async move { body.ok_or_else(|| StoreError::NotFound(format!("segment {name}"))) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryAuditLog;
    use continuum_wire::{AuditEvent, Outcome};

    fn event(n: u64) -> AuditEvent {
        AuditEvent {
            time_ms: 1_000 + n,
            caller: format!("caller-{n}"),
            caller_key: None,
            command: "ping".into(),
            outcome: Outcome::Allowed,
            reason: "trust".into(),
            forwarded_for: None,
            grant_issuer: None,
            grant_epoch: None,
        }
    }

    async fn log_of(events: impl IntoIterator<Item = AuditEvent>) -> MemoryAuditLog {
        let log = MemoryAuditLog::new();
        for event in events {
            log.append_durable(event).await.unwrap();
        }
        log
    }

    #[tokio::test]
    async fn shipped_segments_chain_and_match_the_local_log() {
        let log = log_of((1..=10).map(event)).await;
        let sink = MemorySegments::new();
        let shipper = Shipper::new();
        assert_eq!(shipper.ship_once(&log, &sink, 4).await.unwrap(), 4);
        assert_eq!(shipper.ship_once(&log, &sink, 4).await.unwrap(), 4);
        assert_eq!(shipper.ship_once(&log, &sink, 4).await.unwrap(), 2);
        assert_eq!(
            shipper.ship_once(&log, &sink, 4).await.unwrap(),
            0,
            "nothing new"
        );
        let names = sink.list().await.unwrap();
        assert_eq!(names[0], segment_name(1, 4));
        let report = verify_shipped(&log, &sink).await.unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(
            (
                report.segments,
                report.shipped_through,
                report.local_through
            ),
            (3, 10, 10)
        );

        // A new shipper (a restart) learns where shipping stopped.
        log.append_durable(event(11)).await.unwrap();
        assert_eq!(Shipper::new().ship_once(&log, &sink, 4).await.unwrap(), 1);
        assert!(verify_shipped(&log, &sink).await.unwrap().ok);
    }

    #[tokio::test]
    async fn a_truncated_or_rewritten_local_end_is_detected() {
        let log = log_of((1..=10).map(event)).await;
        let sink = MemorySegments::new();
        Shipper::new().ship_once(&log, &sink, 100).await.unwrap();

        let truncated = log_of((1..=7).map(event)).await;
        let report = verify_shipped(&truncated, &sink).await.unwrap();
        assert!(!report.ok);
        assert_eq!(report.first_bad_seq, Some(8), "{report:?}");
        assert!(report.problem.unwrap().contains("truncated"));

        let rewritten = log_of((1..=8).map(event).chain([event(99), event(10)])).await;
        let report = verify_shipped(&rewritten, &sink).await.unwrap();
        assert_eq!(report.first_bad_seq, Some(9), "{report:?}");
        assert!(report.problem.unwrap().contains("rewritten"));
    }

    #[tokio::test]
    async fn a_tampered_or_missing_segment_is_detected() {
        let log = log_of((1..=6).map(event)).await;
        let sink = MemorySegments::new();
        let shipper = Shipper::new();
        for _ in 0..3 {
            shipper.ship_once(&log, &sink, 2).await.unwrap();
        }
        // A segment rewritten in the sink: its records no longer seal.
        let name = segment_name(3, 4);
        let body = String::from_utf8(sink.get(&name).await.unwrap()).unwrap();
        let forged = MemorySegments::new();
        for existing in sink.list().await.unwrap() {
            let text = if existing == name {
                body.replace("caller-3", "caller-X").into_bytes()
            } else {
                sink.get(&existing).await.unwrap()
            };
            forged.put(&existing, text).await.unwrap();
        }
        let report = verify_shipped(&log, &forged).await.unwrap();
        assert_eq!(report.first_bad_seq, Some(3), "{report:?}");
        // A segment missing: the gap is named.
        let gapped = MemorySegments::new();
        for existing in sink.list().await.unwrap() {
            if existing != name {
                gapped
                    .put(&existing, sink.get(&existing).await.unwrap())
                    .await
                    .unwrap();
            }
        }
        let report = verify_shipped(&log, &gapped).await.unwrap();
        assert_eq!(report.first_bad_seq, Some(3), "{report:?}");
        assert!(report.problem.unwrap().contains("missing"));
        // A segment is written once.
        assert!(sink.put(&segment_name(1, 2), Vec::new()).await.is_err());
    }
}

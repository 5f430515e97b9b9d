//! The hash chain: how a record is sealed and how the chain is checked.

use super::{AuditEvent, Outcome};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A sealed audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// Unix time in milliseconds.
    pub time_ms: u64,
    /// Who called.
    pub caller: String,
    /// The command.
    pub command: String,
    /// Allowed or denied.
    pub outcome: Outcome,
    /// Why.
    pub reason: String,
    /// On whose behalf (claimed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_for: Option<String>,
    /// For a peer, the key its connection proved (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_key: Option<String>,
    /// Issuer key (hex) of the grant that admitted the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_issuer: Option<String>,
    /// Epoch of the grant that admitted the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_epoch: Option<u64>,
    /// How many identical decisions this record stands for (allowed calls
    /// queued in one group-commit window are rolled up); 1 when absent.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
    /// Time of the last decision rolled into this record (`timeMs` is the
    /// first); present only when `count` is above 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_time_ms: Option<u64>,
    /// Hash of the previous record (hex).
    pub prev_hash: String,
    /// Hash of this record (hex).
    pub hash: String,
}

/// The result of checking a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Whether every record is intact and linked.
    pub ok: bool,
    /// Records checked.
    pub records: u64,
    /// The first record that fails, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<u64>,
    /// What is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// When older records were compacted away: the last record dropped,
    /// whose hash the first kept record links to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_seq: Option<u64>,
}

/// Where a chain starts: the genesis, or the last record compaction dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBase {
    /// The last dropped record's seq (0 = nothing dropped).
    pub seq: u64,
    /// Its hash (the genesis hash when nothing was dropped).
    pub hash: String,
}

impl ChainBase {
    /// The start of a chain nothing was dropped from.
    pub fn genesis() -> ChainBase {
        ChainBase {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

fn one() -> u64 {
    1
}

fn is_one(count: &u64) -> bool {
    *count == 1
}

impl AuditRecord {
    /// Seals `event` as record `seq` after `prev_hash`.
    pub fn seal(seq: u64, event: AuditEvent, prev_hash: &str) -> AuditRecord {
        let time_ms = event.time_ms;
        AuditRecord::seal_rollup(seq, event, 1, time_ms, prev_hash)
    }

    /// Seals `count` identical decisions, the first at `event.time_ms` and
    /// the last at `last_time_ms`, as record `seq` after `prev_hash`.
    pub fn seal_rollup(
        seq: u64,
        event: AuditEvent,
        count: u64,
        last_time_ms: u64,
        prev_hash: &str,
    ) -> AuditRecord {
        let mut record = AuditRecord {
            seq,
            time_ms: event.time_ms,
            caller: event.caller,
            command: event.command,
            outcome: event.outcome,
            reason: event.reason,
            forwarded_for: event.forwarded_for,
            caller_key: event.caller_key,
            grant_issuer: event.grant_issuer,
            grant_epoch: event.grant_epoch,
            count,
            last_time_ms: (count != 1).then_some(last_time_ms),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        record
    }

    /// The hash this record should carry: SHA-256 over every field but
    /// `hash`, each length-prefixed so no two records encode alike. The
    /// fields added later (proven key, grant issuer and epoch; rollup count
    /// and last time) are appended only when present, so records written
    /// before them still verify.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"continuum-audit-v1");
        hasher.update(self.seq.to_be_bytes());
        hasher.update(self.time_ms.to_be_bytes());
        for field in [
            self.caller.as_str(),
            self.command.as_str(),
            self.outcome.as_str(),
            self.reason.as_str(),
            self.forwarded_for.as_deref().unwrap_or(""),
            self.prev_hash.as_str(),
        ] {
            hasher.update((field.len() as u32).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        hasher.update([u8::from(self.forwarded_for.is_some())]);
        if self.caller_key.is_some() || self.grant_issuer.is_some() || self.grant_epoch.is_some() {
            hasher.update(b"continuum-audit-v2");
            for field in [&self.caller_key, &self.grant_issuer] {
                let field = field.as_deref().unwrap_or("");
                hasher.update((field.len() as u32).to_be_bytes());
                hasher.update(field.as_bytes());
            }
            hasher.update([
                u8::from(self.caller_key.is_some()),
                u8::from(self.grant_issuer.is_some()),
                u8::from(self.grant_epoch.is_some()),
            ]);
            hasher.update(self.grant_epoch.unwrap_or(0).to_be_bytes());
        }
        if self.count != 1 || self.last_time_ms.is_some() {
            hasher.update(b"continuum-audit-rollup");
            hasher.update(self.count.to_be_bytes());
            hasher.update(self.last_time_ms.unwrap_or(0).to_be_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// Checks records given in `seq` order.
pub(crate) fn verify_chain<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
    base: &ChainBase,
) -> VerifyReport {
    let mut expected_prev = base.hash.clone();
    let mut count = 0;
    let base_seq = (base.seq > 0).then_some(base.seq);
    for (expected_seq, record) in (base.seq + 1..).zip(records) {
        count += 1;
        let problem = if record.seq != expected_seq {
            Some(format!(
                "expected seq {expected_seq}, found {} (a record is missing)",
                record.seq
            ))
        } else if record.prev_hash != expected_prev {
            Some("prev_hash does not match the previous record".to_owned())
        } else if record.compute_hash() != record.hash {
            Some("contents do not match the record's hash (edited)".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return VerifyReport {
                ok: false,
                records: count,
                first_bad_seq: Some(record.seq),
                problem: Some(problem),
                base_seq,
            };
        }
        expected_prev.clone_from(&record.hash);
    }
    VerifyReport {
        ok: true,
        records: count,
        first_bad_seq: None,
        problem: None,
        base_seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> AuditEvent {
        AuditEvent {
            time_ms: n,
            caller: "owner".into(),
            command: "ping".into(),
            outcome: Outcome::Allowed,
            reason: "trust".into(),
            forwarded_for: None,
            caller_key: None,
            grant_issuer: None,
            grant_epoch: None,
        }
    }

    fn chain(n: u64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let record = AuditRecord::seal(seq, event(seq), &prev);
                prev.clone_from(&record.hash);
                record
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        assert!(verify_chain(&chain(5), &ChainBase::genesis()).ok);
    }

    #[test]
    fn edited_record_is_detected() {
        let mut records = chain(5);
        records[2].reason = "grant".into();
        let report = verify_chain(&records, &ChainBase::genesis());
        assert_eq!(report.first_bad_seq, Some(3));
    }

    #[test]
    fn a_compacted_chain_verifies_from_its_base_and_only_from_it() {
        let records = chain(8);
        let base = ChainBase {
            seq: 3,
            hash: records[2].hash.clone(),
        };
        let report = verify_chain(&records[3..], &base);
        assert!(report.ok, "{report:?}");
        assert_eq!((report.records, report.base_seq), (5, Some(3)));
        // A different base, or records that do not start right after it, fail.
        let wrong = ChainBase {
            seq: 3,
            hash: records[1].hash.clone(),
        };
        assert!(!verify_chain(&records[3..], &wrong).ok);
        assert!(!verify_chain(&records[4..], &base).ok);
    }

    #[test]
    fn deleted_record_is_detected() {
        let mut records = chain(5);
        records.remove(1);
        assert_eq!(
            verify_chain(&records, &ChainBase::genesis()).first_bad_seq,
            Some(3)
        );
    }

    #[test]
    fn fields_cannot_bleed_into_each_other() {
        let mut a = event(1);
        a.caller = "ab".into();
        a.command = "c".into();
        let mut b = event(1);
        b.caller = "a".into();
        b.command = "bc".into();
        assert_ne!(
            AuditRecord::seal(1, a, GENESIS_HASH).hash,
            AuditRecord::seal(1, b, GENESIS_HASH).hash
        );
    }
}

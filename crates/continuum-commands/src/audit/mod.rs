//! `audit/tail` and `audit/verify`: reading the decision log. Owner-only.
//! With an audit bucket (`storage.toml`), `audit/verify --shipped` also
//! checks the shipped copy against the local log.

use continuum_kernel::command::{erase, Command, CommandError, Ctx, ErasedCommand, Module};
use continuum_store::audit::shipping::{verify_shipped, SegmentSink, ShippedReport};
use continuum_store::{AuditRecord, AuditStore, CompactReport, VerifyReport};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Contributes `audit/tail` and `audit/verify` over the audit store the gate
/// writes to.
pub struct AuditModule {
    store: Arc<dyn AuditStore>,
    shipped: Option<Arc<dyn SegmentSink>>,
}

impl AuditModule {
    /// A module over `store`.
    pub fn new(store: Arc<dyn AuditStore>) -> Self {
        AuditModule {
            store,
            shipped: None,
        }
    }

    /// `audit/verify --shipped` checks the segments in `sink` too.
    pub fn with_shipped(mut self, sink: Option<Arc<dyn SegmentSink>>) -> Self {
        self.shipped = sink;
        self
    }
}

impl Module for AuditModule {
    fn commands(&self) -> Vec<ErasedCommand> {
        vec![
            erase(AuditTail(Arc::clone(&self.store))),
            erase(AuditVerify(Arc::clone(&self.store), self.shipped.clone())),
            erase(AuditCompact(Arc::clone(&self.store))),
        ]
    }
}

/// The newest audit records.
pub struct AuditTail(Arc<dyn AuditStore>);

/// Params of `audit/tail`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TailParams {
    /// How many records (1-10000, default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000))]
    pub limit: Option<usize>,
}

/// Result of `audit/tail`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TailResult {
    /// Records, oldest first.
    pub records: Vec<AuditRecord>,
}

impl Command for AuditTail {
    const NAME: &'static str = "audit/tail";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str =
        "The newest audit records (every gate decision and owner-only action).";
    type Params = TailParams;
    type Output = TailResult;

    async fn run(&self, _: Ctx, p: TailParams) -> Result<TailResult, CommandError> {
        let audit = &self.0;
        audit
            .flush()
            .await
            .map_err(|e| CommandError::Unavailable(e.to_string()))?;
        let records = audit
            .tail(p.limit.unwrap_or(20))
            .await
            .map_err(|e| CommandError::Unavailable(e.to_string()))?;
        Ok(TailResult { records })
    }
}

/// Re-checks the whole hash chain.
pub struct AuditVerify(Arc<dyn AuditStore>, Option<Arc<dyn SegmentSink>>);

/// Params of `audit/verify`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyParams {
    /// Also check the copy shipped to the audit bucket: one unbroken chain
    /// that the local log agrees with (a truncated or rewritten local end is
    /// `tampered`).
    #[serde(default)]
    pub shipped: bool,
}

/// Result of `audit/verify`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct VerifyResult {
    /// The local chain.
    #[serde(flatten)]
    pub local: VerifyReport,
    /// The shipped copy, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipped: Option<ShippedReport>,
}

impl Command for AuditVerify {
    const NAME: &'static str = "audit/verify";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str =
        "Re-compute the audit hash chain (and, with --shipped, check the shipped copy against it); a broken chain is a `tampered` error naming the first bad record.";
    type Params = VerifyParams;
    type Output = VerifyResult;

    async fn run(&self, _: Ctx, p: VerifyParams) -> Result<VerifyResult, CommandError> {
        let report = self.local().await?;
        let shipped = match (&self.1, p.shipped) {
            (_, false) => None,
            (None, true) => {
                return Err(CommandError::Unavailable(
                    "no audit bucket is configured, so nothing is shipped (storage.toml)".into(),
                ))
            }
            (Some(sink), true) => {
                let shipped = verify_shipped(self.0.as_ref(), sink.as_ref())
                    .await
                    .map_err(|e| CommandError::Unavailable(e.to_string()))?;
                if !shipped.ok {
                    let message = format!(
                        "the shipped audit copy and the local log disagree at record {}: {}",
                        shipped
                            .first_bad_seq
                            .map_or("?".into(), |seq| seq.to_string()),
                        shipped.problem.as_deref().unwrap_or("unknown problem")
                    );
                    let detail = serde_json::to_value(&shipped).unwrap_or_default();
                    return Err(CommandError::Tampered { message, detail });
                }
                Some(shipped)
            }
        };
        Ok(VerifyResult {
            local: report,
            shipped,
        })
    }
}

impl AuditVerify {
    /// The local chain's report; a broken chain is `tampered`.
    async fn local(&self) -> Result<VerifyReport, CommandError> {
        let audit = &self.0;
        audit
            .flush()
            .await
            .map_err(|e| CommandError::Unavailable(e.to_string()))?;
        let report = audit
            .verify()
            .await
            .map_err(|e| CommandError::Unavailable(e.to_string()))?;
        if report.ok {
            return Ok(report);
        }
        // A broken chain is an error, so every client (and `cu`'s exit
        // status) sees it; the report rides along.
        let message = format!(
            "the audit chain breaks at record {}: {}",
            report
                .first_bad_seq
                .map_or("?".into(), |seq| seq.to_string()),
            report.problem.as_deref().unwrap_or("unknown problem")
        );
        let detail = serde_json::to_value(&report).unwrap_or_default();
        Err(CommandError::Tampered { message, detail })
    }
}

/// Retention: drops the oldest records, keeping the chain verifiable.
pub struct AuditCompact(Arc<dyn AuditStore>);

/// Params of `audit/compact`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompactParams {
    /// How many of the newest records to keep (at least 1).
    #[schemars(range(min = 1))]
    pub keep: u64,
}

impl Command for AuditCompact {
    const NAME: &'static str = "audit/compact";
    const DESCRIPTION: &'static str = "Drop all but the newest `keep` audit records; the chain still verifies from the last dropped record, whose hash the node key signs.";
    const DESTRUCTIVE: bool = true;
    type Params = CompactParams;
    type Output = CompactReport;

    async fn run(&self, _: Ctx, p: CompactParams) -> Result<CompactReport, CommandError> {
        self.0
            .compact(p.keep)
            .await
            .map_err(|e| CommandError::Unavailable(e.to_string()))
    }
}

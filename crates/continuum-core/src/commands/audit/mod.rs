//! `audit/tail` and `audit/verify`: reading the decision log. Owner-only.

use crate::audit::{AuditRecord, VerifyReport};
use crate::command::{Command, CommandError, Ctx, NoParams};
use crate::register_command;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The newest audit records.
#[derive(Default)]
pub struct AuditTail;

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
    const DESCRIPTION: &'static str =
        "The newest audit records (every gate decision and owner-only action).";
    type Params = TailParams;
    type Output = TailResult;

    async fn run(&self, ctx: Ctx, p: TailParams) -> Result<TailResult, CommandError> {
        let audit = ctx.dispatcher().audit();
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

register_command!(AuditTail);

/// Re-checks the whole hash chain.
#[derive(Default)]
pub struct AuditVerify;

impl Command for AuditVerify {
    const NAME: &'static str = "audit/verify";
    const DESCRIPTION: &'static str =
        "Re-compute the audit hash chain and report the first tampered record.";
    type Params = NoParams;
    type Output = VerifyReport;

    async fn run(&self, ctx: Ctx, _: NoParams) -> Result<VerifyReport, CommandError> {
        let audit = ctx.dispatcher().audit();
        audit
            .flush()
            .await
            .map_err(|e| CommandError::Unavailable(e.to_string()))?;
        audit
            .verify()
            .await
            .map_err(|e| CommandError::Unavailable(e.to_string()))
    }
}

register_command!(AuditVerify);

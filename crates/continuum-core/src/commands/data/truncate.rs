//! `data/truncate`: delete every document of one collection. Owner-only.

use crate::command::{Command, CommandError, Ctx};
use crate::store::DocumentStore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Empties one collection.
pub struct DataTruncate(pub(super) Arc<dyn DocumentStore>);

/// Params of `data/truncate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TruncateParams {
    /// Collection name.
    pub collection: String,
}

/// How many documents a destructive command removed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Removed {
    /// Documents deleted.
    pub deleted: u64,
}

impl Command for DataTruncate {
    const NAME: &'static str = "data/truncate";
    const DESCRIPTION: &'static str = "Delete every document of one collection.";
    type Params = TruncateParams;
    type Output = Removed;

    async fn run(&self, _: Ctx, p: TruncateParams) -> Result<Removed, CommandError> {
        crate::store::documents::check_collection(&p.collection)?;
        Ok(Removed {
            deleted: self.0.truncate(&p.collection).await?,
        })
    }
}

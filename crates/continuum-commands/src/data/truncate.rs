//! `data/truncate`: delete every document of one collection. Owner-only.

use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_store::DocumentStore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Empties one collection.
pub(super) struct DataTruncate(pub(super) Arc<dyn DocumentStore>);

/// Params of `data/truncate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TruncateParams {
    /// Collection name.
    pub collection: String,
}

/// How many documents a destructive command removed.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Removed {
    /// Documents deleted.
    pub deleted: u64,
}

impl Command for DataTruncate {
    const NAME: &'static str = "data/truncate";
    const DESCRIPTION: &'static str = "Delete every document of one collection.";
    const DESTRUCTIVE: bool = true;
    type Params = TruncateParams;
    type Output = Removed;

    async fn run(&self, _: Ctx, p: TruncateParams) -> Result<Removed, CommandError> {
        continuum_store::check_collection(&p.collection).map_err(store_error)?;
        Ok(Removed {
            deleted: self.0.truncate(&p.collection).await.map_err(store_error)?,
        })
    }
}

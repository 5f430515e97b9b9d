//! `data/clear-all`: delete every document of every collection. Owner-only,
//! and it wants `--confirm`.

use super::truncate::Removed;
use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_store::DocumentStore;
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Empties every collection.
pub(super) struct DataClearAll(pub(super) Arc<dyn DocumentStore>);

/// Params of `data/clear-all`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ClearAllParams {
    /// Must be true: this deletes every document.
    pub confirm: bool,
}

impl Command for DataClearAll {
    const NAME: &'static str = "data/clear-all";
    const DESCRIPTION: &'static str =
        "Delete every document of every collection (needs --confirm).";
    const DESTRUCTIVE: bool = true;
    type Params = ClearAllParams;
    type Output = Removed;

    async fn run(&self, _: Ctx, p: ClearAllParams) -> Result<Removed, CommandError> {
        if !p.confirm {
            return Err(CommandError::invalid_params(
                "/confirm",
                "must be true to delete every document",
            ));
        }
        Ok(Removed {
            deleted: self.0.clear_all().await.map_err(store_error)?,
        })
    }
}

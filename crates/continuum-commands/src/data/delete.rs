//! `data/delete`: delete one document. Owner-only.

use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_store::DocumentStore;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Deletes one document.
pub(super) struct DataDelete(pub(super) Arc<dyn DocumentStore>);

/// Params of `data/delete`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeleteParams {
    /// Collection name.
    pub collection: String,
    /// Document id.
    pub id: String,
}

/// Result of `data/delete`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct DeleteResult {
    /// Whether a document was deleted.
    pub deleted: bool,
}

impl Command for DataDelete {
    const NAME: &'static str = "data/delete";
    const DESCRIPTION: &'static str = "Delete one document.";
    const DESTRUCTIVE: bool = true;
    type Params = DeleteParams;
    type Output = DeleteResult;

    async fn run(&self, _: Ctx, p: DeleteParams) -> Result<DeleteResult, CommandError> {
        Ok(DeleteResult {
            deleted: self
                .0
                .delete(&p.collection, &p.id)
                .await
                .map_err(store_error)?,
        })
    }
}

//! `data/update`: merge fields into a document. Owner-only (it overwrites).

use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_store::{Document, DocumentStore};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Merges a patch into a document.
pub(super) struct DataUpdate(pub(super) Arc<dyn DocumentStore>);

/// Params of `data/update`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateParams {
    /// Collection name.
    pub collection: String,
    /// Document id.
    pub id: String,
    /// Fields to merge (JSON merge patch: `null` removes a field).
    pub data: Map<String, Value>,
}

impl Command for DataUpdate {
    const NAME: &'static str = "data/update";
    const DESCRIPTION: &'static str = "Merge fields into a document (null removes a field).";
    const DESTRUCTIVE: bool = true;
    type Params = UpdateParams;
    type Output = Document;

    async fn run(&self, _: Ctx, p: UpdateParams) -> Result<Document, CommandError> {
        self.0
            .update(&p.collection, &p.id, p.data)
            .await
            .map_err(store_error)
    }
}

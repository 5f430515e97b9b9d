//! `data/read`: one document by id.

use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_store::{Document, DocumentStore};
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;

/// Reads one document.
pub(super) struct DataRead(pub(super) Arc<dyn DocumentStore>);

/// Params of `data/read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReadParams {
    /// Collection name.
    pub collection: String,
    /// Document id.
    pub id: String,
}

impl Command for DataRead {
    const NAME: &'static str = "data/read";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str = "Read one document by id.";
    const ACCESS: Access = Access::AiSafe;
    type Params = ReadParams;
    type Output = Document;

    async fn run(&self, _: Ctx, p: ReadParams) -> Result<Document, CommandError> {
        self.0
            .read(&p.collection, &p.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| CommandError::NotFound(format!("{}/{}", p.collection, p.id)))
    }
}

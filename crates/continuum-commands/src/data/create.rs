//! `data/create`: insert a document.

use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_store::{Document, DocumentStore};
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Inserts a document.
pub(super) struct DataCreate(pub(super) Arc<dyn DocumentStore>);

/// Params of `data/create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateParams {
    /// Collection name (letters, digits, '_', '-', '.').
    pub collection: String,
    /// Id; generated (time-ordered) when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// The document, a JSON object.
    pub data: Map<String, Value>,
}

impl Command for DataCreate {
    const NAME: &'static str = "data/create";
    const DESCRIPTION: &'static str = "Create a JSON document in a collection.";
    const ACCESS: Access = Access::AiSafe;
    type Params = CreateParams;
    type Output = Document;

    async fn run(&self, _: Ctx, p: CreateParams) -> Result<Document, CommandError> {
        if p.id
            .as_deref()
            .is_some_and(|id| id.is_empty() || id.len() > 128)
        {
            return Err(CommandError::invalid_params(
                "/id",
                "must be 1-128 characters",
            ));
        }
        self.0
            .create(&p.collection, p.id, p.data)
            .await
            .map_err(store_error)
    }
}

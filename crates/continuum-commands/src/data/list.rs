//! `data/list`: documents of a collection, filtered, ordered and paged.

use crate::store_error;
use continuum_kernel::command::{Command, CommandError, Ctx};
use continuum_store::{Document, DocumentStore, ListQuery, Order};
use continuum_wire::Access;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most documents one call returns.
const MAX_LIMIT: usize = 1000;

/// Lists documents.
pub(super) struct DataList(pub(super) Arc<dyn DocumentStore>);

/// Params of `data/list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ListParams {
    /// Collection name.
    pub collection: String,
    /// Field equality filters: `{"kind": "note", "meta.lang": "en"}`.
    #[serde(default)]
    pub filter: BTreeMap<String, Value>,
    /// Most documents to return (1-1000, default 100).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<usize>,
    /// Documents to skip.
    #[serde(default)]
    pub offset: usize,
    /// Field to order by (default: creation order).
    #[serde(default)]
    pub order_by: Option<String>,
    /// Sort direction.
    #[serde(default)]
    pub order: Order,
}

/// Result of `data/list`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct ListResult {
    /// The matching documents.
    pub documents: Vec<Document>,
    /// How many were returned.
    pub count: usize,
}

impl Command for DataList {
    const NAME: &'static str = "data/list";
    const READ_ONLY: bool = true;
    const DESCRIPTION: &'static str =
        "List documents of a collection: filter by field equality, order, limit, offset.";
    const ACCESS: Access = Access::AiSafe;
    type Params = ListParams;
    type Output = ListResult;

    async fn run(&self, _: Ctx, p: ListParams) -> Result<ListResult, CommandError> {
        let query = ListQuery {
            filter: p.filter,
            order_by: p.order_by,
            order: p.order,
            limit: p.limit.unwrap_or(100).min(MAX_LIMIT),
            offset: p.offset,
        };
        let documents = self
            .0
            .list(&p.collection, query)
            .await
            .map_err(store_error)?;
        Ok(ListResult {
            count: documents.len(),
            documents,
        })
    }
}

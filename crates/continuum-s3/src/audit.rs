//! Shipped audit segments on S3 (issue 12 item 7): the store crate's
//! [`SegmentSink`] in the audit bucket, key `[<class prefix>/]<wallet>/<segment>`.
//! Each segment is written once (`If-None-Match: *`) under object lock
//! COMPLIANCE until a retention date: no one deletes or replaces it before
//! then, whatever credentials they hold. The audit session's policy allows
//! get, put and retention only, never delete.

use crate::buckets::AUDIT_RETENTION_DAYS;
use crate::clients::S3Clients;
use crate::config::{ClassStorage, DataClass};
use crate::errors::{backend, bad_wallet, precondition_failed};
use crate::policy::{check_wallet, Scope};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::ObjectLockMode;
use continuum_store::audit::shipping::{segment_range, SegmentSink};
use continuum_store::{BoxFuture, StoreError};
use std::time::{Duration, SystemTime};

/// One node's shipped audit segments, in its wallet's prefix of the audit bucket.
#[derive(Debug, Clone)]
pub struct S3AuditSink {
    clients: S3Clients,
    wallet: String,
    retention: Duration,
}

impl S3AuditSink {
    /// The sink for `wallet` (the node's audit wallet, e.g. `node/<id>`),
    /// each segment retained [`AUDIT_RETENTION_DAYS`].
    pub fn new(clients: S3Clients, wallet: &str) -> Result<S3AuditSink, StoreError> {
        check_wallet(wallet).map_err(|err| bad_wallet("/wallet", err))?;
        Ok(S3AuditSink {
            clients,
            wallet: wallet.to_owned(),
            retention: Duration::from_secs(AUDIT_RETENTION_DAYS as u64 * 24 * 3600),
        })
    }

    /// The same sink retaining each new segment for `retention` instead.
    pub fn with_retention(mut self, retention: Duration) -> S3AuditSink {
        self.retention = retention;
        self
    }

    fn storage(&self) -> &ClassStorage {
        &self.clients.config().audit
    }

    /// The object key of segment `name`.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.storage().wallet_prefix(&self.wallet))
    }

    fn client(&self) -> Result<aws_sdk_s3::Client, StoreError> {
        self.clients
            .client(DataClass::Audit, Scope::Wallet(&self.wallet))
            .map_err(|err| bad_wallet("/wallet", err))
    }

    async fn put_segment(&self, name: &str, body: Vec<u8>) -> Result<(), StoreError> {
        if segment_range(name).is_none() {
            return Err(StoreError::invalid(
                "/name",
                format!("{name:?} is not a segment name"),
            ));
        }
        let key = self.key(name);
        let until = DateTime::from(SystemTime::now() + self.retention);
        let put = self
            .client()?
            .put_object()
            .bucket(&self.storage().bucket)
            .key(&key)
            .content_type("application/x-ndjson")
            .if_none_match("*")
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(until)
            .body(ByteStream::from(body))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(err) if precondition_failed(&err) => {
                Err(StoreError::Conflict(format!("segment {name}")))
            }
            Err(err) => Err(backend("PutObject", &key, &err)),
        }
    }

    async fn segment_names(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client()?;
        let prefix = self.storage().wallet_prefix(&self.wallet);
        let mut pages = client
            .list_objects_v2()
            .bucket(&self.storage().bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| backend("ListObjectsV2", &prefix, &err))?;
            names.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key()?.strip_prefix(&prefix))
                    .filter(|name| !name.contains('/'))
                    .map(str::to_owned),
            );
        }
        names.sort();
        Ok(names)
    }

    async fn segment(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let key = self.key(name);
        let output = self
            .client()?
            .get_object()
            .bucket(&self.storage().bucket)
            .key(&key)
            .send()
            .await;
        match output {
            Ok(output) => Ok(output
                .body
                .collect()
                .await
                .map_err(|err| StoreError::Backend(format!("s3 GetObject {key}: body: {err}")))?
                .to_vec()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                Err(StoreError::NotFound(format!("segment {name}")))
            }
            Err(err) => Err(backend("GetObject", &key, &err)),
        }
    }
}

impl SegmentSink for S3AuditSink {
    fn put(&self, name: &str, body: Vec<u8>) -> BoxFuture<'_, Result<(), StoreError>> {
        let name = name.to_owned();
        Box::pin(async move { self.put_segment(&name, body).await })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(self.segment_names())
    }

    fn get(&self, name: &str) -> BoxFuture<'_, Result<Vec<u8>, StoreError>> {
        let name = name.to_owned();
        Box::pin(async move { self.segment(&name).await })
    }
}

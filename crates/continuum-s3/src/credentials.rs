//! Sealed credentials on S3: one object per item in the vault bucket, key
//! `[<class prefix>/]<wallet>/<service>/<name>`, the vault blob as the body,
//! the times in user metadata. Each request is signed with credentials
//! scoped to the item's wallet (listing every wallet uses the class scope).

use crate::clients::S3Clients;
use crate::config::{ClassStorage, DataClass};
use crate::errors::{backend, bad_wallet, precondition_failed};
use crate::policy::{check_wallet, Scope};
use aws_sdk_s3::primitives::ByteStream;
use continuum_store::{
    BoxFuture, CredentialId, CredentialInfo, CredentialRecord, CredentialStore, StoreError,
};
use futures_util::{StreamExt, TryStreamExt};
use std::collections::HashMap;

/// User metadata: first stored, Unix ms.
const CREATED: &str = "created-at-ms";
/// User metadata: last replaced, Unix ms.
const UPDATED: &str = "updated-at-ms";
/// Conditional writes lost to a concurrent writer before `put` gives up.
const PUT_ATTEMPTS: usize = 5;
/// Metadata reads in flight while listing.
const LIST_CONCURRENCY: usize = 8;

/// Sealed credentials in the vault bucket.
#[derive(Debug, Clone)]
pub struct S3CredentialStore {
    clients: S3Clients,
}

impl S3CredentialStore {
    /// The store on `clients`' vault class.
    pub fn new(clients: S3Clients) -> S3CredentialStore {
        S3CredentialStore { clients }
    }

    fn storage(&self) -> &ClassStorage {
        &self.clients.config().vault
    }

    /// The object key of `id`.
    pub fn key(&self, id: &CredentialId) -> String {
        format!(
            "{}{}/{}",
            self.storage().wallet_prefix(&id.wallet),
            id.service,
            id.name
        )
    }

    fn client(&self, scope: Scope<'_>) -> Result<aws_sdk_s3::Client, StoreError> {
        self.clients
            .client(DataClass::Vault, scope)
            .map_err(|err| bad_wallet("/wallet", err))
    }

    /// The id a listed key names, if it names one.
    fn id_of(&self, key: &str) -> Option<CredentialId> {
        let rest = key.strip_prefix(&self.storage().class_prefix())?;
        let mut parts = rest.rsplitn(3, '/');
        let (name, service, wallet) = (parts.next()?, parts.next()?, parts.next()?);
        let id = CredentialId::new(wallet, service, name).ok()?;
        check_wallet(&id.wallet).ok().map(|()| id)
    }

    async fn put_record(&self, record: CredentialRecord) -> Result<bool, StoreError> {
        let id = &record.id;
        check_wallet(&id.wallet).map_err(|err| bad_wallet("/wallet", err))?;
        let client = self.client(Scope::Wallet(&id.wallet))?;
        let (bucket, key) = (&self.storage().bucket, self.key(id));
        for _ in 0..PUT_ATTEMPTS {
            // The creation time of an item being replaced is kept; the write
            // is conditional on what was read, so a concurrent writer makes
            // this one start over instead of being overwritten blindly.
            let head = client.head_object().bucket(bucket).key(&key).send().await;
            let previous = match head {
                Ok(head) => Some((
                    head.e_tag().unwrap_or_default().to_owned(),
                    millis(head.metadata(), CREATED),
                )),
                Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => None,
                Err(err) => return Err(backend("HeadObject", &key, &err)),
            };
            let created = previous
                .as_ref()
                .and_then(|(_, created)| *created)
                .unwrap_or(record.created_at_ms);
            let put = client
                .put_object()
                .bucket(bucket)
                .key(&key)
                .content_type("application/octet-stream")
                .metadata(CREATED, created.to_string())
                .metadata(UPDATED, record.updated_at_ms.to_string())
                .body(ByteStream::from(record.blob.clone()));
            let put = match &previous {
                Some((etag, _)) => put.if_match(etag),
                None => put.if_none_match("*"),
            };
            match put.send().await {
                Ok(_) => return Ok(previous.is_some()),
                Err(err) if precondition_failed(&err) => continue,
                Err(err) => return Err(backend("PutObject", &key, &err)),
            }
        }
        Err(StoreError::Backend(format!(
            "s3 PutObject {key}: {PUT_ATTEMPTS} conditional writes in a row lost to concurrent writers"
        )))
    }

    async fn get_record(&self, id: &CredentialId) -> Result<Option<CredentialRecord>, StoreError> {
        let client = self.client(Scope::Wallet(&id.wallet))?;
        let key = self.key(id);
        let output = client
            .get_object()
            .bucket(&self.storage().bucket)
            .key(&key)
            .send()
            .await;
        let output = match output {
            Ok(output) => output,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None)
            }
            Err(err) => return Err(backend("GetObject", &key, &err)),
        };
        let modified = output
            .last_modified()
            .and_then(|at| at.to_millis().ok())
            .map_or(0, |ms| ms.max(0) as u64);
        let created = millis(output.metadata(), CREATED).unwrap_or(modified);
        let updated = millis(output.metadata(), UPDATED).unwrap_or(modified);
        let blob = output
            .body
            .collect()
            .await
            .map_err(|err| StoreError::Backend(format!("s3 GetObject {key}: body: {err}")))?
            .to_vec();
        Ok(Some(CredentialRecord {
            id: id.clone(),
            blob,
            created_at_ms: created,
            updated_at_ms: updated,
        }))
    }

    /// The item's times, or `None` if it has gone since it was listed.
    async fn info(
        &self,
        client: &aws_sdk_s3::Client,
        id: CredentialId,
    ) -> Result<Option<CredentialInfo>, StoreError> {
        let key = self.key(&id);
        let head = client
            .head_object()
            .bucket(&self.storage().bucket)
            .key(&key)
            .send()
            .await;
        let head = match head {
            Ok(head) => head,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {
                return Ok(None)
            }
            Err(err) => return Err(backend("HeadObject", &key, &err)),
        };
        let modified = head
            .last_modified()
            .and_then(|at| at.to_millis().ok())
            .map_or(0, |ms| ms.max(0) as u64);
        Ok(Some(CredentialInfo {
            created_at_ms: millis(head.metadata(), CREATED).unwrap_or(modified),
            updated_at_ms: millis(head.metadata(), UPDATED).unwrap_or(modified),
            wallet: id.wallet,
            service: id.service,
            name: id.name,
        }))
    }

    async fn list_items(&self, wallet: Option<&str>) -> Result<Vec<CredentialInfo>, StoreError> {
        let scope = match wallet {
            Some(wallet) => {
                check_wallet(wallet).map_err(|err| bad_wallet("/wallet", err))?;
                Scope::Wallet(wallet)
            }
            None => Scope::Class,
        };
        let client = self.client(scope)?;
        let prefix = crate::policy::scope_prefix(self.storage(), scope);
        let mut pages = client
            .list_objects_v2()
            .bucket(&self.storage().bucket)
            .set_prefix((!prefix.is_empty()).then(|| prefix.clone()))
            .into_paginator()
            .send();
        let mut ids = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| backend("ListObjectsV2", &prefix, &err))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                match self.id_of(key) {
                    Some(id) => ids.push(id),
                    None => tracing::warn!(key, "not a credential key; left out of the listing"),
                }
            }
        }
        let client = &client;
        let mut items: Vec<CredentialInfo> = futures_util::stream::iter(ids)
            .map(|id| self.info(client, id))
            .buffer_unordered(LIST_CONCURRENCY)
            .try_filter_map(|info| async move { Ok(info) })
            .try_collect()
            .await?;
        items.sort_by(|a, b| {
            (&a.wallet, &a.service, &a.name).cmp(&(&b.wallet, &b.service, &b.name))
        });
        Ok(items)
    }

    async fn delete_item(&self, id: &CredentialId) -> Result<bool, StoreError> {
        let client = self.client(Scope::Wallet(&id.wallet))?;
        let (bucket, key) = (&self.storage().bucket, self.key(id));
        match client.head_object().bucket(bucket).key(&key).send().await {
            Ok(_) => {}
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {
                return Ok(false)
            }
            Err(err) => return Err(backend("HeadObject", &key, &err)),
        }
        // Versioned bucket: this adds a delete marker; the sealed versions
        // below it expire by the bucket's lifecycle rule.
        client
            .delete_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|err| backend("DeleteObject", &key, &err))?;
        Ok(true)
    }
}

/// A Unix-ms time from user metadata.
fn millis(metadata: Option<&HashMap<String, String>>, name: &str) -> Option<u64> {
    metadata?.get(name)?.parse().ok()
}

impl CredentialStore for S3CredentialStore {
    fn put(&self, record: CredentialRecord) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(self.put_record(record))
    }

    fn get(
        &self,
        id: &CredentialId,
    ) -> BoxFuture<'_, Result<Option<CredentialRecord>, StoreError>> {
        let id = id.clone();
        Box::pin(async move { self.get_record(&id).await })
    }

    fn list(&self, wallet: Option<&str>) -> BoxFuture<'_, Result<Vec<CredentialInfo>, StoreError>> {
        let wallet = wallet.map(str::to_owned);
        Box::pin(async move { self.list_items(wallet.as_deref()).await })
    }

    fn delete(&self, id: &CredentialId) -> BoxFuture<'_, Result<bool, StoreError>> {
        let id = id.clone();
        Box::pin(async move { self.delete_item(&id).await })
    }
}

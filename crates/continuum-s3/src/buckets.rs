//! What each data class's bucket needs, as data, and a provisioner that
//! applies it with an administrator's client (operators may use their own
//! tooling instead; these settings are the specification either way).

use crate::config::{DataClass, S3Config};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketVersioningStatus, DefaultRetention, ExpirationStatus,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectLockConfiguration,
    ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};

/// A bucket's settings for one data class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketSettings {
    /// Keep every version (a replaced or deleted item can be recovered).
    pub versioning: bool,
    /// Server-side encryption by default (SSE-S3). Vault blobs are sealed
    /// before they leave the process anyway; this covers memories.
    pub default_encryption: bool,
    /// Object lock in COMPLIANCE mode with this default retention, in days:
    /// no one, not even the account root, deletes a version before then.
    pub compliance_retention_days: Option<i32>,
    /// Replaced and deleted versions expire after this many days.
    pub noncurrent_expiry_days: Option<i32>,
}

/// Default retention of shipped audit segments.
pub const AUDIT_RETENTION_DAYS: i32 = 365;

impl BucketSettings {
    /// The settings `class` needs.
    pub fn for_class(class: DataClass) -> BucketSettings {
        match class {
            DataClass::Vault | DataClass::Memory => BucketSettings {
                versioning: true,
                default_encryption: true,
                compliance_retention_days: None,
                noncurrent_expiry_days: Some(30),
            },
            DataClass::Audit => BucketSettings {
                versioning: true,
                default_encryption: true,
                compliance_retention_days: Some(AUDIT_RETENTION_DAYS),
                noncurrent_expiry_days: None,
            },
        }
    }
}

/// Why provisioning stopped.
#[derive(Debug, Clone, thiserror::Error)]
#[error("provisioning bucket {bucket}: {step}: {message}")]
pub struct ProvisionError {
    /// The bucket.
    pub bucket: String,
    /// What was being set.
    pub step: &'static str,
    /// S3's error.
    pub message: String,
}

/// Creates each configured bucket with its class's settings, using `admin`
/// (an S3 client allowed to create and configure buckets). A bucket shared
/// by several classes (development) gets versioning and encryption, object
/// lock if it holds audit, but no default retention (which would lock every
/// class's objects) and no lifecycle rule.
pub async fn provision(
    admin: &aws_sdk_s3::Client,
    config: &S3Config,
) -> Result<(), ProvisionError> {
    let mut done: Vec<&str> = Vec::new();
    for class in DataClass::ALL {
        let bucket = config.class(class).bucket.as_str();
        if done.contains(&bucket) {
            continue;
        }
        done.push(bucket);
        let classes: Vec<DataClass> = DataClass::ALL
            .into_iter()
            .filter(|c| config.class(*c).bucket == bucket)
            .collect();
        let shared = classes.len() > 1;
        let settings = BucketSettings::for_class(class);
        let lock = classes.contains(&DataClass::Audit);
        apply(admin, config, bucket, settings, lock, shared).await?;
    }
    Ok(())
}

async fn apply(
    admin: &aws_sdk_s3::Client,
    config: &S3Config,
    bucket: &str,
    settings: BucketSettings,
    lock: bool,
    shared: bool,
) -> Result<(), ProvisionError> {
    let fail = |step: &'static str| {
        move |err: &dyn std::fmt::Display| ProvisionError {
            bucket: bucket.to_owned(),
            step,
            message: err.to_string(),
        }
    };
    let mut create = admin.create_bucket().bucket(bucket);
    if config.region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(config.region.as_str().into())
                .build(),
        );
    }
    if lock {
        create = create.object_lock_enabled_for_bucket(true);
    }
    create
        .send()
        .await
        .map_err(|err| fail("create")(&DisplayErrorContext(&err)))?;
    if settings.versioning {
        admin
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(|err| fail("versioning")(&DisplayErrorContext(&err)))?;
    }
    if settings.default_encryption {
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .map_err(|err| fail("encryption")(&err))?,
            )
            .build();
        admin
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()
                    .map_err(|err| fail("encryption")(&err))?,
            )
            .send()
            .await
            .map_err(|err| fail("encryption")(&DisplayErrorContext(&err)))?;
    }
    if let (Some(days), false) = (settings.compliance_retention_days, shared) {
        admin
            .put_object_lock_configuration()
            .bucket(bucket)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(ObjectLockRetentionMode::Compliance)
                                    .days(days)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|err| fail("object lock")(&DisplayErrorContext(&err)))?;
    }
    if let (Some(days), false) = (settings.noncurrent_expiry_days, shared) {
        let rule = LifecycleRule::builder()
            .id("expire-replaced-versions")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(days)
                    .build(),
            )
            .build()
            .map_err(|err| fail("lifecycle")(&err))?;
        admin
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(rule)
                    .build()
                    .map_err(|err| fail("lifecycle")(&err))?,
            )
            .send()
            .await
            .map_err(|err| fail("lifecycle")(&DisplayErrorContext(&err)))?;
    }
    Ok(())
}

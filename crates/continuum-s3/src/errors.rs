//! SDK errors as store errors: the operation, the key and S3's code, never a
//! credential (the SDK's errors carry none; the broker's carry none).

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use continuum_store::StoreError;

/// A backend error for `operation` on `key`.
pub(crate) fn backend<E, R>(operation: &str, key: &str, err: &SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(format!(
        "s3 {operation} {key}: {}",
        DisplayErrorContext(err)
    ))
}

/// Whether S3 refused a conditional write (`If-Match` / `If-None-Match`).
pub(crate) fn precondition_failed<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some("PreconditionFailed" | "ConditionalRequestConflict")
        ),
        _ => false,
    }
}

/// A bad wallet as the store's `Invalid` at `field`.
pub(crate) fn bad_wallet(field: &str, err: crate::policy::BadWallet) -> StoreError {
    StoreError::invalid(field, err.to_string())
}

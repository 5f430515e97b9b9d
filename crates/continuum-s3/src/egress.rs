//! The egress policy (ADR 0014) on the SDK's clients: an interceptor asks
//! [`EgressPolicy::check`] with the adapter's name (`s3`, `sts`) and the
//! request's host before anything is sent. A refusal aborts the request;
//! the error's source chain holds the [`EgressDenied`] ([`egress_denied`]
//! finds it), and the daemon's policy has recorded it in the audit log.

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use continuum_egress::{EgressDenied, EgressPolicy};
use std::sync::Arc;

/// The adapter name S3 requests are checked under.
pub const S3_ADAPTER: &str = "s3";
/// The adapter name STS requests are checked under.
pub const STS_ADAPTER: &str = "sts";

/// Asks the policy before each request leaves.
#[derive(Clone)]
pub struct EgressInterceptor {
    policy: Arc<dyn EgressPolicy>,
    adapter: &'static str,
}

impl std::fmt::Debug for EgressInterceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EgressInterceptor")
            .field("adapter", &self.adapter)
            .finish_non_exhaustive()
    }
}

impl EgressInterceptor {
    /// Checks requests as `adapter` against `policy`.
    pub fn new(policy: Arc<dyn EgressPolicy>, adapter: &'static str) -> EgressInterceptor {
        EgressInterceptor { policy, adapter }
    }
}

impl Intercept for EgressInterceptor {
    fn name(&self) -> &'static str {
        "EgressInterceptor"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = context.request().uri();
        let host = host_of(uri).ok_or_else(|| format!("no host in {uri}"))?;
        self.policy.check(self.adapter, host)?;
        Ok(())
    }
}

/// The host of an absolute URI (`[::1]` for IPv6, without the port).
fn host_of(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if authority.starts_with('[') {
        &authority[..=authority.find(']')?]
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

/// The egress refusal behind `err`, if that is why it failed.
pub fn egress_denied(err: &(dyn std::error::Error + 'static)) -> Option<EgressDenied> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(denied) = err.downcast_ref::<EgressDenied>() {
            return Some(denied.clone());
        }
        current = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_come_out_of_uris() {
        for (uri, host) in [
            (
                "https://s3.eu-west-1.amazonaws.com/bucket/key?x=1",
                "s3.eu-west-1.amazonaws.com",
            ),
            ("http://127.0.0.1:5000/", "127.0.0.1"),
            ("http://127.0.0.1:5000", "127.0.0.1"),
            ("https://user@host.example:443/p", "host.example"),
            ("http://[::1]:9000/b", "[::1]"),
        ] {
            assert_eq!(host_of(uri), Some(host), "{uri}");
        }
        assert_eq!(host_of("/relative"), None);
        assert_eq!(host_of("http:///x"), None);
    }
}

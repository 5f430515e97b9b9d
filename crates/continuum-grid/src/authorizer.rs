//! The production [`GrantCheck`]: `continuum_grant`'s pipeline with this node's
//! policy, its durable epoch watermarks, and a cache of checked signatures.
//!
//! The cache only skips the ed25519 check, which is a pure function of the
//! grant's bytes. Key binding (against the key the connection authenticated),
//! mesh, validity window, epoch watermark and capability run on every call.
//! Only grants whose signature verified under a pinned issuer are cached, so
//! strangers cannot fill it; it is bounded anyway.

use continuum_grant::{
    authorize_checked, preview_checked, AuthorizedGrant, CheckedSignature, EpochWatermarks,
    GrantVerdict, SignedGrant, VerifyPolicy,
};
use continuum_kernel::clock::now_ms;
use continuum_kernel::command::BoxFuture;
use continuum_kernel::credential::{GrantCheck, GrantUse, IssuingPersona};
use continuum_kernel::gate::PeerCaller;
use dashmap::DashMap;
use std::sync::Arc;

/// How far an issuer's clock may be off ours.
pub const MAX_CLOCK_SKEW_MS: u64 = 30_000;

/// Checked signatures kept at most; the cache is cleared when it fills.
const CACHE_CAPACITY: usize = 4096;

/// `authorize_checked` or `preview_checked`: the per-call checks after the
/// signature.
type Pipeline = fn(
    &CheckedSignature,
    &[u8; 32],
    &str,
    &VerifyPolicy,
    &dyn EpochWatermarks,
    u64,
) -> Result<AuthorizedGrant, GrantVerdict>;

/// This node's personas as grant issuers, looked up at decision time: a
/// retired persona's grants stop working at once, and a trust change applies
/// to the next call.
pub trait PersonaIssuers: Send + Sync {
    /// The active persona whose public key is `key`.
    fn persona(&self, key: &[u8; 32]) -> Option<IssuingPersona>;
}

/// Authorizes grants issued by this node's pinned issuers: the node key, and
/// the keys of its active personas.
pub struct GrantAuthorizer {
    policy: VerifyPolicy,
    watermarks: Arc<dyn EpochWatermarks>,
    checked: DashMap<String, Arc<CheckedSignature>>,
    personas: Option<Arc<dyn PersonaIssuers>>,
}

impl GrantAuthorizer {
    /// An authorizer trusting `policy.trusted_issuers`, recording epochs in
    /// `watermarks`.
    pub fn new(policy: VerifyPolicy, watermarks: Arc<dyn EpochWatermarks>) -> Self {
        GrantAuthorizer {
            policy,
            watermarks,
            checked: DashMap::new(),
            personas: None,
        }
    }

    /// Also pins this node's personas' keys as issuers.
    pub fn with_personas(mut self, personas: Arc<dyn PersonaIssuers>) -> Self {
        self.personas = Some(personas);
        self
    }

    /// The persona that issued `grant_text`, if one of ours did (unverified:
    /// the issuer field only).
    fn issuing_persona(&self, grant_text: &str) -> Option<([u8; 32], IssuingPersona)> {
        let personas = self.personas.as_ref()?;
        let grant = SignedGrant::from_text(grant_text).ok()?;
        let key = *grant.body.issuer_key();
        personas.persona(&key).map(|persona| (key, persona))
    }

    /// The full decision for `grant_text` presented by `presenting_key` (from
    /// the authenticated connection) for `command`, at `now_ms`.
    pub fn authorize(
        &self,
        grant_text: &str,
        presenting_key: &[u8; 32],
        command: &str,
        now_ms: u64,
    ) -> Result<AuthorizedGrant, GrantVerdict> {
        self.run(
            authorize_checked,
            grant_text,
            presenting_key,
            command,
            now_ms,
        )
    }

    fn checked_signature(
        &self,
        grant_text: &str,
        policy: &VerifyPolicy,
    ) -> Result<Arc<CheckedSignature>, GrantVerdict> {
        if let Some(hit) = self.checked.get(grant_text) {
            return Ok(Arc::clone(&hit));
        }
        let grant = SignedGrant::from_text(grant_text)?;
        let checked = Arc::new(CheckedSignature::check(grant, policy)?);
        if self.checked.len() >= CACHE_CAPACITY {
            self.checked.clear();
        }
        self.checked
            .insert(grant_text.to_owned(), Arc::clone(&checked));
        Ok(checked)
    }

    /// Signatures currently cached.
    pub fn cached(&self) -> usize {
        self.checked.len()
    }

    /// What `authorize` would answer, with no side effect (the epoch
    /// watermark is compared, never advanced).
    pub fn preview(
        &self,
        grant_text: &str,
        presenting_key: &[u8; 32],
        command: &str,
        now_ms: u64,
    ) -> Result<AuthorizedGrant, GrantVerdict> {
        self.run(preview_checked, grant_text, presenting_key, command, now_ms)
    }

    /// The cached signature check, then `pipeline` with this node's policy.
    fn run(
        &self,
        pipeline: Pipeline,
        grant_text: &str,
        presenting_key: &[u8; 32],
        command: &str,
        now_ms: u64,
    ) -> Result<AuthorizedGrant, GrantVerdict> {
        // A persona's grant is checked against that persona's key alone, and
        // only while the persona is active (the issuer is re-checked against
        // this policy even for a cached signature).
        let persona_policy = self
            .issuing_persona(grant_text)
            .map(|(key, _)| VerifyPolicy {
                trusted_issuers: vec![key],
                ..self.policy.clone()
            });
        let policy = persona_policy.as_ref().unwrap_or(&self.policy);
        let checked = self.checked_signature(grant_text, policy)?;
        pipeline(
            &checked,
            presenting_key,
            command,
            policy,
            self.watermarks.as_ref(),
            now_ms,
        )
    }

    fn grant_use(
        &self,
        peer: &PeerCaller,
        command: &str,
        result: Result<AuthorizedGrant, GrantVerdict>,
    ) -> Result<GrantUse, &'static str> {
        match result {
            Ok(grant) => {
                let issuer = *grant.body().issuer_key();
                let persona = self
                    .personas
                    .as_ref()
                    .and_then(|personas| personas.persona(&issuer))
                    .map(Arc::new);
                Ok(GrantUse {
                    issuer,
                    epoch: grant.body().epoch(),
                    persona,
                })
            }
            Err(verdict) => {
                tracing::debug!(peer = %peer.peer_id(), command, verdict = %verdict, "grant refused");
                Err(verdict.code())
            }
        }
    }
}

impl GrantCheck for GrantAuthorizer {
    // The SQLite watermark step is one short local transaction: cheaper than
    // a hop to the blocking pool, so both run inline.
    fn check<'a>(
        &'a self,
        peer: &'a PeerCaller,
        grant: &'a str,
        command: &'a str,
    ) -> BoxFuture<'a, Result<GrantUse, &'static str>> {
        let result = self.authorize(grant, peer.key(), command, now_ms());
        Box::pin(std::future::ready(self.grant_use(peer, command, result)))
    }

    fn persona_issued(&self, grant: &str) -> bool {
        self.issuing_persona(grant).is_some()
    }

    fn peek<'a>(
        &'a self,
        peer: &'a PeerCaller,
        grant: &'a str,
        command: &'a str,
    ) -> BoxFuture<'a, Result<GrantUse, &'static str>> {
        let result = self.preview(grant, peer.key(), command, now_ms());
        Box::pin(std::future::ready(self.grant_use(peer, command, result)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuum_grant::{issue_grant, GrantSpec, InMemoryWatermarks};
    use ed25519_dalek::SigningKey;

    const NOW: u64 = 1_800_000_000_000;

    fn setup() -> (GrantAuthorizer, SigningKey, SigningKey) {
        let issuer = SigningKey::from_bytes(&[7; 32]);
        let grantee = SigningKey::from_bytes(&[9; 32]);
        let policy = VerifyPolicy {
            trusted_issuers: vec![issuer.verifying_key().to_bytes()],
            expected_mesh: "m".into(),
            max_clock_skew_ms: MAX_CLOCK_SKEW_MS,
        };
        let authorizer = GrantAuthorizer::new(policy, Arc::new(InMemoryWatermarks::default()));
        (authorizer, issuer, grantee)
    }

    fn grant(issuer: &SigningKey, grantee: &SigningKey, epoch: u64, caps: &[&str]) -> String {
        issue_grant(
            issuer,
            GrantSpec {
                mesh_id: "m".into(),
                grantee_peer_id: "peer-b".into(),
                grantee_key: grantee.verifying_key().to_bytes(),
                capabilities: caps.iter().map(|c| c.to_string()).collect(),
                issued_at_ms: NOW - 1000,
                expires_at_ms: NOW + 3_600_000,
                epoch,
            },
        )
        .unwrap()
        .to_text()
    }

    #[test]
    fn a_cached_signature_still_gets_every_per_call_check() {
        let (authorizer, issuer, grantee) = setup();
        let text = grant(&issuer, &grantee, 1, &["system/info"]);
        let key = grantee.verifying_key().to_bytes();
        authorizer
            .authorize(&text, &key, "system/info", NOW)
            .unwrap();
        assert_eq!(authorizer.cached(), 1);
        // Same bytes, now a cache hit: key binding, window, capability, epoch
        // are all still enforced.
        let thief = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
        assert_eq!(
            authorizer
                .authorize(&text, &thief, "system/info", NOW)
                .unwrap_err(),
            GrantVerdict::KeyMismatch
        );
        assert_eq!(
            authorizer
                .authorize(&text, &key, "system/metrics", NOW)
                .unwrap_err()
                .code(),
            "not_granted"
        );
        assert_eq!(
            authorizer
                .authorize(&text, &key, "system/info", NOW + 7_200_000)
                .unwrap_err()
                .code(),
            "expired"
        );
        let revocation = grant(&issuer, &grantee, 2, &[]);
        assert_eq!(
            authorizer
                .authorize(&revocation, &key, "system/info", NOW)
                .unwrap_err()
                .code(),
            "not_granted"
        );
        assert_eq!(
            authorizer
                .authorize(&text, &key, "system/info", NOW)
                .unwrap_err()
                .code(),
            "superseded"
        );
    }

    #[test]
    fn previewing_a_grant_never_advances_its_epoch() {
        let (authorizer, issuer, grantee) = setup();
        let key = grantee.verifying_key().to_bytes();
        let first = grant(&issuer, &grantee, 1, &["system/info"]);
        let second = grant(&issuer, &grantee, 2, &["system/info"]);
        // Previewing epoch 2 any number of times leaves epoch 1 usable.
        for _ in 0..3 {
            authorizer
                .preview(&second, &key, "system/info", NOW)
                .unwrap();
        }
        authorizer
            .authorize(&first, &key, "system/info", NOW)
            .unwrap();
        // A real presentation of epoch 2 does supersede epoch 1, for calls and
        // previews alike.
        authorizer
            .authorize(&second, &key, "system/info", NOW)
            .unwrap();
        for verdict in [
            authorizer.preview(&first, &key, "system/info", NOW),
            authorizer.authorize(&first, &key, "system/info", NOW),
        ] {
            assert_eq!(verdict.unwrap_err().code(), "superseded");
        }
    }

    #[test]
    fn grants_that_fail_their_signature_are_never_cached() {
        let (authorizer, _, grantee) = setup();
        let stranger = SigningKey::from_bytes(&[3; 32]);
        let text = grant(&stranger, &grantee, 1, &["system/info"]);
        let key = grantee.verifying_key().to_bytes();
        assert_eq!(
            authorizer
                .authorize(&text, &key, "system/info", NOW)
                .unwrap_err(),
            GrantVerdict::UntrustedIssuer
        );
        assert_eq!(
            authorizer
                .authorize("@@not base64@@", &key, "system/info", NOW)
                .unwrap_err()
                .code(),
            "malformed"
        );
        assert_eq!(authorizer.cached(), 0);
    }
}

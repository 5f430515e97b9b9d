//! TLS 1.3 for the grid (ADR 0015, Decision 1): both ends authenticate with
//! their ed25519 node keys as RFC 7250 raw public keys. rustls does every
//! piece of cryptography; this module only says which key is acceptable.
//!
//! - The dialer pins the one key it expects ([`client_config`]).
//! - The listener accepts only keys a [`ClientKeys`] knows
//!   ([`server_config`]): on the grid, the registered, unblocked peers.
//! - Resumption and 0-RTT are off, so every connection proves both keys
//!   again and no request can be replayed as early data.
//!
//! Nothing here touches a socket: the same configs serve TCP today and
//! QUIC later.

use std::fmt;
use std::sync::Arc;

use ed25519_dalek::{Signature, VerifyingKey};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, Error, ServerConfig,
    SignatureAlgorithm, SignatureScheme,
};

use crate::NodeIdentity;

/// ALPN for calls between nodes.
pub const GRID_ALPN: &[u8] = b"continuum-grid/1";
/// ALPN for a pairing exchange (Decision 6; not served yet).
pub const PAIR_ALPN: &[u8] = b"continuum-pair/1";

/// The DER SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410):
/// SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits) }.
/// The 32-byte key follows.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why a TLS config could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// rustls refused the configuration (e.g. a protocol version the
    /// provider does not offer).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] Error),
    /// The SNI for a key generation is not a DNS name (never expected).
    #[error("no server name for key generation {0}")]
    ServerName(u32),
}

/// The DER SubjectPublicKeyInfo of an ed25519 public key: what a raw public
/// key "certificate" is on the wire.
pub fn ed25519_spki(key: &[u8; 32]) -> Vec<u8> {
    let mut spki = Vec::with_capacity(ED25519_SPKI_PREFIX.len() + key.len());
    spki.extend_from_slice(&ED25519_SPKI_PREFIX);
    spki.extend_from_slice(key);
    spki
}

/// The ed25519 key inside `spki`, or `None` when it is not exactly an
/// Ed25519 SubjectPublicKeyInfo (any other algorithm, or extra bytes).
pub fn key_from_spki(spki: &[u8]) -> Option<[u8; 32]> {
    spki.strip_prefix(&ED25519_SPKI_PREFIX[..])?.try_into().ok()
}

/// The SNI a dialer sends: the key generation it expects, never a key
/// (SNI is plaintext; Decision 2).
pub fn server_name(generation: u32) -> Result<ServerName<'static>, TlsSetupError> {
    ServerName::try_from(format!("g{generation}.grid.continuum.invalid"))
        .map_err(|_| TlsSetupError::ServerName(generation))
}

/// The client keys a listener accepts. On the grid this is the peer
/// registry ([`crate::Peers`]); a pairing listener would accept any key.
pub trait ClientKeys: Send + Sync + fmt::Debug {
    /// Whether a client proving `key` may finish the handshake now.
    fn accepts(&self, key: &[u8; 32]) -> bool;
}

/// This node's key as rustls sees it. It holds the identity, never the
/// secret: signing goes through [`NodeIdentity`]'s TLS-only method.
#[derive(Debug)]
struct NodeSigningKey(Arc<NodeIdentity>);

impl SigningKey for NodeSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ED25519)
            .then(|| Box::new(NodeSigner(self.0.clone())) as Box<dyn Signer>)
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(ed25519_spki(
            &self.0.public_key(),
        )))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ED25519
    }
}

#[derive(Debug)]
struct NodeSigner(Arc<NodeIdentity>);

impl Signer for NodeSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.0
            .sign_tls13_certificate_verify(message)
            .map(Vec::from)
            .ok_or_else(|| {
                Error::General("the node key signs only TLS 1.3 CertificateVerify".into())
            })
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

/// The node's key and its raw-public-key "certificate".
fn certified(identity: Arc<NodeIdentity>) -> Arc<CertifiedKey> {
    let spki = ed25519_spki(&identity.public_key());
    Arc::new(CertifiedKey::new(
        vec![CertificateDer::from(spki)],
        Arc::new(NodeSigningKey(identity)),
    ))
}

fn refused() -> Error {
    // Goes out as alert 49 `access_denied`.
    Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
}

/// The key a raw-public-key certificate carries, refusing chains.
fn presented_key(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Result<[u8; 32], Error> {
    if !intermediates.is_empty() {
        return Err(refused());
    }
    key_from_spki(end_entity.as_ref()).ok_or_else(refused)
}

/// Checks a TLS 1.3 CertificateVerify: ed25519 only, strictly verified.
fn verify_ed25519(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, Error> {
    if dss.scheme != SignatureScheme::ED25519 {
        return Err(refused());
    }
    let key = key_from_spki(cert.as_ref()).ok_or_else(refused)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| refused())?;
    let signature = Signature::from_slice(dss.signature()).map_err(|_| refused())?;
    key.verify_strict(message, &signature)
        .map_err(|_| Error::InvalidCertificate(CertificateError::BadSignature))?;
    Ok(HandshakeSignatureValid::assertion())
}

/// The dialer's check: the listener must prove exactly the pinned key.
#[derive(Debug)]
pub struct PinnedServerKey {
    key: [u8; 32],
}

impl PinnedServerKey {
    /// Accepts only `key`.
    pub fn new(key: [u8; 32]) -> Self {
        PinnedServerKey { key }
    }
}

impl ServerCertVerifier for PinnedServerKey {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if presented_key(end_entity, intermediates)? != self.key {
            return Err(refused());
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        if key_from_spki(cert.as_ref()) != Some(self.key) {
            return Err(refused());
        }
        verify_ed25519(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }

    fn requires_raw_public_keys(&self) -> bool {
        true
    }
}

/// The listener's check: the client must prove a key [`ClientKeys`]
/// accepts. Client authentication is mandatory (the trait default).
#[derive(Debug)]
pub struct KnownClientKeys {
    keys: Arc<dyn ClientKeys>,
}

impl KnownClientKeys {
    /// Accepts the keys `keys` accepts, asked at every handshake.
    pub fn new(keys: Arc<dyn ClientKeys>) -> Self {
        KnownClientKeys { keys }
    }
}

impl ClientCertVerifier for KnownClientKeys {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let key = presented_key(end_entity, intermediates)?;
        if !self.keys.accepts(&key) {
            tracing::info!(key = %hex::encode(key), "grid: refused an unknown client key");
            return Err(refused());
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(Error::PeerIncompatible(
            rustls::PeerIncompatible::Tls12NotOffered,
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_ed25519(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }

    fn requires_raw_public_keys(&self) -> bool {
        true
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The listener's config for `alpn`: TLS 1.3 only, this node's key,
/// clients checked against `clients`, no tickets, no session cache, no
/// early data.
pub fn server_config(
    identity: Arc<NodeIdentity>,
    clients: Arc<dyn ClientKeys>,
    alpn: &[u8],
) -> Result<ServerConfig, TlsSetupError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(KnownClientKeys::new(clients)))
        .with_cert_resolver(Arc::new(
            rustls::server::AlwaysResolvesServerRawPublicKeys::new(certified(identity)),
        ));
    config.alpn_protocols = vec![alpn.to_vec()];
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.max_early_data_size = 0;
    Ok(config)
}

/// The dialer's config for `alpn`: TLS 1.3 only, this node's key, the
/// listener pinned to `server_key`, no resumption, no early data.
pub fn client_config(
    identity: Arc<NodeIdentity>,
    server_key: [u8; 32],
    alpn: &[u8],
) -> Result<ClientConfig, TlsSetupError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServerKey::new(server_key)))
        .with_client_cert_resolver(Arc::new(
            rustls::client::AlwaysResolvesClientRawPublicKeys::new(certified(identity)),
        ));
    config.alpn_protocols = vec![alpn.to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    config.enable_early_data = false;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer as _;

    fn identity() -> (tempfile::TempDir, Arc<NodeIdentity>) {
        let dir = tempfile::tempdir().unwrap();
        let identity = NodeIdentity::load_or_create(dir.path()).unwrap();
        (dir, Arc::new(identity))
    }

    fn certificate_verify(context: &[u8]) -> Vec<u8> {
        let mut message = vec![0x20; 64];
        message.extend_from_slice(context);
        message.extend_from_slice(&[7; 32]);
        message
    }

    #[test]
    fn spki_is_the_rfc_8410_header_then_the_key() {
        let key = [0xab; 32];
        let spki = ed25519_spki(&key);
        assert_eq!(
            hex::encode(&spki),
            format!("302a300506032b6570032100{}", "ab".repeat(32))
        );
        assert_eq!(key_from_spki(&spki), Some(key));
        assert_eq!(key_from_spki(&spki[..43]), None);
        let mut longer = spki.clone();
        longer.push(0);
        assert_eq!(key_from_spki(&longer), None);
    }

    #[test]
    fn the_signer_signs_only_tls13_certificate_verify() {
        let (_dir, identity) = identity();
        let signer = NodeSigner(identity.clone());
        let message = certificate_verify(b"TLS 1.3, server CertificateVerify\0");
        let signature = signer.sign(&message).unwrap();
        let key = VerifyingKey::from_bytes(&identity.public_key()).unwrap();
        key.verify_strict(&message, &Signature::from_slice(&signature).unwrap())
            .unwrap();

        assert!(signer.sign(b"continuum-grant/1\0anything").is_err());
        assert!(signer.sign(&[0x20; 64]).is_err());
        assert!(signer
            .sign(&certificate_verify(b"TLS 1.2, server CertificateVerify\0"))
            .is_err());
    }

    fn dss(scheme: SignatureScheme, signature: Vec<u8>) -> DigitallySignedStruct {
        // rustls offers no public constructor; decode one from its wire form.
        let mut bytes = u16::from(scheme).to_be_bytes().to_vec();
        bytes.extend_from_slice(&(signature.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&signature);
        let mut reader = rustls::internal::msgs::codec::Reader::init(&bytes);
        rustls::internal::msgs::codec::Codec::read(&mut reader).unwrap()
    }

    #[test]
    fn the_pinned_verifier_refuses_another_key_and_chains() {
        let verifier = PinnedServerKey::new([1; 32]);
        let name = server_name(0).unwrap();
        let now = UnixTime::now();
        let ours = CertificateDer::from(ed25519_spki(&[1; 32]));
        let theirs = CertificateDer::from(ed25519_spki(&[2; 32]));
        assert!(verifier
            .verify_server_cert(&ours, &[], &name, &[], now)
            .is_ok());
        assert!(verifier
            .verify_server_cert(&theirs, &[], &name, &[], now)
            .is_err());
        assert!(verifier
            .verify_server_cert(&ours, std::slice::from_ref(&ours), &name, &[], now)
            .is_err());
    }

    #[test]
    fn signatures_must_be_strict_ed25519_by_the_presented_key() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[0x11; 32]);
        let public = key.verifying_key().to_bytes();
        let cert = CertificateDer::from(ed25519_spki(&public));
        let verifier = PinnedServerKey::new(public);
        let message = b"transcript";
        let good = key.sign(message).to_bytes().to_vec();

        assert!(verifier
            .verify_tls13_signature(message, &cert, &dss(SignatureScheme::ED25519, good.clone()))
            .is_ok());
        assert!(verifier
            .verify_tls13_signature(
                message,
                &cert,
                &dss(SignatureScheme::ECDSA_NISTP256_SHA256, good.clone())
            )
            .is_err());
        let mut bad = good.clone();
        bad[0] ^= 1;
        assert!(verifier
            .verify_tls13_signature(message, &cert, &dss(SignatureScheme::ED25519, bad))
            .is_err());
        let other = CertificateDer::from(ed25519_spki(&[2; 32]));
        assert!(verifier
            .verify_tls13_signature(message, &other, &dss(SignatureScheme::ED25519, good))
            .is_err());
    }

    #[derive(Debug)]
    struct Only([u8; 32]);
    impl ClientKeys for Only {
        fn accepts(&self, key: &[u8; 32]) -> bool {
            *key == self.0
        }
    }

    #[test]
    fn the_client_verifier_accepts_only_known_keys() {
        let verifier = KnownClientKeys::new(Arc::new(Only([1; 32])));
        let now = UnixTime::now();
        let known = CertificateDer::from(ed25519_spki(&[1; 32]));
        let unknown = CertificateDer::from(ed25519_spki(&[2; 32]));
        assert!(verifier.verify_client_cert(&known, &[], now).is_ok());
        assert!(verifier.verify_client_cert(&unknown, &[], now).is_err());
        assert!(verifier
            .verify_client_cert(&known, std::slice::from_ref(&known), now)
            .is_err());
        assert!(verifier.client_auth_mandatory());
    }
}

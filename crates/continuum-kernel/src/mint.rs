//! Where callers come from. A [`CallerMint`] is the right to say who is
//! calling; the composition root gets the only one when it builds the kernel
//! and hands it to transports (the Unix socket, TCP, the peer listener, later
//! the persona runtime). Handlers get a [`crate::command::Ctx`], which holds
//! no mint, so no handler can call as anyone but its own caller.

use crate::audit::AuditLog;
use crate::command::{CallMeta, CommandError, RegistryBuilder, RegistryError, StreamSink};
use crate::credential::{Credential, GrantCheck, PeerDirectory, PersonaDirectory};
use crate::dispatch::{Call, Dispatcher};
use crate::gate::{Caller, PeerCaller, Principal, Trust};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;

/// Assembles the kernel: the command registry, the audit log the gate writes
/// to, and the grant check it consults.
pub struct KernelBuilder {
    registry: RegistryBuilder,
    audit: Arc<dyn AuditLog>,
    grants: Option<Arc<dyn GrantCheck>>,
    personas: Option<Arc<dyn PersonaDirectory>>,
    peers: Option<Arc<dyn PeerDirectory>>,
}

impl KernelBuilder {
    /// A kernel over `registry`, recording decisions to `audit`.
    pub fn new(registry: RegistryBuilder, audit: Arc<dyn AuditLog>) -> Self {
        KernelBuilder {
            registry,
            audit,
            grants: None,
            personas: None,
            peers: None,
        }
    }

    /// Enables capability grants: peers presenting one are checked by `grants`.
    pub fn grants(mut self, grants: Arc<dyn GrantCheck>) -> Self {
        self.grants = Some(grants);
        self
    }

    /// Lets the owner hand calls to these personas (`meta.asPersona`).
    pub fn personas(mut self, personas: Arc<dyn PersonaDirectory>) -> Self {
        self.personas = Some(personas);
        self
    }

    /// Registered peers: their trust is looked up at every decision.
    pub fn peers(mut self, peers: Arc<dyn PeerDirectory>) -> Self {
        self.peers = Some(peers);
        self
    }

    /// Freezes the registry and returns the one mint for this kernel.
    pub fn build(self) -> Result<CallerMint, RegistryError> {
        let registry = self.registry.build()?;
        Ok(CallerMint {
            dispatcher: Arc::new(Dispatcher::new(
                registry,
                self.audit,
                self.grants,
                self.personas,
            )),
            peers: self.peers,
        })
    }
}

/// The right to mint callers for one kernel. Cloneable so every transport can
/// hold one; never given to handlers.
#[derive(Clone)]
pub struct CallerMint {
    dispatcher: Arc<Dispatcher>,
    peers: Option<Arc<dyn PeerDirectory>>,
}

impl CallerMint {
    /// The kernel's dispatcher, read-only (registry, descriptors, counters).
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// The machine's owner. Only the Unix-socket transport, after checking
    /// the peer's uid, should ask for this.
    pub fn local_owner(&self) -> Session {
        self.session(Caller::LocalOwner)
    }

    /// An unauthenticated TCP client (Provisional).
    pub fn tcp(&self, remote: SocketAddr) -> Session {
        self.session(Caller::Tcp { remote })
    }

    /// A peer whose possession of `key` the transport verified.
    pub fn peer(&self, peer_id: String, key: [u8; 32], registered_trust: Option<Trust>) -> Session {
        self.session(Caller::Peer(PeerCaller::new(
            peer_id,
            key,
            registered_trust,
        )))
    }

    /// A registered peer whose possession of `key` the transport verified:
    /// its trust is looked up in the peer directory at every decision, so
    /// blocking it reaches this session's next call. Without a directory it
    /// is an unknown peer (Provisional).
    pub fn registered_peer(&self, peer_id: String, key: [u8; 32]) -> Session {
        let peer = match &self.peers {
            Some(directory) => PeerCaller::registered(peer_id, key, Arc::clone(directory)),
            None => PeerCaller::new(peer_id, key, None),
        };
        self.session(Caller::Peer(peer))
    }

    /// A persona living in this daemon (never above Trusted).
    pub fn persona(&self, persona_id: String, trust: Trust) -> Session {
        self.session(Caller::Persona { persona_id, trust })
    }

    /// The narrower right to mint persona callers only: what the persona
    /// runtime holds, so it can act as its personas and as nobody else.
    pub fn personas(&self) -> PersonaMint {
        PersonaMint { mint: self.clone() }
    }

    fn session(&self, caller: Caller) -> Session {
        Session {
            dispatcher: Arc::clone(&self.dispatcher),
            principal: Arc::new(Principal::new(caller)),
        }
    }
}

/// Mints persona callers and nothing else (see [`CallerMint::personas`]).
#[derive(Clone)]
pub struct PersonaMint {
    mint: CallerMint,
}

impl PersonaMint {
    /// A session acting as persona `persona_id` with `trust` (capped below
    /// Owner by the gate's caller rule).
    pub fn session(&self, persona_id: String, trust: Trust) -> Session {
        self.mint.persona(persona_id, trust)
    }

    /// The kernel's dispatcher, read-only.
    pub fn dispatcher(&self) -> &Dispatcher {
        self.mint.dispatcher()
    }
}

/// One caller's way into the kernel: every call it makes runs the whole
/// dispatch pipeline as that caller.
#[derive(Clone)]
pub struct Session {
    dispatcher: Arc<Dispatcher>,
    principal: Arc<Principal>,
}

impl Session {
    /// Who calls through this session.
    pub fn caller(&self) -> &Caller {
        self.principal.caller()
    }

    /// The same caller with trust lowered to at most `max`, for every call
    /// made through the returned session. Monotone: it can never raise trust.
    pub fn lowered(&self, max: Trust) -> Session {
        Session {
            dispatcher: Arc::clone(&self.dispatcher),
            principal: Arc::new(self.principal.lowered(Some(max))),
        }
    }

    /// Runs one request as this session's caller (or, for the owner, as the
    /// persona the request names).
    pub async fn call(&self, request: Request) -> Result<Value, CommandError> {
        let principal = match &request.as_persona {
            Some(name) => Arc::new(
                self.dispatcher
                    .hand_to_persona(&self.principal, name, &request.method, &request.meta)
                    .await?,
            ),
            None => Arc::clone(&self.principal),
        };
        let principal = match request.max_trust {
            Some(max) => Arc::new(principal.lowered(Some(max))),
            None => principal,
        };
        let call = Call {
            principal,
            credential: request.credential.map(Arc::new),
            method: request.method,
            params: request.params,
            meta: Arc::new(request.meta),
            stream: request.stream,
        };
        self.dispatcher.dispatch(call, 0).await
    }
}

/// One request as a transport received it. It names no caller: that comes
/// from the [`Session`] it is made through.
#[derive(Debug, Default)]
pub struct Request {
    /// Command name.
    pub method: String,
    /// Params (`null` = `{}`).
    pub params: Value,
    /// Recorded, non-authorizing metadata.
    pub meta: CallMeta,
    /// A credential presented with the call (a grant).
    pub credential: Option<Credential>,
    /// A trust ceiling for this call (`meta.maxTrust`); only ever lowers.
    pub max_trust: Option<Trust>,
    /// Act as this persona (`meta.asPersona`): only the owner may.
    pub as_persona: Option<String>,
    /// Where stream events go, if the client listens.
    pub stream: Option<StreamSink>,
}

impl Request {
    /// A request for `method` with `params` and nothing else.
    pub fn new(method: impl Into<String>, params: Value) -> Self {
        Request {
            method: method.into(),
            params,
            ..Request::default()
        }
    }
}

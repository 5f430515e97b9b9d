//! Boot and graceful shutdown: the composition root. It opens the stores and
//! the identity, builds the kernel (registry + audit + grant check), hands the
//! one `CallerMint` to the transports, and waits for shutdown.

use crate::config::{ConfigError, DaemonConfig};
use crate::storage::StorageChoice;
use crate::{prepare, InstanceError, InstanceLock};
use continuum_broker::{load_master_key, Broker};
use continuum_commands::ai::{AiModule, Providers};
use continuum_commands::audit::AuditModule;
use continuum_commands::chat::ChatModule;
use continuum_commands::data::DataModule;
use continuum_commands::grid::GridModule;
use continuum_commands::memory::MemoryModule;
use continuum_commands::persona::PersonaModule;
use continuum_commands::system::{DaemonState, SystemModule};
use continuum_commands::vault::{VaultCredentials, VaultModule};
use continuum_egress::{AllowAll, EgressDenied, EgressPolicy, HostRules};
use continuum_grant::{EpochWatermarks, InMemoryWatermarks, VerifyPolicy};
use continuum_grid::{AuditCheckpoints, GrantAuthorizer, NodeIdentity, MAX_CLOCK_SKEW_MS};
use continuum_ipc::{
    bind_peer, bind_tcp, bind_unix, serve_peers, serve_tcp, serve_unix, ListenerLimits,
};
use continuum_kernel::audit::{AuditError, AuditEvent, AuditLog};
use continuum_kernel::clock::now_ms;
use continuum_kernel::command::{BoxFuture, Module, RegistryBuilder, RegistryError};
use continuum_kernel::credential::PersonaDirectory;
use continuum_kernel::{CallerMint, KernelBuilder};
use continuum_persona::{HomeMemories, Responder, Rooms, Roster};
use continuum_store::audit::shipping::{SegmentSink, Shipper};
use continuum_store::{
    AuditStore, CredentialStore, DocumentStore, GrantLedger, InMemoryChat, InMemoryCredentials,
    InMemoryMemories, InMemoryPersonas, MemoryAuditLog, MemoryDocumentStore, MemoryStore,
    SqliteAuditLog, SqliteChat, SqliteCredentials, SqliteDocumentStore, SqliteGrantLedger,
    SqlitePersonas, SqliteWatermarks, StoreError,
};
use continuum_vault::VaultKey;
use continuum_wire::Home;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often expired epoch watermarks are evicted.
const WATERMARK_EVICTION_EVERY: Duration = Duration::from_secs(600);

/// How long shutdown waits for in-flight work before giving up on it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What the daemon is told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its home.
    pub home: Home,
    /// Optional TCP listener address, loopback only (off when `None`).
    pub tcp: Option<SocketAddr>,
    /// Optional peer listener address, loopback only (off when `None`).
    pub peer_tcp: Option<SocketAddr>,
    /// Largest frame accepted on any listener, in bytes.
    pub max_frame_bytes: usize,
}

/// The stateful parts the command modules and the gate work over.
pub struct Services {
    /// JSON documents (`data/*`).
    pub documents: Arc<dyn DocumentStore>,
    /// The audit log the gate writes and `audit/*` reads.
    pub audit: Arc<dyn AuditStore>,
    /// This node's key and names.
    pub identity: Arc<NodeIdentity>,
    /// Grants issued and held.
    pub grant_ledger: Arc<dyn GrantLedger>,
    /// Per-grantee epoch watermarks, shared by the gate and `grid/grant/*`.
    pub watermarks: Arc<dyn EpochWatermarks>,
    /// Where peers connect, when the peer listener is on.
    pub peer_listener: Option<SocketAddr>,
    /// The inference providers (`providers.toml`), shared by `ai/*` and
    /// the persona responder.
    pub providers: Arc<Providers>,
    /// The personas this node hosts.
    pub roster: Arc<Roster>,
    /// Rooms and their messages.
    pub rooms: Arc<Rooms>,
    /// Persona memories.
    pub memories: Arc<dyn MemoryStore>,
    /// The vault: sealed credentials, released audited-first.
    pub broker: Arc<Broker>,
    /// Where the audit log is shipped (the audit bucket), when storage is S3.
    pub audit_sink: Option<Arc<dyn SegmentSink>>,
}

impl Services {
    /// The stores `storage.toml` asks for (embedded SQLite by default) and
    /// the identity under `home`; adapters reach upstream hosts as `egress`
    /// allows (every host when `None`).
    pub async fn open(home: &Home, egress: Option<HostRules>) -> Result<Services, DaemonError> {
        let data = home.data_dir();
        let storage = StorageChoice::load(&home.storage_file())?;
        let identity = Arc::new(NodeIdentity::load_or_create(&home.identity_dir())?);
        // The node key signs the audit head after every commit, into a file
        // beside the database: truncating the log is then detected.
        let anchor = AuditCheckpoints::new(Arc::clone(&identity), data.join("audit.anchor"));
        let audit: Arc<dyn AuditStore> = Arc::new(SqliteAuditLog::open_anchored(
            &data.join("audit.sqlite"),
            Arc::new(anchor),
        )?);
        let egress = egress_policy(egress, &audit);
        let placed = place(storage, home, &identity, &egress).await?;
        let broker = open_broker(&home.identity_dir(), placed.credentials, Arc::clone(&audit))?;
        let providers = Providers::load(
            home.root(),
            VaultCredentials::shared(Arc::clone(&broker)),
            egress,
        );
        Ok(Services {
            documents: Arc::new(SqliteDocumentStore::open(&data.join("documents.sqlite"))?),
            audit,
            identity,
            grant_ledger: Arc::new(SqliteGrantLedger::open(&data.join("grid.sqlite"))?),
            watermarks: Arc::new(SqliteWatermarks::open(&data.join("watermarks.sqlite"))?),
            peer_listener: None,
            providers,
            roster: Arc::new(Roster::new(
                home.clone(),
                Arc::new(SqlitePersonas::open(&data.join("personas.sqlite"))?),
            )),
            rooms: Arc::new(Rooms::new(Arc::new(SqliteChat::open(
                &data.join("chat.sqlite"),
            )?))),
            memories: placed.memories,
            broker,
            audit_sink: placed.audit_sink,
        })
    }

    /// In-memory documents, audit and watermarks; identity and ledger under
    /// `dir`. For tests and benchmarks.
    pub fn ephemeral(dir: &Path) -> Result<Services, DaemonError> {
        let audit: Arc<dyn AuditStore> = Arc::new(MemoryAuditLog::new());
        let broker = open_broker(
            &dir.join("identity"),
            Arc::new(InMemoryCredentials::new()),
            Arc::clone(&audit),
        )?;
        Ok(Services {
            documents: Arc::new(MemoryDocumentStore::new()),
            audit,
            identity: Arc::new(NodeIdentity::load_or_create(&dir.join("identity"))?),
            grant_ledger: Arc::new(SqliteGrantLedger::open(&dir.join("grid.sqlite"))?),
            watermarks: Arc::new(InMemoryWatermarks::default()),
            peer_listener: None,
            providers: Providers::load(
                dir,
                VaultCredentials::shared(Arc::clone(&broker)),
                Arc::new(AllowAll),
            ),
            roster: Arc::new(Roster::new(
                Home::at(dir),
                Arc::new(InMemoryPersonas::new()),
            )),
            rooms: Arc::new(Rooms::new(Arc::new(InMemoryChat::new()))),
            memories: Arc::new(InMemoryMemories::new()),
            broker,
            audit_sink: None,
        })
    }

    /// The gate's grant check: grants signed by this node, for its mesh.
    pub fn grant_authorizer(&self) -> GrantAuthorizer {
        GrantAuthorizer::new(
            VerifyPolicy {
                trusted_issuers: vec![self.identity.public_key()],
                expected_mesh: self.identity.mesh_id().to_owned(),
                max_clock_skew_ms: MAX_CLOCK_SKEW_MS,
            },
            Arc::clone(&self.watermarks),
        )
        .with_personas(Arc::clone(&self.roster) as Arc<dyn continuum_grid::PersonaIssuers>)
    }
}

/// Where the data classes live: memories, vault items, shipped audit.
struct Placed {
    memories: Arc<dyn MemoryStore>,
    credentials: Arc<dyn CredentialStore>,
    audit_sink: Option<Arc<dyn SegmentSink>>,
}

/// The stores `storage` asks for.
async fn place(
    storage: StorageChoice,
    home: &Home,
    identity: &NodeIdentity,
    egress: &Arc<dyn EgressPolicy>,
) -> Result<Placed, DaemonError> {
    // Only S3 storage needs the node's name and the egress policy.
    #[cfg(not(feature = "s3"))]
    let _ = (identity, egress);
    match storage {
        StorageChoice::Sqlite => Ok(Placed {
            // Each persona's memories live in its own home.
            memories: Arc::new(HomeMemories::new(home.clone())),
            credentials: Arc::new(SqliteCredentials::open(
                &home.data_dir().join("vault.sqlite"),
            )?),
            audit_sink: None,
        }),
        #[cfg(feature = "s3")]
        StorageChoice::S3(config) => {
            let s3 = continuum_s3::S3Storage::connect(*config, Arc::clone(egress))
                .await
                .map_err(|err| DaemonError::Storage(format!("storage.toml: {err}")))?;
            // The node's segments live under its own wallet in the audit bucket.
            let sink = s3
                .audit_sink(&format!("node/{}", identity.node_id()))
                .map_err(|err| DaemonError::Storage(err.to_string()))?;
            tracing::info!("storage: memories, vault items and audit shipping on S3");
            Ok(Placed {
                memories: Arc::new(s3.memory_store()),
                credentials: Arc::new(s3.credential_store()),
                audit_sink: Some(Arc::new(sink)),
            })
        }
    }
}

/// Ships the audit log to `sink` every `every`, and once more at shutdown.
async fn ship_audit(
    audit: Arc<dyn AuditStore>,
    sink: Arc<dyn SegmentSink>,
    every: Duration,
    shutdown: CancellationToken,
) {
    let shipper = Shipper::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = shutdown.cancelled() => true,
        };
        // Everything new, a segment of at most SEGMENT_RECORDS at a time.
        loop {
            match shipper
                .ship_once(audit.as_ref(), sink.as_ref(), SEGMENT_RECORDS)
                .await
            {
                Ok(0) => break,
                Ok(shipped) => tracing::debug!(shipped, "audit segment shipped"),
                Err(err) => {
                    tracing::warn!(error = %err, "audit shipping failed; retrying at the next tick");
                    break;
                }
            }
        }
        if stopping {
            return;
        }
    }
}

/// Most records in one shipped audit segment.
const SEGMENT_RECORDS: usize = 10_000;

/// The broker over `credentials`, with the master key under `identity_dir`
/// (made at the first start) and releases recorded in `audit`.
fn open_broker(
    identity_dir: &Path,
    credentials: Arc<dyn CredentialStore>,
    audit: Arc<dyn AuditStore>,
) -> Result<Arc<Broker>, DaemonError> {
    let (master, source) =
        load_master_key(identity_dir).map_err(|err| DaemonError::Vault(err.to_string()))?;
    tracing::info!(?source, "vault master key ready");
    Ok(Arc::new(Broker::new(
        VaultKey::new(&master),
        credentials,
        Arc::new(GateAudit(audit)),
    )))
}

/// The egress policy: `[egress]`'s rules, each refusal audited; every host
/// when there is no `[egress]`.
fn egress_policy(rules: Option<HostRules>, audit: &Arc<dyn AuditStore>) -> Arc<dyn EgressPolicy> {
    match rules {
        Some(rules) => Arc::new(AuditedEgress {
            rules,
            audit: Arc::clone(audit),
        }),
        None => Arc::new(AllowAll),
    }
}

/// Host rules whose refusals go to the audit log, as `egress/connect` by
/// `adapter:<name>`, with the host in `forwardedFor`.
struct AuditedEgress {
    rules: HostRules,
    audit: Arc<dyn AuditStore>,
}

impl EgressPolicy for AuditedEgress {
    fn check(&self, adapter: &str, host: &str) -> Result<(), EgressDenied> {
        self.rules.check(adapter, host).inspect_err(|denied| {
            tracing::warn!(adapter, host = %denied.host, "egress refused");
            self.audit.append(AuditEvent {
                time_ms: now_ms(),
                caller: format!("adapter:{adapter}"),
                caller_key: None,
                command: "egress/connect".into(),
                outcome: continuum_kernel::audit::Outcome::Denied,
                reason: "egress_denied".into(),
                forwarded_for: Some(denied.host.clone()),
                grant_issuer: None,
                grant_epoch: None,
            });
        })
    }
}

/// The kernel's audit seam over the hash-chained audit store.
pub struct GateAudit(pub Arc<dyn AuditStore>);

impl AuditLog for GateAudit {
    fn append(&self, event: AuditEvent) {
        self.0.append(event);
    }

    fn append_durable(&self, event: AuditEvent) -> BoxFuture<'_, Result<(), AuditError>> {
        Box::pin(async move {
            self.0
                .append_durable(event)
                .await
                .map_err(|err| AuditError::Store(err.to_string()))
        })
    }
}

/// The daemon's full command map: every self-registered command, what each
/// module contributes, and `extra` (the test daemon's test-only commands).
/// Tests build the same map through this function.
pub fn build_registry(
    state: &Arc<DaemonState>,
    services: &Services,
    extra: &[Box<dyn Module>],
) -> RegistryBuilder {
    let mut registry = RegistryBuilder::new()
        .with_registered()
        .module(&SystemModule::new(Arc::clone(state)))
        .module(&AiModule::over(Arc::clone(&services.providers)))
        .module(
            &AuditModule::new(Arc::clone(&services.audit))
                .with_shipped(services.audit_sink.clone()),
        )
        .module(&DataModule::new(Arc::clone(&services.documents)))
        .module(
            &GridModule::new(
                Arc::clone(&services.identity),
                Arc::clone(&services.grant_ledger),
                Arc::clone(&services.watermarks),
                services.peer_listener,
            )
            .with_personas(Arc::clone(&services.roster)),
        )
        .module(&PersonaModule::new(
            Arc::clone(&services.roster),
            Arc::clone(&services.providers),
            Arc::clone(&services.memories),
        ))
        .module(&ChatModule::new(
            Arc::clone(&services.roster),
            Arc::clone(&services.rooms),
        ))
        .module(&MemoryModule::new(
            Arc::clone(&services.memories),
            Arc::clone(&services.roster),
        ))
        .module(&VaultModule::new(Arc::clone(&services.broker)));
    for module in extra {
        registry = registry.module(module.as_ref());
    }
    registry
}

/// The kernel the transports share: the registry (with configured limits),
/// the audit log and the grant check. Returns its one caller mint.
pub fn build_kernel(
    state: &Arc<DaemonState>,
    services: &Services,
    config: &DaemonConfig,
    extra: &[Box<dyn Module>],
) -> Result<CallerMint, RegistryError> {
    let registry = build_registry(state, services, extra).limits(config.limit_overrides());
    KernelBuilder::new(registry, Arc::new(GateAudit(Arc::clone(&services.audit))))
        .grants(Arc::new(services.grant_authorizer()))
        .personas(Arc::clone(&services.roster) as Arc<dyn PersonaDirectory>)
        .build()
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The home is owned by a live daemon, or unusable.
    #[error(transparent)]
    Instance(#[from] InstanceError),
    /// The command registry is inconsistent (e.g. a duplicate name).
    #[error("command registry: {0}")]
    Registry(#[from] RegistryError),
    /// A store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The node identity could not be loaded or created.
    #[error("node identity: {0}")]
    Identity(#[from] continuum_grid::IdentityError),
    /// `storage.toml` is unusable, or its storage unreachable.
    #[error("{0}")]
    Storage(String),
    /// The vault's master key could not be had.
    #[error("vault: {0}")]
    Vault(String),
    /// The persona homes could not be read.
    #[error("personas: {0}")]
    Personas(String),
    /// `config.toml` is unusable.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// Socket or filesystem trouble.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DaemonError {
    let context = context.into();
    move |source| DaemonError::Io { context, source }
}

/// Runs the daemon until SIGTERM, SIGINT or `system/shutdown`. `extra`
/// modules join the catalog (the test daemon's test-only commands).
pub async fn run(config: Config, extra: Vec<Box<dyn Module>>) -> Result<(), DaemonError> {
    let home = config.home;
    prepare(&home).map_err(io_err(format!("preparing home {}", home.root().display())))?;
    let instance = InstanceLock::acquire(&home)?;
    let shutdown = CancellationToken::new();
    let daemon_config = DaemonConfig::load(&home.config_file())?;

    let mut services = Services::open(&home, daemon_config.egress.clone()).await?;
    let issuer = continuum_grid::GrantIssuer::new(
        Arc::clone(&services.identity),
        Arc::clone(&services.grant_ledger),
        Arc::clone(&services.watermarks),
    );
    issuer.reconcile_watermarks(now_ms()).await?;
    let resumed = services
        .roster
        .resume_all()
        .await
        .map_err(|err| DaemonError::Personas(err.to_string()))?;
    tracing::info!(
        resumed = resumed.resumed,
        seeds_created = resumed.seeds_created,
        seeds_healed = resumed.seeds_healed,
        not_resumed = resumed.problems.len(),
        "personas resumed"
    );
    let tcp_listener = match config.tcp {
        Some(addr) => Some(
            bind_tcp(addr)
                .await
                .map_err(io_err(format!("binding TCP {addr}")))?,
        ),
        None => None,
    };
    let peer_listener = match config.peer_tcp {
        Some(addr) => Some(
            bind_peer(addr)
                .await
                .map_err(io_err(format!("binding the peer listener {addr}")))?,
        ),
        None => None,
    };
    services.peer_listener = peer_listener.as_ref().and_then(|l| l.local_addr().ok());
    let tcp = tcp_listener.as_ref().and_then(|l| l.local_addr().ok());
    let state = Arc::new(DaemonState::new(
        env!("CARGO_PKG_VERSION"),
        home.root().to_owned(),
        home.socket(),
        tcp,
        shutdown.clone(),
    ));
    let mint = build_kernel(&state, &services, &daemon_config, &extra)?;
    write_catalog(&home, &mint);
    let mut owner_limits = ListenerLimits::OWNER;
    owner_limits.connection.max_frame_bytes = config.max_frame_bytes;
    let remote_limits = daemon_config.remote_limits(config.max_frame_bytes);

    let listener = bind_unix(&home.socket())
        .map_err(io_err(format!("binding {}", home.socket().display())))?;
    let connections = TaskTracker::new();
    connections.spawn(serve_unix(
        listener,
        mint.clone(),
        shutdown.clone(),
        connections.clone(),
        owner_limits,
    ));
    if let Some(listener) = tcp_listener {
        tracing::warn!(addr = ?tcp, "TCP listener enabled: its callers are Provisional and never the owner");
        connections.spawn(serve_tcp(
            listener,
            mint.clone(),
            shutdown.clone(),
            connections.clone(),
            remote_limits,
        ));
    }
    if let Some(listener) = peer_listener {
        tracing::info!(addr = ?services.peer_listener, node = %services.identity.node_id(), "peer listener enabled (loopback)");
        connections.spawn(serve_peers(
            listener,
            Arc::clone(&services.identity),
            mint.clone(),
            shutdown.clone(),
            connections.clone(),
            remote_limits,
        ));
    }
    let responder = Responder::new(
        Arc::clone(&services.roster),
        Arc::clone(&services.rooms),
        Arc::clone(&services.memories),
        services.providers.registry(),
        mint.personas(),
        daemon_config.personas.clone(),
    );
    connections.spawn(responder.run(shutdown.clone()));
    connections.spawn(evict_watermarks(
        Arc::clone(&services.watermarks),
        shutdown.clone(),
    ));
    if let Some(sink) = &services.audit_sink {
        connections.spawn(ship_audit(
            Arc::clone(&services.audit),
            Arc::clone(sink),
            daemon_config.audit.ship_interval(),
            shutdown.clone(),
        ));
    }
    if let Some(keep) = daemon_config.audit.keep_records {
        connections.spawn(retain_audit(
            Arc::clone(&services.audit),
            keep,
            shutdown.clone(),
        ));
    }
    spawn_signal_handler(shutdown.clone()).map_err(io_err("installing signal handlers"))?;
    tracing::info!(
        pid = std::process::id(),
        socket = %home.socket().display(),
        commands = mint.dispatcher().registry().len(),
        "continuum-core ready"
    );

    shutdown.cancelled().await;
    tracing::info!("shutting down: no new connections, finishing in-flight work");
    let _ = std::fs::remove_file(home.socket());
    connections.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("in-flight work did not finish within {SHUTDOWN_GRACE:?}; exiting anyway");
    }
    if let Err(err) = services.audit.flush().await {
        tracing::error!(error = %err, "audit flush at shutdown failed");
    }
    // Close every store before giving up the home: whoever waits on the lock
    // (`cu stop`, a new daemon) must find the databases closed.
    drop(mint);
    drop(services);
    tracing::info!("stopped");
    drop(instance);
    Ok(())
}

/// Leaves the catalog beside the socket (0600) for `cu <command> --help`
/// while the daemon is stopped. Best effort: help is a convenience.
fn write_catalog(home: &Home, mint: &CallerMint) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let descriptors: Vec<_> = mint
        .dispatcher()
        .registry()
        .entries()
        .map(|entry| entry.descriptor().as_ref().clone())
        .collect();
    let written = serde_json::to_vec(&serde_json::json!({"commands": descriptors}))
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(home.catalog_file())?
                .write_all(&bytes)
        });
    if let Err(err) = written {
        tracing::warn!(error = %err, "could not write the catalog for offline help");
    }
}

/// Audit retention: keeps the newest `keep` records, at start and every
/// [`WATERMARK_EVICTION_EVERY`].
async fn retain_audit(audit: Arc<dyn AuditStore>, keep: u64, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(WATERMARK_EVICTION_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        match audit.compact(keep).await {
            Ok(report) if report.dropped > 0 => {
                tracing::info!(
                    dropped = report.dropped,
                    base = report.base_seq,
                    "audit retention dropped old records"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "audit retention failed"),
        }
    }
}

/// Keeps the watermark store bounded: entries whose every grant has expired
/// (plus the retention margin) can no longer reject anything, so they go.
async fn evict_watermarks(watermarks: Arc<dyn EpochWatermarks>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(WATERMARK_EVICTION_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let store = Arc::clone(&watermarks);
        match tokio::task::spawn_blocking(move || store.evict_expired(now_ms())).await {
            Ok(Ok(0)) => {}
            Ok(Ok(evicted)) => tracing::info!(evicted, "evicted expired grant watermarks"),
            Ok(Err(err)) => tracing::warn!(error = %err, "watermark eviction failed"),
            Err(err) => tracing::warn!(error = %err, "watermark eviction task failed"),
        }
    }
}

fn spawn_signal_handler(shutdown: CancellationToken) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
            () = shutdown.cancelled() => return,
        }
        shutdown.cancel();
    });
    Ok(())
}

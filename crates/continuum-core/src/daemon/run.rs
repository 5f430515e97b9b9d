//! Boot and graceful shutdown.

use super::{Home, InstanceError, InstanceLock};
use crate::audit::{AuditLog, SqliteAuditLog};
use crate::command::{Registry, RegistryBuilder, RegistryError};
use crate::commands::ai::AiModule;
use crate::commands::data::DataModule;
use crate::commands::grid::GridModule;
use crate::commands::system::SystemModule;
use crate::dispatch::Dispatcher;
use crate::grants::{GrantAuthorizer, MAX_CLOCK_SKEW_MS};
use crate::grid::{GrantLedger, NodeIdentity};
use crate::ipc::{bind_peer, bind_unix, serve_peers, serve_tcp, serve_unix, ConnectionLimits};
use crate::store::{DocumentStore, MemoryDocumentStore, SqliteDocumentStore, SqliteWatermarks};
use continuum_grant::{EpochWatermarks, InMemoryWatermarks, VerifyPolicy};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
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
    /// Optional TCP listener address (off when `None`).
    pub tcp: Option<SocketAddr>,
    /// Optional peer listener address, loopback only (off when `None`).
    pub peer_tcp: Option<SocketAddr>,
    /// Connection limits.
    pub limits: ConnectionLimits,
}

/// Runtime facts shared with the `system/*` commands.
#[derive(Debug)]
pub struct DaemonState {
    /// Crate version.
    pub version: &'static str,
    /// Monotonic start.
    pub started: Instant,
    /// Wall-clock start, Unix ms.
    pub started_at_ms: u64,
    /// Home directory.
    pub home: PathBuf,
    /// Unix socket path.
    pub socket: PathBuf,
    /// Bound TCP address, when enabled.
    pub tcp: Option<SocketAddr>,
    /// Cancelled to begin graceful shutdown.
    pub shutdown: CancellationToken,
}

impl DaemonState {
    /// State for a daemon starting now in `home`.
    pub fn new(home: &Home, tcp: Option<SocketAddr>, shutdown: CancellationToken) -> Self {
        DaemonState {
            version: env!("CARGO_PKG_VERSION"),
            started: Instant::now(),
            started_at_ms: crate::audit::now_ms(),
            home: home.root().to_owned(),
            socket: home.socket(),
            tcp,
            shutdown,
        }
    }
}

/// The stateful parts the command modules and the gate work over.
pub struct Services {
    /// JSON documents (`data/*`).
    pub documents: Arc<dyn DocumentStore>,
    /// This node's key and names.
    pub identity: Arc<NodeIdentity>,
    /// Grants issued and held.
    pub grant_ledger: GrantLedger,
    /// Per-grantee epoch watermarks, shared by the gate and `grid/grant/*`.
    pub watermarks: Arc<dyn EpochWatermarks>,
    /// Where peers connect, when the peer listener is on.
    pub peer_listener: Option<SocketAddr>,
}

impl Services {
    /// The embedded SQLite stores and the identity under `home`.
    pub fn open(home: &Home) -> Result<Services, DaemonError> {
        let store_err = |err: crate::store::StoreError| DaemonError::Store(err.to_string());
        let data = home.data_dir();
        Ok(Services {
            documents: Arc::new(
                SqliteDocumentStore::open(&data.join("documents.sqlite")).map_err(store_err)?,
            ),
            identity: Arc::new(NodeIdentity::load_or_create(&home.identity_dir())?),
            grant_ledger: GrantLedger::open(&data.join("grid.sqlite")).map_err(store_err)?,
            watermarks: Arc::new(
                SqliteWatermarks::open(&data.join("watermarks.sqlite")).map_err(store_err)?,
            ),
            peer_listener: None,
        })
    }

    /// In-memory documents and watermarks; identity and ledger under `dir`.
    /// For tests and benchmarks.
    pub fn ephemeral(dir: &Path) -> Result<Services, DaemonError> {
        Ok(Services {
            documents: Arc::new(MemoryDocumentStore::new()),
            identity: Arc::new(NodeIdentity::load_or_create(&dir.join("identity"))?),
            grant_ledger: GrantLedger::open(&dir.join("grid.sqlite"))
                .map_err(|err| DaemonError::Store(err.to_string()))?,
            watermarks: Arc::new(InMemoryWatermarks::default()),
            peer_listener: None,
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
    }
}

/// The daemon's full command map: every self-registered command plus what
/// each module contributes. Tests build the same map through this function.
pub fn build_registry(
    state: &Arc<DaemonState>,
    services: &Services,
) -> Result<Registry, RegistryError> {
    RegistryBuilder::new()
        .with_registered()
        .module(&SystemModule::new(Arc::clone(state)))
        .module(&AiModule::load(&state.home))
        .module(&DataModule::new(Arc::clone(&services.documents)))
        .module(&GridModule::new(
            Arc::clone(&services.identity),
            services.grant_ledger.clone(),
            Arc::clone(&services.watermarks),
            services.peer_listener,
        ))
        .build()
}

/// The dispatcher the transports share: the registry, the audit log and the
/// grant check.
pub fn build_dispatcher(
    state: &Arc<DaemonState>,
    services: &Services,
    audit: Arc<dyn AuditLog>,
) -> Result<Dispatcher, RegistryError> {
    Ok(Dispatcher::new(build_registry(state, services)?, audit)
        .with_grants(Arc::new(services.grant_authorizer())))
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
    Store(String),
    /// The node identity could not be loaded or created.
    #[error("node identity: {0}")]
    Identity(#[from] crate::grid::IdentityError),
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

/// Runs the daemon until SIGTERM, SIGINT or `system/shutdown`.
pub async fn run(config: Config) -> Result<(), DaemonError> {
    let home = config.home;
    super::prepare(&home).map_err(io_err(format!("preparing home {}", home.root().display())))?;
    let instance = InstanceLock::acquire(&home)?;
    let shutdown = CancellationToken::new();

    let audit = Arc::new(
        SqliteAuditLog::open(&home.data_dir().join("audit.sqlite"))
            .map_err(|err| DaemonError::Store(err.to_string()))?,
    );
    let mut services = Services::open(&home)?;
    let tcp_listener = match config.tcp {
        Some(addr) => Some(
            TcpListener::bind(addr)
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
    let state = Arc::new(DaemonState::new(&home, tcp, shutdown.clone()));
    let dispatcher = Arc::new(build_dispatcher(
        &state,
        &services,
        Arc::clone(&audit) as Arc<dyn AuditLog>,
    )?);

    let listener = bind_unix(&home.socket())
        .map_err(io_err(format!("binding {}", home.socket().display())))?;
    let connections = TaskTracker::new();
    connections.spawn(serve_unix(
        listener,
        Arc::clone(&dispatcher),
        shutdown.clone(),
        connections.clone(),
        config.limits,
    ));
    if let Some(listener) = tcp_listener {
        tracing::warn!(addr = ?tcp, "TCP listener enabled: its callers are Provisional and never the owner");
        connections.spawn(serve_tcp(
            listener,
            Arc::clone(&dispatcher),
            shutdown.clone(),
            connections.clone(),
            config.limits,
        ));
    }
    if let Some(listener) = peer_listener {
        tracing::info!(addr = ?services.peer_listener, node = %services.identity.node_id(), "peer listener enabled (loopback)");
        connections.spawn(serve_peers(
            listener,
            Arc::clone(&services.identity),
            Arc::clone(&dispatcher),
            shutdown.clone(),
            connections.clone(),
            config.limits,
        ));
    }
    connections.spawn(evict_watermarks(
        Arc::clone(&services.watermarks),
        shutdown.clone(),
    ));
    spawn_signal_handler(shutdown.clone()).map_err(io_err("installing signal handlers"))?;
    tracing::info!(
        pid = std::process::id(),
        socket = %home.socket().display(),
        commands = dispatcher.registry().len(),
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
    if let Err(err) = audit.flush().await {
        tracing::error!(error = %err, "audit flush at shutdown failed");
    }
    // Close every store before giving up the home: whoever waits on the lock
    // (`cu stop`, a new daemon) must find the databases closed.
    drop(dispatcher);
    drop(services);
    drop(audit);
    tracing::info!("stopped");
    drop(instance);
    Ok(())
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
        match tokio::task::spawn_blocking(move || store.evict_expired(crate::audit::now_ms())).await
        {
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

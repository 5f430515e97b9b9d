//! The daemon's command line: flags, logging, runtime, then [`crate::run`].
//! Shared by the product binary and the test daemon.

use crate::log_line::OneLinePerEvent;
use crate::{prepare, run, Config, DaemonError, Home, InstanceError};
use clap::Parser;
use continuum_kernel::command::Module;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code when another daemon already owns the home.
const EXIT_ALREADY_RUNNING: u8 = 3;

/// Exit code for a refused command line.
const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "continuum-core",
    version,
    about = "The Continuum daemon (usually started by `cu start`)."
)]
struct Args {
    /// Home directory (default: $CONTINUUM_HOME, else ~/.continuum).
    #[arg(long)]
    home: Option<PathBuf>,
    /// Also listen on TCP at this loopback address (callers are Provisional).
    /// Off by default; non-loopback addresses are refused.
    #[arg(long, env = "CONTINUUM_TCP")]
    tcp: Option<SocketAddr>,
    /// Also accept grid peers on this loopback address: each proves its
    /// ed25519 key in a handshake, then calls as that peer. Off by default.
    #[arg(long, env = "CONTINUUM_PEER_TCP")]
    peer_tcp: Option<SocketAddr>,
    /// Largest accepted frame in bytes.
    #[arg(long, default_value_t = continuum_wire::DEFAULT_MAX_FRAME_BYTES)]
    max_frame_bytes: usize,
    /// Threads running the event loop. One is the default: the daemon
    /// multiplexes I/O and sends blocking work (SQLite, key derivation) to a
    /// separate pool, and one loop avoids cross-thread wake-ups on every
    /// request (see docs/PERFORMANCE.md). Raise it if handlers are CPU-bound.
    #[arg(long, env = "CONTINUUM_WORKERS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: u16,
}

/// Parses the command line and runs the daemon with the product catalog plus
/// `extra` modules. Returns the process exit code.
pub fn launch(extra: Vec<Box<dyn Module>>) -> ExitCode {
    let args = Args::parse();
    if let Some(addr) = args.tcp.filter(|addr| !addr.ip().is_loopback()) {
        eprintln!(
            "continuum-core: refusing --tcp {addr}: the TCP listener serves unauthenticated callers and binds only to loopback (127.0.0.1 or ::1); remote nodes connect through the grid transport"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let Some(home) = args.home.map(Home::at).or_else(Home::from_env) else {
        eprintln!("continuum-core: set CONTINUUM_HOME or HOME, or pass --home");
        return ExitCode::FAILURE;
    };
    if let Err(err) = prepare(&home) {
        eprintln!(
            "continuum-core: cannot prepare {}: {err}",
            home.root().display()
        );
        return ExitCode::FAILURE;
    }
    if let Err(err) = init_logging(&home) {
        eprintln!(
            "continuum-core: cannot open log {}: {err}",
            home.log_file().display()
        );
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(args.workers))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("continuum-core: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let config = Config {
        home,
        tcp: args.tcp,
        peer_tcp: args.peer_tcp,
        max_frame_bytes: args.max_frame_bytes,
    };
    match runtime.block_on(run(config, extra)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "continuum-core failed");
            eprintln!("continuum-core: {err}");
            match err {
                DaemonError::Instance(InstanceError::AlreadyRunning { .. }) => {
                    ExitCode::from(EXIT_ALREADY_RUNNING)
                }
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn init_logging(home: &Home) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(home.log_file())?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONTINUUM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(OneLinePerEvent(file)))
        .init();
    Ok(())
}

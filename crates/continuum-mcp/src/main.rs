//! `continuum-mcp`: the MCP server binary (see the library's docs).

use clap::{Arg, ArgAction, ArgMatches, Command};
use continuum_mcp::bridge::Bridge;
use continuum_mcp::daemon::Daemon;
use continuum_mcp::http;
use continuum_wire::{Home, RequestMeta, Trust};
use rmcp::ServiceExt;
use std::net::SocketAddr;
use std::process::ExitCode;

fn command() -> Command {
    Command::new("continuum-mcp")
        .about("Serves Continuum's commands to MCP clients (run as `cu mcp`).")
        .version(env!("CARGO_PKG_VERSION"))
        .arg(
            Arg::new("max-trust")
                .long("max-trust")
                .value_name("LEVEL")
                .help("the most trust the session's calls use: blocked, provisional (default), trusted or owner"),
        )
        .arg(
            Arg::new("as")
                .long("as")
                .num_args(2)
                .value_names(["persona", "NAME"])
                .help("act as this persona (`--as persona asha`): its trust, its memories, audited as it"),
        )
        .arg(
            Arg::new("http")
                .long("http")
                .value_name("ADDR")
                .help("serve streamable HTTP on this loopback address (127.0.0.1:PORT) instead of stdio"),
        )
        .arg(Arg::new("verbose").long("verbose").action(ArgAction::SetTrue).hide(true))
}

/// Who the session's calls act as, and where it is served.
struct Setup {
    identity: RequestMeta,
    http: Option<SocketAddr>,
}

fn setup(args: &ArgMatches) -> Result<Setup, String> {
    let as_persona = match args.get_many::<String>("as") {
        Some(values) => match values.map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["persona", name] if !name.is_empty() => Some((*name).to_owned()),
            _ => return Err("--as takes `persona NAME`".into()),
        },
        None => None,
    };
    // Provisional unless the operator says otherwise; acting as a persona,
    // the persona's own trust (never above Trusted) is the default.
    let max_trust = match args.get_one::<String>("max-trust") {
        Some(level) => Some(Trust::parse(level).ok_or_else(|| {
            format!(
                "--max-trust: '{level}' is not a level; use blocked, provisional, trusted or owner"
            )
        })?),
        None if as_persona.is_some() => None,
        None => Some(Trust::Provisional),
    };
    let http = match args.get_one::<String>("http") {
        Some(addr) => {
            let addr: SocketAddr = addr
                .parse()
                .map_err(|_| format!("--http: '{addr}' is not an address like 127.0.0.1:8765"))?;
            if !addr.ip().is_loopback() {
                return Err(format!(
                    "--http: {addr} is not a loopback address; MCP over HTTP serves this machine only"
                ));
            }
            // Any local user can reach a loopback port, and HTTP clients do
            // not authenticate yet: they get what the TCP listener gives.
            if as_persona.is_some() || max_trust > Some(Trust::Provisional) {
                return Err(
                    "--http serves Provisional sessions only (its clients are not authenticated); \
                     use stdio (`cu mcp`) for --as or a higher --max-trust"
                        .into(),
                );
            }
            Some(addr)
        }
        None => None,
    };
    let identity = RequestMeta {
        max_trust,
        as_persona,
        ..RequestMeta::default()
    };
    Ok(Setup { identity, http })
}

fn main() -> ExitCode {
    let args = command().get_matches();
    let setup = match setup(&args) {
        Ok(setup) => setup,
        Err(why) => {
            eprintln!("continuum-mcp: {why}");
            return ExitCode::from(2);
        }
    };
    let Some(home) = Home::from_env() else {
        eprintln!("continuum-mcp: set CONTINUUM_HOME or HOME");
        return ExitCode::from(2);
    };
    // rmcp warns about every error response it sends; tool errors are normal.
    let level = if args.get_flag("verbose") {
        "debug"
    } else {
        "warn,rmcp=error"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONTINUUM_MCP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("continuum-mcp: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let bridge = Bridge::new(Daemon::new(home.socket(), setup.identity));
    let served = runtime.block_on(async move {
        bridge.spawn_poller();
        match setup.http {
            Some(addr) => http::serve(addr, bridge).await,
            None => serve_stdio(bridge).await,
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("continuum-mcp: {err}");
            ExitCode::FAILURE
        }
    }
}

/// One session on stdin and stdout, until the client closes them.
async fn serve_stdio(bridge: Bridge) -> std::io::Result<()> {
    let running = bridge
        .serve(rmcp::transport::stdio_pipes())
        .await
        .map_err(std::io::Error::other)?;
    running.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

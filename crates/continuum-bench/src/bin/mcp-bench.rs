//! `mcp-bench`: what MCP adds to a call. `tools/call ping` through `cu mcp`
//! (a child process on piped stdin and stdout, newline-delimited JSON-RPC)
//! against `ping` on the daemon's Unix socket (one persistent connection),
//! in one run and in each protocol era: `legacy` (`initialize`, then
//! `notifications/initialized`) and `2026-07-28` (no handshake; each request
//! carries the client context in `_meta`).
//!
//! Blocks of B sequential MCP calls alternate with blocks of B sequential
//! socket pings (which path goes first alternates per round) until each path
//! has N measured calls. Both paths use the same line client, the same
//! request/parse/check discipline and the same histogram; only the codec
//! differs. Driven by `scripts/bench/mcp.sh`; prints a table on stderr and
//! one JSON object on stdout.

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use continuum_bench::codec::{Era, McpPing, Protocol};
use continuum_bench::line::LineClient;
use continuum_bench::{micros, new_histogram};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "mcp-bench",
    about = "tools/call ping through `cu mcp` vs ping on the daemon's socket"
)]
struct Args {
    /// Daemon socket.
    #[arg(long)]
    socket: PathBuf,
    /// The `cu` binary; the MCP server is `cu mcp`.
    #[arg(long, default_value = "cu")]
    cu: PathBuf,
    /// Protocol eras to measure, in this order (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["legacy", "2026-07-28"])]
    era: Vec<Era>,
    /// Measured calls per path and era.
    #[arg(long, default_value_t = 20_000)]
    iterations: u64,
    /// Sequential calls per block; blocks of the two paths alternate.
    #[arg(long, default_value_t = 1_000)]
    block: u64,
    /// Unmeasured calls per path and era first.
    #[arg(long, default_value_t = 1_000)]
    warmup: u64,
    /// Target: most microseconds MCP may add at p50.
    #[arg(long, default_value_t = 300.0)]
    target_us: f64,
}

type Pipes = LineClient<BufReader<ChildStdout>, ChildStdin>;
type Socket = LineClient<BufReader<UnixStream>, UnixStream>;

/// `cu mcp` as a child process, with a session open in one era.
struct McpServer {
    child: Child,
    client: Pipes,
}

impl McpServer {
    fn start(cu: &Path, era: Era, client_info: &Value) -> Result<McpServer> {
        let mut child = Command::new(cu)
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot run {} mcp", cu.display()))?;
        let stdin = child.stdin.take().context("child stdin")?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut client = LineClient::new(
            BufReader::new(stdout),
            stdin,
            Box::new(McpPing::new(era, client_info, 1)),
        );
        let (reader, writer) = client.parts();
        open_session(reader, writer, era, client_info)
            .with_context(|| format!("opening a {} session", era.name()))?;
        Ok(McpServer { child, client })
    }

    /// Closes stdin, which ends the session, and waits for the server to
    /// exit (killing it after a few seconds).
    fn stop(self) -> Result<()> {
        let McpServer { mut child, client } = self;
        drop(client.into_parts());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = child.try_wait()? {
                ensure!(status.success(), "cu mcp exited with {status}");
                return Ok(());
            }
            if Instant::now() > deadline {
                child.kill()?;
                child.wait()?;
                bail!("cu mcp did not exit when its stdin closed");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The era's opening: `initialize` and `notifications/initialized`
/// (legacy), or `server/discover` (2026-07-28, as the SDKs open; the server
/// would also take a first `tools/call` with its `_meta` directly).
fn open_session(
    reader: &mut impl BufRead,
    writer: &mut impl Write,
    era: Era,
    client_info: &Value,
) -> Result<()> {
    match era {
        Era::Legacy => {
            send(
                writer,
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": era.protocol_version(),
                    "capabilities": {},
                    "clientInfo": client_info,
                }}),
            )?;
            let result = answer(reader, 0)?;
            ensure!(
                result["protocolVersion"] == era.protocol_version(),
                "the server chose protocol {} over {}",
                result["protocolVersion"],
                era.protocol_version()
            );
            send(
                writer,
                &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
        }
        Era::Stateless => {
            let mut params = json!({});
            params["_meta"] = era
                .request_meta(client_info)
                .context("this era has request meta")?;
            send(
                writer,
                &json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": params}),
            )?;
            let result = answer(reader, 0)?;
            let supported = result["supportedVersions"]
                .as_array()
                .is_some_and(|versions| versions.iter().any(|v| v == era.protocol_version()));
            ensure!(
                supported,
                "the server does not support {}: {result}",
                era.protocol_version()
            );
            Ok(())
        }
    }
}

fn send(writer: &mut impl Write, message: &Value) -> Result<()> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    writer.write_all(&line)?;
    writer.flush()?;
    Ok(())
}

/// The result of request `id`, skipping notifications.
fn answer(reader: &mut impl BufRead, id: u64) -> Result<Value> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("the server closed its stdout");
        }
        let mut message: Value = serde_json::from_str(&line).context("reply is not JSON")?;
        if message.get("method").is_some() && message.get("id").is_none() {
            continue;
        }
        ensure!(message["id"].as_u64() == Some(id), "unexpected: {message}");
        if !message["error"].is_null() {
            bail!("request {id} failed: {}", message["error"]);
        }
        return Ok(message["result"].take());
    }
}

fn connect(socket: &Path) -> Result<Socket> {
    let stream = UnixStream::connect(socket)
        .with_context(|| format!("cannot connect to {}", socket.display()))?;
    Ok(LineClient::new(
        BufReader::new(stream.try_clone()?),
        stream,
        Protocol::Jsonrpc.codec(),
    ))
}

/// `n` timed pings into both the run's and the block's histogram.
fn block<R: BufRead, W: Write>(
    client: &mut LineClient<R, W>,
    n: u64,
    run: &mut Histogram<u64>,
    this_block: &mut Histogram<u64>,
) -> Result<()> {
    this_block.reset();
    for _ in 0..n {
        let began = Instant::now();
        client.ping()?;
        let nanos = began.elapsed().as_nanos() as u64;
        run.saturating_record(nanos);
        this_block.saturating_record(nanos);
    }
    Ok(())
}

fn stats(histogram: &Histogram<u64>) -> Value {
    json!({
        "count": histogram.len(),
        "p50_us": micros(histogram.value_at_quantile(0.50) as f64),
        "p90_us": micros(histogram.value_at_quantile(0.90) as f64),
        "p99_us": micros(histogram.value_at_quantile(0.99) as f64),
        "mean_us": micros(histogram.mean()),
        "max_us": micros(histogram.max() as f64),
    })
}

fn us(value: &Value, key: &str) -> f64 {
    value[key].as_f64().unwrap_or(f64::NAN)
}

/// One era: a fresh `cu mcp` session and a fresh socket connection.
fn run_era(args: &Args, era: Era, client_info: &Value) -> Result<Value> {
    let mut mcp = McpServer::start(&args.cu, era, client_info)?;
    let mut socket = connect(&args.socket)?;
    mcp.client.warm_up(args.warmup)?;
    socket.warm_up(args.warmup)?;

    let (mut mcp_run, mut socket_run) = (new_histogram(), new_histogram());
    let (mut mcp_block, mut socket_block) = (new_histogram(), new_histogram());
    let mut block_added = Vec::new();
    let began = Instant::now();
    let mut done = 0;
    while done < args.iterations {
        let n = args.block.min(args.iterations - done);
        // Which path goes first alternates, so drift weighs on both.
        if block_added.len() % 2 == 0 {
            block(&mut mcp.client, n, &mut mcp_run, &mut mcp_block)?;
            block(&mut socket, n, &mut socket_run, &mut socket_block)?;
        } else {
            block(&mut socket, n, &mut socket_run, &mut socket_block)?;
            block(&mut mcp.client, n, &mut mcp_run, &mut mcp_block)?;
        }
        let p50 = |h: &Histogram<u64>| h.value_at_quantile(0.5) as f64;
        block_added.push(micros(p50(&mcp_block) - p50(&socket_block)));
        done += n;
    }
    let seconds = began.elapsed().as_secs_f64();
    let notifications = mcp.client.notifications();
    mcp.stop()?;

    let (mcp_stats, socket_stats) = (stats(&mcp_run), stats(&socket_run));
    let added = |key| micros((us(&mcp_stats, key) - us(&socket_stats, key)) * 1e3);
    let added_p50 = added("p50_us");
    block_added.sort_by(f64::total_cmp);
    Ok(json!({
        "era": era.name(),
        "protocol_version": era.protocol_version(),
        "socket": socket_stats,
        "mcp": mcp_stats,
        "added_p50_us": added_p50,
        "added_p90_us": added("p90_us"),
        "added_p99_us": added("p99_us"),
        "block_added_p50_us": {
            "blocks": block_added.len(),
            "median": block_added[block_added.len() / 2],
            "min": block_added[0],
            "max": block_added[block_added.len() - 1],
        },
        "notifications": notifications,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "pass": added_p50 < args.target_us,
    }))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.iterations == 0 || args.block == 0 {
        bail!("--iterations and --block must be at least 1");
    }
    let client_info = json!({"name": "continuum-bench", "version": env!("CARGO_PKG_VERSION")});
    let mut eras = Vec::new();
    for &era in &args.era {
        eprintln!(
            "[mcp-bench] {}: {} calls per path in blocks of {} (+{} warm-up)",
            era.name(),
            args.iterations,
            args.block,
            args.warmup
        );
        eras.push(run_era(&args, era, &client_info)?);
    }

    eprintln!(
        "{:<11} {:<26} {:>9} {:>9} {:>9} {:>9}",
        "era", "path", "p50 us", "p90 us", "p99 us", "mean us"
    );
    for result in &eras {
        let era = result["era"].as_str().unwrap_or("?");
        for (label, stats) in [
            ("socket ping", &result["socket"]),
            ("cu mcp tools/call ping", &result["mcp"]),
        ] {
            eprintln!(
                "{:<11} {:<26} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                era,
                label,
                us(stats, "p50_us"),
                us(stats, "p90_us"),
                us(stats, "p99_us"),
                us(stats, "mean_us"),
            );
        }
        eprintln!(
            "{:<11} {:<26} {:>9.2} {:>9.2} {:>9.2}",
            era,
            "added by MCP",
            us(result, "added_p50_us"),
            us(result, "added_p90_us"),
            us(result, "added_p99_us"),
        );
    }
    for result in &eras {
        let blocks = &result["block_added_p50_us"];
        eprintln!(
            "{}: p50 added {:.2} us (per-block p50 added: median {:.2}, range {:.2} .. {:.2} over {} blocks); target < {} us: {}",
            result["era"].as_str().unwrap_or("?"),
            us(result, "added_p50_us"),
            us(blocks, "median"),
            us(blocks, "min"),
            us(blocks, "max"),
            blocks["blocks"],
            args.target_us,
            if result["pass"] == true { "PASS" } else { "MISS" },
        );
    }
    let pass = eras.iter().all(|result| result["pass"] == true);
    println!(
        "{}",
        json!({
            "iterations": args.iterations,
            "block": args.block,
            "warmup": args.warmup,
            "target_us": args.target_us,
            "eras": eras,
            "pass": pass,
        })
    );
    Ok(())
}

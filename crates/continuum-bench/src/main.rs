//! `ipc-bench`: request round trips and throughput over a Unix socket, with
//! the same blocking client for every server; only the frame codec differs
//! (JSON-RPC lines for Continuum, RESP for redis). Driven by
//! `scripts/bench/ipc.sh`; prints one JSON object per result on stdout.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use continuum_bench::codec::Protocol;
use continuum_bench::line::LineClient;
use continuum_bench::{micros, new_histogram};
use hdrhistogram::Histogram;
use serde_json::json;
use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "ipc-bench",
    about = "Ping round trips and throughput over a Unix socket"
)]
struct Args {
    /// Server socket.
    #[arg(long)]
    socket: PathBuf,
    /// Wire protocol of the server.
    #[arg(long, value_enum)]
    proto: Protocol,
    /// Label copied into the output (e.g. `continuum`, `redis`).
    #[arg(long, default_value = "server")]
    label: String,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// One client, sequential request/response; latency percentiles.
    Rtt {
        /// Measured requests.
        #[arg(long, default_value_t = 100_000)]
        iterations: u64,
        /// Unmeasured requests first.
        #[arg(long, default_value_t = 5_000)]
        warmup: u64,
    },
    /// C clients, one connection each, sequential request/response per
    /// client, for D seconds; total requests per second.
    Throughput {
        /// Concurrent clients.
        #[arg(long, default_value_t = 1)]
        clients: usize,
        /// Measured seconds.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Unmeasured requests per client first.
        #[arg(long, default_value_t = 1_000)]
        warmup: u64,
    },
}

/// One connection: a blocking socket plus the codec for its protocol.
type Connection = LineClient<BufReader<UnixStream>, UnixStream>;

fn connect(socket: &Path, proto: Protocol) -> Result<Connection> {
    let stream = UnixStream::connect(socket)
        .with_context(|| format!("cannot connect to {}", socket.display()))?;
    Ok(LineClient::new(
        BufReader::new(stream.try_clone()?),
        stream,
        proto.codec(),
    ))
}

fn rtt(args: &Args, iterations: u64, warmup: u64) -> Result<serde_json::Value> {
    let mut conn = connect(&args.socket, args.proto)?;
    conn.warm_up(warmup)?;
    let mut histogram = new_histogram();
    let began = Instant::now();
    for _ in 0..iterations {
        conn.timed_ping(&mut histogram)?;
    }
    let seconds = began.elapsed().as_secs_f64();
    Ok(report(args, "rtt", 1, iterations, seconds, &histogram))
}

fn throughput(
    args: &Args,
    clients: usize,
    duration: f64,
    warmup: u64,
) -> Result<serde_json::Value> {
    if clients == 0 {
        bail!("--clients must be at least 1");
    }
    let duration = Duration::from_secs_f64(duration);
    // Everyone connects and warms up, then all start together.
    let start = Arc::new(Barrier::new(clients + 1));
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let socket = args.socket.clone();
            let proto = args.proto;
            let start = Arc::clone(&start);
            std::thread::spawn(move || -> Result<(u64, Histogram<u64>)> {
                let connected =
                    connect(&socket, proto).and_then(|mut c| c.warm_up(warmup).map(|_| c));
                start.wait();
                let mut conn = connected?;
                let mut histogram = new_histogram();
                let deadline = Instant::now() + duration;
                let mut count = 0;
                while Instant::now() < deadline {
                    conn.timed_ping(&mut histogram)?;
                    count += 1;
                }
                Ok((count, histogram))
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let mut total = 0;
    let mut histogram = new_histogram();
    for worker in workers {
        let (count, h) = worker.join().expect("client thread panicked")?;
        total += count;
        histogram.add(h).expect("same histogram bounds");
    }
    // Until the last client finished, so the slowest tail request counts.
    let seconds = began.elapsed().as_secs_f64();
    Ok(report(
        args,
        "throughput",
        clients,
        total,
        seconds,
        &histogram,
    ))
}

fn report(
    args: &Args,
    mode: &str,
    clients: usize,
    requests: u64,
    seconds: f64,
    histogram: &Histogram<u64>,
) -> serde_json::Value {
    json!({
        "mode": mode,
        "server": args.label,
        "proto": format!("{:?}", args.proto).to_lowercase(),
        "clients": clients,
        "requests": requests,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "rps": (requests as f64 / seconds).round(),
        "p50_us": micros(histogram.value_at_quantile(0.50) as f64),
        "p99_us": micros(histogram.value_at_quantile(0.99) as f64),
        "mean_us": micros(histogram.mean()),
        "max_us": micros(histogram.max() as f64),
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    let line = match args.mode {
        Mode::Rtt { iterations, warmup } => rtt(&args, iterations, warmup)?,
        Mode::Throughput {
            clients,
            duration,
            warmup,
        } => throughput(&args, clients, duration, warmup)?,
    };
    println!("{line}");
    Ok(())
}

//! `ai-latency`: the daemon's added latency on `ai/generate`. Sends the same
//! chat completion N times straight to an OpenAI-compatible server and N
//! times through the daemon (`ai/generate` over one persistent Unix-socket
//! JSON-RPC connection), alternating which goes first in each pair so drift
//! and ordering effects cancel. Both clients are blocking, keep their
//! connection open and parse the whole answer before the clock stops.
//! Driven by `scripts/bench/ai_latency.sh`; prints a table on stderr and one
//! JSON object on stdout.

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "ai-latency",
    about = "ai/generate through the daemon vs the same request straight to the server"
)]
struct Args {
    /// Daemon socket.
    #[arg(long)]
    socket: PathBuf,
    /// The server's base URL, as in providers.toml (`http://127.0.0.1:PORT/v1`).
    #[arg(long)]
    url: String,
    /// Provider name the daemon knows the server by.
    #[arg(long, default_value = "local")]
    provider: String,
    /// Model name the provider is configured with (sent in the direct body).
    #[arg(long, default_value = "smollm2")]
    model: String,
    /// The prompt, the same for every request.
    #[arg(long, default_value = "Say hi")]
    prompt: String,
    /// max_tokens, the same for every request.
    #[arg(long, default_value_t = 1)]
    max_tokens: u32,
    /// Measured pairs (one direct and one daemon request each).
    #[arg(long, default_value_t = 500)]
    iterations: usize,
    /// Unmeasured pairs first (connections, caches).
    #[arg(long, default_value_t = 20)]
    warmup: usize,
}

/// One keep-alive HTTP/1.1 connection to the server: the lowest-overhead
/// way to send the request straight there.
struct Direct {
    host: String,
    addr: String,
    path: String,
    body: Vec<u8>,
    conn: Option<BufReader<TcpStream>>,
    reconnects: u64,
}

impl Direct {
    fn new(url: &str, body: &Value) -> Result<Direct> {
        let rest = url
            .strip_prefix("http://")
            .context("--url must be http://HOST:PORT/PATH")?;
        let (addr, base) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(Direct {
            host: addr.to_owned(),
            addr: addr.to_owned(),
            path: format!("/{}/chat/completions", base.trim_end_matches('/')).replace("//", "/"),
            body: serde_json::to_vec(body)?,
            conn: None,
            reconnects: 0,
        })
    }

    fn request(&mut self) -> Result<Value> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(&self.addr)
                .with_context(|| format!("cannot connect to {}", self.addr))?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::new(stream));
            self.reconnects += 1;
        }
        let conn = self.conn.as_mut().expect("connected");
        let head = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: {}\r\n\r\n",
            self.path,
            self.host,
            self.body.len()
        );
        let stream = conn.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(&self.body)?;
        let mut line = String::new();
        conn.read_line(&mut line)?;
        let status = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut length = None;
        let mut close = false;
        loop {
            line.clear();
            if conn.read_line(&mut line)? == 0 {
                bail!("server closed the connection mid-response");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse::<usize>().ok(),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    "transfer-encoding" => bail!("chunked responses are not supported"),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length.context("response without content-length")?];
        conn.read_exact(&mut body)?;
        if close {
            self.conn = None;
        }
        if status != "200" {
            bail!(
                "server answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let answer: Value = serde_json::from_slice(&body)?;
        if answer["choices"][0]["message"].is_null() {
            bail!("server answered without a message: {answer}");
        }
        Ok(answer)
    }
}

/// One persistent JSON-RPC connection to the daemon.
struct Daemon {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    params: Value,
    next_id: u64,
    line: String,
}

impl Daemon {
    fn connect(socket: &PathBuf, params: Value) -> Result<Daemon> {
        let stream = UnixStream::connect(socket)
            .with_context(|| format!("cannot connect to {}", socket.display()))?;
        Ok(Daemon {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
            params,
            next_id: 1,
            line: String::new(),
        })
    }

    fn request(&mut self) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut frame = serde_json::to_vec(&json!({
            "jsonrpc": "2.0", "id": id, "method": "ai/generate", "params": self.params,
        }))?;
        frame.push(b'\n');
        self.writer.write_all(&frame)?;
        self.line.clear();
        if self.reader.read_line(&mut self.line)? == 0 {
            bail!("the daemon closed the connection");
        }
        let mut answer: Value = serde_json::from_str(&self.line)?;
        if !answer["error"].is_null() {
            bail!("ai/generate failed: {}", answer["error"]);
        }
        Ok(answer["result"].take())
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The `q` quantile (nearest rank) of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn summary(mut values: Vec<f64>) -> Value {
    values.sort_by(f64::total_cmp);
    json!({
        "median_us": quantile(&values, 0.5),
        "p90_us": quantile(&values, 0.9),
        "p99_us": quantile(&values, 0.99),
        "min_us": values[0],
        "mean_us": values.iter().sum::<f64>() / values.len() as f64,
    })
}

/// Median of the paired differences with a distribution-free 95% interval
/// (sign-test order statistics): robust to the server's own jitter.
fn paired(mut diffs: Vec<f64>) -> Value {
    diffs.sort_by(f64::total_cmp);
    let n = diffs.len() as f64;
    let half = 1.96 * n.sqrt() / 2.0;
    let lo = ((n / 2.0 - half).floor() as usize).clamp(1, diffs.len());
    let hi = ((n / 2.0 + half).ceil() as usize).clamp(1, diffs.len());
    json!({
        "median_us": quantile(&diffs, 0.5),
        "ci95_low_us": diffs[lo - 1],
        "ci95_high_us": diffs[hi - 1],
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let mut direct = Direct::new(
        &args.url,
        &json!({
            "model": args.model,
            "messages": [{"role": "user", "content": args.prompt}],
            "max_tokens": args.max_tokens,
            "temperature": 0.0,
        }),
    )?;
    let mut daemon = Daemon::connect(
        &args.socket,
        json!({
            "provider": args.provider,
            "prompt": args.prompt,
            "maxTokens": args.max_tokens,
            "temperature": 0.0,
        }),
    )?;

    let mut direct_us = Vec::with_capacity(args.iterations);
    let mut daemon_us = Vec::with_capacity(args.iterations);
    for i in 0..args.warmup + args.iterations {
        let mut time_direct = || -> Result<f64> {
            let t = Instant::now();
            direct.request()?;
            Ok(micros(t.elapsed()))
        };
        let (d, c) = if i % 2 == 0 {
            let d = time_direct()?;
            let t = Instant::now();
            daemon.request()?;
            (d, micros(t.elapsed()))
        } else {
            let t = Instant::now();
            daemon.request()?;
            let c = micros(t.elapsed());
            (time_direct()?, c)
        };
        if i >= args.warmup {
            direct_us.push(d);
            daemon_us.push(c);
        }
    }

    let diffs: Vec<f64> = daemon_us
        .iter()
        .zip(&direct_us)
        .map(|(c, d)| c - d)
        .collect();
    let direct_stats = summary(direct_us);
    let daemon_stats = summary(daemon_us);
    let added_median = daemon_stats["median_us"].as_f64().unwrap_or(f64::NAN)
        - direct_stats["median_us"].as_f64().unwrap_or(f64::NAN);
    let added_p90 = daemon_stats["p90_us"].as_f64().unwrap_or(f64::NAN)
        - direct_stats["p90_us"].as_f64().unwrap_or(f64::NAN);
    let paired = paired(diffs);
    let result = json!({
        "iterations": args.iterations,
        "warmup": args.warmup,
        "max_tokens": args.max_tokens,
        "prompt": args.prompt,
        "direct": direct_stats,
        "daemon": daemon_stats,
        "added_median_us": added_median,
        "added_p90_us": added_p90,
        "paired_difference": paired,
        "direct_reconnects": direct.reconnects,
    });
    eprintln!(
        "{:<28} {:>10} {:>10} {:>10}",
        "", "median ms", "p90 ms", "p99 ms"
    );
    for (label, stats) in [
        ("direct (HTTP keep-alive)", &result["direct"]),
        ("daemon (ai/generate)", &result["daemon"]),
    ] {
        eprintln!(
            "{:<28} {:>10.3} {:>10.3} {:>10.3}",
            label,
            stats["median_us"].as_f64().unwrap_or(f64::NAN) / 1e3,
            stats["p90_us"].as_f64().unwrap_or(f64::NAN) / 1e3,
            stats["p99_us"].as_f64().unwrap_or(f64::NAN) / 1e3,
        );
    }
    eprintln!(
        "added: median {:.3} ms, p90 {:.3} ms; paired difference median {:.3} ms (95% CI {:.3} .. {:.3})",
        added_median / 1e3,
        added_p90 / 1e3,
        paired["median_us"].as_f64().unwrap_or(f64::NAN) / 1e3,
        paired["ci95_low_us"].as_f64().unwrap_or(f64::NAN) / 1e3,
        paired["ci95_high_us"].as_f64().unwrap_or(f64::NAN) / 1e3,
    );
    println!("{result}");
    Ok(())
}

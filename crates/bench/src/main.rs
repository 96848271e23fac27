//! `attest-bench`: loads an LRS with a deterministic xAPI dataset and measures ingest and queries
//! over HTTP, as a client would see them. Works against any LRS at a base URL (Attest or another).
#![forbid(unsafe_code)]

mod dataset;
mod raw;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "attest-bench",
    about = "Ingest and query benchmark for an xAPI LRS"
)]
struct Cli {
    /// The xAPI base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080/xapi")]
    url: String,
    #[arg(long, default_value = "bench")]
    key: String,
    #[arg(long, default_value = "bench")]
    secret: String,
    /// X-Experience-API-Version to send.
    #[arg(long, default_value = "1.0.3")]
    xapi_version: String,
    /// Report this process's resident memory (the server's pid) after each phase.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Seed of the dataset: the same seed gives the same statements.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(subcommand)]
    command: Phase,
}

#[derive(Subcommand)]
enum Phase {
    /// POST statements: `count` in batches of `batch` from `concurrency` clients.
    Ingest {
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        #[arg(long, default_value_t = 100)]
        batch: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Skip this many statements of the dataset first (to continue a load).
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// Write statements of the dataset to stdout as JSON Lines (for `attest import`).
    Generate {
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        /// Skip this many statements of the dataset first.
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// The raw SQLite reference: the same statements inserted straight into a new SQLite file
    /// (`path`) as plain rows, `batch` per transaction, with the pragmas of Attest's store
    /// (see src/raw.rs for exactly what it writes). Needs no server.
    RawSqlite {
        #[arg(long, default_value_t = 50_000)]
        count: usize,
        #[arg(long, default_value_t = 100)]
        batch: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// The database file to create (it must not exist).
        #[arg(long)]
        path: std::path::PathBuf,
    },
    /// Run each query kind `iterations` times from `concurrency` clients and report percentiles.
    Query {
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        /// Statements per page.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
}

struct Target {
    client: reqwest::Client,
    url: String,
    key: String,
    secret: String,
    version: String,
}

impl Target {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .basic_auth(&self.key, Some(&self.secret))
            .header("X-Experience-API-Version", &self.version)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let target = Arc::new(Target {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?,
        url: cli.url.trim_end_matches('/').to_string(),
        key: cli.key.clone(),
        secret: cli.secret.clone(),
        version: cli.xapi_version.clone(),
    });
    let data = dataset::Dataset::new(cli.seed);
    match cli.command {
        Phase::Ingest {
            count,
            batch,
            concurrency,
            offset,
        } => ingest(&target, &data, count, batch, concurrency, offset).await?,
        Phase::Generate { count, offset } => generate(&data, count, offset)?,
        Phase::RawSqlite {
            count,
            batch,
            offset,
            path,
        } => raw::run(&data, &path, count, batch, offset)?,
        Phase::Query {
            iterations,
            concurrency,
            limit,
        } => query(&target, &data, iterations, concurrency, limit).await?,
    }
    if let Some(pid) = cli.server_pid {
        println!("server RSS: {} MB", rss_mb(pid)?);
    }
    Ok(())
}

/// Statements `offset..offset + count`, one a line.
fn generate(data: &dataset::Dataset, count: usize, offset: usize) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    for n in offset..offset + count {
        serde_json::to_writer(&mut out, &data.statement(n))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

async fn ingest(
    target: &Arc<Target>,
    data: &dataset::Dataset,
    count: usize,
    batch: usize,
    concurrency: usize,
    offset: usize,
) -> anyhow::Result<()> {
    if batch == 0 || concurrency == 0 {
        bail!("batch and concurrency must be at least 1");
    }
    let batches: Arc<Vec<String>> = Arc::new(
        (offset..offset + count)
            .collect::<Vec<_>>()
            .chunks(batch)
            .map(|range| {
                Value::Array(range.iter().map(|&n| data.statement(n)).collect()).to_string()
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (target, batches, next) = (target.clone(), batches.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = batches.get(i) else { break };
                let sent = Instant::now();
                let response = target
                    .request(reqwest::Method::POST, "/statements")
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                let status = response.status();
                if !status.is_success() {
                    bail!(
                        "POST failed with {status}: {}",
                        response.text().await.unwrap_or_default()
                    );
                }
                response.bytes().await?;
                latencies.push(sent.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    println!(
        "ingest: {count} statements, batch {batch}, {concurrency} clients: {:.2} s, {:.0} statements/s; per request {}",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        percentiles(&mut latencies)
    );
    Ok(())
}

async fn query(
    target: &Arc<Target>,
    data: &dataset::Dataset,
    iterations: usize,
    concurrency: usize,
    limit: usize,
) -> anyhow::Result<()> {
    println!(
        "{:<20} {:>8} {:>8} {:>8} {:>8}  (ms, {iterations} runs, limit {limit})",
        "query", "p50", "p95", "p99", "max"
    );
    for kind in dataset::QUERY_KINDS {
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..concurrency.max(1) {
            let (target, next) = (target.clone(), next.clone());
            let queries: Vec<String> = (0..iterations)
                .map(|i| data.query(kind, i, limit))
                .collect();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(query) = queries.get(i) else { break };
                    let mut path = format!("/statements?{query}");
                    if kind == "more_paging" {
                        // Time the second page: the cursor, not the first query.
                        let first: Value = target
                            .request(reqwest::Method::GET, &path)
                            .send()
                            .await?
                            .json()
                            .await?;
                        let more = first["more"].as_str().unwrap_or_default().to_string();
                        if more.is_empty() {
                            continue;
                        }
                        let base_path = reqwest::Url::parse(&target.url)?
                            .path()
                            .trim_end_matches('/')
                            .to_string();
                        path = more.strip_prefix(&base_path).unwrap_or(&more).to_string();
                    }
                    let sent = Instant::now();
                    let response = target.request(reqwest::Method::GET, &path).send().await?;
                    let status = response.status();
                    let body = response.bytes().await?;
                    if !status.is_success() {
                        bail!(
                            "query {path} failed with {status}: {}",
                            String::from_utf8_lossy(&body)
                        );
                    }
                    latencies.push(sent.elapsed());
                }
                Ok::<_, anyhow::Error>(latencies)
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.context("query task")??);
        }
        latencies.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |p: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{kind:<20} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            ms(at(0.50)),
            ms(at(0.95)),
            ms(at(0.99)),
            ms(latencies.last().copied().unwrap_or_default())
        );
    }
    Ok(())
}

fn percentiles(latencies: &mut [Duration]) -> String {
    latencies.sort();
    let at = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        at(0.5),
        at(0.95),
        at(0.99)
    )
}

fn rss_mb(pid: u32) -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).context("read /proc status")?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")?;
    Ok(kb / 1024)
}

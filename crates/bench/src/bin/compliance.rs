//! `attest-bench-compliance`: loads a plant into Attest's compliance API (people, job functions,
//! procedures, requirements as CSV feeds; completions as xAPI statements) and measures the
//! answers an auditor and a gate ask for, over HTTP (issue 9: a single person/item answer in
//! milliseconds; plant-wide status fast).
//!
//! The plant (deterministic): `people` people in `functions` job functions over 2 sites, each
//! function requiring `requirements` procedures (one version each, effective 2025-01-01, one
//! completion rule); every person completed every requirement of their function once in 2025,
//! except every tenth person, who skipped one.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "attest-bench-compliance",
    about = "Compliance API benchmark for Attest"
)]
struct Cli {
    /// The server's base URL (without /xapi).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, default_value = "bench")]
    key: String,
    #[arg(long, default_value = "bench")]
    secret: String,
    #[arg(long, default_value_t = 1000)]
    people: usize,
    #[arg(long, default_value_t = 50)]
    requirements: usize,
    #[arg(long, default_value_t = 10)]
    functions: usize,
    #[command(subcommand)]
    command: Phase,
}

#[derive(Subcommand, Clone, Copy)]
enum Phase {
    /// Record the plant's master data and post its completions.
    Load {
        /// Statements per POST.
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
    /// Time each kind of question `iterations` times.
    Measure {
        #[arg(long, default_value_t = 50)]
        iterations: usize,
    },
}

struct Client {
    http: reqwest::Client,
    cli: Cli,
}

impl Client {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.cli.url))
            .basic_auth(&self.cli.key, Some(&self.cli.secret))
            .header("X-Experience-API-Version", "1.0.3")
    }

    async fn expect(&self, request: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let response = request.send().await.with_context(|| what.to_string())?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() {
            bail!("{what}: {status} {body}");
        }
        Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    async fn import(&self, kind: &str, csv: String) -> anyhow::Result<()> {
        let request = self
            .request(
                reqwest::Method::POST,
                &format!("/api/compliance/import/{kind}?reason=benchmark%20load"),
            )
            .header("Content-Type", "text/csv")
            .body(csv);
        self.expect(request, kind).await.map(|_| ())
    }
}

fn procedure(f: usize, r: usize) -> String {
    format!("SOP-{f}-{r}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command;
    let client = Client {
        http: reqwest::Client::new(),
        cli,
    };
    match command {
        Phase::Load { batch } => load(&client, batch).await,
        Phase::Measure { iterations } => measure(&client, iterations).await,
    }
}

async fn load(client: &Client, batch: usize) -> anyhow::Result<()> {
    let (people, requirements, functions) = (
        client.cli.people,
        client.cli.requirements,
        client.cli.functions,
    );
    let started = Instant::now();
    let mut csv =
        String::from("person,name,account_home_page,account_name,function,site,valid_from\n");
    for p in 0..people {
        writeln!(
            csv,
            "P{p},Person {p},https://hr.example,E{p},F{},S{},2024-01-01T00:00:00Z",
            p % functions,
            p % 2
        )?;
    }
    client.import("people", csv).await?;
    let mut csv = String::from("procedure,version,activity_iri,effective_from,impact,rule\n");
    let mut reqs =
        String::from("id,function,procedure,recurrence_days,early_window_days,valid_from\n");
    for f in 0..functions {
        for r in 0..requirements {
            let p = procedure(f, r);
            writeln!(
                csv,
                "{p},1,https://qms.example/doc/{p}/v1,2025-01-01T00:00:00Z,FULL,read"
            )?;
            writeln!(reqs, "R-{f}-{r},F{f},{p},365,60,2024-01-01T00:00:00Z")?;
        }
    }
    client.import("procedure-versions", csv).await?;
    client.import("requirements", reqs).await?;
    let rule = json!({"reason": "benchmark load", "fact": {"kind": "rule", "id": "read", "version": 1,
        "move_on": "COMPLETED", "effective_from": "2020-01-01T00:00:00Z"}});
    client
        .expect(
            client
                .request(reqwest::Method::POST, "/api/compliance/facts")
                .json(&rule),
            "rule",
        )
        .await?;
    let facts_done = started.elapsed();
    let mut pending = Vec::with_capacity(batch);
    let mut posted = 0usize;
    for p in 0..people {
        let f = p % functions;
        for r in 0..requirements {
            if p % 10 == 0 && r == 7 {
                continue;
            }
            pending.push(json!({
                "actor": {"account": {"homePage": "https://hr.example", "name": format!("E{p}")}},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                "object": {"id": format!("https://qms.example/doc/{}/v1", procedure(f, r))},
                "timestamp": format!("2025-{:02}-{:02}T09:00:00Z", 1 + (p + r) % 12, 1 + r % 28)
            }));
            if pending.len() == batch {
                post(client, &mut pending).await?;
                posted += batch;
            }
        }
    }
    posted += pending.len();
    post(client, &mut pending).await?;
    let total = started.elapsed();
    println!(
        "loaded {people} people x {requirements} requirements ({functions} functions): facts {:.1} s, \
         {posted} statements in {:.1} s ({:.0}/s)",
        facts_done.as_secs_f64(),
        (total - facts_done).as_secs_f64(),
        posted as f64 / (total - facts_done).as_secs_f64()
    );
    Ok(())
}

async fn post(client: &Client, pending: &mut Vec<Value>) -> anyhow::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let body = Value::Array(std::mem::take(pending));
    client
        .expect(
            client
                .request(reqwest::Method::POST, "/xapi/statements")
                .json(&body),
            "statements",
        )
        .await
        .map(|_| ())
}

/// The path of the i-th request of a kind.
type PathOf = Box<dyn Fn(usize) -> String>;

async fn measure(client: &Client, iterations: usize) -> anyhow::Result<()> {
    let at = "2026-06-01T00:00:00Z";
    let people = client.cli.people;
    let kinds: Vec<(&str, PathOf)> = vec![
        (
            "person_procedure",
            Box::new(move |i| {
                format!(
                    "/api/compliance/status?person=P{}&procedure={}&at={at}",
                    (i * 7919) % people,
                    procedure((i * 7919) % people % 10, i % 5)
                )
            }),
        ),
        (
            "person_all",
            Box::new(move |i| {
                format!(
                    "/api/compliance/status?person=P{}&at={at}",
                    (i * 7919) % people
                )
            }),
        ),
        (
            "assignments",
            Box::new(move |i| {
                format!(
                    "/api/compliance/assignments?person=P{}&at={at}",
                    (i * 7919) % people
                )
            }),
        ),
        (
            "gaps_site",
            Box::new(move |_| format!("/api/compliance/reports/gaps?site=S0&at={at}")),
        ),
        (
            "overdue_all",
            Box::new(move |_| format!("/api/compliance/reports/overdue?at={at}")),
        ),
        (
            "expiring_30d",
            Box::new(move |_| format!("/api/compliance/reports/expiring?days=30&at={at}")),
        ),
    ];
    for (name, path) in kinds {
        // Plant-wide reports are slow enough that a few runs say enough.
        let runs = if name.starts_with("person") || name == "assignments" {
            iterations
        } else {
            iterations.min(5)
        };
        let mut times = Vec::with_capacity(runs);
        let mut rows = 0;
        for i in 0..runs {
            let started = Instant::now();
            let answer = client
                .expect(client.request(reqwest::Method::GET, &path(i)), name)
                .await?;
            times.push(started.elapsed());
            rows = ["gaps", "assignments", "expiring", "requirements"]
                .iter()
                .find_map(|k| answer.get(*k).and_then(Value::as_array).map(Vec::len))
                .unwrap_or(0);
        }
        println!(
            "{name:<18} {runs:>4} runs  {}  ({rows} rows in the last answer)",
            percentiles(&mut times)
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
        "p50 {:8.1} ms  p95 {:8.1} ms  p99 {:8.1} ms",
        at(0.5),
        at(0.95),
        at(0.99)
    )
}

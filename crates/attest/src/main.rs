//! `attest`: the one binary. `serve` runs the LRS; `credential` manages credentials on the same
//! database.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use store::{NewCredential, PgStore, SqliteStore, Store};

#[derive(Parser)]
#[command(
    name = "attest",
    version,
    about = "Attest: an xAPI Learning Record Store for regulated industries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DataArgs {
    /// The data directory (holds the SQLite database and the ledger key).
    #[arg(
        long = "data",
        env = "ATTEST_DATA_DIR",
        default_value = "./attest-data"
    )]
    data: PathBuf,
    /// A PostgreSQL database instead of SQLite: postgres://user:password@host:port/database.
    /// Several Attest nodes may share one.
    #[arg(long = "database", env = "ATTEST_DATABASE_URL")]
    database: Option<String>,
}

impl DataArgs {
    /// Where the data lives, for messages.
    fn describe(&self) -> String {
        match &self.database {
            Some(url) => format!("PostgreSQL {}", redact(url)),
            None => self.data.display().to_string(),
        }
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Runs `$body` with `$store` bound to the store `$data` names, whichever backend it is.
macro_rules! with_store {
    ($data:expr, |$store:ident| $body:expr) => {
        match &$data.database {
            Some(url) => {
                let $store = PgStore::connect(url)
                    .await
                    .with_context(|| format!("cannot open {}", $data.describe()))?;
                $body
            }
            None => {
                let $store = SqliteStore::open(&$data.data)
                    .with_context(|| format!("cannot open the store in {}", $data.describe()))?;
                $body
            }
        }
    };
}

#[derive(Subcommand)]
enum Command {
    /// Run the LRS. The xAPI base URL is http://HOST:PORT/xapi.
    Serve {
        /// Address and port to listen on.
        #[arg(long, env = "ATTEST_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        data: DataArgs,
        /// The public base URL of this LRS; names credentials in statement authorities.
        #[arg(long, env = "ATTEST_PUBLIC_URL")]
        public_url: Option<String>,
        /// The largest request body accepted, in bytes (413 beyond).
        #[arg(long, env = "ATTEST_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
        max_body_bytes: usize,
        /// Seconds between signed ledger checkpoints (one is also made at shutdown).
        #[arg(long, env = "ATTEST_CHECKPOINT_INTERVAL", default_value_t = 60)]
        checkpoint_interval: u64,
    },
    /// Check that nothing in the store was altered: every ledger entry, the chain, every signed
    /// checkpoint and every record's content. Exits 0 when intact, 1 naming the first problem.
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Manage the credentials (HTTP Basic key and secret) that clients use.
    #[command(subcommand)]
    Credential(CredentialCommand),
}

#[derive(Subcommand)]
enum CredentialCommand {
    /// Create a credential and print its key and secret (the secret is shown only here).
    Create {
        /// Who or what uses it (a tool, a person); written into statement authorities.
        #[arg(long)]
        name: String,
        /// The key (default: random).
        #[arg(long)]
        key: Option<String>,
        /// The secret (default: random).
        #[arg(long)]
        secret: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ATTEST_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Verification reads synchronously; it runs before (and without) the async runtime.
    if let Command::Verify { data } = &cli.command {
        return verify(data);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve {
                listen,
                data,
                public_url,
                max_body_bytes,
                checkpoint_interval,
            } => {
                let settings = ServeSettings {
                    listen,
                    public_url,
                    max_body_bytes,
                    checkpoint_interval: std::time::Duration::from_secs(checkpoint_interval.max(1)),
                    describe: data.describe(),
                };
                with_store!(data, |store| serve(store, settings).await)
            }
            Command::Verify { .. } => Ok(()),
            Command::Credential(CredentialCommand::Create {
                name,
                key,
                secret,
                data,
            }) => with_store!(data, |store| {
                let (key, secret) = create_credential(&store, "cli", name, key, secret).await?;
                println!("key: {key}\nsecret: {secret}");
                Ok(())
            }),
        }
    })
}

async fn create_credential<S: Store>(
    store: &S,
    principal: &str,
    name: String,
    key: Option<String>,
    secret: Option<String>,
) -> anyhow::Result<(String, String)> {
    let key = key.unwrap_or_else(|| random_token(16));
    let secret = secret.unwrap_or_else(|| random_token(32));
    anyhow::ensure!(
        !key.is_empty() && !key.contains(':'),
        "a key must be non-empty and contain no ':'"
    );
    anyhow::ensure!(!secret.is_empty(), "a secret must not be empty");
    let secret_hash = store::hash_secret(&secret).map_err(anyhow::Error::msg)?;
    store
        .create_credential(
            principal.to_string(),
            NewCredential {
                key: key.clone(),
                secret_hash,
                name,
            },
        )
        .await?;
    Ok((key, secret))
}

/// A random string of letters and digits, safe in a Basic credential and on a command line.
fn random_token(length: usize) -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(length)
        .map(char::from)
        .collect()
}

struct ServeSettings {
    listen: SocketAddr,
    public_url: Option<String>,
    max_body_bytes: usize,
    checkpoint_interval: std::time::Duration,
    describe: String,
}

async fn serve<S: Store + Clone>(store: S, settings: ServeSettings) -> anyhow::Result<()> {
    if store.credential_count().await? == 0 {
        let key = std::env::var("ATTEST_BOOTSTRAP_KEY").ok();
        let secret = std::env::var("ATTEST_BOOTSTRAP_SECRET").ok();
        let (key, secret) =
            create_credential(&store, "system", "bootstrap".into(), key, secret).await?;
        println!(
            "Created the first credential (shown once, keep it safe):\n  key:    {key}\n  secret: {secret}"
        );
    }
    let listen = settings.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    let config = server::Config {
        authority_home_page: settings
            .public_url
            .unwrap_or_else(|| format!("http://{local}")),
        max_body_bytes: settings.max_body_bytes,
        ..server::Config::default()
    };
    let state = server::AppState::new(store.clone(), config);
    let checkpoints = tokio::spawn(checkpoint_periodically(
        store.clone(),
        settings.checkpoint_interval,
    ));
    println!(
        "Attest is listening: xAPI base URL http://{local}/xapi (data in {})",
        settings.describe
    );
    server::serve(listener, state, shutdown_signal()).await?;
    checkpoints.abort();
    store.create_checkpoint().await?;
    Ok(())
}

/// Signs a checkpoint over the ledger every `interval` (none when nothing was written since).
async fn checkpoint_periodically<S: Store>(store: S, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = store.create_checkpoint().await {
            tracing::error!(%error, "could not make a ledger checkpoint");
        }
    }
}

fn verify(data: &DataArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let bar = std::io::stderr().is_terminal().then(|| {
        indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} entries  {per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        )
    });
    let mut progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let report = match &data.database {
        Some(url) => store::verify_postgres(url, &mut progress),
        None => store::verify(&data.data, &mut progress),
    }
    .with_context(|| format!("cannot verify {}", data.describe()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match report.problem {
        None => {
            println!(
                "intact: {} ledger entries, {} statements, {} signed checkpoints verified",
                report.entries, report.statements, report.checkpoints
            );
            Ok(())
        }
        Some(problem) => {
            println!("NOT INTACT: {problem}");
            println!("(the ledger was intact up to entry {})", report.entries);
            std::process::exit(1);
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

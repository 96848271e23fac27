//! `attest`: the one binary. `serve` runs the LRS; `credential` manages credentials on the same
//! database.
#![forbid(unsafe_code)]

mod transfer;

/// mimalloc returns freed memory to the system; glibc's allocator kept the peak of each large
/// report resident in its per-thread arenas (measured in crates/bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use store::{CredentialKind, CredentialRequest, Scope, Store, Stores};

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

/// `attest compliance rederive`: derives every completion again and diffs. Returns whether the
/// stored completions agreed.
async fn rederive<S: Store>(store: &S, apply: bool) -> anyhow::Result<bool> {
    use server::compliance::{build_from_scratch, derive};
    let (engine, as_of) = build_from_scratch(store)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let engine = std::sync::Arc::new(std::sync::RwLock::new(engine));
    let diff = derive::diff(store, engine, None)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    for body in &diff.added {
        println!("+ {body}");
    }
    for body in &diff.invalidated {
        println!("- {body}");
    }
    let differs = !diff.added.is_empty() || !diff.invalidated.is_empty();
    eprintln!(
        "{} completions derived; {} not stored, {} stored but no longer derived",
        diff.derived.len(),
        diff.added.len(),
        diff.invalidated.len()
    );
    if differs && apply {
        match store
            .sync_completions(derive::PRINCIPAL.to_string(), None, diff.derived, as_of)
            .await
        {
            Ok((added, invalidated)) => {
                eprintln!("stored {added} new completions, invalidated {invalidated}")
            }
            Err(store::StoreError::FactsChanged) => {
                anyhow::bail!(
                    "facts or statements were written meanwhile: nothing stored; run again"
                )
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(!differs)
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

/// Runs `$body` with `$stores` bound to all the stores (tenants) `$data` holds.
macro_rules! with_stores {
    ($data:expr, |$stores:ident| $body:expr) => {
        match &$data.database {
            Some(url) => {
                let $stores = Stores::postgres(url)
                    .await
                    .with_context(|| format!("cannot open {}", $data.describe()))?;
                $body
            }
            None => {
                let $stores = Stores::sqlite(&$data.data)
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
        /// Requests per second one credential may make; 429 beyond (off when absent).
        #[arg(long, env = "ATTEST_RATE_LIMIT")]
        rate_limit: Option<u32>,
    },
    /// Check that nothing in the store was altered: every ledger entry, the chain, every signed
    /// checkpoint and every record's content. Exits 0 when intact, 1 naming the first problem.
    Verify {
        #[command(flatten)]
        data: DataArgs,
        /// The store (tenant) to verify.
        #[arg(long, default_value = store::DEFAULT_STORE)]
        store: String,
    },
    /// Manage the credentials (HTTP Basic key and secret) that clients use.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Manage the stores (tenants): each store's records are reachable only with its credentials.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Import statements from JSON Lines (one statement a line, as `export` writes them).
    /// Re-running skips the statements already stored with the same content.
    Import {
        #[command(flatten)]
        args: transfer::ImportArgs,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Training compliance: derived records.
    #[command(subcommand)]
    Compliance(ComplianceCommand),
    /// Export statements as JSON Lines to stdout, in stored order, exactly as stored.
    Export {
        #[command(flatten)]
        args: transfer::ExportArgs,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum ComplianceCommand {
    /// Derive every completion from the statements and the rules from scratch and compare with
    /// the stored ones: `+` derived but not stored, `-` stored but no longer derived. Exits 0
    /// when they agree, 1 when they differ (after storing the difference with --apply).
    Rederive {
        #[command(flatten)]
        data: DataArgs,
        /// The store (tenant).
        #[arg(long, default_value = store::DEFAULT_STORE)]
        store: String,
        /// Store what differs (new completions; invalidate those no longer derived), ledgered.
        #[arg(long)]
        apply: bool,
    },
}

#[derive(Subcommand)]
enum CredentialCommand {
    /// Create a credential and print its key and secret (the secret is shown only here).
    Create {
        /// Who or what uses it (a tool, a person); written into statement authorities.
        #[arg(long)]
        name: String,
        /// The store it reaches.
        #[arg(long, default_value = store::DEFAULT_STORE)]
        store: String,
        /// An xAPI scope (repeat for several): statements/write, statements/read,
        /// statements/read/mine, all/read, all, state, define, profile.
        #[arg(long = "scope", default_value = "all")]
        scopes: Vec<String>,
        /// An administrator of stores and credentials (the admin API), not an xAPI client.
        #[arg(long)]
        admin: bool,
        /// When it stops working (RFC 3339).
        #[arg(long)]
        expires: Option<String>,
        /// The key (default: random).
        #[arg(long)]
        key: Option<String>,
        /// The secret (default: random).
        #[arg(long)]
        secret: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List credentials (never their secrets).
    List {
        /// Only this store's.
        #[arg(long)]
        store: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Revoke a credential: refused from its next request on.
    Revoke {
        key: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Give a credential a new secret (printed once); the old one stops working.
    Rotate {
        key: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Create a store (lowercase letters, digits and '-').
    Create {
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the stores.
    List {
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
    if let Command::Verify { data, store } = &cli.command {
        return verify(data, store);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Set by commands that succeed but must exit 1 (a rederive that found differences).
    let different = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = different.clone();
    let outcome = runtime.block_on(async move {
        let different = flag;
        match cli.command {
            Command::Serve {
                listen,
                data,
                public_url,
                max_body_bytes,
                checkpoint_interval,
                rate_limit,
            } => {
                let settings = ServeSettings {
                    listen,
                    public_url,
                    max_body_bytes,
                    rate_limit,
                    checkpoint_interval: std::time::Duration::from_secs(checkpoint_interval.max(1)),
                    describe: data.describe(),
                };
                with_stores!(data, |stores| serve(stores, settings).await)
            }
            Command::Verify { .. } => Ok(()),
            Command::Import { args, data } => with_stores!(data, |stores| {
                let store = transfer::open(&stores, &args.store).await?;
                transfer::import(&store, args).await
            }),
            Command::Export { args, data } => with_stores!(data, |stores| {
                let store = transfer::open(&stores, &args.store).await?;
                transfer::export(&store, args).await
            }),
            Command::Credential(command) => credential_command(command).await,
            Command::Compliance(ComplianceCommand::Rederive { data, store, apply }) => {
                let agreed = with_stores!(data, |stores| {
                    let store = transfer::open(&stores, &store).await?;
                    rederive(&store, apply).await
                })?;
                if !agreed {
                    different.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                Ok(())
            }
            Command::Store(StoreCommand::Create { name, data }) => with_stores!(data, |stores| {
                stores.create("cli", &name).await?;
                println!("store {name} created");
                Ok(())
            }),
            Command::Store(StoreCommand::List { data }) => with_stores!(data, |stores| {
                for (name, created) in stores.list().await? {
                    println!(
                        "{name}\t{}",
                        created.map(|t| t.to_string()).unwrap_or_default()
                    );
                }
                Ok(())
            }),
        }
    });
    drop(runtime);
    outcome?;
    if different.load(std::sync::atomic::Ordering::SeqCst) {
        std::process::exit(1);
    }
    Ok(())
}

async fn credential_command(command: CredentialCommand) -> anyhow::Result<()> {
    match command {
        CredentialCommand::Create {
            name,
            store,
            scopes,
            admin,
            expires,
            key,
            secret,
            data,
        } => {
            let scopes = scopes
                .iter()
                .map(|s| Scope::parse(s).with_context(|| format!("unknown scope '{s}'")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let expires = expires
                .map(|t| {
                    t.parse()
                        .with_context(|| format!("--expires '{t}' is not an RFC 3339 timestamp"))
                })
                .transpose()?;
            let kind = if admin {
                CredentialKind::Admin
            } else {
                CredentialKind::Xapi
            };
            let request = CredentialRequest {
                name,
                store,
                kind,
                scopes,
                expires,
                key,
                secret,
            };
            with_stores!(data, |stores| {
                let (credential, secret) = stores.issue_credential("cli", request).await?;
                println!("key: {}\nsecret: {secret}", credential.key);
                Ok(())
            })
        }
        CredentialCommand::List { store, data } => with_stores!(data, |stores| {
            for c in stores.default_store().credentials(store).await? {
                let scopes: Vec<&str> = c.scopes.iter().map(|s| s.name()).collect();
                let state = if c.revoked.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{state}",
                    c.key,
                    c.name,
                    c.store,
                    c.kind.as_str(),
                    scopes.join(" ")
                );
            }
            Ok(())
        }),
        CredentialCommand::Revoke { key, data } => with_stores!(data, |stores| {
            stores.revoke_credential("cli", &key).await?;
            println!("credential {key} revoked");
            Ok(())
        }),
        CredentialCommand::Rotate { key, data } => with_stores!(data, |stores| {
            let (_, secret) = stores.rotate_credential("cli", &key).await?;
            println!("key: {key}\nsecret: {secret}");
            Ok(())
        }),
    }
}

struct ServeSettings {
    listen: SocketAddr,
    public_url: Option<String>,
    max_body_bytes: usize,
    rate_limit: Option<u32>,
    checkpoint_interval: std::time::Duration,
    describe: String,
}

async fn serve<S: Store>(stores: Stores<S>, settings: ServeSettings) -> anyhow::Result<()> {
    if stores.default_store().credential_count().await? == 0 {
        let request = CredentialRequest {
            name: "bootstrap".into(),
            store: store::DEFAULT_STORE.into(),
            kind: CredentialKind::Xapi,
            scopes: vec![Scope::All],
            expires: None,
            key: std::env::var("ATTEST_BOOTSTRAP_KEY").ok(),
            secret: std::env::var("ATTEST_BOOTSTRAP_SECRET").ok(),
        };
        let (credential, secret) = stores.issue_credential("system", request).await?;
        println!(
            "Created the first credential (shown once, keep it safe):\n  key:    {}\n  secret: {secret}",
            credential.key
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
        rate_limit: settings.rate_limit,
        ..server::Config::default()
    };
    let state = server::AppState::new(stores, config);
    let checkpoints = tokio::spawn(checkpoint_periodically(
        state.clone(),
        settings.checkpoint_interval,
    ));
    println!(
        "Attest is listening: xAPI base URL http://{local}/xapi (data in {})",
        settings.describe
    );
    server::serve(listener, state.clone(), shutdown_signal()).await?;
    checkpoints.abort();
    checkpoint_all(&state.stores).await;
    Ok(())
}

/// Signs a checkpoint over every store's ledger every `interval` (none where nothing was written
/// since).
async fn checkpoint_periodically<S: Store>(
    state: server::Shared<S>,
    interval: std::time::Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        checkpoint_all(&state.stores).await;
    }
}

async fn checkpoint_all<S: Store>(stores: &Stores<S>) {
    let names = match stores.list().await {
        Ok(list) => list.into_iter().map(|(name, _)| name).collect::<Vec<_>>(),
        Err(error) => return tracing::error!(%error, "could not list the stores"),
    };
    for name in names {
        let result = match stores.get(&name).await {
            Ok(Some(store)) => store.create_checkpoint().await.map(|_| ()),
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            tracing::error!(%error, store = %name, "could not make a ledger checkpoint");
        }
    }
}

fn verify(data: &DataArgs, store: &str) -> anyhow::Result<()> {
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
        Some(url) => store::verify_postgres(url, store, &mut progress),
        None => store::verify(&store::store_dir(&data.data, store), &mut progress),
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

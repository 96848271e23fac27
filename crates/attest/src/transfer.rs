//! `attest import` and `attest export`: statements as JSON Lines, one statement a line, exactly
//! as stored (the `exact` format).
//!
//! Both stream: an export holds one page of statements, an import a few batches, whatever the
//! size of the data. An import validates every line like a POST and sends batches through
//! [`Store::import_statements`], so the store's rule "same id and same content is a no-op" makes
//! re-running an import safe: it skips what is stored and goes on where it stopped.
//!
//! Into a store that holds no statement, the import asks the store to defer its random-key
//! indexes ([`Store::begin_bulk_import`]) and builds them at the end: sorted builds instead of a
//! random page per statement and index. A killed import leaves the batches it committed, whole
//! and with their ledger entries; the next open of the store builds the indexes.
//!
//! What a round trip keeps: every statement's JSON byte for byte, its `authority` included (an
//! import restores records, so the authority a statement carries is kept), and the order. An
//! ordinary import stores each statement at the time of the import; `--keep-stored` keeps the
//! `stored` each carries ([`Store::restore_statements`]), so that a whole store exported (in
//! stored order, voided statements in their place) and restored into a new store is the same
//! file byte for byte.
use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::future::Future;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use store::{Accepted, StatementQuery, Store, StoreError, Stores};
use uuid::Uuid;
use xapi::{Version, agent::Ifi, index, rules};

/// The longest line an import reads: the server's default largest request body.
const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;
/// Statements an export reads per query.
const EXPORT_PAGE: usize = 1000;
/// The ledger principal of imported statements.
const PRINCIPAL: &str = "cli:import";

#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// A JSON Lines file of statements (as `attest export` writes them), or `-` for stdin.
    source: String,
    /// The store (tenant) to import into.
    #[arg(long, default_value = store::DEFAULT_STORE)]
    pub(crate) store: String,
    /// Statements per batch. Each batch is atomic: the store writes it in a transaction of its
    /// own (one fsync per batch). Larger batches are faster (pages that many statements touch,
    /// such as index pages, are written once per transaction) and take more memory.
    #[arg(long, default_value_t = 5000)]
    batch: usize,
    /// Batches handed to the store before waiting for the first; the next batch is read and
    /// validated meanwhile either way.
    #[arg(long, default_value_t = 1)]
    in_flight: usize,
    /// What to do with a statement whose id is stored with a different content: stop there, or
    /// skip it, import the rest and fail at the end.
    #[arg(long, value_enum, default_value_t = OnConflict::Stop)]
    on_conflict: OnConflict,
    /// The homePage of the authority given to statements that carry none.
    #[arg(long, env = "ATTEST_PUBLIC_URL", default_value = "http://localhost")]
    public_url: String,
    /// Each statement keeps the `stored` it carries instead of the time of the import: to
    /// restore an unfiltered `attest export` into a new store byte for byte. The statements must
    /// be in stored order, none earlier than the newest statement already stored and none in
    /// the future (the import stops at the first that is not). One batch at a time
    /// (`--in-flight 1`). Run it while no server serves the store.
    #[arg(long)]
    keep_stored: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OnConflict {
    Stop,
    Skip,
}

#[derive(clap::Args)]
pub(crate) struct ExportArgs {
    /// The store (tenant) to export.
    #[arg(long, default_value = store::DEFAULT_STORE)]
    pub(crate) store: String,
    /// Only statements about this Agent or identified Group (JSON, matched by its IFI), as the
    /// `agent` query parameter.
    #[arg(long)]
    agent: Option<String>,
    /// Only statements with this verb IRI.
    #[arg(long)]
    verb: Option<String>,
    /// Only statements about this Activity IRI.
    #[arg(long)]
    activity: Option<String>,
    /// Only statements of this registration UUID.
    #[arg(long)]
    registration: Option<String>,
    /// `--agent` matches the agent anywhere in a statement (`related_agents`).
    #[arg(long)]
    related_agents: bool,
    /// `--activity` matches the activity anywhere in a statement (`related_activities`).
    #[arg(long)]
    related_activities: bool,
    /// Only statements stored after this instant (ISO 8601).
    #[arg(long)]
    since: Option<String>,
    /// Only statements stored at or before this instant (ISO 8601).
    #[arg(long)]
    until: Option<String>,
}

/// The store (tenant) named `name`.
pub(crate) async fn open<S: Store + Clone>(stores: &Stores<S>, name: &str) -> anyhow::Result<S> {
    stores
        .get(name)
        .await
        .with_context(|| format!("cannot open the store {name}"))?
        .ok_or_else(|| anyhow::anyhow!("there is no store {name} (see `attest store list`)"))
}

// ---- import ----

/// Some lines read, parsed and validated, ready for the store.
struct Batch {
    /// The line number of each statement (1-based).
    lines: Vec<usize>,
    /// The raw lines, kept to resend a batch without a conflicting statement.
    raw: Vec<Vec<u8>>,
    statements: Vec<Accepted>,
    /// Bytes of input read up to the end of this batch.
    bytes: u64,
}

/// What the reader sends: batches in order, then at most one error, which ends the input.
enum Input {
    Batch(Batch),
    Bad(anyhow::Error),
}

pub(crate) async fn import<S: Store>(store: &S, args: ImportArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.batch > 0 && args.in_flight > 0,
        "--batch and --in-flight must be at least 1"
    );
    // A restored batch that fails is sent again without its failing line; batches already
    // queued behind it would have stored later times by then, and the retry would go backwards.
    anyhow::ensure!(
        !args.keep_stored || args.in_flight == 1,
        "--keep-stored restores one batch at a time: leave --in-flight at 1"
    );
    let (input, total): (Box<dyn Read + Send>, Option<u64>) = if args.source == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let path = PathBuf::from(&args.source);
        let file = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let size = file.metadata().map(|m| m.len()).ok();
        (Box::new(file), size)
    };
    let authority = json!({
        "objectType": "Agent",
        "name": "attest import",
        "account": {"homePage": args.public_url, "name": "import"}
    });
    let progress = Progress::new(total, "statements");
    let started = Instant::now();
    // Into an empty store, the indexes are built once at the end (sorted) instead of being
    // updated at random places by every statement; see Store::begin_bulk_import.
    let deferred = store
        .begin_bulk_import()
        .await
        .context("cannot prepare the store for the import")?;

    // Reading, parsing and validating run on their own thread, beside the store's writer thread.
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Input>(args.in_flight);
    let batch_size = args.batch;
    let reader_authority = authority.clone();
    let reader = std::thread::Builder::new()
        .name("attest-import-reader".into())
        .spawn(move || read_batches(input, batch_size, &reader_authority, &sender))
        .context("cannot start the reader thread")?;

    let mut in_flight: VecDeque<(BatchMeta, Pending<'_>)> = VecDeque::new();
    let mut imported: u64 = 0;
    let mut conflicts: Vec<String> = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    let mut input_done = false;
    loop {
        while !input_done && failure.is_none() && in_flight.len() < args.in_flight {
            match batches.recv().await {
                Some(Input::Batch(batch)) => {
                    let (meta, statements) = batch.split();
                    in_flight.push_back((meta, send(store, args.keep_stored, statements).await));
                }
                Some(Input::Bad(error)) => {
                    failure = Some(error);
                    input_done = true;
                }
                None => input_done = true,
            }
        }
        let Some((meta, pending)) = in_flight.pop_front() else {
            break;
        };
        match settle(
            store,
            meta,
            pending,
            args.on_conflict,
            args.keep_stored,
            &authority,
        )
        .await
        {
            Ok(settled) => {
                imported += settled.stored;
                progress.set(settled.bytes, imported);
                for line in settled.conflicts {
                    progress.println(&line);
                    conflicts.push(line);
                }
                if let Some(error) = settled.stop {
                    failure.get_or_insert(error);
                }
            }
            Err(error) => {
                failure.get_or_insert(error);
            }
        }
    }
    drop(batches);
    let _ = reader.join();
    progress.finish();
    if deferred {
        let building = Instant::now();
        let built = store.finish_bulk_import().await;
        eprintln!("indexes built in {:.1} s", building.elapsed().as_secs_f64());
        if let Err(error) = built {
            failure.get_or_insert(anyhow::Error::new(error).context(
                "cannot build the store's indexes (the next start of the store builds them)",
            ));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{imported} statements in {seconds:.1} s ({:.0}/s), stored or skipped as already stored with the same content",
        imported as f64 / seconds.max(1e-9)
    );
    if let Some(error) = failure {
        eprintln!(
            "import stopped: the statements before the line named below are stored (and maybe some after it, already handed to the store); running the same import again skips what is stored"
        );
        return Err(error);
    }
    if !conflicts.is_empty() {
        bail!(
            "{} statement(s) conflict with stored statements of the same id and were not imported",
            conflicts.len()
        );
    }
    Ok(())
}

type Pending<'a> = Pin<Box<dyn Future<Output = Result<Vec<Uuid>, StoreError>> + Send + 'a>>;

/// A batch as the importer remembers it while the store writes it.
struct BatchMeta {
    lines: Vec<usize>,
    raw: Vec<Vec<u8>>,
    ids: Vec<Uuid>,
    bytes: u64,
}

impl Batch {
    fn split(self) -> (BatchMeta, Vec<Accepted>) {
        let ids = self.statements.iter().map(|s| s.id).collect();
        (
            BatchMeta {
                lines: self.lines,
                raw: self.raw,
                ids,
                bytes: self.bytes,
            },
            self.statements,
        )
    }
}

/// A batch handed to the store: imported, or restored with the `stored` each statement carries.
fn write<S: Store>(store: &S, keep_stored: bool, statements: Vec<Accepted>) -> Pending<'_> {
    if keep_stored {
        Box::pin(store.restore_statements(PRINCIPAL.to_string(), statements))
    } else {
        Box::pin(store.import_statements(PRINCIPAL.to_string(), statements))
    }
}

/// Hands a batch to the store and returns its answer to await later. The future is polled once
/// here: that queues the batch at the store's writer, so batches are stored in input order
/// however many are in flight.
async fn send<S: Store>(store: &S, keep_stored: bool, statements: Vec<Accepted>) -> Pending<'_> {
    let mut pending = write(store, keep_stored, statements);
    let early = std::future::poll_fn(|cx| Poll::Ready(pending.as_mut().poll(cx))).await;
    match early {
        Poll::Ready(result) => Box::pin(std::future::ready(result)),
        Poll::Pending => pending,
    }
}

/// What became of one batch.
struct Settled {
    stored: u64,
    bytes: u64,
    conflicts: Vec<String>,
    /// Set when the import must stop after this batch.
    stop: Option<anyhow::Error>,
}

/// Awaits a batch. On a conflict the batch (atomic in the store) is sent again without the
/// conflicting statement, or, when stopping, with only the statements before it.
async fn settle<S: Store>(
    store: &S,
    mut meta: BatchMeta,
    mut pending: Pending<'_>,
    on_conflict: OnConflict,
    keep_stored: bool,
    authority: &Value,
) -> anyhow::Result<Settled> {
    let mut conflicts = Vec::new();
    loop {
        let id = match pending.await {
            Ok(_) => {
                return Ok(Settled {
                    stored: meta.ids.len() as u64,
                    bytes: meta.bytes,
                    conflicts,
                    stop: None,
                });
            }
            Err(StoreError::Conflict(id)) => id,
            Err(StoreError::Unrestorable { id, reason }) => {
                // Nothing of the batch was written: the lines before this one are sent again
                // alone, then the import stops here.
                let Some(index) = meta.ids.iter().position(|i| *i == id) else {
                    bail!("statement {id} cannot keep its stored time: {reason}");
                };
                let message = format!(
                    "line {}: statement {id} cannot keep its stored time: {reason}",
                    meta.lines[index]
                );
                return stop_before(
                    store,
                    meta,
                    index,
                    keep_stored,
                    authority,
                    conflicts,
                    message,
                )
                .await;
            }
            Err(error) => return Err(anyhow::Error::new(error).context("the store failed")),
        };
        // The last line with that id: an earlier one in the batch would have been stored first.
        let Some(index) = meta.ids.iter().rposition(|i| *i == id) else {
            bail!("the store reported a conflict on {id}, which this batch does not hold");
        };
        let line = meta.lines[index];
        let message = format!(
            "line {line}: statement {id} conflicts with the stored statement of that id (same id, different content)"
        );
        if on_conflict == OnConflict::Stop {
            return stop_before(
                store,
                meta,
                index,
                keep_stored,
                authority,
                conflicts,
                message,
            )
            .await;
        }
        meta.ids.remove(index);
        meta.lines.remove(index);
        meta.raw.remove(index);
        conflicts.push(message);
        pending = write(store, keep_stored, reparse(&meta, authority)?);
    }
}

/// Stores the lines of a batch before `index` (the batch was refused whole at that line) and
/// stops the import there with `message`.
async fn stop_before<S: Store>(
    store: &S,
    mut meta: BatchMeta,
    index: usize,
    keep_stored: bool,
    authority: &Value,
    conflicts: Vec<String>,
    message: String,
) -> anyhow::Result<Settled> {
    meta.ids.truncate(index);
    meta.lines.truncate(index);
    meta.raw.truncate(index);
    write(store, keep_stored, reparse(&meta, authority)?)
        .await
        .context("the store failed")?;
    Ok(Settled {
        stored: meta.ids.len() as u64,
        bytes: meta.bytes,
        conflicts,
        stop: Some(anyhow::anyhow!(message)),
    })
}

/// The statements of a batch's remaining lines, parsed again (the store consumed the first
/// parse).
fn reparse(meta: &BatchMeta, authority: &Value) -> anyhow::Result<Vec<Accepted>> {
    meta.raw
        .iter()
        .zip(&meta.lines)
        .map(|(raw, line)| {
            parse_line(raw, authority).map_err(|e| anyhow::anyhow!("line {line}: {e:#}"))
        })
        .collect()
}

/// Reads the input line by line into validated batches. Stops at the first bad line, after
/// sending the good lines before it.
fn read_batches(
    input: Box<dyn Read + Send>,
    batch_size: usize,
    authority: &Value,
    sender: &tokio::sync::mpsc::Sender<Input>,
) {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut batch = Batch::empty(batch_size);
    let mut bytes: u64 = 0;
    let mut number = 0usize;
    let error = loop {
        let mut line = Vec::new();
        let read = match reader
            .by_ref()
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => break None,
            Ok(n) => n,
            Err(e) => break Some(anyhow::anyhow!("line {}: cannot read: {e}", number + 1)),
        };
        number += 1;
        bytes += read as u64;
        if read as u64 > MAX_LINE_BYTES {
            break Some(anyhow::anyhow!(
                "line {number}: longer than {MAX_LINE_BYTES} bytes"
            ));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(&line, authority) {
            Ok(accepted) => {
                batch.lines.push(number);
                batch.raw.push(line);
                batch.statements.push(accepted);
                batch.bytes = bytes;
                if batch.statements.len() >= batch_size {
                    let full = std::mem::replace(&mut batch, Batch::empty(batch_size));
                    if sender.blocking_send(Input::Batch(full)).is_err() {
                        return;
                    }
                }
            }
            Err(e) => break Some(anyhow::anyhow!("line {number}: {e:#}")),
        }
    };
    batch.bytes = bytes;
    if !batch.statements.is_empty() && sender.blocking_send(Input::Batch(batch)).is_err() {
        return;
    }
    if let Some(error) = error {
        let _ = sender.blocking_send(Input::Bad(error));
    }
}

impl Batch {
    fn empty(capacity: usize) -> Batch {
        Batch {
            lines: Vec::with_capacity(capacity),
            raw: Vec::with_capacity(capacity),
            statements: Vec::with_capacity(capacity),
            bytes: 0,
        }
    }
}

/// One line: a statement as JSON, validated like a POST. Its own `authority` is kept (an import
/// restores records); `authority` is given to a statement without one. A statement whose
/// `version` is 1.0.x is checked by the 1.0.3 rules, any other by the 2.0.0 rules.
fn parse_line(line: &[u8], authority: &Value) -> anyhow::Result<Accepted> {
    let statement =
        xapi::json::parse_strict(line).map_err(|e| anyhow::anyhow!("not valid JSON: {e}"))?;
    let version = match statement.get("version").and_then(Value::as_str) {
        Some(v) if Version::parse(v) == Some(Version::V1_0_3) => Version::V1_0_3,
        _ => Version::V2_0_0,
    };
    let authority = statement
        .get("authority")
        .cloned()
        .unwrap_or_else(|| authority.clone());
    xapi::statement::accept(statement, version, &authority)
        .map_err(|e| anyhow::anyhow!("not a valid statement under xAPI {version}: {e}"))
}

// ---- export ----

pub(crate) async fn export<S: Store>(store: &S, args: ExportArgs) -> anyhow::Result<()> {
    let mut query = export_query(&args)?;
    let progress = Progress::new(None, "statements");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout());
    let mut written: u64 = 0;
    if query.terms.is_empty() && query.since.is_none() && query.until.is_none() {
        // The whole store: every statement in stored order, voided ones in their place, so
        // that `import --keep-stored` restores it byte for byte.
        let mut after = 0;
        loop {
            let rows = store
                .statements_after(after, EXPORT_PAGE)
                .await
                .context("the store failed")?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                break;
            };
            for row in &rows {
                if !write_line(&mut out, &row.json)? {
                    return Ok(());
                }
                written += 1;
            }
            progress.set(0, written);
            after = last;
        }
        return finish_export(out, &progress, written);
    }
    // Voided statements are left out of queries (Data 2.3.2); an export writes each one just
    // before the statement that voids it, so an import restores both. `voided` remembers those
    // written, for the rare target voided twice.
    let mut voided: HashSet<Uuid> = HashSet::new();
    loop {
        let page = store
            .query(query.clone())
            .await
            .context("the store failed")?;
        for statement in &page.statements {
            if let Some(target) = voided_target(&statement.json)
                && !voided.contains(&target)
                && let Some(target_statement) = store
                    .statement(target, true)
                    .await
                    .context("the store failed")?
            {
                voided.insert(target);
                if !write_line(&mut out, &target_statement.json)? {
                    return Ok(());
                }
                written += 1;
            }
            if !write_line(&mut out, &statement.json)? {
                return Ok(());
            }
            written += 1;
        }
        progress.set(0, written);
        match page.next {
            Some(after) => query.after = Some(after),
            None => break,
        }
    }
    finish_export(out, &progress, written)
}

fn finish_export(mut out: impl Write, progress: &Progress, written: u64) -> anyhow::Result<()> {
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("cannot write to stdout")?,
    }
    progress.finish();
    eprintln!("exported {written} statements");
    Ok(())
}

/// Writes one statement and a newline; false when the reader went away (`| head`).
fn write_line(out: &mut impl Write, json: &str) -> anyhow::Result<bool> {
    match out
        .write_all(json.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
    {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// The statement a voiding statement voids, read only when the text names the voiding verb.
fn voided_target(json: &str) -> Option<Uuid> {
    if !json.contains(xapi::VOIDED_VERB) {
        return None;
    }
    let statement: Value = serde_json::from_str(json).ok()?;
    if statement.pointer("/verb/id").and_then(Value::as_str) != Some(xapi::VOIDED_VERB)
        || statement
            .pointer("/object/objectType")
            .and_then(Value::as_str)
            != Some("StatementRef")
    {
        return None;
    }
    rules::parse_uuid(statement.pointer("/object/id")?.as_str()?)
}

/// The filters as a statement query, checked like the query parameters (Communication 2.1.3).
fn export_query(args: &ExportArgs) -> anyhow::Result<StatementQuery> {
    let mut terms = Vec::new();
    if let Some(agent) = &args.agent {
        let value = xapi::json::parse_strict_str(agent)
            .map_err(|e| anyhow::anyhow!("--agent: not valid JSON: {e}"))?;
        xapi::validate_agent(&value, Version::V2_0_0)
            .map_err(|e| anyhow::anyhow!("--agent: {e}"))?;
        let ifi = Ifi::of(&value).ok_or_else(|| {
            anyhow::anyhow!(
                "--agent: an anonymous Group cannot be queried: give an Agent or identified Group"
            )
        })?;
        terms.push(index::agent_term(&ifi, args.related_agents));
    }
    if let Some(verb) = &args.verb {
        anyhow::ensure!(rules::is_iri(verb), "--verb: not an absolute IRI");
        terms.push(index::verb_term(verb));
    }
    if let Some(activity) = &args.activity {
        anyhow::ensure!(rules::is_iri(activity), "--activity: not an absolute IRI");
        terms.push(index::activity_term(activity, args.related_activities));
    }
    if let Some(registration) = &args.registration {
        let registration = rules::parse_uuid(registration)
            .ok_or_else(|| anyhow::anyhow!("--registration: not a UUID"))?;
        terms.push(index::registration_term(&registration));
    }
    let time = |name: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|t| {
                rules::parse_timestamp(t)
                    .ok_or_else(|| anyhow::anyhow!("--{name}: not an ISO 8601 timestamp"))
            })
            .transpose()
    };
    Ok(StatementQuery {
        terms,
        since: time("since", &args.since)?,
        until: time("until", &args.until)?,
        limit: EXPORT_PAGE,
        ascending: true,
        after: None,
    })
}

// ---- progress ----

/// A progress bar on stderr when it is a terminal; nothing otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    unit: &'static str,
}

impl Progress {
    /// `total` is the input size in bytes, when known.
    fn new(total: Option<u64>, unit: &'static str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let (bar, template) = match total {
                Some(total) => (
                    indicatif::ProgressBar::new(total),
                    "{bar:30} {percent:>3}%  {msg}  eta {eta}",
                ),
                None => (indicatif::ProgressBar::new_spinner(), "{spinner} {msg}"),
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            unit,
        }
    }

    fn set(&self, bytes: u64, count: u64) {
        if let Some(bar) = &self.bar {
            if bytes > 0 {
                bar.set_position(bytes);
            }
            let rate = count as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{count} {}  {rate:.0}/s", self.unit));
        }
    }

    /// A line on stderr that does not tear the bar.
    fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

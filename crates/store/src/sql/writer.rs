//! The writer: a thread per process that owns the write connection and commits many requests in
//! one transaction (group commit). Each request runs in a savepoint, so one failing request leaves
//! the others of its group untouched; a request alone in its group needs none (when it fails, the
//! transaction is rolled back), and an import's batch is always alone. The plain statement
//! requests of a group (no attachments, no StatementRef either way) are checked together first
//! and written as one batch: a request that would conflict is refused before anything is
//! written, so the others cannot fail but with the transaction (on PostgreSQL, which may refuse a
//! value validation let through, the batch has a savepoint and falls back to the one-by-one
//! way). Nobody is answered before the commit is durable.
//!
//! Every transaction starts by reading the ledger head under lock and ends by writing it back:
//! that one row serialises all writers, in this process and in any other process on the same
//! database, so the ledger stays one chain and `stored` follows `seq`. Holding it first also
//! means concurrent batches never deadlock on shared rows (terms, activities).
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use ledger::{Checkpoint, NewEntry, SigningKey, content_hash};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::ledger_rows::{LedgerHead, insert_checkpoint, latest_checkpoint};
use super::{
    Arg, Column, DeferredIndexes, Query, Row, Sql, append_rows, documents, insert_rows, select_in,
    select_in_queries,
};
use crate::credentials::CredentialRow;
use crate::{
    Accepted, AttachmentContent, Credential, CredentialChange, DocumentScope, DocumentWrite,
    NewCredential, Preconditions, StoreError,
};

/// The most requests one transaction takes.
const GROUP_LIMIT: usize = 512;
/// How deep a chain of StatementRefs is followed for the StatementRef filter rule.
const REF_DEPTH: usize = 32;
/// How many index term ids the writer remembers before it starts over (about 100 bytes each). The
/// benchmark's dataset has 210,000 terms: one registration per actor and course.
const TERM_CACHE_LIMIT: usize = 500_000;
/// Marks "no group in flight" in [`WriterState::inflight_us`].
pub(crate) const IDLE: i64 = i64::MAX;

pub(crate) enum Command {
    Statements {
        principal: String,
        batch: Vec<Accepted>,
        attachments: Vec<AttachmentContent>,
        /// Written in a transaction of its own, without a savepoint (a bulk import's batch).
        alone: bool,
        /// Each statement keeps the `stored` it carries (see `Store::restore_statements`).
        restore: bool,
        reply: Reply<Vec<Uuid>>,
    },
    CreateCredential {
        principal: String,
        credential: NewCredential,
        reply: Reply<Credential>,
    },
    ChangeCredential {
        principal: String,
        key: String,
        change: CredentialChange,
        reply: Reply<Credential>,
    },
    CreateStore {
        principal: String,
        name: String,
        reply: Reply<()>,
    },
    WriteDocument {
        principal: String,
        write: DocumentWrite,
        reply: Reply<()>,
    },
    DeleteDocuments {
        principal: String,
        scope: DocumentScope,
        id: Option<String>,
        preconditions: Preconditions,
        reply: Reply<u64>,
    },
    RecordFacts {
        principal: String,
        /// (kind, JSON body) of each fact, recorded together or not at all.
        facts: Vec<(String, String)>,
        reason: String,
        after: Option<i64>,
        reply: Reply<Vec<(i64, Timestamp)>>,
    },
    RecordDecision {
        principal: String,
        person: String,
        body: String,
        reply: Reply<(i64, Timestamp)>,
    },
    SyncCompletions {
        principal: String,
        persons: Option<Vec<String>>,
        derived: Vec<(String, String)>,
        as_of: (Option<i64>, i64),
        reply: Reply<(usize, usize)>,
    },
    Checkpoint {
        reply: Reply<Option<Checkpoint>>,
    },
    BeginBulkImport {
        reply: Reply<bool>,
    },
    FinishBulkImport {
        reply: Reply<()>,
    },
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// What readers may know of the writer.
#[derive(Debug)]
pub(crate) struct WriterState {
    /// The lowest `stored` a group being written may use, or [`IDLE`].
    pub(crate) inflight_us: AtomicI64,
    /// The newest `stored` known to be committed (by this process or, as last read, any other).
    pub(crate) committed_us: AtomicI64,
    /// Told whenever a group has been committed or rolled back (`inflight_us` is [`IDLE`]).
    pub(crate) settled: tokio::sync::Notify,
    /// The newest time (µs, rounded up) a compliance question of this process was answered as
    /// known at: every later group is stored after it, whatever the clock says by then (a clock
    /// set back, a group that reads the clock in the question's own microsecond).
    pub(crate) asked_us: AtomicI64,
}

/// The backend's SQL the writer needs beyond [`Sql`].
pub(crate) struct Dialect {
    /// Opens a write transaction.
    pub(crate) begin: &'static str,
    /// Appended to the read of the ledger head, to hold it for the transaction.
    pub(crate) lock: &'static str,
    /// What a bulk import may defer, if the backend can.
    pub(crate) deferred: Option<&'static DeferredIndexes>,
    /// See [`super::Backend::refuses_values`].
    pub(crate) refuses_values: bool,
    /// See [`super::Backend::writer_lock`].
    pub(crate) writer_lock: Option<&'static str>,
}

/// A bulk import whose indexes are deferred (see `Store::begin_bulk_import`).
struct BulkImport {
    /// A 64-bit digest of every statement id stored since the store was empty. A digest seen
    /// before means "maybe stored": the indexes are built and the ordinary duplicate check
    /// decides. 8 bytes per statement, about 9 in the set.
    ids: HashSet<u64>,
    /// The ledger's length after the import's last commit: a different one means another
    /// writer wrote since, and may have stored ids the set does not hold.
    ledger_seq: u64,
}

/// What [`Writer::bulk_batch`] decided for a group.
enum Deferral {
    /// No bulk import: the ordinary way.
    Off,
    /// A batch of the bulk import, written with the indexes deferred.
    Batch(&'static DeferredIndexes),
    /// The deferral ends before this group.
    End,
}

/// The most ids a bulk import holds in memory (about 150 MB); past that, the indexes are built
/// and the import goes on the ordinary way.
const BULK_IDS_LIMIT: usize = 14_000_000;

fn id_digest(id: &Uuid) -> u64 {
    let (high, low) = id.as_u64_pair();
    high ^ low
}

pub(crate) fn spawn<C: Sql + Send + 'static>(
    mut conn: C,
    reconnect: super::Reconnect<C>,
    state: Arc<WriterState>,
    key: SigningKey,
    dialect: Dialect,
) -> Result<mpsc::Sender<Command>, StoreError> {
    let (sender, receiver) = mpsc::channel(4096);
    let head = LedgerHead::load(&mut conn, "")?;
    state
        .committed_us
        .fetch_max(head.stored_us, Ordering::SeqCst);
    let writer = Writer {
        conn,
        reconnect,
        state,
        key,
        dialect,
        term_ids: HashMap::new(),
        bulk: None,
    };
    std::thread::Builder::new()
        .name("attest-writer".into())
        .spawn(move || writer.run(receiver))
        .map_err(|e| StoreError::Corrupt(format!("cannot start the writer thread: {e}")))?;
    Ok(sender)
}

struct Writer<C> {
    conn: C,
    reconnect: super::Reconnect<C>,
    state: Arc<WriterState>,
    key: SigningKey,
    dialect: Dialect,
    /// Term ids seen before; cleared when large so memory stays bounded.
    term_ids: HashMap<String, i64>,
    bulk: Option<BulkImport>,
}

/// A request's result, held until its group's commit is known.
trait Pending: Send {
    /// Answers the requester; a success becomes an error when the group's commit failed.
    fn answer(self: Box<Self>, commit_error: Option<&str>);
}

struct Outcome<T> {
    reply: Reply<T>,
    result: Result<T, StoreError>,
}

impl<T: Send + 'static> Outcome<T> {
    fn boxed(reply: Reply<T>, result: Result<T, StoreError>) -> Box<dyn Pending> {
        Box::new(Outcome { reply, result })
    }
}

impl<T: Send> Pending for Outcome<T> {
    fn answer(self: Box<Self>, commit_error: Option<&str>) {
        let result = match commit_error {
            None => self.result,
            Some(e) => Err(StoreError::Corrupt(format!("commit failed: {e}"))),
        };
        // A requester that gave up (client gone) is no error: the write stands.
        let _ = self.reply.send(result);
    }
}

/// What the requests of one group share.
pub(crate) struct Context<'a> {
    term_ids: &'a mut HashMap<String, i64>,
    pub(crate) ledger: &'a mut LedgerHead,
    key: &'a SigningKey,
    /// `stored` of every statement (and `updated` of every document) in the group.
    pub(crate) stored_us: i64,
    /// The server time of the group's ledger entries.
    pub(crate) time: String,
    /// Set while a bulk import defers indexes: the group is one batch of it, checked already.
    bulk: Option<&'static DeferredIndexes>,
    /// Set while a batch is restored: the `stored` the next statement may have at the
    /// earliest (that of the statement before it).
    restore_floor: Option<i64>,
}

impl<C: Sql> Writer<C> {
    fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        // A command that must be alone, taken while a group was being gathered.
        let mut held: Option<Command> = None;
        loop {
            let Some(first) = held.take().or_else(|| receiver.blocking_recv()) else {
                break;
            };
            let first = match first {
                Command::BeginBulkImport { reply } => {
                    let _ = reply.send(self.begin_bulk());
                    continue;
                }
                Command::FinishBulkImport { reply } => {
                    let _ = reply.send(self.finish_bulk());
                    continue;
                }
                first => first,
            };
            let mut group = vec![first];
            while !group[0].alone() && group.len() < GROUP_LIMIT {
                match receiver.try_recv() {
                    Ok(command) if command.alone() || command.bulk_control() => {
                        held = Some(command);
                        break;
                    }
                    Ok(command) => group.push(command),
                    Err(_) => break,
                }
            }
            self.write_group(group);
        }
    }

    fn write_group(&mut self, group: Vec<Command>) {
        let now_us = Timestamp::now().as_microsecond();
        // Published before any `stored` of this group is chosen, so readers never claim
        // consistency past a statement that is not yet committed.
        self.state.inflight_us.store(now_us, Ordering::SeqCst);
        let terms_before = self.term_ids.len();
        let (done, commit) = match self.transaction(group, now_us) {
            Ok((done, None)) => {
                // The group's one request failed: nothing of it may stay. Its answer is its
                // own error.
                let rollback = self.conn.batch("ROLLBACK");
                if rollback.is_err() || self.term_ids.len() != terms_before {
                    self.term_ids.clear();
                }
                (done, Ok(()))
            }
            Ok((done, Some(stored_us))) => {
                let commit = self.conn.batch("COMMIT").map_err(|e| e.to_string());
                if commit.is_ok() {
                    self.state
                        .committed_us
                        .fetch_max(stored_us, Ordering::SeqCst);
                }
                (done, commit)
            }
            Err((done, error)) => {
                let _ = self.conn.batch("ROLLBACK");
                (done, Err(error.to_string()))
            }
        };
        if let Err(e) = &commit {
            tracing::error!(error = %e, "a write transaction failed");
            // Term ids created in the failed transaction are gone: forget the new ones.
            if self.term_ids.len() != terms_before {
                self.term_ids.clear();
            }
            // A connection that no longer answers (the database restarted) is replaced, so the
            // next group can succeed.
            if self.conn.batch("SELECT 1").is_err() {
                match (self.reconnect)() {
                    Ok(conn) => self.conn = conn,
                    Err(error) => {
                        tracing::error!(%error, "cannot reconnect the writer; will retry")
                    }
                }
            }
        }
        if self.term_ids.len() > TERM_CACHE_LIMIT {
            self.term_ids.clear();
        }
        self.state.inflight_us.store(IDLE, Ordering::SeqCst);
        self.state.settled.notify_waiters();
        let commit_error = commit.err();
        for d in done {
            d.answer(commit_error.as_deref());
        }
    }

    /// Runs a group in one transaction, up to (not including) the commit. Gives the `stored` to
    /// commit, or none when the transaction must be rolled back (a lone request failed).
    #[allow(clippy::type_complexity)]
    fn transaction(
        &mut self,
        mut group: Vec<Command>,
        now_us: i64,
    ) -> Result<(Vec<Box<dyn Pending>>, Option<i64>), (Vec<Box<dyn Pending>>, StoreError)> {
        let fail_all = |group: Vec<Command>, error: &StoreError| -> Vec<Box<dyn Pending>> {
            group
                .into_iter()
                .map(|c| failed(c, StoreError::Corrupt(error.to_string())))
                .collect()
        };
        // Sent with the read of the head, in one round trip.
        let begun = self.conn.send(self.dialect.begin, &[]).and_then(|()| {
            self.dialect
                .writer_lock
                .map_or(Ok(()), |lock| self.conn.send(lock, &[]))
        });
        if let Err(error) = begun {
            return Err((fail_all(group, &error), error));
        }
        // A group of plain requests (see `write_plain_together`) looks their ids up with the
        // read of the head, in the same round trip: the look-up runs once the head is held.
        let savepoints = group.len() > 1;
        let plain: Vec<&Vec<Accepted>> = group
            .iter()
            .filter(|c| c.plain_statements())
            .filter_map(|c| match c {
                Command::Statements { batch, .. } => Some(batch),
                _ => None,
            })
            .collect();
        let keys: Option<Vec<String>> =
            (savepoints && group.first().is_some_and(Command::plain_statements) && plain.len() > 1)
                .then(|| {
                    plain
                        .iter()
                        .flat_map(|batch| batch.iter().map(|a| a.id.to_string()))
                        .collect()
                });
        let (mut head, mut found) =
            match head_and_look_up(&mut self.conn, self.dialect.lock, keys.as_deref()) {
                Ok(read) => read,
                Err(error) => return Err((fail_all(group, &error), error)),
            };
        let bulk = match self.bulk_batch(&group, &head) {
            Ok(Deferral::Off) => None,
            Ok(Deferral::Batch(sql)) => Some(sql),
            Ok(Deferral::End) => {
                // Nothing written yet: the indexes are built in a transaction of their own,
                // then the group is written the ordinary way. The build stores nothing, so
                // nobody waits for it as for a write.
                let _ = self.conn.batch("ROLLBACK");
                self.state.inflight_us.store(IDLE, Ordering::SeqCst);
                self.state.settled.notify_waiters();
                let built = self.finish_bulk();
                self.state
                    .inflight_us
                    .store(Timestamp::now().as_microsecond(), Ordering::SeqCst);
                if let Err(error) = built {
                    return Err((fail_all(group, &error), error));
                }
                return self.transaction(group, now_us);
            }
            Err(error) => return Err((fail_all(group, &error), error)),
        };
        // Read once the head is held, so a write whose time is before a question's is committed
        // by the time another connection can read the head (see `Store::compliance_watermarks`);
        // one microsecond after the group before, so that every group has a time of its own
        // and "known at" a time sets every write on one side of it.
        let stored_us = Timestamp::now()
            .as_microsecond()
            .max(now_us)
            .max(head.stored_us + 1)
            .max(self.state.asked_us.load(Ordering::SeqCst) + 1);
        let time = match Timestamp::from_microsecond(stored_us) {
            Ok(t) => xapi::statement::format_stored(t),
            Err(_) => Timestamp::now().to_string(),
        };
        let mut cx = Context {
            term_ids: &mut self.term_ids,
            ledger: &mut head,
            key: &self.key,
            stored_us,
            time,
            bulk,
            restore_floor: None,
        };
        // A request alone in its transaction needs no savepoint: when it fails, the whole
        // transaction is rolled back.
        // The commands before the first plain request keep their place (a completions sync
        // checks that no statement was written before it in the transaction); the plain
        // requests are written together there, then the other commands.
        let first_plain = group
            .iter()
            .position(Command::plain_statements)
            .unwrap_or(group.len());
        let after = group.split_off(first_plain);
        let (plain, rest): (Vec<Command>, Vec<Command>) = if savepoints {
            after.into_iter().partition(Command::plain_statements)
        } else {
            (Vec::new(), after)
        };
        let mut all_ok = true;
        let mut done: Vec<Box<dyn Pending>> = Vec::new();
        for command in group {
            let (pending, ok) = apply(&mut self.conn, &mut cx, command, savepoints);
            all_ok &= ok;
            done.push(pending);
        }
        let rest: Vec<Command> = if plain.len() > 1 {
            match write_plain_together(
                &mut self.conn,
                &mut cx,
                plain,
                self.dialect.refuses_values,
                found.take(),
            ) {
                Ok((answered, given_back)) => {
                    done.extend(answered);
                    given_back.into_iter().chain(rest).collect()
                }
                Err((answered, error)) => {
                    done.extend(answered);
                    done.extend(fail_all(rest, &error));
                    return Err((done, error));
                }
            }
        } else {
            plain.into_iter().chain(rest).collect()
        };
        for command in rest {
            let (pending, ok) = apply(&mut self.conn, &mut cx, command, savepoints);
            all_ok &= ok;
            done.push(pending);
        }
        if !savepoints && !all_ok {
            return Ok((done, None));
        }
        head.stored_us = stored_us;
        match head.save(&mut self.conn) {
            Ok(()) => {
                if let Some(bulk) = &mut self.bulk {
                    bulk.ledger_seq = head.seq;
                }
                Ok((done, Some(stored_us)))
            }
            Err(error) => Err((done, error)),
        }
    }

    /// Decides, in the group's transaction (the ledger head read under lock), whether the group
    /// is a batch the bulk import may write with its indexes deferred. Anything else ends the
    /// deferral first.
    fn bulk_batch(&mut self, group: &[Command], head: &LedgerHead) -> Result<Deferral, StoreError> {
        let (Some(bulk), Some(sql)) = (&mut self.bulk, self.dialect.deferred) else {
            return Ok(Deferral::Off);
        };
        let fits = match group {
            [
                Command::Statements {
                    batch,
                    alone: true,
                    attachments,
                    ..
                },
            ] => {
                head.seq == bulk.ledger_seq
                    && attachments.is_empty()
                    && bulk.ids.len() + batch.len() <= BULK_IDS_LIMIT
                    && batch
                        .iter()
                        .all(|a| a.target.is_none() && bulk.ids.insert(id_digest(&a.id)))
            }
            _ => false,
        };
        // Another process may have built the indexes (its store opened meanwhile).
        if fits && self.conn.row(sql.deferred, &[])?.is_some() {
            return Ok(Deferral::Batch(sql));
        }
        Ok(Deferral::End)
    }

    /// Defers the indexes when the store holds no statement (see `Store::begin_bulk_import`).
    fn begin_bulk(&mut self) -> Result<bool, StoreError> {
        let Some(sql) = self.dialect.deferred else {
            return Ok(false);
        };
        if self.bulk.is_some() {
            return Ok(true);
        }
        if let Some(claim) = sql.claim {
            let claimed = self.conn.row(claim, &[])?.map(|r| r.bool(0)).transpose()?;
            if claimed != Some(true) {
                // Another import defers this store's indexes: this one goes the ordinary way.
                return Ok(false);
            }
        }
        if let Err(error) = self.conn.batch(self.dialect.begin) {
            self.release_claim();
            return Err(error);
        }
        let deferred = (|| {
            let head = LedgerHead::load(&mut self.conn, self.dialect.lock)?;
            if self
                .conn
                .row("SELECT 1 FROM statements LIMIT 1", &[])?
                .is_some()
            {
                return Ok(None);
            }
            self.conn.batch(sql.defer)?;
            Ok(Some(head.seq))
        })();
        match deferred {
            Ok(Some(ledger_seq)) => {
                if let Err(error) = self.conn.batch("COMMIT") {
                    let _ = self.conn.batch("ROLLBACK");
                    self.release_claim();
                    return Err(error);
                }
                self.bulk = Some(BulkImport {
                    ids: HashSet::new(),
                    ledger_seq,
                });
                Ok(true)
            }
            Ok(None) => {
                let rollback = self.conn.batch("ROLLBACK");
                self.release_claim();
                rollback.map(|()| false)
            }
            Err(error) => {
                let _ = self.conn.batch("ROLLBACK");
                self.release_claim();
                Err(error)
            }
        }
    }

    /// Ends a bulk import: builds what it deferred and gives its claim back.
    fn finish_bulk(&mut self) -> Result<(), StoreError> {
        if self.bulk.take().is_none() {
            return Ok(());
        }
        let built = self.rebuild_deferred();
        self.release_claim();
        built
    }

    fn release_claim(&mut self) {
        if let Some(release) = self.dialect.deferred.and_then(|sql| sql.release)
            && let Err(error) = self.conn.batch(release)
        {
            // A broken connection has lost its session lock anyway.
            tracing::warn!(%error, "cannot release the bulk import's claim");
        }
    }

    fn rebuild_deferred(&mut self) -> Result<(), StoreError> {
        let Some(sql) = self.dialect.deferred else {
            return Ok(());
        };
        self.conn.batch(self.dialect.begin)?;
        // The ledger head first, like every write: writers of other processes wait here rather
        // than deadlock with the rebuild on the tables it locks.
        let built = LedgerHead::load(&mut self.conn, self.dialect.lock)
            .and_then(|_| self.conn.batch(sql.rebuild));
        match built {
            Ok(()) => self.conn.batch("COMMIT"),
            Err(error) => {
                let _ = self.conn.batch("ROLLBACK");
                Err(error)
            }
        }
    }
}

impl Command {
    fn alone(&self) -> bool {
        matches!(self, Command::Statements { alone: true, .. })
    }

    /// Statements of a client request with no attachments and none that points at another
    /// statement: see [`write_plain_together`].
    fn plain_statements(&self) -> bool {
        matches!(
            self,
            Command::Statements { batch, attachments, alone: false, restore: false, .. }
                if attachments.is_empty() && batch.iter().all(|a| a.target.is_none())
        )
    }

    /// Handled by the writer itself, outside any group.
    fn bulk_control(&self) -> bool {
        matches!(
            self,
            Command::BeginBulkImport { .. } | Command::FinishBulkImport { .. }
        )
    }
}

fn failed(command: Command, error: StoreError) -> Box<dyn Pending> {
    match command {
        Command::Statements { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::CreateCredential { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::ChangeCredential { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::CreateStore { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::WriteDocument { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::DeleteDocuments { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::RecordFacts { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::SyncCompletions { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::RecordDecision { reply, .. } => Outcome::boxed(reply, Err(error)),
        Command::Checkpoint { reply } => Outcome::boxed(reply, Err(error)),
        Command::BeginBulkImport { reply } => Outcome::boxed(reply, Err(error)),
        Command::FinishBulkImport { reply } => Outcome::boxed(reply, Err(error)),
    }
}

/// Runs one request in a savepoint (unless `savepoint` is false: the caller then rolls back the
/// transaction when the request fails): it applies whole (with its ledger entries) or not at
/// all. Tells whether it succeeded.
fn apply(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    command: Command,
    savepoint: bool,
) -> (Box<dyn Pending>, bool) {
    if savepoint && let Err(e) = conn.batch("SAVEPOINT request") {
        return (failed(command, e), false);
    }
    let terms_before = cx.term_ids.len();
    let ledger_before = cx.ledger.clone();
    macro_rules! finish {
        ($reply:expr, $result:expr) => {{
            // What the request sent must have succeeded before it can count as applied.
            let result = $result.and_then(|done| conn.flush().map(|()| done));
            let ok = result.is_ok();
            let outcome = if !savepoint {
                Ok(())
            } else if ok {
                conn.batch("RELEASE SAVEPOINT request")
            } else {
                if cx.term_ids.len() != terms_before {
                    cx.term_ids.clear();
                }
                *cx.ledger = ledger_before;
                conn.batch("ROLLBACK TO SAVEPOINT request")
                    .and_then(|()| conn.batch("RELEASE SAVEPOINT request"))
            };
            match outcome {
                Ok(()) => (Outcome::boxed($reply, result), ok),
                Err(e) => (Outcome::boxed($reply, Err(e)), false),
            }
        }};
    }
    match command {
        Command::Statements {
            principal,
            batch,
            attachments,
            alone: _,
            restore,
            reply,
        } => {
            let inserted = restore_floor(conn, restore).and_then(|floor| {
                cx.restore_floor = floor;
                let ids = insert_statements(conn, cx, &principal, batch)?;
                insert_attachments(conn, cx, &principal, attachments)?;
                Ok(ids)
            });
            cx.restore_floor = None;
            finish!(reply, inserted)
        }
        Command::CreateCredential {
            principal,
            credential,
            reply,
        } => {
            finish!(reply, insert_credential(conn, cx, &principal, credential))
        }
        Command::ChangeCredential {
            principal,
            key,
            change,
            reply,
        } => finish!(reply, change_credential(conn, cx, &principal, &key, change)),
        Command::CreateStore {
            principal,
            name,
            reply,
        } => finish!(reply, create_store(conn, cx, &principal, &name)),
        Command::WriteDocument {
            principal,
            write,
            reply,
        } => finish!(reply, documents::write(conn, cx, &principal, write)),
        Command::DeleteDocuments {
            principal,
            scope,
            id,
            preconditions,
            reply,
        } => {
            finish!(
                reply,
                documents::delete(conn, cx, &principal, &scope, id.as_deref(), &preconditions)
            )
        }
        Command::RecordDecision {
            principal,
            person,
            body,
            reply,
        } => finish!(reply, record_decision(conn, cx, &principal, &person, &body)),
        Command::SyncCompletions {
            principal,
            persons,
            derived,
            as_of,
            reply,
        } => finish!(
            reply,
            sync_completions(conn, cx, &principal, persons.as_deref(), &derived, as_of)
        ),
        Command::RecordFacts {
            principal,
            facts,
            reason,
            after,
            reply,
        } => finish!(
            reply,
            record_facts(conn, cx, &principal, &facts, &reason, after)
        ),
        Command::Checkpoint { reply } => finish!(reply, checkpoint(conn, cx)),
        // Taken by `Writer::run` before any group is formed.
        Command::BeginBulkImport { reply } => finish!(
            reply,
            Err(StoreError::Corrupt(
                "a bulk import command in a group".into()
            ))
        ),
        Command::FinishBulkImport { reply } => finish!(
            reply,
            Err(StoreError::Corrupt(
                "a bulk import command in a group".into()
            ))
        ),
    }
}

/// Signs a checkpoint over the ledger as it stands, unless the newest checkpoint covers it already.
fn checkpoint(conn: &mut impl Sql, cx: &mut Context<'_>) -> Result<Option<Checkpoint>, StoreError> {
    let size = cx.ledger.seq;
    if size == 0 {
        return Ok(None);
    }
    if let Some(latest) = latest_checkpoint(conn)?
        && latest.size == size
    {
        return Ok(Some(latest));
    }
    let checkpoint = Checkpoint::sign(
        cx.key,
        size,
        cx.ledger.frontier.root(),
        cx.ledger.hash,
        cx.time.clone(),
    );
    insert_checkpoint(conn, &checkpoint)?;
    Ok(Some(checkpoint))
}

fn insert_credential(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    new: NewCredential,
) -> Result<Credential, StoreError> {
    if conn
        .row(
            "SELECT 1 FROM credentials WHERE key = $1",
            &[Arg::Text(&new.key)],
        )?
        .is_some()
    {
        return Err(StoreError::DuplicateKey(new.key));
    }
    let mut credential = Credential {
        id: 0,
        key: new.key,
        secret_hash: new.secret_hash,
        name: new.name,
        store: new.store,
        kind: new.kind,
        scopes: new.scopes,
        created: Timestamp::now(),
        expires: new.expires,
        revoked: None,
    };
    let row = CredentialRow::from(&credential);
    let inserted = conn
        .row(
            "INSERT INTO credentials (key, name, secret_hash, store, kind, scopes, created, expires, revoked)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) RETURNING id",
            &[
                Arg::Text(&row.key),
                Arg::Text(&row.name),
                Arg::Text(&row.secret_hash),
                Arg::Text(&row.store),
                Arg::Text(&row.kind),
                Arg::Text(&row.scopes),
                Arg::Text(&row.created),
                row.expires.as_deref().into(),
            ],
        )?
        .ok_or_else(|| StoreError::Corrupt("an insert returned no id".into()))?;
    credential.id = inserted.int(0)?;
    credential_entry(conn, cx, principal, "credential.create", &credential, None)?;
    Ok(credential)
}

fn credential_entry(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    action: &str,
    credential: &Credential,
    before: Option<&Credential>,
) -> Result<(), StoreError> {
    let time = cx.time.clone();
    cx.ledger.append(
        conn,
        &time,
        NewEntry {
            principal: principal.to_string(),
            action: action.into(),
            kind: "credential".into(),
            resource: credential.key.clone(),
            content: content_hash(credential.ledger_content().as_bytes()),
            previous_content: before.map(|b| content_hash(b.ledger_content().as_bytes())),
        },
    )?;
    Ok(())
}

fn change_credential(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    key: &str,
    change: CredentialChange,
) -> Result<Credential, StoreError> {
    let before = super::reads::credential(conn, key)?
        .ok_or_else(|| StoreError::NotFound(format!("no credential with key '{key}'")))?;
    let mut after = before.clone();
    let action = match change {
        CredentialChange::Revoke => {
            if before.revoked.is_some() {
                return Ok(before);
            }
            after.revoked = Some(Timestamp::now());
            "credential.revoke"
        }
        CredentialChange::Rotate { secret_hash } => {
            after.secret_hash = secret_hash;
            "credential.rotate"
        }
    };
    let row = CredentialRow::from(&after);
    conn.exec(
        "UPDATE credentials SET secret_hash = $1, revoked = $2 WHERE key = $3",
        &[
            Arg::Text(&row.secret_hash),
            row.revoked.as_deref().into(),
            Arg::Text(key),
        ],
    )?;
    credential_entry(conn, cx, principal, action, &after, Some(&before))?;
    Ok(after)
}

/// The content hash the ledger keeps for a compliance fact: its kind, body and reason.
pub(crate) fn fact_hash(kind: &str, body: &str, reason: &str) -> ledger::Hash {
    ledger::framed_hash(&[kind.as_bytes(), body.as_bytes(), reason.as_bytes()])
}

fn record_facts(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    facts: &[(String, String)],
    reason: &str,
    after: Option<i64>,
) -> Result<Vec<(i64, Timestamp)>, StoreError> {
    let newest = conn
        .row("SELECT max(id) FROM compliance_facts", &[])?
        .map(|row| row.opt_int(0))
        .transpose()?
        .flatten();
    if newest != after {
        return Err(StoreError::FactsChanged);
    }
    facts
        .iter()
        .map(|(kind, body)| record_fact(conn, cx, principal, kind, body, reason))
        .collect()
}

fn record_fact(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    kind: &str,
    body: &str,
    reason: &str,
) -> Result<(i64, Timestamp), StoreError> {
    let recorded = Timestamp::from_microsecond(cx.stored_us)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let row = conn
        .row(
            "INSERT INTO compliance_facts (kind, body, reason, principal, recorded_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[Arg::Text(kind), Arg::Text(body), Arg::Text(reason), Arg::Text(principal), Arg::Text(&recorded.to_string())],
        )?
        .ok_or_else(|| StoreError::Corrupt("an insert returned no id".into()))?;
    let id = row.int(0)?;
    let time = cx.time.clone();
    cx.ledger.append(
        conn,
        &time,
        NewEntry {
            principal: principal.to_string(),
            action: "compliance.record".into(),
            kind: "compliance_fact".into(),
            resource: id.to_string(),
            content: fact_hash(kind, body, reason),
            previous_content: None,
        },
    )?;
    Ok((id, recorded))
}

/// The content hash the ledger keeps for a decision: its person, its JSON, who asked and when.
pub(crate) fn decision_hash(
    person: &str,
    body: &str,
    principal: &str,
    recorded_at: &str,
) -> ledger::Hash {
    ledger::framed_hash(&[
        person.as_bytes(),
        body.as_bytes(),
        principal.as_bytes(),
        recorded_at.as_bytes(),
    ])
}

fn record_decision(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    person: &str,
    body: &str,
) -> Result<(i64, Timestamp), StoreError> {
    let recorded = Timestamp::from_microsecond(cx.stored_us)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let row = conn
        .row(
            "INSERT INTO compliance_decisions (person, body, principal, recorded_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[Arg::Text(person), Arg::Text(body), Arg::Text(principal), Arg::Text(&recorded.to_string())],
        )?
        .ok_or_else(|| StoreError::Corrupt("an insert returned no id".into()))?;
    let id = row.int(0)?;
    let time = cx.time.clone();
    cx.ledger.append(
        conn,
        &time,
        NewEntry {
            principal: principal.to_string(),
            action: "compliance.decide".into(),
            kind: "compliance_decision".into(),
            resource: id.to_string(),
            content: decision_hash(person, body, principal, &recorded.to_string()),
            previous_content: None,
        },
    )?;
    Ok((id, recorded))
}

/// The content hash the ledger keeps for a stored completion: its body and, once invalidated, when.
pub(crate) fn completion_hash(body: &str, invalidated_at: Option<&str>) -> ledger::Hash {
    ledger::framed_hash(&[body.as_bytes(), invalidated_at.unwrap_or("").as_bytes()])
}

fn sync_completions(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    persons: Option<&[String]>,
    derived: &[(String, String)],
    as_of: (Option<i64>, i64),
) -> Result<(usize, usize), StoreError> {
    if super::reads::compliance_watermarks(conn, None)? != as_of {
        return Err(StoreError::FactsChanged);
    }
    let now = Timestamp::from_microsecond(cx.stored_us)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .to_string();
    let mut valid: HashMap<(String, String), i64> = HashMap::new();
    let mut read = |rows: Vec<super::Row>| -> Result<(), StoreError> {
        for row in rows {
            valid.insert((row.text(1)?, row.text(2)?), row.int(0)?);
        }
        Ok(())
    };
    const VALID: &str =
        "SELECT id, person, body FROM compliance_completions WHERE invalidated_at IS NULL";
    match persons {
        Some(persons) => {
            for person in persons {
                read(conn.rows(&format!("{VALID} AND person = $1"), &[Arg::Text(person)])?)?;
            }
        }
        None => read(conn.rows(VALID, &[])?)?,
    }
    let wanted: HashSet<(String, String)> = derived.iter().cloned().collect();
    let time = cx.time.clone();
    let mut added = 0;
    for (person, body) in derived {
        if valid.contains_key(&(person.clone(), body.clone())) {
            continue;
        }
        let row = conn
            .row(
                "INSERT INTO compliance_completions (person, body, derived_at) VALUES ($1, $2, $3) RETURNING id",
                &[Arg::Text(person), Arg::Text(body), Arg::Text(&now)],
            )?
            .ok_or_else(|| StoreError::Corrupt("an insert returned no id".into()))?;
        cx.ledger.append(
            conn,
            &time,
            NewEntry {
                principal: principal.to_string(),
                action: "compliance.derive".into(),
                kind: "compliance_completion".into(),
                resource: row.int(0)?.to_string(),
                content: completion_hash(body, None),
                previous_content: None,
            },
        )?;
        added += 1;
    }
    let mut gone: Vec<(&(String, String), &i64)> = valid
        .iter()
        .filter(|(key, _)| !wanted.contains(*key))
        .collect();
    gone.sort_by_key(|(_, id)| **id);
    for ((_, body), id) in &gone {
        conn.exec(
            "UPDATE compliance_completions SET invalidated_at = $1 WHERE id = $2",
            &[Arg::Text(&now), Arg::Int(**id)],
        )?;
        cx.ledger.append(
            conn,
            &time,
            NewEntry {
                principal: principal.to_string(),
                action: "compliance.invalidate".into(),
                kind: "compliance_completion".into(),
                resource: id.to_string(),
                content: completion_hash(body, Some(&now)),
                previous_content: Some(completion_hash(body, None)),
            },
        )?;
    }
    Ok((added, gone.len()))
}

/// The content the ledger hashes for a store record.
pub(crate) fn store_content(name: &str, created: &str) -> String {
    serde_json::json!({"name": name, "created": created}).to_string()
}

fn create_store(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    name: &str,
) -> Result<(), StoreError> {
    if conn
        .row("SELECT 1 FROM stores WHERE name = $1", &[Arg::Text(name)])?
        .is_some()
    {
        return Err(StoreError::DuplicateStore(name.to_string()));
    }
    let created = Timestamp::now().to_string();
    conn.exec(
        "INSERT INTO stores (name, created) VALUES ($1, $2)",
        &[Arg::Text(name), Arg::Text(&created)],
    )?;
    let time = cx.time.clone();
    cx.ledger.append(
        conn,
        &time,
        NewEntry {
            principal: principal.to_string(),
            action: "store.create".into(),
            kind: "store".into(),
            resource: name.to_string(),
            content: content_hash(store_content(name, &created).as_bytes()),
            previous_content: None,
        },
    )?;
    Ok(())
}

fn insert_statements(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    batch: Vec<Accepted>,
) -> Result<Vec<Uuid>, StoreError> {
    let keys: Vec<String> = batch.iter().map(|a| a.id.to_string()).collect();
    if cx.bulk.is_some() {
        // The store held no statement when the bulk import began and every id since was new
        // (Writer::bulk_batch), none points at another: nothing to look up.
        return insert_unlinked(conn, cx, principal, batch, keys, &HashMap::new());
    }
    // A statement that points at another, or that a stored statement points at, changes rows
    // beyond its own (voiding, inherited terms): those batches go statement by statement.
    if batch.iter().any(|a| a.target.is_some()) {
        return insert_one_by_one(conn, cx, principal, batch);
    }
    let found = look_up(conn, &keys)?;
    if !found.targeted.is_empty() {
        return insert_one_by_one(conn, cx, principal, batch);
    }
    insert_unlinked(conn, cx, principal, batch, keys, &found.stored_json)
}

/// What the store holds of statements about to be written.
struct Found {
    /// Those a stored statement points at (a void stored before its target).
    targeted: HashSet<Uuid>,
    /// The JSON of those stored, by id.
    stored_json: HashMap<String, String>,
}

/// Reads the ledger head under `lock` and, given `keys`, looks them up ([`look_up`]) after it,
/// in one round trip.
fn head_and_look_up(
    conn: &mut impl Sql,
    lock: &str,
    keys: Option<&[String]>,
) -> Result<(LedgerHead, Option<Found>), StoreError> {
    let Some(keys) = keys else {
        return Ok((LedgerHead::load(conn, lock)?, None));
    };
    let key_args: Vec<Arg<'_>> = keys.iter().map(Arg::from).collect();
    let head = LedgerHead::select(lock);
    let look_ups = select_in_queries(LOOK_UP, &key_args);
    let queries: Vec<Query<'_>> = std::iter::once((head.as_str(), &[][..]))
        .chain(
            look_ups
                .iter()
                .map(|(sql, args)| (sql.as_str(), args.as_slice())),
        )
        .collect();
    let mut answers = conn.rows_together(&queries)?.into_iter();
    let head = LedgerHead::from_rows(&answers.next().unwrap_or_default())?;
    Ok((head, Some(found_in(answers.flatten().collect())?)))
}

/// Looks statement ids (as text) up, both ways, in one query.
fn look_up(conn: &mut impl Sql, keys: &[String]) -> Result<Found, StoreError> {
    let key_args: Vec<Arg<'_>> = keys.iter().map(Arg::from).collect();
    found_in(select_in(conn, LOOK_UP, &key_args)?)
}

/// The query of [`look_up`], for [`select_in`].
const LOOK_UP: &str = "SELECT id, json FROM statements WHERE id IN {keys}
         UNION ALL SELECT target, NULL FROM statements WHERE target IN {keys}";

/// What the rows of [`LOOK_UP`] found.
fn found_in(rows: Vec<Row>) -> Result<Found, StoreError> {
    let mut found = Found {
        targeted: HashSet::new(),
        stored_json: HashMap::new(),
    };
    for row in rows {
        let id = row.text(0)?;
        match row.opt_text(1)? {
            Some(json) => {
                found.stored_json.insert(id, json);
            }
            None => {
                found.targeted.insert(
                    Uuid::parse_str(&id)
                        .map_err(|e| StoreError::Corrupt(format!("statement target {id}: {e}")))?,
                );
            }
        }
    }
    Ok(found)
}

type Answered = Vec<Box<dyn Pending>>;
/// Where each statement of a batch came from: (request, index in the request).
type Origins = Vec<(usize, usize)>;

/// A plain request while its group is written: its statements in request order, each taken out
/// while the group's batch holds it.
struct PlainRequest {
    principal: String,
    statements: Vec<Option<Accepted>>,
    /// Which of `statements` the group writes (the others are stored already, or written by
    /// an earlier request of the group, with the same content).
    write: Vec<bool>,
    ids: Vec<Uuid>,
    reply: Reply<Vec<Uuid>>,
}

impl PlainRequest {
    /// The request as it came, for the one-by-one path.
    fn into_command(self) -> Command {
        Command::Statements {
            principal: self.principal,
            batch: self.statements.into_iter().flatten().collect(),
            attachments: Vec::new(),
            alone: false,
            restore: false,
            reply: self.reply,
        }
    }
}

/// Writes the plain statement requests of a group (see [`Command::plain_statements`]) as one
/// batch per principal: two look-ups for all of them (ids already stored, ids that stored
/// statements point at) and a few multi-row writes, instead of a savepoint and about ten
/// statements per request (a round trip each on PostgreSQL). A request is all or nothing: one
/// whose statement is stored (or sent by an earlier request of the group) with other content
/// is refused with [`StoreError::Conflict`] before anything is written; a statement stored with
/// the same content is not written again. Requests with a statement that a stored statement
/// points at (its void came first) are given back, to be written one by one. When the database
/// may refuse a value that validation let through (`guarded`: PostgreSQL), the batch runs in a
/// savepoint: refused, it is rolled back and every request is given back, so that only the
/// request at fault fails. On SQLite nothing in a statement can make the writes fail (a
/// savepoint would copy every page the batch dirties into its journal): an error there is the
/// database's own and fails the group's transaction, as it would every request in it.
fn write_plain_together(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    requests: Vec<Command>,
    guarded: bool,
    found: Option<Found>,
) -> Result<(Answered, Vec<Command>), (Answered, StoreError)> {
    let mut plain: Vec<PlainRequest> = Vec::with_capacity(requests.len());
    for command in requests {
        if let Command::Statements {
            principal,
            batch,
            reply,
            ..
        } = command
        {
            plain.push(PlainRequest {
                principal,
                ids: batch.iter().map(|a| a.id).collect(),
                write: Vec::with_capacity(batch.len()),
                statements: batch.into_iter().map(Some).collect(),
                reply,
            });
        }
    }
    let fail = |plain: Vec<PlainRequest>, error: &StoreError| -> Answered {
        plain
            .into_iter()
            .map(|r| Outcome::boxed(r.reply, Err(StoreError::Corrupt(error.to_string()))))
            .collect()
    };
    let found = match found {
        Some(found) => Ok(found),
        None => {
            let keys: Vec<String> = plain
                .iter()
                .flat_map(|r| r.ids.iter().map(Uuid::to_string))
                .collect();
            look_up(conn, &keys)
        }
    };
    let Found {
        targeted,
        stored_json,
    } = match found {
        Ok(found) => found,
        Err(error) => return Err((fail(plain, &error), error)),
    };

    let mut answered: Answered = Vec::new();
    let mut given_back: Vec<Command> = Vec::new();
    let mut kept: Vec<PlainRequest> = Vec::with_capacity(plain.len());
    // Statements this group writes, by id: (index in `kept`, index in its request).
    let mut taken: HashMap<Uuid, (usize, usize)> = HashMap::new();
    for mut request in plain {
        if request.ids.iter().any(|id| targeted.contains(id)) {
            given_back.push(request.into_command());
            continue;
        }
        let mut refusal = None;
        // This request's statements to write so far: (id, index).
        let mut mine: Vec<(Uuid, usize)> = Vec::new();
        for (i, slot) in request.statements.iter().enumerate() {
            let Some(accepted) = slot else { continue };
            let id = accepted.id.to_string();
            let same_as = |other: &Value| xapi::compare::same_statement(&accepted.statement, other);
            let same = if let Some(existing) = stored_json.get(&id) {
                match serde_json::from_str::<Value>(existing) {
                    Ok(existing) => Some(same_as(&existing)),
                    Err(e) => {
                        refusal = Some(StoreError::Corrupt(format!("statement {id}: {e}")));
                        break;
                    }
                }
            } else if let Some(&(r, j)) = taken.get(&accepted.id) {
                kept[r].statements[j]
                    .as_ref()
                    .map(|a| same_as(&a.statement))
            } else {
                mine.iter()
                    .find(|(other, _)| *other == accepted.id)
                    .and_then(|&(_, j)| request.statements[j].as_ref())
                    .map(|a| same_as(&a.statement))
            };
            match same {
                // Stored (or written by this group) with the same content: nothing to write.
                Some(true) => request.write.push(false),
                Some(false) => {
                    refusal = Some(StoreError::Conflict(accepted.id));
                    break;
                }
                None => {
                    request.write.push(true);
                    mine.push((accepted.id, i));
                }
            }
        }
        if let Some(error) = refusal {
            answered.push(Outcome::boxed(request.reply, Err(error)));
            continue;
        }
        for (id, i) in mine {
            taken.insert(id, (kept.len(), i));
        }
        kept.push(request);
    }

    if guarded && let Err(error) = conn.send("SAVEPOINT plain", &[]) {
        answered.extend(fail(kept, &error));
        answered.extend(
            given_back
                .into_iter()
                .map(|c| failed(c, StoreError::Corrupt(error.to_string()))),
        );
        return Err((answered, error));
    }
    let ledger_before = cx.ledger.clone();
    let terms_before = cx.term_ids.len();
    // Each principal's statements, with where each came from, kept until the savepoint is
    // released: a refused batch gives them back to their requests.
    let mut written: Vec<(Vec<NewStatement>, Origins)> = Vec::new();
    let mut refused = None;
    let mut principals: Vec<String> = Vec::new();
    for request in &kept {
        if !principals.contains(&request.principal) {
            principals.push(request.principal.clone());
        }
    }
    for principal in principals {
        let mut batch = Vec::new();
        let mut origin = Vec::new();
        for (r, request) in kept.iter_mut().enumerate() {
            if request.principal != principal {
                continue;
            }
            for (i, slot) in request.statements.iter_mut().enumerate() {
                if request.write[i]
                    && let Some(accepted) = slot.take()
                {
                    batch.push(accepted);
                    origin.push((r, i));
                }
            }
        }
        match new_statements(cx, batch) {
            Ok(fresh) => {
                let result = write_new(conn, cx, &principal, &fresh);
                written.push((fresh, origin));
                if let Err(error) = result {
                    refused = Some(error);
                    break;
                }
            }
            Err((error, back)) => {
                for (accepted, (r, i)) in back.into_iter().zip(origin) {
                    kept[r].statements[i] = Some(accepted);
                }
                refused = Some(error);
                break;
            }
        }
    }
    let Some(error) = refused else {
        // Sent: it goes with the commit (which fails the group if it did).
        if guarded && let Err(error) = conn.send("RELEASE SAVEPOINT plain", &[]) {
            answered.extend(fail(kept, &error));
            return Err((answered, error));
        }
        for (fresh, _) in written {
            free_elsewhere(fresh);
        }
        answered.extend(
            kept.into_iter()
                .map(|request| Outcome::boxed(request.reply, Ok(request.ids))),
        );
        return Ok((answered, given_back));
    };
    if !guarded {
        answered.extend(fail(kept, &error));
        answered.extend(
            given_back
                .into_iter()
                .map(|c| failed(c, StoreError::Corrupt(error.to_string()))),
        );
        return Err((answered, error));
    }
    // Refused by the database: back to before the batch, and every request the one-by-one way.
    tracing::debug!(%error, "statements written together were refused; writing them one by one");
    for (fresh, origin) in written {
        for (statement, (r, i)) in fresh.into_iter().zip(origin) {
            kept[r].statements[i] = Some(statement.accepted);
        }
    }
    *cx.ledger = ledger_before;
    if cx.term_ids.len() != terms_before {
        cx.term_ids.clear();
    }
    if let Err(error) = conn
        .batch("ROLLBACK TO SAVEPOINT plain")
        .and_then(|()| conn.batch("RELEASE SAVEPOINT plain"))
    {
        answered.extend(fail(kept, &error));
        return Err((answered, error));
    }
    given_back.extend(kept.into_iter().map(PlainRequest::into_command));
    Ok((answered, given_back))
}

/// Gives a statement its `stored` and returns it (microseconds): the group's, or when a batch
/// is restored, the one the statement carries, which must not be earlier than that of the
/// statement stored before it (queries rely on `stored` growing with `seq`) nor later than now.
fn stamp(cx: &mut Context<'_>, accepted: &mut Accepted) -> Result<i64, StoreError> {
    let Some(floor) = cx.restore_floor else {
        let stored = Timestamp::from_microsecond(cx.stored_us)
            .map_err(|e| StoreError::Corrupt(format!("clock out of range: {e}")))?;
        accepted.stamp(stored);
        return Ok(cx.stored_us);
    };
    let unrestorable = |reason: String| StoreError::Unrestorable {
        id: accepted.id,
        reason,
    };
    let carried = accepted
        .statement
        .get("stored")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| unrestorable("it has no `stored`".into()))?;
    let stored = xapi::rules::parse_timestamp(&carried)
        .ok_or_else(|| unrestorable(format!("`stored` {carried} is not a timestamp")))?;
    let stored_us = stored.as_microsecond();
    if stored_us < floor {
        let before = Timestamp::from_microsecond(floor)
            .map(xapi::statement::format_stored)
            .unwrap_or_default();
        return Err(unrestorable(format!(
            "`stored` {carried} is earlier than that of the statement stored before it ({before}); statements are restored in stored order"
        )));
    }
    if stored_us > cx.stored_us {
        return Err(unrestorable(format!("`stored` {carried} is in the future")));
    }
    // A statement without a timestamp gets its stored time (Data 2.4.7), as when it was stored.
    if let Some(object) = accepted.statement.as_object_mut() {
        object
            .entry("timestamp")
            .or_insert_with(|| Value::String(carried.clone()));
    }
    cx.restore_floor = Some(stored_us);
    Ok(stored_us)
}

/// Where a restored batch starts: the `stored` of the newest statement (`None` when the batch
/// is not restored).
fn restore_floor(conn: &mut impl Sql, restore: bool) -> Result<Option<i64>, StoreError> {
    if !restore {
        return Ok(None);
    }
    let newest = conn
        .row(
            "SELECT stored_us FROM statements ORDER BY seq DESC LIMIT 1",
            &[],
        )?
        .map(|r| r.int(0))
        .transpose()?;
    Ok(Some(newest.unwrap_or(i64::MIN)))
}

/// The columns of a `statements` row, in the order [`insert_unlinked`] gives them.
const STATEMENT_COLUMNS: &[(&str, Column)] = &[
    ("seq", Column::Int),
    ("id", Column::Text),
    ("stored_us", Column::Int),
    ("target", Column::Text),
    ("voiding", Column::Bool),
    ("voided", Column::Bool),
    ("json", Column::Text),
];

const POSTING_COLUMNS: &[(&str, Column)] = &[("term", Column::Int), ("seq", Column::Int)];

/// A statement about to be written by [`insert_unlinked`].
struct NewStatement {
    seq: i64,
    id: String,
    stored_us: i64,
    json: String,
    accepted: Accepted,
}

/// Writes a batch in which no statement targets another and none is targeted: one statement (or
/// `COPY`) per table for the whole batch on PostgreSQL, one per row on SQLite, where that is
/// cheapest.
fn insert_unlinked(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    batch: Vec<Accepted>,
    keys: Vec<String>,
    stored_json: &HashMap<String, String>,
) -> Result<Vec<Uuid>, StoreError> {
    let ids: Vec<Uuid> = batch.iter().map(|a| a.id).collect();
    let mut fresh: Vec<NewStatement> = Vec::with_capacity(batch.len());
    // Where each id of the batch is in `fresh`, for an id sent twice in one batch.
    let mut in_batch: HashMap<Uuid, usize> = HashMap::new();
    for (mut accepted, id) in batch.into_iter().zip(keys) {
        if let Some(existing) = stored_json.get(&id) {
            let existing: Value = serde_json::from_str(existing)
                .map_err(|e| StoreError::Corrupt(format!("statement {id}: {e}")))?;
            if xapi::compare::same_statement(&accepted.statement, &existing) {
                continue;
            }
            return Err(StoreError::Conflict(accepted.id));
        }
        if let Some(&i) = in_batch.get(&accepted.id) {
            if xapi::compare::same_statement(&accepted.statement, &fresh[i].accepted.statement) {
                continue;
            }
            return Err(StoreError::Conflict(accepted.id));
        }
        let stored_us = stamp(cx, &mut accepted)?;
        let json = serde_json::to_string(&accepted.statement)
            .map_err(|e| StoreError::Corrupt(format!("statement {id}: {e}")))?;
        cx.ledger.statement_seq += 1;
        in_batch.insert(accepted.id, fresh.len());
        fresh.push(NewStatement {
            seq: cx.ledger.statement_seq,
            id,
            stored_us,
            json,
            accepted,
        });
    }
    if fresh.is_empty() {
        return Ok(ids);
    }
    write_new(conn, cx, principal, &fresh)?;
    free_elsewhere(fresh);
    Ok(ids)
}

/// Stamps and serialises statements that are not stored, giving each the next `seq`; on an
/// error, gives them back (in their order).
fn new_statements(
    cx: &mut Context<'_>,
    batch: Vec<Accepted>,
) -> Result<Vec<NewStatement>, (StoreError, Vec<Accepted>)> {
    let mut fresh: Vec<NewStatement> = Vec::with_capacity(batch.len());
    let mut batch = batch.into_iter();
    while let Some(mut accepted) = batch.next() {
        let id = accepted.id.to_string();
        let prepared = stamp(cx, &mut accepted).and_then(|stored_us| {
            let json = serde_json::to_string(&accepted.statement)
                .map_err(|e| StoreError::Corrupt(format!("statement {id}: {e}")))?;
            Ok((stored_us, json))
        });
        match prepared {
            Ok((stored_us, json)) => {
                cx.ledger.statement_seq += 1;
                fresh.push(NewStatement {
                    seq: cx.ledger.statement_seq,
                    id,
                    stored_us,
                    json,
                    accepted,
                });
            }
            Err(error) => {
                let back = fresh
                    .into_iter()
                    .map(|s| s.accepted)
                    .chain(std::iter::once(accepted))
                    .chain(batch)
                    .collect();
                return Err((error, back));
            }
        }
    }
    Ok(fresh)
}

/// Writes statements [`insert_unlinked`] or [`new_statements`] prepared, none pointing at
/// another: their rows, ledger entries, postings, Activity definitions and Verb displays, one
/// statement (or `COPY`) per table for all of them on PostgreSQL.
fn write_new(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    fresh: &[NewStatement],
) -> Result<(), StoreError> {
    let mut args = Vec::with_capacity(fresh.len() * 7);
    for s in fresh {
        args.extend([
            Arg::Int(s.seq),
            Arg::Text(&s.id),
            Arg::Int(s.stored_us),
            Arg::Null,
            Arg::Bool(s.accepted.voiding),
            Arg::Bool(false),
            Arg::Text(&s.json),
        ]);
    }
    append_rows(conn, "statements", STATEMENT_COLUMNS, "", &args)?;

    let time = cx.time.clone();
    let entries = fresh
        .iter()
        .map(|s| NewEntry {
            principal: principal.to_string(),
            action: "statement.store".into(),
            kind: "statement".into(),
            resource: s.id.clone(),
            content: content_hash(s.json.as_bytes()),
            previous_content: None,
        })
        .collect();
    cx.ledger.append_all(conn, &time, entries)?;

    let parts = CANONICAL.map(|kind| (kind, kind.gather(fresh)));
    let terms: Vec<&str> = fresh
        .iter()
        .flat_map(|s| s.accepted.terms.iter().map(String::as_str))
        .collect();
    resolve_terms_and_canonical_parts(conn, cx.term_ids, &terms, &parts)?;
    let mut postings = Vec::with_capacity(terms.len());
    for s in fresh {
        for term in &s.accepted.terms {
            let id =
                cx.term_ids.get(term.as_str()).copied().ok_or_else(|| {
                    StoreError::Corrupt(format!("the index term {term} has no id"))
                })?;
            postings.push((id, s.seq));
        }
    }
    // In index order: neighbouring rows land on the same pages.
    postings.sort_unstable();
    postings.dedup();
    let args: Vec<Arg<'_>> = postings
        .iter()
        .flat_map(|&(term, seq)| [Arg::Int(term), Arg::Int(seq)])
        .collect();
    // Every seq here is new, so no posting can exist yet; SQLite's insert says `ON CONFLICT DO
    // NOTHING` anyway, which spares it a statement journal.
    let (table, tail) = match cx.bulk {
        // Staged, to be sorted into the postings once, at the end of the import.
        Some(sql) => (sql.staged_postings, ""),
        None => ("postings", " ON CONFLICT (term, seq) DO NOTHING"),
    };
    append_rows(conn, table, POSTING_COLUMNS, tail, &args)?;
    // The batch is written only when everything it sent succeeded.
    conn.flush()
}

/// From this many statements, a batch is freed on a thread of its own.
const FREE_ELSEWHERE: usize = 1000;

/// Frees a large batch's statements (each a tree of many small allocations, which takes about as
/// long as serialising it) on another thread, so the writer can go on to the commit and the next
/// batch meanwhile.
fn free_elsewhere(statements: Vec<NewStatement>) {
    if statements.len() < FREE_ELSEWHERE {
        return;
    }
    // When no thread can be started, the batch comes back and is freed here.
    let _ = std::thread::Builder::new()
        .name("attest-free".into())
        .spawn(move || drop(statements));
}

/// A part of statements the store keeps in a canonical form merged from every statement that
/// carries it: Activity definitions (Data 2.4.4.1), Verb displays (Data 2.4.3).
pub(crate) struct CanonicalKind {
    /// `SELECT iri, <part> FROM <table>`.
    pub(crate) select: &'static str,
    /// `INSERT INTO <table> (iri, <part>) …`, replacing the stored one.
    upsert: &'static str,
    /// The parts of one statement, as (IRI, part).
    of: for<'a> fn(&'a Value) -> Vec<(&'a str, &'a Value)>,
    merge: fn(&Value, &Value) -> Value,
}

pub(crate) const ACTIVITY_DEFINITIONS: CanonicalKind = CanonicalKind {
    select: "SELECT iri, definition FROM activities",
    upsert: "INSERT INTO activities (iri, definition) VALUES ($1, $2)
             ON CONFLICT (iri) DO UPDATE SET definition = excluded.definition",
    of: xapi::format::activity_definitions,
    merge: xapi::format::merge_definition,
};

pub(crate) const VERB_DISPLAYS: CanonicalKind = CanonicalKind {
    select: "SELECT iri, display FROM verbs",
    upsert: "INSERT INTO verbs (iri, display) VALUES ($1, $2)
             ON CONFLICT (iri) DO UPDATE SET display = excluded.display",
    of: xapi::format::verb_displays,
    merge: xapi::format::merge_display,
};

const CANONICAL: [&CanonicalKind; 2] = [&ACTIVITY_DEFINITIONS, &VERB_DISPLAYS];

/// The parts of one kind that statements carry, by IRI: each IRI's parts in statement order.
type Gathered<'a> = Vec<(&'a str, Vec<&'a Value>)>;

impl CanonicalKind {
    fn gather<'a>(&self, fresh: &'a [NewStatement]) -> Gathered<'a> {
        let mut gathered: Gathered<'a> = Vec::new();
        let mut position: HashMap<&str, usize> = HashMap::new();
        for s in fresh {
            for (iri, part) in (self.of)(&s.accepted.statement) {
                let i = *position.entry(iri).or_insert_with(|| {
                    gathered.push((iri, Vec::new()));
                    gathered.len() - 1
                });
                let list = &mut gathered[i].1;
                // Merging the same part twice in a row changes nothing.
                if list.last() != Some(&part) {
                    list.push(part);
                }
            }
        }
        gathered
    }

    /// Merges `list` (in order) into the stored part `old`, writing the result when it changed.
    fn merge_into(
        &self,
        conn: &mut impl Sql,
        iri: &str,
        old: Option<&Value>,
        list: &[&Value],
    ) -> Result<(), StoreError> {
        let mut merged: Option<Value> = None;
        for part in list {
            merged = Some(match merged.as_ref().or(old) {
                Some(base) => (self.merge)(base, part),
                None => (*part).clone(),
            });
        }
        // Most statements repeat the part the store already has: no write then.
        if let Some(merged) = merged
            && Some(&merged) != old
        {
            conn.send(
                self.upsert,
                &[Arg::Text(iri), Arg::Text(&merged.to_string())],
            )?;
        }
        Ok(())
    }
}

/// Finds (creating the missing) ids of `terms` and puts them in the cache, and merges the
/// canonical parts statements carry (in order) into the stored ones, writing only those that
/// change. The terms the cache does not know are inserted unless stored (sent); they and the
/// stored parts are then read together, in one round trip.
fn resolve_terms_and_canonical_parts(
    conn: &mut impl Sql,
    cache: &mut HashMap<String, i64>,
    terms: &[&str],
    parts: &[(&CanonicalKind, Gathered<'_>)],
) -> Result<(), StoreError> {
    let mut missing: Vec<&str> = terms
        .iter()
        .copied()
        .filter(|t| !cache.contains_key(*t))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() && parts.iter().all(|(_, gathered)| gathered.is_empty()) {
        return Ok(());
    }
    let term_args: Vec<Arg<'_>> = missing.iter().map(|t| Arg::Text(t)).collect();
    let mut queries = Vec::new();
    if !missing.is_empty() {
        insert_rows(
            conn,
            "terms",
            &[("term", Column::Text)],
            " ON CONFLICT (term) DO NOTHING",
            &term_args,
        )?;
        queries = select_in_queries(
            "SELECT term, id FROM terms WHERE term IN {keys}",
            &term_args,
        );
    }
    // Where each kind's answers start and end among the queries.
    let mut ranges = Vec::with_capacity(parts.len());
    for (kind, gathered) in parts {
        let start = queries.len();
        if !gathered.is_empty() {
            let iris: Vec<Arg<'_>> = gathered.iter().map(|(iri, _)| Arg::Text(iri)).collect();
            queries.extend(select_in_queries(
                &format!("{} WHERE iri IN {{keys}}", kind.select),
                &iris,
            ));
        }
        ranges.push(start..queries.len());
    }
    let term_queries = ranges.first().map_or(queries.len(), |r| r.start);
    let borrowed: Vec<Query<'_>> = queries
        .iter()
        .map(|(sql, args)| (sql.as_str(), args.as_slice()))
        .collect();
    let answers = conn.rows_together(&borrowed)?;
    for row in answers[..term_queries].iter().flatten() {
        cache.insert(row.text(0)?, row.int(1)?);
    }
    if let Some(term) = missing.iter().find(|t| !cache.contains_key(**t)) {
        return Err(StoreError::Corrupt(format!(
            "the index term {term} was not stored"
        )));
    }
    for ((kind, gathered), range) in parts.iter().zip(ranges) {
        let mut stored: HashMap<String, Value> = HashMap::new();
        for row in answers[range].iter().flatten() {
            // An unreadable stored part is replaced, as merge_part does.
            if let Ok(part) = serde_json::from_str(&row.text(1)?) {
                stored.insert(row.text(0)?, part);
            }
        }
        for (iri, list) in gathered {
            kind.merge_into(conn, iri, stored.get(*iri), list)?;
        }
    }
    Ok(())
}

/// Writes a batch statement by statement, each seeing the rows of those before it.
fn insert_one_by_one(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    batch: Vec<Accepted>,
) -> Result<Vec<Uuid>, StoreError> {
    let mut ids = Vec::with_capacity(batch.len());
    for mut accepted in batch {
        ids.push(accepted.id);
        let id = accepted.id.to_string();
        if let Some(existing) = conn.row(
            "SELECT json FROM statements WHERE id = $1",
            &[Arg::Text(&id)],
        )? {
            let existing: Value = serde_json::from_str(&existing.text(0)?)
                .map_err(|e| StoreError::Corrupt(format!("statement {id}: {e}")))?;
            if xapi::compare::same_statement(&accepted.statement, &existing) {
                continue;
            }
            return Err(StoreError::Conflict(accepted.id));
        }
        let stored_us = stamp(cx, &mut accepted)?;
        insert_one(conn, cx, principal, &accepted, stored_us)?;
    }
    Ok(ids)
}

/// Stores attachment bytes not stored yet, each with its ledger entry.
fn insert_attachments(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    attachments: Vec<AttachmentContent>,
) -> Result<(), StoreError> {
    for attachment in attachments {
        let added = conn.exec(
            "INSERT INTO attachments (sha2, content_type, content) VALUES ($1, $2, $3) ON CONFLICT (sha2) DO NOTHING",
            &[Arg::Text(&attachment.sha2), Arg::Text(&attachment.content_type), Arg::Bytes(&attachment.content)],
        )?;
        if added == 1 {
            let time = cx.time.clone();
            cx.ledger.append(
                conn,
                &time,
                NewEntry {
                    principal: principal.to_string(),
                    action: "attachment.store".into(),
                    kind: "attachment".into(),
                    resource: attachment.sha2.clone(),
                    content: documents::document_hash(
                        &attachment.content_type,
                        &attachment.content,
                    ),
                    previous_content: None,
                },
            )?;
        }
    }
    Ok(())
}

fn insert_one(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    accepted: &Accepted,
    stored_us: i64,
) -> Result<(), StoreError> {
    let id = accepted.id.to_string();
    let target = accepted.target.map(|t| t.to_string());
    // Voided already, when a voiding statement arrived before this one.
    let voided = !accepted.voiding
        && conn
            .row(
                "SELECT 1 FROM statements WHERE target = $1 AND voiding LIMIT 1",
                &[Arg::Text(&id)],
            )?
            .is_some();
    let json = serde_json::to_string(&accepted.statement)
        .map_err(|e| StoreError::Corrupt(format!("statement {id}: {e}")))?;
    cx.ledger.statement_seq += 1;
    let seq = cx.ledger.statement_seq;
    conn.exec(
        "INSERT INTO statements (seq, id, stored_us, target, voiding, voided, json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            Arg::Int(seq),
            Arg::Text(&id),
            Arg::Int(stored_us),
            target.as_deref().into(),
            Arg::Bool(accepted.voiding),
            Arg::Bool(voided),
            Arg::Text(&json),
        ],
    )?;
    let entry = |action: &str, resource: &str, content: &str| NewEntry {
        principal: principal.to_string(),
        action: action.into(),
        kind: "statement".into(),
        resource: resource.to_string(),
        content: content_hash(content.as_bytes()),
        previous_content: None,
    };
    let time = cx.time.clone();
    cx.ledger
        .append(conn, &time, entry("statement.store", &id, &json))?;
    if voided {
        cx.ledger
            .append(conn, &time, entry("statement.void", &id, &json))?;
    }
    // A statement that targets a voiding statement cannot void it (Data 2.3.2).
    if let (Some(t), true) = (&target, accepted.voiding) {
        let voided = conn.row(
            "UPDATE statements SET voided = TRUE WHERE id = $1 AND NOT voiding AND NOT voided RETURNING json",
            &[Arg::Text(t)],
        )?;
        if let Some(row) = voided {
            cx.ledger
                .append(conn, &time, entry("statement.void", t, &row.text(0)?))?;
        }
    }

    // The StatementRef filter rule (Communication 2.1.3): a statement that targets another meets
    // every non-time filter its target meets, so it carries its target's terms too.
    let mut terms: HashSet<String> = accepted.terms.iter().cloned().collect();
    if let Some(target) = &target {
        terms.extend(chain_terms(conn, target)?);
    }
    add_postings(conn, cx.term_ids, &terms, seq)?;
    // Statements that arrived earlier and target this one now inherit its terms.
    terms.retain(|t| xapi::index::is_inherited(t));
    propagate_to_referrers(conn, cx.term_ids, &id, &terms, 0)?;

    for kind in CANONICAL {
        for (iri, part) in (kind.of)(&accepted.statement) {
            merge_part(conn, kind, iri, part)?;
        }
    }
    Ok(())
}

/// All terms of a stored statement, including those it inherits along its StatementRef chain.
fn chain_terms(conn: &mut impl Sql, first: &str) -> Result<HashSet<String>, StoreError> {
    let mut terms = HashSet::new();
    let mut next = Some(first.to_string());
    let mut seen = HashSet::new();
    while let Some(id) = next.take() {
        if seen.len() >= REF_DEPTH || !seen.insert(id.clone()) {
            break;
        }
        let Some(row) = conn.row(
            "SELECT json, target FROM statements WHERE id = $1",
            &[Arg::Text(&id)],
        )?
        else {
            break;
        };
        let statement: Value = serde_json::from_str(&row.text(0)?)
            .map_err(|e| StoreError::Corrupt(format!("statement {id}: {e}")))?;
        terms.extend(
            xapi::index::terms(&statement)
                .into_iter()
                .filter(|t| xapi::index::is_inherited(t)),
        );
        next = row.opt_text(1)?;
    }
    Ok(terms)
}

fn propagate_to_referrers(
    conn: &mut impl Sql,
    term_ids: &mut HashMap<String, i64>,
    id: &str,
    terms: &HashSet<String>,
    depth: usize,
) -> Result<(), StoreError> {
    if depth >= REF_DEPTH {
        return Ok(());
    }
    let referrers = conn.rows(
        "SELECT seq, id FROM statements WHERE target = $1",
        &[Arg::Text(id)],
    )?;
    for row in referrers {
        add_postings(conn, term_ids, terms, row.int(0)?)?;
        propagate_to_referrers(conn, term_ids, &row.text(1)?, terms, depth + 1)?;
    }
    Ok(())
}

fn add_postings(
    conn: &mut impl Sql,
    term_ids: &mut HashMap<String, i64>,
    terms: &HashSet<String>,
    seq: i64,
) -> Result<(), StoreError> {
    for term in terms {
        let term_id = term_id(conn, term_ids, term)?;
        conn.exec(
            "INSERT INTO postings (term, seq) VALUES ($1, $2) ON CONFLICT (term, seq) DO NOTHING",
            &[Arg::Int(term_id), Arg::Int(seq)],
        )?;
    }
    Ok(())
}

fn term_id(
    conn: &mut impl Sql,
    cache: &mut HashMap<String, i64>,
    term: &str,
) -> Result<i64, StoreError> {
    if let Some(id) = cache.get(term) {
        return Ok(*id);
    }
    let id = match conn.row("SELECT id FROM terms WHERE term = $1", &[Arg::Text(term)])? {
        Some(row) => row.int(0)?,
        None => conn
            .row(
                "INSERT INTO terms (term) VALUES ($1) RETURNING id",
                &[Arg::Text(term)],
            )?
            .ok_or_else(|| StoreError::Corrupt("an insert returned no id".into()))?
            .int(0)?,
    };
    cache.insert(term.to_string(), id);
    Ok(id)
}

/// Merges one statement's part into the stored canonical one (read first).
fn merge_part(
    conn: &mut impl Sql,
    kind: &CanonicalKind,
    iri: &str,
    part: &Value,
) -> Result<(), StoreError> {
    let row = conn.row(
        &format!("{} WHERE iri = $1", kind.select),
        &[Arg::Text(iri)],
    )?;
    // An unreadable stored part is replaced.
    let old: Option<Value> = row
        .map(|r| r.text(1))
        .transpose()?
        .and_then(|text| serde_json::from_str(&text).ok());
    kind.merge_into(conn, iri, old.as_ref(), &[part])?;
    conn.flush()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use xapi::Version;

    use super::*;
    use crate::StatementQuery;
    use crate::sqlite::{DATABASE_FILE, SqliteStore, writer_connection};

    type Answer = oneshot::Receiver<Result<Vec<Uuid>, StoreError>>;

    fn statement(n: u128, object: &str) -> Accepted {
        let authority = json!({"mbox": "mailto:lms@example.org"});
        let statement = json!({
            "id": Uuid::from_u128(n).to_string(),
            "actor": {"mbox": "mailto:op@example.org"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": object}
        });
        xapi::statement::accept(statement, Version::V2_0_0, &authority).expect("valid")
    }

    /// A group's transaction context at the current time.
    fn context<'a>(
        term_ids: &'a mut HashMap<String, i64>,
        ledger: &'a mut LedgerHead,
        key: &'a SigningKey,
    ) -> Context<'a> {
        Context {
            term_ids,
            ledger,
            key,
            stored_us: Timestamp::now().as_microsecond(),
            time: Timestamp::now().to_string(),
            bulk: None,
            restore_floor: None,
        }
    }

    fn request(principal: &str, batch: Vec<Accepted>) -> (Command, Answer) {
        let (reply, answer) = oneshot::channel();
        let command = Command::Statements {
            principal: principal.into(),
            batch,
            attachments: Vec::new(),
            alone: false,
            restore: false,
            reply,
        };
        (command, answer)
    }

    /// Stores statement `n` alone, as one write.
    fn write_one(runtime: &tokio::runtime::Runtime, store: &SqliteStore, n: u128) {
        runtime
            .block_on(crate::Store::insert_statements(
                store,
                "p".into(),
                vec![statement(n, "https://example.org/a")],
                Vec::new(),
            ))
            .expect("stored");
    }

    /// Every statement, oldest first.
    fn in_stored_order(
        runtime: &tokio::runtime::Runtime,
        store: &SqliteStore,
    ) -> Vec<crate::StoredStatement> {
        runtime
            .block_on(crate::Store::query(
                store,
                StatementQuery {
                    limit: 1000,
                    ascending: true,
                    ..StatementQuery::default()
                },
            ))
            .expect("query")
            .statements
    }

    /// D 2.4.8 and 4.5 (`stored`), Communication 2.1.3 (`since` is exclusive): each write is
    /// stored later than the write before it, even within one millisecond of the clock (fifty
    /// writes in a row take a few milliseconds here), and its `stored` says so; `since` the
    /// `stored` of one statement then gives exactly the statements written after it. (With
    /// `stored` in milliseconds, writes a moment apart shared one, and `since` lost the later.)
    #[test]
    fn each_write_is_stored_later_than_the_one_before_even_in_one_millisecond() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(dir.path()).expect("store");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        for n in 1..=50 {
            write_one(&runtime, &store, n);
        }
        let stored: Vec<(Timestamp, String)> = in_stored_order(&runtime, &store)
            .iter()
            .map(|s| {
                let json: Value = serde_json::from_str(&s.json).expect("json");
                (
                    s.stored,
                    json["stored"].as_str().expect("stored").to_string(),
                )
            })
            .collect();
        assert_eq!(stored.len(), 50);
        for pair in stored.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{pair:?}");
            assert!(pair[0].1 < pair[1].1, "the `stored` written: {pair:?}");
            assert_eq!(pair[0].1, xapi::statement::format_stored(pair[0].0));
        }
        let since = runtime
            .block_on(crate::Store::query(
                &store,
                StatementQuery {
                    since: Some(stored[24].0),
                    limit: 100,
                    ascending: true,
                    ..StatementQuery::default()
                },
            ))
            .expect("query");
        assert_eq!(
            since.statements.len(),
            25,
            "since the 25th: the 26th to the 50th"
        );
    }

    /// §2 of docs/compliance.md: a group is stored at least a microsecond after the newest
    /// `stored` in the ledger head and after every compliance question this process answered,
    /// whatever the clock says (here the head an hour ahead of it, then a question two hours
    /// ahead, as after a clock set back).
    #[test]
    fn a_write_is_stored_after_the_newest_write_and_every_question_whatever_the_clock() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(dir.path()).expect("store");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let hour = 3_600_000_000;
        let ahead = Timestamp::now().as_microsecond() + hour;
        let mut other = writer_connection(&dir.path().join(DATABASE_FILE)).expect("conn");
        other
            .exec(
                "UPDATE ledger_head SET stored_us = $1 WHERE id = 1",
                &[Arg::Int(ahead)],
            )
            .expect("head ahead");
        write_one(&runtime, &store, 1);
        write_one(&runtime, &store, 2);
        store
            .inner
            .writer_state
            .asked_us
            .store(ahead + hour, Ordering::SeqCst);
        write_one(&runtime, &store, 3);
        let stored: Vec<i64> = in_stored_order(&runtime, &store)
            .iter()
            .map(|s| s.stored.as_microsecond())
            .collect();
        assert_eq!(stored, [ahead + 1, ahead + 2, ahead + hour + 1]);
    }

    /// §2 of docs/compliance.md: a question's watermarks are read once the write that began
    /// before it is committed (it may be stored before the question's time). Here the write is
    /// held half-way (another connection holds SQLite's write lock) and the question waits for
    /// it, then sees its statement.
    #[test]
    fn a_compliance_question_waits_for_the_write_that_began_before_it() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(dir.path()).expect("store");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let mut other = writer_connection(&dir.path().join(DATABASE_FILE)).expect("conn");
        other.batch("BEGIN IMMEDIATE").expect("lock");
        let writing = runtime.spawn({
            let store = store.clone();
            async move {
                crate::Store::insert_statements(
                    &store,
                    "p".into(),
                    vec![statement(1, "https://example.org/a")],
                    Vec::new(),
                )
                .await
            }
        });
        let state = store.inner.writer_state.clone();
        while state.inflight_us.load(Ordering::SeqCst) == IDLE {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let asking = runtime.spawn({
            let store = store.clone();
            async move { crate::Store::compliance_watermarks(&store).await }
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!asking.is_finished(), "the question waits for the write");
        other.batch("COMMIT").expect("unlock");
        runtime.block_on(writing).expect("task").expect("written");
        let (_, seq) = runtime.block_on(asking).expect("task").expect("watermarks");
        assert_eq!(seq, 1, "the question sees the statement");
    }

    /// The plain requests of one group, checked together: a conflict refuses its own request
    /// (all of it) and nothing else; a statement sent twice with the same content is written once;
    /// a request whose statement a stored void points at is given back for the one-by-one path;
    /// each principal's statements are ledgered as theirs.
    #[test]
    fn plain_requests_written_together_refuse_only_the_conflicting_request() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(dir.path()).expect("store");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let void_first = statement(99, "https://example.org/x");
        let mut void = statement(100, "https://example.org/unused");
        void.statement["verb"] = json!({"id": xapi::VOIDED_VERB});
        void.statement["object"] =
            json!({"objectType": "StatementRef", "id": void_first.id.to_string()});
        void.target = Some(void_first.id);
        void.voiding = true;
        runtime
            .block_on(crate::Store::insert_statements(
                &store,
                "setup".into(),
                vec![statement(1, "https://example.org/a"), void],
                Vec::new(),
            ))
            .expect("stored");

        let mut conn = writer_connection(&dir.path().join(DATABASE_FILE)).expect("conn");
        conn.batch("BEGIN IMMEDIATE").expect("begin");
        let mut head = LedgerHead::load(&mut conn, "").expect("head");
        let mut term_ids = HashMap::new();
        let key = SigningKey::from_bytes(&[7; 32]);
        let mut cx = context(&mut term_ids, &mut head, &key);
        let requests = vec![
            request("p1", vec![statement(2, "https://example.org/b")]),
            // Statement 1 is stored with object a: this request is refused whole.
            request(
                "p2",
                vec![
                    statement(3, "https://example.org/c"),
                    statement(1, "https://example.org/other"),
                ],
            ),
            request("p1", vec![statement(1, "https://example.org/a")]),
            request("p2", vec![statement(2, "https://example.org/b")]),
            request("p1", vec![statement(2, "https://example.org/other")]),
            request("p1", vec![statement(99, "https://example.org/x")]),
        ];
        let (commands, answers): (Vec<Command>, Vec<Answer>) = requests.into_iter().unzip();
        let (answered, given_back) =
            write_plain_together(&mut conn, &mut cx, commands, false, None)
                .unwrap_or_else(|(_, e)| panic!("{e}"));
        assert_eq!(given_back.len(), 1, "the statement its void came before");
        assert!(
            matches!(&given_back[0], Command::Statements { batch, .. } if batch[0].id == Uuid::from_u128(99))
        );
        head.save(&mut conn).expect("head");
        conn.batch("COMMIT").expect("commit");
        for pending in answered {
            pending.answer(None);
        }
        let results: Vec<String> = answers
            .into_iter()
            .take(5)
            .map(|mut a| match a.try_recv().expect("answered") {
                Ok(ids) => format!("ok {}", ids.len()),
                Err(StoreError::Conflict(id)) => format!("conflict {}", id.as_u128()),
                Err(e) => format!("error {e}"),
            })
            .collect();
        assert_eq!(
            results,
            ["ok 1", "conflict 1", "ok 1", "ok 1", "conflict 2"],
            "each request answered on its own"
        );

        let mut rows = conn
            .rows(
                "SELECT s.id, l.principal FROM statements s JOIN ledger l ON l.resource = s.id ORDER BY s.seq",
                &[],
            )
            .expect("rows");
        let rows: Vec<(u128, String)> = rows
            .drain(..)
            .map(|r| {
                let id = Uuid::parse_str(&r.text(0).expect("id")).expect("uuid");
                (id.as_u128(), r.text(1).expect("principal"))
            })
            .collect();
        assert_eq!(
            rows,
            [(1, "setup".into()), (100, "setup".into()), (2, "p1".into())],
            "statement 2 once, as p1's; nothing of the refused request"
        );
    }

    /// When the database refuses the batch written together (here a trigger refuses one
    /// statement, standing for what only a database checks, such as PostgreSQL's index-row size
    /// limit; guarded as on PostgreSQL), it is rolled back and every request goes the one-by-one
    /// way: only the request at fault fails.
    #[test]
    fn a_batch_the_database_refuses_is_written_request_by_request() {
        let dir = tempfile::tempdir().expect("dir");
        drop(SqliteStore::open(dir.path()).expect("store"));
        let mut conn = writer_connection(&dir.path().join(DATABASE_FILE)).expect("conn");
        conn.batch(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON statements
             WHEN NEW.json LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poison refused'); END",
        )
        .expect("trigger");
        written_request_by_request(&mut conn, "BEGIN IMMEDIATE", "");
    }

    /// The same on PostgreSQL, whose connection holds the statements it is sent until a call
    /// waits: the refusal must still be the batch's, then the one request's (run against
    /// `ATTEST_TEST_DATABASE_URL`, as `scripts/test` does; skipped without it).
    #[test]
    fn a_batch_postgresql_refuses_is_written_request_by_request() {
        let Some(mut conn) = crate::pg::test_write_connection() else {
            return;
        };
        conn.batch(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.json LIKE '%poison%' THEN RAISE EXCEPTION 'poison refused'; END IF;
             RETURN NEW; END $$;
             CREATE TRIGGER refuse_poison BEFORE INSERT ON statements
             FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
        )
        .expect("trigger");
        written_request_by_request(&mut conn, "BEGIN", " FOR UPDATE");
    }

    /// Three requests written together, the second holding a statement the database refuses.
    fn written_request_by_request(conn: &mut impl Sql, begin: &str, lock: &str) {
        let batches = [
            vec![statement(1, "https://example.org/a")],
            vec![
                statement(2, "https://example.org/b"),
                statement(3, "https://example.org/poison"),
            ],
            vec![statement(4, "https://example.org/c")],
        ];
        // Every index term known already: the batch's write then has nothing to wait for but
        // its own end (a term look-up would otherwise bring a held refusal back earlier).
        let mut term_ids = HashMap::new();
        let terms: Vec<&str> = batches
            .iter()
            .flatten()
            .flat_map(|a| a.terms.iter().map(String::as_str))
            .collect();
        resolve_terms_and_canonical_parts(conn, &mut term_ids, &terms, &[]).expect("terms");
        let (commands, answers): (Vec<Command>, Vec<Answer>) =
            batches.into_iter().map(|batch| request("p", batch)).unzip();
        conn.batch(begin).expect("begin");
        let mut head = LedgerHead::load(conn, lock).expect("head");
        let seq_before = head.statement_seq;
        let key = SigningKey::from_bytes(&[7; 32]);
        let mut cx = context(&mut term_ids, &mut head, &key);
        let (answered, given_back) = write_plain_together(conn, &mut cx, commands, true, None)
            .unwrap_or_else(|(_, e)| panic!("{e}"));
        assert!(answered.is_empty());
        assert_eq!(given_back.len(), 3, "every request, the one-by-one way");
        assert_eq!(
            cx.ledger.statement_seq, seq_before,
            "the ledger head as before"
        );
        let mut done = Vec::new();
        for command in given_back {
            let (pending, _) = apply(conn, &mut cx, command, true);
            done.push(pending);
        }
        head.save(conn).expect("head");
        conn.batch("COMMIT").expect("commit");
        for pending in done {
            pending.answer(None);
        }
        let results: Vec<bool> = answers
            .into_iter()
            .map(|mut a| a.try_recv().expect("answered").is_ok())
            .collect();
        assert_eq!(
            results,
            [true, false, true],
            "only the request at fault fails"
        );
        let ids: Vec<String> = conn
            .rows("SELECT id FROM statements ORDER BY seq", &[])
            .expect("rows")
            .iter()
            .map(|r| r.text(0).expect("id"))
            .collect();
        assert_eq!(
            ids,
            [
                Uuid::from_u128(1).to_string(),
                Uuid::from_u128(4).to_string()
            ],
            "nothing of the refused request, the others once"
        );
    }
}

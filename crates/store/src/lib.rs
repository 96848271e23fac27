//! Attest's storage. The [`Store`] trait is what the server sees; [`SqliteStore`] is the embedded
//! default (PostgreSQL comes through the same trait).
//!
//! The store owns SQL and nothing above it: it never sees HTTP and makes no auth decisions.
#![forbid(unsafe_code)]

mod credentials;
mod documents;
mod error;
mod key_file;
mod pg;
mod sql;
mod sqlite;
mod stores;

use std::collections::HashMap;
use std::future::Future;

use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;

pub use credentials::{
    Credential, CredentialChange, CredentialKind, DEFAULT_STORE, NewCredential, Scope, hash_secret,
    verify_secret,
};
pub use documents::{
    Document, DocumentKey, DocumentKind, DocumentScope, DocumentWrite, Preconditions,
};
pub use error::StoreError;
pub use ledger::{Checkpoint, Entry, Hash, Problem, VerifyingKey};
pub use pg::{PgStore, verify_postgres};
pub use sql::{SqlStore, VerifyProgress, VerifyReport};
pub use sqlite::{SqliteStore, verify};
pub use stores::{CredentialRequest, Stores, store_dir, valid_store_name};
pub use xapi::statement::Accepted;

/// The bytes of an attachment, content-addressed by the `sha2` the statement gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentContent {
    /// Lowercase hex of the SHA-2 hash the statement's attachment object names.
    pub sha2: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// A statement read as possible training evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRow {
    /// Its place in stored order.
    pub seq: i64,
    pub json: String,
    pub stored: Timestamp,
    /// The `stored` of the statement that voided it, if any (as far as the read saw).
    pub voided: Option<Timestamp>,
    /// For a voiding statement: the JSON of the statement it voids.
    pub voids: Option<String>,
}

/// Which statements [`Store::evidence`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceOf {
    /// Those with an agent that has one of these IFI keys (one person's evidence).
    Agents(Vec<String>),
    /// Those whose object is one of these Activities (everyone's evidence).
    Activities(Vec<String>),
}

/// A compliance fact as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFact {
    pub id: i64,
    pub kind: String,
    pub body: String,
    pub reason: String,
    pub principal: String,
    pub recorded_at: Timestamp,
}

/// A completion as stored (crates/compliance derives them; the store keeps them and their history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCompletion {
    pub id: i64,
    pub person: String,
    /// The completion as JSON (`compliance::Completion::to_json`).
    pub body: String,
    pub derived_at: Timestamp,
    pub invalidated_at: Option<Timestamp>,
}

/// A page of a list ordered by id: the rows after id `after`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after: i64,
    pub limit: usize,
}

impl Page {
    /// Everything.
    pub const ALL: Page = Page {
        after: i64::MIN,
        limit: usize::MAX,
    };
}

/// A recorded qualification decision (the question a gate asked and the answer it got).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDecision {
    pub id: i64,
    pub person: String,
    /// The question and the answer, as JSON.
    pub body: String,
    pub principal: String,
    pub recorded_at: Timestamp,
}

/// A statement as stored, with the values the store keeps beside it.
#[derive(Debug, Clone)]
pub struct StoredStatement {
    /// The statement JSON exactly as stored.
    pub json: String,
    pub stored: Timestamp,
}

/// A statement query: the intersection of index terms (see `xapi::index`), a `stored` window and
/// a keyset cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementQuery {
    pub terms: Vec<String>,
    /// Exclusive lower bound on `stored`.
    pub since: Option<Timestamp>,
    /// Inclusive upper bound on `stored`.
    pub until: Option<Timestamp>,
    pub limit: usize,
    pub ascending: bool,
    /// Continue after this position (from [`StatementPage::next`]).
    pub after: Option<i64>,
}

/// One page of a query. `next` is the cursor for the following page, when there is one.
#[derive(Debug, Clone)]
pub struct StatementPage {
    pub statements: Vec<StoredStatement>,
    pub next: Option<i64>,
}

/// What the rest of Attest needs from a database. Every write is durable when its future
/// resolves with `Ok`.
pub trait Store: Send + Sync + Clone + 'static {
    /// Stores a batch atomically: all statements or none. A statement whose id is already stored
    /// with the same content is skipped; with different content the batch fails with
    /// [`StoreError::Conflict`]. Returns the ids in batch order.
    /// `principal` is who writes (for the ledger: `credential:<key>`).
    /// `attachments` are the bytes of attachments the statements reference (multipart parts),
    /// stored once each by their `sha2`, in the same transaction.
    fn insert_statements(
        &self,
        principal: String,
        batch: Vec<Accepted>,
        attachments: Vec<AttachmentContent>,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;

    /// Stores a batch like [`Store::insert_statements`] (all or nothing, same rules), in a
    /// transaction of its own: for imports, whose batches are large and need no per-request
    /// isolation from other writes.
    fn import_statements(
        &self,
        principal: String,
        batch: Vec<Accepted>,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;

    /// Stores a batch like [`Store::import_statements`], except that each statement keeps the
    /// `stored` it carries instead of getting the time of the write: to restore an export.
    /// `stored` must not go backwards (not earlier than the newest statement's, in batch order)
    /// and not be in the future; otherwise the batch fails with [`StoreError::Unrestorable`],
    /// nothing written. The ledger records the time of the restore. Meant for a store no server
    /// serves meanwhile: a server may have told a client that it is consistent through a time
    /// after a restored `stored`.
    fn restore_statements(
        &self,
        principal: String,
        batch: Vec<Accepted>,
    ) -> impl Future<Output = Result<Vec<Uuid>, StoreError>> + Send;

    /// Before an import: when the store holds no statement, it may defer the indexes that an
    /// import would otherwise update at random places for every statement, and build them once
    /// at [`Store::finish_bulk_import`]. Tells whether it did. Meanwhile each
    /// [`Store::import_statements`] batch is checked for ids already imported in memory instead
    /// of in the database; a batch the deferral cannot take (a StatementRef, an id seen before,
    /// another writer since the last batch) first builds the indexes, and the import goes on
    /// the ordinary way. Statements imported meanwhile are stored with their ledger entries as
    /// usual but are not yet found by queries other than by id. Other writes end the deferral
    /// too. If the import is killed, opening the store builds the indexes.
    fn begin_bulk_import(&self) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Builds the indexes [`Store::begin_bulk_import`] deferred (nothing when none are).
    fn finish_bulk_import(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The stored attachments with these `sha2` values (those the store has).
    fn attachments(
        &self,
        sha2: Vec<String>,
    ) -> impl Future<Output = Result<Vec<AttachmentContent>, StoreError>> + Send;

    /// One statement by id: a voided one only when `voided` is true, any other only when false.
    fn statement(
        &self,
        id: Uuid,
        voided: bool,
    ) -> impl Future<Output = Result<Option<StoredStatement>, StoreError>> + Send;

    fn query(
        &self,
        query: StatementQuery,
    ) -> impl Future<Output = Result<StatementPage, StoreError>> + Send;

    /// Every statement stored up to this instant is visible to reads
    /// (`X-Experience-API-Consistent-Through`).
    fn consistent_through(&self) -> Timestamp;

    /// The canonical definitions of these Activities, where the store has one.
    fn activity_definitions(
        &self,
        ids: Vec<String>,
    ) -> impl Future<Output = Result<HashMap<String, Value>, StoreError>> + Send;

    /// The canonical displays of these Verbs, where the store has one (Data 2.4.3).
    fn verb_displays(
        &self,
        ids: Vec<String>,
    ) -> impl Future<Output = Result<HashMap<String, Value>, StoreError>> + Send;

    fn create_credential(
        &self,
        principal: String,
        credential: NewCredential,
    ) -> impl Future<Output = Result<Credential, StoreError>> + Send;

    /// The credential with this key, revoked or not.
    fn credential(
        &self,
        key: String,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;

    fn credential_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The credentials of one store (all stores when `None`), oldest first.
    fn credentials(
        &self,
        store: Option<String>,
    ) -> impl Future<Output = Result<Vec<Credential>, StoreError>> + Send;

    /// Revokes a credential or rotates its secret; the ledger keeps what it was before.
    fn change_credential(
        &self,
        principal: String,
        key: String,
        change: CredentialChange,
    ) -> impl Future<Output = Result<Credential, StoreError>> + Send;

    /// Records a new store (tenant) in this (the default store's) database.
    fn create_store_entry(
        &self,
        principal: String,
        name: String,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The stores recorded here, with their creation times.
    fn store_entries(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, Timestamp)>, StoreError>> + Send;

    // ---- training compliance ----

    /// Records compliance facts (each a `kind` and a JSON body) with the reason for them, all in
    /// one transaction or none; returns each one's id and recording time. `after` is the id of
    /// the newest fact the caller checked these against (`None`: there were none): if a newer one
    /// was recorded meanwhile, nothing is recorded and the answer is [`StoreError::FactsChanged`].
    fn record_facts(
        &self,
        principal: String,
        facts: Vec<(String, String)>,
        reason: String,
        after: Option<i64>,
    ) -> impl Future<Output = Result<Vec<(i64, Timestamp)>, StoreError>> + Send;

    /// Every compliance fact in recording order: (id, kind, body, reason, principal, recorded at).
    fn facts(&self, page: Page)
    -> impl Future<Output = Result<Vec<StoredFact>, StoreError>> + Send;

    /// Records a qualification decision (JSON `body` about `person`), ledgered; returns its id and
    /// recording time.
    fn record_decision(
        &self,
        principal: String,
        person: String,
        body: String,
    ) -> impl Future<Output = Result<(i64, Timestamp), StoreError>> + Send;

    /// Recorded decisions about one person (everyone when `None`), oldest first, a page.
    fn decisions(
        &self,
        person: Option<String>,
        page: Page,
    ) -> impl Future<Output = Result<Vec<StoredDecision>, StoreError>> + Send;

    /// Stored completions, valid and invalidated, oldest first: one person's, or everyone's, a
    /// page.
    fn completions(
        &self,
        person: Option<String>,
        page: Page,
    ) -> impl Future<Output = Result<Vec<StoredCompletion>, StoreError>> + Send;

    /// Makes the valid stored completions of `persons` (everyone when `None`) those `derived`
    /// ((person, completion JSON) pairs): stores the new ones and invalidates those no longer
    /// derived, each with its ledger entry, in one transaction. Returns (added, invalidated).
    /// `as_of` is what [`Store::compliance_watermarks`] said when the derivation read its facts
    /// and statements: if anything was written since, nothing is stored and the answer is
    /// [`StoreError::FactsChanged`] (an older derivation never overwrites a newer one).
    fn sync_completions(
        &self,
        principal: String,
        persons: Option<Vec<String>>,
        derived: Vec<(String, String)>,
        as_of: (Option<i64>, i64),
    ) -> impl Future<Output = Result<(usize, usize), StoreError>> + Send;

    /// Statements that may be training evidence (voided ones too, voiding ones not).
    fn evidence(
        &self,
        about: EvidenceOf,
    ) -> impl Future<Output = Result<Vec<EvidenceRow>, StoreError>> + Send;

    /// Every statement stored after statement `after` (a `seq`), in stored order, at most `limit`;
    /// for a voiding statement, `voids` holds its target's JSON.
    fn statements_after(
        &self,
        after: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<EvidenceRow>, StoreError>> + Send;

    /// The newest compliance fact's id and the newest statement's `seq`: what a cache of the
    /// compliance engine compares to know whether it is current. Read once every write whose
    /// `stored` (or `recordedAt`) is at or before the call is committed, so an engine current to
    /// them answers "as known at" any time up to the call exactly: a write still running then,
    /// here or on another node, is waited for; one that starts later is stored later.
    fn compliance_watermarks(
        &self,
    ) -> impl Future<Output = Result<(Option<i64>, i64), StoreError>> + Send;

    // ---- documents: State, Activity Profile, Agent Profile ----

    fn document(
        &self,
        key: DocumentKey,
    ) -> impl Future<Output = Result<Option<Document>, StoreError>> + Send;

    /// The ids of a scope's documents with their update times, optionally only those updated
    /// after `since`.
    fn document_ids(
        &self,
        scope: DocumentScope,
        since: Option<Timestamp>,
    ) -> impl Future<Output = Result<Vec<(String, Timestamp)>, StoreError>> + Send;

    /// PUT (replace) or POST (merge) one document, checking its preconditions atomically.
    fn write_document(
        &self,
        principal: String,
        write: DocumentWrite,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes one document (`id`) or every document of the scope; returns how many.
    fn delete_documents(
        &self,
        principal: String,
        scope: DocumentScope,
        id: Option<String>,
        preconditions: Preconditions,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    // ---- the ledger (read-only; entries are written only by the writes above) ----

    /// Signs a checkpoint over the whole ledger now (none when the ledger is empty; the newest
    /// one when nothing was written since).
    fn create_checkpoint(
        &self,
    ) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;

    fn latest_checkpoint(
        &self,
    ) -> impl Future<Output = Result<Option<Checkpoint>, StoreError>> + Send;

    /// The key that verifies checkpoint signatures.
    fn public_key(&self) -> VerifyingKey;

    /// Entries after `after`, in order, at most `limit`.
    fn ledger_entries(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;

    /// Every entry about one record, oldest first.
    fn record_history(
        &self,
        kind: String,
        resource: String,
    ) -> impl Future<Output = Result<Vec<Entry>, StoreError>> + Send;

    /// The proof that entry `seq` is in the smallest checkpoint covering it.
    fn inclusion_proof(
        &self,
        seq: u64,
    ) -> impl Future<Output = Result<Option<InclusionProof>, StoreError>> + Send;

    /// The proof that checkpoint `old_size` is a prefix of checkpoint `new_size`.
    fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> impl Future<Output = Result<Option<ConsistencyProof>, StoreError>> + Send;
}

/// An entry, a checkpoint that covers it, and the RFC 6962 audit path between them.
#[derive(Debug, Clone)]
pub struct InclusionProof {
    pub entry: Entry,
    pub checkpoint: Checkpoint,
    pub path: Vec<Hash>,
}

/// Two checkpoints and the RFC 6962 consistency proof between them.
#[derive(Debug, Clone)]
pub struct ConsistencyProof {
    pub old: Checkpoint,
    pub new: Checkpoint,
    pub path: Vec<Hash>,
}

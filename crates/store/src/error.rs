use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A statement id is already stored with different content (Data 2.3.1).
    #[error("statement {0} is already stored with different content; statements are immutable")]
    Conflict(Uuid),
    /// No such credential (or store).
    #[error("{0}")]
    NotFound(String),
    /// A credential request that cannot be granted as asked.
    #[error("{0}")]
    InvalidCredential(String),
    /// A store name that is not allowed.
    #[error(
        "'{0}' is not a valid store name: use 1-40 lowercase letters, digits and '-', starting with a letter"
    )]
    InvalidName(String),
    /// A store name is taken.
    #[error("a store named '{0}' already exists")]
    DuplicateStore(String),
    /// A credential key is taken.
    #[error("a credential with key '{0}' already exists")]
    DuplicateKey(String),
    /// An If-Match / If-None-Match precondition failed (412).
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// A document exists and the write gave no precondition where one is required (409).
    #[error(
        "the document already exists: to replace it, send If-Match with its current ETag (GET it first), or If-None-Match: * to create only"
    )]
    PreconditionRequired,
    /// A POST could not merge (400).
    #[error("{0}")]
    NotMergeable(#[from] xapi::document::MergeError),
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Backend(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// Compliance facts (or, for derived completions, statements) were recorded after the ones
    /// a write was checked against.
    #[error("compliance facts or statements were recorded meanwhile")]
    FactsChanged,
    #[error("the store is shutting down")]
    Closed,
    /// A statement restored with its own `stored` cannot keep it.
    #[error("statement {id} cannot keep its stored time: {reason}")]
    Unrestorable { id: Uuid, reason: String },
}

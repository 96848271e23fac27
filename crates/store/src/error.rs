use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A statement id is already stored with different content (Data 2.3.1).
    #[error("statement {0} is already stored with different content; statements are immutable")]
    Conflict(Uuid),
    /// A credential key is taken.
    #[error("a credential with key '{0}' already exists")]
    DuplicateKey(String),
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
}

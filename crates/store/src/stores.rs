//! Stores (tenants): each has a database of its own — a SQLite file under `stores/<name>/` in the
//! data directory, or a PostgreSQL schema — so no query can reach another store's records. The
//! default store's database also holds the credentials and the list of stores.
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use jiff::Timestamp;
use tokio::sync::Mutex;

use crate::{
    Credential, CredentialChange, CredentialKind, DEFAULT_STORE, NewCredential, PgStore, Scope,
    SqliteStore, Store, StoreError,
};

type Opening<S> = Pin<Box<dyn Future<Output = Result<S, StoreError>> + Send>>;

/// The stores of an installation, opened on first use.
pub struct Stores<S> {
    default: S,
    opened: std::sync::Mutex<HashMap<String, S>>,
    /// Held while a store is being opened, so it is opened once.
    opening: Mutex<()>,
    open: Box<dyn Fn(String) -> Opening<S> + Send + Sync>,
}

/// The PostgreSQL schema of a named store, beside the default store's schema `base`.
pub(crate) fn store_schema(base: &str, name: &str) -> String {
    format!("{base}__{}", name.replace('-', "_"))
}

/// The data directory of a named store under the default store's data directory.
pub fn store_dir(data_dir: &Path, name: &str) -> PathBuf {
    if name == DEFAULT_STORE {
        data_dir.to_path_buf()
    } else {
        data_dir.join("stores").join(name)
    }
}

/// Store names: lowercase letters, digits and `-`, 1 to 40 characters, starting with a letter.
pub fn valid_store_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl<S: Store + Clone> Stores<S> {
    /// The default store: its database holds the credentials and the list of stores.
    pub fn default_store(&self) -> &S {
        &self.default
    }

    /// The store named `name`, if it exists.
    pub async fn get(&self, name: &str) -> Result<Option<S>, StoreError> {
        if name == DEFAULT_STORE {
            return Ok(Some(self.default.clone()));
        }
        if let Some(store) = self.opened_store(name) {
            return Ok(Some(store));
        }
        let _opening = self.opening.lock().await;
        if let Some(store) = self.opened_store(name) {
            return Ok(Some(store));
        }
        if !self
            .default
            .store_entries()
            .await?
            .iter()
            .any(|(n, _)| n == name)
        {
            return Ok(None);
        }
        let store = (self.open)(name.to_string()).await?;
        if let Ok(mut opened) = self.opened.lock() {
            opened.insert(name.to_string(), store.clone());
        }
        Ok(Some(store))
    }

    fn opened_store(&self, name: &str) -> Option<S> {
        self.opened
            .lock()
            .ok()
            .and_then(|opened| opened.get(name).cloned())
    }

    /// X-Experience-API-Consistent-Through that holds for every open store: the earliest of them.
    pub fn consistent_through(&self) -> Timestamp {
        let mut through = self.default.consistent_through();
        if let Ok(opened) = self.opened.lock() {
            for store in opened.values() {
                through = through.min(store.consistent_through());
            }
        }
        through
    }

    /// Creates a store: recorded (and ledgered) in the default store, its database created.
    pub async fn create(&self, principal: &str, name: &str) -> Result<S, StoreError> {
        if !valid_store_name(name) || name == DEFAULT_STORE {
            return Err(StoreError::InvalidName(name.to_string()));
        }
        self.default
            .create_store_entry(principal.to_string(), name.to_string())
            .await?;
        self.get(name).await?.ok_or_else(|| {
            StoreError::Corrupt(format!("store {name} vanished after it was created"))
        })
    }

    /// Every store with its creation time (the default store first).
    pub async fn list(&self) -> Result<Vec<(String, Option<Timestamp>)>, StoreError> {
        let mut all = vec![(DEFAULT_STORE.to_string(), None)];
        all.extend(
            self.default
                .store_entries()
                .await?
                .into_iter()
                .map(|(n, t)| (n, Some(t))),
        );
        Ok(all)
    }
}

impl Stores<SqliteStore> {
    /// The stores under a data directory: the default store in it, the others in `stores/<name>/`.
    pub fn sqlite(data_dir: &Path) -> Result<Stores<SqliteStore>, StoreError> {
        let default = SqliteStore::open(data_dir)?;
        let root = data_dir.to_path_buf();
        Ok(Stores {
            default,
            opened: std::sync::Mutex::new(HashMap::new()),
            opening: Mutex::new(()),
            open: Box::new(move |name| {
                let dir = store_dir(&root, &name);
                Box::pin(async move {
                    tokio::task::spawn_blocking(move || SqliteStore::open(&dir))
                        .await
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?
                })
            }),
        })
    }
}

impl Stores<PgStore> {
    /// The stores in a PostgreSQL database: the default store where `url` points, each other in a
    /// schema of its own named after the default store's schema and the store.
    pub async fn postgres(url: &str) -> Result<Stores<PgStore>, StoreError> {
        let default = PgStore::connect(url).await?;
        let base = default.current_schema().await?;
        let url = url.to_string();
        Ok(Stores {
            default,
            opened: std::sync::Mutex::new(HashMap::new()),
            opening: Mutex::new(()),
            open: Box::new(move |name| {
                let (url, schema) = (url.clone(), store_schema(&base, &name));
                Box::pin(async move { PgStore::connect_schema(&url, &schema).await })
            }),
        })
    }
}

/// What an administrator asks for when issuing a credential.
#[derive(Debug, Clone)]
pub struct CredentialRequest {
    pub name: String,
    pub store: String,
    pub kind: CredentialKind,
    pub scopes: Vec<Scope>,
    pub expires: Option<Timestamp>,
    /// Chosen key (random when `None`).
    pub key: Option<String>,
    /// Chosen secret (random when `None`).
    pub secret: Option<String>,
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

async fn hash(secret: String) -> Result<String, StoreError> {
    tokio::task::spawn_blocking(move || crate::hash_secret(&secret))
        .await
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .map_err(StoreError::Corrupt)
}

impl<S: Store + Clone> Stores<S> {
    /// Issues a credential; returns it with its secret, which is shown only this once.
    pub async fn issue_credential(
        &self,
        principal: &str,
        request: CredentialRequest,
    ) -> Result<(Credential, String), StoreError> {
        let key = request.key.unwrap_or_else(|| random_token(16));
        let secret = request.secret.unwrap_or_else(|| random_token(32));
        let bad = |what: &str| Err(StoreError::InvalidCredential(what.to_string()));
        if key.is_empty()
            || key.len() > 100
            || key.contains(':')
            || !key.chars().all(|c| c.is_ascii_graphic())
        {
            return bad("a key is 1-100 visible ASCII characters without ':'");
        }
        if secret.is_empty() {
            return bad("a secret must not be empty");
        }
        if request.name.trim().is_empty() {
            return bad("a credential needs a name (who or what uses it)");
        }
        let (store, scopes) = match request.kind {
            CredentialKind::Signer => {
                return bad(
                    "signing credentials are enrolled with POST /api/compliance/signers (identity verified by another person)",
                );
            }
            CredentialKind::Admin => (DEFAULT_STORE.to_string(), Vec::new()),
            CredentialKind::Xapi => {
                if request.scopes.is_empty() {
                    return bad("an xAPI credential needs at least one scope");
                }
                if self.get(&request.store).await?.is_none() {
                    return Err(StoreError::NotFound(format!(
                        "no store named '{}'",
                        request.store
                    )));
                }
                (request.store, request.scopes)
            }
        };
        let credential = self
            .default
            .create_credential(
                principal.to_string(),
                NewCredential {
                    key,
                    secret_hash: hash(secret.clone()).await?,
                    name: request.name,
                    store,
                    kind: request.kind,
                    scopes,
                    expires: request.expires,
                },
            )
            .await?;
        Ok((credential, secret))
    }

    /// A new secret for a credential; the old one stops working on the next request.
    pub async fn rotate_credential(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<(Credential, String), StoreError> {
        if self
            .default
            .credential(key.to_string())
            .await?
            .is_some_and(|c| c.kind == CredentialKind::Signer)
        {
            // Whoever knew the new secret could sign as its person (regulated.md C6).
            return Err(StoreError::InvalidCredential(
                "a signing password is set only by its person's enrolment (POST /api/compliance/signers), never by an administrator".into(),
            ));
        }
        let secret = random_token(32);
        let change = CredentialChange::Rotate {
            secret_hash: hash(secret.clone()).await?,
        };
        let credential = self
            .default
            .change_credential(principal.to_string(), key.to_string(), change)
            .await?;
        Ok((credential, secret))
    }

    /// Revokes a credential: refused from the next request on.
    pub async fn revoke_credential(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Credential, StoreError> {
        self.default
            .change_credential(
                principal.to_string(),
                key.to_string(),
                CredentialChange::Revoke,
            )
            .await
    }
}

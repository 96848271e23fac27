//! Credentials: a key, an argon2 hash of the secret, and the name that becomes the authority of
//! the statements sent with it.
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::Timestamp;
use rand::RngCore;
use serde_json::{Value, json};

/// What a credential may do (the xAPI 1.0.3 scopes, Communication 4.2; 2.0 leaves the mechanism
/// to the LRS and Attest keeps these names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    StatementsWrite,
    StatementsRead,
    /// Statements whose authority is this credential, and nothing else.
    StatementsReadMine,
    AllRead,
    All,
    State,
    Define,
    Profile,
}

impl Scope {
    pub const NAMES: [(&'static str, Scope); 8] = [
        ("statements/write", Scope::StatementsWrite),
        ("statements/read", Scope::StatementsRead),
        ("statements/read/mine", Scope::StatementsReadMine),
        ("all/read", Scope::AllRead),
        ("all", Scope::All),
        ("state", Scope::State),
        ("define", Scope::Define),
        ("profile", Scope::Profile),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("", |(n, _)| n)
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
    }
}

/// What kind of client a credential is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A learning tool speaking xAPI to its store.
    Xapi,
    /// An administrator of stores and credentials (`/api/admin`); not an xAPI credential.
    Admin,
    /// A person's electronic-signature password (regulated.md C5): checked when they sign,
    /// never accepted as a request's credentials. Its `name` is the person's id.
    Signer,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Xapi => "xapi",
            CredentialKind::Admin => "admin",
            CredentialKind::Signer => "signer",
        }
    }

    pub fn parse(text: &str) -> Option<CredentialKind> {
        match text {
            "xapi" => Some(CredentialKind::Xapi),
            "admin" => Some(CredentialKind::Admin),
            "signer" => Some(CredentialKind::Signer),
            _ => None,
        }
    }
}

/// The store every database has, named on first start; credentials without a store belong to it.
pub const DEFAULT_STORE: &str = "default";

/// A credential as stored. The secret itself is never kept, only its argon2 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: i64,
    pub key: String,
    pub secret_hash: String,
    pub name: String,
    /// The store (tenant) it reaches; nothing else.
    pub store: String,
    pub kind: CredentialKind,
    pub scopes: Vec<Scope>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    pub revoked: Option<Timestamp>,
}

impl Credential {
    /// The Agent written as `authority` into every statement this credential stores: an account
    /// on this LRS, so the authority names the credential unambiguously (Data 2.4.9).
    pub fn authority(&self, lrs_home_page: &str) -> Value {
        let mut agent = serde_json::Map::new();
        agent.insert("objectType".into(), json!("Agent"));
        agent.insert("name".into(), json!(self.name));
        agent.extend(self.authority_ifi(lrs_home_page).to_json());
        Value::Object(agent)
    }

    /// The identifier of that authority (what `statements/read/mine` matches).
    pub fn authority_ifi(&self, lrs_home_page: &str) -> xapi::agent::Ifi {
        xapi::agent::Ifi::Account {
            home_page: lrs_home_page.to_string(),
            name: self.key.clone(),
        }
    }

    /// The ledger principal of writes made with this credential.
    pub fn principal(&self) -> String {
        format!("credential:{}", self.key)
    }

    /// True when the credential can be used at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked.is_none() && self.expires.is_none_or(|expires| now < expires)
    }

    /// True when any of `scopes` is granted (`all` grants everything).
    pub fn has_any(&self, scopes: &[Scope]) -> bool {
        self.scopes
            .iter()
            .any(|s| *s == Scope::All || scopes.contains(s))
    }

    /// The row as the ledger hashes it.
    pub(crate) fn ledger_content(&self) -> String {
        CredentialRow::from(self).ledger_content()
    }
}

/// A credentials row as text, the way it is stored and hashed.
pub(crate) struct CredentialRow {
    pub key: String,
    pub name: String,
    pub secret_hash: String,
    pub store: String,
    pub kind: String,
    pub scopes: String,
    pub created: String,
    pub expires: Option<String>,
    pub revoked: Option<String>,
}

impl From<&Credential> for CredentialRow {
    fn from(c: &Credential) -> Self {
        CredentialRow {
            key: c.key.clone(),
            name: c.name.clone(),
            secret_hash: c.secret_hash.clone(),
            store: c.store.clone(),
            kind: c.kind.as_str().into(),
            scopes: scopes_text(&c.scopes),
            created: c.created.to_string(),
            expires: c.expires.map(|t| t.to_string()),
            revoked: c.revoked.map(|t| t.to_string()),
        }
    }
}

impl CredentialRow {
    /// JSON with a fixed key order: what the ledger hashes for a credential.
    pub(crate) fn ledger_content(&self) -> String {
        json!({
            "key": self.key, "name": self.name, "secret_hash": self.secret_hash, "store": self.store,
            "kind": self.kind, "scopes": self.scopes, "created": self.created, "expires": self.expires,
            "revoked": self.revoked
        })
        .to_string()
    }

    pub(crate) fn into_credential(self, id: i64) -> Result<Credential, crate::StoreError> {
        let corrupt =
            |what: &str| crate::StoreError::Corrupt(format!("credential {}: {what}", self.key));
        let time = |s: &str| {
            s.parse::<Timestamp>()
                .map_err(|_| corrupt("unreadable time"))
        };
        Ok(Credential {
            id,
            kind: CredentialKind::parse(&self.kind).ok_or_else(|| corrupt("unknown kind"))?,
            scopes: self
                .scopes
                .split_whitespace()
                .map(|s| Scope::parse(s).ok_or_else(|| corrupt("unknown scope")))
                .collect::<Result<_, _>>()?,
            created: time(&self.created)?,
            expires: self.expires.as_deref().map(time).transpose()?,
            revoked: self.revoked.as_deref().map(time).transpose()?,
            key: self.key,
            name: self.name,
            secret_hash: self.secret_hash,
            store: self.store,
        })
    }
}

pub(crate) fn scopes_text(scopes: &[Scope]) -> String {
    let mut names: Vec<&str> = scopes.iter().map(|s| s.name()).collect();
    names.sort();
    names.dedup();
    names.join(" ")
}

/// What it takes to create a credential; `secret_hash` comes from [`hash_secret`].
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub key: String,
    pub secret_hash: String,
    pub name: String,
    pub store: String,
    pub kind: CredentialKind,
    pub scopes: Vec<Scope>,
    pub expires: Option<Timestamp>,
}

impl NewCredential {
    /// An xAPI credential with every scope in the default store.
    pub fn full_access(key: String, secret_hash: String, name: String) -> NewCredential {
        NewCredential {
            key,
            secret_hash,
            name,
            store: DEFAULT_STORE.into(),
            kind: CredentialKind::Xapi,
            scopes: vec![Scope::All],
            expires: None,
        }
    }
}

/// A change to an existing credential.
#[derive(Debug, Clone)]
pub enum CredentialChange {
    /// Refused from the next request on.
    Revoke,
    /// A new secret (its argon2 hash); the old one stops working.
    Rotate { secret_hash: String },
}

/// The argon2id hash (PHC string) of a secret, with a fresh random salt.
pub fn hash_secret(secret: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// True when `secret` matches the stored hash.
pub fn verify_secret(secret: &str, secret_hash: &str) -> bool {
    PasswordHash::new(secret_hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_verify_only_against_their_own_hash() {
        let hash = hash_secret("s3cret").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_secret("s3cret", &hash));
        assert!(!verify_secret("s3cret!", &hash));
        assert!(!verify_secret("s3cret", "not a hash"));
    }
}

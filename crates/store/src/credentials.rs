//! Credentials: a key, an argon2 hash of the secret, and the name that becomes the authority of
//! the statements sent with it.
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::Timestamp;
use rand::RngCore;
use serde_json::{Value, json};

/// A credential as stored. The secret itself is never kept, only its argon2 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: i64,
    pub key: String,
    pub secret_hash: String,
    pub name: String,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
}

impl Credential {
    /// The Agent written as `authority` into every statement this credential stores: an account
    /// on this LRS, so the authority names the credential unambiguously (Data 2.4.9).
    pub fn authority(&self, lrs_home_page: &str) -> Value {
        json!({
            "objectType": "Agent",
            "name": self.name,
            "account": {"homePage": lrs_home_page, "name": self.key}
        })
    }
}

impl Credential {
    /// The content the ledger hashes for this credential (everything but its row id).
    pub fn ledger_content(&self) -> String {
        ledger_content(
            &self.key,
            &self.name,
            &self.secret_hash,
            &self.created.to_string(),
            self.revoked.map(|t| t.to_string()).as_deref(),
        )
    }

    /// The ledger principal of writes made with this credential.
    pub fn principal(&self) -> String {
        format!("credential:{}", self.key)
    }
}

/// A credential row as the ledger hashes it: JSON with a fixed key order.
pub(crate) fn ledger_content(
    key: &str,
    name: &str,
    secret_hash: &str,
    created: &str,
    revoked: Option<&str>,
) -> String {
    json!({"key": key, "name": name, "secret_hash": secret_hash, "created": created, "revoked": revoked}).to_string()
}

/// What it takes to create a credential; `secret_hash` comes from [`hash_secret`].
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub key: String,
    pub secret_hash: String,
    pub name: String,
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

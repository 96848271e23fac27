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

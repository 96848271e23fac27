//! The server's Ed25519 key that signs checkpoints: created on first start, kept in the data
//! directory, readable only by its owner.
use std::io::Write;
use std::path::Path;

use ledger::SigningKey;
use rand::RngCore;

use crate::StoreError;

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "ledger-signing.key";

pub(crate) fn load_or_create(data_dir: &Path) -> Result<SigningKey, StoreError> {
    let path = data_dir.join(KEY_FILE);
    if path.exists() {
        return load(data_dir);
    }
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(hex::encode(seed).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::Corrupt(format!("cannot write {}: {e}", path.display())))?;
    Ok(SigningKey::from_bytes(&seed))
}

pub(crate) fn load(data_dir: &Path) -> Result<SigningKey, StoreError> {
    let path = data_dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        StoreError::Corrupt(format!(
            "cannot read the ledger key {}: {e}",
            path.display()
        ))
    })?;
    let bytes = hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!("{} is not a 32-byte hex key", path.display()))
        })?;
    Ok(SigningKey::from_bytes(&bytes))
}

//! The audit-trail API under `/api/audit` (read-only, except asking for a checkpoint now): the
//! ledger entries, the history of one record, signed checkpoints and the proofs a third party
//! checks against them (docs/ledger.md).
use axum::extract::{Path, RawQuery};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use store::{Checkpoint, Entry, Scope, Store};

use crate::Shared;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::params::Params;

const MAX_ENTRIES: usize = 1_000;

pub fn routes<S: Store>() -> Router<Shared<S>> {
    Router::new()
        .route("/entries", get(entries::<S>))
        .route("/records/{kind}/{id}", get(history::<S>))
        .route("/checkpoints", post(create_checkpoint::<S>))
        .route("/checkpoints/latest", get(latest_checkpoint::<S>))
        .route("/proofs/inclusion/{seq}", get(inclusion::<S>))
        .route("/proofs/consistency", get(consistency::<S>))
        .route("/public-key", get(public_key::<S>))
}

pub fn entry_json(entry: &Entry) -> Value {
    json!({
        "seq": entry.seq,
        "time": entry.time,
        "principal": entry.change.principal,
        "action": entry.change.action,
        "kind": entry.change.kind,
        "resource": entry.change.resource,
        "contentHash": hex::encode(entry.change.content),
        "previousContentHash": entry.change.previous_content.map(hex::encode),
        "prev": hex::encode(entry.prev),
        "hash": hex::encode(entry.hash),
    })
}

pub fn checkpoint_json<S: Store>(store: &S, checkpoint: &Checkpoint) -> Value {
    json!({
        "size": checkpoint.size,
        "root": hex::encode(checkpoint.root),
        "head": hex::encode(checkpoint.head),
        "time": checkpoint.time,
        "signature": hex::encode(checkpoint.signature),
        "publicKey": hex::encode(store.public_key().as_bytes()),
    })
}

fn number(params: &Params, name: &str) -> Result<Option<u64>, ApiError> {
    params
        .get(name)
        .map(|raw| {
            raw.parse::<u64>()
                .map_err(|_| ApiError::invalid_parameter(name, "not a non-negative integer"))
        })
        .transpose()
}

async fn entries<S: Store>(
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read the audit trail")?;
    let params = Params::parse(query.as_deref(), &["after", "limit"])?;
    let after = number(&params, "after")?.unwrap_or(0);
    let limit = number(&params, "limit")?.map_or(100, |l| (l as usize).min(MAX_ENTRIES));
    let entries = auth.store.ledger_entries(after, limit).await?;
    Ok(Json(
        json!({"entries": entries.iter().map(entry_json).collect::<Vec<_>>()}),
    ))
}

async fn history<S: Store>(
    auth: Authenticated<S>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read the audit trail")?;
    // Statement ids are kept lowercase; accept any case, as the xAPI resource does.
    let id = if kind == "statement" {
        id.to_ascii_lowercase()
    } else {
        id
    };
    let entries = auth.store.record_history(kind.clone(), id.clone()).await?;
    if entries.is_empty() {
        return Err(ApiError::not_found(format!(
            "no ledger entries for {kind} {id}"
        )));
    }
    Ok(Json(
        json!({"kind": kind, "resource": id, "entries": entries.iter().map(entry_json).collect::<Vec<_>>()}),
    ))
}

async fn create_checkpoint<S: Store>(auth: Authenticated<S>) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::All], "make a checkpoint")?;
    let checkpoint = auth.store.create_checkpoint().await?;
    let checkpoint = checkpoint
        .ok_or_else(|| ApiError::not_found("the ledger is empty: nothing to checkpoint"))?;
    Ok(Json(checkpoint_json(&auth.store, &checkpoint)))
}

async fn latest_checkpoint<S: Store>(auth: Authenticated<S>) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read the audit trail")?;
    let checkpoint = auth.store.latest_checkpoint().await?;
    let checkpoint =
        checkpoint.ok_or_else(|| ApiError::not_found("no checkpoint has been made yet"))?;
    Ok(Json(checkpoint_json(&auth.store, &checkpoint)))
}

async fn inclusion<S: Store>(
    auth: Authenticated<S>,
    Path(seq): Path<String>,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read the audit trail")?;
    let seq: u64 = seq
        .parse()
        .ok()
        .filter(|&s| s > 0)
        .ok_or_else(|| ApiError::bad_request("the entry number must be a positive integer"))?;
    let proof = auth.store.inclusion_proof(seq).await?;
    let proof = proof.ok_or_else(|| {
        ApiError::not_found(format!("entry {seq} does not exist or no checkpoint covers it yet (POST /api/audit/checkpoints)"))
    })?;
    Ok(Json(json!({
        "entry": entry_json(&proof.entry),
        "leafIndex": proof.entry.seq - 1,
        "checkpoint": checkpoint_json(&auth.store, &proof.checkpoint),
        "auditPath": proof.path.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}

async fn consistency<S: Store>(
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read the audit trail")?;
    let params = Params::parse(query.as_deref(), &["from", "to"])?;
    let (Some(from), Some(to)) = (number(&params, "from")?, number(&params, "to")?) else {
        return Err(ApiError::bad_request(
            "give the checkpoint sizes 'from' and 'to'",
        ));
    };
    if from == 0 || from > to {
        return Err(ApiError::bad_request(
            "'from' must be at least 1 and at most 'to'",
        ));
    }
    let proof = auth.store.consistency_proof(from, to).await?;
    let proof = proof
        .ok_or_else(|| ApiError::not_found(format!("no checkpoints of sizes {from} and {to}")))?;
    Ok(Json(json!({
        "from": checkpoint_json(&auth.store, &proof.old),
        "to": checkpoint_json(&auth.store, &proof.new),
        "proof": proof.path.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}

/// The key that verifies this store's checkpoints (each store has its own ledger and key).
async fn public_key<S: Store>(auth: Authenticated<S>) -> Json<Value> {
    Json(
        json!({"algorithm": "Ed25519", "publicKey": hex::encode(auth.store.public_key().as_bytes())}),
    )
}

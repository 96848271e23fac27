//! The evidence pack of one qualification answer (regulated.md S1, D1): what an auditor asks for
//! when told "she was trained on SOP-123 v7 at 09:12": the answer as known then and as known now,
//! each statement it rests on exactly as stored (signatures included) with its SHA-256, the
//! ledger entries that recorded it and, where a signed checkpoint covers them, the inclusion
//! proof; the trainer's own qualification at the attempt; the gate decisions recorded about it.
//! Every hash can be checked without Attest: SHA-256 of the statement text equals the ledger
//! entry's content hash; the entry is in the checkpoint the store's Ed25519 key signed.
use axum::Json;
use axum::extract::{RawQuery, State};
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::{Scope, Store};
use uuid::Uuid;

use super::{Subject, instants, required, stamp, status_answer, with_engine};
use crate::Shared;
use crate::audit::{checkpoint_json, entry_json};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::params::Params;

/// `GET /evidence?person=P&procedure=X[&at=T][&asKnownAt=K]`.
pub async fn pack<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read evidence")?;
    let params = Params::parse(
        query.as_deref(),
        &["person", "procedure", "at", "asKnownAt"],
    )?;
    let person = required(&params, "person")?;
    let procedure = required(&params, "procedure")?;
    let i = instants(&params)?;
    let (p, subject) = (person.clone(), Subject::Procedure(procedure.clone()));
    let (mut answer, now, trainer_rule) = with_engine(&state, &auth, move |engine| {
        let answer = status_answer(engine, &p, &subject, i.at, i.known);
        let now = status_answer(engine, &p, &subject, i.at, i.now);
        // The procedure a trainer had to be qualified for, under the rule the answer used.
        let trainer_rule = answer["rule"]["id"]
            .as_str()
            .zip(answer["rule"]["version"].as_u64())
            .and_then(|(id, version)| engine.rule_version(id, version as u32))
            .and_then(|r| r.instructor_for.clone());
        (answer, now, trainer_rule)
    })
    .await?;
    answer["asKnownNow"] = now;

    let mut statements = Vec::new();
    let mut trainers = Vec::new();
    let ids: Vec<String> = answer["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|id| id.as_str().map(str::to_string))
        .collect();
    for id in ids {
        let Ok(uuid) = Uuid::parse_str(&id) else {
            continue;
        };
        let (stored, voided) = match auth.store.statement(uuid, false).await? {
            Some(s) => (Some(s), false),
            None => (auth.store.statement(uuid, true).await?, true),
        };
        let Some(stored) = stored else { continue };
        let sha256 = hex::encode(Sha256::digest(stored.json.as_bytes()));
        let mut ledger = Vec::new();
        for entry in auth
            .store
            .record_history("statement".into(), id.clone())
            .await?
        {
            let proof = auth.store.inclusion_proof(entry.seq).await?;
            let mut row = entry_json(&entry);
            row["contentMatchesStatement"] = json!(hex::encode(entry.change.content) == sha256);
            row["inclusion"] = match proof {
                Some(proof) => json!({
                    "leafIndex": proof.entry.seq - 1,
                    "checkpoint": checkpoint_json(&auth.store, &proof.checkpoint),
                    "auditPath": proof.path.iter().map(hex::encode).collect::<Vec<_>>(),
                }),
                None => Value::Null,
            };
            ledger.push(row);
        }
        let json: Value = serde_json::from_str(&stored.json).unwrap_or(Value::Null);
        if let Some(procedure) = &trainer_rule
            // The trainer as the engine reads it (an Agent instructor, or the 2.0 trainer).
            && let Some(ifi) = compliance::Evidence::from_statement(&json, stored.stored, None)
                .and_then(|e| e.instructor)
                .as_deref()
                .and_then(xapi::agent::Ifi::from_key)
        {
            let timestamp = json
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(xapi::rules::parse_timestamp)
                .unwrap_or(stored.stored);
            let (key, procedure, statement) = (ifi.key(), procedure.clone(), id.clone());
            let known = i.known;
            let trainer = with_engine(&state, &auth, move |engine| {
                let person = engine.person_of(&key, known)?.to_string();
                let subject = Subject::Procedure(procedure.clone());
                let mut answer = status_answer(engine, &person, &subject, timestamp, known);
                answer["person"] = json!(person);
                answer["procedure"] = json!(procedure);
                answer["at"] = json!(timestamp.to_string());
                answer["forStatement"] = json!(statement);
                Some(answer)
            })
            .await?;
            trainers.extend(trainer);
        }
        statements.push(json!({
            "id": id,
            "stored": stored.stored.to_string(),
            "voided": voided,
            "sha256": sha256,
            "exact": stored.json,
            "ledger": ledger,
        }));
    }
    let decisions: Vec<Value> = auth
        .store
        .decisions(Some(person.clone()), store::Page::ALL)
        .await?
        .into_iter()
        .filter_map(|d| {
            let body: Value = serde_json::from_str(&d.body).ok()?;
            (body.pointer("/question/procedure").and_then(Value::as_str)
                == Some(procedure.as_str()))
            .then(|| {
                json!({"id": d.id, "recordedAt": d.recorded_at.to_string(), "recordedBy": d.principal,
                       "decision": body})
            })
        })
        .collect();
    let mut pack = json!({
        "person": person,
        "procedure": procedure,
        "answer": answer,
        "statements": statements,
        "trainers": trainers,
        "decisions": decisions,
        "publicKey": hex::encode(auth.store.public_key().as_bytes()),
        "generatedAt": Timestamp::now().to_string(),
    });
    stamp(&mut pack, &i);
    Ok(Json(pack))
}

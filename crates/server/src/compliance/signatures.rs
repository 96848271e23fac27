//! Electronic signatures (regulated.md C1–C7, 21 CFR Part 11 §11.50–11.300): people enrolled with
//! a signing password sign training records and procedure versions; each signature is an xAPI
//! statement the server writes (verb [`compliance::SIGNED`], refused from clients), so it is
//! immutable, in the ledger in the same transaction, and part of every export.
//!
//! - Enrolment (C4): `POST /signers` needs another person who verified the signer's identity and
//!   a reference to the evidence; both are recorded as a `signer` fact, with the reason.
//! - Signing (C5): every signature re-authenticates with both components, the person's id and
//!   their signing password (there are no signing sessions, so no signature uses fewer).
//! - Lock-out (C7): five wrong passwords in a row revoke the signing credential (ledgered);
//!   the person signs again only after a new enrolment.
//! - Manifestation (C1): the printed name at signing, the server time and the meaning are in the
//!   signature and in every answer that relies on it; linking (C2): the SHA-256 of the signed
//!   record as stored, checked again by `GET /signatures`.
use std::collections::HashMap;
use std::sync::Mutex;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use compliance::{Fact, Meaning, SignedBy};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use store::{Accepted, Credential, CredentialChange, CredentialKind, NewCredential, Scope, Store};
use uuid::Uuid;

use super::derive::Deriver;
use super::{answers, record};
use crate::Shared;
use crate::auth::Authenticated;
use crate::body::json_body_as;
use crate::error::ApiError;
use crate::params::Params;

/// Wrong passwords in a row after which a signing credential is revoked (regulated.md C7).
pub const MAX_FAILURES: u32 = 5;

/// The shortest signing password accepted (regulated.md C7: password controls).
const MIN_PASSWORD: usize = 12;

/// The ledger principal of a lock-out.
const PRINCIPAL: &str = "attest:signatures";

/// Signing attempts per signing credential, on this node: wrong passwords in a row, and attempts
/// being checked now. An attempt takes its slot before its password is checked, so parallel
/// guesses cannot get past the lock-out: at most [`MAX_FAILURES`] are ever checked. Keyed by the
/// credential, so a new enrolment (a new credential) starts from nothing, whatever attempts on
/// the old one are still under way.
#[derive(Default)]
pub struct Failures(Mutex<HashMap<String, Attempts>>);

#[derive(Default)]
struct Attempts {
    failures: u32,
    in_flight: u32,
}

/// One attempt's slot: ended by [`Attempt::finish`], or as a wrong password when dropped
/// unfinished (a request cancelled while its password was checked).
struct Attempt<'a> {
    failures: &'a Failures,
    key: String,
    finished: bool,
}

impl Failures {
    /// Takes a slot for one attempt; `None` when the failures and the attempts under way already
    /// use up the allowance.
    fn begin(&self, key: &str) -> Option<Attempt<'_>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let a = map.entry(key.to_string()).or_default();
        if a.failures + a.in_flight >= MAX_FAILURES {
            return None;
        }
        a.in_flight += 1;
        Some(Attempt {
            failures: self,
            key: key.to_string(),
            finished: false,
        })
    }

    fn end(&self, key: &str, right: bool) -> u32 {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let a = map.entry(key.to_string()).or_default();
        a.in_flight = a.in_flight.saturating_sub(1);
        if right {
            a.failures = 0;
        } else {
            a.failures += 1;
        }
        a.failures
    }
}

impl Attempt<'_> {
    /// Ends the attempt; returns the wrong passwords in a row now.
    fn finish(mut self, right: bool) -> u32 {
        self.finished = true;
        self.failures.end(&self.key, right)
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.failures.end(&self.key, false);
        }
    }
}

/// Signatures being written on this node, by (store, signer, record, meaning): a second identical
/// request waits for none of them and is refused (409), rather than both being written.
#[derive(Default)]
pub struct InProgress(Mutex<std::collections::HashSet<String>>);

/// Holds a signature's place in [`InProgress`] until it is written (or fails).
struct Writing<'a> {
    set: &'a InProgress,
    key: String,
}

impl InProgress {
    fn begin(&self, key: String) -> Option<Writing<'_>> {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // `then`, not `then_some`: a guard made for a key already held would be dropped at once,
        // locking the set again (a deadlock) and removing the other request's key.
        set.insert(key.clone()).then(|| Writing { set: self, key })
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let mut set = self.set.0.lock().unwrap_or_else(|e| e.into_inner());
        set.remove(&self.key);
    }
}

/// A signing password has at least [`MIN_PASSWORD`] characters (regulated.md C7).
fn long_enough(field: &str, password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::bad_request(format!(
            "{field}: a signing password has at least {MIN_PASSWORD} characters"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Enrolment {
    person: String,
    password: String,
    verified_by: String,
    identity_evidence: String,
    reason: String,
    /// Days until the password must be renewed by a new enrolment (regulated.md C7 aging).
    expires_days: Option<u32>,
}

/// `POST /signers`: enrols a person to sign, with a signing password (a new enrolment replaces
/// the earlier password, and unlocks a locked-out signer).
pub async fn enrol<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::All], "enrol signers")?;
    Params::parse(query.as_deref(), &[])?;
    let e: Enrolment = json_body_as(&body)?;
    long_enough("password", &e.password)?;
    if e.reason.trim().is_empty() {
        return Err(ApiError::bad_request(
            "reason: every change of GMP-relevant data needs a reason (Annex 11 §9)",
        ));
    }
    let fact_json = json!({
        "kind": "signer", "person": e.person, "verified_by": e.verified_by,
        "identity_evidence": e.identity_evidence,
    });
    let fact = Fact::parse(&fact_json).map_err(|err| ApiError::bad_request(err.to_string()))?;
    let expires = e
        .expires_days
        .map(|days| {
            Timestamp::now().checked_add(jiff::SignedDuration::from_hours(24 * i64::from(days)))
        })
        .transpose()
        .map_err(|_| ApiError::bad_request("expiresDays: too far in the future"))?;
    let (person, verifier) = (e.person.clone(), e.verified_by.clone());
    let known = super::with_engine(&state, &auth, move |engine| {
        let now = Timestamp::now();
        (
            engine.person(&person, now).map(|p| p.name.is_some()),
            !engine.identifiers_of(&person, now).is_empty(),
            engine.knows(&verifier, now),
        )
    })
    .await?;
    match known {
        (None, _, _) => return Err(ApiError::not_found(format!("no person '{}'", e.person))),
        (Some(false), _, _) => {
            return Err(ApiError::bad_request(format!(
                "person '{}' has no name on record: a signature shows the signer's printed name (Part 11 §11.50)",
                e.person
            )));
        }
        (_, false, _) => {
            return Err(ApiError::bad_request(format!(
                "person '{}' has no xAPI identifier to sign as",
                e.person
            )));
        }
        (_, _, false) => {
            return Err(ApiError::not_found(format!(
                "verifiedBy: no person '{}'",
                e.verified_by
            )));
        }
        _ => {}
    }
    // Everything that can fail is checked before the first write: the enrolment is three
    // writes (the fact, revoking the old password, the new one), not one transaction.
    let password = e.password.clone();
    let secret_hash = tokio::task::spawn_blocking(move || store::hash_secret(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    record(&state, &auth, vec![(fact, fact_json)], &e.reason)
        .await
        .map_err(|r| r.into_api(|_| "signer".into()))?;
    let store = &auth.credential.store;
    let default = state.stores.default_store();
    for old in active_signing(&state, store, &e.person).await? {
        default
            .change_credential(
                auth.credential.principal(),
                old.key,
                CredentialChange::Revoke,
            )
            .await?;
    }
    let credential = default
        .create_credential(
            auth.credential.principal(),
            NewCredential {
                // Temporary: whoever enrolled knows it; it signs nothing until its owner changes
                // it (regulated.md C6).
                key: signing_key(TEMPORARY, store, &e.person),
                secret_hash,
                name: e.person.clone(),
                store: store.clone(),
                kind: CredentialKind::Signer,
                scopes: Vec::new(),
                expires,
            },
        )
        .await?;
    // Two enrolments at once: the newest stands (each revokes only older passwords).
    for other in active_signing(&state, store, &e.person).await? {
        if other.key != credential.key && other.created <= credential.created {
            default
                .change_credential(
                    auth.credential.principal(),
                    other.key,
                    CredentialChange::Revoke,
                )
                .await?;
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "person": e.person,
            "verifiedBy": e.verified_by,
            "enrolledAt": credential.created.to_string(),
            "expires": answers::time(credential.expires),
        })),
    )
        .into_response())
}

/// The key prefix of a signing credential set at enrolment, which must be changed before it
/// signs, and of one its owner set.
const TEMPORARY: &str = "signtmp";
const OWN: &str = "sign";

fn signing_key(kind: &str, store: &str, person: &str) -> String {
    format!("{kind}:{store}:{person}:{}", Uuid::new_v4().simple())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PasswordChange {
    password: String,
    new_password: String,
}

/// `POST /signers/{person}/password` with `{"password", "newPassword"}`: the signer replaces
/// their password (the temporary one of an enrolment, or their own). The current password is
/// checked like a signature's, lock-out included.
pub async fn change_password<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    axum::extract::Path(person): axum::extract::Path<String>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::StatementsWrite], "change a signing password")?;
    Params::parse(query.as_deref(), &[])?;
    let c: PasswordChange = json_body_as(&body)?;
    long_enough("newPassword", &c.new_password)?;
    if c.new_password == c.password {
        return Err(ApiError::bad_request(
            "newPassword: a new password differs from the current one",
        ));
    }
    let store = &auth.credential.store;
    // Only through the signer's own credential (one whose authority is recorded as their
    // person_identifier): whoever enrolled them knows the temporary password, and must not be
    // able to replace it with one of their own (regulated.md C6).
    let sender = auth
        .credential
        .authority_ifi(&state.config.authority_home_page)
        .key();
    let owner = super::with_engine(&state, &auth, move |engine| {
        engine
            .person_of(&sender, Timestamp::now())
            .map(str::to_string)
    })
    .await?;
    if owner.as_deref() != Some(person.as_str()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "'{person}' changes their signing password with their own credential (one whose authority is recorded as their person_identifier; regulated.md C6)"
            ),
        ));
    }
    let old = authenticate(&state, store, &person, &c.password, true).await?;
    let new_password = c.new_password.clone();
    let secret_hash = tokio::task::spawn_blocking(move || store::hash_secret(&new_password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let default = state.stores.default_store();
    let credential = default
        .create_credential(
            auth.credential.principal(),
            NewCredential {
                key: signing_key(OWN, store, &person),
                secret_hash,
                name: person.clone(),
                store: store.clone(),
                kind: CredentialKind::Signer,
                scopes: Vec::new(),
                expires: old.expires,
            },
        )
        .await?;
    default
        .change_credential(
            auth.credential.principal(),
            old.key,
            CredentialChange::Revoke,
        )
        .await?;
    // A re-enrolment while the password was changed (meant to shut the old password out) wins:
    // the new password goes too.
    if active_signing(&state, store, &person)
        .await?
        .iter()
        .any(|c| c.key != credential.key)
    {
        default
            .change_credential(
                auth.credential.principal(),
                credential.key.clone(),
                CredentialChange::Revoke,
            )
            .await?;
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("'{person}' was enrolled again meanwhile: the new password is not kept"),
        ));
    }
    Ok((
        StatusCode::OK,
        Json(json!({
            "person": person,
            "changedAt": credential.created.to_string(),
            "expires": answers::time(credential.expires),
        })),
    )
        .into_response())
}

/// The person's signing credentials in `store` that are not revoked (expired ones included).
async fn active_signing<S: Store>(
    state: &Shared<S>,
    store: &str,
    person: &str,
) -> Result<Vec<Credential>, ApiError> {
    Ok(state
        .stores
        .default_store()
        .credentials(Some(store.to_string()))
        .await?
        .into_iter()
        .filter(|c| c.kind == CredentialKind::Signer && c.name == person && c.revoked.is_none())
        .collect())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Signing {
    signer: String,
    password: String,
    meaning: String,
    /// A training statement (READ_AND_UNDERSTOOD, TRAINER_VERIFIED_PERFORMANCE, QA_APPROVED,
    /// WAIVER_APPROVED)…
    statement: Option<Uuid>,
    /// …or a procedure version (APPROVED, NO_TRAINING_REQUIRED).
    procedure: Option<String>,
    version: Option<String>,
    comment: Option<String>,
}

/// What is signed, as checked against the store and the engine.
struct Record {
    /// The signed training statement, for a signature on one.
    statement: Option<Uuid>,
    /// The activity of the signature statement: the version trained on, or the version signed.
    activity: String,
    sha256: String,
    /// The learner, for a signature on training: their completions change.
    learner_ifi: Option<String>,
    describe: Value,
}

/// `POST /signatures`: the signer re-authenticates and signs one record.
pub async fn sign<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::StatementsWrite], "sign records")?;
    Params::parse(query.as_deref(), &[])?;
    let s: Signing = json_body_as(&body)?;
    let meaning = Meaning::parse(&s.meaning).ok_or_else(|| {
        let names: Vec<&str> = Meaning::ALL.iter().map(|m| m.name()).collect();
        ApiError::bad_request(format!(
            "meaning: '{}' is not one of {}",
            s.meaning,
            names.join(", ")
        ))
    })?;
    if s.comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(ApiError::bad_request("comment: at most 2000 characters"));
    }
    match (
        meaning.signs_training(),
        s.statement,
        &s.procedure,
        &s.version,
    ) {
        (true, Some(_), None, None) | (false, None, Some(_), Some(_)) => {}
        (true, _, _, _) => {
            return Err(ApiError::bad_request(format!(
                "{} signs a training statement: give statement (and not procedure or version)",
                meaning.name()
            )));
        }
        (false, _, _, _) => {
            return Err(ApiError::bad_request(format!(
                "{} signs a procedure version: give procedure and version (and not statement)",
                meaning.name()
            )));
        }
    }
    authenticate(
        &state,
        &auth.credential.store,
        &s.signer,
        &s.password,
        false,
    )
    .await?;

    let record = match s.statement {
        Some(id) => training_record(&state, &auth, id, meaning, &s.signer).await?,
        None => {
            let (procedure, version) = (
                s.procedure.clone().unwrap_or_default(),
                s.version.clone().unwrap_or_default(),
            );
            version_record(&state, &auth, procedure, version, meaning).await?
        }
    };
    let writing = state.signatures_in_progress.begin(format!(
        "{}\n{}\n{}\n{}",
        auth.credential.store,
        s.signer,
        record
            .statement
            .map_or(record.activity.clone(), |id| id.to_string()),
        meaning.name()
    ));
    let Some(_writing) = writing else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "{} is signing this record as {} in another request",
                s.signer,
                meaning.name()
            ),
        ));
    };
    let signer = s.signer.clone();
    let (printed_name, ifi, already, time_zone, holds_role) = {
        let (statement, activity) = (record.statement, record.activity.clone());
        super::with_engine(&state, &auth, move |engine| {
            let now = Timestamp::now();
            let name = engine.person(&signer, now).and_then(|p| p.name.clone());
            let ifi = engine
                .identifiers_of(&signer, now)
                .first()
                .map(|s| s.to_string());
            let on = statement.map_or(activity, |id| id.to_string());
            let already = engine
                .signatures_on(&on, now)
                .iter()
                .any(|x| x.person == signer && x.meaning == meaning);
            // The time zone of the signer's site, to show the signing time as read there.
            let time_zone = engine
                .sites_of(&signer, now, now)
                .iter()
                .find_map(|site| engine.site(site, now)?.time_zone.clone());
            let holds_role = meaning
                .role()
                .is_some_and(|role| engine.holds(&signer, role, now, now));
            (name, ifi, already, time_zone, holds_role)
        })
        .await?
    };
    let printed_name = printed_name.ok_or_else(|| {
        ApiError::bad_request(format!(
            "person '{}' has no name on record to show with the signature",
            s.signer
        ))
    })?;
    let agent = ifi
        .as_deref()
        .and_then(xapi::agent::Ifi::from_key)
        .ok_or_else(|| {
            ApiError::bad_request(format!("person '{}' has no xAPI identifier", s.signer))
        })?;
    if let Some(role) = meaning.role()
        && !holds_role
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} is signed by a person holding the {} role; '{}' does not (regulated.md B2)",
                meaning.name(),
                role.name(),
                s.signer
            ),
        ));
    }
    if already {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "{} has already signed this record as {}",
                s.signer,
                meaning.name()
            ),
        ));
    }

    let now = Timestamp::now();
    let local = time_zone
        .and_then(|tz| jiff::tz::TimeZone::get(&tz).ok())
        .map(|tz| now.to_zoned(tz).to_string());
    let mut actor = serde_json::Map::new();
    actor.insert("objectType".into(), json!("Agent"));
    actor.insert("name".into(), json!(printed_name));
    actor.extend(agent.to_json());
    let mut manifest = json!({
        "meaning": meaning.name(),
        "meaningText": meaning.text(),
        "person": s.signer,
        "printedName": printed_name,
        "recordSha256": record.sha256,
        "authMethod": "password",
        "record": record.describe,
    });
    if let Some(comment) = &s.comment {
        manifest["comment"] = json!(comment);
    }
    if let Some(local) = &local {
        manifest["signedAtLocal"] = json!(local);
    }
    let mut statement = json!({
        "id": Uuid::new_v4().to_string(),
        "actor": actor,
        "verb": {"id": compliance::SIGNED, "display": {"en-US": "signed"}},
        "object": {"objectType": "Activity", "id": record.activity},
        "result": {"extensions": {compliance::SIGNATURE_EXTENSION: manifest}},
        "timestamp": now.to_string(),
    });
    if let Some(id) = record.statement {
        statement["context"] =
            json!({"statement": {"objectType": "StatementRef", "id": id.to_string()}});
    }
    let authority = auth.credential.authority(&state.config.authority_home_page);
    let accepted = xapi::statement::accept(statement, xapi::Version::V1_0_3, &authority)
        .map_err(ApiError::internal)?;
    let id = accepted.id;
    let mut touched = Deriver::touched(std::slice::from_ref(&accepted));
    touched.add_agents(record.learner_ifi.clone());
    auth.store
        .insert_statements(auth.credential.principal(), vec![accepted], Vec::new())
        .await?;
    state.deriver.stored(&auth.credential.store, touched);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id.to_string(),
            "signer": s.signer,
            "printedName": printed_name,
            "signedAt": now.to_string(),
            "signedAtLocal": local,
            "meaning": meaning.name(),
            "meaningText": meaning.text(),
            "record": record.describe,
            "recordSha256": record.sha256,
            "authMethod": "password",
        })),
    )
        .into_response())
}

/// Both identification components, every time (regulated.md C5); a fifth wrong password in a
/// row revokes the signing credential (C7).
async fn authenticate<S: Store>(
    state: &Shared<S>,
    store: &str,
    person: &str,
    password: &str,
    temporary_allowed: bool,
) -> Result<Credential, ApiError> {
    let refused = |m: String| ApiError::new(StatusCode::UNAUTHORIZED, "signature_refused", m);
    let Some(credential) = active_signing(state, store, person).await?.pop() else {
        return Err(refused(format!(
            "'{person}' may not sign: not enrolled, or the enrolment was revoked (a new enrolment is needed)"
        )));
    };
    if !credential.is_active(Timestamp::now()) {
        return Err(refused(format!(
            "the signing password of '{person}' has expired: a new enrolment is needed"
        )));
    }
    let Some(attempt) = state.signing_failures.begin(&credential.key) else {
        return Err(refused(format!(
            "'{person}' may not sign now: {MAX_FAILURES} wrong passwords in a row, or as many attempts under way (a new enrolment unlocks)"
        )));
    };
    let (secret, hash) = (password.to_string(), credential.secret_hash.clone());
    // An error or a cancelled request ends the attempt as a wrong password (the slot's Drop).
    let right = tokio::task::spawn_blocking(move || store::verify_secret(&secret, &hash))
        .await
        .map_err(ApiError::internal)?;
    let failures = attempt.finish(right);
    if right {
        // Revoked (a lock-out, a new enrolment) while the password was checked: refused.
        let still = active_signing(state, store, person)
            .await?
            .iter()
            .any(|c| c.key == credential.key && c.is_active(Timestamp::now()));
        if !still {
            return Err(refused(format!(
                "the signing password of '{person}' was revoked while it was checked"
            )));
        }
        if !temporary_allowed && credential.key.starts_with(&format!("{TEMPORARY}:")) {
            return Err(refused(format!(
                "the password '{person}' was enrolled with is temporary: '{person}' changes it first (POST /api/compliance/signers/{person}/password), so that no one else knows it (regulated.md C6)"
            )));
        }
        return Ok(credential);
    }
    tracing::warn!(
        store,
        person,
        failures,
        "security event: wrong signing password"
    );
    if failures >= MAX_FAILURES {
        state
            .stores
            .default_store()
            .change_credential(PRINCIPAL.into(), credential.key, CredentialChange::Revoke)
            .await?;
        tracing::warn!(
            store,
            person,
            "security event: signing locked after {MAX_FAILURES} wrong passwords"
        );
        return Err(refused(format!(
            "wrong password; '{person}' is locked out of signing after {MAX_FAILURES} wrong passwords in a row (a new enrolment is needed)"
        )));
    }
    Err(refused(format!(
        "wrong password ({failures} of {MAX_FAILURES} before signing is locked)"
    )))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A training statement to sign: stored, not voided, about a procedure version, and signed by
/// whom the meaning allows (regulated.md B2 (4): no one approves or verifies their own training;
/// only the learner reads and understands).
async fn training_record<S: Store>(
    state: &Shared<S>,
    auth: &Authenticated<S>,
    id: Uuid,
    meaning: Meaning,
    signer: &str,
) -> Result<Record, ApiError> {
    let Some(stored) = auth.store.statement(id, false).await? else {
        return Err(match auth.store.statement(id, true).await? {
            Some(_) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("statement {id} is voided: a voided record cannot be signed"),
            ),
            None => ApiError::not_found(format!("no statement {id}")),
        });
    };
    let json: Value = serde_json::from_str(&stored.json).map_err(ApiError::internal)?;
    let verb = json.pointer("/verb/id").and_then(Value::as_str);
    if verb == Some(compliance::SIGNED) {
        return Err(ApiError::bad_request(format!(
            "statement {id} is itself a signature"
        )));
    }
    if meaning == Meaning::WaiverApproved && verb != Some(compliance::WAIVED) {
        return Err(ApiError::bad_request(format!(
            "WAIVER_APPROVED signs a waiver: statement {id} is not a cmi5 waived statement"
        )));
    }
    let activity = json
        .get("object")
        .filter(|o| {
            o.get("objectType")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "Activity")
        })
        .and_then(|o| o.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request(format!("statement {id} is not about an Activity")))?;
    let learner_ifi = json
        .get("actor")
        .and_then(xapi::agent::Ifi::of)
        .map(|i| i.key());
    let (iri, ifi, signer_owned) = (activity.clone(), learner_ifi.clone(), signer.to_string());
    let (version, learner) = super::with_engine(state, auth, move |engine| {
        let now = Timestamp::now();
        (
            engine
                .version_of(&iri, now)
                .map(|(p, v)| (p.id.clone(), v.version.clone())),
            ifi.and_then(|i| engine.person_of(&i, now).map(str::to_string)),
        )
    })
    .await?;
    let Some((procedure, version)) = version else {
        return Err(ApiError::bad_request(format!(
            "statement {id} is not training on a procedure version ({activity} is no version's activity)"
        )));
    };
    let learner = learner.ok_or_else(|| {
        ApiError::bad_request(format!("statement {id}: its actor is no known person"))
    })?;
    let own = learner == signer_owned;
    match meaning {
        Meaning::ReadAndUnderstood if !own => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "only the learner ('{learner}') signs READ_AND_UNDERSTOOD for their own training"
                ),
            ));
        }
        Meaning::TrainerVerifiedPerformance | Meaning::QaApproved | Meaning::WaiverApproved
            if own =>
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "{} is signed by someone other than the learner (no self-approval, regulated.md B2)",
                    meaning.name()
                ),
            ));
        }
        _ => {}
    }
    Ok(Record {
        statement: Some(id),
        sha256: sha256_hex(stored.json.as_bytes()),
        learner_ifi,
        describe: json!({"statement": id.to_string(), "learner": learner, "procedure": procedure, "version": version}),
        activity,
    })
}

/// The content a procedure version's signature covers: the version as recorded.
fn version_content(procedure: &str, v: &compliance::ProcedureVersion) -> String {
    json!({
        "procedure": procedure, "version": v.version, "activityIri": v.activity_iri,
        "effectiveFrom": v.effective_from.to_string(),
        "approvedAt": v.approved_at.map(|t| t.to_string()),
        "impact": match v.impact {
            compliance::TrainingImpact::Full => "FULL",
            compliance::TrainingImpact::Delta => "DELTA",
            compliance::TrainingImpact::None => "NONE",
        },
        "rule": v.rule,
    })
    .to_string()
}

/// A procedure version to sign (regulated.md S3: the change-control approver's decision that an
/// editorial revision needs no training).
async fn version_record<S: Store>(
    state: &Shared<S>,
    auth: &Authenticated<S>,
    procedure: String,
    version: String,
    meaning: Meaning,
) -> Result<Record, ApiError> {
    let (p, v) = (procedure.clone(), version.clone());
    let found = super::with_engine(state, auth, move |engine| {
        engine
            .procedure_version(&p, &v, Timestamp::now())
            .map(|found| {
                (
                    found.activity_iri.clone(),
                    found.impact,
                    version_content(&p, found),
                )
            })
    })
    .await?;
    let Some((activity, impact, content)) = found else {
        return Err(ApiError::not_found(format!(
            "no version '{version}' of procedure '{procedure}'"
        )));
    };
    if meaning == Meaning::NoTrainingRequired && impact != compliance::TrainingImpact::None {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "version '{version}' of '{procedure}' has training impact FULL or DELTA: its training is required"
            ),
        ));
    }
    Ok(Record {
        statement: None,
        activity,
        sha256: sha256_hex(content.as_bytes()),
        learner_ifi: None,
        describe: json!({"procedure": procedure, "version": version}),
    })
}

/// `GET /signatures?statement=ID` or `?procedure=P&version=V`: the signatures on a record as known
/// at `asKnownAt` (default now), each checked against the record as it is stored now.
pub async fn list<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read signatures")?;
    let params = Params::parse(
        query.as_deref(),
        &["statement", "procedure", "version", "asKnownAt"],
    )?;
    let known = match params.get("asKnownAt") {
        Some(k) => k.parse::<Timestamp>().map_err(|_| {
            ApiError::invalid_parameter("asKnownAt", "is not an RFC 3339 timestamp")
        })?,
        None => Timestamp::now(),
    };
    let statement = params
        .get("statement")
        .map(|s| {
            Uuid::parse_str(s)
                .map_err(|_| ApiError::invalid_parameter("statement", "is not a UUID"))
        })
        .transpose()?;
    let version = match (statement, params.get("procedure"), params.get("version")) {
        (Some(_), None, None) => None,
        (None, Some(p), Some(v)) => Some((p.to_string(), v.to_string())),
        _ => {
            return Err(ApiError::bad_request(
                "give statement, or procedure and version",
            ));
        }
    };
    let (signatures, current) = super::with_engine(&state, &auth, move |engine| {
        let now = Timestamp::now();
        match &version {
            None => {
                let id = statement.map(|s| s.to_string()).unwrap_or_default();
                (engine.signatures_on(&id, known), None)
            }
            Some((p, v)) => match engine.procedure_version(p, v, now) {
                Some(found) => (
                    engine.signatures_on(&found.activity_iri, known),
                    Some(sha256_hex(version_content(p, found).as_bytes())),
                ),
                None => (Vec::new(), None),
            },
        }
    })
    .await?;
    // The record as it stands now: intact, changed, or (a statement) voided since it was signed.
    let current = match statement {
        Some(id) => match auth.store.statement(id, false).await? {
            Some(s) => Some((sha256_hex(s.json.as_bytes()), false)),
            None => auth
                .store
                .statement(id, true)
                .await?
                .map(|s| (sha256_hex(s.json.as_bytes()), true)),
        },
        None => current.map(|hash| (hash, false)),
    };
    let rows: Vec<Value> = signatures
        .iter()
        .map(|s: &SignedBy| {
            let record = match &current {
                None => "RECORD_MISSING",
                Some((hash, _)) if *hash != s.record_sha256 => "RECORD_CHANGED",
                Some((_, true)) => "SIGNED_RECORD_VOIDED",
                Some(_) => "INTACT",
            };
            let mut row = serde_json::to_value(answers::signed(s)).unwrap_or(Value::Null);
            row["record"] = json!(record);
            row
        })
        .collect();
    Ok(Json(
        json!({"asKnownAt": known.to_string(), "signatures": rows}),
    ))
}

/// Signatures are written by the signing service only: a client may not send a statement with
/// the signature verb (regulated.md C2, C6). Voids of signatures are refused where void targets
/// are read ([`super::check_statements`]).
pub fn refuse_signature_verb(statements: &[Accepted]) -> Result<(), ApiError> {
    match statements.iter().find(|a| is_signature(&a.statement)) {
        Some(a) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "statement {}: the verb {} is written only by the signing service (POST /api/compliance/signatures)",
                a.id,
                compliance::SIGNED
            ),
        )),
        None => Ok(()),
    }
}

/// Whether a statement is an electronic signature.
pub fn is_signature(statement: &Value) -> bool {
    statement.pointer("/verb/id").and_then(Value::as_str) == Some(compliance::SIGNED)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second signature of the same record is refused while the first is written, without
    /// touching the first's place (a guard made and dropped for it would deadlock).
    #[test]
    fn one_signature_in_progress_per_key() {
        let set = InProgress::default();
        let first = set.begin("k".into()).expect("free");
        assert!(set.begin("k".into()).is_none(), "taken");
        assert!(set.begin("k".into()).is_none(), "still taken");
        let other = set.begin("other".into()).expect("another key");
        drop(first);
        assert!(set.begin("k".into()).is_some(), "free again");
        drop(other);
    }

    /// Attempts: at most five checked at once or in a row; a dropped attempt counts as wrong.
    #[test]
    fn attempts_take_slots_and_a_dropped_one_counts_as_wrong() {
        let f = Failures::default();
        let slots: Vec<_> = (0..MAX_FAILURES)
            .map(|_| f.begin("c").expect("a slot"))
            .collect();
        assert!(f.begin("c").is_none(), "five under way");
        drop(slots);
        assert!(f.begin("c").is_none(), "five dropped: five wrong");
        assert!(
            f.begin("new-enrolment").is_some(),
            "another credential counts apart"
        );
        let g = Failures::default();
        let a = g.begin("c").expect("slot");
        assert_eq!(a.finish(false), 1);
        let b = g.begin("c").expect("slot");
        assert_eq!(b.finish(true), 0, "a right password starts again");
    }
}

//! The training-compliance API under `/api/compliance` (docs/compliance.md,
//! docs/openapi-compliance.yaml): master-data facts from HR and QMS feeds (JSON or CSV), and, at
//! any instant as known at any instant, the qualification of a person with the evidence it rests
//! on, their assignments, and plant-wide gap, overdue and expiry reports.
use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use compliance::{Engine, Fact, Filter};
use jiff::Timestamp;
use serde_json::{Value, json};
use store::{Scope, Store};

use crate::Shared;
use crate::auth::Authenticated;
use crate::body::json_body;
use crate::error::ApiError;
use crate::params::Params;

mod answers;
pub mod cache;
mod csv_import;
pub mod derive;
mod evidence_pack;
pub mod signatures;

pub fn routes<S: Store>() -> Router<Shared<S>> {
    Router::new()
        .route("/facts", get(list_facts::<S>).post(post_facts::<S>))
        .route("/import/{kind}", post(import::<S>))
        .route("/status", get(status::<S>))
        .route("/assignments", get(assignments::<S>))
        .route("/completions", get(completions::<S>))
        .route("/decisions", get(decisions::<S>).post(decide::<S>))
        .route("/reports/gaps", get(gaps::<S>))
        .route("/reports/overdue", get(overdue::<S>))
        .route("/reports/assignments", get(assignments_report::<S>))
        .route("/reports/expiring", get(expiring::<S>))
        .route("/quality-events/{id}", get(quality_event::<S>))
        .route("/signers", post(signatures::enrol::<S>))
        .route(
            "/signers/{person}/password",
            post(signatures::change_password::<S>),
        )
        .route("/evidence", get(evidence_pack::pack::<S>))
        .route(
            "/signatures",
            get(signatures::list::<S>).post(signatures::sign::<S>),
        )
}

/// `POST /facts` with `{"reason": …, "fact": {…}}` or `{"reason": …, "facts": [{…}, …]}`.
async fn post_facts<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::All], "record compliance facts")?;
    Params::parse(query.as_deref(), &[])?;
    let body = json_body(&body)?;
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "reason: every change of GMP-relevant data needs a reason (Annex 11 §9)",
            )
        })?;
    if let Some(extra) = body.as_object().and_then(|o| {
        o.keys()
            .find(|k| !["reason", "fact", "facts"].contains(&k.as_str()))
    }) {
        return Err(ApiError::bad_request(format!("unknown property '{extra}'")));
    }
    let (list, single) = match (body.get("fact"), body.get("facts")) {
        (Some(fact), None) => (vec![fact.clone()], true),
        (None, Some(Value::Array(facts))) if !facts.is_empty() => (facts.clone(), false),
        _ => {
            return Err(ApiError::bad_request(
                "give either fact (one object) or facts (a non-empty array)",
            ));
        }
    };
    let mut parsed = Vec::with_capacity(list.len());
    for (i, json) in list.into_iter().enumerate() {
        let name = || {
            if single {
                "fact".to_string()
            } else {
                format!("facts[{i}]")
            }
        };
        let fact =
            Fact::parse(&json).map_err(|e| ApiError::bad_request(format!("{}: {e}", name())))?;
        if matches!(fact, Fact::Signer { .. }) {
            return Err(ApiError::bad_request(format!(
                "{}: a signer is enrolled with POST /api/compliance/signers, together with their signing password",
                name()
            )));
        }
        parsed.push((fact, json));
    }
    let outcome = record(&state, &auth, parsed, reason).await.map_err(|e| {
        e.into_api(|i| {
            if single {
                "fact".into()
            } else {
                format!("facts[{i}]")
            }
        })
    })?;
    let status = if outcome.recorded.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let answer = if single {
        let (id, at, unchanged) = outcome.each[0];
        json!({"id": id, "recordedAt": at.to_string(), "unchanged": unchanged,
               "warnings": outcome.warnings(|_| "fact".into())})
    } else {
        outcome.json(|i| format!("facts[{i}]"))
    };
    Ok((status, Json(answer)).into_response())
}

/// What recording a batch of facts did.
struct Recorded {
    /// Per fact given: its id, recording time and whether it was already the current fact.
    each: Vec<(i64, Timestamp, bool)>,
    recorded: Vec<i64>,
    /// Per fact given (by index): ids it names that no fact defines.
    warnings: Vec<(usize, String)>,
}

impl Recorded {
    /// The answer to a batch; `name` names the i-th fact given (`facts[2]`, `line 4`).
    fn json(&self, name: impl Fn(usize) -> String) -> Value {
        json!({
            "recorded": self.recorded.len(),
            "unchanged": self.each.len() - self.recorded.len(),
            "facts": self.each.iter().map(|(id, at, unchanged)| json!({"id": id, "recordedAt": at.to_string(), "unchanged": unchanged})).collect::<Vec<_>>(),
            "warnings": self.warnings(name),
        })
    }

    fn warnings(&self, name: impl Fn(usize) -> String) -> Vec<String> {
        self.warnings
            .iter()
            .map(|(i, message)| format!("{}: {message}", name(*i)))
            .collect()
    }
}

/// Why a batch was refused: which fact (by index) and what is wrong.
enum Refusal {
    Conflict(usize, String),
    /// A fact that may not be recorded (any more), though it parses (400).
    Invalid(usize, String),
    Store(ApiError),
}

impl Refusal {
    fn into_api(self, name: impl Fn(usize) -> String) -> ApiError {
        match self {
            Refusal::Conflict(i, message) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{}: {message}", name(i)),
            ),
            Refusal::Invalid(i, message) => {
                ApiError::bad_request(format!("{}: {message}", name(i)))
            }
            Refusal::Store(e) => e,
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Store(e)
    }
}

impl From<store::StoreError> for Refusal {
    fn from(e: store::StoreError) -> Self {
        Refusal::Store(e.into())
    }
}

/// How many times a batch is checked again when facts were recorded while it was checked.
const RECORD_ATTEMPTS: usize = 5;

/// Records the facts that change something, all in one transaction, and skips those equal to
/// the current fact with the same key (so a feed can be sent again: idempotent). The checks run
/// against the facts as they stand when the transaction commits: if another request recorded
/// facts meanwhile, they run again.
async fn record<S: Store>(
    state: &Shared<S>,
    auth: &Authenticated<S>,
    facts: Vec<(Fact, Value)>,
    reason: &str,
) -> Result<Recorded, Refusal> {
    for _ in 0..RECORD_ATTEMPTS {
        match record_once(auth, &facts, reason).await {
            Err(Refusal::Store(e)) if e.code == "facts_changed" => continue,
            Ok(outcome) => {
                if !outcome.recorded.is_empty() {
                    state.engines.facts_recorded(&auth.credential.store);
                    state.deriver.facts_changed(&auth.credential.store);
                }
                return Ok(outcome);
            }
            Err(other) => return Err(other),
        }
    }
    Err(Refusal::Store(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "other requests kept recording facts; try again",
    )))
}

/// One activity IRI names one procedure version (and no effectiveness check), or a statement on
/// it would be evidence for each: why `fact` would share one with a current fact, if it would.
fn shared_activity<'a>(fact: &Fact, current: impl Iterator<Item = &'a Fact>) -> Option<String> {
    let version_iri = |f: &'a Fact| match f {
        Fact::ProcedureVersion {
            procedure,
            version,
            activity_iri,
            ..
        } => Some((procedure.as_str(), version.as_str(), activity_iri.as_str())),
        _ => None,
    };
    let check_iri = |f: &'a Fact| match f {
        Fact::Requirement {
            id,
            effectiveness: Some(check),
            ..
        } => Some((id.as_str(), check.activity_iri.as_str())),
        _ => None,
    };
    let current: Vec<&Fact> = current.collect();
    match fact {
        Fact::ProcedureVersion {
            procedure,
            version,
            activity_iri,
            ..
        } => current.iter().find_map(|f| {
            if let Some((p, v, iri)) = version_iri(f)
                && iri == activity_iri
                && (p, v) != (procedure.as_str(), version.as_str())
            {
                return Some(format!(
                    "{activity_iri} is already the activity of version '{v}' of '{p}': each version has its own activity IRI"
                ));
            }
            check_iri(f)
                .filter(|(_, iri)| iri == activity_iri)
                .map(|(id, _)| {
                    format!("{activity_iri} is the effectiveness check of requirement '{id}'")
                })
        }),
        Fact::Requirement {
            effectiveness: Some(check),
            ..
        } => current.iter().find_map(|f| {
            version_iri(f)
                .filter(|(_, _, iri)| *iri == check.activity_iri)
                .map(|(p, v, _)| {
                    format!(
                        "effectiveness.activity_iri {} is the activity of version '{v}' of '{p}'",
                        check.activity_iri
                    )
                })
        }),
        _ => None,
    }
}

/// Where a given fact went: already the current fact, or the n-th of those written.
enum Placed {
    Known(i64, Timestamp),
    Written(usize),
}

async fn record_once<S: Store>(
    auth: &Authenticated<S>,
    facts: &[(Fact, Value)],
    reason: &str,
) -> Result<Recorded, Refusal> {
    let known = load_facts(&auth.store).await?;
    let newest = known.last().map(|(id, _, _)| *id);
    // key → where the current fact with that key is, and the fact.
    let mut current: HashMap<String, (Placed, &Fact)> = HashMap::new();
    let mut named: HashMap<String, String> = HashMap::new();
    for (id, fact, at) in &known {
        if let Fact::PersonIdentifier { person, agent } = fact {
            named.insert(ifi_key(agent), person.clone());
        }
        current.insert(fact.key(), (Placed::Known(*id, *at), fact));
    }
    let mut to_write = Vec::new();
    let mut placed = Vec::with_capacity(facts.len());
    for (i, (fact, json)) in facts.iter().enumerate() {
        if let Fact::PersonIdentifier { person, agent } = fact {
            // One identifier names one person forever (regulated.md 4.6).
            let key = ifi_key(agent);
            match named.get(&key) {
                Some(other) if other != person => {
                    return Err(Refusal::Conflict(
                        i,
                        format!(
                            "this identifier already names person '{other}'; an identifier maps to one person forever"
                        ),
                    ));
                }
                _ => {
                    named.insert(key, person.clone());
                }
            }
        }
        match current.get(&fact.key()) {
            Some((Placed::Known(id, at), same)) if *same == fact => {
                placed.push((Placed::Known(*id, *at), true));
            }
            // Given twice in this batch: recorded once, and the repeat answered with it.
            Some((Placed::Written(n), same)) if *same == fact => {
                placed.push((Placed::Written(*n), true));
            }
            _ => {
                // Checked here, on facts to be written, not in `Fact::parse`: facts recorded
                // before this rule must still load.
                if let Fact::Requirement { id, .. } = fact
                    && id.contains('/')
                {
                    return Err(Refusal::Invalid(
                        i,
                        "a requirement id has no '/' (R/ITEM names a curriculum's items)".into(),
                    ));
                }
                if let Some(message) = shared_activity(fact, current.values().map(|(_, f)| *f)) {
                    return Err(Refusal::Conflict(i, message));
                }
                if let Fact::Curriculum {
                    id,
                    version,
                    valid_from,
                    valid_to,
                    ..
                } = fact
                {
                    // One version of a curriculum at a time: an overlap would ask for its items twice.
                    let overlapping = current.values().find_map(|(_, other)| match other {
                        Fact::Curriculum {
                            id: other_id,
                            version: other_version,
                            valid_from: from,
                            valid_to: to,
                            ..
                        } if other_id == id
                            && other_version != version
                            && to.is_none_or(|to| *valid_from < to)
                            && valid_to.is_none_or(|end| *from < end) =>
                        {
                            Some(*other_version)
                        }
                        _ => None,
                    });
                    if let Some(other) = overlapping {
                        return Err(Refusal::Conflict(
                            i,
                            format!(
                                "version {other} of curriculum '{id}' is valid at some of the same times: close it (valid_to) before version {version} starts"
                            ),
                        ));
                    }
                }
                let n = to_write.len();
                placed.push((Placed::Written(n), false));
                current.insert(fact.key(), (Placed::Written(n), fact));
                let kind = json
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                to_write.push((kind, json.to_string()));
            }
        }
    }
    let written = if to_write.is_empty() {
        Vec::new()
    } else {
        match auth
            .store
            .record_facts(
                auth.credential.principal(),
                to_write,
                reason.to_string(),
                newest,
            )
            .await
        {
            Err(store::StoreError::FactsChanged) => {
                return Err(Refusal::Store(ApiError::new(
                    StatusCode::CONFLICT,
                    "facts_changed",
                    "facts were recorded meanwhile",
                )));
            }
            other => other?,
        }
    };
    let mut recorded = Vec::new();
    let each = placed
        .into_iter()
        .map(|(place, unchanged)| match place {
            Placed::Known(id, at) => Ok((id, at, true)),
            Placed::Written(n) => {
                let (id, at) = *written.get(n).ok_or_else(|| {
                    ApiError::internal("the store recorded fewer facts than given")
                })?;
                if !unchanged {
                    recorded.push(id);
                }
                Ok((id, at, unchanged))
            }
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let ids = compliance::Known::new(
        known
            .iter()
            .map(|(_, fact, _)| fact)
            .chain(facts.iter().map(|(fact, _)| fact)),
    );
    let warnings = facts
        .iter()
        .enumerate()
        .flat_map(|(i, (fact, _))| ids.unknown_in(fact).into_iter().map(move |m| (i, m)))
        .collect();
    Ok(Recorded {
        each,
        recorded,
        warnings,
    })
}

fn ifi_key(agent: &Value) -> String {
    xapi::agent::Ifi::of(agent)
        .map(|i| i.key())
        .unwrap_or_default()
}

/// `POST /import/{people|procedure-versions|quality-events}?reason=…` with a CSV body.
async fn import<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    Path(kind): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::All], "import compliance facts")?;
    let params = Params::parse(query.as_deref(), &["reason"])?;
    let reason = params
        .get("reason")
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "reason: every change of GMP-relevant data needs a reason (Annex 11 §9)",
            )
        })?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "an import is text/csv",
        ));
    }
    let rows = match csv_import::parse(&kind, &body) {
        Ok(rows) => rows,
        Err(csv_import::Refused::File(e)) => return Err(e),
        Err(csv_import::Refused::Rows(errors)) => {
            let message = format!(
                "{} row(s) are not valid; nothing was recorded",
                errors.len()
            );
            let errors: Vec<Value> = errors
                .into_iter()
                .map(|(line, message)| json!({"line": line, "message": message}))
                .collect();
            return Ok((
                StatusCode::BAD_REQUEST,
                Json(json!({"message": message, "code": "invalid_rows", "errors": errors})),
            )
                .into_response());
        }
    };
    let lines: Vec<u64> = rows
        .iter()
        .flat_map(|row| row.facts.iter().map(|_| row.line))
        .collect();
    let facts: Vec<(Fact, Value)> = rows.into_iter().flat_map(|row| row.facts).collect();
    let outcome = record(&state, &auth, facts, reason).await.map_err(|e| {
        e.into_api(|i| format!("line {}", lines.get(i).copied().unwrap_or_default()))
    })?;
    let status = if outcome.recorded.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(outcome.json(|i| format!("line {}", lines.get(i).copied().unwrap_or_default()))),
    )
        .into_response())
}

async fn list_facts<S: Store>(
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read compliance facts")?;
    let (person, page) = listing(query.as_deref())?;
    if person.is_some() {
        return Err(ApiError::invalid_parameter(
            "person",
            "facts are listed by id (after, limit)",
        ));
    }
    let facts = auth.store.facts(page).await?;
    let next = more(facts.iter().map(|f| f.id), page, facts.len());
    let list: Vec<Value> = facts
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "fact": serde_json::from_str::<Value>(&f.body).unwrap_or(Value::Null),
                "reason": f.reason,
                "recordedBy": f.principal,
                "recordedAt": f.recorded_at.to_string(),
            })
        })
        .collect();
    Ok(Json(json!({"facts": list, "more": next})))
}

/// Every recorded fact, in recording order, with its id and recording time.
async fn load_facts<S: Store>(store: &S) -> Result<Vec<(i64, Fact, Timestamp)>, ApiError> {
    store
        .facts(store::Page::ALL)
        .await?
        .into_iter()
        .map(|f| {
            let json: Value = serde_json::from_str(&f.body).map_err(ApiError::internal)?;
            Ok((
                f.id,
                Fact::parse(&json).map_err(ApiError::internal)?,
                f.recorded_at,
            ))
        })
        .collect()
}

/// Builds an engine from scratch: every fact and every statement on the activities they name
/// (what `attest compliance rederive` compares the stored completions with), with the
/// watermarks it is current to.
pub async fn build_from_scratch<S: Store>(
    store: &S,
) -> Result<(Engine, (Option<i64>, i64)), ApiError> {
    let (_, seq) = store.compliance_watermarks().await?;
    let loaded = load_facts(store).await?;
    let facts_newest = loaded.last().map(|(id, _, _)| *id);
    let facts: Vec<(Fact, Timestamp)> =
        loaded.into_iter().map(|(_, fact, at)| (fact, at)).collect();
    let activities = cache::activities(&facts);
    let evidence = cache::evidence_on(store, activities.into_iter().collect(), seq).await?;
    Ok((compliance::engine(&facts, evidence), (facts_newest, seq)))
}

/// Runs `answer` on the store's engine, brought up to date first, on a blocking thread (a
/// plant-wide report is CPU work).
async fn with_engine<S: Store, T: Send + 'static>(
    state: &Shared<S>,
    auth: &Authenticated<S>,
    answer: impl FnOnce(&Engine) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let engine = state
        .engines
        .current(&auth.credential.store, &auth.store)
        .await?;
    tokio::task::spawn_blocking(move || {
        answer(
            &engine
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    })
    .await
    .map_err(ApiError::internal)
}

/// The instants a question is asked at: `at` (T) and `asKnownAt` (K), both defaulting to now.
#[derive(Clone, Copy)]
struct Instants {
    at: Timestamp,
    known: Timestamp,
    now: Timestamp,
    /// Whether K was given (then the answer as known now is shown beside it).
    known_given: bool,
}

fn instants(params: &Params) -> Result<Instants, ApiError> {
    let now = Timestamp::now();
    let time = |name: &str| -> Result<Timestamp, ApiError> {
        params.get(name).map_or(Ok(now), |t| {
            xapi::rules::parse_timestamp(t)
                .ok_or_else(|| ApiError::invalid_parameter(name, "not an ISO 8601 timestamp"))
        })
    };
    Ok(Instants {
        at: time("at")?,
        known: time("asKnownAt")?,
        now,
        known_given: params.has("asKnownAt"),
    })
}

fn stamp(answer: &mut Value, i: &Instants) {
    answer["at"] = json!(i.at.to_string());
    answer["asKnownAt"] = json!(i.known.to_string());
}

fn required(params: &Params, name: &str) -> Result<String, ApiError> {
    params
        .get(name)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request(format!("{name}: missing")))
}

/// What `/status` is asked about.
enum Subject {
    Procedure(String),
    Function(String),
    Everything,
}

/// `GET /status?person=P[&procedure=X|&function=F][&at=T][&asKnownAt=K]`: one procedure, one
/// function, or (neither) everything that applies to the person.
async fn status<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read qualification status")?;
    let params = Params::parse(
        query.as_deref(),
        &["person", "procedure", "function", "at", "asKnownAt"],
    )?;
    let person = required(&params, "person")?;
    let i = instants(&params)?;
    let subject = match (params.get("procedure"), params.get("function")) {
        (Some(procedure), None) => Subject::Procedure(procedure.to_string()),
        (None, Some(function)) => Subject::Function(function.to_string()),
        (None, None) => Subject::Everything,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give at most one of procedure and function",
            ));
        }
    };
    let answer = with_engine(&state, &auth, move |engine| {
        let answer_at = |k: Timestamp| status_answer(engine, &person, &subject, i.at, k);
        let mut answer = answer_at(i.known);
        if i.known_given {
            // What the system says now about the same instant: an auditor sees at once whether
            // what was known then differs (regulated.md S6).
            let now = answer_at(i.now);
            answer["asKnownNow"] = json!({
                "status": now["status"],
                "reason": now.get("reason").cloned().unwrap_or(Value::Null),
                "differs": now["status"] != answer["status"] || now.get("reason") != answer.get("reason"),
            });
        }
        answer["name"] = answers::person_name(engine, &person, i.known);
        answer["person"] = json!(person);
        stamp(&mut answer, &i);
        answer
    })
    .await?;
    Ok(Json(answer))
}

/// The answer to a status question about `person` at `at` as known at `k`.
fn status_answer(
    engine: &Engine,
    person: &str,
    subject: &Subject,
    at: Timestamp,
    k: Timestamp,
) -> Value {
    if !engine.knows(person, k) {
        return json!({"status": "NOT_QUALIFIED", "reason": compliance::Reason::UnknownPerson.name()});
    }
    match subject {
        Subject::Procedure(procedure) => {
            let (q, requirement) = engine.procedure_answer(person, procedure, at, k);
            let mut answer = answers::qualification(&q);
            answer["requirement"] = json!(requirement);
            answer
        }
        Subject::Function(function) => {
            let status = engine.function_status(person, function, at, k);
            json!({
                "status": status.status.name(),
                "reason": status.reason.map(|r| r.name()),
                "requirements": status.requirements.iter().map(|(id, q)| {
                    let mut q = answers::qualification(q);
                    q["requirement"] = json!(id);
                    q
                }).collect::<Vec<_>>(),
            })
        }
        Subject::Everything => {
            let status = engine.person_status(person, at, k);
            json!({
                "status": status.status.name(),
                "reason": status.reason.map(|r| r.name()),
                "functions": status.functions,
                "requirements": status.requirements.iter().map(answers::requirement).collect::<Vec<_>>(),
            })
        }
    }
}

/// `POST /decisions` with `{"person", "procedure" | "function" (or neither), "at", "context"}`:
/// a gate (an MES before a batch step) asks whether the person is qualified at `at` (default
/// now), as known now, and the question, the answer and its evidence are recorded, ledgered
/// (regulated.md F5). The answer is the `/status` answer with the decision's `id`.
async fn decide<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::All], "record qualification decisions")?;
    Params::parse(query.as_deref(), &[])?;
    let body = json_body(&body)?;
    let object = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request("the body is a JSON object"))?;
    if let Some(extra) = object
        .keys()
        .find(|k| !["person", "procedure", "function", "at", "context"].contains(&k.as_str()))
    {
        return Err(ApiError::bad_request(format!("unknown property '{extra}'")));
    }
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::bad_request(format!(
                "{name}: an id (1 to 200 characters)"
            ))),
        }
    };
    let person = text("person")?.ok_or_else(|| ApiError::bad_request("person: missing"))?;
    let subject = match (text("procedure")?, text("function")?) {
        (Some(p), None) => Subject::Procedure(p),
        (None, Some(f)) => Subject::Function(f),
        (None, None) => Subject::Everything,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give at most one of procedure and function",
            ));
        }
    };
    let now = Timestamp::now();
    let at = match object.get("at") {
        None | Some(Value::Null) => now,
        Some(Value::String(t)) => xapi::rules::parse_timestamp(t)
            .ok_or_else(|| ApiError::bad_request("at: not an ISO 8601 timestamp"))?,
        Some(_) => return Err(ApiError::bad_request("at: a timestamp")),
    };
    let context = match object.get("context") {
        None | Some(Value::Null) => Value::Null,
        Some(c @ Value::Object(_)) => c.clone(),
        Some(_) => return Err(ApiError::bad_request("context: an object")),
    };
    let mut question = json!({"person": person, "at": at.to_string(), "context": context});
    match &subject {
        Subject::Procedure(p) => question["procedure"] = json!(p),
        Subject::Function(f) => question["function"] = json!(f),
        Subject::Everything => {}
    }
    let who = person.clone();
    let (mut answer, name) = with_engine(&state, &auth, move |engine| {
        (
            status_answer(engine, &who, &subject, at, now),
            answers::person_name(engine, &who, now),
        )
    })
    .await?;
    let record = json!({"question": question, "answer": answer, "asKnownAt": now.to_string()});
    let (id, recorded_at) = auth
        .store
        .record_decision(
            auth.credential.principal(),
            person.clone(),
            record.to_string(),
        )
        .await?;
    answer["person"] = json!(person);
    answer["name"] = name;
    answer["decision"] = json!(id);
    answer["recordedAt"] = json!(recorded_at.to_string());
    answer["asKnownAt"] = json!(now.to_string());
    answer["at"] = json!(at.to_string());
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// The largest page of `GET /completions` and `GET /decisions`, and the default.
const MAX_PAGE: usize = 10_000;
const DEFAULT_PAGE: usize = 1_000;

/// `person`, `after` and `limit` of a paged listing.
fn listing(query: Option<&str>) -> Result<(Option<String>, store::Page), ApiError> {
    let params = Params::parse(query, &["person", "after", "limit"])?;
    let person = match params.get("person") {
        Some("") => return Err(ApiError::bad_request("person: empty")),
        other => other.map(str::to_string),
    };
    let after = match params.get("after") {
        None => 0,
        Some(a) => a
            .parse()
            .map_err(|_| ApiError::invalid_parameter("after", "an id from a previous page"))?,
    };
    let limit = match params.get("limit") {
        None => DEFAULT_PAGE,
        Some(l) => l
            .parse()
            .ok()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| {
                ApiError::invalid_parameter("limit", format!("a whole number from 1 to {MAX_PAGE}"))
            })?,
    };
    Ok((person, store::Page { after, limit }))
}

/// The `more` of a page: the `after` that gives the next one, when this one is full.
fn more(ids: impl Iterator<Item = i64>, page: store::Page, count: usize) -> Value {
    if count == page.limit {
        ids.last().map_or(Value::Null, |id| json!(id))
    } else {
        Value::Null
    }
}

/// `GET /decisions[?person=P][&after=ID][&limit=N]`: the recorded decisions, oldest first, a
/// page at a time (`more` is the `after` of the next page).
async fn decisions<S: Store>(
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read qualification decisions")?;
    let (person, page) = listing(query.as_deref())?;
    let stored = auth.store.decisions(person, page).await?;
    let next = more(stored.iter().map(|d| d.id), page, stored.len());
    let list: Vec<Value> = stored
        .into_iter()
        .map(|d| {
            let mut row = serde_json::from_str::<Value>(&d.body).map_err(ApiError::internal)?;
            row["id"] = json!(d.id);
            row["recordedBy"] = json!(d.principal);
            row["recordedAt"] = json!(d.recorded_at.to_string());
            Ok(row)
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(json!({"decisions": list, "more": next})))
}

/// `GET /assignments?person=P[&at=T][&asKnownAt=K]`.
async fn assignments<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read assignments")?;
    let params = Params::parse(query.as_deref(), &["person", "at", "asKnownAt"])?;
    let person = required(&params, "person")?;
    let i = instants(&params)?;
    let mut answer = with_engine(&state, &auth, move |engine| {
        let list = engine.assignments(&person, i.at, i.known);
        json!({
            "person": person,
            "name": answers::person_name(engine, &person, i.known),
            "assignments": list.iter().map(|a| answers::assignment_out(a, None)).collect::<Vec<_>>(),
        })
    })
    .await?;
    stamp(&mut answer, &i);
    Ok(Json(answer))
}

/// `GET /completions[?person=P][&after=ID][&limit=N]`: the stored completions, valid and
/// invalidated, oldest first, a page at a time (`more` is the `after` of the next page).
async fn completions<S: Store>(
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read completions")?;
    let (person, page) = listing(query.as_deref())?;
    let stored = auth.store.completions(person, page).await?;
    let next = more(stored.iter().map(|c| c.id), page, stored.len());
    let list: Vec<Value> = stored
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "completion": serde_json::from_str::<Value>(&c.body).unwrap_or(Value::Null),
                "derivedAt": c.derived_at.to_string(),
                "invalidatedAt": answers::time(c.invalidated_at),
            })
        })
        .collect();
    Ok(Json(json!({"completions": list, "more": next})))
}

/// A report as JSON text, serialized straight from its rows.
fn report<R: serde::Serialize>(
    filter: &Filter,
    i: &Instants,
    until: Option<Timestamp>,
    rows: R,
) -> Result<String, ApiError> {
    serde_json::to_string(&answers::Report {
        site: filter.site.as_deref(),
        function: filter.function.as_deref(),
        at: i.at.to_string(),
        as_known_at: i.known.to_string(),
        until: until.map(|t| t.to_string()),
        rows,
    })
    .map_err(ApiError::internal)
}

fn json_text(text: String) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response()
}

fn report_params(
    query: Option<&str>,
    extra: &[&str],
) -> Result<(Params, Filter, Instants), ApiError> {
    let mut allowed = vec!["site", "function", "at", "asKnownAt"];
    allowed.extend_from_slice(extra);
    let params = Params::parse(query, &allowed)?;
    let filter = Filter {
        site: params.get("site").map(str::to_string),
        function: params.get("function").map(str::to_string),
    };
    let i = instants(&params)?;
    Ok((params, filter, i))
}

/// `GET /reports/gaps[?site=S][&function=F][&at=T][&asKnownAt=K]`: every requirement someone is
/// not QUALIFIED for.
async fn gaps<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::AllRead], "read compliance reports")?;
    let (_, filter, i) = report_params(query.as_deref(), &[])?;
    #[derive(serde::Serialize)]
    struct Rows<'a> {
        gaps: Vec<answers::PersonRow<'a>>,
    }
    let text = with_engine(&state, &auth, move |engine| {
        let rows = engine.gaps(&filter, i.at, i.known);
        report(
            &filter,
            &i,
            None,
            Rows {
                gaps: rows
                    .iter()
                    .map(|g| answers::gap(engine, g, i.known))
                    .collect(),
            },
        )
    })
    .await??;
    Ok(json_text(text))
}

/// `GET /reports/overdue[?site=S][&function=F][&at=T][&asKnownAt=K]`.
async fn overdue<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::AllRead], "read compliance reports")?;
    let (_, filter, i) = report_params(query.as_deref(), &[])?;
    assignment_rows(
        &state,
        &auth,
        filter,
        i,
        vec![compliance::AssignmentStatus::Overdue],
    )
    .await
}

/// The assignments in `statuses` at T as known at K, as a report.
async fn assignment_rows<S: Store>(
    state: &Shared<S>,
    auth: &Authenticated<S>,
    filter: Filter,
    i: Instants,
    statuses: Vec<compliance::AssignmentStatus>,
) -> Result<Response, ApiError> {
    #[derive(serde::Serialize)]
    struct Rows<'a> {
        assignments: Vec<answers::AssignmentOut<'a>>,
    }
    let text = with_engine(state, auth, move |engine| {
        let rows = engine.assignments_in(&filter, &statuses, i.at, i.known);
        report(
            &filter,
            &i,
            None,
            Rows {
                assignments: rows
                    .iter()
                    .map(|a| answers::assignment_out(a, Some((engine, i.known))))
                    .collect(),
            },
        )
    })
    .await??;
    Ok(json_text(text))
}

/// `GET /reports/assignments?status=S[,S…][&site=S][&function=F][&at=T][&asKnownAt=K]`: every
/// assignment in one of the statuses (OPEN, OVERDUE, COMPLETE, SUPERSEDED, CANCELLED) at T.
async fn assignments_report<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    use compliance::AssignmentStatus as A;
    auth.require(&[Scope::AllRead], "read compliance reports")?;
    let (params, filter, i) = report_params(query.as_deref(), &["status"])?;
    let statuses = params
        .get("status")
        .ok_or_else(|| ApiError::bad_request("status: missing (e.g. OPEN,OVERDUE)"))?
        .split(',')
        .map(|name| {
            [
                A::Open,
                A::Overdue,
                A::Complete,
                A::Waived,
                A::Superseded,
                A::Cancelled,
            ]
            .into_iter()
            .find(|s| s.name() == name.trim())
            .ok_or_else(|| {
                ApiError::invalid_parameter(
                    "status",
                    format!(
                        "'{name}' is not OPEN, OVERDUE, COMPLETE, WAIVED, SUPERSEDED or CANCELLED"
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    assignment_rows(&state, &auth, filter, i, statuses).await
}

/// `GET /reports/expiring[?days=N][&site=S][&function=F][&at=T][&asKnownAt=K]`: qualifications
/// that run out within N days (default 30) after T.
async fn expiring<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::AllRead], "read compliance reports")?;
    let (params, filter, i) = report_params(query.as_deref(), &["days"])?;
    let days: i64 = match params.get("days") {
        None => 30,
        Some(d) => d
            .parse()
            .ok()
            .filter(|d| (1..=3660).contains(d))
            .ok_or_else(|| ApiError::invalid_parameter("days", "a whole number from 1 to 3660"))?,
    };
    let until =
        i.at.checked_add(jiff::SignedDuration::from_hours(24 * days))
            .map_err(|_| ApiError::invalid_parameter("at", "too late to add the days to"))?;
    #[derive(serde::Serialize)]
    struct Rows<'a> {
        expiring: Vec<answers::PersonRow<'a>>,
    }
    let text = with_engine(&state, &auth, move |engine| {
        let rows = engine.expiring(&filter, i.at, until, i.known);
        report(
            &filter,
            &i,
            Some(until),
            Rows {
                expiring: rows
                    .iter()
                    .map(|e| answers::expiry(engine, e, i.known))
                    .collect(),
            },
        )
    })
    .await??;
    Ok(json_text(text))
}

/// `GET /quality-events/{id}[?at=T][&asKnownAt=K]`: the event, the requirements it brought and
/// every assignment they made, with completions and effectiveness checks (the CAPA closure
/// record, regulated.md S8).
async fn quality_event<S: Store>(
    State(state): State<Shared<S>>,
    auth: Authenticated<S>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read quality events")?;
    let params = Params::parse(query.as_deref(), &["at", "asKnownAt"])?;
    let i = instants(&params)?;
    let answer = with_engine(&state, &auth, move |engine| {
        let event = engine.quality_event(&id, i.known)?;
        let requirements = engine.requirements_of_event(&id, i.known);
        let mut people: Vec<&str> = requirements
            .iter()
            .flat_map(|r| match &r.scope {
                compliance::Scope::QualityEvent { persons, .. } => persons.as_slice(),
                _ => &[],
            })
            .map(String::as_str)
            .collect();
        people.sort_unstable();
        people.dedup();
        let assignments: Vec<Value> = people
            .iter()
            .flat_map(|p| engine.assignments(p, i.at, i.known))
            .filter(|a| a.quality_event.as_deref() == Some(id.as_str()))
            .map(|a| {
                let mut row =
                    serde_json::to_value(answers::assignment_out(&a, Some((engine, i.known))))
                        .unwrap_or(Value::Null);
                // The signatures on the completion (regulated.md S8: the closure record lists
                // them), as manifested.
                let signatures: Vec<Value> = a
                    .evidence
                    .iter()
                    .flat_map(|e| engine.signatures_on(e, i.known))
                    .filter(|s| a.evidence.contains(&s.statement))
                    .map(|s| serde_json::to_value(answers::signed(&s)).unwrap_or(Value::Null))
                    .collect();
                row["signatures"] = json!(signatures);
                row
            })
            .collect();
        Some(json!({
            "id": event.id,
            "type": event.kind.name(),
            "title": event.title,
            "activityIri": event.activity_iri,
            "openedAt": event.opened.to_string(),
            "closedAt": answers::time(event.closed),
            "requirements": requirements.iter().map(|r| json!({
                "id": r.id, "procedure": r.procedure, "blocking": r.blocking,
                "validFrom": r.valid.from.to_string(), "validTo": answers::time(r.valid.to),
            })).collect::<Vec<_>>(),
            "assignments": assignments,
        }))
    })
    .await?;
    let mut answer =
        answer.ok_or_else(|| ApiError::not_found("no such quality event is known".to_string()))?;
    // Which evidence statements name the event in contextActivities.other (regulated.md 2.2,
    // S8): training done for the event says so; evidence that does not is listed.
    if let Some(iri) = answer["activityIri"].as_str().map(str::to_string)
        && let Some(rows) = answer["assignments"].as_array_mut()
    {
        for row in rows {
            let mut untagged = Vec::new();
            for id in row["evidence"].as_array().cloned().unwrap_or_default() {
                let Some(uuid) = id.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()) else {
                    continue;
                };
                // Evidence voided since K is read too: it was the evidence then.
                let stored = match auth.store.statement(uuid, false).await? {
                    Some(s) => Some(s),
                    None => auth.store.statement(uuid, true).await?,
                };
                let Some(stored) = stored else { continue };
                let statement: Value = serde_json::from_str(&stored.json).unwrap_or_default();
                if statement.pointer("/verb/id").and_then(Value::as_str) == Some(compliance::SIGNED)
                {
                    continue;
                }
                let tagged = match statement.pointer("/context/contextActivities/other") {
                    Some(Value::Array(list)) => list.iter().any(|a| a["id"] == iri.as_str()),
                    Some(one) => one["id"] == iri.as_str(),
                    None => false,
                };
                if !tagged {
                    untagged.push(id);
                }
            }
            row["evidenceWithoutEventIri"] = json!(untagged);
        }
    }
    stamp(&mut answer, &i);
    Ok(Json(answer))
}

/// The checks on statements before they are stored: no client sends a signature or voids one
/// (regulated.md C2, C6, 403), and the GxP profile's rules (A4, A6, A7, A10, S4): GxP evidence
/// comes from a known person, about a registered activity, with a matching revision, a `success`
/// that agrees with its score, not dated ahead, and a reason when it is a late entry (400
/// otherwise); a void of GxP evidence needs a reason (400), names a stored statement (400), and
/// comes from QA with their own credential, not from the learner (403). Each void's target is
/// looked up once, in the same batch first, then in the store. The profile is read from the
/// facts at most once a second per store.
pub async fn check_statements<S: Store>(
    state: &Shared<S>,
    store_name: &str,
    store: &S,
    voider: &str,
    statements: &[store::Accepted],
) -> Result<(), ApiError> {
    signatures::refuse_signature_verb(statements)?;
    // Each void and its target: in this batch, stored (and not voided), or neither.
    let mut voids = Vec::new();
    for void in statements.iter().filter(|a| a.voiding) {
        let Some(target_id) = void.target else {
            continue;
        };
        let target = match statements.iter().find(|a| a.id == target_id) {
            Some(a) => Some(a.statement.clone()),
            None => store
                .statement(target_id, false)
                .await?
                .and_then(|s| serde_json::from_str::<Value>(&s.json).ok()),
        };
        if target.as_ref().is_some_and(signatures::is_signature) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "statement {}: {target_id} is an electronic signature, which cannot be voided",
                    void.id
                ),
            ));
        }
        voids.push((void, target_id, target));
    }
    let Some(policy) = state.engines.gxp_profile(store_name, store).await? else {
        return Ok(());
    };
    let refused = |refusal: compliance::GxpRefusal| match refusal {
        compliance::GxpRefusal::OwnRecord
        | compliance::GxpRefusal::NotQa
        | compliance::GxpRefusal::NotPersonal
        | compliance::GxpRefusal::NotOwn(_) => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", refusal.to_string())
        }
        _ => ApiError::bad_request(refusal.to_string()),
    };
    let now = Timestamp::now();
    for (i, a) in statements.iter().enumerate().filter(|(_, a)| !a.voiding) {
        policy
            .check_statement(&a.statement, now, Some(voider))
            .map_err(|r| {
                let mut e = refused(r);
                if statements.len() > 1 {
                    e.message = format!("[{i}]: {}", e.message);
                }
                e
            })?;
    }
    for (void, target_id, target) in voids {
        let Some(target) = target else {
            if store.statement(target_id, true).await?.is_some() {
                // Voided already: this void changes nothing.
                continue;
            }
            // A void stored before its target would void it on arrival, past every rule here.
            return Err(ApiError::bad_request(format!(
                "statement {target_id} is not stored: under the GxP profile a void names a statement already stored (regulated.md A4)"
            )));
        };
        policy
            .check_void(&void.statement, &target, Some(voider), now)
            .map_err(refused)?;
    }
    Ok(())
}

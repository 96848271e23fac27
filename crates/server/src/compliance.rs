//! The training-compliance API under `/api/compliance` (docs/compliance.md): master-data facts
//! from HR and QMS feeds, and the qualification of a person at any instant as known at any
//! instant, with the evidence it rests on.
use std::collections::BTreeSet;

use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use compliance::{Evidence, Fact, Qualification, Status};
use jiff::Timestamp;
use serde_json::{Value, json};
use store::{Scope, Store};

use crate::Shared;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::params::Params;

pub fn routes<S: Store>() -> Router<Shared<S>> {
    Router::new()
        .route("/facts", get(list_facts::<S>).post(record_fact::<S>))
        .route("/status", get(status::<S>))
}

async fn record_fact<S: Store>(
    auth: Authenticated<S>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    auth.require(&[Scope::All], "record compliance facts")?;
    let body: Value = xapi::json::parse_strict(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "reason: every change of GMP-relevant data needs a reason (Annex 11 §9)",
            )
        })?;
    let fact_json = body
        .get("fact")
        .ok_or_else(|| ApiError::bad_request("fact: missing"))?;
    if let Some(extra) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "reason" && *k != "fact"))
    {
        return Err(ApiError::bad_request(format!("unknown property '{extra}'")));
    }
    let fact = Fact::parse(fact_json).map_err(|e| ApiError::bad_request(format!("fact: {e}")))?;
    if let Fact::PersonIdentifier { person, agent } = &fact {
        // One identifier names one person forever (regulated.md 4.6).
        let key = xapi::agent::Ifi::of(agent).map(|i| i.key());
        for (known, _) in load_facts(&auth.store).await? {
            if let Fact::PersonIdentifier {
                person: other,
                agent: a,
            } = known
                && xapi::agent::Ifi::of(&a).map(|i| i.key()) == key
                && other != *person
            {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    format!(
                        "this identifier already names person '{other}'; an identifier maps to one person forever"
                    ),
                ));
            }
        }
    }
    let kind = fact_json
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let (id, recorded) = auth
        .store
        .record_fact(
            auth.credential.principal(),
            kind,
            fact_json.to_string(),
            reason.to_string(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "recordedAt": recorded.to_string()})),
    )
        .into_response())
}

async fn list_facts<S: Store>(auth: Authenticated<S>) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read compliance facts")?;
    let facts = auth.store.facts().await?;
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
    Ok(Json(json!({"facts": list})))
}

async fn load_facts<S: Store>(store: &S) -> Result<Vec<(Fact, Timestamp)>, ApiError> {
    store
        .facts()
        .await?
        .into_iter()
        .map(|f| {
            let json: Value = serde_json::from_str(&f.body).map_err(ApiError::internal)?;
            Ok((
                Fact::parse(&json).map_err(ApiError::internal)?,
                f.recorded_at,
            ))
        })
        .collect()
}

/// `GET /status?person=P&(procedure=X|function=F)[&at=T][&asKnownAt=K]`.
async fn status<S: Store>(
    auth: Authenticated<S>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Scope::AllRead], "read qualification status")?;
    let params = Params::parse(
        query.as_deref(),
        &["person", "procedure", "function", "at", "asKnownAt"],
    )?;
    let person = params
        .get("person")
        .ok_or_else(|| ApiError::bad_request("person: missing"))?;
    let now = Timestamp::now();
    let time = |name: &str| -> Result<Timestamp, ApiError> {
        params.get(name).map_or(Ok(now), |t| {
            xapi::rules::parse_timestamp(t)
                .ok_or_else(|| ApiError::invalid_parameter(name, "not an ISO 8601 timestamp"))
        })
    };
    let (at, known) = (time("at")?, time("asKnownAt")?);
    let facts = load_facts(&auth.store).await?;
    // The evidence that can matter: this person's identifiers × every procedure version's IRI.
    let (mut ifis, mut activities) = (BTreeSet::new(), BTreeSet::new());
    for (fact, _) in &facts {
        match fact {
            Fact::PersonIdentifier { person: p, agent } if p == person => {
                if let Some(ifi) = xapi::agent::Ifi::of(agent) {
                    ifis.insert(ifi.key());
                }
            }
            Fact::ProcedureVersion { activity_iri, .. } => {
                activities.insert(activity_iri.clone());
            }
            _ => {}
        }
    }
    let rows = auth
        .store
        .evidence(ifis.into_iter().collect(), activities.into_iter().collect())
        .await?;
    let evidence: Vec<Evidence> = rows
        .iter()
        .filter_map(|(json, stored, voided)| {
            serde_json::from_str::<Value>(json)
                .ok()
                .and_then(|s| Evidence::from_statement(&s, *stored, *voided))
        })
        .collect();
    let engine = compliance::engine(&facts, evidence);
    let mut answer = match (params.get("procedure"), params.get("function")) {
        (Some(procedure), None) => {
            // A procedure asked about directly: the requirement that names it decides grace and
            // recurrence; without one, no grace and no expiry.
            let requirement = facts.iter().rev().find_map(|(f, _)| match f {
                Fact::Requirement {
                    procedure: p,
                    grace_days,
                    recurrence_days,
                    early_window_days,
                    ..
                } if p == procedure => Some((*grace_days, *recurrence_days, *early_window_days)),
                _ => None,
            });
            let (grace, recurrence) = policies(requirement);
            qualification_json(
                &engine.procedure_status(person, procedure, grace, recurrence, at, known),
            )
        }
        (None, Some(function)) => {
            let status = engine.function_status(person, function, at, known);
            json!({
                "status": status_name(status.status),
                "requirements": status.requirements.iter().map(|(id, q)| {
                    let mut q = qualification_json(q);
                    q["requirement"] = json!(id);
                    q
                }).collect::<Vec<_>>(),
            })
        }
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of procedure and function",
            ));
        }
    };
    answer["person"] = json!(person);
    answer["at"] = json!(at.to_string());
    answer["asKnownAt"] = json!(known.to_string());
    Ok(Json(answer))
}

fn policies(
    requirement: Option<(Option<i64>, Option<i64>, i64)>,
) -> (compliance::GracePolicy, compliance::Recurrence) {
    let Some((grace, recurrence, early)) = requirement else {
        return (
            compliance::GracePolicy::TrainBeforeEffective,
            compliance::Recurrence::None,
        );
    };
    let days = |n: i64| jiff::SignedDuration::from_hours(24 * n);
    (
        grace.map_or(
            compliance::GracePolicy::TrainBeforeEffective,
            compliance::GracePolicy::GraceDays,
        ),
        recurrence.map_or(compliance::Recurrence::None, |n| {
            compliance::Recurrence::Relative {
                every: days(n),
                early_window: days(early),
            }
        }),
    )
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Qualified => "QUALIFIED",
        Status::QualifiedInGrace => "QUALIFIED_IN_GRACE",
        Status::NotQualified => "NOT_QUALIFIED",
    }
}

fn qualification_json(q: &Qualification) -> Value {
    json!({
        "status": status_name(q.status),
        "reason": q.reason.map(|r| match r {
            compliance::Reason::NeverTrained => "NEVER_TRAINED",
            compliance::Reason::VersionSuperseded => "VERSION_SUPERSEDED",
            compliance::Reason::Expired => "EXPIRED",
            compliance::Reason::EvidenceVoided => "EVIDENCE_VOIDED",
            compliance::Reason::NoVersionInForce => "NO_VERSION_IN_FORCE",
        }),
        "version": q.version,
        "evidence": q.evidence,
        "rule": q.rule.as_ref().map(|(id, version)| json!({"id": id, "version": version})),
        "achievedAt": q.achieved_at.map(|t| t.to_string()),
        "expiresAt": q.expires_at.map(|t| t.to_string()),
    })
}

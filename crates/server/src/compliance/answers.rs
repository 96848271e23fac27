//! The JSON the compliance API answers with (docs/compliance.md, docs/openapi-compliance.yaml).
use compliance::{Assignment, Engine, Expiry, Gap, Qualification, RequirementStatus};
use jiff::Timestamp;
use serde_json::{Value, json};

pub fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| json!(t.to_string()))
}

pub fn qualification(q: &Qualification) -> Value {
    json!({
        "status": q.status.name(),
        "reason": q.reason.map(|r| r.name()),
        "version": q.version,
        "evidence": q.evidence,
        "lateEntries": q.late_entries,
        "rule": q.rule.as_ref().map(|(id, version)| json!({"id": id, "version": version})),
        "achievedAt": time(q.achieved_at),
        "expiresAt": time(q.expires_at),
        "effectiveness": q.effectiveness.as_ref().map(|(state, by)| json!({"state": state.name(), "statement": by})),
    })
}

pub fn requirement(r: &RequirementStatus) -> Value {
    let mut q = qualification(&r.qualification);
    q["requirement"] = json!(r.requirement);
    q["procedure"] = json!(r.procedure);
    q["function"] = json!(r.function);
    q["qualityEvent"] = json!(r.quality_event);
    q["blocking"] = json!(r.blocking);
    q
}

pub fn assignment(a: &Assignment) -> Value {
    json!({
        "id": a.id,
        "registration": a.registration.to_string(),
        "person": a.person,
        "requirement": a.requirement,
        "procedure": a.procedure,
        "version": a.version,
        "function": a.function,
        "qualityEvent": a.quality_event,
        "reason": a.reason.name(),
        "assignedAt": a.assigned_at.to_string(),
        "dueAt": a.due_at.to_string(),
        "status": a.status.name(),
        "closedAt": time(a.closed_at),
        "evidence": a.evidence,
        "effectiveness": a.effectiveness.as_ref().map(|(state, by)| json!({"state": state.name(), "statement": by})),
    })
}

/// A person's printed name as known at `k`, for reports an inspector reads.
pub fn person_name(engine: &Engine, person: &str, k: Timestamp) -> Value {
    json!(engine.person(person, k).and_then(|p| p.name.clone()))
}

pub fn gap(engine: &Engine, g: &Gap, k: Timestamp) -> Value {
    let mut row = requirement(&g.requirement);
    row["person"] = json!(g.person);
    row["name"] = person_name(engine, &g.person, k);
    row["sites"] = json!(g.sites);
    row
}

pub fn expiry(engine: &Engine, e: &Expiry, k: Timestamp) -> Value {
    let mut row = requirement(&e.requirement);
    row["person"] = json!(e.person);
    row["name"] = person_name(engine, &e.person, k);
    row["sites"] = json!(e.sites);
    row
}

//! The JSON the compliance API answers with (docs/compliance.md, docs/openapi-compliance.yaml).
//! Rows are serialized straight from these borrowing structs: a plant-wide report of tens of
//! thousands of rows never becomes a tree of JSON values in memory.
use compliance::{Assignment, Engine, Expiry, Gap, Qualification, RequirementStatus};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

pub fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| json!(t.to_string()))
}

#[derive(Serialize)]
pub struct Rule<'a> {
    id: &'a str,
    version: u32,
}

#[derive(Serialize)]
pub struct Effectiveness<'a> {
    state: &'static str,
    statement: Option<&'a str>,
    score: Option<f64>,
}

fn effectiveness(check: &compliance::Check) -> Effectiveness<'_> {
    Effectiveness {
        state: check.state.name(),
        statement: check.statement.as_deref(),
        score: check.score,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QualificationOut<'a> {
    status: &'static str,
    reason: Option<&'static str>,
    version: Option<&'a str>,
    evidence: &'a [String],
    late_entries: &'a [String],
    rule: Option<Rule<'a>>,
    achieved_at: Option<String>,
    expires_at: Option<String>,
    effectiveness: Option<Effectiveness<'a>>,
    /// Omitted when the rule requires none: report rows stay as they were.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    signatures: Vec<Signed<'a>>,
}

/// An electronic signature's manifestation (regulated.md C1): printed name, time, meaning.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Signed<'a> {
    statement: &'a str,
    signs: Option<&'a str>,
    signer: &'a str,
    printed_name: &'a str,
    signed_at: String,
    meaning: &'static str,
    meaning_text: &'static str,
    record_sha256: &'a str,
}

pub fn signed(s: &compliance::SignedBy) -> Signed<'_> {
    Signed {
        statement: &s.statement,
        signs: s.signs.as_deref(),
        signer: &s.person,
        printed_name: &s.printed_name,
        signed_at: s.signed_at.to_string(),
        meaning: s.meaning.name(),
        meaning_text: s.meaning.text(),
        record_sha256: &s.record_sha256,
    }
}

pub fn qualification_out(q: &Qualification) -> QualificationOut<'_> {
    QualificationOut {
        status: q.status.name(),
        reason: q.reason.map(|r| r.name()),
        version: q.version.as_deref(),
        evidence: &q.evidence,
        late_entries: &q.late_entries,
        rule: q.rule.as_ref().map(|(id, version)| Rule {
            id,
            version: *version,
        }),
        achieved_at: q.achieved_at.map(|t| t.to_string()),
        expires_at: q.expires_at.map(|t| t.to_string()),
        effectiveness: q.effectiveness.as_ref().map(effectiveness),
        signatures: q.signatures.iter().map(signed).collect(),
    }
}

pub fn qualification(q: &Qualification) -> Value {
    serde_json::to_value(qualification_out(q)).unwrap_or(Value::Null)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequirementOut<'a> {
    #[serde(flatten)]
    qualification: QualificationOut<'a>,
    requirement: &'a str,
    procedure: &'a str,
    function: Option<&'a str>,
    quality_event: Option<&'a str>,
    blocking: bool,
}

pub fn requirement_out(r: &RequirementStatus) -> RequirementOut<'_> {
    RequirementOut {
        qualification: qualification_out(&r.qualification),
        requirement: &r.requirement,
        procedure: &r.procedure,
        function: r.function.as_deref(),
        quality_event: r.quality_event.as_deref(),
        blocking: r.blocking,
    }
}

pub fn requirement(r: &RequirementStatus) -> Value {
    serde_json::to_value(requirement_out(r)).unwrap_or(Value::Null)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentOut<'a> {
    id: &'a str,
    registration: String,
    person: &'a str,
    /// The person's name, where a report shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<Option<&'a str>>,
    requirement: &'a str,
    procedure: &'a str,
    version: &'a str,
    function: Option<&'a str>,
    quality_event: Option<&'a str>,
    reason: &'static str,
    assigned_at: String,
    due_at: String,
    status: &'static str,
    closed_at: Option<String>,
    evidence: &'a [String],
    effectiveness: Option<Effectiveness<'a>>,
}

/// An assignment; with its person's name as known at `k` when `engine` is given.
pub fn assignment_out<'a>(
    a: &'a Assignment,
    named: Option<(&'a Engine, Timestamp)>,
) -> AssignmentOut<'a> {
    AssignmentOut {
        id: &a.id,
        registration: a.registration.to_string(),
        person: &a.person,
        name: named.map(|(engine, k)| name_of(engine, &a.person, k)),
        requirement: &a.requirement,
        procedure: &a.procedure,
        version: &a.version,
        function: a.function.as_deref(),
        quality_event: a.quality_event.as_deref(),
        reason: a.reason.name(),
        assigned_at: a.assigned_at.to_string(),
        due_at: a.due_at.to_string(),
        status: a.status.name(),
        closed_at: a.closed_at.map(|t| t.to_string()),
        evidence: &a.evidence,
        effectiveness: a.effectiveness.as_ref().map(effectiveness),
    }
}

fn name_of<'a>(engine: &'a Engine, person: &str, k: Timestamp) -> Option<&'a str> {
    engine.person(person, k).and_then(|p| p.name.as_deref())
}

/// A person's printed name as known at `k`, for reports an inspector reads.
pub fn person_name(engine: &Engine, person: &str, k: Timestamp) -> Value {
    json!(name_of(engine, person, k))
}

#[derive(Serialize)]
pub struct PersonRow<'a> {
    #[serde(flatten)]
    requirement: RequirementOut<'a>,
    person: &'a str,
    name: Option<&'a str>,
    sites: &'a [String],
}

pub fn gap<'a>(engine: &'a Engine, g: &'a Gap, k: Timestamp) -> PersonRow<'a> {
    person_row(engine, &g.person, &g.sites, &g.requirement, k)
}

pub fn expiry<'a>(engine: &'a Engine, e: &'a Expiry, k: Timestamp) -> PersonRow<'a> {
    person_row(engine, &e.person, &e.sites, &e.requirement, k)
}

fn person_row<'a>(
    engine: &'a Engine,
    person: &'a str,
    sites: &'a [String],
    requirement: &'a RequirementStatus,
    k: Timestamp,
) -> PersonRow<'a> {
    PersonRow {
        requirement: requirement_out(requirement),
        person,
        name: name_of(engine, person, k),
        sites,
    }
}

/// A plant-wide report: its filter, instants and rows.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report<'a, R: Serialize> {
    pub site: Option<&'a str>,
    pub function: Option<&'a str>,
    pub at: String,
    pub as_known_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(flatten)]
    pub rows: R,
}

//! The qualification rules (regulated.md 2.3, 2.4) over indexed facts.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::model::{
    CompletionRule, Effectiveness, Evidence, GracePolicy, Interval, MasterData, Meaning,
    Membership, MoveOn, Person, PersonIdentifier, Procedure, ProcedureVersion, QualityEvent,
    Recurrence, Requirement, Scope, Site, TrainingImpact, Verb,
};

mod assignments;
mod completions;
mod reports;

pub use assignments::{Assignment, AssignmentReason, AssignmentStatus};
pub use completions::Completion;
pub use reports::{Expiry, Filter, Gap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Qualified,
    /// Trained on the previous version, inside the new version's grace period.
    QualifiedInGrace,
    /// Trained, and the requirement's effectiveness check has not been taken yet.
    TrainedEffectivenessPending,
    NotQualified,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Qualified => "QUALIFIED",
            Status::QualifiedInGrace => "QUALIFIED_IN_GRACE",
            Status::TrainedEffectivenessPending => "TRAINED_EFFECTIVENESS_PENDING",
            Status::NotQualified => "NOT_QUALIFIED",
        }
    }

    /// The worse of two statuses: what a set of requirements amounts to.
    fn and(self, other: Status) -> Status {
        let rank = |s: Status| match s {
            Status::Qualified => 0,
            Status::TrainedEffectivenessPending => 1,
            Status::QualifiedInGrace => 2,
            Status::NotQualified => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// The state of an effectiveness check on a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectivenessState {
    Pending,
    Passed,
    Failed,
}

/// An effectiveness check as it stands: its state, and the attempt that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub state: EffectivenessState,
    /// The statement of the deciding attempt.
    pub statement: Option<String>,
    /// Its `result.score.scaled`.
    pub score: Option<f64>,
}

impl Check {
    fn of(state: EffectivenessState, by: Option<&Evidence>) -> Check {
        Check {
            state,
            statement: by.map(|e| e.statement_id.clone()),
            score: by.and_then(|e| e.score_scaled),
        }
    }
}

impl EffectivenessState {
    pub fn name(self) -> &'static str {
        match self {
            EffectivenessState::Pending => "PENDING",
            EffectivenessState::Passed => "PASSED",
            EffectivenessState::Failed => "FAILED",
        }
    }
}

/// Why someone is not qualified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    NeverTrained,
    /// Trained only on a version no longer in force.
    VersionSuperseded,
    /// The completion's recurrence period has run out.
    Expired,
    /// The evidence that would qualify was voided (as known at K).
    EvidenceVoided,
    /// No version of the procedure was in force at T.
    NoVersionInForce,
    /// The training's effectiveness check failed; retraining is due.
    EffectivenessFailed,
    /// Not in the job function at T.
    NotInFunction,
    /// No fact known at K names this person.
    UnknownPerson,
    /// The training would count, but an electronic signature its rule requires is missing.
    SignatureMissing,
    /// The training was completed before a prerequisite of its curriculum item was.
    PrereqMissing,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::NeverTrained => "NEVER_TRAINED",
            Reason::VersionSuperseded => "VERSION_SUPERSEDED",
            Reason::Expired => "EXPIRED",
            Reason::EvidenceVoided => "EVIDENCE_VOIDED",
            Reason::NoVersionInForce => "NO_VERSION_IN_FORCE",
            Reason::EffectivenessFailed => "EFFECTIVENESS_FAILED",
            Reason::NotInFunction => "NOT_IN_FUNCTION",
            Reason::UnknownPerson => "UNKNOWN_PERSON",
            Reason::SignatureMissing => "SIGNATURE_MISSING",
            Reason::PrereqMissing => "PREREQ_MISSING",
        }
    }
}

/// The answer for one person and one procedure, with what it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Qualification {
    pub status: Status,
    pub reason: Option<Reason>,
    /// The version in force at T (the one an auditor asks about).
    pub version: Option<String>,
    /// The statements that make up the completion relied on.
    pub evidence: Vec<String>,
    /// Those of them stored later after their `timestamp` than the rule allows (regulated.md A6,
    /// S6): late entries, to be reviewed.
    pub late_entries: Vec<String>,
    /// The effectiveness check on the completion, where the requirement has one, and the
    /// statement that decided it.
    pub effectiveness: Option<Check>,
    /// The completion rule (id, version) the evidence was judged by.
    pub rule: Option<(String, u32)>,
    /// The electronic signatures the completion rests on, as manifested (regulated.md C1).
    pub signatures: Vec<SignedBy>,
    pub achieved_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

/// An electronic signature as every answer shows it (regulated.md C1): the signer's printed
/// name at signing, when, and what it means; `statement` is the signature's own statement.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedBy {
    pub statement: String,
    /// The training statement it signs (none for a procedure version's signature).
    pub signs: Option<String>,
    pub meaning: Meaning,
    pub person: String,
    pub printed_name: String,
    pub signed_at: Timestamp,
    pub record_sha256: String,
}

impl SignedBy {
    fn of(e: &Evidence) -> Option<SignedBy> {
        let s = e.signature.as_deref()?;
        Some(SignedBy {
            statement: e.statement_id.clone(),
            signs: s.of.clone(),
            meaning: s.meaning,
            person: s.person.clone(),
            printed_name: s.printed_name.clone(),
            signed_at: e.timestamp,
            record_sha256: s.record_sha256.clone(),
        })
    }
}

/// An answer that borrows the facts it rests on: cheap to compute many of.
struct Answer<'a> {
    status: Status,
    reason: Option<Reason>,
    version: Option<&'a str>,
    achievement: Option<Achievement<'a>>,
    expires_at: Option<Timestamp>,
    effectiveness: Option<(EffectivenessState, Option<&'a Evidence>)>,
}

impl<'a> Answer<'a> {
    fn not(reason: Reason, version: Option<&'a str>) -> Answer<'a> {
        Answer {
            status: Status::NotQualified,
            reason: Some(reason),
            version,
            achievement: None,
            expires_at: None,
            effectiveness: None,
        }
    }

    fn owned(&self) -> Qualification {
        Qualification {
            status: self.status,
            reason: self.reason,
            version: self.version.map(str::to_string),
            evidence: self
                .achievement
                .as_ref()
                .map(Achievement::statements)
                .unwrap_or_default(),
            late_entries: self
                .achievement
                .as_ref()
                .map(Achievement::late_entries)
                .unwrap_or_default(),
            effectiveness: self.effectiveness.map(|(state, by)| Check::of(state, by)),
            rule: self.achievement.as_ref().map(Achievement::rule),
            signatures: self
                .achievement
                .as_ref()
                .map(|a| {
                    a.signatures
                        .iter()
                        .filter_map(|e| SignedBy::of(e))
                        .collect()
                })
                .unwrap_or_default(),
            achieved_at: self.achievement.as_ref().map(|a| a.at),
            expires_at: self.expires_at,
        }
    }
}

/// A person's standing in a job function: every requirement's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionStatus {
    pub status: Status,
    pub reason: Option<Reason>,
    pub requirements: Vec<(String, Qualification)>,
}

/// One requirement that applies to a person at T, and the answer for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequirementStatus {
    pub requirement: String,
    pub procedure: String,
    /// The job function that brings it, for a function's requirement.
    pub function: Option<String>,
    /// The quality event that brings it, for a quality event's requirement.
    pub quality_event: Option<String>,
    pub blocking: bool,
    pub qualification: Qualification,
}

impl RequirementStatus {
    fn of(r: &Requirement, answer: &Answer<'_>) -> RequirementStatus {
        RequirementStatus {
            requirement: r.id.clone(),
            procedure: r.procedure.clone(),
            function: match &r.scope {
                Scope::Function { function, .. } => Some(function.clone()),
                _ => None,
            },
            quality_event: match &r.scope {
                Scope::QualityEvent { event, .. } => Some(event.clone()),
                _ => None,
            },
            blocking: r.blocking,
            qualification: answer.owned(),
        }
    }
}

/// Everything that applies to a person at T: their functions' requirements, their own, and those
/// of quality events naming them. `status` is the worst of the blocking requirements' answers
/// (NOT_QUALIFIED with UNKNOWN_PERSON for a person no fact names).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonStatus {
    pub status: Status,
    pub reason: Option<Reason>,
    pub functions: Vec<String>,
    pub requirements: Vec<RequirementStatus>,
}

/// The facts, indexed for answering many questions fast.
pub struct Engine {
    /// ifi → the identifier rows naming it.
    identifiers: HashMap<String, Vec<PersonIdentifier>>,
    /// person → their identifier rows.
    person_ifis: HashMap<String, Vec<PersonIdentifier>>,
    memberships: HashMap<String, Vec<Membership>>,
    procedures: HashMap<String, Procedure>,
    rules: HashMap<String, Vec<CompletionRule>>,
    requirements: Vec<Requirement>,
    /// function → indexes into `requirements` of the requirements scoped to it.
    by_function: HashMap<String, Vec<usize>>,
    /// person → indexes into `requirements` naming them (person and quality-event scopes).
    by_person: HashMap<String, Vec<usize>>,
    people: HashMap<String, Vec<Person>>,
    sites: HashMap<String, Vec<Site>>,
    quality_events: HashMap<String, Vec<QualityEvent>>,
    gxp_profiles: Vec<(crate::GxpProfile, Interval)>,
    /// person → their roles.
    roles: HashMap<String, Vec<crate::model::RoleGrant>>,
    /// ifi → activity IRI → evidence, in timestamp order. Each evidence's `ifi` and
    /// `activity_iri` share the keys' strings.
    evidence: HashMap<Arc<str>, HashMap<Arc<str>, Vec<Evidence>>>,
    /// Every activity IRI the evidence names, once.
    iris: HashSet<Arc<str>>,
    /// Signatures on training statements, by the id of the statement they sign.
    signatures: HashMap<String, Vec<Evidence>>,
    /// Signatures on procedure versions, by the version's activity IRI.
    version_signatures: HashMap<String, Vec<Evidence>>,
}

/// One achieved completion (borrowing the facts; owned only in the answer).
#[derive(Debug, Clone)]
struct Achievement<'a> {
    at: Timestamp,
    statements: [Option<&'a Evidence>; 2],
    /// The signature statements the rule requires (empty when it requires none).
    signatures: Vec<&'a Evidence>,
    rule: &'a CompletionRule,
}

impl Achievement<'_> {
    /// The statements it rests on: the training, then its signatures.
    fn statements(&self) -> Vec<String> {
        self.statements
            .iter()
            .flatten()
            .chain(&self.signatures)
            .map(|e| e.statement_id.clone())
            .collect()
    }

    fn late_entries(&self) -> Vec<String> {
        self.statements
            .iter()
            .flatten()
            .filter(|e| {
                e.timestamp
                    .checked_add(self.rule.late_entry)
                    .is_ok_and(|limit| e.stored > limit)
            })
            .map(|e| e.statement_id.clone())
            .collect()
    }

    fn rule(&self) -> (String, u32) {
        (self.rule.id.clone(), self.rule.version)
    }
}

impl Engine {
    /// The same evidence under new master data (facts were recorded): the evidence index is
    /// kept, not rebuilt.
    pub fn with_master(mut self, master: MasterData) -> Engine {
        let mut engine = Engine::new(master, Vec::new());
        engine.evidence = std::mem::take(&mut self.evidence);
        engine.iris = std::mem::take(&mut self.iris);
        engine.signatures = std::mem::take(&mut self.signatures);
        engine.version_signatures = std::mem::take(&mut self.version_signatures);
        engine
    }

    /// Keeps a signature statement where it is looked up; gives back any other evidence.
    fn file_signature(&mut self, e: Evidence) -> Option<Evidence> {
        let Some(signature) = e.signature.as_deref() else {
            return Some(e);
        };
        let list = match &signature.of {
            Some(statement) => self.signatures.entry(statement.clone()).or_default(),
            None => self
                .version_signatures
                .entry(e.activity_iri.to_string())
                .or_default(),
        };
        list.push(e);
        None
    }

    /// Adds one piece of evidence (a statement stored since the engine was built).
    pub fn add_evidence(&mut self, e: Evidence) {
        let Some(mut e) = self.file_signature(e) else {
            return;
        };
        let (ifi, iri) = self.intern(&e.ifi, &e.activity_iri);
        e.ifi = ifi.clone();
        e.activity_iri = iri.clone();
        let list = self
            .evidence
            .entry(ifi)
            .or_default()
            .entry(iri)
            .or_default();
        let at = list.partition_point(|x| (x.timestamp, x.stored) <= (e.timestamp, e.stored));
        list.insert(at, e);
    }

    /// The shared strings for an actor and an activity: the evidence index's own.
    fn intern(&mut self, ifi: &Arc<str>, iri: &Arc<str>) -> (Arc<str>, Arc<str>) {
        let ifi = self
            .evidence
            .get_key_value(&**ifi)
            .map_or_else(|| ifi.clone(), |(k, _)| k.clone());
        let iri = match self.iris.get(&**iri) {
            Some(known) => known.clone(),
            None => {
                self.iris.insert(iri.clone());
                iri.clone()
            }
        };
        (ifi, iri)
    }

    /// Records that the statement `target` (whose evidence is `voided`) was voided at `at`.
    pub fn void(&mut self, voided: &Evidence, at: Timestamp) {
        if let Some(e) = self
            .evidence
            .get_mut(&*voided.ifi)
            .and_then(|by_iri| by_iri.get_mut(&*voided.activity_iri))
            .and_then(|list| {
                list.iter_mut()
                    .find(|e| e.statement_id == voided.statement_id)
            })
            && e.voided.is_none_or(|v| v > at)
        {
            e.voided = Some(at);
        }
    }

    /// How many pieces of evidence the engine holds.
    pub fn evidence_count(&self) -> usize {
        self.evidence
            .values()
            .flat_map(|by_iri| by_iri.values())
            .map(Vec::len)
            .sum()
    }

    pub fn new(master: MasterData, evidence: Vec<Evidence>) -> Engine {
        let mut engine = Engine {
            identifiers: HashMap::new(),
            person_ifis: HashMap::new(),
            memberships: HashMap::new(),
            procedures: HashMap::new(),
            rules: HashMap::new(),
            requirements: master.requirements,
            by_function: HashMap::new(),
            by_person: HashMap::new(),
            people: HashMap::new(),
            sites: HashMap::new(),
            quality_events: HashMap::new(),
            gxp_profiles: master.gxp_profiles,
            roles: HashMap::new(),
            evidence: HashMap::new(),
            iris: HashSet::new(),
            signatures: HashMap::new(),
            version_signatures: HashMap::new(),
        };
        for id in master.identifiers {
            engine
                .identifiers
                .entry(id.ifi.clone())
                .or_default()
                .push(id.clone());
            engine
                .person_ifis
                .entry(id.person.clone())
                .or_default()
                .push(id);
        }
        for m in master.memberships {
            engine
                .memberships
                .entry(m.person.clone())
                .or_default()
                .push(m);
        }
        for mut p in master.procedures {
            p.versions.sort_by_key(|v| v.effective_from);
            engine.procedures.insert(p.id.clone(), p);
        }
        for r in master.rules {
            engine.rules.entry(r.id.clone()).or_default().push(r);
        }
        for list in engine.rules.values_mut() {
            list.sort_by_key(|r| (r.effective_from, r.version));
        }
        for (i, r) in engine.requirements.iter().enumerate() {
            match &r.scope {
                Scope::Function { function, .. } => engine
                    .by_function
                    .entry(function.clone())
                    .or_default()
                    .push(i),
                Scope::Person(person) => {
                    engine.by_person.entry(person.clone()).or_default().push(i)
                }
                Scope::QualityEvent { persons, .. } => {
                    for person in persons {
                        engine.by_person.entry(person.clone()).or_default().push(i);
                    }
                }
            }
        }
        for p in master.people {
            engine.people.entry(p.id.clone()).or_default().push(p);
        }
        for r in master.roles {
            engine.roles.entry(r.person.clone()).or_default().push(r);
        }
        for site in master.sites {
            engine.sites.entry(site.id.clone()).or_default().push(site);
        }
        for qe in master.quality_events {
            engine
                .quality_events
                .entry(qe.id.clone())
                .or_default()
                .push(qe);
        }
        // Sorted first, so each (actor, activity) list is allocated once at its exact length:
        // pushing one by one would leave most of them with room for four, mostly unused.
        let mut evidence: Vec<Evidence> = evidence
            .into_iter()
            .filter_map(|e| engine.file_signature(e))
            .collect();
        evidence.sort_unstable_by(|a, b| {
            (&a.ifi, &a.activity_iri, a.timestamp, a.stored).cmp(&(
                &b.ifi,
                &b.activity_iri,
                b.timestamp,
                b.stored,
            ))
        });
        let mut rest = evidence.into_iter().peekable();
        while let Some(first) = rest.next() {
            let mut list = vec![first];
            while let Some(next) =
                rest.next_if(|e| e.ifi == list[0].ifi && e.activity_iri == list[0].activity_iri)
            {
                list.push(next);
            }
            list.shrink_to_fit();
            let (ifi, iri) = engine.intern(&list[0].ifi, &list[0].activity_iri);
            for e in &mut list {
                e.ifi = ifi.clone();
                e.activity_iri = iri.clone();
            }
            engine.evidence.entry(ifi).or_default().insert(iri, list);
        }
        engine
    }

    /// A person's master record as known at `k`.
    pub fn person(&self, id: &str, k: Timestamp) -> Option<&Person> {
        self.people.get(id)?.iter().find(|p| p.recorded.contains(k))
    }

    /// The GxP void policy as known at `k`.
    pub fn gxp_profile(&self, k: Timestamp) -> Option<&crate::GxpProfile> {
        self.gxp_profiles
            .iter()
            .find(|(_, recorded)| recorded.contains(k))
            .map(|(p, _)| p)
    }

    /// A site as known at `k`.
    pub fn site(&self, id: &str, k: Timestamp) -> Option<&Site> {
        self.sites.get(id)?.iter().find(|s| s.recorded.contains(k))
    }

    /// A quality event as known at `k`.
    pub fn quality_event(&self, id: &str, k: Timestamp) -> Option<&QualityEvent> {
        self.quality_events
            .get(id)?
            .iter()
            .find(|q| q.recorded.contains(k))
    }

    /// The requirements a quality event brings, as known at `k`.
    pub fn requirements_of_event(&self, event: &str, k: Timestamp) -> Vec<&Requirement> {
        self.requirements
            .iter()
            .filter(|r| {
                r.recorded.contains(k)
                    && matches!(&r.scope, Scope::QualityEvent { event: e, .. } if e == event)
            })
            .collect()
    }

    /// Is `person` qualified for `procedure` at `t` as known at `k`, under the requirement that
    /// asks it of them (a function's or their own before a quality event's; grace, recurrence
    /// and effectiveness come from it)? Without one, under no grace and no expiry. Also returns
    /// the requirement's id.
    pub fn procedure_answer(
        &self,
        person: &str,
        procedure: &str,
        t: Timestamp,
        k: Timestamp,
    ) -> (Qualification, Option<String>) {
        let ifis = self.ifis_of(person, k);
        let mut applying = self.applying(person, t, k);
        applying.retain(|r| r.procedure == procedure);
        // A quality event's retraining is asked about only where no standing requirement is.
        if applying
            .iter()
            .any(|r| !matches!(r.scope, Scope::QualityEvent { .. }))
        {
            applying.retain(|r| !matches!(r.scope, Scope::QualityEvent { .. }));
        }
        applying.sort_by(|a, b| a.id.cmp(&b.id));
        // Several requirements ask it: qualified only as far as every one of them allows.
        let worst = applying
            .iter()
            .map(|r| (r, self.requirement_answer(&ifis, r, t, k)))
            .reduce(|worst, next| {
                if worst.1.status.and(next.1.status) == worst.1.status {
                    worst
                } else {
                    next
                }
            });
        match worst {
            Some((r, answer)) => (answer.owned(), Some(r.id.clone())),
            None => (
                self.status_for(
                    &ifis,
                    procedure,
                    GracePolicy::TrainBeforeEffective,
                    Recurrence::None,
                    None,
                    t,
                    k,
                )
                .owned(),
                None,
            ),
        }
    }

    /// Whether any fact known at `k` names `person`.
    pub fn knows(&self, person: &str, k: Timestamp) -> bool {
        self.person_ifis
            .get(person)
            .is_some_and(|ids| ids.iter().any(|id| id.recorded.contains(k)))
            || self
                .memberships
                .get(person)
                .is_some_and(|ms| ms.iter().any(|m| m.recorded.contains(k)))
            || self.person(person, k).is_some()
            || self.by_person.get(person).is_some_and(|rs| {
                rs.iter()
                    .any(|&i| self.requirements[i].recorded.contains(k))
            })
    }

    /// Everyone the facts known at `k` name, sorted.
    pub fn persons(&self, k: Timestamp) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .person_ifis
            .iter()
            .filter(|(_, ids)| ids.iter().any(|id| id.recorded.contains(k)))
            .map(|(p, _)| p.as_str())
            .chain(
                self.memberships
                    .iter()
                    .filter(|(_, ms)| ms.iter().any(|m| m.recorded.contains(k)))
                    .map(|(p, _)| p.as_str()),
            )
            .chain(
                self.people
                    .iter()
                    .filter(|(_, ps)| ps.iter().any(|p| p.recorded.contains(k)))
                    .map(|(p, _)| p.as_str()),
            )
            .chain(
                self.by_person
                    .iter()
                    .filter(|(_, rs)| {
                        rs.iter()
                            .any(|&i| self.requirements[i].recorded.contains(k))
                    })
                    .map(|(p, _)| p.as_str()),
            )
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The person an IFI named, as known at `k`.
    pub fn person_of(&self, ifi: &str, k: Timestamp) -> Option<&str> {
        self.identifiers
            .get(ifi)?
            .iter()
            .find(|id| id.recorded.contains(k))
            .map(|id| id.person.as_str())
    }

    /// Is `person` qualified for `procedure` at `t`, as known at `k`? `grace` and `recurrence`
    /// come from the requirement that asks.
    pub fn procedure_status(
        &self,
        person: &str,
        procedure: &str,
        grace: GracePolicy,
        recurrence: Recurrence,
        t: Timestamp,
        k: Timestamp,
    ) -> Qualification {
        let ifis = self.ifis_of(person, k);
        self.status_for(&ifis, procedure, grace, recurrence, None, t, k)
            .owned()
    }

    /// The identifiers of `person` known at `k`.
    fn ifis_of(&self, person: &str, k: Timestamp) -> Vec<&str> {
        self.person_ifis
            .get(person)
            .map(|ids| {
                ids.iter()
                    .filter(|id| id.recorded.contains(k))
                    .map(|id| id.ifi.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The answer for one requirement: a quality event's counts only training after it starts,
    /// and a requirement with an effectiveness check waits for it.
    fn requirement_answer<'a>(
        &'a self,
        ifis: &[&str],
        r: &'a Requirement,
        t: Timestamp,
        k: Timestamp,
    ) -> Answer<'a> {
        let since = match r.scope {
            Scope::QualityEvent { .. } => Some(r.valid.from),
            _ => None,
        };
        let mut answer = self.status_for(ifis, &r.procedure, r.grace, r.recurrence, since, t, k);
        // A curriculum item counts only when its prerequisites were completed first (B3).
        if let Some(achievement) = &answer.achievement
            && answer.status != Status::NotQualified
            && !r
                .prerequisites
                .iter()
                .all(|p| self.completed_by(ifis, p, achievement.at, k))
        {
            answer.status = Status::NotQualified;
            answer.reason = Some(Reason::PrereqMissing);
            answer.expires_at = None;
            return answer;
        }
        if let (Some(check), Some(achievement)) = (&r.effectiveness, &answer.achievement)
            && answer.status != Status::NotQualified
        {
            let (state, by) = self.effectiveness(ifis, check, achievement.at, t, k);
            answer.effectiveness = Some((state, by));
            match state {
                EffectivenessState::Pending => answer.status = Status::TrainedEffectivenessPending,
                EffectivenessState::Failed => {
                    answer.status = Status::NotQualified;
                    answer.reason = Some(Reason::EffectivenessFailed);
                }
                EffectivenessState::Passed => {}
            }
        }
        answer
    }

    /// Whether these identifiers completed any version of `procedure` by `at`, as known at `k`.
    fn completed_by(&self, ifis: &[&str], procedure: &str, at: Timestamp, k: Timestamp) -> bool {
        self.procedures.get(procedure).is_some_and(|p| {
            let known: Vec<&ProcedureVersion> = p
                .versions
                .iter()
                .filter(|v| v.recorded.contains(k))
                .collect();
            self.latest(ifis, &known, Recurrence::None, None, at, k)
                .is_some()
        })
    }

    /// The effectiveness check of a completion achieved at `completed`: the first pass or fail
    /// on the check's activity at least `after` later decides it.
    fn effectiveness<'a>(
        &'a self,
        ifis: &[&str],
        check: &Effectiveness,
        completed: Timestamp,
        t: Timestamp,
        k: Timestamp,
    ) -> (EffectivenessState, Option<&'a Evidence>) {
        let Ok(from) = completed.checked_add(check.after) else {
            return (EffectivenessState::Pending, None);
        };
        let attempt = self
            .evidence_on(ifis, &check.activity_iri)
            .into_iter()
            .find(|e| {
                e.known_at(k)
                    && e.timestamp >= from
                    && e.timestamp <= t
                    && matches!(e.verb, Verb::Passed | Verb::Failed)
            });
        match attempt {
            None => (EffectivenessState::Pending, None),
            Some(e)
                if e.verb == Verb::Passed && e.score_scaled.is_some_and(|s| s >= check.mastery) =>
            {
                (EffectivenessState::Passed, Some(e))
            }
            Some(e) => (EffectivenessState::Failed, Some(e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn status_for<'a>(
        &'a self,
        ifis: &[&str],
        procedure: &str,
        grace: GracePolicy,
        recurrence: Recurrence,
        since: Option<Timestamp>,
        t: Timestamp,
        k: Timestamp,
    ) -> Answer<'a> {
        let Some(procedure) = self.procedures.get(procedure) else {
            return Answer::not(Reason::NoVersionInForce, None);
        };
        let known: Vec<&ProcedureVersion> = procedure
            .versions
            .iter()
            .filter(|v| v.recorded.contains(k))
            .collect();
        let Some(in_force) = known.iter().rposition(|v| v.effective_from <= t) else {
            return Answer::not(Reason::NoVersionInForce, None);
        };
        let version = Some(known[in_force].version.as_str());
        // Editorial versions carry qualification over: training counts from the last version
        // that required it.
        let required = (0..=in_force)
            .rev()
            .find(|&i| known[i].impact != TrainingImpact::None)
            .unwrap_or(0);

        let current = self.latest(ifis, &known[required..=in_force], recurrence, since, t, k);
        if let Some((achievement, expires)) = &current
            && expires.is_none_or(|e| t < e)
        {
            return Answer {
                status: Status::Qualified,
                reason: None,
                version,
                achievement: Some(achievement.clone()),
                expires_at: *expires,
                effectiveness: None,
            };
        }
        // An expired completion still counts inside the recurrence's grace after it fell due.
        if let (Some((achievement, Some(expired))), Recurrence::Relative { grace, .. }) =
            (&current, recurrence)
            && grace > SignedDuration::ZERO
            && let Ok(end) = expired.checked_add(grace)
            && t < end
        {
            return Answer {
                status: Status::QualifiedInGrace,
                reason: None,
                version,
                achievement: Some(achievement.clone()),
                expires_at: Some(end),
                effectiveness: None,
            };
        }
        // The previous version still counts inside the grace period of the one in force.
        let previous_group = (0..required)
            .rev()
            .find(|&i| known[i].impact != TrainingImpact::None);
        if let (GracePolicy::GraceDays(days), Some(previous)) = (grace, previous_group) {
            let ends = known[required]
                .effective_from
                .checked_add(SignedDuration::from_hours(24 * days))
                .ok();
            if ends.is_some_and(|end| t < end)
                && let Some((achievement, expires)) =
                    self.latest(ifis, &known[previous..required], recurrence, since, t, k)
                && expires.is_none_or(|e| t < e)
            {
                return Answer {
                    status: Status::QualifiedInGrace,
                    reason: None,
                    version,
                    achievement: Some(achievement),
                    // Whichever runs out first: the grace period or the old completion.
                    expires_at: [ends, expires].into_iter().flatten().min(),
                    effectiveness: None,
                };
            }
        }
        let reason = if current.is_some() {
            Reason::Expired
        } else if self
            .latest(ifis, &known[..required], Recurrence::None, since, t, k)
            .is_some()
        {
            Reason::VersionSuperseded
        } else if self.would_count(ifis, &known[required..=in_force], since, t, k, true) {
            Reason::EvidenceVoided
        } else if self.would_count(ifis, &known[required..=in_force], since, t, k, false) {
            Reason::SignatureMissing
        } else {
            Reason::NeverTrained
        };
        Answer::not(reason, version)
    }

    /// `person`'s memberships of `function` valid at `t`, as known at `k`.
    fn memberships_at<'a>(
        &'a self,
        person: &str,
        t: Timestamp,
        k: Timestamp,
    ) -> impl Iterator<Item = &'a Membership> {
        self.memberships
            .get(person)
            .into_iter()
            .flatten()
            .filter(move |m| m.valid.contains(t) && m.recorded.contains(k))
    }

    /// Does requirement `r` apply to `person` at `t`, as known at `k`? For a function's
    /// requirement, the membership that brings it.
    fn applies(&self, r: &Requirement, person: &str, t: Timestamp, k: Timestamp) -> bool {
        if !(r.valid.contains(t) && r.recorded.contains(k)) {
            return false;
        }
        match &r.scope {
            Scope::Function { function, site } => self.memberships_at(person, t, k).any(|m| {
                m.function == *function && site.as_ref().is_none_or(|s| m.site.as_ref() == Some(s))
            }),
            Scope::Person(p) => p == person,
            Scope::QualityEvent { persons, .. } => persons.iter().any(|p| p == person),
        }
    }

    /// The requirements of `function` that apply at `t` as known at `k` (site-scoped ones only
    /// where `person` holds the function at that site).
    fn function_requirements<'a>(
        &'a self,
        person: &'a str,
        function: &'a str,
        t: Timestamp,
        k: Timestamp,
    ) -> impl Iterator<Item = &'a Requirement> {
        self.by_function
            .get(function)
            .into_iter()
            .flatten()
            .map(|&i| &self.requirements[i])
            .filter(move |r| self.applies(r, person, t, k))
    }

    fn is_member(&self, person: &str, function: &str, t: Timestamp, k: Timestamp) -> bool {
        self.memberships_at(person, t, k)
            .any(|m| m.function == function)
    }

    /// Only the overall status of [`Engine::function_status`], without the per-requirement
    /// detail: what gap reports over a whole plant need, computed without copying any evidence.
    pub fn function_summary(
        &self,
        person: &str,
        function: &str,
        t: Timestamp,
        k: Timestamp,
    ) -> Status {
        if !self.is_member(person, function, t, k) {
            return Status::NotQualified;
        }
        let ifis = self.ifis_of(person, k);
        let mut overall = Status::Qualified;
        for r in self
            .function_requirements(person, function, t, k)
            .filter(|r| r.blocking)
        {
            overall = overall.and(self.requirement_answer(&ifis, r, t, k).status);
            if overall == Status::NotQualified {
                break;
            }
        }
        overall
    }

    /// Is `person` qualified for everything `function` requires at `t`, as known at `k`?
    pub fn function_status(
        &self,
        person: &str,
        function: &str,
        t: Timestamp,
        k: Timestamp,
    ) -> FunctionStatus {
        let member = self.is_member(person, function, t, k);
        let ifis = self.ifis_of(person, k);
        // Someone not in the function at T is answered for every requirement it has then.
        let requirements: Vec<&Requirement> = if member {
            self.function_requirements(person, function, t, k).collect()
        } else {
            self.by_function
                .get(function)
                .into_iter()
                .flatten()
                .map(|&i| &self.requirements[i])
                .filter(|r| r.valid.contains(t) && r.recorded.contains(k))
                .collect()
        };
        let answers: Vec<(String, Qualification)> = requirements
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    self.requirement_answer(&ifis, r, t, k).owned(),
                )
            })
            .collect();
        // Only blocking requirements decide the overall status (non-blocking ones are listed).
        let status = requirements
            .iter()
            .zip(&answers)
            .filter(|(r, _)| r.blocking)
            .fold(Status::Qualified, |s, (_, (_, q))| s.and(q.status));
        let (status, reason) = if member {
            (status, None)
        } else {
            (Status::NotQualified, Some(Reason::NotInFunction))
        };
        FunctionStatus {
            status,
            reason,
            requirements: answers,
        }
    }

    /// The requirements that apply to `person` at `t` as known at `k`, each once: those of their
    /// functions, their own, and those of quality events naming them.
    fn applying<'a>(&'a self, person: &str, t: Timestamp, k: Timestamp) -> Vec<&'a Requirement> {
        let mut indexes: Vec<usize> = self
            .functions_of(person, t, k)
            .iter()
            .flat_map(|f| self.by_function.get(*f).into_iter().flatten())
            .chain(self.by_person.get(person).into_iter().flatten())
            .copied()
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes
            .into_iter()
            .map(|i| &self.requirements[i])
            .filter(|r| self.applies(r, person, t, k))
            .collect()
    }

    /// Each requirement that applies to `person` at `t` as known at `k`, with its answer (in
    /// the borrowed form: cheap for reports that keep only some).
    fn answers<'a>(
        &'a self,
        person: &str,
        t: Timestamp,
        k: Timestamp,
    ) -> Vec<(&'a Requirement, Answer<'a>)> {
        let ifis = self.ifis_of(person, k);
        self.applying(person, t, k)
            .into_iter()
            .map(|r| (r, self.requirement_answer(&ifis, r, t, k)))
            .collect()
    }

    /// Everything that applies to `person` at `t` as known at `k`, answered.
    pub fn person_status(&self, person: &str, t: Timestamp, k: Timestamp) -> PersonStatus {
        let requirements: Vec<RequirementStatus> = self
            .answers(person, t, k)
            .iter()
            .map(|(r, answer)| RequirementStatus::of(r, answer))
            .collect();
        let status = requirements
            .iter()
            .filter(|r| r.blocking)
            .fold(Status::Qualified, |s, r| s.and(r.qualification.status));
        let known = self.knows(person, k);
        PersonStatus {
            status: if known { status } else { Status::NotQualified },
            reason: (!known).then_some(Reason::UnknownPerson),
            functions: self
                .functions_of(person, t, k)
                .into_iter()
                .map(str::to_string)
                .collect(),
            requirements,
        }
    }

    /// The functions `person` belongs to at `t`, as known at `k`.
    pub fn functions_of(&self, person: &str, t: Timestamp, k: Timestamp) -> Vec<&str> {
        let mut functions: Vec<&str> = self
            .memberships_at(person, t, k)
            .map(|m| m.function.as_str())
            .collect();
        functions.sort_unstable();
        functions.dedup();
        functions
    }

    /// The sites `person` works at at `t`, as known at `k`.
    pub fn sites_of(&self, person: &str, t: Timestamp, k: Timestamp) -> Vec<&str> {
        let mut sites: Vec<&str> = self
            .memberships_at(person, t, k)
            .filter_map(|m| m.site.as_deref())
            .collect();
        sites.sort_unstable();
        sites.dedup();
        sites
    }

    /// The evidence of these identifiers on one activity, in timestamp order.
    fn evidence_on<'a>(&'a self, ifis: &[&str], iri: &str) -> Vec<&'a Evidence> {
        let mut found: Vec<&Evidence> = ifis
            .iter()
            .filter_map(|ifi| self.evidence.get(*ifi)?.get(iri))
            .flatten()
            .collect();
        if ifis.len() > 1 {
            found.sort_by_key(|e| e.timestamp);
        }
        found
    }

    /// The latest completion on any of `versions` achieved by `t` as known at `k`, with its expiry.
    fn latest<'a>(
        &'a self,
        ifis: &[&str],
        versions: &[&'a ProcedureVersion],
        recurrence: Recurrence,
        since: Option<Timestamp>,
        t: Timestamp,
        k: Timestamp,
    ) -> Option<(Achievement<'a>, Option<Timestamp>)> {
        self.renewals(ifis, versions, recurrence, since, t, k).pop()
    }

    /// Every completion on any of `versions` achieved in `[since, t]` as known at `k`, in order,
    /// each with the expiry it sets.
    fn renewals<'a>(
        &'a self,
        ifis: &[&str],
        versions: &[&'a ProcedureVersion],
        recurrence: Recurrence,
        since: Option<Timestamp>,
        t: Timestamp,
        k: Timestamp,
    ) -> Vec<(Achievement<'a>, Option<Timestamp>)> {
        let mut achievements: Vec<Achievement<'a>> = Vec::new();
        for version in versions {
            let evidence: Vec<&Evidence> = self
                .evidence_on(ifis, &version.activity_iri)
                .into_iter()
                .filter(|e| {
                    e.known_at(k) && e.timestamp <= t && since.is_none_or(|s| e.timestamp >= s)
                })
                .collect();
            self.achievements(&version.rule, &evidence, t, k, true, &mut achievements);
        }
        // In time order: across versions, and within one where signatures made a completion
        // achieved later than the attempt after it.
        achievements.sort_by_key(|a| a.at);
        // Each achievement renews the qualification; one inside the early window extends from
        // the old expiry (regulated.md 2.4).
        let mut expires: Option<Timestamp> = None;
        let mut out = Vec::with_capacity(achievements.len());
        for a in achievements {
            expires = match recurrence {
                Recurrence::None => None,
                Recurrence::Relative {
                    every,
                    early_window,
                    ..
                } => {
                    let from = match expires {
                        Some(old)
                            if a.at < old
                                && old.checked_sub(early_window).is_ok_and(|w| a.at >= w) =>
                        {
                            old
                        }
                        _ => a.at,
                    };
                    every.after(from)
                }
            };
            out.push((a, expires));
        }
        out
    }

    /// The completions a run of evidence amounts to under the rule in force at each attempt,
    /// each once the signatures its rule requires are signed by `t` (unless `signed` is false:
    /// what would count if they were).
    fn achievements<'a>(
        &'a self,
        rule_id: &str,
        evidence: &[&'a Evidence],
        t: Timestamp,
        k: Timestamp,
        signed: bool,
        out: &mut Vec<Achievement<'a>>,
    ) {
        let mut push = |statements: [Option<&'a Evidence>; 2], rule: &'a CompletionRule| {
            let at = statements.iter().flatten().map(|e| e.timestamp).max();
            let Some(at) = at else { return };
            // A waiver needs QA's approval instead of the training's own signatures.
            let needed: &[Meaning] = if statements[0].is_some_and(|e| e.verb == Verb::Waived) {
                &[Meaning::WaiverApproved]
            } else {
                &rule.signatures
            };
            if !signed || needed.is_empty() {
                out.push(Achievement {
                    at,
                    statements,
                    signatures: Vec::new(),
                    rule,
                });
            } else if let Some(signatures) = self.signed(&statements, needed, rule, t, k) {
                let at = signatures
                    .iter()
                    .map(|s| s.timestamp)
                    .fold(at, Timestamp::max);
                out.push(Achievement {
                    at,
                    statements,
                    signatures,
                    rule,
                });
            }
        };
        let mut completed: Option<&Evidence> = None;
        let mut passed: Option<&Evidence> = None;
        for e in evidence {
            let Some(rule) = self.rule_at(rule_id, e.timestamp, k) else {
                continue;
            };
            if e.verb == Verb::Waived {
                if e.waiver
                    .as_deref()
                    .is_some_and(|r| rule.waiver_reasons.iter().any(|allowed| allowed == r))
                {
                    push([Some(e), None], rule);
                }
                continue;
            }
            if let Some(procedure) = &rule.instructor_for
                && !self.instructor_qualified(e, procedure, k)
            {
                continue;
            }
            // A view or an attendance completes only what its signature makes a record of: the
            // learner's READ_AND_UNDERSTOOD, the trainer's verification (regulated.md 2.3).
            let is_completed = match e.verb {
                Verb::Completed => true,
                Verb::Satisfied => rule.accept_satisfied,
                Verb::Experienced => rule.signatures.contains(&Meaning::ReadAndUnderstood),
                Verb::Attended => rule
                    .signatures
                    .contains(&Meaning::TrainerVerifiedPerformance),
                _ => false,
            };
            let is_passed = e.verb == Verb::Passed
                && rule
                    .mastery
                    .is_none_or(|m| e.score_scaled.is_some_and(|s| s >= m));
            let counts = match rule.move_on {
                MoveOn::Completed => is_completed,
                MoveOn::Passed => is_passed,
                MoveOn::CompletedOrPassed => is_completed || is_passed,
                MoveOn::CompletedAndPassed => {
                    if is_completed {
                        completed = Some(e);
                    }
                    if is_passed {
                        passed = Some(e);
                    }
                    if let (Some(c), Some(p)) = (completed, passed)
                        && (is_completed || is_passed)
                    {
                        push([Some(c), Some(p)], rule);
                    }
                    false
                }
            };
            if counts {
                push([Some(e), None], rule);
            }
        }
    }

    /// Whether the attempt's `context.instructor` names a person qualified for `procedure` at
    /// the attempt, as known at `k`.
    fn instructor_qualified(&self, e: &Evidence, procedure: &str, k: Timestamp) -> bool {
        e.instructor
            .as_deref()
            .and_then(|i| self.person_of(i, k))
            .is_some_and(|trainer| self.trainer_qualified(trainer, procedure, e.timestamp, k))
    }

    /// Whether `trainer` was qualified for `procedure` at `at`, as known at `k`. Trainers' own
    /// trainers are checked too, a few levels deep (a cycle of trainer requirements ends there,
    /// unqualified).
    fn trainer_qualified(
        &self,
        trainer: &str,
        procedure: &str,
        at: Timestamp,
        k: Timestamp,
    ) -> bool {
        thread_local! {
            static DEPTH: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
        }
        DEPTH.with(|depth| {
            if depth.get() >= 4 {
                return false;
            }
            depth.set(depth.get() + 1);
            let status = self.procedure_answer(trainer, procedure, at, k).0.status;
            depth.set(depth.get() - 1);
            status != Status::NotQualified
        })
    }

    /// For each signature `rule` requires, one on these statements signed by `t` and known at
    /// `k` by someone who may sign it (regulated.md B2): the learner reads and understands;
    /// a trainer (qualified, where the rule names a trainer procedure) or QA is not the learner.
    fn signed<'a>(
        &'a self,
        statements: &[Option<&'a Evidence>; 2],
        needed: &[Meaning],
        rule: &CompletionRule,
        t: Timestamp,
        k: Timestamp,
    ) -> Option<Vec<&'a Evidence>> {
        let learner = statements
            .iter()
            .flatten()
            .next()
            .and_then(|e| self.person_of(&e.ifi, k))?;
        // A signature vouches for the record as it stood when signed: it must be stored after
        // the latest of the statements was (regulated.md 2.3: read and understood after the
        // view), so an old signature does not carry over to a new pair of attempts. Both are
        // LRS times: a device clock running ahead cannot make a signature look too early.
        let latest = statements.iter().flatten().map(|e| e.stored).max()?;
        needed
            .iter()
            .map(|&meaning| {
                statements
                    .iter()
                    .flatten()
                    .filter_map(|e| self.signatures.get(&e.statement_id))
                    .flatten()
                    .find(|s| {
                        s.known_at(k)
                            && s.timestamp <= t
                            && s.stored >= latest
                            && s.signature.as_deref().is_some_and(|sig| {
                                sig.meaning == meaning
                                    && match meaning {
                                        Meaning::ReadAndUnderstood => sig.person == learner,
                                        Meaning::TrainerVerifiedPerformance => {
                                            sig.person != learner
                                                && rule.instructor_for.as_deref().is_none_or(|p| {
                                                    self.trainer_qualified(
                                                        &sig.person,
                                                        p,
                                                        s.timestamp,
                                                        k,
                                                    )
                                                })
                                        }
                                        Meaning::QaApproved | Meaning::WaiverApproved => {
                                            sig.person != learner
                                                && self.holds(
                                                    &sig.person,
                                                    crate::model::Role::Qa,
                                                    s.timestamp,
                                                    k,
                                                )
                                        }
                                        Meaning::Approved | Meaning::NoTrainingRequired => false,
                                    }
                            })
                    })
            })
            .collect()
    }

    /// The signatures on a training statement, or on a procedure version (by its activity IRI),
    /// known at `k`, oldest first.
    pub fn signatures_on(&self, statement_or_iri: &str, k: Timestamp) -> Vec<SignedBy> {
        let mut found: Vec<SignedBy> = self
            .signatures
            .get(statement_or_iri)
            .into_iter()
            .chain(self.version_signatures.get(statement_or_iri))
            .flatten()
            .filter(|s| s.stored <= k)
            .filter_map(SignedBy::of)
            .collect();
        found.sort_by(|a, b| (a.signed_at, &a.statement).cmp(&(b.signed_at, &b.statement)));
        found
    }

    /// The procedure and version whose activity IRI this is, as known at `k`.
    pub fn version_of(&self, iri: &str, k: Timestamp) -> Option<(&Procedure, &ProcedureVersion)> {
        self.procedures.values().find_map(|p| {
            p.versions
                .iter()
                .find(|v| v.activity_iri == iri && v.recorded.contains(k))
                .map(|v| (p, v))
        })
    }

    /// A procedure's version as known at `k`.
    pub fn procedure_version(
        &self,
        procedure: &str,
        version: &str,
        k: Timestamp,
    ) -> Option<&ProcedureVersion> {
        self.procedures
            .get(procedure)?
            .versions
            .iter()
            .find(|v| v.version == version && v.recorded.contains(k))
    }

    /// Whether `person` held `role` at `t`, as known at `k`.
    pub fn holds(
        &self,
        person: &str,
        role: crate::model::Role,
        t: Timestamp,
        k: Timestamp,
    ) -> bool {
        self.roles.get(person).is_some_and(|grants| {
            grants
                .iter()
                .any(|g| g.role == role && g.valid.contains(t) && g.recorded.contains(k))
        })
    }

    /// The xAPI identifiers (IFI keys) of `person` known at `k`.
    pub fn identifiers_of(&self, person: &str, k: Timestamp) -> Vec<&str> {
        self.ifis_of(person, k)
    }

    /// One version of a rule, whenever it was known.
    pub fn rule_version(&self, id: &str, version: u32) -> Option<&CompletionRule> {
        self.rules.get(id)?.iter().rfind(|r| r.version == version)
    }

    /// The version of a rule in force at `at`, as known at `k`.
    fn rule_at(&self, id: &str, at: Timestamp, k: Timestamp) -> Option<&CompletionRule> {
        self.rules
            .get(id)?
            .iter()
            .rfind(|r| r.effective_from <= at && r.recorded.contains(k))
    }

    /// Whether evidence would have qualified: with `voided`, the evidence voided as of `k`;
    /// without, the evidence known at `k` had it been signed as its rule requires.
    fn would_count(
        &self,
        ifis: &[&str],
        versions: &[&ProcedureVersion],
        since: Option<Timestamp>,
        t: Timestamp,
        k: Timestamp,
        voided: bool,
    ) -> bool {
        versions.iter().any(|version| {
            let evidence: Vec<&Evidence> = self
                .evidence_on(ifis, &version.activity_iri)
                .into_iter()
                .filter(|e| {
                    e.stored <= k
                        && e.voided.is_some_and(|v| v <= k) == voided
                        && e.timestamp <= t
                        && since.is_none_or(|s| e.timestamp >= s)
                })
                .collect();
            let mut found = Vec::new();
            self.achievements(&version.rule, &evidence, t, k, voided, &mut found);
            !found.is_empty()
        })
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod assignment_tests;

//! The qualification rules (regulated.md 2.3, 2.4) over indexed facts.
use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use crate::model::{
    CompletionRule, Evidence, GracePolicy, Membership, MoveOn, PersonIdentifier, Procedure,
    ProcedureVersion, Recurrence, Requirement, TrainingImpact, Verb,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Qualified,
    /// Trained on the previous version, inside the new version's grace period.
    QualifiedInGrace,
    NotQualified,
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
    /// The completion rule (id, version) the evidence was judged by.
    pub rule: Option<(String, u32)>,
    pub achieved_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

/// An answer that borrows the facts it rests on: cheap to compute many of.
struct Answer<'a> {
    status: Status,
    reason: Option<Reason>,
    version: Option<&'a str>,
    achievement: Option<Achievement<'a>>,
    expires_at: Option<Timestamp>,
}

impl<'a> Answer<'a> {
    fn not(reason: Reason, version: Option<&'a str>) -> Answer<'a> {
        Answer {
            status: Status::NotQualified,
            reason: Some(reason),
            version,
            achievement: None,
            expires_at: None,
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
            rule: self.achievement.as_ref().map(Achievement::rule),
            achieved_at: self.achievement.as_ref().map(|a| a.at),
            expires_at: self.expires_at,
        }
    }
}

/// A person's standing in a job function: every requirement's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionStatus {
    pub status: Status,
    pub requirements: Vec<(String, Qualification)>,
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
    requirements: HashMap<String, Vec<Requirement>>,
    /// ifi → activity IRI → evidence, in timestamp order.
    evidence: HashMap<String, HashMap<String, Vec<Evidence>>>,
}

/// One achieved completion (borrowing the facts; owned only in the answer).
#[derive(Debug, Clone)]
struct Achievement<'a> {
    at: Timestamp,
    statements: [Option<&'a str>; 2],
    rule: &'a CompletionRule,
}

impl Achievement<'_> {
    fn statements(&self) -> Vec<String> {
        self.statements
            .iter()
            .flatten()
            .map(|s| s.to_string())
            .collect()
    }

    fn rule(&self) -> (String, u32) {
        (self.rule.id.clone(), self.rule.version)
    }
}

impl Engine {
    pub fn new(
        identifiers: Vec<PersonIdentifier>,
        memberships: Vec<Membership>,
        procedures: Vec<Procedure>,
        rules: Vec<CompletionRule>,
        requirements: Vec<Requirement>,
        evidence: Vec<Evidence>,
    ) -> Engine {
        let mut engine = Engine {
            identifiers: HashMap::new(),
            person_ifis: HashMap::new(),
            memberships: HashMap::new(),
            procedures: HashMap::new(),
            rules: HashMap::new(),
            requirements: HashMap::new(),
            evidence: HashMap::new(),
        };
        for id in identifiers {
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
        for m in memberships {
            engine
                .memberships
                .entry(m.person.clone())
                .or_default()
                .push(m);
        }
        for mut p in procedures {
            p.versions.sort_by_key(|v| v.effective_from);
            engine.procedures.insert(p.id.clone(), p);
        }
        for r in rules {
            engine.rules.entry(r.id.clone()).or_default().push(r);
        }
        for list in engine.rules.values_mut() {
            list.sort_by_key(|r| (r.effective_from, r.version));
        }
        for r in requirements {
            engine
                .requirements
                .entry(r.function.clone())
                .or_default()
                .push(r);
        }
        for e in evidence {
            engine
                .evidence
                .entry(e.ifi.clone())
                .or_default()
                .entry(e.activity_iri.clone())
                .or_default()
                .push(e);
        }
        for list in engine
            .evidence
            .values_mut()
            .flat_map(|by_iri| by_iri.values_mut())
        {
            list.sort_by_key(|e| (e.timestamp, e.stored));
        }
        engine
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
        self.status_for(&ifis, procedure, grace, recurrence, t, k)
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

    fn status_for<'a>(
        &'a self,
        ifis: &[&str],
        procedure: &str,
        grace: GracePolicy,
        recurrence: Recurrence,
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

        let current = self.latest(ifis, &known[required..=in_force], recurrence, t, k);
        if let Some((achievement, expires)) = &current
            && expires.is_none_or(|e| t < e)
        {
            return Answer {
                status: Status::Qualified,
                reason: None,
                version,
                achievement: Some(achievement.clone()),
                expires_at: *expires,
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
                    self.latest(ifis, &known[previous..required], recurrence, t, k)
                && expires.is_none_or(|e| t < e)
            {
                return Answer {
                    status: Status::QualifiedInGrace,
                    reason: None,
                    version,
                    achievement: Some(achievement),
                    expires_at: ends,
                };
            }
        }
        let reason = if current.is_some() {
            Reason::Expired
        } else if self
            .latest(ifis, &known[..required], Recurrence::None, t, k)
            .is_some()
        {
            Reason::VersionSuperseded
        } else if self.voided_would_count(ifis, &known[required..=in_force], t, k) {
            Reason::EvidenceVoided
        } else {
            Reason::NeverTrained
        };
        Answer::not(reason, version)
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
        let member = self.memberships.get(person).is_some_and(|ms| {
            ms.iter()
                .any(|m| m.function == function && m.valid.contains(t) && m.recorded.contains(k))
        });
        if !member {
            return Status::NotQualified;
        }
        let ifis = self.ifis_of(person, k);
        let mut overall = Status::Qualified;
        for r in self.requirements.get(function).into_iter().flatten() {
            if !(r.valid.contains(t) && r.recorded.contains(k)) {
                continue;
            }
            match self
                .status_for(&ifis, &r.procedure, r.grace, r.recurrence, t, k)
                .status
            {
                Status::NotQualified => return Status::NotQualified,
                Status::QualifiedInGrace => overall = Status::QualifiedInGrace,
                Status::Qualified => {}
            }
        }
        overall
    }

    /// Is `person` qualified for everything their job functions require at `t`, as known at `k`?
    pub fn function_status(
        &self,
        person: &str,
        function: &str,
        t: Timestamp,
        k: Timestamp,
    ) -> FunctionStatus {
        let member = self.memberships.get(person).is_some_and(|ms| {
            ms.iter()
                .any(|m| m.function == function && m.valid.contains(t) && m.recorded.contains(k))
        });
        let requirements: Vec<&Requirement> = self
            .requirements
            .get(function)
            .map(|rs| {
                rs.iter()
                    .filter(|r| r.valid.contains(t) && r.recorded.contains(k))
                    .collect()
            })
            .unwrap_or_default();
        let ifis = self.ifis_of(person, k);
        let answers: Vec<(String, Qualification)> = requirements
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    self.status_for(&ifis, &r.procedure, r.grace, r.recurrence, t, k)
                        .owned(),
                )
            })
            .collect();
        let status = if !member
            || answers
                .iter()
                .any(|(_, q)| q.status == Status::NotQualified)
        {
            Status::NotQualified
        } else if answers
            .iter()
            .any(|(_, q)| q.status == Status::QualifiedInGrace)
        {
            Status::QualifiedInGrace
        } else {
            Status::Qualified
        };
        FunctionStatus {
            status,
            requirements: answers,
        }
    }

    /// The functions `person` belongs to at `t`, as known at `k`.
    pub fn functions_of(&self, person: &str, t: Timestamp, k: Timestamp) -> Vec<&str> {
        self.memberships
            .get(person)
            .map(|ms| {
                ms.iter()
                    .filter(|m| m.valid.contains(t) && m.recorded.contains(k))
                    .map(|m| m.function.as_str())
                    .collect()
            })
            .unwrap_or_default()
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
        t: Timestamp,
        k: Timestamp,
    ) -> Option<(Achievement<'a>, Option<Timestamp>)> {
        let mut achievements: Vec<Achievement<'a>> = Vec::new();
        for version in versions {
            let evidence: Vec<&Evidence> = self
                .evidence_on(ifis, &version.activity_iri)
                .into_iter()
                .filter(|e| e.known_at(k) && e.timestamp <= t)
                .collect();
            self.achievements(&version.rule, &evidence, k, &mut achievements);
        }
        if versions.len() > 1 {
            achievements.sort_by_key(|a| a.at);
        }
        // Each achievement renews the qualification; one inside the early window extends from
        // the old expiry (regulated.md 2.4).
        let mut expires: Option<Timestamp> = None;
        let mut last = None;
        for a in achievements {
            expires = match recurrence {
                Recurrence::None => None,
                Recurrence::Relative {
                    every,
                    early_window,
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
                    from.checked_add(every).ok()
                }
            };
            last = Some(a);
        }
        last.map(|a| (a, expires))
    }

    /// The completions a run of evidence amounts to under the rule in force at each attempt.
    fn achievements<'a>(
        &'a self,
        rule_id: &str,
        evidence: &[&'a Evidence],
        k: Timestamp,
        out: &mut Vec<Achievement<'a>>,
    ) {
        let mut completed: Option<&Evidence> = None;
        let mut passed: Option<&Evidence> = None;
        for e in evidence {
            let Some(rule) = self.rule_at(rule_id, e.timestamp, k) else {
                continue;
            };
            let is_completed = e.verb == Verb::Completed;
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
                        out.push(Achievement {
                            at: e.timestamp,
                            statements: [Some(&c.statement_id), Some(&p.statement_id)],
                            rule,
                        });
                    }
                    false
                }
            };
            if counts {
                out.push(Achievement {
                    at: e.timestamp,
                    statements: [Some(&e.statement_id), None],
                    rule,
                });
            }
        }
    }

    /// The version of a rule in force at `at`, as known at `k`.
    fn rule_at(&self, id: &str, at: Timestamp, k: Timestamp) -> Option<&CompletionRule> {
        self.rules
            .get(id)?
            .iter()
            .rfind(|r| r.effective_from <= at && r.recorded.contains(k))
    }

    /// Whether evidence voided as of `k` would have qualified.
    fn voided_would_count(
        &self,
        ifis: &[&str],
        versions: &[&ProcedureVersion],
        t: Timestamp,
        k: Timestamp,
    ) -> bool {
        versions.iter().any(|version| {
            let evidence: Vec<&Evidence> = self
                .evidence_on(ifis, &version.activity_iri)
                .into_iter()
                .filter(|e| e.stored <= k && e.voided.is_some_and(|v| v <= k) && e.timestamp <= t)
                .collect();
            let mut found = Vec::new();
            self.achievements(&version.rule, &evidence, k, &mut found);
            !found.is_empty()
        })
    }
}

#[cfg(test)]
mod tests;

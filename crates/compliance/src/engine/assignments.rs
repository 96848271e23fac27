//! Assignments (regulated.md 2.1 `Assignment`): the training a person was given to do, when it
//! was due, and what became of it. They are derived from the facts (requirements, memberships,
//! procedure versions, quality events) and the evidence, at T as known at K, so they are as
//! bitemporal and as re-derivable as everything else, and need no table of their own to keep
//! their history: every fact they rest on is ledgered.
//!
//! A person gets an assignment when a requirement starts to apply to them (joining a function, a
//! person's own requirement, a quality event naming them), when a new version requiring training
//! (FULL or DELTA) takes effect while it applies, when a completion is about to expire (at the
//! start of its early window), and when a completion's effectiveness check fails. An assignment
//! is COMPLETE once a completion counts for it, SUPERSEDED when a newer version requiring
//! training takes effect first, CANCELLED when the requirement stops applying first, OVERDUE
//! after its due date, OPEN before.
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::{Check, EffectivenessState, Engine};
use crate::model::{
    GracePolicy, Interval, ProcedureVersion, Recurrence, Requirement, Scope, TrainingImpact, Verb,
};

/// Why an assignment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentReason {
    /// The person joined a job function that requires the training.
    NewFunction,
    /// A requirement naming the person.
    Manual,
    /// A quality event (CAPA, deviation, …) demands retraining.
    QualityEvent,
    /// A new version requiring training took effect.
    DocRevision,
    /// The last completion is about to expire.
    Recurrence,
    /// The last completion's effectiveness check failed.
    EffectivenessFailed,
}

impl AssignmentReason {
    pub fn name(self) -> &'static str {
        match self {
            AssignmentReason::NewFunction => "NEW_FUNCTION",
            AssignmentReason::Manual => "MANUAL",
            AssignmentReason::QualityEvent => "QUALITY_EVENT",
            AssignmentReason::DocRevision => "DOC_REVISION",
            AssignmentReason::Recurrence => "RECURRENCE",
            AssignmentReason::EffectivenessFailed => "EFFECTIVENESS_FAILED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentStatus {
    Open,
    Complete,
    /// Closed by an approved waiver (regulated.md 2.1 `Assignment.status`), not by training.
    Waived,
    Overdue,
    Superseded,
    Cancelled,
}

impl AssignmentStatus {
    pub fn name(self) -> &'static str {
        match self {
            AssignmentStatus::Open => "OPEN",
            AssignmentStatus::Complete => "COMPLETE",
            AssignmentStatus::Waived => "WAIVED",
            AssignmentStatus::Overdue => "OVERDUE",
            AssignmentStatus::Superseded => "SUPERSEDED",
            AssignmentStatus::Cancelled => "CANCELLED",
        }
    }
}

/// One assignment, as it stands at T as known at K.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Stable: the same facts give the same id, whenever asked.
    pub id: String,
    /// The `context.registration` a learning tool may use for this assignment (a UUID v5 of
    /// the id, regulated.md 2.2).
    pub registration: Uuid,
    pub person: String,
    pub requirement: String,
    pub procedure: String,
    /// The job function that brings it, for a function's requirement.
    pub function: Option<String>,
    /// The version to train on (training on a later editorial version counts too).
    pub version: String,
    pub reason: AssignmentReason,
    pub quality_event: Option<String>,
    pub assigned_at: Timestamp,
    pub due_at: Timestamp,
    pub status: AssignmentStatus,
    /// When it was completed, superseded or cancelled.
    pub closed_at: Option<Timestamp>,
    /// The statements of the completion that closed it.
    pub evidence: Vec<String>,
    /// The effectiveness check of that completion, and the statement that decided it.
    pub effectiveness: Option<Check>,
}

/// The registration namespace: a fixed UUID, so registrations are the same on every node.
const REGISTRATIONS: Uuid = Uuid::from_u128(0x6f1d_2c4e_8a3b_4c5d_9e7f_0a1b_2c3d_4e5f);

/// Bounds the assignments one requirement can make for one person in one period (recurrence and
/// failed checks each add one); far more than any plant's history.
const MAX_CHAIN: usize = 1000;

/// An assignment to work out: made at `assigned`, on version group `group`, satisfied only by a
/// completion at or after `since` (retraining) or by any still valid at `assigned`.
struct Pending {
    group: usize,
    reason: AssignmentReason,
    assigned: Timestamp,
    due: Timestamp,
    since: Option<Timestamp>,
}

impl Engine {
    /// Every assignment `person` has had up to `t`, as known at `k`, oldest first.
    pub fn assignments(&self, person: &str, t: Timestamp, k: Timestamp) -> Vec<Assignment> {
        let ifis = self.ifis_of(person, k);
        let functions: Vec<&str> = self
            .memberships
            .get(person)
            .into_iter()
            .flatten()
            .filter(|m| m.recorded.contains(k))
            .map(|m| m.function.as_str())
            .collect();
        let mut indexes: Vec<usize> = functions
            .iter()
            .flat_map(|f| self.by_function.get(*f).into_iter().flatten())
            .chain(self.by_person.get(person).into_iter().flatten())
            .copied()
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        let mut out = Vec::new();
        for r in indexes.into_iter().map(|i| &self.requirements[i]) {
            if !r.recorded.contains(k) {
                continue;
            }
            for period in self.periods(person, r, k) {
                if period.from <= t {
                    self.assign(&ifis, person, r, period, t, k, &mut out);
                }
            }
        }
        out.sort_by(|a, b| (a.assigned_at, &a.id).cmp(&(b.assigned_at, &b.id)));
        out
    }

    /// When requirement `r` applies to `person`, as known at `k`.
    fn periods(&self, person: &str, r: &Requirement, k: Timestamp) -> Vec<Interval> {
        match &r.scope {
            Scope::Function { function, site } => {
                let mut periods: Vec<Interval> = self
                    .memberships
                    .get(person)
                    .into_iter()
                    .flatten()
                    .filter(|m| {
                        m.recorded.contains(k)
                            && m.function == *function
                            && site.as_ref().is_none_or(|s| m.site.as_ref() == Some(s))
                    })
                    .filter_map(|m| m.valid.overlap(r.valid))
                    .collect();
                periods.sort_by_key(|p| p.from);
                periods.dedup();
                periods
            }
            Scope::Person(p) if p == person => vec![r.valid],
            Scope::QualityEvent { persons, .. } if persons.iter().any(|p| p == person) => {
                vec![r.valid]
            }
            _ => Vec::new(),
        }
    }

    /// The assignments of one period in which `r` applies to the person.
    #[allow(clippy::too_many_arguments)]
    fn assign(
        &self,
        ifis: &[&str],
        person: &str,
        r: &Requirement,
        period: Interval,
        t: Timestamp,
        k: Timestamp,
        out: &mut Vec<Assignment>,
    ) {
        let Some(procedure) = self.procedures.get(&r.procedure) else {
            return;
        };
        let known: Vec<&ProcedureVersion> = procedure
            .versions
            .iter()
            .filter(|v| v.recorded.contains(k))
            .collect();
        // Version groups: a version requiring training and the editorial ones after it.
        let starts: Vec<usize> = (0..known.len())
            .filter(|&i| i == 0 || known[i].impact != TrainingImpact::None)
            .collect();
        let Some(&first_start) = starts.first() else {
            return;
        };
        let before_end = |at: Timestamp| period.to.is_none_or(|end| at < end);
        let first = match starts
            .iter()
            .rposition(|&i| known[i].effective_from <= period.from)
        {
            Some(g) => g,
            None if before_end(known[first_start].effective_from) => 0,
            None => return,
        };
        let (reason, since) = match r.scope {
            Scope::Function { .. } => (AssignmentReason::NewFunction, None),
            Scope::Person(_) => (AssignmentReason::Manual, None),
            Scope::QualityEvent { .. } => (AssignmentReason::QualityEvent, Some(period.from)),
        };
        // A version not yet in force when the requirement starts to apply is assigned like a
        // revision: on approval, due by its effective date (plus grace).
        let first_version = known[starts[first]];
        let (assigned, due) = if first_version.effective_from <= period.from {
            (period.from, add(period.from, r.due))
        } else {
            let effective = first_version.effective_from;
            let assigned = first_version
                .approved_at
                .unwrap_or(effective)
                .min(effective)
                .max(period.from);
            (assigned, revision_due(r.grace, effective).max(assigned))
        };
        let mut queue = vec![Pending {
            group: first,
            reason,
            assigned,
            due,
            since,
        }];
        for (g, &i) in starts.iter().enumerate().skip(first + 1) {
            let effective = known[i].effective_from;
            if effective > period.from && before_end(effective) {
                queue.push(Pending {
                    group: g,
                    reason: AssignmentReason::DocRevision,
                    // Assigned on approval (or on the effective date, if no approval date was
                    // given), not before the requirement applied.
                    assigned: known[i]
                        .approved_at
                        .unwrap_or(effective)
                        .min(effective)
                        .max(period.from),
                    due: revision_due(r.grace, effective),
                    since: None,
                });
            }
        }
        let quality_event = match &r.scope {
            Scope::QualityEvent { event, .. } => Some(event.clone()),
            _ => None,
        };
        let mut made = 0;
        while let Some(next) = queue.pop() {
            made += 1;
            if next.assigned > t || made > MAX_CHAIN {
                continue;
            }
            let group = &known
                [starts[next.group]..starts.get(next.group + 1).copied().unwrap_or(known.len())];
            let superseded_at = starts.get(next.group + 1).map(|&i| known[i].effective_from);
            let ends = [superseded_at, period.to].into_iter().flatten().min();
            // The completions on this group's versions, each with the expiry it sets.
            let renewals = self.renewals(ifis, group, r.recurrence, None, t, k);
            // A curriculum item's completion closes its assignment only after its
            // prerequisites (PREREQ_MISSING otherwise, and the assignment stays open).
            let completion = renewals.iter().find(|(a, expires)| {
                (match next.since {
                    Some(since) => a.at >= since,
                    None => expires.is_none_or(|x| x > next.assigned),
                }) && r
                    .prerequisites
                    .iter()
                    .all(|p| self.completed_by(ifis, p, a.at, k))
            });
            let version = group
                .iter()
                .rfind(|v| v.effective_from <= next.assigned)
                .unwrap_or(&group[0])
                .version
                .clone();
            let id = format!(
                "{}/{}/{}/{}/{}",
                r.id,
                person,
                version,
                next.reason.name(),
                next.assigned
            );
            let mut assignment = Assignment {
                registration: Uuid::new_v5(&REGISTRATIONS, id.as_bytes()),
                id,
                person: person.to_string(),
                requirement: r.id.clone(),
                procedure: r.procedure.clone(),
                function: match &r.scope {
                    Scope::Function { function, .. } => Some(function.clone()),
                    _ => None,
                },
                version,
                reason: next.reason,
                quality_event: quality_event.clone(),
                assigned_at: next.assigned,
                due_at: next.due,
                status: AssignmentStatus::Open,
                closed_at: None,
                evidence: Vec::new(),
                effectiveness: None,
            };
            match completion {
                Some((a, expires)) if ends.is_none_or(|end| a.at < end) => {
                    assignment.status = if a.statements[0].is_some_and(|e| e.verb == Verb::Waived) {
                        AssignmentStatus::Waived
                    } else {
                        AssignmentStatus::Complete
                    };
                    assignment.closed_at = Some(a.at.max(next.assigned));
                    assignment.evidence = a.statements();
                    if let Some(check) = &r.effectiveness {
                        let (state, by) = self.effectiveness(ifis, check, a.at, t, k);
                        assignment.effectiveness = Some(Check::of(state, by));
                        if let (EffectivenessState::Failed, Some(failed)) = (state, by)
                            && ends.is_none_or(|end| failed.timestamp < end)
                        {
                            queue.push(Pending {
                                group: next.group,
                                reason: AssignmentReason::EffectivenessFailed,
                                assigned: failed.timestamp,
                                due: add(failed.timestamp, r.due),
                                since: Some(failed.timestamp),
                            });
                        }
                    }
                    if let (Recurrence::Relative { early_window, .. }, Some(expires)) =
                        (r.recurrence, expires)
                    {
                        let reminder = expires.checked_sub(early_window).unwrap_or(*expires);
                        // Each renewal starts strictly later, so the chain ends.
                        let reminder =
                            reminder.max(add(next.assigned, SignedDuration::from_secs(1)));
                        if ends.is_none_or(|end| reminder < end) {
                            queue.push(Pending {
                                group: next.group,
                                reason: AssignmentReason::Recurrence,
                                assigned: reminder,
                                due: *expires,
                                since: Some(reminder),
                            });
                        }
                    }
                }
                _ => match ends {
                    Some(end) if end <= t => {
                        assignment.status = if superseded_at == Some(end) {
                            AssignmentStatus::Superseded
                        } else {
                            AssignmentStatus::Cancelled
                        };
                        assignment.closed_at = Some(end);
                    }
                    _ if next.due <= t => assignment.status = AssignmentStatus::Overdue,
                    _ => {}
                },
            }
            out.push(assignment);
        }
    }
}

/// When training on a new version is due: by its effective date, or after the grace days.
fn revision_due(grace: GracePolicy, effective: Timestamp) -> Timestamp {
    match grace {
        GracePolicy::GraceDays(days) => add(effective, days_of(days)),
        GracePolicy::TrainBeforeEffective => effective,
    }
}

fn days_of(days: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * days)
}

/// `at + d`, saturating at the largest timestamp.
fn add(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_add(d).unwrap_or(Timestamp::MAX)
}

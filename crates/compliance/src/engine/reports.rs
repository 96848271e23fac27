//! Plant-wide reports at T as known at K (issue 9): gaps (who is not qualified for what),
//! overdue assignments and upcoming expiries, per site and job function.
use jiff::Timestamp;

use super::{Assignment, AssignmentStatus, Engine, RequirementStatus, Status};
use crate::model::Scope;

/// Which people and requirements a report covers: those at a site, those of a job function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub site: Option<String>,
    pub function: Option<String>,
}

/// A requirement someone is not (fully) qualified for.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    pub person: String,
    pub sites: Vec<String>,
    pub requirement: RequirementStatus,
}

/// A qualification that runs out soon.
#[derive(Debug, Clone, PartialEq)]
pub struct Expiry {
    pub person: String,
    pub sites: Vec<String>,
    pub requirement: RequirementStatus,
    pub expires_at: Timestamp,
}

impl Engine {
    /// The people a report over `filter` covers at `t` as known at `k`, with their sites.
    fn covered(&self, filter: &Filter, t: Timestamp, k: Timestamp) -> Vec<(&str, Vec<&str>)> {
        self.persons(k)
            .into_iter()
            .filter(|p| {
                filter.site.as_ref().is_none_or(|site| {
                    self.memberships_at(p, t, k)
                        .any(|m| m.site.as_ref() == Some(site))
                }) && filter
                    .function
                    .as_ref()
                    .is_none_or(|f| self.is_member(p, f, t, k))
            })
            .map(|p| (p, self.sites_of(p, t, k)))
            .collect()
    }

    fn in_function(filter: &Filter, function: Option<&String>) -> bool {
        filter.function.is_none() || filter.function.as_ref() == function
    }

    fn in_scope(filter: &Filter, scope: &Scope) -> bool {
        match scope {
            Scope::Function { function, .. } => Self::in_function(filter, Some(function)),
            _ => Self::in_function(filter, None),
        }
    }

    /// Every requirement that applies at `t` and is not answered QUALIFIED, as known at `k`.
    pub fn gaps(&self, filter: &Filter, t: Timestamp, k: Timestamp) -> Vec<Gap> {
        let mut gaps = Vec::new();
        for (person, sites) in self.covered(filter, t, k) {
            // Only the rows kept are copied out of the borrowed answers: most people have none.
            for (r, answer) in self.answers(person, t, k) {
                if answer.status != Status::Qualified && Self::in_scope(filter, &r.scope) {
                    gaps.push(Gap {
                        person: person.to_string(),
                        sites: sites.iter().map(|s| s.to_string()).collect(),
                        requirement: RequirementStatus::of(r, &answer),
                    });
                }
            }
        }
        gaps
    }

    /// Every assignment overdue at `t`, as known at `k`.
    pub fn overdue(&self, filter: &Filter, t: Timestamp, k: Timestamp) -> Vec<Assignment> {
        self.assignments_in(filter, &[AssignmentStatus::Overdue], t, k)
    }

    /// Every assignment in one of `statuses` at `t`, as known at `k`.
    pub fn assignments_in(
        &self,
        filter: &Filter,
        statuses: &[AssignmentStatus],
        t: Timestamp,
        k: Timestamp,
    ) -> Vec<Assignment> {
        self.covered(filter, t, k)
            .into_iter()
            .flat_map(|(person, _)| self.assignments(person, t, k))
            .filter(|a| {
                statuses.contains(&a.status) && Self::in_function(filter, a.function.as_ref())
            })
            .collect()
    }

    /// Every qualification that expires after `t` and no later than `until`, as known at `k`,
    /// soonest first.
    pub fn expiring(
        &self,
        filter: &Filter,
        t: Timestamp,
        until: Timestamp,
        k: Timestamp,
    ) -> Vec<Expiry> {
        let mut found = Vec::new();
        for (person, sites) in self.covered(filter, t, k) {
            for (r, answer) in self.answers(person, t, k) {
                if let Some(expires_at) = answer.expires_at
                    && answer.status != Status::NotQualified
                    && t < expires_at
                    && expires_at <= until
                    && Self::in_scope(filter, &r.scope)
                {
                    found.push(Expiry {
                        person: person.to_string(),
                        sites: sites.iter().map(|s| s.to_string()).collect(),
                        requirement: RequirementStatus::of(r, &answer),
                        expires_at,
                    });
                }
            }
        }
        found.sort_by(|a, b| (a.expires_at, &a.person).cmp(&(b.expires_at, &b.person)));
        found
    }
}

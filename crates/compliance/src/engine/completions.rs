//! Completions (regulated.md 2.1 `Completion`): what the evidence amounts to under the rules, per
//! person and procedure version, as known at K. The server stores them as they are derived and
//! `attest compliance rederive` derives them again from scratch and diffs (regulated.md 2.1:
//! derived tables are stored and re-derivable).
use jiff::Timestamp;
use serde::Serialize;

use super::Engine;
use crate::model::ProcedureVersion;

/// One completion: who completed which version, when, on which statements, judged by which rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Completion {
    pub person: String,
    pub procedure: String,
    pub version: String,
    pub achieved_at: String,
    pub evidence: Vec<String>,
    pub rule: String,
    pub rule_version: u32,
    /// Evidence stored later than the rule allows after its timestamp.
    pub late_entries: Vec<String>,
}

impl Completion {
    /// The completion as stored: JSON with its fields in a fixed order, so the same completion
    /// is always the same text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Engine {
    /// Every completion of `person` (everyone's when `None`) on any procedure version, as known
    /// at `k`, sorted.
    pub fn completions(&self, person: Option<&str>, k: Timestamp) -> Vec<Completion> {
        let people: Vec<&str> = match person {
            Some(p) => vec![p],
            None => self.persons(k),
        };
        let mut procedures: Vec<_> = self.procedures.values().collect();
        procedures.sort_by(|a, b| a.id.cmp(&b.id));
        let mut out = Vec::new();
        for person in people {
            let ifis = self.ifis_of(person, k);
            if ifis.is_empty() {
                continue;
            }
            for procedure in &procedures {
                for version in procedure.versions.iter().filter(|v| v.recorded.contains(k)) {
                    let one: [&ProcedureVersion; 1] = [version];
                    for (a, _) in self.renewals(
                        &ifis,
                        &one,
                        crate::model::Recurrence::None,
                        None,
                        Timestamp::MAX,
                        k,
                    ) {
                        out.push(Completion {
                            person: person.to_string(),
                            procedure: procedure.id.clone(),
                            version: version.version.clone(),
                            achieved_at: a.at.to_string(),
                            evidence: a.statements(),
                            rule: a.rule.id.clone(),
                            rule_version: a.rule.version,
                            late_entries: a.late_entries(),
                        });
                    }
                }
            }
        }
        out.sort();
        out
    }
}

//! Stored completions (regulated.md 2.1: derived tables are stored and re-derivable). After
//! statements or facts are written, a background task derives the completions of the people
//! concerned and stores what changed (new completions; invalidated ones, e.g. when evidence is
//! voided), each change ledgered. `attest compliance rederive` derives everything from scratch and
//! diffs against what is stored.
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use store::{Accepted, Store, StoreError};
use tokio::sync::Notify;
use uuid::Uuid;

use super::cache::SharedEngine;
use crate::Shared;
use crate::error::ApiError;

/// The ledger principal of derived completions.
pub const PRINCIPAL: &str = "attest:compliance";

/// Whose completions changed in one store: what a write touched, and what has gathered since
/// the last derivation.
#[derive(Debug, Default)]
pub struct Dirty {
    everyone: bool,
    /// IFI keys of the actors of new statements.
    agents: HashSet<String>,
    /// Statements voided since: their actors' completions change.
    voided: HashSet<Uuid>,
}

/// Collects what changed, per store, for the background task.
#[derive(Default)]
pub struct Deriver {
    pending: Mutex<HashMap<String, Dirty>>,
    wake: Notify,
    started: std::sync::atomic::AtomicBool,
}

impl Dirty {
    /// These actors' completions changed too (a signature changes the learner's, not only the
    /// signer's).
    pub fn add_agents(&mut self, ifis: impl IntoIterator<Item = String>) {
        self.agents.extend(ifis);
    }
}

impl Deriver {
    /// What storing these statements may change: their actors' completions, and those of the
    /// actors of the statements they void. Taken before the statements move into the store;
    /// given to [`Deriver::stored`] once they are stored.
    pub fn touched(statements: &[Accepted]) -> Dirty {
        let mut touched = Dirty::default();
        for a in statements {
            if a.voiding {
                touched.voided.extend(a.target);
            } else if let Some(ifi) = a.statement.get("actor").and_then(xapi::agent::Ifi::of) {
                touched.agents.insert(ifi.key());
            }
        }
        touched
    }

    /// Statements were stored in `store`.
    pub fn stored(&self, store: &str, touched: Dirty) {
        self.mark(store, touched);
    }

    /// Facts were recorded in `store`: anyone's completions may have changed.
    pub fn facts_changed(&self, store: &str) {
        self.mark(
            store,
            Dirty {
                everyone: true,
                ..Dirty::default()
            },
        );
    }

    fn mark(&self, store: &str, changed: Dirty) {
        if let Ok(mut pending) = self.pending.lock() {
            let dirty = pending.entry(store.to_string()).or_default();
            dirty.everyone |= changed.everyone;
            dirty.agents.extend(changed.agents);
            dirty.voided.extend(changed.voided);
        }
        self.wake.notify_one();
    }

    fn take(&self) -> HashMap<String, Dirty> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }
}

/// Runs the background task for as long as the server runs.
pub fn spawn<S: Store>(state: Shared<S>) {
    if state
        .deriver
        .started
        .swap(true, std::sync::atomic::Ordering::SeqCst)
    {
        return;
    }
    tokio::spawn(async move {
        loop {
            state.deriver.wake.notified().await;
            // Let a burst of writes gather into one derivation.
            tokio::time::sleep(Duration::from_millis(50)).await;
            for (name, dirty) in state.deriver.take() {
                let store = match state.stores.get(&name).await {
                    Ok(Some(store)) => store,
                    Ok(None) => continue,
                    Err(error) => {
                        tracing::warn!(%error, store = name, "completions not derived");
                        continue;
                    }
                };
                let everyone = dirty.everyone;
                let mut agents = dirty.agents.clone();
                if !everyone {
                    // A void changes the completions of its target's actor.
                    for id in &dirty.voided {
                        if let Ok(Some(target)) = store.statement(*id, true).await
                            && let Ok(json) =
                                serde_json::from_str::<serde_json::Value>(&target.json)
                            && let Some(ifi) = json.get("actor").and_then(xapi::agent::Ifi::of)
                        {
                            agents.insert(ifi.key());
                        }
                    }
                }
                let whom = (!everyone).then_some(agents);
                match derive(&state, &name, &store, whom).await {
                    Ok(_) => {}
                    Err(error) => {
                        // Derive again later: nothing of what changed is forgotten.
                        if error.code != "facts_changed" {
                            tracing::warn!(
                                error = error.message,
                                store = name,
                                "completions not derived; trying again"
                            );
                        }
                        state.deriver.mark(&name, dirty);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }
    });
}

/// Derives the completions of the people these IFIs name (everyone's when `None`) with the
/// store's cached engine and stores what changed. Returns (added, invalidated).
async fn derive<S: Store>(
    state: &Shared<S>,
    name: &str,
    store: &S,
    agents: Option<HashSet<String>>,
) -> Result<(usize, usize), ApiError> {
    let (engine, as_of) = state.engines.current_as_of(name, store).await?;
    let diff = diff(store, engine, agents).await?;
    if diff.added.is_empty() && diff.invalidated.is_empty() {
        return Ok((0, 0));
    }
    match store
        .sync_completions(PRINCIPAL.to_string(), diff.persons, diff.derived, as_of)
        .await
    {
        Err(store::StoreError::FactsChanged) => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "facts_changed",
            "written meanwhile",
        )),
        other => Ok(other?),
    }
}

/// How the stored completions differ from those an engine derives.
pub struct Diff {
    /// The people derived (`None`: everyone).
    pub persons: Option<Vec<String>>,
    /// Every completion derived: (person, JSON).
    pub derived: Vec<(String, String)>,
    /// Derived and not stored (as valid).
    pub added: Vec<String>,
    /// Stored as valid and no longer derived.
    pub invalidated: Vec<String>,
}

/// Derives completions as known now with `engine` and compares them with the valid stored ones:
/// of the people the IFIs `agents` name, or of everyone (`None`).
pub async fn diff<S: Store>(
    store: &S,
    engine: SharedEngine,
    agents: Option<HashSet<String>>,
) -> Result<Diff, ApiError> {
    let now = Timestamp::now();
    let (persons, derived) = tokio::task::spawn_blocking(move || {
        let engine = engine.read().unwrap_or_else(PoisonError::into_inner);
        let persons: Option<Vec<String>> = agents.map(|agents| {
            agents
                .iter()
                .filter_map(|ifi| engine.person_of(ifi, now))
                .map(str::to_string)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        });
        let completions = match &persons {
            None => engine.completions(None, now),
            Some(persons) => persons
                .iter()
                .flat_map(|p| engine.completions(Some(p), now))
                .collect(),
        };
        let derived: Vec<(String, String)> = completions
            .into_iter()
            .map(|c| (c.person.clone(), c.to_json()))
            .collect();
        (persons, derived)
    })
    .await
    .map_err(ApiError::internal)?;
    let stored = match &persons {
        None => stored_valid(store, None).await?,
        Some(persons) => {
            let mut all = HashSet::new();
            for p in persons {
                all.extend(stored_valid(store, Some(p.clone())).await?);
            }
            all
        }
    };
    let wanted: HashSet<&(String, String)> = derived.iter().collect();
    let mut added: Vec<String> = derived
        .iter()
        .filter(|d| !stored.contains(*d))
        .map(|(_, body)| body.clone())
        .collect();
    let mut invalidated: Vec<String> = stored
        .iter()
        .filter(|s| !wanted.contains(s))
        .map(|(_, body)| body.clone())
        .collect();
    added.sort();
    invalidated.sort();
    Ok(Diff {
        persons,
        derived,
        added,
        invalidated,
    })
}

async fn stored_valid<S: Store>(
    store: &S,
    person: Option<String>,
) -> Result<HashSet<(String, String)>, StoreError> {
    Ok(store
        .completions(person, store::Page::ALL)
        .await?
        .into_iter()
        .filter(|c| c.invalidated_at.is_none())
        .map(|c| (c.person, c.body))
        .collect())
}

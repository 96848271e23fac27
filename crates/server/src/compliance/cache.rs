//! The compliance engine of each store, kept in memory and brought up to date before each
//! question: new facts rebuild its master data (its evidence index is kept), new statements are
//! added (voids mark their targets). So a question costs two small reads (the newest fact id and
//! statement seq) plus the statements stored since the last one, not a load of every fact and
//! every piece of evidence. Every answer is as of a moment at which the engine held every fact
//! and statement committed: "as known now" stays exact.
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use compliance::{Engine, Evidence, Fact, GxpRules, MasterData};
use jiff::Timestamp;
use serde_json::Value;
use store::{EvidenceOf, EvidenceRow, Store};

use super::load_facts;
use crate::error::ApiError;

/// Statements read per page while catching up.
const PAGE: usize = 10_000;

pub type SharedEngine = Arc<RwLock<Engine>>;

struct Cached {
    /// The newest fact the engine holds.
    facts_newest: Option<i64>,
    /// The engine holds every statement up to this `seq`.
    seq: i64,
    /// The activities whose statements are evidence (procedure versions, effectiveness checks).
    activities: BTreeSet<String>,
    engine: SharedEngine,
}

/// One cached engine per store (tenant), and each store's GxP profile.
#[derive(Default)]
pub struct Engines {
    stores: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
    profiles: Mutex<HashMap<String, Profile>>,
}

/// A store's GxP profile as last read, and the newest fact it was read from.
#[derive(Clone)]
struct Profile {
    read_at: std::time::Instant,
    facts_newest: Option<i64>,
    profile: Option<Arc<GxpRules>>,
}

/// How long a store's GxP profile is used before the facts are looked at again: every statement
/// write asks for it, so it must cost nothing most of the time.
const PROFILE_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

impl Engines {
    /// Facts were recorded through this node: the next statement write reads the profile again.
    pub fn facts_recorded(&self, name: &str) {
        self.profiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    /// The GxP profile of store `name` as known now, with the master data its checks need: at
    /// most a second old for facts recorded through another node, current for facts recorded
    /// through this one.
    pub async fn gxp_profile<S: Store>(
        &self,
        name: &str,
        store: &S,
    ) -> Result<Option<Arc<GxpRules>>, ApiError> {
        let known = self
            .profiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned();
        if let Some(p) = &known
            && p.read_at.elapsed() < PROFILE_FRESH
        {
            return Ok(p.profile.clone());
        }
        let (facts_newest, _) = store.compliance_watermarks().await?;
        let profile = match known {
            Some(p) if p.facts_newest == facts_newest => p.profile,
            _ => {
                let (_, facts) = facts(store).await?;
                GxpRules::new(&compliance::master(&facts), Timestamp::now()).map(Arc::new)
            }
        };
        self.profiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                name.to_string(),
                Profile {
                    read_at: std::time::Instant::now(),
                    facts_newest,
                    profile: profile.clone(),
                },
            );
        Ok(profile)
    }

    /// The engine of store `name`, holding every fact and statement committed before the call.
    pub async fn current<S: Store>(&self, name: &str, store: &S) -> Result<SharedEngine, ApiError> {
        Ok(self.current_as_of(name, store).await?.0)
    }

    /// The same, with the watermarks (newest fact id, newest statement seq) it is current to.
    pub async fn current_as_of<S: Store>(
        &self,
        name: &str,
        store: &S,
    ) -> Result<(SharedEngine, (Option<i64>, i64)), ApiError> {
        let slot = self
            .stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_string())
            .or_default()
            .clone();
        let mut slot = slot.lock().await;
        let (facts_newest, seq) = store.compliance_watermarks().await?;
        match slot.as_mut() {
            Some(c) if c.facts_newest == facts_newest && c.seq >= seq => {}
            Some(c) => {
                if c.facts_newest != facts_newest {
                    refresh_facts(c, store).await?;
                }
                catch_up(c, store, seq).await?;
            }
            None => *slot = Some(build(store, seq).await?),
        }
        slot.as_ref()
            .map(|c| (c.engine.clone(), (c.facts_newest, c.seq)))
            .ok_or_else(|| ApiError::internal("the engine cache is empty"))
    }
}

/// The activities whose statements count as evidence under these facts.
pub fn activities(facts: &[(Fact, Timestamp)]) -> BTreeSet<String> {
    facts
        .iter()
        .filter_map(|(fact, _)| match fact {
            Fact::ProcedureVersion { activity_iri, .. } => Some(activity_iri.clone()),
            Fact::Requirement {
                effectiveness: Some(check),
                ..
            } => Some(check.activity_iri.clone()),
            _ => None,
        })
        .collect()
}

async fn facts<S: Store>(store: &S) -> Result<(Option<i64>, Vec<(Fact, Timestamp)>), ApiError> {
    let loaded = load_facts(store).await?;
    let newest = loaded.last().map(|(id, _, _)| *id);
    Ok((
        newest,
        loaded.into_iter().map(|(_, fact, at)| (fact, at)).collect(),
    ))
}

/// Activities whose statements are read at once while building: bounds the statements held as
/// text before they are parsed.
const ACTIVITIES_PER_READ: usize = 20;

/// The evidence on `activities` among statements up to `seq`.
pub async fn evidence_on<S: Store>(
    store: &S,
    activities: Vec<String>,
    seq: i64,
) -> Result<Vec<Evidence>, ApiError> {
    let mut evidence = Vec::new();
    for chunk in activities.chunks(ACTIVITIES_PER_READ) {
        let rows = store
            .evidence(EvidenceOf::Activities(chunk.to_vec()))
            .await?;
        let parsed: Vec<Evidence> = tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .filter(|row| row.seq <= seq)
                .filter_map(|row| {
                    let json: Value = serde_json::from_str(&row.json).ok()?;
                    Evidence::from_statement(&json, row.stored, row.voided)
                })
                .collect()
        })
        .await
        .map_err(ApiError::internal)?;
        evidence.extend(parsed);
    }
    Ok(evidence)
}

async fn build<S: Store>(store: &S, seq: i64) -> Result<Cached, ApiError> {
    let (facts_newest, facts) = facts(store).await?;
    let activities = activities(&facts);
    let evidence = evidence_on(store, activities.iter().cloned().collect(), seq).await?;
    let engine = tokio::task::spawn_blocking(move || compliance::engine(&facts, evidence))
        .await
        .map_err(ApiError::internal)?;
    Ok(Cached {
        facts_newest,
        seq,
        activities,
        engine: Arc::new(RwLock::new(engine)),
    })
}

/// New facts: new master data over the same evidence, plus the evidence on activities that only
/// the new facts name.
async fn refresh_facts<S: Store>(c: &mut Cached, store: &S) -> Result<(), ApiError> {
    let (facts_newest, facts) = facts(store).await?;
    let activities = activities(&facts);
    let new: Vec<String> = activities.difference(&c.activities).cloned().collect();
    let evidence = evidence_on(store, new, c.seq).await?;
    let engine = c.engine.clone();
    tokio::task::spawn_blocking(move || {
        let master = compliance::master(&facts);
        let mut engine = engine.write().unwrap_or_else(PoisonError::into_inner);
        let old = std::mem::replace(&mut *engine, Engine::new(MasterData::default(), Vec::new()));
        *engine = old.with_master(master);
        for e in evidence {
            engine.add_evidence(e);
        }
    })
    .await
    .map_err(ApiError::internal)?;
    c.facts_newest = facts_newest;
    c.activities = activities;
    Ok(())
}

/// Adds the statements stored since the engine's `seq`, up to at least `seq`.
async fn catch_up<S: Store>(c: &mut Cached, store: &S, seq: i64) -> Result<(), ApiError> {
    if c.activities.is_empty() {
        // No fact names an activity: no statement is evidence, none needs reading.
        c.seq = c.seq.max(seq);
        return Ok(());
    }
    while c.seq < seq {
        let rows = store.statements_after(c.seq, PAGE).await?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            break;
        };
        let (engine, activities) = (c.engine.clone(), c.activities.clone());
        tokio::task::spawn_blocking(move || apply(&engine, &activities, rows))
            .await
            .map_err(ApiError::internal)?;
        c.seq = last;
    }
    Ok(())
}

fn apply(engine: &SharedEngine, activities: &BTreeSet<String>, rows: Vec<EvidenceRow>) {
    let parsed: Vec<(Option<Evidence>, Option<Evidence>, Timestamp)> = rows
        .iter()
        .map(|row| {
            let evidence = |json: &str, voided: Option<Timestamp>| {
                serde_json::from_str::<Value>(json)
                    .ok()
                    .and_then(|s| Evidence::from_statement(&s, row.stored, voided))
                    .filter(|e| activities.contains(&*e.activity_iri))
            };
            match &row.voids {
                Some(target) => (None, evidence(target, None), row.stored),
                // A statement whose void arrived first is stored voided already.
                None => (evidence(&row.json, row.voided), None, row.stored),
            }
        })
        .collect();
    let mut engine = engine.write().unwrap_or_else(PoisonError::into_inner);
    for (added, voided, at) in parsed {
        if let Some(e) = added {
            engine.add_evidence(e);
        }
        if let Some(target) = voided {
            engine.void(&target, at);
        }
    }
}

//! The training-compliance engine (regulated.md Part 2): was this person qualified for this
//! procedure, or this job function, at instant T, as the system knew it at instant K?
//!
//! Everything here is bitemporal. Each fact has a *valid* interval (when it was true in the plant:
//! an SOP version's effective dates, a person's time in a job function, a statement's `timestamp`)
//! and a *recorded* interval (when the system knew it: a row's `recorded_at`, a statement's
//! `stored`, the `stored` of the statement that voided it). A question at (T, K) sees only facts
//! recorded at or before K and valid at T, so "as known now" and "as recorded then" are the same
//! computation with a different K.
//!
//! This crate is pure: the store loads the facts, the engine answers.
#![forbid(unsafe_code)]

mod engine;
mod facts;
mod gxp;
mod model;

pub use engine::{
    Assignment, AssignmentReason, AssignmentStatus, Check, Completion, EffectivenessState, Engine,
    Expiry, Filter, FunctionStatus, Gap, PersonStatus, Qualification, Reason, RequirementStatus,
    SignedBy, Status,
};
pub use facts::{Fact, FactError, Known, TRAINER_ROLE, engine, master};
pub use gxp::{GxpProfile, GxpRefusal, GxpRules};
pub use model::{
    CompletionRule, Effectiveness, Evidence, GracePolicy, Interval, MasterData, Meaning,
    Membership, MoveOn, Period, Person, PersonIdentifier, Procedure, ProcedureVersion,
    QualityEvent, QualityEventKind, Recurrence, Requirement, Role, RoleGrant, SIGNATURE_EXTENSION,
    SIGNED, Scope, Signature, Site, TrainingImpact, Verb, WAIVED, WAIVER_REASON,
};

/// The verb of a voiding statement: never evidence itself.
pub const VOIDED: &str = xapi::VOIDED_VERB;

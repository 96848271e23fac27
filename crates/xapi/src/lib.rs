//! The xAPI statement model: strict validation for 1.0.3 and 2.0.0, the values the LRS fills in,
//! the index terms a statement is found by, the response formats, and the immutability comparison.
//!
//! This crate is pure: no IO, no async, no HTTP, no SQL. Everything takes and returns values.
#![forbid(unsafe_code)]

pub mod agent;
pub mod compare;
pub mod document;
mod error;
pub mod format;
pub mod index;
pub mod json;
pub mod rules;
pub mod signature;
pub mod statement;
mod validate;
mod version;

pub use error::ValidationError;
pub use validate::{validate_agent, validate_statement};
pub use version::{Version, VersionError};

/// The verb that voids another statement (Data 2.3.2).
pub const VOIDED_VERB: &str = "http://adlnet.gov/expapi/verbs/voided";

//! HTTP tests: a real server on 127.0.0.1, a real SQLite file, a real HTTP client.
//! One test binary (modules below) keeps link times down.
mod about;
mod attachments;
mod audit;
mod auth;
mod compliance;
mod compliance_scenarios;
mod compliance_signatures;
mod conformance;
mod cross_cutting;
mod document_conformance;
mod documents;
mod queries;
mod statements;
mod support;
mod tenancy;
mod validation;

//! The JWS check of signed statements (Data 2.6): arbitrary signature bytes against a fixed
//! statement, and a statement taken from the input against the same bytes. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let statement = json!({
        "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        "actor": {"mbox": "mailto:ann@plant.example"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://plant.example/sop/gowning/v3"}
    });
    let _ = xapi::signature::verify(data, &statement);
    // A JWS whose payload is the fuzzed bytes, so the comparison sees odd JSON too.
    if let Ok(received) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = xapi::signature::verify(data, &received);
    }
});

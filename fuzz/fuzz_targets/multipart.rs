//! The multipart/mixed reader of statement requests (Communication 1.5.2): a Content-Type line
//! and a body, both hostile. It must never panic, and what it returns must lie inside the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first line is the Content-Type header, the rest the body.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (header, body) = data.split_at(split);
    let body = body.get(1..).unwrap_or_default();
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    let boundary = server::multipart::boundary(header).unwrap_or_else(|| "b".to_string());
    if let Ok(parts) = server::multipart::parse(body, &boundary) {
        let mut end = 0;
        for part in parts {
            assert!(part.content.start <= part.content.end);
            assert!(part.content.end <= body.len());
            assert!(part.content.start >= end, "parts come in order");
            end = part.content.end;
        }
    }
});

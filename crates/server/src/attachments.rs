//! Statement request bodies with attachments (Communication 1.5; Data 2.4.11) and signed
//! statements (Data 2.6): reading `application/json` or `multipart/mixed`, matching the parts to
//! the attachment objects by SHA-2 only, and the multipart/mixed form of GET responses.
use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::Value;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use store::AttachmentContent;
use uuid::Uuid;
use xapi::signature;

use crate::error::ApiError;
use crate::multipart;

/// A statement request body: the statement(s) JSON and the attachment parts that came with it.
pub struct Upload {
    pub statements: Value,
    pub parts: Vec<ReceivedPart>,
    pub multipart: bool,
}

/// An attachment part whose content hashes to its `X-Experience-API-Hash`.
pub struct ReceivedPart {
    /// Lowercase hex.
    pub sha2: String,
    pub content_type: Option<String>,
    pub content: Bytes,
}

/// Reads a PUT/POST statements body by its Content-Type: `application/json`, or
/// `multipart/mixed` whose first part is the JSON (Communication 1.5).
pub fn read(headers: &HeaderMap, body: &Bytes) -> Result<Upload, ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match essence(content_type).as_str() {
        "application/json" => Ok(Upload {
            statements: json(body)?,
            parts: Vec::new(),
            multipart: false,
        }),
        "multipart/mixed" => read_multipart(content_type, body),
        "" => Err(ApiError::bad_request(
            "the Content-Type header is required: application/json, or multipart/mixed with attachments",
        )),
        other => Err(ApiError::bad_request(format!(
            "Content-Type '{other}' is not accepted here: send application/json, or multipart/mixed with attachments (C 1.5)"
        ))),
    }
}

/// The media type without parameters, in lowercase.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn json(bytes: &[u8]) -> Result<Value, ApiError> {
    xapi::json::parse_strict(bytes).map_err(|e| ApiError::bad_request(xapi::json::refusal(&e)))
}

fn read_multipart(content_type: &str, body: &Bytes) -> Result<Upload, ApiError> {
    let boundary = multipart::boundary(content_type).ok_or_else(|| {
        ApiError::bad_request(
            "a multipart/mixed Content-Type needs a boundary parameter (RFC 2046)",
        )
    })?;
    let parts = multipart::parse(body, &boundary).map_err(|e| {
        ApiError::bad_request(format!("the multipart/mixed body is malformed: {e}"))
    })?;
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return Err(ApiError::bad_request(
            "the multipart/mixed body has no parts: the first must hold the statements (C 1.5.2)",
        ));
    };
    let first_type = first.header("content-type").unwrap_or("");
    if essence(first_type) != "application/json" {
        return Err(ApiError::bad_request(format!(
            "the first part of a multipart/mixed body must be the statements with Content-Type application/json, not '{first_type}' (C 1.5.2)"
        )));
    }
    let statements = json(&body[first.content.clone()])?;
    let mut received = Vec::new();
    for (index, part) in parts.enumerate() {
        let n = index + 2;
        let hash = part.header("x-experience-api-hash").ok_or_else(|| {
            ApiError::bad_request(format!(
                "part {n} has no X-Experience-API-Hash header: every part after the statements is an attachment named by its SHA-2 (C 1.5.2)"
            ))
        })?;
        let hash = hash.to_ascii_lowercase();
        if let Some(encoding) = part.header("content-transfer-encoding")
            && !encoding.eq_ignore_ascii_case("binary")
        {
            return Err(ApiError::bad_request(format!(
                "part {n} has Content-Transfer-Encoding '{encoding}': attachment parts are binary (C 1.5.2)"
            )));
        }
        let content = body.slice(part.content.clone());
        let actual = sha2_hex(&content, hash.len()).ok_or_else(|| {
            ApiError::bad_request(format!(
                "part {n}: X-Experience-API-Hash '{hash}' is not a hex SHA-224, SHA-256, SHA-384 or SHA-512 digest"
            ))
        })?;
        if actual != hash {
            return Err(ApiError::bad_request(format!(
                "part {n}: its content does not hash to its X-Experience-API-Hash {hash} (C 1.5.2)"
            )));
        }
        received.push(ReceivedPart {
            sha2: hash,
            content_type: part.header("content-type").map(str::to_string),
            content,
        });
    }
    Ok(Upload {
        statements,
        parts: received,
        multipart: true,
    })
}

/// The SHA-2 digest of `content` whose hex has `hex_len` digits, as lowercase hex.
fn sha2_hex(content: &[u8], hex_len: usize) -> Option<String> {
    Some(match hex_len {
        56 => hex::encode(Sha224::digest(content)),
        64 => hex::encode(Sha256::digest(content)),
        96 => hex::encode(Sha384::digest(content)),
        128 => hex::encode(Sha512::digest(content)),
        _ => return None,
    })
}

/// A statement's attachment objects with their JSON paths: its own, and those of a SubStatement
/// object. Data 2.4.11 recommends putting a SubStatement's attachments on the containing
/// statement, but allows them on the SubStatement; their data travels the same way.
pub fn attachment_objects(statement: &Value) -> Vec<(String, &Value)> {
    fn collect<'a>(found: &mut Vec<(String, &'a Value)>, holder: &'a Value, prefix: &str) {
        if let Some(list) = holder.get("attachments").and_then(Value::as_array) {
            for (i, attachment) in list.iter().enumerate() {
                found.push((format!("{prefix}attachments[{i}]"), attachment));
            }
        }
    }
    let mut found = Vec::new();
    collect(&mut found, statement, "");
    if let Some(object) = statement.get("object")
        && object.get("objectType").and_then(Value::as_str) == Some("SubStatement")
    {
        collect(&mut found, object, "object.");
    }
    found
}

fn sha2_of(attachment: &Value) -> String {
    attachment
        .get("sha2")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Matches the parts to the attachment objects of validated statements (by SHA-2 only, C 1.5.2),
/// checks the signatures (Data 2.6) and returns the attachment data to store, once per SHA-2.
/// `statements` are the statements as accepted; `batch` says whether error paths get an index.
pub fn check<'a>(
    statements: impl IntoIterator<Item = &'a Value>,
    parts: Vec<ReceivedPart>,
    multipart: bool,
    batch: bool,
) -> Result<Vec<AttachmentContent>, ApiError> {
    let statements: Vec<&Value> = statements.into_iter().collect();
    let mut by_hash: HashMap<String, ReceivedPart> = HashMap::with_capacity(parts.len());
    for part in parts {
        // The same data sent twice is the same attachment: one copy is kept (C 1.5.2).
        by_hash.entry(part.sha2.clone()).or_insert(part);
    }
    let mut declared: HashMap<String, &Value> = HashMap::new();
    for (i, statement) in statements.iter().enumerate() {
        let at = |path: &str| {
            if batch {
                format!("[{i}].{path}")
            } else {
                path.to_string()
            }
        };
        for (path, attachment) in attachment_objects(statement) {
            let sha2 = sha2_of(attachment);
            let part = by_hash.get(&sha2);
            if part.is_none() && attachment.get("fileUrl").is_none() {
                let hint = if multipart {
                    format!(
                        "no part of the multipart/mixed body has X-Experience-API-Hash {sha2} (C 1.5.2)"
                    )
                } else {
                    "send its data as multipart/mixed, or give a fileUrl (C 1.5.1)".to_string()
                };
                return Err(ApiError::bad_request(format!(
                    "{}: the attachment has no fileUrl and no data: {hint}",
                    at(&path)
                )));
            }
            if signature::is_signature(attachment) {
                let fail = |e: signature::SignatureError| {
                    ApiError::bad_request(format!("{}: {e}", at(&path)))
                };
                signature::check_attachment(attachment).map_err(fail)?;
                // Without its data (a fileUrl only) a signature cannot be checked here.
                if let Some(part) = part {
                    signature::verify(&part.content, statement).map_err(fail)?;
                }
            }
            declared.entry(sha2).or_insert(attachment);
        }
    }
    let mut contents = Vec::with_capacity(by_hash.len());
    for (sha2, part) in by_hash {
        let Some(attachment) = declared.get(&sha2) else {
            return Err(ApiError::bad_request(format!(
                "a part with X-Experience-API-Hash {sha2} matches no attachment of the statements (C 1.5.2)"
            )));
        };
        let content_type = part
            .content_type
            .or_else(|| {
                attachment
                    .get("contentType")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "application/octet-stream".into());
        contents.push(AttachmentContent {
            sha2,
            content_type,
            content: part.content.to_vec(),
        });
    }
    Ok(contents)
}

/// The distinct SHA-2 values of the attachments of stored statements (JSON text), in order.
pub fn referenced(statements: &[&str]) -> Result<Vec<String>, ApiError> {
    let mut seen = HashSet::new();
    let mut list = Vec::new();
    for text in statements {
        let statement: Value = serde_json::from_str(text).map_err(ApiError::internal)?;
        for (_, attachment) in attachment_objects(&statement) {
            let sha2 = sha2_of(attachment);
            if !sha2.is_empty() && seen.insert(sha2.clone()) {
                list.push(sha2);
            }
        }
    }
    Ok(list)
}

/// A multipart/mixed response body (C 1.5.2, C 2.1.3): the JSON, then each attachment once.
/// Returns the boundary and the body. The boundary has only letters, digits and '-': TinCanJS
/// keeps the quotes of a quoted boundary and then cannot find it.
pub fn multipart_body(json: &str, attachments: &[AttachmentContent]) -> (String, Vec<u8>) {
    let boundary = loop {
        let candidate = format!("attest-{}", Uuid::new_v4().simple());
        let needle = candidate.as_bytes();
        let clash = json.contains(&candidate)
            || attachments
                .iter()
                .any(|a| memchr::memmem::find(&a.content, needle).is_some());
        if !clash {
            break candidate;
        }
    };
    let size = json.len()
        + attachments
            .iter()
            .map(|a| a.content.len() + 200)
            .sum::<usize>();
    let mut body = Vec::with_capacity(size + 128);
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Type: application/json\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(json.as_bytes());
    for attachment in attachments {
        // A stored content type is one header line: no line breaks may leak into the response.
        let content_type: String = attachment
            .content_type
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {}\r\n\r\n",
                attachment.sha2
            )
            .as_bytes(),
        );
        body.extend_from_slice(&attachment.content);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, body)
}

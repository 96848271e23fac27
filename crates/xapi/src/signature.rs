//! Signed statements (Data 2.6; 2.0 section 4.2.6): the check an LRS makes on the JWS attached to
//! a statement before it stores it. Pure: takes the JWS bytes and the statement, returns a verdict.
//!
//! What is checked, in the order of Data 2.6 "LRS Requirements":
//! - the JWS is in the Compact Serialization (the 2.0 text requires it; 1.0.3 "strongly
//!   discourages" the JSON one, and no client sends it);
//! - `alg` is RS256, RS384 or RS512, and the header names no critical extension we do not know;
//! - the payload is a JSON statement that is the same statement as the one received, by the
//!   immutability comparison (Data 2.3.1, which leaves `attachments` out: the payload is the
//!   statement "before the signature was added");
//! - when the header carries `x5c`, the signature verifies with the leaf certificate's key, and
//!   each certificate of the chain is signed by the next one.
//!
//! Without `x5c` there is no key to check the signature with: Data 2.6 asks for a check against
//! the certificate only "if the JWS header includes" one, and calls that check a way to catch
//! mistakes, not a security measure. Such a JWS is accepted when it is well formed.
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{self as ring_signature, UnparsedPublicKey};
use serde_json::Value;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::{compare, rules};

/// The usageType of a signature attachment (Data 2.6).
pub const SIGNATURE_USAGE: &str = "http://adlnet.gov/expapi/attachments/signature";
/// The contentType a signature attachment must have (Data 2.6).
pub const SIGNATURE_CONTENT_TYPE: &str = "application/octet-stream";

/// Why a signature is refused. Each one is a 400 with its message (Data 2.6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature is not a JWS in the Compact Serialization: {0}")]
    Malformed(String),
    #[error("the JWS algorithm {0} is not allowed: use RS256, RS384 or RS512 (Data 2.6)")]
    Algorithm(String),
    #[error("the JWS payload is not the statement it is attached to: {0}")]
    PayloadMismatch(String),
    #[error("the x5c certificate chain of the JWS is not usable: {0}")]
    Certificate(String),
    #[error("the JWS signature does not verify with the key of its x5c certificate")]
    BadSignature,
}

/// The RSA + SHA algorithms Data 2.6 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Algorithm> {
        match name {
            "RS256" => Some(Algorithm::Rs256),
            "RS384" => Some(Algorithm::Rs384),
            "RS512" => Some(Algorithm::Rs512),
            _ => None,
        }
    }

    fn verification(self) -> &'static ring_signature::RsaParameters {
        match self {
            Algorithm::Rs256 => &ring_signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::Rs384 => &ring_signature::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::Rs512 => &ring_signature::RSA_PKCS1_2048_8192_SHA512,
        }
    }
}

/// What a successful check established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub algorithm: Algorithm,
    /// True when the signature was checked with an `x5c` certificate; false when the JWS named
    /// no certificate and only its form and payload could be checked.
    pub certified: bool,
}

/// True when an attachment object declares a signature.
pub fn is_signature(attachment: &Value) -> bool {
    attachment.get("usageType").and_then(Value::as_str) == Some(SIGNATURE_USAGE)
}

/// Checks the attachment object of a signature: Data 2.6 requires the contentType
/// `application/octet-stream` (compared without parameters and case).
pub fn check_attachment(attachment: &Value) -> Result<(), SignatureError> {
    let content_type = attachment
        .get("contentType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case(SIGNATURE_CONTENT_TYPE) {
        Ok(())
    } else {
        Err(SignatureError::Malformed(format!(
            "a signature attachment must have the contentType {SIGNATURE_CONTENT_TYPE}, not \"{content_type}\""
        )))
    }
}

/// Verifies `jws` (the bytes of the signature attachment) against `statement` (the statement as
/// the client sent it).
pub fn verify(jws: &[u8], statement: &Value) -> Result<Verified, SignatureError> {
    let malformed = |why: &str| SignatureError::Malformed(why.to_string());
    let text = std::str::from_utf8(jws).map_err(|_| malformed("it is not UTF-8 text"))?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.starts_with('{') {
        return Err(malformed(
            "the JSON Serialization is not accepted; send the Compact Serialization",
        ));
    }
    let mut sections = text.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
        sections.next(),
        sections.next(),
        sections.next(),
        sections.next(),
    ) else {
        return Err(malformed("it must have three dot-separated parts"));
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| SignatureError::Malformed(format!("the {what} is not base64url")))
    };
    let header = crate::json::parse_strict(&decode(header_b64, "header")?)
        .map_err(|_| malformed("the header is not a JSON object"))?;
    let header = header
        .as_object()
        .ok_or_else(|| malformed("the header is not a JSON object"))?;
    let algorithm = match header.get("alg") {
        Some(Value::String(alg)) => {
            Algorithm::parse(alg).ok_or_else(|| SignatureError::Algorithm(alg.clone()))?
        }
        Some(other) => return Err(SignatureError::Algorithm(other.to_string())),
        None => return Err(malformed("the header has no alg")),
    };
    // RFC 7515 4.1.11: a critical extension the verifier does not understand makes it invalid.
    if header.contains_key("crit") {
        return Err(malformed("the header lists critical extensions (crit)"));
    }
    let signature = decode(signature_b64, "signature")?;
    if signature.is_empty() {
        return Err(malformed("the signature is empty"));
    }
    let payload = decode(payload_b64, "payload")?;
    let signed = crate::json::parse_strict(&payload)
        .map_err(|e| SignatureError::PayloadMismatch(format!("it is not valid JSON ({e})")))?;
    same_statement(&signed, statement)?;

    let certified = match header.get("x5c") {
        None => false,
        Some(chain) => {
            let chain = certificate_chain(chain)?;
            let message = format!("{header_b64}.{payload_b64}");
            verify_with_chain(&chain, algorithm, message.as_bytes(), &signature)?;
            true
        }
    };
    Ok(Verified {
        algorithm,
        certified,
    })
}

/// The signed statement and the received one must be the same statement (Data 2.6, by the
/// comparison of Data 2.3.1). The comparison leaves out the ids, which the LRS may assign; a
/// signed id that differs from the received id still names another statement.
fn same_statement(signed: &Value, received: &Value) -> Result<(), SignatureError> {
    if !signed.is_object() {
        return Err(SignatureError::PayloadMismatch(
            "it is not a JSON object".into(),
        ));
    }
    let id = |s: &Value| {
        s.get("id")
            .and_then(Value::as_str)
            .map(|id| rules::parse_uuid(id).ok_or(()))
    };
    match (id(signed), id(received)) {
        (Some(Err(())), _) => {
            return Err(SignatureError::PayloadMismatch(
                "its id is not a UUID".into(),
            ));
        }
        (Some(Ok(a)), Some(Ok(b))) if a != b => {
            return Err(SignatureError::PayloadMismatch(format!(
                "it signs statement {a}, not {b}"
            )));
        }
        _ => {}
    }
    if compare::same_statement(received, signed) {
        Ok(())
    } else {
        Err(SignatureError::PayloadMismatch(
            "the signed statement differs from the statement received".into(),
        ))
    }
}

/// The DER certificates of an `x5c` header: an array of standard base64 strings, leaf first
/// (RFC 7515 4.1.6).
fn certificate_chain(value: &Value) -> Result<Vec<Vec<u8>>, SignatureError> {
    let bad = |why: &str| SignatureError::Certificate(why.to_string());
    let list = value
        .as_array()
        .ok_or_else(|| bad("x5c must be an array of base64 certificates"))?;
    if list.is_empty() {
        return Err(bad("x5c is empty"));
    }
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            let text = entry
                .as_str()
                .ok_or_else(|| SignatureError::Certificate(format!("x5c[{i}] is not a string")))?;
            STANDARD
                .decode(text)
                .map_err(|_| SignatureError::Certificate(format!("x5c[{i}] is not base64")))
        })
        .collect()
}

fn verify_with_chain(
    chain: &[Vec<u8>],
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let mut certificates = Vec::with_capacity(chain.len());
    for (i, der) in chain.iter().enumerate() {
        let certificate = match X509Certificate::from_der(der) {
            Ok(([], certificate)) => certificate,
            _ => {
                return Err(SignatureError::Certificate(format!(
                    "x5c[{i}] is not a DER X.509 certificate"
                )));
            }
        };
        certificates.push(certificate);
    }
    let Some(leaf) = certificates.first() else {
        return Err(SignatureError::Certificate("x5c is empty".into()));
    };
    let key = leaf.public_key();
    match key.parsed() {
        Ok(PublicKey::RSA(_)) => {}
        _ => {
            return Err(SignatureError::Certificate(
                "the leaf certificate (x5c[0]) does not hold an RSA key".into(),
            ));
        }
    }
    // The SubjectPublicKeyInfo bit string of an RSA key is the PKCS#1 RSAPublicKey ring expects.
    UnparsedPublicKey::new(algorithm.verification(), &key.subject_public_key.data)
        .verify(message, signature)
        .map_err(|_| SignatureError::BadSignature)?;
    // Each certificate must be signed by the next one. Whether the last one is trusted is not
    // for the LRS to decide (Data 2.6: authenticating a signer is out of the spec's scope).
    for (i, pair) in certificates.windows(2).enumerate() {
        if let [child, issuer] = pair {
            child
                .verify_signature(Some(issuer.public_key()))
                .map_err(|_| {
                    SignatureError::Certificate(format!("x5c[{i}] is not signed by x5c[{}]", i + 1))
                })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

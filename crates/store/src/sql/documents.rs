//! Document rows: writes run in the writer (preconditions checked inside its transaction, so of
//! concurrent If-Match writers exactly one wins), reads on the read pool.
use jiff::Timestamp;
use ledger::{NewEntry, framed_hash};

use super::writer::Context;
use super::{Arg, Sql};
use crate::{Document, DocumentKey, DocumentScope, DocumentWrite, Preconditions, StoreError};

/// The content hash the ledger keeps for a document or attachment: its Content-Type and bytes.
pub(crate) fn document_hash(content_type: &str, content: &[u8]) -> ledger::Hash {
    framed_hash(&[content_type.as_bytes(), content])
}

/// The hash a delete entry names as the new content: nothing.
fn deleted_hash() -> ledger::Hash {
    framed_hash(&[])
}

const KEY_WHERE: &str =
    "kind = $1 AND activity = $2 AND agent = $3 AND registration = $4 AND doc_id = $5";

fn key_args(key: &DocumentKey) -> [Arg<'_>; 5] {
    let s = &key.scope;
    [
        Arg::Text(s.kind.as_str()),
        Arg::Text(&s.activity),
        Arg::Text(&s.agent),
        Arg::Text(s.key_registration()),
        Arg::Text(&key.id),
    ]
}

fn time(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us)
        .map_err(|e| StoreError::Corrupt(format!("document time out of range: {e}")))
}

pub(crate) fn read_document(
    conn: &mut impl Sql,
    key: &DocumentKey,
) -> Result<Option<Document>, StoreError> {
    conn.row(
        &format!("SELECT content_type, content, etag, updated_us FROM documents WHERE {KEY_WHERE}"),
        &key_args(key),
    )?
    .map(|row| {
        Ok(Document {
            content_type: row.text(0)?,
            content: row.bytes(1)?,
            etag: row.text(2)?,
            updated: time(row.int(3)?)?,
        })
    })
    .transpose()
}

/// The ids (and latest update times) of a scope's documents, optionally only those updated after
/// `since`; an id stored under several registrations (a scope without one) comes once.
pub(crate) fn read_ids(
    conn: &mut impl Sql,
    scope: &DocumentScope,
    since: Option<Timestamp>,
) -> Result<Vec<(String, Timestamp)>, StoreError> {
    let since = since.map_or(i64::MIN, |t| t.as_microsecond());
    let mut ids: Vec<(String, Timestamp)> = Vec::new();
    for (_, id, updated) in read_keys(conn, scope, since)? {
        match ids.last_mut() {
            Some((last, at)) if *last == id => *at = (*at).max(updated),
            _ => ids.push((id, updated)),
        }
    }
    Ok(ids)
}

/// The (registration, id, update time) of a scope's documents updated after `since` (µs), by
/// id: every registration's when the scope has none.
fn read_keys(
    conn: &mut impl Sql,
    scope: &DocumentScope,
    since: i64,
) -> Result<Vec<(String, String, Timestamp)>, StoreError> {
    let mut args = vec![
        Arg::Text(scope.kind.as_str()),
        Arg::Text(&scope.activity),
        Arg::Text(&scope.agent),
        Arg::Int(since),
    ];
    let registration = match &scope.registration {
        Some(registration) => {
            args.push(Arg::Text(registration));
            " AND registration = $5"
        }
        None => "",
    };
    conn.rows(
        &format!(
            "SELECT registration, doc_id, updated_us FROM documents
             WHERE kind = $1 AND activity = $2 AND agent = $3 AND updated_us > $4{registration}
             ORDER BY doc_id, registration"
        ),
        &args,
    )?
    .iter()
    .map(|row| Ok((row.text(0)?, row.text(1)?, time(row.int(2)?)?)))
    .collect()
}

/// PUT or POST one document, with its ledger entry (and the hash of what it replaced).
pub(crate) fn write(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    write: DocumentWrite,
) -> Result<(), StoreError> {
    let existing = read_document(conn, &write.key)?;
    write
        .preconditions
        .check(existing.as_ref().map(|d| d.etag.as_str()))?;
    let (content_type, content, action) = match (&existing, write.merge) {
        (Some(stored), true) => {
            let merged = xapi::document::merge(
                &stored.content_type,
                &stored.content,
                &write.content_type,
                &write.content,
            )?;
            (stored.content_type.clone(), merged, "document.post")
        }
        (None, true) => (write.content_type, write.content, "document.post"),
        (_, false) => (write.content_type, write.content, "document.put"),
    };
    let etag = xapi::document::etag(&content);
    let [kind, activity, agent, registration, doc_id] = key_args(&write.key);
    conn.exec(
        "INSERT INTO documents (kind, activity, agent, registration, doc_id, content_type, content, etag, updated_us)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (kind, activity, agent, registration, doc_id) DO UPDATE SET
             content_type = excluded.content_type, content = excluded.content,
             etag = excluded.etag, updated_us = excluded.updated_us",
        &[kind, activity, agent, registration, doc_id, Arg::Text(&content_type), Arg::Bytes(&content), Arg::Text(&etag), Arg::Int(cx.stored_us)],
    )?;
    let time = cx.time.clone();
    cx.ledger.append(
        conn,
        &time,
        NewEntry {
            principal: principal.to_string(),
            action: action.into(),
            kind: "document".into(),
            resource: write.key.ledger_resource(),
            content: document_hash(&content_type, &content),
            previous_content: existing.map(|d| document_hash(&d.content_type, &d.content)),
        },
    )?;
    Ok(())
}

/// DELETE one document (`id`) or all of a scope's documents, each with its ledger entry keeping
/// the hash of what was deleted. Returns how many were deleted.
pub(crate) fn delete(
    conn: &mut impl Sql,
    cx: &mut Context<'_>,
    principal: &str,
    scope: &DocumentScope,
    id: Option<&str>,
    preconditions: &Preconditions,
) -> Result<u64, StoreError> {
    let keys: Vec<DocumentKey> = match id {
        Some(id) => vec![DocumentKey {
            scope: scope.clone(),
            id: id.to_string(),
        }],
        None => read_keys(conn, scope, i64::MIN)?
            .into_iter()
            .map(|(registration, id, _)| DocumentKey {
                scope: DocumentScope {
                    registration: Some(registration),
                    ..scope.clone()
                },
                id,
            })
            .collect(),
    };
    let mut deleted = 0;
    for key in keys {
        let existing = read_document(conn, &key)?;
        preconditions.check(existing.as_ref().map(|d| d.etag.as_str()))?;
        let Some(existing) = existing else { continue };
        conn.exec(
            &format!("DELETE FROM documents WHERE {KEY_WHERE}"),
            &key_args(&key),
        )?;
        let time = cx.time.clone();
        cx.ledger.append(
            conn,
            &time,
            NewEntry {
                principal: principal.to_string(),
                action: "document.delete".into(),
                kind: "document".into(),
                resource: key.ledger_resource(),
                content: deleted_hash(),
                previous_content: Some(document_hash(&existing.content_type, &existing.content)),
            },
        )?;
        deleted += 1;
    }
    Ok(deleted)
}

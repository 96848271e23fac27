//! Document rows: writes run in the writer (preconditions checked inside its transaction, so of
//! concurrent If-Match writers exactly one wins), reads on the read pool.
use jiff::Timestamp;
use ledger::{NewEntry, framed_hash};
use rusqlite::{Connection, OptionalExtension, params};

use super::writer::Context;
use crate::{Document, DocumentKey, DocumentScope, DocumentWrite, Preconditions, StoreError};

/// The content hash the ledger keeps for a document: its Content-Type and bytes.
pub(crate) fn document_hash(content_type: &str, content: &[u8]) -> ledger::Hash {
    framed_hash(&[content_type.as_bytes(), content])
}

/// The hash a delete entry names as the new content: nothing.
pub(crate) fn deleted_hash() -> ledger::Hash {
    framed_hash(&[])
}

const KEY_WHERE: &str =
    "kind = ?1 AND activity = ?2 AND agent = ?3 AND registration = ?4 AND doc_id = ?5";

fn key_params(key: &DocumentKey) -> [&str; 5] {
    let s = &key.scope;
    [
        s.kind.as_str(),
        &s.activity,
        &s.agent,
        &s.registration,
        &key.id,
    ]
}

pub(crate) fn read_document(
    conn: &Connection,
    key: &DocumentKey,
) -> Result<Option<Document>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT content_type, content, etag, updated_us FROM documents WHERE {KEY_WHERE}"
        ))?
        .query_row(key_params(key), |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Vec<u8>>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    row.map(|(content_type, content, etag, updated_us)| {
        Ok(Document {
            content_type,
            content,
            etag,
            updated: Timestamp::from_microsecond(updated_us)
                .map_err(|e| StoreError::Corrupt(format!("document time out of range: {e}")))?,
        })
    })
    .transpose()
}

/// The ids (and update times) of a scope's documents, optionally only those updated after `since`.
pub(crate) fn read_ids(
    conn: &Connection,
    scope: &DocumentScope,
    since: Option<Timestamp>,
) -> Result<Vec<(String, Timestamp)>, StoreError> {
    let mut select = conn.prepare_cached(
        "SELECT doc_id, updated_us FROM documents
         WHERE kind = ?1 AND activity = ?2 AND agent = ?3 AND registration = ?4 AND updated_us > ?5
         ORDER BY doc_id",
    )?;
    let since = since.map_or(i64::MIN, |t| t.as_microsecond());
    let rows = select.query_map(
        params![
            scope.kind.as_str(),
            scope.activity,
            scope.agent,
            scope.registration,
            since
        ],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
    )?;
    let mut ids = Vec::new();
    for row in rows {
        let (id, updated_us) = row?;
        let updated = Timestamp::from_microsecond(updated_us)
            .map_err(|e| StoreError::Corrupt(format!("document time out of range: {e}")))?;
        ids.push((id, updated));
    }
    Ok(ids)
}

/// PUT or POST one document, with its ledger entry (and the hash of what it replaced).
pub(crate) fn write(
    conn: &Connection,
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
    let [kind, activity, agent, registration, doc_id] = key_params(&write.key);
    conn.prepare_cached(
        "INSERT INTO documents (kind, activity, agent, registration, doc_id, content_type, content, etag, updated_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (kind, activity, agent, registration, doc_id) DO UPDATE SET
             content_type = excluded.content_type, content = excluded.content,
             etag = excluded.etag, updated_us = excluded.updated_us",
    )?
    .execute(params![kind, activity, agent, registration, doc_id, content_type, content, etag, cx.stored_us])?;
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
    conn: &Connection,
    cx: &mut Context<'_>,
    principal: &str,
    scope: &DocumentScope,
    id: Option<&str>,
    preconditions: &Preconditions,
) -> Result<u64, StoreError> {
    let ids: Vec<String> = match id {
        Some(id) => vec![id.to_string()],
        None => read_ids(conn, scope, None)?
            .into_iter()
            .map(|(id, _)| id)
            .collect(),
    };
    let mut deleted = 0;
    for id in ids {
        let key = DocumentKey {
            scope: scope.clone(),
            id,
        };
        let existing = read_document(conn, &key)?;
        preconditions.check(existing.as_ref().map(|d| d.etag.as_str()))?;
        let Some(existing) = existing else { continue };
        conn.prepare_cached(&format!("DELETE FROM documents WHERE {KEY_WHERE}"))?
            .execute(key_params(&key))?;
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

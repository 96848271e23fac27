//! Reads that answer queries: statement queries as index range scans, credentials.
use jiff::Timestamp;

use super::{Arg, Query, Row, Sql, stored_statement};
use crate::credentials::CredentialRow;
use crate::{
    Credential, EvidenceOf, EvidenceRow, Page, StatementPage, StatementQuery, StoreError,
    StoredCompletion, StoredDecision, StoredFact,
};

fn empty() -> StatementPage {
    StatementPage {
        statements: Vec::new(),
        next: None,
    }
}

/// A query as a range scan: the first term's postings in seq order, joined with the postings of
/// the other terms and the statements, bounded by the seq range that since/until/cursor give.
pub(crate) fn run_query(
    conn: &mut impl Sql,
    query: &StatementQuery,
) -> Result<StatementPage, StoreError> {
    let mut term_ids = Vec::with_capacity(query.terms.len());
    for term in &query.terms {
        match conn.row("SELECT id FROM terms WHERE term = $1", &[Arg::Text(term)])? {
            Some(row) => term_ids.push(row.int(0)?),
            // A term no statement has: nothing can match.
            None => return Ok(empty()),
        }
    }
    let (mut low, mut high) = (i64::MIN, i64::MAX);
    // `stored` never decreases as `seq` grows, so a time window is a seq range: the first (last)
    // `stored` inside the window is found in the `stored` index, then the lowest (highest) `seq`
    // stored then. (Asked directly, `min(seq) … WHERE stored_us > $1` is planned as a walk of the
    // `seq` index from its start, testing each row: the whole table for a recent `since`. The
    // `+ 0` keeps the outer aggregate from being planned so.)
    if let Some(since) = query.since {
        let row = conn.row(
            "SELECT min(seq + 0) FROM statements WHERE stored_us =
               (SELECT min(stored_us) FROM statements WHERE stored_us > $1)",
            &[Arg::Int(since.as_microsecond())],
        )?;
        low = row
            .map(|r| r.opt_int(0))
            .transpose()?
            .flatten()
            .unwrap_or(i64::MAX);
    }
    if let Some(until) = query.until {
        let row = conn.row(
            "SELECT max(seq + 0) FROM statements WHERE stored_us =
               (SELECT max(stored_us) FROM statements WHERE stored_us <= $1)",
            &[Arg::Int(until.as_microsecond())],
        )?;
        high = row
            .map(|r| r.opt_int(0))
            .transpose()?
            .flatten()
            .unwrap_or(i64::MIN);
    }
    if let Some(after) = query.after {
        if query.ascending {
            low = low.max(after.saturating_add(1));
        } else {
            high = high.min(after.saturating_sub(1));
        }
    }
    if low > high {
        return Ok(empty());
    }

    let mut args: Vec<Arg<'_>> = Vec::with_capacity(term_ids.len() + 3);
    let mut sql = String::from("SELECT s.seq, s.json, s.stored_us FROM ");
    let seq = if term_ids.is_empty() {
        sql.push_str("statements s WHERE TRUE");
        "s.seq"
    } else {
        sql.push_str("postings p0");
        for (i, id) in term_ids.iter().enumerate().skip(1) {
            args.push(Arg::Int(*id));
            sql.push_str(&format!(
                " JOIN postings p{i} ON p{i}.term = ${} AND p{i}.seq = p0.seq",
                args.len()
            ));
        }
        args.push(Arg::Int(term_ids[0]));
        sql.push_str(&format!(
            " JOIN statements s ON s.seq = p0.seq WHERE p0.term = ${}",
            args.len()
        ));
        "p0.seq"
    };
    let n = args.len();
    sql.push_str(&format!(
        " AND {seq} >= ${} AND {seq} <= ${} AND NOT s.voided ORDER BY {seq} {} LIMIT ${}",
        n + 1,
        n + 2,
        if query.ascending { "ASC" } else { "DESC" },
        n + 3
    ));
    args.extend([
        Arg::Int(low),
        Arg::Int(high),
        Arg::Int(query.limit as i64 + 1),
    ]);

    let rows = conn.rows(&sql, &args)?;
    let mut statements = Vec::with_capacity(rows.len().min(query.limit));
    let mut next = None;
    for row in &rows {
        if statements.len() == query.limit {
            next = rows
                .get(query.limit.wrapping_sub(1))
                .map(|r| r.int(0))
                .transpose()?;
            break;
        }
        statements.push(stored_statement(row.text(1)?, row.int(2)?)?);
    }
    Ok(StatementPage { statements, next })
}

pub(crate) const CREDENTIAL_COLUMNS: &str =
    "id, key, name, secret_hash, store, kind, scopes, created, expires, revoked";

pub(crate) fn credential_row(row: &Row) -> Result<(i64, CredentialRow), StoreError> {
    Ok((
        row.int(0)?,
        CredentialRow {
            key: row.text(1)?,
            name: row.text(2)?,
            secret_hash: row.text(3)?,
            store: row.text(4)?,
            kind: row.text(5)?,
            scopes: row.text(6)?,
            created: row.text(7)?,
            expires: row.opt_text(8)?,
            revoked: row.opt_text(9)?,
        },
    ))
}

pub(crate) fn credential(conn: &mut impl Sql, key: &str) -> Result<Option<Credential>, StoreError> {
    let row = conn.row(
        &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE key = $1"),
        &[Arg::Text(key)],
    )?;
    row.map(|row| {
        let (id, row) = credential_row(&row)?;
        row.into_credential(id)
    })
    .transpose()
}

pub(crate) fn credentials(
    conn: &mut impl Sql,
    store: Option<&str>,
) -> Result<Vec<Credential>, StoreError> {
    let rows = match store {
        Some(store) => conn.rows(
            &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE store = $1 ORDER BY id"),
            &[Arg::Text(store)],
        )?,
        None => conn.rows(
            &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY id"),
            &[],
        )?,
    };
    rows.iter()
        .map(|row| {
            let (id, row) = credential_row(row)?;
            row.into_credential(id)
        })
        .collect()
}

pub(crate) fn store_entries(conn: &mut impl Sql) -> Result<Vec<(String, Timestamp)>, StoreError> {
    conn.rows("SELECT name, created FROM stores ORDER BY name", &[])?
        .iter()
        .map(|row| {
            let created = row.text(1)?;
            let created = created.parse().map_err(|_| {
                StoreError::Corrupt(format!(
                    "store {}: unreadable time",
                    row.text(0).unwrap_or_default()
                ))
            })?;
            Ok((row.text(0)?, created))
        })
        .collect()
}

pub(crate) fn facts(conn: &mut impl Sql, page: Page) -> Result<Vec<StoredFact>, StoreError> {
    conn.rows(
        "SELECT id, kind, body, reason, principal, recorded_at FROM compliance_facts WHERE id > $1 ORDER BY id LIMIT $2",
        &[
            Arg::Int(page.after),
            Arg::Int(i64::try_from(page.limit).unwrap_or(i64::MAX)),
        ],
    )?
    .iter()
    .map(|row| {
        Ok(StoredFact {
            id: row.int(0)?,
            kind: row.text(1)?,
            body: row.text(2)?,
            reason: row.text(3)?,
            principal: row.text(4)?,
            recorded_at: row
                .text(5)?
                .parse()
                .map_err(|_| StoreError::Corrupt("a fact's time is unreadable".into()))?,
        })
    })
    .collect()
}

/// Rows of a compliance record table, of one person (everyone when `None`), oldest first, after
/// the id `after`, at most `limit`.
fn person_rows(
    conn: &mut impl Sql,
    table: &str,
    columns: &str,
    person: Option<&str>,
    page: Page,
) -> Result<Vec<Row>, StoreError> {
    let limit = i64::try_from(page.limit).unwrap_or(i64::MAX);
    match person {
        Some(p) => conn.rows(
            &format!(
                "SELECT {columns} FROM {table} WHERE person = $1 AND id > $2 ORDER BY id LIMIT $3"
            ),
            &[Arg::Text(p), Arg::Int(page.after), Arg::Int(limit)],
        ),
        None => conn.rows(
            &format!("SELECT {columns} FROM {table} WHERE id > $1 ORDER BY id LIMIT $2"),
            &[Arg::Int(page.after), Arg::Int(limit)],
        ),
    }
}

/// Recorded decisions about one person (everyone when `None`), oldest first.
pub(crate) fn decisions(
    conn: &mut impl Sql,
    person: Option<&str>,
    page: Page,
) -> Result<Vec<StoredDecision>, StoreError> {
    person_rows(
        conn,
        "compliance_decisions",
        "id, person, body, principal, recorded_at",
        person,
        page,
    )?
    .iter()
    .map(|row| {
        Ok(StoredDecision {
            id: row.int(0)?,
            person: row.text(1)?,
            body: row.text(2)?,
            principal: row.text(3)?,
            recorded_at: row
                .text(4)?
                .parse()
                .map_err(|_| StoreError::Corrupt("a decision's time is unreadable".into()))?,
        })
    })
    .collect()
}

/// Stored completions of one person (everyone when `None`), oldest first.
pub(crate) fn completions(
    conn: &mut impl Sql,
    person: Option<&str>,
    page: Page,
) -> Result<Vec<StoredCompletion>, StoreError> {
    let time = |text: String| {
        text.parse::<Timestamp>()
            .map_err(|_| StoreError::Corrupt("a completion's time is unreadable".into()))
    };
    person_rows(
        conn,
        "compliance_completions",
        "id, person, body, derived_at, invalidated_at",
        person,
        page,
    )?
    .iter()
    .map(|row| {
        Ok(StoredCompletion {
            id: row.int(0)?,
            person: row.text(1)?,
            body: row.text(2)?,
            derived_at: time(row.text(3)?)?,
            invalidated_at: row.opt_text(4)?.map(time).transpose()?,
        })
    })
    .collect()
}

fn micros(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Statements about any of these agents or activities, voided ones included, with when they were
/// stored and when they were voided.
pub(crate) fn evidence(
    conn: &mut impl Sql,
    about: &EvidenceOf,
) -> Result<Vec<EvidenceRow>, StoreError> {
    let terms: Vec<String> = match about {
        EvidenceOf::Agents(ifis) => ifis.iter().map(|ifi| format!("a:{ifi}")).collect(),
        EvidenceOf::Activities(ids) => ids.iter().map(|id| format!("o:{id}")).collect(),
    };
    let mut found = Vec::new();
    for term in terms {
        let Some(term) = term_id(conn, &term)? else {
            continue;
        };
        let rows = conn.rows(
            &format!(
                "SELECT s.seq, s.json, s.stored_us, {VOIDED_AT}
                 FROM postings p JOIN statements s ON s.seq = p.seq
                 WHERE p.term = $1 AND NOT s.voiding ORDER BY p.seq"
            ),
            &[Arg::Int(term)],
        )?;
        for row in rows {
            found.push(EvidenceRow {
                seq: row.int(0)?,
                json: row.text(1)?,
                stored: micros(row.int(2)?)?,
                voided: row.opt_int(3)?.map(micros).transpose()?,
                voids: None,
            });
        }
    }
    Ok(found)
}

/// When statement `s` was voided: the `stored` of its first void. Through the index of `target`;
/// `min(v.stored_us)` alone may be planned as a walk of the `stored` index testing each row
/// (the whole table for each statement never voided: PostgreSQL did so for a store not yet
/// analysed, and a compliance catch-up of 10,000 statements ran for minutes). `+ 0` keeps it
/// from being planned so.
const VOIDED_AT: &str =
    "(SELECT min(v.stored_us + 0) FROM statements v WHERE v.target = s.id AND v.voiding)";

/// Statements after `after` in stored order, each voiding one with its target's JSON.
pub(crate) fn statements_after(
    conn: &mut impl Sql,
    after: i64,
    limit: usize,
) -> Result<Vec<EvidenceRow>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.rows(
        // A statement's void may be stored before it (xAPI allows it): then the row says so,
        // since the void's own row came first and found nothing to void.
        &format!(
            "SELECT s.seq, s.json, s.stored_us, t.json, {VOIDED_AT}
         FROM statements s
         LEFT JOIN statements t ON s.voiding AND t.id = s.target
         WHERE s.seq > $1 ORDER BY s.seq LIMIT $2"
        ),
        &[Arg::Int(after), Arg::Int(limit)],
    )?
    .iter()
    .map(|row| {
        Ok(EvidenceRow {
            seq: row.int(0)?,
            json: row.text(1)?,
            stored: micros(row.int(2)?)?,
            voided: row.opt_int(4)?.map(micros).transpose()?,
            voids: row.opt_text(3)?,
        })
    })
    .collect()
}

/// The newest fact id and statement seq, read after `wait_for_writers` (the read of
/// `WriterLock::wait`, where there is one) has returned: both sent in one round trip, run one
/// after the other (the read sees what the writer waited for committed).
pub(crate) fn compliance_watermarks(
    conn: &mut impl Sql,
    wait_for_writers: Option<&str>,
) -> Result<(Option<i64>, i64), StoreError> {
    let read = "SELECT (SELECT max(id) FROM compliance_facts), (SELECT max(seq) FROM statements)";
    let queries: Vec<Query<'_>> = wait_for_writers
        .map(|wait| (wait, &[][..]))
        .into_iter()
        .chain([(read, &[][..])])
        .collect();
    let answers = conn.rows_together(&queries)?;
    let row = answers
        .last()
        .and_then(|rows| rows.first())
        .ok_or_else(|| StoreError::Corrupt("the watermarks' read returned no row".into()))?;
    Ok((row.opt_int(0)?, row.opt_int(1)?.unwrap_or(0)))
}

fn term_id(conn: &mut impl Sql, term: &str) -> Result<Option<i64>, StoreError> {
    conn.row("SELECT id FROM terms WHERE term = $1", &[Arg::Text(term)])?
        .map(|r| r.int(0))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::{rows_read, test_write_connection};

    /// A `since`/`until` window and the void times of a page of statements read a few rows each,
    /// even as PostgreSQL plans them for a store it has not analysed yet (its generic plan):
    /// asked as `min(seq) … WHERE stored_us > $1`, a recent `since` walked the `seq` index from
    /// the start (the whole table; 300 ms on a million statements on SQLite too), and
    /// `min(v.stored_us)` of each statement's voids walked the `stored` index (the whole table
    /// per statement: a compliance catch-up of 10,000 statements ran for minutes).
    #[test]
    fn window_bounds_and_void_times_read_few_rows_on_a_store_not_yet_analysed() {
        let Some(mut conn) = test_write_connection() else {
            return;
        };
        conn.batch(
            "INSERT INTO statements (seq, id, stored_us, target, voiding, voided, json)
               SELECT i, 'id ' || i, i * 1000, NULL, false, false, '{}'
               FROM generate_series(1, 20000) i;
             SET plan_cache_mode = force_generic_plan",
        )
        .expect("a store of 20,000 statements");
        let window = StatementQuery {
            since: Timestamp::from_microsecond(19_990_000).ok(),
            until: Timestamp::from_microsecond(19_995_000).ok(),
            limit: 100,
            ascending: true,
            ..StatementQuery::default()
        };
        let (page, read) = rows_read(&mut conn, "statements", |conn| {
            run_query(conn, &window).expect("query")
        });
        assert_eq!(page.statements.len(), 5, "seq 19,991 to 19,995");
        assert!(read < 100, "the window read {read} rows");
        let (rows, read) = rows_read(&mut conn, "statements", |conn| {
            statements_after(conn, 19_900, 100).expect("read")
        });
        assert_eq!(rows.len(), 100);
        assert!(rows.iter().all(|r| r.voided.is_none()));
        assert!(
            read < 1_000,
            "a page of 100 and its void times read {read} rows"
        );
    }
}

//! multipart/mixed (RFC 2046 5.1) for statement requests with attachments (Communication 1.5.2).
//!
//! A small parser of a body already in memory (the body limit applies first), rather than
//! `multer`: `multer` needs CRLF line ends, while xAPI clients and the ADL suite's own fixtures
//! are not always that careful (bare LF line ends, `Name:value` headers without a space), and a
//! pure function over a byte slice is what a fuzz target wants. Lenient where RFC 2046 lets a
//! reader be (line ends, transport padding, preamble and epilogue), strict where a mistake would
//! change the data (a missing close delimiter, a header line without a colon).
use std::ops::Range;

use memchr::memmem;

/// One body part: its header fields (names in lowercase, in order) and where its content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    /// The content's range in the body given to [`parse`].
    pub content: Range<usize>,
}

impl Part {
    /// The value of a header field (the first one of that name), by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a body is not multipart/mixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("the multipart body never contains its boundary \"--{0}\"")]
    NoBoundary(String),
    #[error("a boundary line is followed by other text (RFC 2046 5.1.1)")]
    BadDelimiter,
    #[error("part {0} has a header line that is not 'Name: value'")]
    BadHeader(usize),
    #[error("part {0} has no empty line after its headers")]
    UnterminatedHeaders(usize),
    #[error("the multipart body ends without its close delimiter \"--{0}--\" (truncated?)")]
    Unterminated(String),
}

/// The boundary of a `multipart/*` Content-Type, read leniently: RFC 2046 allows characters in a
/// boundary (`'()+_,-./:=?`, space) that need quotes, and the xAPI spec's own example quotes it
/// while clients often do not. An unquoted value runs to the next `;` (or the end).
pub fn boundary(content_type: &str) -> Option<String> {
    let (_, parameters) = content_type.split_once(';')?;
    let mut rest = parameters;
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t', ';']);
        let (name, after) = trimmed.split_once('=')?;
        let after = after.trim_start_matches([' ', '\t']);
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            // An unclosed quote: take the rest as the value.
            let next = end.map_or("", |e| &quoted[e..]);
            (value, next)
        } else {
            match after.split_once(';') {
                Some((value, next)) => (value.trim_end().to_string(), next),
                None => (after.trim_end().to_string(), ""),
            }
        };
        if name.trim().eq_ignore_ascii_case("boundary") {
            // RFC 2046 5.1.1: 1 to 70 characters, not ending in a space.
            let value = value.trim_end_matches(' ').to_string();
            let usable = !value.is_empty()
                && value.len() <= 200
                && !value.bytes().any(|b| b == b'\r' || b == b'\n');
            return usable.then_some(value);
        }
        if next.is_empty() {
            return None;
        }
        rest = next;
    }
}

/// Splits `body` into its parts. The preamble before the first boundary line and the epilogue
/// after the close delimiter are ignored (RFC 2046 5.1.1).
pub fn parse(body: &[u8], boundary: &str) -> Result<Vec<Part>, MultipartError> {
    let dash_boundary = format!("--{boundary}");
    let dash = dash_boundary.as_bytes();
    // A delimiter inside the body is a line that starts with the dash-boundary.
    let mut line_start = Vec::with_capacity(dash.len() + 1);
    line_start.push(b'\n');
    line_start.extend_from_slice(dash);
    let finder = memmem::Finder::new(&line_start);

    let mut at = if body.starts_with(dash) {
        dash.len()
    } else {
        finder
            .find(body)
            .map(|i| i + line_start.len())
            .ok_or_else(|| MultipartError::NoBoundary(boundary.to_string()))?
    };
    let mut parts = Vec::new();
    loop {
        // After a dash-boundary: "--" closes, otherwise transport padding and a line end.
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        at = skip_line_end(body, at).ok_or(MultipartError::BadDelimiter)?;
        let index = parts.len();
        let (headers, content_start) = headers(body, at, index)?;
        let Some(found) = finder.find(&body[content_start..]) else {
            return Err(MultipartError::Unterminated(boundary.to_string()));
        };
        let newline = content_start + found;
        // The CRLF (or bare LF) before the boundary belongs to the delimiter, not the content.
        let content_end = if newline > content_start && body[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        parts.push(Part {
            headers,
            content: content_start..content_end,
        });
        at = newline + line_start.len();
    }
}

/// Skips optional spaces and tabs and one line end (CRLF or LF) from `at`.
fn skip_line_end(body: &[u8], mut at: usize) -> Option<usize> {
    while matches!(body.get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    match (body.get(at), body.get(at + 1)) {
        (Some(b'\r'), Some(b'\n')) => Some(at + 2),
        (Some(b'\n'), _) => Some(at + 1),
        _ => None,
    }
}

/// Reads header lines from `at` up to the empty line, returning them and where the content
/// starts. A line that starts with a space or tab continues the previous field (RFC 5322 2.2.3).
fn headers(
    body: &[u8],
    mut at: usize,
    index: usize,
) -> Result<(Vec<(String, String)>, usize), MultipartError> {
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let Some(end) = memchr::memchr(b'\n', &body[at..]).map(|i| at + i) else {
            return Err(MultipartError::UnterminatedHeaders(index));
        };
        let line = &body[at..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at = end + 1;
        if line.is_empty() {
            return Ok((headers, at));
        }
        let line = std::str::from_utf8(line).map_err(|_| MultipartError::BadHeader(index))?;
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = headers.last_mut() else {
                return Err(MultipartError::BadHeader(index));
            };
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(MultipartError::BadHeader(index));
        };
        let name = name.trim_end();
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(MultipartError::BadHeader(index));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents<'a>(body: &'a [u8], parts: &[Part]) -> Vec<&'a [u8]> {
        parts.iter().map(|p| &body[p.content.clone()]).collect()
    }

    #[test]
    fn reads_the_spec_example_boundary_quoted_or_not_c_1_5_2() {
        let spec = "abcABC0123'()+_,-./:=?";
        assert_eq!(
            boundary("multipart/mixed; boundary=\"abcABC0123'()+_,-./:=?\"").as_deref(),
            Some(spec)
        );
        assert_eq!(
            boundary("multipart/mixed; boundary=abcABC0123'()+_,-./:=?").as_deref(),
            Some(spec)
        );
        assert_eq!(
            boundary("Multipart/Mixed;charset=utf-8; BOUNDARY=-------314159265358979323846")
                .as_deref(),
            Some("-------314159265358979323846")
        );
        assert_eq!(
            boundary("multipart/mixed; boundary=\"a\\\"b\"; x=y").as_deref(),
            Some("a\"b")
        );
        assert_eq!(boundary("multipart/mixed;"), None);
        assert_eq!(boundary("multipart/mixed"), None);
        assert_eq!(boundary("multipart/mixed; boundary="), None);
        assert_eq!(boundary("multipart/mixed; boundary=\"\""), None);
        assert_eq!(boundary("multipart/mixed; charset=x"), None);
    }

    #[test]
    fn parses_the_spec_example_c_1_5_2() {
        let b = "abcABC0123'()+_,-./:=?";
        let body = format!(
            "\r\n--{b}\r\nContent-Type:application/json\r\n\r\n{{\"a\":1}}\r\n--{b}\r\n\
             Content-Type:text/plain\r\nContent-Transfer-Encoding:binary\r\n\
             X-Experience-API-Hash:495395e7\r\n\r\nhere is a simple attachment\r\n--{b}--"
        );
        let parts = parse(body.as_bytes(), b).expect("parsed");
        assert_eq!(
            contents(body.as_bytes(), &parts),
            [&b"{\"a\":1}"[..], b"here is a simple attachment"]
        );
        assert_eq!(parts[0].header("content-type"), Some("application/json"));
        assert_eq!(parts[1].header("x-experience-api-hash"), Some("495395e7"));
    }

    #[test]
    fn accepts_bare_lf_line_ends_and_an_epilogue() {
        let body = b"preamble\n--XX\nContent-Type: application/json\n\n[]\n--XX\n\nbin\r\nary\n--XX--\nepilogue";
        let parts = parse(body, "XX").expect("parsed");
        assert_eq!(contents(body, &parts), [&b"[]"[..], b"bin\r\nary"]);
        assert!(parts[1].headers.is_empty());
    }

    #[test]
    fn keeps_binary_content_exactly() {
        let content: Vec<u8> = (0..=255u8).chain([b'\r', b'\n', b'-', b'-']).collect();
        let mut body = b"--b\r\n\r\n".to_vec();
        body.extend_from_slice(&content);
        body.extend_from_slice(b"\r\n--b--\r\n");
        let parts = parse(&body, "b").expect("parsed");
        assert_eq!(contents(&body, &parts), [&content[..]]);
    }

    #[test]
    fn rejects_malformed_bodies() {
        let cases: [(&[u8], MultipartError); 6] = [
            (b"no boundary here", MultipartError::NoBoundary("b".into())),
            (b"--bx\r\n\r\nz\r\n--b--", MultipartError::BadDelimiter),
            (
                b"--b\r\nContent-Type: a\r\n\r\ntruncated",
                MultipartError::Unterminated("b".into()),
            ),
            (
                b"--b\r\nno colon\r\n\r\nz\r\n--b--",
                MultipartError::BadHeader(0),
            ),
            (b"--b\r\nA: b", MultipartError::UnterminatedHeaders(0)),
            (
                b"--b\r\n folded\r\n\r\nz\r\n--b--",
                MultipartError::BadHeader(0),
            ),
        ];
        for (body, error) in cases {
            assert_eq!(
                parse(body, "b"),
                Err(error),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(parse(b"--b--", "b"), Ok(vec![]));
    }

    #[test]
    fn folds_continued_header_lines() {
        let body = b"--b\r\nX-A: one\r\n two\r\n\r\nz\r\n--b--";
        let parts = parse(body, "b").expect("parsed");
        assert_eq!(parts[0].header("x-a"), Some("one two"));
    }
}

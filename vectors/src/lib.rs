//! The text of Ferry's wire test vectors (`spec/vectors/*.txt`) and of the conformance line
//! protocol (spec/conformance.md), parsed in one place for every user: `ferry-wire`'s tests,
//! the C decoder's tests and `ferry-conformance`, the runner other implementations use.
//!
//! A vector file is a sequence of sections:
//!
//! ```text
//! # comment
//! [name]
//! key = value
//! ```
//!
//! Valid vectors (`valid.txt`) carry `schema`, `hex` and optionally `canonical` (the bytes a
//! re-encoding must produce when `hex` is accepted but not canonical). Invalid vectors
//! (`invalid.txt`) carry `schema`, `hex`, `error`, `offset` and optionally `limits`.

use std::fmt;
use std::path::Path;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_while, take_while1};
use nom::character::complete::{char, digit1, space0, space1};
use nom::combinator::{all_consuming, map, map_res, opt, recognize};
use nom::multi::separated_list0;
use nom::sequence::{delimited, preceded, separated_pair, terminated, tuple};
use nom::IResult;

/// A malformed vector file or protocol line: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number (0 for a single protocol line).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// One `[name]` section of a vector file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The name in brackets.
    pub name: String,
    /// Line of the `[name]` header.
    pub line: usize,
    /// The `key = value` lines, in order.
    pub entries: Vec<(String, String)>,
}

impl Section {
    /// The value of `key`, if the section has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn require(&self, key: &str) -> Result<&str, ParseError> {
        self.get(key).ok_or_else(|| ParseError {
            line: self.line,
            message: format!("vector `{}` has no `{key} =` line", self.name),
        })
    }
}

impl Case {
    /// Does `answer` satisfy this vector?
    pub fn passes(&self, answer: &Answer) -> bool {
        match self.expect {
            Expect::Accepts => matches!(answer, Answer::Decoded(_)),
            _ => *answer == self.expected_answer(),
        }
    }
}

/// Decoding limits a vector runs under (spec/wire.md § 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `max_depth` (default 64).
    pub max_depth: u64,
    /// `max_message_size` (default 16 MiB).
    pub max_message_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 64, max_message_size: 16 << 20 }
    }
}

/// What a conformant decoder does with a vector's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Decodes; re-encoding the decoded value gives these bytes.
    Decodes(Vec<u8>),
    /// Decodes; the re-encoding is not pinned down (`canonical = unspecified`: set elements
    /// or map keys out of order or repeated), so only the verdict is checked.
    Accepts,
    /// Fails with this error code at this offset.
    Fails {
        /// The spec's error code (`truncated`, `invalid_utf8`, …).
        code: String,
        /// Byte offset from the message start.
        offset: usize,
    },
}

/// One test vector, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The section name.
    pub name: String,
    /// The schema (a struct of spec/vectors/schema.thrift, or `dynamic`).
    pub schema: String,
    /// The message.
    pub bytes: Vec<u8>,
    /// The limits to decode under.
    pub limits: Limits,
    /// The verdict.
    pub expect: Expect,
}

impl Case {
    /// The protocol request for this case.
    pub fn request(&self) -> String {
        request(&self.schema, self.limits, &self.bytes)
    }

    /// The answer a conformant implementation gives (for [`Expect::Accepts`], `ok` with
    /// the input: any `ok` passes, see [`Case::passes`]).
    pub fn expected_answer(&self) -> Answer {
        match &self.expect {
            Expect::Decodes(bytes) => Answer::Decoded(bytes.clone()),
            Expect::Accepts => Answer::Decoded(self.bytes.clone()),
            Expect::Fails { code, offset } => {
                Answer::Failed { code: code.clone(), offset: *offset }
            }
        }
    }
}

fn line_end(i: &str) -> IResult<&str, &str> {
    take_while(|c| c == ' ' || c == '\t' || c == '\r')(i)
}

fn section_header(i: &str) -> IResult<&str, &str> {
    terminated(
        delimited(
            char('['),
            take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            char(']'),
        ),
        line_end,
    )(i)
}

fn entry(i: &str) -> IResult<&str, (&str, &str)> {
    separated_pair(
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_'),
        tuple((space0, char('='), space0)),
        map(take_till(|c| c == '\n'), str::trim_end),
    )(i)
}

/// Parses a vector file into its sections. Blank lines and `#` comments are ignored; any
/// other line must be a `[name]` header or a `key = value` line inside a section.
pub fn parse_sections(text: &str) -> Result<Vec<Section>, ParseError> {
    let mut sections: Vec<Section> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Ok((_, name)) = all_consuming(section_header)(trimmed) {
            if sections.iter().any(|s| s.name == name) {
                return Err(ParseError {
                    line,
                    message: format!("vector `{name}` is defined twice"),
                });
            }
            sections.push(Section { name: name.to_owned(), line, entries: Vec::new() });
            continue;
        }
        let Ok((_, (key, value))) = all_consuming(entry)(trimmed) else {
            return Err(ParseError {
                line,
                message: format!("expected `[name]` or `key = value`, found `{trimmed}`"),
            });
        };
        let Some(section) = sections.last_mut() else {
            return Err(ParseError {
                line,
                message: "a `key = value` line before any `[name]`".into(),
            });
        };
        if section.get(key).is_some() {
            return Err(ParseError {
                line,
                message: format!("`{key}` is given twice in `{}`", section.name),
            });
        }
        section.entries.push((key.to_owned(), value.to_owned()));
    }
    Ok(sections)
}

fn hex_byte(i: &str) -> IResult<&str, u8> {
    map_res(recognize(tuple((hex_digit_one, hex_digit_one))), |h| u8::from_str_radix(h, 16))(i)
}

fn hex_digit_one(i: &str) -> IResult<&str, char> {
    nom::character::complete::satisfy(|c| c.is_ascii_hexdigit())(i)
}

fn hex_bytes(i: &str) -> IResult<&str, Vec<u8>> {
    separated_list0(space1, hex_byte)(i)
}

/// Parses bytes written as hex pairs separated by spaces (`08 01`); empty for no bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    all_consuming(hex_bytes)(text)
        .map(|(_, b)| b)
        .map_err(|_| format!("expected hex byte pairs separated by spaces, found `{text}`"))
}

/// Writes bytes as the vectors do: lower-case hex pairs separated by spaces.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn limits(section: &Section) -> Result<Limits, ParseError> {
    let mut limits = Limits::default();
    let Some(text) = section.get("limits") else { return Ok(limits) };
    for part in text.split_whitespace() {
        let parsed: IResult<&str, (&str, &str)> = all_consuming(separated_pair(
            take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_'),
            char('='),
            digit1,
        ))(part);
        let bad = |why: &str| ParseError {
            line: section.line,
            message: format!("vector `{}`: limits `{part}`: {why}", section.name),
        };
        let Ok((_, (key, value))) = parsed else { return Err(bad("expected `name=number`")) };
        let value: u64 = value.parse().map_err(|_| bad("number too large"))?;
        match key {
            "max_depth" => limits.max_depth = value,
            "max_message_size" => limits.max_message_size = value,
            _ => return Err(bad("known limits: max_depth, max_message_size")),
        }
    }
    Ok(limits)
}

fn bytes_of(section: &Section, key: &str) -> Result<Vec<u8>, ParseError> {
    parse_hex(section.require(key)?).map_err(|message| ParseError {
        line: section.line,
        message: format!("vector `{}`, `{key}`: {message}", section.name),
    })
}

/// The cases of a valid-vector file: each decodes, and re-encodes to `canonical` if given,
/// else to `hex`.
pub fn valid_cases(text: &str) -> Result<Vec<Case>, ParseError> {
    parse_sections(text)?
        .into_iter()
        .map(|s| {
            let bytes = bytes_of(&s, "hex")?;
            let expect = match s.get("canonical") {
                Some("unspecified") => Expect::Accepts,
                Some(_) => Expect::Decodes(bytes_of(&s, "canonical")?),
                None => Expect::Decodes(bytes.clone()),
            };
            Ok(Case {
                schema: s.require("schema")?.to_owned(),
                limits: limits(&s)?,
                bytes,
                expect,
                name: s.name,
            })
        })
        .collect()
}

/// The cases of an invalid-vector file: each fails with `error` at `offset`.
pub fn invalid_cases(text: &str) -> Result<Vec<Case>, ParseError> {
    parse_sections(text)?
        .into_iter()
        .map(|s| {
            let offset = s.require("offset")?.parse().map_err(|_| ParseError {
                line: s.line,
                message: format!("vector `{}`: `offset` is not a number", s.name),
            })?;
            Ok(Case {
                schema: s.require("schema")?.to_owned(),
                limits: limits(&s)?,
                bytes: bytes_of(&s, "hex")?,
                expect: Expect::Fails { code: s.require("error")?.to_owned(), offset },
                name: s.name,
            })
        })
        .collect()
}

/// Every case of `dir/valid.txt` and `dir/invalid.txt`, valid ones first.
pub fn load(dir: &Path) -> Result<Vec<Case>, String> {
    let read = |file: &str| {
        let path = dir.join(file);
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let at = |file: &'static str| move |e: ParseError| format!("{}/{file}: {e}", dir.display());
    let mut cases = valid_cases(&read("valid.txt")?).map_err(at("valid.txt"))?;
    cases.extend(invalid_cases(&read("invalid.txt")?).map_err(at("invalid.txt"))?);
    Ok(cases)
}

/// The vectors of this repository (`spec/vectors`).
pub fn spec_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

/// A protocol request: `<schema> <max_depth> <max_message_size> <hex>`.
pub fn request(schema: &str, limits: Limits, bytes: &[u8]) -> String {
    format!("{schema} {} {} {}", limits.max_depth, limits.max_message_size, hex(bytes))
        .trim_end()
        .to_owned()
}

/// An implementation's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `ok <hex>`: decoded; the re-encoding.
    Decoded(Vec<u8>),
    /// `err <code> <offset>`.
    Failed {
        /// The error code.
        code: String,
        /// The offset.
        offset: usize,
    },
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Decoded(b) if b.is_empty() => write!(f, "ok"),
            Answer::Decoded(b) => write!(f, "ok {}", hex(b)),
            Answer::Failed { code, offset } => write!(f, "err {code} {offset}"),
        }
    }
}

fn answer(i: &str) -> IResult<&str, Answer> {
    alt((
        map(preceded(tuple((tag("ok"), opt(space1))), hex_bytes), Answer::Decoded),
        map(
            preceded(
                tuple((tag("err"), space1)),
                separated_pair(
                    take_while1(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    space1,
                    map_res(digit1, str::parse::<usize>),
                ),
            ),
            |(code, offset)| Answer::Failed { code: code.to_owned(), offset },
        ),
    ))(i)
}

/// Parses one answer line (`ok 08 01`, `ok`, `err truncated 3`).
pub fn parse_answer(line: &str) -> Result<Answer, ParseError> {
    let line = line.trim();
    all_consuming(answer)(line).map(|(_, a)| a).map_err(|_| ParseError {
        line: 0,
        message: format!("expected `ok <hex>` or `err <code> <offset>`, found `{line}`"),
    })
}

/// Parses one request line into (schema, limits, bytes).
pub fn parse_request(line: &str) -> Result<(String, Limits, Vec<u8>), ParseError> {
    let line = line.trim();
    let number = |i| map_res(digit1, str::parse::<u64>)(i);
    let parsed: IResult<&str, (&str, u64, u64, Vec<u8>)> = all_consuming(tuple((
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_'),
        preceded(space1, number),
        preceded(space1, number),
        map(opt(preceded(space1, hex_bytes)), Option::unwrap_or_default),
    )))(line);
    match parsed {
        Ok((_, (schema, max_depth, max_message_size, bytes))) => {
            Ok((schema.to_owned(), Limits { max_depth, max_message_size }, bytes))
        }
        Err(_) => Err(ParseError {
            line: 0,
            message: format!(
                "expected `<schema> <max_depth> <max_message_size> <hex>`, found `{line}`"
            ),
        }),
    }
}

/// The limits a differential test decodes mutant `index` under: the defaults for half of
/// them, else small depths and sizes (0 among them, which means "the default" in every
/// implementation, spec/wire.md § 8), so the limit checks are compared too.
pub fn mutant_limits(index: usize, seed: u64) -> Limits {
    let mut h = (index as u64 ^ seed.rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 29;
    if h % 2 == 0 {
        return Limits::default();
    }
    const DEPTHS: [u64; 6] = [0, 1, 2, 3, 5, 64];
    const SIZES: [u64; 7] = [0, 1, 4, 8, 16, 40, 16 << 20];
    Limits {
        max_depth: DEPTHS[((h >> 8) % DEPTHS.len() as u64) as usize],
        max_message_size: SIZES[((h >> 16) % SIZES.len() as u64) as usize],
    }
}

/// Deterministic mutants of `seeds` (and some random byte strings) for differential tests:
/// bytes replaced, bits flipped, truncations and insertions. The same `seed` gives the same
/// inputs, so a disagreement reproduces.
pub fn mutants(seeds: &[Vec<u8>], count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let mut bytes = if i % 4 == 0 || seeds.is_empty() {
            (0..next() % 24).map(|_| next() as u8).collect::<Vec<u8>>()
        } else {
            seeds[(next() % seeds.len() as u64) as usize].clone()
        };
        for _ in 0..1 + next() % 3 {
            if bytes.is_empty() {
                break;
            }
            let at = (next() % bytes.len() as u64) as usize;
            match next() % 4 {
                0 => bytes[at] = next() as u8,
                1 => bytes[at] ^= 1 << (next() % 8),
                2 => bytes.truncate(at),
                _ => bytes.insert(at, next() as u8),
            }
        }
        out.push(bytes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_entries_and_comments() {
        let text = "# c\n\n[a]\nschema = AllTypes\nhex = \nwhat = x = y\n[b_2]\nhex = 08 01\n";
        let s = parse_sections(text).unwrap_or_default();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].get("hex"), Some(""));
        assert_eq!(s[0].get("what"), Some("x = y"));
        assert_eq!(s[1].line, 7);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let e = parse_sections("[a]\nschema AllTypes\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("schema AllTypes"), "{e}");
        assert_eq!(parse_sections("hex = 00\n").unwrap_err().line, 1);
        assert_eq!(parse_sections("[a]\n[a]\n").unwrap_err().line, 2);
        assert_eq!(parse_sections("[a]\nx = 1\nx = 2\n").unwrap_err().line, 3);
        let e = invalid_cases("[a]\nschema = X\nhex = 0g\nerror = truncated\noffset = 1\n")
            .unwrap_err();
        assert!(e.message.contains("`hex`"), "{e}");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(parse_hex("08 01 ff").unwrap_or_default(), vec![8, 1, 255]);
        assert_eq!(parse_hex("").unwrap_or_default(), Vec::<u8>::new());
        assert!(parse_hex("0801").is_err(), "pairs are separated");
        assert!(parse_hex("8").is_err());
        assert_eq!(hex(&[0, 0xab]), "00 ab");
    }

    #[test]
    fn answers_and_requests() {
        assert_eq!(parse_answer("ok 08 01"), Ok(Answer::Decoded(vec![8, 1])));
        assert_eq!(parse_answer("ok"), Ok(Answer::Decoded(vec![])));
        assert_eq!(
            parse_answer("err truncated 3\n"),
            Ok(Answer::Failed { code: "truncated".into(), offset: 3 })
        );
        assert!(parse_answer("err truncated").is_err());
        assert!(parse_answer("okay").is_err());
        let r = request("AllTypes", Limits::default(), &[8, 1]);
        assert_eq!(r, "AllTypes 64 16777216 08 01");
        assert_eq!(
            parse_request(&r).ok(),
            Some(("AllTypes".into(), Limits::default(), vec![8, 1]))
        );
        assert_eq!(
            parse_request("dynamic 3 4").ok(),
            Some(("dynamic".into(), Limits { max_depth: 3, max_message_size: 4 }, vec![]))
        );
        for a in [
            Answer::Decoded(vec![]),
            Answer::Decoded(vec![1, 2]),
            Answer::Failed { code: "x_y".into(), offset: 9 },
        ] {
            assert_eq!(parse_answer(&a.to_string()), Ok(a));
        }
    }

    #[test]
    fn the_spec_vectors_parse() {
        let cases = load(&spec_dir()).unwrap_or_else(|e| panic!("{e}"));
        assert!(cases.len() > 70, "{} cases", cases.len());
    }

    #[test]
    fn mutants_are_deterministic_and_varied() {
        let seeds = vec![vec![8, 1], vec![0x85, 0x01, 0x13, 0x01, 0x61]];
        let a = mutants(&seeds, 200, 7);
        assert_eq!(a, mutants(&seeds, 200, 7));
        assert_ne!(a, mutants(&seeds, 200, 8));
        let distinct: std::collections::BTreeSet<_> = a.iter().collect();
        assert!(distinct.len() > 100);
    }
}

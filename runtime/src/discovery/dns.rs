//! DNS, sans-I/O: a query for one name and type, and the records of a response. Only what
//! discovery needs (A, AAAA, SRV, CNAME over UDP); every length, label, pointer and count is
//! checked against the message, so any bytes give records or a precise error, never a
//! panic (fuzzed: `fuzz/fuzz_targets/dns_response.rs`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Record types discovery asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordType {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
    /// Service locations (RFC 2782).
    Srv,
}

impl RecordType {
    fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Aaaa => 28,
            RecordType::Srv => 33,
        }
    }
}

/// One answer or additional record of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// An address (A or AAAA) of `name`, valid for `ttl` seconds.
    #[allow(missing_docs)]
    Address { name: String, addr: IpAddr, ttl: u32 },
    /// A service location (RFC 2782): `target:port`, lower `priority` first, `weight`
    /// shares load within a priority.
    #[allow(missing_docs)]
    Srv { name: String, priority: u16, weight: u16, port: u16, target: String, ttl: u32 },
    /// `name` is an alias of `target`.
    #[allow(missing_docs)]
    Cname { name: String, target: String },
}

/// Why a response gave no records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// The bytes are not a well-formed response to our query: what is wrong, and where.
    #[allow(missing_docs)]
    Malformed { offset: usize, what: &'static str },
    /// The response answers another query (its id or question differs): ignore it.
    NotOurs,
    /// The server answered with this error code (2 SERVFAIL, 5 REFUSED…; NXDOMAIN is not
    /// an error: no records).
    Server(u8),
    /// The answer did not fit in a UDP message (TC bit): Ferry's resolver does not retry
    /// over TCP; keep fewer records under the name.
    Truncated,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::Malformed { offset, what } => {
                write!(f, "malformed DNS response at byte {offset}: {what}")
            }
            DnsError::NotOurs => f.write_str("a DNS response to another query"),
            DnsError::Server(2) => f.write_str("the DNS server failed (SERVFAIL)"),
            DnsError::Server(5) => f.write_str("the DNS server refused the query (REFUSED)"),
            DnsError::Server(code) => write!(f, "the DNS server answered error code {code}"),
            DnsError::Truncated => f.write_str(
                "the DNS answer was truncated (over 512 bytes); Ferry does not retry over TCP: keep fewer records under the name",
            ),
        }
    }
}

impl std::error::Error for DnsError {}

/// The query for `name` and `kind`, with id `id`, recursion desired. Fails for a name
/// that is not a DNS name (an empty label, a label over 63 bytes, over 253 bytes in all).
pub fn query(id: u16, name: &str, kind: RecordType) -> Result<Vec<u8>, String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return Err(format!("`{name}` is not a DNS name (1 to 253 bytes)"));
    }
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // a standard query, recursion desired
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("`{name}` is not a DNS name (labels of 1 to 63 bytes)"));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&kind.code().to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes()); // class IN
    Ok(q)
}

/// The records of `response` to the query `id` for `name`: answers and additional
/// records of the types above (others skipped). An empty list for NXDOMAIN.
pub fn parse_response(id: u16, name: &str, response: &[u8]) -> Result<Vec<Record>, DnsError> {
    let r = Reader { msg: response };
    let header = r.bytes(0, 12, "a header of 12 bytes")?;
    if u16::from_be_bytes([header[0], header[1]]) != id {
        return Err(DnsError::NotOurs);
    }
    let flags = u16::from_be_bytes([header[2], header[3]]);
    if flags & 0x8000 == 0 {
        return Err(DnsError::Malformed { offset: 2, what: "a query, not a response" });
    }
    if flags & 0x0200 != 0 {
        return Err(DnsError::Truncated);
    }
    match (flags & 0x000f) as u8 {
        0 => {}
        3 => return Ok(Vec::new()), // NXDOMAIN
        code => return Err(DnsError::Server(code)),
    }
    let count = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    let (questions, answers, authority, additional) = (count(4), count(6), count(8), count(10));
    let mut at = 12;
    for _ in 0..questions {
        let (qname, next) = r.name(at)?;
        if !qname.eq_ignore_ascii_case(name.strip_suffix('.').unwrap_or(name)) {
            return Err(DnsError::NotOurs);
        }
        r.bytes(next, 4, "a question's type and class")?;
        at = next + 4;
    }
    let mut records = Vec::new();
    let total = usize::from(answers) + usize::from(authority) + usize::from(additional);
    for _ in 0..total {
        let (owner, next) = r.name(at)?;
        let fixed = r.bytes(next, 10, "a record's type, class, TTL and length")?;
        let kind = u16::from_be_bytes([fixed[0], fixed[1]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let data_at = next + 10;
        let data = r.bytes(data_at, len, "record data as long as its length says")?;
        match (kind, len) {
            (1, 4) => {
                let addr = IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3]));
                records.push(Record::Address { name: owner, addr, ttl });
            }
            (28, 16) => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(data);
                let addr = IpAddr::V6(Ipv6Addr::from(octets));
                records.push(Record::Address { name: owner, addr, ttl });
            }
            (1, _) | (28, _) => {
                return Err(DnsError::Malformed {
                    offset: data_at,
                    what: "an address of the wrong length",
                })
            }
            (33, _) => {
                let f = r.bytes(data_at, 6, "SRV priority, weight and port")?;
                let (target, end) = r.name(data_at + 6)?;
                if end != data_at + len {
                    return Err(DnsError::Malformed {
                        offset: data_at,
                        what: "an SRV record longer or shorter than its length",
                    });
                }
                records.push(Record::Srv {
                    name: owner,
                    priority: u16::from_be_bytes([f[0], f[1]]),
                    weight: u16::from_be_bytes([f[2], f[3]]),
                    port: u16::from_be_bytes([f[4], f[5]]),
                    target,
                    ttl,
                });
            }
            (5, _) => {
                let (target, _) = r.name(data_at)?;
                records.push(Record::Cname { name: owner, target });
            }
            _ => {} // other types (SOA in authority, OPT…): skipped
        }
        at = data_at + len;
    }
    Ok(records)
}

/// Bounds-checked reads of one message: the only place offsets are checked.
struct Reader<'a> {
    msg: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bytes(&self, at: usize, len: usize, what: &'static str) -> Result<&'a [u8], DnsError> {
        at.checked_add(len)
            .and_then(|end| self.msg.get(at..end))
            .ok_or(DnsError::Malformed { offset: at, what })
    }

    /// The name at `at` (following compression pointers, each strictly backwards, so a
    /// loop is impossible) and the offset after it where it starts.
    fn name(&self, at: usize) -> Result<(String, usize), DnsError> {
        let mut name = String::new();
        let mut pos = at;
        let mut end = None;
        loop {
            let len = *self.bytes(pos, 1, "a name's label length")?.first().unwrap_or(&0);
            match len {
                0 => {
                    return Ok((name, end.unwrap_or(pos + 1)));
                }
                l if l & 0xc0 == 0xc0 => {
                    let b = self.bytes(pos, 2, "a name's compression pointer")?;
                    let target = usize::from(u16::from_be_bytes([b[0], b[1]]) & 0x3fff);
                    if target >= pos {
                        return Err(DnsError::Malformed {
                            offset: pos,
                            what: "a compression pointer that does not point backwards",
                        });
                    }
                    end.get_or_insert(pos + 2);
                    pos = target;
                }
                l if l & 0xc0 != 0 => {
                    return Err(DnsError::Malformed {
                        offset: pos,
                        what: "a label type other than a length or a pointer",
                    })
                }
                l => {
                    let label =
                        self.bytes(pos + 1, usize::from(l), "a label as long as its length says")?;
                    if !name.is_empty() {
                        name.push('.');
                    }
                    name.push_str(&String::from_utf8_lossy(label));
                    if name.len() > 253 {
                        return Err(DnsError::Malformed {
                            offset: pos,
                            what: "a name over 253 bytes",
                        });
                    }
                    pos += 1 + usize::from(l);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response to `query(7, "_echo._tcp.test", Srv)` as a server would write it, with
    /// the target's address in the additional section and compression pointers.
    fn srv_response() -> Vec<u8> {
        let mut m = query(7, "_echo._tcp.test", RecordType::Srv).unwrap();
        m[2] = 0x81; // response, recursion desired
        m[3] = 0x80; // recursion available, no error
        m[7] = 1; // one answer
        m[11] = 1; // one additional
                   // Answer: name = pointer to the question (offset 12), SRV, IN, TTL 60.
        m.extend_from_slice(&[0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60]);
        let target = [4, b'h', b'o', b's', b't', 0xc0, 23]; // "host" + pointer to "test"
        m.extend_from_slice(&(6 + target.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 10, 0, 5, 0x1f, 0x90]); // priority 10, weight 5, port 8080
        let target_at = m.len();
        m.extend_from_slice(&target);
        // Additional: host.test A 127.0.0.1.
        m.extend_from_slice(&[0xc0, target_at as u8, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
        m
    }

    #[test]
    fn an_srv_answer_and_its_target_address_are_read() {
        let m = srv_response();
        let records = parse_response(7, "_echo._tcp.test", &m).unwrap();
        assert_eq!(
            records,
            [
                Record::Srv {
                    name: "_echo._tcp.test".into(),
                    priority: 10,
                    weight: 5,
                    port: 8080,
                    target: "host.test".into(),
                    ttl: 60
                },
                Record::Address {
                    name: "host.test".into(),
                    addr: "127.0.0.1".parse().unwrap(),
                    ttl: 60
                },
            ]
        );
    }

    #[test]
    fn every_truncation_and_a_pointer_loop_are_errors_not_panics() {
        let m = srv_response();
        for len in 0..m.len() {
            let r = parse_response(7, "_echo._tcp.test", &m[..len]);
            assert!(r.is_err(), "{len} bytes: {r:?}");
        }
        let mut looped = srv_response();
        let answer = looped.iter().position(|&b| b == 0xc0).unwrap();
        looped[answer + 1] = answer as u8; // a pointer to itself
        let e = parse_response(7, "_echo._tcp.test", &looped).unwrap_err();
        assert!(e.to_string().contains("backwards"), "{e}");
    }

    #[test]
    fn other_queries_errors_and_nxdomain_are_told_apart() {
        let m = srv_response();
        assert_eq!(parse_response(8, "_echo._tcp.test", &m), Err(DnsError::NotOurs));
        assert_eq!(parse_response(7, "other.test", &m), Err(DnsError::NotOurs));
        let mut failed = m.clone();
        failed[3] = 0x82;
        assert_eq!(parse_response(7, "_echo._tcp.test", &failed), Err(DnsError::Server(2)));
        let mut nx = m.clone();
        nx[3] = 0x83;
        assert_eq!(parse_response(7, "_echo._tcp.test", &nx), Ok(Vec::new()));
        let mut truncated = m;
        truncated[2] |= 0x02;
        assert_eq!(parse_response(7, "_echo._tcp.test", &truncated), Err(DnsError::Truncated));
    }

    #[test]
    fn names_that_are_not_dns_names_are_refused() {
        assert!(query(1, "", RecordType::A).is_err());
        assert!(query(1, "a..b", RecordType::A).is_err());
        assert!(query(1, &"x".repeat(64), RecordType::A).is_err());
        assert!(query(1, "example.com.", RecordType::A).is_ok());
    }
}

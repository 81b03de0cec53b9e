//! Where a channel's endpoints are: DNS names, resolved by Ferry's own small resolver (UDP,
//! A/AAAA/SRV) so that a target may name its DNS server (`dns://127.0.0.1:5353/…`, as gRPC's
//! target syntax does) and SRV records give ports and weights. The system resolver
//! (`getaddrinfo`) can do neither, and the well-kept resolver crates run on an async
//! runtime, which `runtime` does not take in. The codec is sans-I/O (`dns`); `resolve` is
//! the blocking exchange, run on the channel's discovery thread.

pub mod dns;

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use dns::{Record, RecordType};

/// A parsed `dns://[SERVER[:PORT]/]NAME[:PORT]` target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DnsTarget {
    /// The DNS server asked (default: the first `nameserver` of /etc/resolv.conf).
    pub server: SocketAddr,
    pub name: String,
    /// With a port: the name's A/AAAA records at that port. Without: its SRV records.
    pub port: Option<u16>,
}

impl DnsTarget {
    pub(crate) fn parse(target: &str) -> Result<DnsTarget, String> {
        let rest = target.strip_prefix("dns://").ok_or_else(|| {
            format!("`{target}`: a discovery target starts with `dns://` (dns://[SERVER[:PORT]/]NAME[:PORT])")
        })?;
        let (server, name) = match rest.split_once('/') {
            Some(("", name)) => (None, name),
            Some((server, name)) => {
                let addr = match server.parse::<SocketAddr>() {
                    Ok(a) => a,
                    Err(_) => SocketAddr::new(
                        server.parse::<IpAddr>().map_err(|_| {
                            format!("`{target}`: the DNS server `{server}` is not IP[:PORT]")
                        })?,
                        53,
                    ),
                };
                (Some(addr), name)
            }
            None => (None, rest),
        };
        let (name, port) = match name.rsplit_once(':') {
            Some((n, p)) => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| format!("`{target}`: `{p}` is not a port (0 to 65535)"))?;
                (n, Some(port))
            }
            None => (name, None),
        };
        dns::query(0, name, RecordType::A).map_err(|e| format!("`{target}`: {e}"))?;
        let server = match server {
            Some(s) => s,
            None => system_nameserver().map_err(|e| format!("`{target}`: {e}"))?,
        };
        Ok(DnsTarget { server, name: name.to_owned(), port })
    }
}

/// The first `nameserver` of /etc/resolv.conf, port 53.
fn system_nameserver() -> io::Result<SocketAddr> {
    let conf = std::fs::read_to_string("/etc/resolv.conf")?;
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .find_map(|rest| rest.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "/etc/resolv.conf names no nameserver; name one in the target (dns://IP:PORT/NAME)",
            )
        })
}

/// The endpoints `target` names now, with their weights: the A/AAAA records at its port,
/// or its SRV records of the lowest priority (targets' addresses from the response's
/// additional records, else asked for).
pub(crate) fn resolve(target: &DnsTarget, timeout: Duration) -> io::Result<Vec<(SocketAddr, f64)>> {
    if let Some(port) = target.port {
        let mut found = Vec::new();
        for addr in addresses(target, &target.name, timeout)? {
            found.push((SocketAddr::new(addr, port), 1.0));
        }
        return Ok(found);
    }
    let records = exchange(target.server, &target.name, RecordType::Srv, timeout)?;
    let srvs: Vec<(u16, u16, u16, String)> = records
        .iter()
        .filter_map(|r| match r {
            Record::Srv { priority, weight, port, target, .. } => {
                Some((*priority, *weight, *port, target.clone()))
            }
            _ => None,
        })
        .collect();
    let Some(best) = srvs.iter().map(|s| s.0).min() else { return Ok(Vec::new()) };
    let mut found = Vec::new();
    for (_, weight, port, host) in srvs.iter().filter(|s| s.0 == best) {
        let given: Vec<IpAddr> = records
            .iter()
            .filter_map(|r| match r {
                Record::Address { name, addr, .. } if name.eq_ignore_ascii_case(host) => {
                    Some(*addr)
                }
                _ => None,
            })
            .collect();
        let addrs = if given.is_empty() { addresses(target, host, timeout)? } else { given };
        for addr in addrs {
            found.push((SocketAddr::new(addr, *port), f64::from((*weight).max(1))));
        }
    }
    Ok(found)
}

/// The A and AAAA records of `name`. One of the two failing is not an error when the
/// other answered (a server with no IPv6 data may refuse the AAAA query).
fn addresses(target: &DnsTarget, name: &str, timeout: Duration) -> io::Result<Vec<IpAddr>> {
    let mut all = Vec::new();
    let mut failure = None;
    let mut answered = false;
    for kind in [RecordType::A, RecordType::Aaaa] {
        match exchange(target.server, name, kind, timeout) {
            Ok(records) => {
                answered = true;
                // Every address of the answer: after a CNAME they are the alias target's.
                all.extend(records.into_iter().filter_map(|r| match r {
                    Record::Address { addr, .. } => Some(addr),
                    _ => None,
                }));
            }
            Err(e) => failure = Some(e),
        }
    }
    match (answered, failure) {
        (false, Some(e)) => Err(e),
        _ => Ok(all),
    }
}

/// One query to `server` over UDP: sent up to twice, `timeout` each; responses to other
/// queries (a late answer to an earlier try) are skipped.
fn exchange(
    server: SocketAddr,
    name: &str,
    kind: RecordType,
    timeout: Duration,
) -> io::Result<Vec<Record>> {
    let id = crate::random_u128() as u16;
    let query =
        dns::query(id, name, kind).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(server)?;
    socket.set_read_timeout(Some(timeout))?;
    let mut buf = [0u8; 1500];
    for _ in 0..2 {
        socket.send(&query)?;
        loop {
            match socket.recv(&mut buf) {
                Ok(n) => match dns::parse_response(id, name, &buf[..n]) {
                    Ok(records) => return Ok(records),
                    Err(dns::DnsError::NotOurs) => continue,
                    Err(e) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("{name} from {server}: {e}"),
                        ))
                    }
                },
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
                {
                    break
                }
                Err(e) => {
                    return Err(io::Error::new(e.kind(), format!("{name} from {server}: {e}")))
                }
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no answer for {name} from the DNS server {server} (two tries of {timeout:?})"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_their_server_name_and_port() {
        let t = DnsTarget::parse("dns://127.0.0.1:5353/_echo._tcp.example").unwrap();
        assert_eq!(t.server, "127.0.0.1:5353".parse().unwrap());
        assert_eq!((t.name.as_str(), t.port), ("_echo._tcp.example", None));
        let t = DnsTarget::parse("dns://10.0.0.2/api.example:7000").unwrap();
        assert_eq!(t.server, "10.0.0.2:53".parse().unwrap());
        assert_eq!((t.name.as_str(), t.port), ("api.example", Some(7000)));
        for bad in ["http://x", "dns://nope/x", "dns://127.0.0.1/x:99999", "dns://127.0.0.1/a..b"] {
            assert!(DnsTarget::parse(bad).is_err(), "{bad}");
        }
    }
}

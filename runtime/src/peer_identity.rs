//! Who a mutual-TLS peer proved to be, read off its verified leaf certificate. The subject is
//! given both as structured RDNs (what an authorizer should match on) and as an RFC 4514
//! string whose specials are escaped, so no attribute value can pass for two attributes.

use rustls::pki_types::CertificateDer;

/// Who the peer proved to be: its verified certificate (mutual TLS).
///
/// Authorize by exact values: [`PeerIdentity::common_names`], [`PeerIdentity::dns_names`],
/// [`PeerIdentity::uris`] (SPIFFE ids) or the [`PeerIdentity::fingerprint`]. Substring tests
/// on [`PeerIdentity::subject`] are unsafe: `CN=teller-trainee` contains `CN=teller`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The subject's distinguished name as RFC 4514 writes it: the last RDN of the
    /// certificate's sequence first, RDNs separated by `,` with no space, the attributes of
    /// one RDN by `+`, and `\` before every special character of a value (`,` `+` `"` `\`
    /// `<` `>` `;`, a leading `#` or space, a trailing space), e.g. `CN=client,O=Example`.
    pub subject: String,
    /// Subject alternative names: DNS names, URIs (SPIFFE ids), e-mail addresses, IPs, each
    /// with its kind in front (`DNS:`, `URI:`, `email:`, `IP:`).
    pub alt_names: Vec<String>,
    /// The chain as presented, leaf first, DER-encoded.
    pub chain: Vec<Vec<u8>>,
    /// SHA-256 of the leaf certificate: what completion records are bound to.
    pub fingerprint: [u8; 32],
    /// The subject's RDN sequence in certificate order; each RDN's attributes as (type, value).
    rdns: Vec<Vec<(String, String)>>,
}

impl PeerIdentity {
    /// An identity from its parts (tests, or a verifier of one's own). `rdns` is the subject's
    /// RDN sequence in certificate order, each attribute as (short type name or dotted OID,
    /// value); `subject` is made from it.
    pub fn new(
        rdns: Vec<Vec<(String, String)>>,
        alt_names: Vec<String>,
        chain: Vec<Vec<u8>>,
        fingerprint: [u8; 32],
    ) -> PeerIdentity {
        PeerIdentity { subject: rfc4514(&rdns), alt_names, chain, fingerprint, rdns }
    }

    pub(crate) fn from_chain(chain: &[CertificateDer<'_>]) -> Option<PeerIdentity> {
        let leaf = chain.first()?;
        let fingerprint: [u8; 32] =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, leaf.as_ref())
                .as_ref()
                .try_into()
                .ok()?;
        let (rdns, alt_names) = match x509_parser::parse_x509_certificate(leaf.as_ref()) {
            Ok((_, cert)) => (subject_rdns(cert.subject()), alt_names(&cert)),
            // rustls verified it, so this does not happen; the fingerprint still binds.
            Err(_) => (Vec::new(), Vec::new()),
        };
        let chain = chain.iter().map(|c| c.as_ref().to_vec()).collect();
        Some(PeerIdentity::new(rdns, alt_names, chain, fingerprint))
    }

    /// The subject's RDN sequence in certificate order (the reverse of [`PeerIdentity::subject`]'s
    /// order); each RDN's attributes as (type, value), values unescaped. The type is RFC
    /// 4514's short name (`CN`, `O`, `OU`, `C`, `L`, `ST`, `STREET`, `DC`, `UID`) or the
    /// dotted OID; a value that is not a string is `#` and its DER bytes in hex.
    pub fn rdns(&self) -> &[Vec<(String, String)>] {
        &self.rdns
    }

    /// Every common name (CN) of the subject, unescaped, in certificate order.
    pub fn common_names(&self) -> impl Iterator<Item = &str> {
        self.attributes("CN")
    }

    /// Every value of attribute `kind` (`"O"`, `"OU"`, a dotted OID…) in the subject.
    pub fn attributes<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.rdns.iter().flatten().filter(move |(t, _)| t == kind).map(|(_, v)| v.as_str())
    }

    /// The subject's only common name: `None` when it has none or several (an authorizer
    /// matching one CN must not accept a certificate that names two).
    pub fn common_name(&self) -> Option<&str> {
        let mut names = self.common_names();
        let first = names.next()?;
        names.next().is_none().then_some(first)
    }

    /// DNS names among the alternative names.
    pub fn dns_names(&self) -> impl Iterator<Item = &str> {
        self.alt_names_of("DNS:")
    }

    /// URIs among the alternative names (SPIFFE ids: `spiffe://trust-domain/path`).
    pub fn uris(&self) -> impl Iterator<Item = &str> {
        self.alt_names_of("URI:")
    }

    /// E-mail addresses among the alternative names.
    pub fn emails(&self) -> impl Iterator<Item = &str> {
        self.alt_names_of("email:")
    }

    /// IP addresses among the alternative names.
    pub fn ip_addresses(&self) -> impl Iterator<Item = std::net::IpAddr> + '_ {
        self.alt_names_of("IP:").filter_map(|ip| ip.parse().ok())
    }

    /// The leaf certificate's SHA-256 in lowercase hex (as `openssl x509 -fingerprint
    /// -sha256` prints it, without colons).
    pub fn fingerprint_hex(&self) -> String {
        self.fingerprint.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn alt_names_of<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.alt_names.iter().filter_map(move |n| n.strip_prefix(prefix))
    }
}

fn subject_rdns(name: &x509_parser::x509::X509Name<'_>) -> Vec<Vec<(String, String)>> {
    name.iter()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let kind = short_name(&attr.attr_type().to_id_string());
                    let value = match attr.as_str() {
                        Ok(s) => s.to_owned(),
                        Err(_) => hex_der(attr.attr_value()),
                    };
                    (kind, value)
                })
                .collect()
        })
        .collect()
}

fn alt_names(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let mut alt = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => alt.push(format!("DNS:{n}")),
                GeneralName::URI(n) => alt.push(format!("URI:{n}")),
                GeneralName::RFC822Name(n) => alt.push(format!("email:{n}")),
                GeneralName::IPAddress(ip) => alt.push(format!("IP:{}", show_ip(ip))),
                _ => {}
            }
        }
    }
    alt
}

/// RFC 4514 § 3's short names; any other type is written as its dotted OID.
fn short_name(oid: &str) -> String {
    let name = match oid {
        "2.5.4.3" => "CN",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        other => other,
    };
    name.to_owned()
}

/// A value that is not a string, as RFC 4514 § 2.4 writes it: `#` and its DER in hex.
fn hex_der(value: &x509_parser::der_parser::asn1_rs::Any<'_>) -> String {
    use x509_parser::der_parser::asn1_rs::ToDer;
    let der = value.to_der_vec().unwrap_or_default();
    let mut out = String::with_capacity(1 + 2 * der.len());
    out.push('#');
    for b in der {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The RFC 4514 string of an RDN sequence given in certificate order.
fn rfc4514(rdns: &[Vec<(String, String)>]) -> String {
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, (kind, value)) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            out.push_str(kind);
            out.push('=');
            if value.starts_with('#') && kind.contains('.') {
                out.push_str(value); // already the hex form of a non-string value
            } else {
                escape_value(value, &mut out);
            }
        }
    }
    out
}

/// RFC 4514 § 2.4: a backslash before the specials, a leading `#` or space and a trailing
/// space; NUL as `\00`.
fn escape_value(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
}

fn show_ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).unwrap_or_default()).to_string(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).unwrap_or_default()).to_string(),
        _ => format!("{bytes:02x?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdn(kind: &str, value: &str) -> Vec<(String, String)> {
        vec![(kind.to_owned(), value.to_owned())]
    }

    fn id(rdns: Vec<Vec<(String, String)>>) -> PeerIdentity {
        PeerIdentity::new(rdns, Vec::new(), Vec::new(), [0; 32])
    }

    #[test]
    fn one_common_name_with_a_comma_is_not_two_common_names() {
        let comma = id(vec![rdn("O", "Payments"), rdn("CN", "intern, CN=teller")]);
        let two = id(vec![rdn("O", "Payments"), rdn("CN", "teller"), rdn("CN", "intern")]);
        assert_eq!(comma.subject, r"CN=intern\, CN=teller,O=Payments");
        assert_eq!(two.subject, "CN=intern,CN=teller,O=Payments");
        assert_ne!(comma.subject, two.subject);
        assert_eq!(comma.common_name(), Some("intern, CN=teller"));
        assert_eq!(two.common_name(), None, "two CNs are not one");
        assert_eq!(two.common_names().collect::<Vec<_>>(), ["teller", "intern"]);
    }

    #[test]
    fn every_special_is_escaped() {
        let s = id(vec![rdn("CN", r#"#a"b+c;d<e>f\g "#), rdn("OU", " lead")]);
        assert_eq!(s.subject, r#"OU=\ lead,CN=\#a\"b\+c\;d\<e\>f\\g\ "#);
        let multi =
            id(vec![vec![("CN".to_owned(), "x".to_owned()), ("UID".to_owned(), "7".to_owned())]]);
        assert_eq!(multi.subject, "CN=x+UID=7");
    }
}

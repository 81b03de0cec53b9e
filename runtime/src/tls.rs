//! TLS settings for servers and clients, and the identity a verified peer certificate
//! gives. Ferry never hides rustls: every setting can be made from the caller's own
//! `rustls::ServerConfig` / `rustls::ClientConfig` (custom verifiers, CRLs, key logging),
//! and PEM files or buffers cover the common case. Ferry sets the ALPN id `ferry/1` and
//! both sides check it (spec/protocol.md § 8).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;

pub use crate::peer_identity::PeerIdentity;

/// The ALPN protocol id of Ferry over TLS.
pub const ALPN: &[u8] = b"ferry/1";

/// Why TLS settings could not be made, naming the file or setting at fault.
#[derive(Debug)]
pub enum TlsError {
    /// A PEM file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The PEM text holds no item of the kind needed.
    Missing {
        /// What was looked for ("certificate", "private key").
        what: &'static str,
        /// Where (a path, or "the PEM buffer").
        source: String,
    },
    /// rustls refused the settings (a key that does not match its certificate, say).
    Rustls(rustls::Error),
    /// The name the client expects in the server's certificate is not a DNS name or IP.
    ServerName(String),
    /// The operation needs files, but the settings came from elsewhere.
    NotReloadable,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            TlsError::Missing { what, source } => {
                write!(f, "no {what} in {source} (expected a PEM block such as `-----BEGIN ...-----`)")
            }
            TlsError::Rustls(e) => write!(f, "TLS settings refused: {e}"),
            TlsError::ServerName(n) => {
                write!(f, "`{n}` is not a valid server name (a DNS name or an IP address)")
            }
            TlsError::NotReloadable => f.write_str(
                "these TLS settings were not read from files: rotate certificates through your own rustls resolver",
            ),
        }
    }
}

impl std::error::Error for TlsError {}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> Self {
        TlsError::Rustls(e)
    }
}

/// PEM text and where it came from, for error messages.
struct Pem {
    text: Vec<u8>,
    source: String,
}

impl Pem {
    fn file(path: &Path) -> Result<Pem, TlsError> {
        let text = std::fs::read(path)
            .map_err(|error| TlsError::Read { path: path.to_path_buf(), error })?;
        Ok(Pem { text, source: path.display().to_string() })
    }

    fn buffer(text: &[u8], what: &str) -> Pem {
        Pem { text: text.to_vec(), source: format!("the {what} PEM buffer") }
    }

    fn certs(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let certs: Vec<_> =
            CertificateDer::pem_slice_iter(&self.text).filter_map(Result::ok).collect();
        if certs.is_empty() {
            return Err(TlsError::Missing { what: "certificate", source: self.source.clone() });
        }
        Ok(certs)
    }

    fn key(&self) -> Result<PrivateKeyDer<'static>, TlsError> {
        PrivateKeyDer::from_pem_slice(&self.text)
            .map_err(|_| TlsError::Missing { what: "private key", source: self.source.clone() })
    }

    fn roots(&self) -> Result<rustls::RootCertStore, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in self.certs()? {
            roots.add(cert)?;
        }
        Ok(roots)
    }
}

/// aws-lc-rs's defaults: TLS 1.3 suites, and key exchange preferring the post-quantum
/// hybrid X25519MLKEM768, then X25519 and the NIST curves for peers without it.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn certified_key(chain: &Pem, key: &Pem) -> Result<Arc<CertifiedKey>, TlsError> {
    let certs = chain.certs()?;
    let key = provider().key_provider.load_private_key(key.key()?)?;
    let ck = CertifiedKey::new(certs, key);
    ck.keys_match().map_err(TlsError::Rustls)?;
    Ok(Arc::new(ck))
}

/// The server's certificate, swappable while connections stay up.
#[derive(Debug)]
struct Rotating {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Rotating {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner())))
    }
}

/// Where a file-based server certificate is re-read from.
#[derive(Debug)]
struct Files {
    cert_chain: PathBuf,
    key: PathBuf,
    rotating: Arc<Rotating>,
    /// The files' modification times when last looked at (`ServerTls::watch`).
    seen: Mutex<Option<(SystemTime, SystemTime)>>,
}

impl Files {
    fn stamps(&self) -> Option<(SystemTime, SystemTime)> {
        let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        Some((m(&self.cert_chain)?, m(&self.key)?))
    }
}

/// A server's TLS settings. Cheap to clone; clones share the certificate, so
/// [`ServerTls::reload`] on any of them rotates it for the server.
#[derive(Clone, Debug)]
pub struct ServerTls {
    pub(crate) config: Arc<rustls::ServerConfig>,
    files: Option<Arc<Files>>,
    watch: Option<Duration>,
}

impl ServerTls {
    /// From a PEM certificate chain (leaf first) and its private key; with `client_ca`,
    /// clients must present a certificate signed by one of its CAs (mutual TLS).
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
        client_ca: Option<&Path>,
    ) -> Result<ServerTls, TlsError> {
        let (cert_chain, key) = (cert_chain.as_ref(), key.as_ref());
        let ca = client_ca.map(Pem::file).transpose()?;
        let ck = certified_key(&Pem::file(cert_chain)?, &Pem::file(key)?)?;
        let rotating = Arc::new(Rotating { current: RwLock::new(ck) });
        let config = Self::config(Arc::clone(&rotating), ca.as_ref())?;
        let files = Files {
            cert_chain: cert_chain.into(),
            key: key.into(),
            rotating,
            seen: Mutex::new(None),
        };
        *files.seen.lock().unwrap_or_else(|p| p.into_inner()) = files.stamps();
        Ok(ServerTls { config, files: Some(Arc::new(files)), watch: None })
    }

    /// From PEM text in memory (the C ABI's buffers, secrets from a vault).
    pub fn from_pem(
        cert_chain: &[u8],
        key: &[u8],
        client_ca: Option<&[u8]>,
    ) -> Result<ServerTls, TlsError> {
        let ck = certified_key(&Pem::buffer(cert_chain, "certificate"), &Pem::buffer(key, "key"))?;
        let ca = client_ca.map(|c| Pem::buffer(c, "client CA"));
        let rotating = Arc::new(Rotating { current: RwLock::new(ck) });
        Ok(ServerTls { config: Self::config(rotating, ca.as_ref())?, files: None, watch: None })
    }

    /// From the caller's own rustls settings; Ferry sets only the ALPN id.
    pub fn from_rustls(mut config: rustls::ServerConfig) -> ServerTls {
        config.alpn_protocols = vec![ALPN.to_vec()];
        ServerTls { config: Arc::new(config), files: None, watch: None }
    }

    fn config(
        resolver: Arc<Rotating>,
        client_ca: Option<&Pem>,
    ) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?;
        let builder = match client_ca {
            Some(ca) => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(ca.roots()?), provider())
                        .build()
                        .map_err(|e| TlsError::Rustls(rustls::Error::General(e.to_string())))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(resolver);
        config.alpn_protocols = vec![ALPN.to_vec()];
        Ok(Arc::new(config))
    }

    /// Also reloads on its own when the files change: the server looks at their
    /// modification times every `every` (a timer of its first event loop, no thread). A
    /// change that does not load is logged and the old certificate stays, as with
    /// [`ServerTls::reload`]. Only settings read from files can be watched.
    pub fn watch(mut self, every: Duration) -> Result<ServerTls, TlsError> {
        if self.files.is_none() {
            return Err(TlsError::NotReloadable);
        }
        self.watch = Some(every.max(Duration::from_millis(10)));
        Ok(self)
    }

    pub(crate) fn watch_interval(&self) -> Option<Duration> {
        self.watch
    }

    /// Reloads if the files' modification times moved since last looked at.
    pub(crate) fn reload_if_changed(&self) {
        let Some(files) = &self.files else { return };
        let now = files.stamps();
        let mut seen = files.seen.lock().unwrap_or_else(|p| p.into_inner());
        if now.is_none() || now == *seen {
            return; // unchanged, or a file missing for the moment (mid-replacement)
        }
        *seen = now;
        drop(seen);
        if let Err(e) = self.reload() {
            log::warn!(
                "TLS certificate files changed but did not load ({e}); keeping the old certificate"
            );
        }
    }

    /// Re-reads the certificate chain and key from their files and serves new handshakes
    /// with them; connections already up keep theirs. On any error (a missing file, a key
    /// that does not match) the old certificate stays and the error says why.
    pub fn reload(&self) -> Result<(), TlsError> {
        let files = self.files.as_ref().ok_or(TlsError::NotReloadable)?;
        let ck = certified_key(&Pem::file(&files.cert_chain)?, &Pem::file(&files.key)?)?;
        *files.rotating.current.write().unwrap_or_else(|p| p.into_inner()) = ck;
        log::info!("TLS certificate reloaded from {}", files.cert_chain.display());
        Ok(())
    }
}

/// A client's TLS settings.
#[derive(Clone, Debug)]
pub struct ClientTls {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
}

impl ClientTls {
    /// Trusts the CAs of `ca_bundle` (PEM) for a server whose certificate names
    /// `server_name`; `client_cert` (chain and key files) is presented for mutual TLS.
    pub fn from_pem_files(
        ca_bundle: impl AsRef<Path>,
        server_name: &str,
        client_cert: Option<(&Path, &Path)>,
    ) -> Result<ClientTls, TlsError> {
        let ca = Pem::file(ca_bundle.as_ref())?;
        let cert = client_cert
            .map(|(c, k)| Ok::<_, TlsError>((Pem::file(c)?, Pem::file(k)?)))
            .transpose()?;
        Self::build(&ca, server_name, cert)
    }

    /// As [`ClientTls::from_pem_files`], from PEM text in memory.
    pub fn from_pem(
        ca_bundle: &[u8],
        server_name: &str,
        client_cert: Option<(&[u8], &[u8])>,
    ) -> Result<ClientTls, TlsError> {
        let ca = Pem::buffer(ca_bundle, "CA bundle");
        let cert = client_cert
            .map(|(c, k)| (Pem::buffer(c, "client certificate"), Pem::buffer(k, "client key")));
        Self::build(&ca, server_name, cert)
    }

    /// From the caller's own rustls settings; Ferry sets only the ALPN id.
    pub fn from_rustls(
        mut config: rustls::ClientConfig,
        server_name: &str,
    ) -> Result<ClientTls, TlsError> {
        config.alpn_protocols = vec![ALPN.to_vec()];
        Ok(ClientTls { config: Arc::new(config), server_name: parse_name(server_name)? })
    }

    fn build(ca: &Pem, server_name: &str, cert: Option<(Pem, Pem)>) -> Result<ClientTls, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(ca.roots()?);
        let mut config = match cert {
            Some((chain, key)) => builder.with_client_auth_cert(chain.certs()?, key.key()?)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![ALPN.to_vec()];
        Ok(ClientTls { config: Arc::new(config), server_name: parse_name(server_name)? })
    }
}

fn parse_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(name.to_string()).map_err(|_| TlsError::ServerName(name.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::{ClientConnection, ServerConnection};

    /// A self-signed certificate for "localhost" (PEM chain, PEM key).
    fn localhost() -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        let cert = params.self_signed(&key).expect("certificate");
        (cert.pem(), key.serialize_pem())
    }

    /// Runs a handshake in memory; the group both ends agreed on.
    fn handshake(server: &ServerTls, client: &ClientTls) -> rustls::NamedGroup {
        let mut s = ServerConnection::new(Arc::clone(&server.config)).expect("server");
        let mut c = ClientConnection::new(Arc::clone(&client.config), client.server_name.clone())
            .expect("client");
        let mut buf = Vec::new();
        for _ in 0..10 {
            buf.clear();
            while c.wants_write() {
                c.write_tls(&mut buf).expect("client write");
            }
            let mut read = &buf[..];
            while !read.is_empty() {
                s.read_tls(&mut read).expect("server read");
            }
            s.process_new_packets().expect("server handshake");
            buf.clear();
            while s.wants_write() {
                s.write_tls(&mut buf).expect("server write");
            }
            let mut read = &buf[..];
            while !read.is_empty() {
                c.read_tls(&mut read).expect("client read");
            }
            c.process_new_packets().expect("client handshake");
            if !c.is_handshaking() && !s.is_handshaking() {
                break;
            }
        }
        let group = c.negotiated_key_exchange_group().expect("a group").name();
        assert_eq!(Some(group), s.negotiated_key_exchange_group().map(|g| g.name()));
        group
    }

    #[test]
    fn the_default_key_exchange_is_the_post_quantum_hybrid() {
        let (cert, key) = localhost();
        let server = ServerTls::from_pem(cert.as_bytes(), key.as_bytes(), None).expect("server");
        let client = ClientTls::from_pem(cert.as_bytes(), "localhost", None).expect("client");
        assert_eq!(handshake(&server, &client), rustls::NamedGroup::X25519MLKEM768);
        // A peer without it (classical groups only) still gets in, on X25519.
        let classic = rustls::crypto::CryptoProvider {
            kx_groups: vec![rustls::crypto::aws_lc_rs::kx_group::X25519],
            ..rustls::crypto::aws_lc_rs::default_provider()
        };
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(cert.as_bytes()).expect("pem")).expect("root");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(classic))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let old = ClientTls::from_rustls(config, "localhost").expect("client");
        assert_eq!(handshake(&server, &old), rustls::NamedGroup::X25519);
    }
}

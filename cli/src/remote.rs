//! Talking to a server: connection settings from the command line, the schema from its
//! reflection, and calls with latency statistics.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_cli::schema::{ReflectedFile, Schema};
use ferry_runtime::{CallError, CallOptions, Client, ClientConfig, ClientTls, RpcError};

mod generated {
    ferry_runtime::include_idl!("reflect");
}
use generated::ferry_reflect::Reflect;

/// How to reach the server.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Connection {
    /// Time allowed for each call, retries included: `500ms`, `5s`, `2m`.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub deadline: Duration,
    /// Metadata sent with every call, as `key=value`; may be repeated.
    #[arg(long = "metadata", short = 'H', value_name = "KEY=VALUE", value_parser = parse_metadata)]
    pub metadata: Vec<(String, Vec<u8>)>,
    /// Connect with TLS 1.3, trusting the CAs of this PEM file.
    #[arg(long = "tls-ca", value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS; needs `--tls-key`.
    #[arg(long = "tls-cert", value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long = "tls-key", value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The name the server's certificate must carry; default: the host of ADDRESS.
    #[arg(long = "server-name", value_name = "NAME")]
    pub server_name: Option<String>,
    /// Send credential metadata (`authorization`, `cookie`, keys naming a token, secret,
    /// password or API key) without TLS: anyone on the path can read and replay them.
    #[arg(long = "allow-plaintext-credentials")]
    pub allow_plaintext_credentials: bool,
}

/// Metadata keys whose values are credentials: never sent over plaintext unless allowed
/// (as the Rust client's `Credentials::allow_plaintext`).
fn is_credential(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    matches!(key.as_str(), "authorization" | "proxy-authorization" | "cookie")
        || ["token", "secret", "password", "passwd", "api-key", "apikey", "api_key"]
            .iter()
            .any(|w| key.contains(w))
}

impl Connection {
    /// Refuses credential metadata over plaintext unless `--allow-plaintext-credentials`
    /// (then warns): bad input, found before anything is sent.
    pub fn check_credentials(&self) -> Result<(), String> {
        if self.tls_ca.is_some() {
            return Ok(());
        }
        if let Some((key, _)) = self.metadata.iter().find(|(k, _)| is_credential(k)) {
            if !self.allow_plaintext_credentials {
                return Err(format!(
                    "-H {key}=… looks like a credential and this connection is plaintext: anyone on the path could read it. Use --tls-ca (TLS), or --allow-plaintext-credentials on a network you trust; nothing was sent"
                ));
            }
            eprintln!("warning: sending `{key}` over plaintext (--allow-plaintext-credentials)");
        }
        Ok(())
    }

    /// A client connected to `address`: `host:port`, or `unix:PATH`.
    pub fn connect(&self, address: &str) -> Result<Arc<Client>, String> {
        if self.tls_ca.is_none() && (self.tls_cert.is_some() || self.server_name.is_some()) {
            return Err("--tls-cert and --server-name need --tls-ca (the CAs to trust)".into());
        }
        let tls = match &self.tls_ca {
            None => None,
            Some(ca) => {
                let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let name = self.server_name.as_deref().unwrap_or(host);
                let cert = self.tls_cert.as_deref().zip(self.tls_key.as_deref());
                Some(ClientTls::from_pem_files(ca, name, cert).map_err(|e| e.to_string())?)
            }
        };
        let config =
            ClientConfig { default_deadline: self.deadline, tls, ..ClientConfig::default() };
        let client = match address.strip_prefix("unix:") {
            Some(path) => Client::connect_unix(path, config),
            None => Client::connect(address, config),
        }
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        Ok(Arc::new(client))
    }

    /// Options for one call.
    pub fn options(&self) -> CallOptions {
        CallOptions {
            deadline: Some(self.deadline),
            metadata: self.metadata.clone(),
            ..CallOptions::default()
        }
    }
}

/// What the server's reflection lists.
#[derive(Debug)]
pub struct Reflected {
    /// The compiled schema of every listed service.
    pub schema: Option<Schema>,
    /// Methods served without a schema.
    pub unlisted: Vec<String>,
}

/// Why the schema could not be had: the server could not be asked (`reachable` false), or
/// it has none to give (the user must give the IDL).
#[derive(Debug)]
pub struct NoSchema {
    /// The server answered.
    pub reachable: bool,
    /// What happened and what to do.
    pub message: String,
}

fn no_schema(message: impl Into<String>) -> NoSchema {
    NoSchema { reachable: true, message: message.into() }
}

/// Asks the server for its schema (`ferry.reflect`) and compiles it.
pub fn reflect(client: &Arc<Client>, connection: &Connection) -> Result<Reflected, NoSchema> {
    let reflect = Reflect::Client::new(Arc::clone(client));
    let reply = match reflect.ferry_reflect_start(&connection.options(), None).wait() {
        Ok(r) => r,
        Err(RpcError::Call(CallError::UnknownMethod(_))) => {
            return Err(no_schema(
                "the server has reflection turned off: give its IDL with --idl FILE",
            ))
        }
        Err(RpcError::Call(e)) => {
            return Err(NoSchema { reachable: false, message: format!("reflection failed: {e}") })
        }
        Err(RpcError::Exception(never)) => match never {},
    };
    let services: Vec<(String, String)> =
        reply.services.iter().map(|s| (s.name.clone(), s.file.clone())).collect();
    let files: Vec<ReflectedFile> = reply
        .files
        .into_iter()
        .map(|f| ReflectedFile {
            name: f.name,
            text: f.text,
            includes: f.includes.into_iter().collect(),
        })
        .collect();
    let schema = if services.is_empty() {
        None
    } else {
        let roots = ferry_cli::schema::roots_of(&services);
        Some(Schema::from_reflection(&files, &roots).map_err(no_schema)?)
    };
    Ok(Reflected { schema, unlisted: reply.unlisted_methods })
}

/// The schema from `--idl` files, else from the server's reflection.
pub fn schema_for(
    idl: &[PathBuf],
    include_dirs: &[PathBuf],
    client: Option<&Arc<Client>>,
    connection: &Connection,
) -> Result<Schema, NoSchema> {
    if !idl.is_empty() {
        return Schema::from_files(idl, include_dirs).map_err(no_schema);
    }
    let Some(client) = client else {
        return Err(no_schema("no schema: give the IDL with --idl FILE"));
    };
    let reflected = reflect(client, connection)?;
    reflected.schema.ok_or_else(|| {
        no_schema("the server lists no services with a schema (its code was generated with --no-reflection, or its handlers are hand-written): give the IDL with --idl FILE")
    })
}

/// Latencies of finished calls.
#[derive(Debug, Default)]
pub struct Latencies {
    samples: Vec<Duration>,
}

impl Latencies {
    /// Records one call's time.
    pub fn record(&mut self, d: Duration) {
        self.samples.push(d);
    }

    /// How many were recorded.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// The `q` quantile (0..=1), nearest rank.
    pub fn quantile(&mut self, q: f64) -> Duration {
        self.samples.sort_unstable();
        if self.samples.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.samples.len() as f64).ceil() as usize).clamp(1, self.samples.len());
        self.samples[rank - 1]
    }

    /// `p50 … p99 … max` and a histogram of power-of-two buckets.
    pub fn report(&mut self) -> String {
        if self.samples.is_empty() {
            return "no call completed".into();
        }
        let mut out = format!(
            "latency p50 {} · p90 {} · p99 {} · max {}\n",
            micros(self.quantile(0.5)),
            micros(self.quantile(0.9)),
            micros(self.quantile(0.99)),
            micros(self.quantile(1.0))
        );
        let mut buckets: Vec<(u32, usize)> = Vec::new();
        for s in &self.samples {
            let us = s.as_micros().max(1) as u64;
            let b = 64 - us.leading_zeros();
            match buckets.last_mut() {
                Some((last, n)) if *last == b => *n += 1,
                _ => buckets.push((b, 1)),
            }
        }
        let most = buckets.iter().map(|(_, n)| *n).max().unwrap_or(1);
        for (b, n) in buckets {
            let (lo, hi) = (1u64 << (b - 1), 1u64 << b);
            let bar = "#".repeat((n * 40).div_ceil(most));
            out.push_str(&format!("  {:>9} – {:<9} {:>7}  {bar}\n", micros_n(lo), micros_n(hi), n));
        }
        out
    }
}

fn micros(d: Duration) -> String {
    micros_n(d.as_micros() as u64)
}

fn micros_n(us: u64) -> String {
    if us >= 10_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

/// Times `f` once.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 =
        number.parse().map_err(|_| format!("`{s}` is not a duration such as 500ms, 5s or 2m"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "us" | "µs" => n / 1e6,
        _ => return Err(format!("unknown unit `{unit}` in `{s}`: use ms, s or m")),
    };
    if !(seconds > 0.0 && seconds < 1e9) {
        return Err(format!("`{s}` must be a positive duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_metadata(s: &str) -> Result<(String, Vec<u8>), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.as_bytes().to_vec())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

//! The C-visible types and the safe conversions behind the ABI functions. Names are C's
//! (`ferry_client`, `FERRY_STATUS_OK`) because they are what C programs read.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, CString};
use std::time::Duration;

use ferry_runtime::{
    Address, CallError, CallOptions, ClientConfig, ClientTls, ServerConfig, ServerTls,
};

/// What a Ferry C function reports. `FERRY_STATUS_OK` is 0; every other value comes with a
/// `ferry_error` message when the caller passes somewhere to put it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ferry_status {
    FERRY_STATUS_OK = 0,
    /// A NULL pointer, a string that is not UTF-8, an address that does not parse: fix the
    /// call; nothing was sent.
    FERRY_STATUS_INVALID_ARGUMENT = 1,
    /// No connection could be made before the deadline; the call was not sent.
    FERRY_STATUS_UNAVAILABLE = 2,
    /// The deadline passed; the call may or may not have run.
    FERRY_STATUS_DEADLINE_EXCEEDED = 3,
    /// Cancelled by the caller; it may have run if it was already executing.
    FERRY_STATUS_CANCELLED = 4,
    /// The server restarted before replying: the call ran once or not at all, and was not
    /// re-sent (mark it idempotent to allow that).
    FERRY_STATUS_OUTCOME_UNKNOWN = 5,
    /// The server or this client is at capacity; the call did not run. Retry later.
    FERRY_STATUS_OVERLOADED = 6,
    /// A protocol violation or a method the server does not have; the call did not run.
    FERRY_STATUS_PROTOCOL = 7,
    /// The handler failed (returned non-zero, or a Rust handler returned an error).
    FERRY_STATUS_REMOTE = 8,
    /// An operating-system error (binding a port, creating a socket).
    FERRY_STATUS_IO = 9,
    /// A bug in Ferry: a Rust panic was caught at the ABI boundary.
    FERRY_STATUS_PANIC = 10,
    /// The server's authorization refused the call; it did not run.
    FERRY_STATUS_PERMISSION_DENIED = 11,
    /// TLS settings could not be made (a file that cannot be read, no key in it, a key
    /// that does not match its certificate); the message names the file.
    FERRY_STATUS_TLS = 12,
}

/// The status of a C `int`; values outside the enum become `FERRY_STATUS_INVALID_ARGUMENT`.
pub(crate) fn status_from_code(code: i32) -> ferry_status {
    use ferry_status::*;
    [
        FERRY_STATUS_OK,
        FERRY_STATUS_INVALID_ARGUMENT,
        FERRY_STATUS_UNAVAILABLE,
        FERRY_STATUS_DEADLINE_EXCEEDED,
        FERRY_STATUS_CANCELLED,
        FERRY_STATUS_OUTCOME_UNKNOWN,
        FERRY_STATUS_OVERLOADED,
        FERRY_STATUS_PROTOCOL,
        FERRY_STATUS_REMOTE,
        FERRY_STATUS_IO,
        FERRY_STATUS_PANIC,
        FERRY_STATUS_PERMISSION_DENIED,
        FERRY_STATUS_TLS,
    ]
    .into_iter()
    .find(|s| *s as i32 == code)
    .unwrap_or(FERRY_STATUS_INVALID_ARGUMENT)
}

/// An error's status and message. Free with `ferry_error_free`.
#[derive(Debug)]
pub struct ferry_error {
    pub(crate) status: ferry_status,
    pub(crate) message: CString,
}

impl ferry_error {
    pub(crate) fn new(status: ferry_status, message: impl Into<String>) -> Self {
        // Interior NULs cannot be in a C string; no Ferry message has one, but a remote
        // handler's could.
        let text = message.into().replace('\0', "\\0");
        ferry_error { status, message: CString::new(text).unwrap_or_default() }
    }

    pub(crate) fn invalid(function: &str, what: impl std::fmt::Display) -> Self {
        ferry_error::new(ferry_status::FERRY_STATUS_INVALID_ARGUMENT, format!("{function}: {what}"))
    }
}

impl From<CallError> for ferry_error {
    fn from(e: CallError) -> Self {
        let status = match e {
            CallError::DeadlineExceeded => ferry_status::FERRY_STATUS_DEADLINE_EXCEEDED,
            CallError::Overloaded(_) => ferry_status::FERRY_STATUS_OVERLOADED,
            CallError::Unavailable(_) => ferry_status::FERRY_STATUS_UNAVAILABLE,
            CallError::OutcomeUnknown(_) => ferry_status::FERRY_STATUS_OUTCOME_UNKNOWN,
            CallError::Cancelled => ferry_status::FERRY_STATUS_CANCELLED,
            CallError::Protocol(_) => ferry_status::FERRY_STATUS_PROTOCOL,
            CallError::Remote(_) => ferry_status::FERRY_STATUS_REMOTE,
            // Not run: the server refused the arguments; the message says so.
            CallError::InvalidArguments(_) | CallError::UnknownMethod(_) => {
                ferry_status::FERRY_STATUS_PROTOCOL
            }
            // Ran: only the reply is unreadable, as with a remote failure.
            CallError::BadReply(_) => ferry_status::FERRY_STATUS_REMOTE,
            // Refused here before sending: the caller's argument is at fault.
            CallError::TooLarge { .. } => ferry_status::FERRY_STATUS_INVALID_ARGUMENT,
            CallError::PermissionDenied(_) => ferry_status::FERRY_STATUS_PERMISSION_DENIED,
        };
        ferry_error::new(status, e.to_string())
    }
}

/// Bytes owned by Ferry (a reply). Free with `ferry_bytes_free`, which also resets the
/// struct; an empty reply has `data == NULL` and `len == 0`.
#[repr(C)]
#[derive(Debug)]
pub struct ferry_bytes {
    pub data: *mut u8,
    pub len: usize,
}

impl ferry_bytes {
    pub(crate) const EMPTY: ferry_bytes = ferry_bytes { data: std::ptr::null_mut(), len: 0 };
}

/// Client settings; a zero field keeps the default, so `ferry_client_options o = {0};`
/// is the default configuration.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ferry_client_options {
    /// Deadline of calls that set none. Default 5000.
    pub default_deadline_ms: u64,
    /// How long one connection attempt may take. Default 1000.
    pub connect_timeout_ms: u64,
    /// Calls waiting or in flight before `FERRY_STATUS_OVERLOADED`. Default 4096.
    pub max_in_flight: u32,
    /// Largest reply frame accepted, in bytes. Default 8 MiB.
    pub max_frame: u32,
    /// TLS to the server (`ferry_tls_client`); NULL: plaintext. Read when connecting only.
    pub tls: *const ferry_tls,
}

impl Default for ferry_client_options {
    fn default() -> Self {
        ferry_client_options {
            default_deadline_ms: 0,
            connect_timeout_ms: 0,
            max_in_flight: 0,
            max_frame: 0,
            tls: std::ptr::null(),
        }
    }
}

/// TLS settings for a client (`ferry_tls_client`) or a server (`ferry_tls_server`). Free
/// with `ferry_tls_free`; options that point to it are read when connecting or starting.
#[derive(Debug)]
pub enum ferry_tls {
    /// For `ferry_client_options::tls`.
    Client(ClientTls),
    /// For `ferry_server_options::tls`.
    Server(ServerTls),
}

impl ferry_client_options {
    /// The settings, with `tls` what `self.tls` points to (the ABI function resolves it).
    pub(crate) fn config(
        &self,
        tls: Option<&ferry_tls>,
        function: &str,
    ) -> Result<ClientConfig, ferry_error> {
        let mut c = ClientConfig::default();
        match tls {
            None => {}
            Some(ferry_tls::Client(tls)) => c.tls = Some(tls.clone()),
            Some(ferry_tls::Server(_)) => {
                return Err(ferry_error::invalid(
                    function,
                    "`options->tls` holds server settings (made by ferry_tls_server); a client needs ferry_tls_client",
                ))
            }
        }
        if self.default_deadline_ms > 0 {
            c.default_deadline = Duration::from_millis(self.default_deadline_ms);
        }
        if self.connect_timeout_ms > 0 {
            c.connect_timeout = Duration::from_millis(self.connect_timeout_ms);
        }
        if self.max_in_flight > 0 {
            c.max_in_flight = self.max_in_flight as usize;
        }
        if self.max_frame > 0 {
            c.max_frame = self.max_frame as usize;
        }
        Ok(c)
    }
}

/// One metadata entry sent with a call: a NUL-terminated UTF-8 key and `value_len` bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ferry_metadata {
    /// The key (NUL-terminated UTF-8).
    pub key: *const c_char,
    /// The value's bytes (may be NULL when `value_len` is 0).
    pub value: *const u8,
    /// The value's length.
    pub value_len: usize,
}

/// Per-call settings; zeroed means the client's default deadline, not idempotent, no
/// metadata.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ferry_call_options {
    /// Time allowed for the whole call, retries included; 0: the client's default.
    pub deadline_ms: u64,
    /// The method may run again when the outcome of an attempt is unknown.
    pub idempotent: bool,
    /// Fire and forget: the call ends once written and the reply is empty.
    pub oneway: bool,
    /// `metadata_len` entries sent with the call (a Rust handler reads them with
    /// `Context::metadata`); NULL when `metadata_len` is 0. Read during the call only.
    pub metadata: *const ferry_metadata,
    /// How many entries `metadata` points to.
    pub metadata_len: usize,
}

impl Default for ferry_call_options {
    fn default() -> Self {
        ferry_call_options {
            deadline_ms: 0,
            idempotent: false,
            oneway: false,
            metadata: std::ptr::null(),
            metadata_len: 0,
        }
    }
}

impl ferry_call_options {
    /// The options without metadata (`abi::call_options` adds it, reading the pointers).
    pub(crate) fn call_options(&self) -> CallOptions {
        CallOptions {
            deadline: (self.deadline_ms > 0).then(|| Duration::from_millis(self.deadline_ms)),
            idempotent: self.idempotent,
            oneway: self.oneway,
            ..CallOptions::default()
        }
    }
}

/// Server settings; a zero field keeps the default.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ferry_server_options {
    /// Event-loop threads. Default: one per core.
    pub event_loops: u32,
    /// Worker threads running handlers. Default: one per core.
    pub workers: u32,
    /// Connections held at once. Default 16384.
    pub max_connections: u32,
    /// Largest request frame accepted, in bytes. Default 8 MiB.
    pub max_frame: u32,
    /// A connection with no traffic for this long is closed. Default 300000.
    pub idle_timeout_ms: u64,
    /// TLS, or mutual TLS (`ferry_tls_server`); NULL: plaintext. Read when starting only.
    pub tls: *const ferry_tls,
}

impl Default for ferry_server_options {
    fn default() -> Self {
        ferry_server_options {
            event_loops: 0,
            workers: 0,
            max_connections: 0,
            max_frame: 0,
            idle_timeout_ms: 0,
            tls: std::ptr::null(),
        }
    }
}

impl ferry_server_options {
    /// The settings, with `tls` what `self.tls` points to (the ABI function resolves it).
    pub(crate) fn config(
        &self,
        tls: Option<&ferry_tls>,
        function: &str,
    ) -> Result<ServerConfig, ferry_error> {
        let mut c = ServerConfig::default();
        match tls {
            None => {}
            Some(ferry_tls::Server(tls)) => c.tls = Some(tls.clone()),
            Some(ferry_tls::Client(_)) => {
                return Err(ferry_error::invalid(
                    function,
                    "`options->tls` holds client settings (made by ferry_tls_client); a server needs ferry_tls_server",
                ))
            }
        }
        if self.event_loops > 0 {
            c.event_loops = self.event_loops as usize;
        }
        if self.workers > 0 {
            c.workers = self.workers as usize;
        }
        if self.max_connections > 0 {
            c.max_connections = self.max_connections as usize;
        }
        if self.max_frame > 0 {
            c.max_frame = self.max_frame as usize;
        }
        if self.idle_timeout_ms > 0 {
            c.idle_timeout = Duration::from_millis(self.idle_timeout_ms);
        }
        Ok(c)
    }
}

/// Resolves `host:port` to the first socket address it names; `unix:PATH` names a Unix
/// domain socket.
pub(crate) fn resolve(function: &str, address: &str) -> Result<Address, ferry_error> {
    use std::net::ToSocketAddrs;
    if let Some(path) = address.strip_prefix("unix:") {
        if path.is_empty() {
            return Err(ferry_error::invalid(function, "address `unix:` names no socket path"));
        }
        return Ok(Address::Unix(path.into()));
    }
    match address.to_socket_addrs() {
        Ok(mut addrs) => addrs.next().map(Address::Tcp).ok_or_else(|| {
            ferry_error::invalid(function, format!("address `{address}` resolves to nothing"))
        }),
        Err(e) => Err(ferry_error::invalid(
            function,
            format!(
                "address `{address}` is not `host:port` (e.g. \"127.0.0.1:7000\") or `unix:PATH`: {e}"
            ),
        )),
    }
}

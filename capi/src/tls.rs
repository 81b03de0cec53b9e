//! TLS for C programs: settings made from PEM files or PEM text, and the identity a
//! handler's caller proved (mutual TLS).
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)]

use std::ffi::{c_char, CString};

use ferry_runtime::{ClientTls, ServerTls, TlsError};

use crate::abi::{guarded, report, str_arg};
use crate::server::ferry_reply;
use crate::types::{ferry_error, ferry_status, ferry_tls};

/// A PEM argument: PEM text itself when it starts with `-----BEGIN`, else a file's path.
enum Pem<'a> {
    Text(&'a [u8]),
    File(&'a std::path::Path),
}

fn pem(s: &str) -> Pem<'_> {
    if s.trim_start().starts_with("-----BEGIN") {
        Pem::Text(s.as_bytes())
    } else {
        Pem::File(std::path::Path::new(s))
    }
}

/// # Safety
/// `p` is NULL or a NUL-terminated string valid during the call.
unsafe fn optional<'a>(
    f: &str,
    name: &str,
    p: *const c_char,
) -> Result<Option<&'a str>, ferry_error> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL, and NUL-terminated (the contract).
    unsafe { str_arg(f, name, p) }.map(Some)
}

fn tls_error(f: &str, e: TlsError) -> ferry_error {
    ferry_error::new(ferry_status::FERRY_STATUS_TLS, format!("{f}: {e}"))
}

fn server_tls(cert: &str, key: &str, client_ca: Option<&str>) -> Result<ServerTls, TlsError> {
    match (pem(cert), pem(key), client_ca.map(pem)) {
        (Pem::File(c), Pem::File(k), None | Some(Pem::File(_))) => {
            let ca = client_ca.map(std::path::Path::new);
            ServerTls::from_pem_files(c, k, ca)
        }
        // Some given as text: read the files among them, and build from memory.
        _ => {
            let ca = client_ca.map(read_pem).transpose()?;
            ServerTls::from_pem(&read_pem(cert)?, &read_pem(key)?, ca.as_deref())
        }
    }
}

/// The PEM text of an argument: itself, or its file's content.
fn read_pem(s: &str) -> Result<Vec<u8>, TlsError> {
    match pem(s) {
        Pem::Text(t) => Ok(t.to_vec()),
        Pem::File(path) => {
            std::fs::read(path).map_err(|error| TlsError::Read { path: path.to_path_buf(), error })
        }
    }
}

fn write_out(out: *mut *mut ferry_tls, tls: ferry_tls) {
    let tls = Box::into_raw(Box::new(tls));
    // SAFETY: the callers checked `out` is not NULL; it is valid for a write (their contract).
    unsafe { out.write(tls) };
}

/// Server TLS settings: `cert` (the chain, leaf first) and `key`, each a PEM file's path
/// or PEM text itself (starting `-----BEGIN`); with `client_ca` (likewise, or NULL) clients
/// must present a certificate one of its CAs signed (mutual TLS). Files given by path are
/// the ones `ferry_tls_reload` re-reads. Free with `ferry_tls_free`.
///
/// # Safety
/// `cert` and `key` are NUL-terminated strings; `client_ca` is NULL or one; `out` is valid
/// for a write; `error` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_tls_server(
    cert: *const c_char,
    key: *const c_char,
    client_ca: *const c_char,
    out: *mut *mut ferry_tls,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_tls_server";
    let outcome = guarded(F, || {
        if out.is_null() {
            return Err(ferry_error::invalid(F, "`out` is NULL"));
        }
        // SAFETY: NUL-terminated strings or NULL where allowed (the contract above).
        let (cert, key, ca) = unsafe {
            (
                str_arg(F, "cert", cert)?,
                str_arg(F, "key", key)?,
                optional(F, "client_ca", client_ca)?,
            )
        };
        let tls = server_tls(cert, key, ca).map_err(|e| tls_error(F, e))?;
        write_out(out, ferry_tls::Server(tls));
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Client TLS settings: trust the CAs of `ca` for a server whose certificate names
/// `server_name`; with `cert` and `key` (or NULL for both) present a client certificate
/// (mutual TLS). Each PEM argument is a file's path or PEM text. Free with `ferry_tls_free`.
///
/// # Safety
/// `ca` and `server_name` are NUL-terminated strings; `cert` and `key` are NULL or
/// NUL-terminated strings; `out` is valid for a write; `error` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_tls_client(
    ca: *const c_char,
    server_name: *const c_char,
    cert: *const c_char,
    key: *const c_char,
    out: *mut *mut ferry_tls,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_tls_client";
    let outcome = guarded(F, || {
        if out.is_null() {
            return Err(ferry_error::invalid(F, "`out` is NULL"));
        }
        // SAFETY: NUL-terminated strings or NULL where allowed (the contract above).
        let (ca, name, cert, key) = unsafe {
            (
                str_arg(F, "ca", ca)?,
                str_arg(F, "server_name", server_name)?,
                optional(F, "cert", cert)?,
                optional(F, "key", key)?,
            )
        };
        let pair = match (cert, key) {
            (Some(c), Some(k)) => Some((read_pem(c), read_pem(k))),
            (None, None) => None,
            _ => return Err(ferry_error::invalid(F, "give both `cert` and `key`, or neither")),
        };
        let pair = match pair {
            Some((c, k)) => {
                Some((c.map_err(|e| tls_error(F, e))?, k.map_err(|e| tls_error(F, e))?))
            }
            None => None,
        };
        let ca = read_pem(ca).map_err(|e| tls_error(F, e))?;
        let tls = ClientTls::from_pem(&ca, name, pair.as_ref().map(|(c, k)| (&c[..], &k[..])))
            .map_err(|e| tls_error(F, e))?;
        write_out(out, ferry_tls::Client(tls));
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Re-reads a server's certificate and key from their files; new handshakes use them,
/// connections up keep theirs. On failure the old certificate stays and the error says why.
///
/// # Safety
/// `tls` is from `ferry_tls_server` and not yet freed; `error` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_tls_reload(
    tls: *const ferry_tls,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_tls_reload";
    let outcome = guarded(F, || {
        // SAFETY: NULL or a live `ferry_tls` (the contract above).
        match unsafe { tls.as_ref() } {
            Some(ferry_tls::Server(t)) => t.reload().map_err(|e| tls_error(F, e)),
            Some(ferry_tls::Client(_)) => {
                Err(ferry_error::invalid(F, "`tls` holds client settings; only a server's reload"))
            }
            None => Err(ferry_error::invalid(F, "`tls` is NULL")),
        }
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Frees TLS settings. Servers and clients made with them keep their own copy. NULL is
/// ignored.
///
/// # Safety
/// `tls` is NULL or from `ferry_tls_server` / `ferry_tls_client`, freed once.
#[no_mangle]
pub unsafe extern "C" fn ferry_tls_free(tls: *mut ferry_tls) {
    if !tls.is_null() {
        // SAFETY: from `Box::into_raw` in this module, freed once (the contract).
        drop(unsafe { Box::from_raw(tls) });
    }
}

/// One of the caller's identity strings, as a pointer into the reply (which holds it
/// until the handler returns); NULL without mutual TLS.
///
/// # Safety
/// `reply` is NULL or the pointer a handler received.
unsafe fn peer(
    reply: *const ferry_reply,
    pick: fn(&(CString, CString)) -> &CString,
) -> *const c_char {
    // SAFETY: NULL or the live reply (the contract).
    let Some(reply) = (unsafe { reply.as_ref() }) else { return std::ptr::null() };
    // SAFETY: the context pointer is set from a live `&Context` for the handler's call.
    let Some(ctx) = (unsafe { reply.context.as_ref() }) else { return std::ptr::null() };
    let strings = reply.peer.get_or_init(|| {
        let id = ctx.peer_identity()?;
        let c = |s: String| CString::new(s.replace('\0', "\\0")).unwrap_or_default();
        Some((c(id.subject.clone()), c(id.alt_names.join(","))))
    });
    strings.as_ref().map_or(std::ptr::null(), |s| pick(s).as_ptr())
}

/// The subject of the caller's verified client certificate as RFC 4514 text
/// ("CN=billing,O=Example"; specials in values escaped, so "CN=a\\, CN=b" is one CN), or
/// NULL when the call did not come over mutual TLS. Valid until the handler returns.
///
/// # Safety
/// `reply` is NULL or the pointer the handler received.
#[no_mangle]
pub unsafe extern "C" fn ferry_reply_peer_subject(reply: *const ferry_reply) -> *const c_char {
    // SAFETY: forwarded contract.
    unsafe { peer(reply, |(subject, _)| subject) }
}

/// The caller's certificate's alternative names, comma-separated ("DNS:a.example,URI:
/// spiffe://example.org/billing"), or NULL without mutual TLS. Valid until the handler
/// returns.
///
/// # Safety
/// `reply` is NULL or the pointer the handler received.
#[no_mangle]
pub unsafe extern "C" fn ferry_reply_peer_alt_names(reply: *const ferry_reply) -> *const c_char {
    // SAFETY: forwarded contract.
    unsafe { peer(reply, |(_, alt)| alt) }
}

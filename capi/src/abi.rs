//! The `extern "C"` functions: the only code in this crate that touches raw pointers. Each
//! function checks its pointers for NULL, converts them in one of the helpers at the top
//! (the `unsafe` blocks, each with the contract it relies on), catches panics, and hands
//! the work to safe code in `ferry-runtime`.
#![allow(unsafe_code)]
// Every unsafe operation in its own block with its own SAFETY comment, also inside `unsafe fn`.
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)]

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use ferry_runtime::{Address, CallHandle, CallOptions, Client};

use crate::types::{
    ferry_bytes, ferry_call_options, ferry_client_options, ferry_error, ferry_status, resolve,
};

// ---- pointer helpers: the contracts every function's documentation states

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid during the call.
pub(crate) unsafe fn str_arg<'a>(
    function: &str,
    name: &str,
    p: *const c_char,
) -> Result<&'a str, ferry_error> {
    if p.is_null() {
        return Err(ferry_error::invalid(function, format!("`{name}` is NULL")));
    }
    // SAFETY: not NULL, and the caller guarantees a NUL-terminated string valid for the call.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|e| {
        ferry_error::invalid(function, format!("`{name}` is not UTF-8 (byte {})", e.valid_up_to()))
    })
}

/// A byte-buffer argument; `p` may be NULL when `len` is 0.
///
/// # Safety
/// `p` points to `len` readable bytes that stay valid during the call (or `len` is 0).
pub(crate) unsafe fn bytes_arg<'a>(
    function: &str,
    name: &str,
    p: *const u8,
    len: usize,
) -> Result<&'a [u8], ferry_error> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(ferry_error::invalid(
            function,
            format!("`{name}` is NULL but its length is {len}"),
        ));
    }
    // SAFETY: not NULL, and the caller guarantees `len` readable bytes for the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// An optional options struct: NULL means all defaults.
///
/// # Safety
/// `p` is NULL or points to a valid, initialised `T`.
pub(crate) unsafe fn or_defaults<T: Copy + Default>(p: *const T) -> T {
    // SAFETY: the caller guarantees NULL or a valid `T`.
    unsafe { p.as_ref() }.copied().unwrap_or_default()
}

/// The call options `p` points to (NULL: the defaults), metadata included.
///
/// # Safety
/// `p` is NULL or valid; its `metadata` points to `metadata_len` valid entries (or
/// `metadata_len` is 0), each with a NUL-terminated `key` and `value_len` readable bytes.
unsafe fn call_options(
    function: &str,
    p: *const ferry_call_options,
) -> Result<CallOptions, ferry_error> {
    // SAFETY: `p` is NULL or valid (the contract above).
    let o = unsafe { or_defaults(p) };
    let mut options = o.call_options();
    if o.metadata_len == 0 {
        return Ok(options);
    }
    if o.metadata.is_null() {
        return Err(ferry_error::invalid(
            function,
            format!("`options->metadata` is NULL but `metadata_len` is {}", o.metadata_len),
        ));
    }
    // SAFETY: not NULL, and the caller guarantees `metadata_len` valid entries.
    let entries = unsafe { std::slice::from_raw_parts(o.metadata, o.metadata_len) };
    for (i, e) in entries.iter().enumerate() {
        let (key_name, value_name) = (format!("metadata[{i}].key"), format!("metadata[{i}].value"));
        // SAFETY: each entry's key is NUL-terminated and its value readable for
        // `value_len` bytes (the contract above).
        let (key, value) = unsafe {
            (
                str_arg(function, &key_name, e.key)?,
                bytes_arg(function, &value_name, e.value, e.value_len)?,
            )
        };
        options.metadata.push((key.to_owned(), value.to_vec()));
    }
    Ok(options)
}

/// Runs `body`, turning a panic into `FERRY_STATUS_PANIC`.
pub(crate) fn guarded(
    function: &str,
    body: impl FnOnce() -> Result<(), ferry_error>,
) -> Result<(), ferry_error> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(ferry_error::new(
            ferry_status::FERRY_STATUS_PANIC,
            format!("{function}: Ferry panicked (a bug; please report it): {what}"),
        ))
    })
}

/// The status of `outcome`; its error, if any, goes to `*error` for the caller to free
/// (NULL on success), or is dropped when `error` is NULL.
///
/// # Safety
/// `error` is NULL or valid for a write of a pointer.
pub(crate) unsafe fn report(
    error: *mut *mut ferry_error,
    outcome: Result<(), ferry_error>,
) -> ferry_status {
    let (status, e) = match outcome {
        Ok(()) => (ferry_status::FERRY_STATUS_OK, None),
        Err(e) => (e.status, Some(e)),
    };
    if !error.is_null() {
        let raw = e.map_or(std::ptr::null_mut(), |e| Box::into_raw(Box::new(e)));
        // SAFETY: not NULL, and the caller guarantees it is valid for writes.
        unsafe { error.write(raw) };
    }
    status
}

/// Moves a reply into C's hands (freed by `ferry_bytes_free`).
fn into_bytes(v: Vec<u8>) -> ferry_bytes {
    if v.is_empty() {
        return ferry_bytes::EMPTY;
    }
    let boxed = v.into_boxed_slice();
    let len = boxed.len();
    ferry_bytes { data: Box::into_raw(boxed).cast::<u8>(), len }
}

// ---- errors and bytes

/// The status of an error (`FERRY_STATUS_OK` for NULL).
///
/// # Safety
/// `error` is NULL or a pointer returned by a Ferry function and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ferry_error_status(error: *const ferry_error) -> ferry_status {
    // SAFETY: the caller guarantees NULL or a live `ferry_error`.
    unsafe { error.as_ref() }.map_or(ferry_status::FERRY_STATUS_OK, |e| e.status)
}

/// The error's message: what went wrong and what to do. Valid until `ferry_error_free`;
/// an empty string for NULL.
///
/// # Safety
/// `error` is NULL or a pointer returned by a Ferry function and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ferry_error_message(error: *const ferry_error) -> *const c_char {
    // SAFETY: the caller guarantees NULL or a live `ferry_error`.
    match unsafe { error.as_ref() } {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// A new error with `status` (a `ferry_status`; other values become
/// `FERRY_STATUS_INVALID_ARGUMENT`) and a copy of `message` (NULL: no message), for C code
/// that reports through the same type (generated stubs do). Free with `ferry_error_free`.
///
/// # Safety
/// `message` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ferry_error_new(status: i32, message: *const c_char) -> *mut ferry_error {
    // An `int` from C, not the enum: a value outside it must not be undefined behaviour.
    let status = crate::types::status_from_code(status);
    let text = if message.is_null() {
        String::new()
    } else {
        // SAFETY: not NULL, and the caller guarantees a NUL-terminated string.
        unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
    };
    Box::into_raw(Box::new(ferry_error::new(status, text)))
}

/// Frees an error. NULL is ignored.
///
/// # Safety
/// `error` is NULL or a pointer returned by a Ferry function, freed at most once.
#[no_mangle]
pub unsafe extern "C" fn ferry_error_free(error: *mut ferry_error) {
    if !error.is_null() {
        // SAFETY: the pointer came from `Box::into_raw` in `guarded` and is freed once.
        drop(unsafe { Box::from_raw(error) });
    }
}

/// The name of a status code, e.g. "FERRY_STATUS_UNAVAILABLE"; "FERRY_STATUS_UNKNOWN" for
/// a value that is not a status. The string is static.
#[no_mangle]
pub extern "C" fn ferry_status_name(status: i32) -> *const c_char {
    let name = match status {
        0 => c"FERRY_STATUS_OK",
        1 => c"FERRY_STATUS_INVALID_ARGUMENT",
        2 => c"FERRY_STATUS_UNAVAILABLE",
        3 => c"FERRY_STATUS_DEADLINE_EXCEEDED",
        4 => c"FERRY_STATUS_CANCELLED",
        5 => c"FERRY_STATUS_OUTCOME_UNKNOWN",
        6 => c"FERRY_STATUS_OVERLOADED",
        7 => c"FERRY_STATUS_PROTOCOL",
        8 => c"FERRY_STATUS_REMOTE",
        9 => c"FERRY_STATUS_IO",
        10 => c"FERRY_STATUS_PANIC",
        11 => c"FERRY_STATUS_PERMISSION_DENIED",
        12 => c"FERRY_STATUS_TLS",
        _ => c"FERRY_STATUS_UNKNOWN",
    };
    name.as_ptr()
}

/// Frees the bytes of a reply and resets `bytes` to empty. NULL, or empty bytes, are
/// ignored.
///
/// # Safety
/// `bytes` is NULL or points to a `ferry_bytes` filled by a Ferry function (or zeroed).
#[no_mangle]
pub unsafe extern "C" fn ferry_bytes_free(bytes: *mut ferry_bytes) {
    // SAFETY: the caller guarantees NULL or a valid `ferry_bytes`.
    let Some(b) = (unsafe { bytes.as_mut() }) else { return };
    if !b.data.is_null() && b.len > 0 {
        let slice = std::ptr::slice_from_raw_parts_mut(b.data, b.len);
        // SAFETY: `data`/`len` came from `into_bytes` (a boxed slice) and are freed once:
        // the struct is reset below.
        drop(unsafe { Box::from_raw(slice) });
    }
    *b = ferry_bytes::EMPTY;
}

/// The method id of a method name: FNV-1a of its UTF-8 bytes, as in generated Rust code.
/// 0 for NULL.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ferry_method_id(name: *const c_char) -> u32 {
    if name.is_null() {
        return 0;
    }
    // SAFETY: not NULL, and the caller guarantees a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(name) }.to_bytes();
    // The runtime hashes a `&str`; hash the bytes the same way so non-UTF-8 names still
    // get a stable id.
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

// ---- client

/// A connection to one Ferry server; safe to use from many threads at once.
#[derive(Debug)]
pub struct ferry_client {
    client: Client,
}

/// A call started with `ferry_client_start`.
#[derive(Debug)]
pub struct ferry_call {
    handle: CallHandle,
}

/// Creates a client for `address` ("host:port", or "unix:PATH" for a Unix socket). It connects in the background and
/// reconnects as needed, so an unreachable server shows as `FERRY_STATUS_UNAVAILABLE` on
/// calls, not here. `options` may be NULL (defaults). Free with `ferry_client_free`.
///
/// # Safety
/// `address` is a NUL-terminated string; `options` is NULL or valid (its `tls` NULL or a
/// live `ferry_tls`); `out` is valid for a write; `error` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_client_connect(
    address: *const c_char,
    options: *const ferry_client_options,
    out: *mut *mut ferry_client,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_client_connect";
    let outcome = guarded(F, || {
        if out.is_null() {
            return Err(ferry_error::invalid(F, "`out` is NULL"));
        }
        // SAFETY: `address` is a NUL-terminated string and `options` NULL or valid (above).
        let (address, config) = unsafe { (str_arg(F, "address", address)?, or_defaults(options)) };
        let addr = resolve(F, address)?;
        // SAFETY: `options->tls` is NULL or a live `ferry_tls` (documented above).
        let tls = unsafe { config.tls.as_ref() };
        let config = config.config(tls, F)?;
        let client = match addr {
            Address::Tcp(a) => Client::connect(a, config),
            Address::Unix(path) => Client::connect_unix(path, config),
        }
        .map_err(|e| ferry_error::new(ferry_status::FERRY_STATUS_IO, format!("{F}: {e}")))?;
        let client = Box::into_raw(Box::new(ferry_client { client }));
        // SAFETY: `out` is not NULL and valid for a write (above).
        unsafe { out.write(client) };
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Closes the client. Calls still in flight end by their deadlines first. NULL is ignored.
///
/// # Safety
/// `client` is NULL or from `ferry_client_connect`, freed once, with no call on it running.
#[no_mangle]
pub unsafe extern "C" fn ferry_client_free(client: *mut ferry_client) {
    if !client.is_null() {
        // SAFETY: from `Box::into_raw` in `ferry_client_connect`, freed once.
        drop(unsafe { Box::from_raw(client) });
    }
}

/// Calls `method` with `request` and waits for the reply (or an error, or the deadline).
/// On `FERRY_STATUS_OK`, `*reply` holds the reply bytes: free them with `ferry_bytes_free`.
/// `options` may be NULL.
///
/// # Safety
/// `client` is from `ferry_client_connect`; `request` points to `request_len` bytes (or
/// `request_len` is 0); `options` is NULL or valid (its `metadata` pointing to
/// `metadata_len` entries with NUL-terminated keys and readable values); `reply` is valid
/// for a write; `error` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_client_call(
    client: *const ferry_client,
    method: u32,
    request: *const u8,
    request_len: usize,
    options: *const ferry_call_options,
    reply: *mut ferry_bytes,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_client_call";
    let outcome = guarded(F, || {
        if reply.is_null() {
            return Err(ferry_error::invalid(F, "`reply` is NULL"));
        }
        // SAFETY: `client` is NULL or live, `request` readable for `request_len` bytes,
        // `options` NULL or valid with valid metadata (the contract above).
        let (c, req, opts) = unsafe {
            (
                client.as_ref(),
                bytes_arg(F, "request", request, request_len)?,
                call_options(F, options)?,
            )
        };
        let c = c.ok_or_else(|| ferry_error::invalid(F, "`client` is NULL"))?;
        let body = c.client.call(method, req, &opts)?;
        // SAFETY: `reply` is not NULL and valid for a write (above).
        unsafe { reply.write(into_bytes(body)) };
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Starts a call and returns at once; many calls may be in flight on one client. Finish
/// it with `ferry_call_wait` (or abandon it with `ferry_call_free`).
///
/// # Safety
/// As `ferry_client_call`, with `out` valid for a write instead of `reply`.
#[no_mangle]
pub unsafe extern "C" fn ferry_client_start(
    client: *const ferry_client,
    method: u32,
    request: *const u8,
    request_len: usize,
    options: *const ferry_call_options,
    out: *mut *mut ferry_call,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_client_start";
    let outcome = guarded(F, || {
        if out.is_null() {
            return Err(ferry_error::invalid(F, "`out` is NULL"));
        }
        // SAFETY: as in `ferry_client_call` (the contract above).
        let (c, req, opts) = unsafe {
            (
                client.as_ref(),
                bytes_arg(F, "request", request, request_len)?,
                call_options(F, options)?,
            )
        };
        let c = c.ok_or_else(|| ferry_error::invalid(F, "`client` is NULL"))?;
        let handle = c.client.start(method, req, &opts);
        let call = Box::into_raw(Box::new(ferry_call { handle }));
        // SAFETY: `out` is not NULL and valid for a write (above).
        unsafe { out.write(call) };
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Waits for a started call to end and frees it (whatever the outcome). On
/// `FERRY_STATUS_OK`, `*reply` holds the reply bytes (free with `ferry_bytes_free`).
///
/// # Safety
/// `call` is from `ferry_client_start` and not yet waited on or freed; `reply` is valid for
/// a write; `error` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_call_wait(
    call: *mut ferry_call,
    reply: *mut ferry_bytes,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_call_wait";
    let outcome = guarded(F, || {
        if call.is_null() {
            return Err(ferry_error::invalid(F, "`call` is NULL"));
        }
        // Take ownership first so the call is freed even when `reply` is NULL.
        // SAFETY: from `Box::into_raw` in `ferry_client_start`, not yet freed (above).
        let call = unsafe { Box::from_raw(call) };
        if reply.is_null() {
            return Err(ferry_error::invalid(F, "`reply` is NULL (the call was freed)"));
        }
        let body = call.handle.wait()?;
        // SAFETY: `reply` is not NULL and valid for a write (above).
        unsafe { reply.write(into_bytes(body)) };
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Cancels a started call: its wait ends with `FERRY_STATUS_CANCELLED`, and the server
/// skips it if it has not started. The call must still be waited on or freed. NULL is
/// ignored.
///
/// # Safety
/// `call` is NULL or from `ferry_client_start` and not yet waited on or freed.
#[no_mangle]
pub unsafe extern "C" fn ferry_call_cancel(call: *const ferry_call) {
    // SAFETY: the caller guarantees NULL or a live call.
    if let Some(c) = unsafe { call.as_ref() } {
        c.handle.cancel();
    }
}

/// Frees a started call without waiting: it goes on until its reply or deadline, and the
/// result is dropped. NULL is ignored.
///
/// # Safety
/// `call` is NULL or from `ferry_client_start`, not yet waited on or freed.
#[no_mangle]
pub unsafe extern "C" fn ferry_call_free(call: *mut ferry_call) {
    if !call.is_null() {
        // SAFETY: from `Box::into_raw` in `ferry_client_start`, freed once.
        drop(unsafe { Box::from_raw(call) });
    }
}

//! The server half of the ABI: services of C handlers, their replies (answered during the
//! handler, or later from any thread through a `ferry_responder`), and servers.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void, CStr};

use ferry_runtime::{Address, Context, HandlerError, Listen, Responder, Server, Service};

use crate::abi::{bytes_arg, guarded, or_defaults, report, str_arg};
use crate::types::{ferry_error, ferry_server_options, ferry_status, resolve};

/// A method implementation. Called on one of the server's worker threads, possibly on
/// several at once, with `user_data` as registered, the request bytes (valid only during
/// the call) and the reply to fill with `ferry_reply_set` (or `ferry_reply_fail`). Return
/// 0 for success; anything else fails the call with `FERRY_STATUS_REMOTE` at the caller.
pub type ferry_handler = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request: *const u8,
        request_len: usize,
        reply: *mut ferry_reply,
    ) -> i32,
>;

/// Methods by id, to be served by `ferry_server_start`.
#[derive(Debug, Default)]
pub struct ferry_service {
    service: Service,
}

/// What a handler answers, and what it may ask about its call.
#[derive(Debug)]
pub struct ferry_reply {
    body: Vec<u8>,
    failure: Option<String>,
    pub(crate) context: *const Context,
    /// The peer's identity as C strings, made when first asked (`ferry_reply_peer_*`).
    pub(crate) peer: std::cell::OnceCell<Option<(std::ffi::CString, std::ffi::CString)>>,
    /// The call's answer, for a handler registered with `ferry_service_add_deferred`, until
    /// `ferry_reply_defer` hands it to the C code (`None` then, and always for handlers
    /// registered with `ferry_service_add`).
    deferrable: Option<Responder>,
}

impl ferry_reply {
    fn new(context: &Context, deferrable: Option<Responder>) -> ferry_reply {
        ferry_reply {
            body: Vec::new(),
            failure: None,
            context,
            peer: std::cell::OnceCell::new(),
            deferrable,
        }
    }

    /// The answer a handler gave by returning `code`.
    fn answer(self, code: i32, method: u32) -> Result<Vec<u8>, HandlerError> {
        match (code, self.failure) {
            (_, Some(message)) => Err(HandlerError::new(message)),
            (0, None) => Ok(self.body),
            (code, None) => Err(HandlerError::new(format!(
                "the C handler of method {method:#x} returned {code}"
            ))),
        }
    }
}

/// A call's answer that a handler took with `ferry_reply_defer`: answered once, from any
/// thread, after the handler returned (`ferry_responder_reply` or `ferry_responder_fail`),
/// or freed unanswered (`ferry_responder_free`: the caller is told the call failed, having
/// run). The call holds no worker thread meanwhile.
#[derive(Debug)]
pub struct ferry_responder {
    responder: Responder,
    context: Context,
}

/// A running server.
#[derive(Debug)]
pub struct ferry_server {
    server: Server,
}

/// `user_data` as a handler receives it on any worker thread.
struct UserData(*mut c_void);

// SAFETY: `ferry_service_add` documents that the handler and its `user_data` are called
// from several threads at once; the C caller guarantees that is safe for its data.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

impl UserData {
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// A C handler, known not to be NULL.
type HandlerFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut ferry_reply) -> i32;

/// The service and the handler a registration names, each checked for NULL.
///
/// # Safety
/// `service` is NULL or from `ferry_service_new`, not yet started or freed.
unsafe fn registration<'a>(
    function: &str,
    service: *mut ferry_service,
    method: u32,
    handler: ferry_handler,
) -> Result<(&'a mut ferry_service, HandlerFn), ferry_error> {
    // SAFETY: NULL or a live service (the contract above).
    let s = unsafe { service.as_mut() };
    let s = s.ok_or_else(|| ferry_error::invalid(function, "`service` is NULL"))?;
    let handler = handler.ok_or_else(|| {
        ferry_error::invalid(function, format!("`handler` for method {method:#x} is NULL"))
    })?;
    Ok((s, handler))
}

/// A new, empty service. Free with `ferry_service_free` unless passed to
/// `ferry_server_start`, which takes it.
#[no_mangle]
pub extern "C" fn ferry_service_new() -> *mut ferry_service {
    Box::into_raw(Box::default())
}

/// Frees a service that was not started. NULL is ignored.
///
/// # Safety
/// `service` is NULL or from `ferry_service_new`, not passed to `ferry_server_start`.
#[no_mangle]
pub unsafe extern "C" fn ferry_service_free(service: *mut ferry_service) {
    if !service.is_null() {
        // SAFETY: from `Box::into_raw` in `ferry_service_new`, freed once.
        drop(unsafe { Box::from_raw(service) });
    }
}

/// Registers `handler` for `method` (replacing any earlier one). `handler` runs on worker
/// threads, concurrently: it and `user_data` must be safe to use from several threads at
/// once, and `user_data` must outlive the server.
///
/// # Safety
/// `service` is from `ferry_service_new`; `handler` is a valid function; `error` is NULL or
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_service_add(
    service: *mut ferry_service,
    method: u32,
    handler: ferry_handler,
    user_data: *mut c_void,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_service_add";
    let outcome = guarded(F, || {
        // SAFETY: `service` is NULL or from `ferry_service_new` (the contract above).
        let (s, handler) = unsafe { registration(F, service, method, handler)? };
        let user = UserData(user_data);
        let run = move |ctx: &Context, request: &[u8]| -> Result<Vec<u8>, HandlerError> {
            let mut reply = ferry_reply::new(ctx, None);
            // SAFETY: `handler` is a valid C function (the registration contract);
            // `request` and `reply` outlive the call; `user_data` is the caller's to
            // share across threads.
            let code = unsafe { handler(user.get(), request.as_ptr(), request.len(), &mut reply) };
            reply.answer(code, method)
        };
        s.service = std::mem::take(&mut s.service).method(method, run);
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Registers `handler` for `method` as `ferry_service_add` does, and lets it answer after
/// it returns: a handler that calls `ferry_reply_defer` gets a `ferry_responder` that any
/// thread answers later (its return value and `ferry_reply_set` are then not used); one
/// that does not is answered as under `ferry_service_add`. For callback-style C code (an
/// event loop, a completion queue) that must not hold a worker thread while it waits.
///
/// # Safety
/// As `ferry_service_add`.
#[no_mangle]
pub unsafe extern "C" fn ferry_service_add_deferred(
    service: *mut ferry_service,
    method: u32,
    handler: ferry_handler,
    user_data: *mut c_void,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_service_add_deferred";
    let outcome = guarded(F, || {
        // SAFETY: `service` is NULL or from `ferry_service_new` (the contract above).
        let (s, handler) = unsafe { registration(F, service, method, handler)? };
        let user = UserData(user_data);
        let run = move |ctx: &Context, request: &[u8], responder: Responder| {
            let mut reply = ferry_reply::new(ctx, Some(responder));
            // SAFETY: as in `ferry_service_add`.
            let code = unsafe { handler(user.get(), request.as_ptr(), request.len(), &mut reply) };
            // Still here: the handler did not defer, and answered by returning.
            if let Some(responder) = reply.deferrable.take() {
                responder.reply(reply.answer(code, method));
            }
        };
        s.service = std::mem::take(&mut s.service).deferred_method(method, run);
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Takes the call's answer out of the handler's hands: `*out` is a `ferry_responder` that
/// must be answered or freed exactly once, from any thread, after (or before) the handler
/// returns. Only for methods registered with `ferry_service_add_deferred`, once per call.
///
/// # Safety
/// `reply` is NULL or the pointer the handler received, during the handler; `out` is
/// valid for a write; `error` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_reply_defer(
    reply: *mut ferry_reply,
    out: *mut *mut ferry_responder,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_reply_defer";
    let outcome = guarded(F, || {
        if out.is_null() {
            return Err(ferry_error::invalid(F, "`out` is NULL"));
        }
        // SAFETY: `reply` is NULL or the handler's live reply (the contract above).
        let r = unsafe { reply.as_mut() };
        let r = r.ok_or_else(|| ferry_error::invalid(F, "`reply` is NULL"))?;
        let Some(responder) = r.deferrable.take() else {
            return Err(ferry_error::invalid(
                F,
                "this call cannot be deferred: register its method with ferry_service_add_deferred (not ferry_service_add), and defer once",
            ));
        };
        // SAFETY: the reply's context lives as long as the handler's call (above).
        let context = unsafe { &*r.context }.clone();
        let deferred = Box::into_raw(Box::new(ferry_responder { responder, context }));
        // SAFETY: `out` is not NULL and valid for a write (above).
        unsafe { out.write(deferred) };
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Answers a deferred call with `data` (copied) and frees `responder` (also when an
/// argument is invalid: the call then fails, saying so). The caller's result arrives as
/// if the handler had returned it.
///
/// # Safety
/// `responder` is from `ferry_reply_defer`, not yet answered or freed; `data` points to
/// `len` readable bytes (or `len` is 0); `error` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_responder_reply(
    responder: *mut ferry_responder,
    data: *const u8,
    len: usize,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_responder_reply";
    let outcome = guarded(F, || {
        if responder.is_null() {
            return Err(ferry_error::invalid(F, "`responder` is NULL"));
        }
        // SAFETY: from `Box::into_raw` in `ferry_reply_defer`, answered once (the contract).
        let r = unsafe { Box::from_raw(responder) };
        // SAFETY: `data` is readable for `len` bytes (the contract above).
        match unsafe { bytes_arg(F, "data", data, len) } {
            Ok(bytes) => {
                r.responder.reply(Ok(bytes.to_vec()));
                Ok(())
            }
            Err(e) => {
                r.responder.reply(Err(HandlerError::new(format!(
                    "the C handler's deferred reply was invalid: {}",
                    e.message.to_string_lossy()
                ))));
                Err(e)
            }
        }
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Fails a deferred call with `message` (copied; the caller gets `FERRY_STATUS_REMOTE`
/// with it) and frees `responder` (also when `message` is NULL: the call then fails with
/// a message saying so).
///
/// # Safety
/// `responder` is from `ferry_reply_defer`, not yet answered or freed; `message` is a
/// NUL-terminated string; `error` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_responder_fail(
    responder: *mut ferry_responder,
    message: *const c_char,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_responder_fail";
    let outcome = guarded(F, || {
        if responder.is_null() {
            return Err(ferry_error::invalid(F, "`responder` is NULL"));
        }
        // SAFETY: from `Box::into_raw` in `ferry_reply_defer`, answered once (the contract).
        let r = unsafe { Box::from_raw(responder) };
        if message.is_null() {
            r.responder.reply(Err(HandlerError::new(
                "the C handler failed the call without a message (`message` was NULL)",
            )));
            return Err(ferry_error::invalid(F, "`message` is NULL (the call failed anyway)"));
        }
        // SAFETY: `message` is a NUL-terminated string (the contract above).
        let message = unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned();
        r.responder.reply(Err(HandlerError::new(message)));
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Milliseconds left before the deferred call's deadline (0 once it has passed, or for
/// NULL).
///
/// # Safety
/// `responder` is NULL or from `ferry_reply_defer`, not yet answered or freed.
#[no_mangle]
pub unsafe extern "C" fn ferry_responder_remaining_ms(responder: *const ferry_responder) -> u64 {
    // SAFETY: the caller guarantees NULL or a live responder.
    unsafe { responder.as_ref() }
        .map_or(0, |r| u64::try_from(r.context.remaining().as_millis()).unwrap_or(u64::MAX))
}

/// True once the caller cancelled the deferred call or its deadline passed (or for NULL):
/// the answer will not be read, so the work behind it may stop. Free the responder then.
///
/// # Safety
/// `responder` is NULL or from `ferry_reply_defer`, not yet answered or freed.
#[no_mangle]
pub unsafe extern "C" fn ferry_responder_is_cancelled(responder: *const ferry_responder) -> bool {
    // SAFETY: the caller guarantees NULL or a live responder.
    unsafe { responder.as_ref() }.is_none_or(|r| r.context.is_cancelled())
}

/// Frees a responder without answering: the caller is told the call failed after its
/// handler ran (it may have had effects). NULL is ignored.
///
/// # Safety
/// `responder` is NULL or from `ferry_reply_defer`, not yet answered or freed.
#[no_mangle]
pub unsafe extern "C" fn ferry_responder_free(responder: *mut ferry_responder) {
    if !responder.is_null() {
        // SAFETY: from `Box::into_raw` in `ferry_reply_defer`, freed once.
        drop(unsafe { Box::from_raw(responder) });
    }
}

/// Sets the reply bytes (copied). May be called more than once; the last call wins.
///
/// # Safety
/// `reply` is the pointer the handler received; `data` points to `len` bytes (or `len` is
/// 0).
#[no_mangle]
pub unsafe extern "C" fn ferry_reply_set(
    reply: *mut ferry_reply,
    data: *const u8,
    len: usize,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_reply_set";
    let outcome = guarded(F, || {
        // SAFETY: `reply` is NULL or the handler's live reply; `data` is readable for `len`
        // bytes (the contract above).
        let (r, bytes) = unsafe { (reply.as_mut(), bytes_arg(F, "data", data, len)?) };
        let r = r.ok_or_else(|| ferry_error::invalid(F, "`reply` is NULL"))?;
        r.body.clear();
        r.body.extend_from_slice(bytes);
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Fails the call with `message` (copied): the caller gets `FERRY_STATUS_REMOTE` with it,
/// whatever the handler returns.
///
/// # Safety
/// `reply` is the pointer the handler received; `message` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ferry_reply_fail(
    reply: *mut ferry_reply,
    message: *const c_char,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_reply_fail";
    let outcome = guarded(F, || {
        if message.is_null() {
            return Err(ferry_error::invalid(F, "`message` is NULL"));
        }
        // SAFETY: `reply` is NULL or the handler's live reply; `message` is a
        // NUL-terminated string (the contract above).
        let (r, message) = unsafe { (reply.as_mut(), CStr::from_ptr(message)) };
        let r = r.ok_or_else(|| ferry_error::invalid(F, "`reply` is NULL"))?;
        // A message that is not UTF-8 still fails the call, with the bytes replaced.
        r.failure = Some(message.to_string_lossy().into_owned());
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// Milliseconds left before the caller's deadline (0 once it has passed): a handler should
/// give up when it reaches 0.
///
/// # Safety
/// `reply` is NULL or the pointer the handler received.
#[no_mangle]
pub unsafe extern "C" fn ferry_reply_remaining_ms(reply: *const ferry_reply) -> u64 {
    // SAFETY: the caller guarantees NULL or the live reply; its context outlives it.
    match unsafe { reply.as_ref().and_then(|r| r.context.as_ref()) } {
        Some(ctx) => u64::try_from(ctx.remaining().as_millis()).unwrap_or(u64::MAX),
        None => 0,
    }
}

/// True once the caller has cancelled the call (or its deadline passed): the reply will
/// not be read, so the handler may stop early.
///
/// # Safety
/// `reply` is NULL or the pointer the handler received.
#[no_mangle]
pub unsafe extern "C" fn ferry_reply_is_cancelled(reply: *const ferry_reply) -> bool {
    // SAFETY: the caller guarantees NULL or the live reply; its context outlives it.
    unsafe { reply.as_ref().and_then(|r| r.context.as_ref()) }.is_some_and(Context::is_cancelled)
}

/// Binds `address` ("host:port", port 0 picks a free one; or "unix:PATH", a Unix socket
/// in plaintext) and serves `service` on the
/// runtime's event loops and workers until `ferry_server_free`. Takes `service` (also on
/// failure). `options` may be NULL.
///
/// # Safety
/// `address` is a NUL-terminated string; `service` is from `ferry_service_new`; `options`
/// is NULL or valid (its `tls` NULL or a live `ferry_tls`); `out` is valid for a write;
/// `error` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn ferry_server_start(
    address: *const c_char,
    service: *mut ferry_service,
    options: *const ferry_server_options,
    out: *mut *mut ferry_server,
    error: *mut *mut ferry_error,
) -> ferry_status {
    const F: &str = "ferry_server_start";
    let outcome = guarded(F, || {
        if service.is_null() {
            return Err(ferry_error::invalid(F, "`service` is NULL"));
        }
        // SAFETY: from `Box::into_raw` in `ferry_service_new`, not yet freed or started.
        let service = unsafe { Box::from_raw(service) }.service;
        if out.is_null() {
            return Err(ferry_error::invalid(F, "`out` is NULL (the service was freed)"));
        }
        // SAFETY: `address` is a NUL-terminated string and `options` NULL or valid (above).
        let (address, config) = unsafe { (str_arg(F, "address", address)?, or_defaults(options)) };
        let addr = resolve(F, address)?;
        // SAFETY: `options->tls` is NULL or a live `ferry_tls` (documented above).
        let tls = unsafe { config.tls.as_ref() };
        let config = config.config(tls, F)?;
        let listen = match &addr {
            Address::Tcp(a) => match &config.tls {
                Some(tls) => Listen::Tls(*a, tls.clone()),
                None => Listen::Tcp(*a),
            },
            Address::Unix(_) if config.tls.is_some() => {
                return Err(ferry_error::invalid(
                    F,
                    "TLS over a Unix socket is not supported (the socket file's permissions admit its peers); set `options->tls` to NULL",
                ))
            }
            Address::Unix(path) => Listen::Unix(path.clone()),
        };
        let server = Server::bind_all(&[listen], service, config).map_err(|e| {
            ferry_error::new(
                ferry_status::FERRY_STATUS_IO,
                format!("{F}: cannot serve on {addr}: {e}"),
            )
        })?;
        let server = Box::into_raw(Box::new(ferry_server { server }));
        // SAFETY: `out` is not NULL and valid for a write (above).
        unsafe { out.write(server) };
        Ok(())
    });
    // SAFETY: `error` is NULL or valid for a write (documented above).
    unsafe { report(error, outcome) }
}

/// The port the server listens on (useful after binding port 0); 0 for NULL or a server
/// on a Unix socket.
///
/// # Safety
/// `server` is NULL or from `ferry_server_start` and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ferry_server_port(server: *const ferry_server) -> u16 {
    // SAFETY: the caller guarantees NULL or a live server.
    unsafe { server.as_ref() }
        .and_then(|s| s.server.local_addrs().iter().find_map(Address::tcp))
        .map_or(0, |a| a.port())
}

/// Stops the server: no new connections, calls in progress finish within the shutdown
/// grace period, then its threads exit. NULL is ignored.
///
/// # Safety
/// `server` is NULL or from `ferry_server_start`, freed once.
#[no_mangle]
pub unsafe extern "C" fn ferry_server_free(server: *mut ferry_server) {
    if !server.is_null() {
        // SAFETY: from `Box::into_raw` in `ferry_server_start`, freed once.
        let s = unsafe { Box::from_raw(server) };
        s.server.shutdown();
    }
}

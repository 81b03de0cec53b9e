//! The ABI's contracts from Rust: NULL and malformed arguments give precise errors, error
//! and byte ownership work as documented, and ids agree with the runtime's.
// Calling an ABI means calling `unsafe extern "C"` functions; each block states its pointers.
#![allow(unsafe_code)]

use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

use ferry::*;

fn message(e: *const ferry_error) -> String {
    // SAFETY: `e` is NULL or a live error from a Ferry function.
    unsafe { CStr::from_ptr(ferry_error_message(e)) }.to_string_lossy().into_owned()
}

#[test]
fn null_and_malformed_arguments_are_reported_with_the_argument_named() {
    let mut error: *mut ferry_error = null_mut();
    let mut client: *mut ferry_client = null_mut();
    // SAFETY: every pointer is NULL or valid, as the contracts allow.
    unsafe {
        let status = ferry_client_connect(null(), null(), &mut client, &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        assert_eq!(ferry_error_status(error), status);
        assert_eq!(message(error), "ferry_client_connect: `address` is NULL");
        ferry_error_free(error);

        let bad = c"no-port-here";
        let status = ferry_client_connect(bad.as_ptr(), null(), &mut client, &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        assert!(message(error).contains("`no-port-here` is not `host:port`"), "{}", message(error));
        ferry_error_free(error);

        let status = ferry_client_connect(c"unix:".as_ptr(), null(), &mut client, &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        assert!(message(error).contains("names no socket path"), "{}", message(error));
        ferry_error_free(error);

        let not_utf8 = [0xffu8, 0];
        let status = ferry_client_connect(
            not_utf8.as_ptr().cast::<c_char>(),
            null(),
            &mut client,
            &mut error,
        );
        assert!(message(error).contains("`address` is not UTF-8"), "{}", message(error));
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        ferry_error_free(error);

        let addr = c"127.0.0.1:1";
        let status = ferry_client_connect(addr.as_ptr(), null(), null_mut(), &mut error);
        assert_eq!(message(error), "ferry_client_connect: `out` is NULL");
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        ferry_error_free(error);

        // The error out-pointer may be NULL: the status still tells.
        let status = ferry_service_add(null_mut(), 1, None, null_mut(), null_mut());
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        let service = ferry_service_new();
        let status = ferry_service_add(service, 7, None, null_mut(), &mut error);
        assert_eq!(message(error), "ferry_service_add: `handler` for method 0x7 is NULL");
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        ferry_error_free(error);
        ferry_service_free(service);

        // Deferred replies: NULL responders and replies are named, never dereferenced.
        let mut responder: *mut ferry_responder = null_mut();
        let status = ferry_reply_defer(null_mut(), &mut responder, &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        assert_eq!(message(error), "ferry_reply_defer: `reply` is NULL");
        ferry_error_free(error);
        let status = ferry_responder_reply(null_mut(), null(), 0, &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        assert_eq!(message(error), "ferry_responder_reply: `responder` is NULL");
        ferry_error_free(error);
        let status = ferry_responder_fail(null_mut(), c"x".as_ptr(), &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        ferry_error_free(error);
        assert!(ferry_responder_is_cancelled(null()));
        assert_eq!(ferry_responder_remaining_ms(null()), 0);
        ferry_responder_free(null_mut());
    }
}

#[test]
fn a_call_to_a_closed_port_is_unavailable_with_its_deadline_respected() {
    let mut error: *mut ferry_error = null_mut();
    let mut client: *mut ferry_client = null_mut();
    let options = ferry_client_options { connect_timeout_ms: 200, ..Default::default() };
    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let addr = std::ffi::CString::new(format!("127.0.0.1:{port}")).expect("address");
    // SAFETY: valid pointers throughout.
    unsafe {
        assert_eq!(
            ferry_client_connect(addr.as_ptr(), &options, &mut client, &mut error),
            ferry_status::FERRY_STATUS_OK
        );
        assert!(error.is_null(), "success leaves no error");
        let call = ferry_call_options { deadline_ms: 300, ..Default::default() };
        let mut reply = ferry_bytes { data: null_mut(), len: 0 };
        let status = ferry_client_call(client, 1, null(), 0, &call, &mut reply, &mut error);
        assert!(
            matches!(
                status,
                ferry_status::FERRY_STATUS_UNAVAILABLE
                    | ferry_status::FERRY_STATUS_DEADLINE_EXCEEDED
            ),
            "{status:?}: {}",
            message(error)
        );
        assert!(reply.data.is_null());
        ferry_error_free(error);
        error = null_mut();
        // Malformed metadata is refused before anything is sent, naming the entry.
        let bad = ferry_call_options { metadata_len: 2, ..call };
        let status = ferry_client_call(client, 1, null(), 0, &bad, &mut reply, &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        assert!(
            message(error).contains("`options->metadata` is NULL but `metadata_len` is 2"),
            "{}",
            message(error)
        );
        ferry_error_free(error);
        error = null_mut();
        let entries = [metadata_entry(null(), b"v")];
        let bad = ferry_call_options { metadata: entries.as_ptr(), metadata_len: 1, ..call };
        let status = ferry_client_call(client, 1, null(), 0, &bad, &mut reply, &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        assert!(message(error).contains("`metadata[0].key` is NULL"), "{}", message(error));
        ferry_error_free(error);
        ferry_client_free(client);
    }
}

fn metadata_entry(key: *const c_char, value: &'static [u8]) -> ferry_metadata {
    ferry_metadata { key, value: value.as_ptr(), value_len: value.len() }
}

#[test]
fn method_ids_and_status_names_agree_with_the_runtime() {
    for name in ["echo", "add", "getUser", ""] {
        let c = std::ffi::CString::new(name).expect("name");
        // SAFETY: a NUL-terminated string.
        assert_eq!(unsafe { ferry_method_id(c.as_ptr()) }, ferry_runtime::method_id(name));
    }
    // SAFETY: NULL is allowed.
    assert_eq!(unsafe { ferry_method_id(null()) }, 0);
    for (code, name) in [
        (0, "FERRY_STATUS_OK"),
        (8, "FERRY_STATUS_REMOTE"),
        (99, "FERRY_STATUS_UNKNOWN"),
        (-1, "FERRY_STATUS_UNKNOWN"),
    ] {
        // SAFETY: the names are static NUL-terminated strings.
        assert_eq!(unsafe { CStr::from_ptr(ferry_status_name(code)) }.to_str(), Ok(name));
    }
    // SAFETY: NULL and zeroed bytes are allowed.
    unsafe {
        ferry_bytes_free(null_mut());
        let mut zero = ferry_bytes { data: null_mut(), len: 0 };
        ferry_bytes_free(&mut zero);
        ferry_error_free(null_mut());
        assert_eq!(CStr::from_ptr(ferry_error_message(null())).to_bytes(), b"");
    }
}

#[test]
fn tls_settings_take_pem_text_or_paths_and_name_what_is_wrong() {
    use std::ffi::CString;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "abi");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert, key) =
        (CString::new(cert.pem()).unwrap(), CString::new(key.serialize_pem()).unwrap());
    let missing = c"/nonexistent/ferry-ca.pem";
    let mut tls: *mut ferry_tls = null_mut();
    let mut error: *mut ferry_error = null_mut();
    // SAFETY: NUL-terminated strings, NULL where allowed, valid out-pointers.
    unsafe {
        // PEM text for the pair, a path that does not exist for the client CA.
        let status =
            ferry_tls_server(cert.as_ptr(), key.as_ptr(), missing.as_ptr(), &mut tls, &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_TLS);
        assert!(message(error).contains("/nonexistent/ferry-ca.pem"), "{}", message(error));
        ferry_error_free(error);
        // PEM text throughout: made; and it cannot reload (no files), which it says.
        let status = ferry_tls_server(cert.as_ptr(), key.as_ptr(), null(), &mut tls, &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_OK);
        assert_eq!(ferry_tls_reload(tls, &mut error), ferry_status::FERRY_STATUS_TLS);
        assert!(message(error).contains("not read from files"), "{}", message(error));
        ferry_error_free(error);
        // Server settings where a client's belong are refused, naming the mix-up.
        let options = ferry_client_options { tls, ..ferry_client_options::default() };
        let mut client: *mut ferry_client = null_mut();
        let addr = c"127.0.0.1:1";
        let status = ferry_client_connect(addr.as_ptr(), &options, &mut client, &mut error);
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        assert!(message(error).contains("ferry_tls_client"), "{}", message(error));
        ferry_error_free(error);
        ferry_tls_free(tls);
        // A client certificate without its key.
        let status = ferry_tls_client(
            cert.as_ptr(),
            c"localhost".as_ptr(),
            cert.as_ptr(),
            null(),
            &mut tls,
            &mut error,
        );
        assert_eq!(status, ferry_status::FERRY_STATUS_INVALID_ARGUMENT);
        assert!(message(error).contains("both `cert` and `key`"), "{}", message(error));
        ferry_error_free(error);
    }
}

/* Ferry's C ABI (libferry.a / libferry.so). Generated from capi/src by cbindgen:
 * do not edit; `UPDATE_HEADER=1 cargo test -p ferry-capi --test header` regenerates it. */

#ifndef FERRY_H
#define FERRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// What a Ferry C function reports. `FERRY_STATUS_OK` is 0; every other value comes with a
// `ferry_error` message when the caller passes somewhere to put it.
typedef enum ferry_status {
  FERRY_STATUS_OK = 0,
  // A NULL pointer, a string that is not UTF-8, an address that does not parse: fix the
  // call; nothing was sent.
  FERRY_STATUS_INVALID_ARGUMENT = 1,
  // No connection could be made before the deadline; the call was not sent.
  FERRY_STATUS_UNAVAILABLE = 2,
  // The deadline passed; the call may or may not have run.
  FERRY_STATUS_DEADLINE_EXCEEDED = 3,
  // Cancelled by the caller; it may have run if it was already executing.
  FERRY_STATUS_CANCELLED = 4,
  // The server restarted before replying: the call ran once or not at all, and was not
  // re-sent (mark it idempotent to allow that).
  FERRY_STATUS_OUTCOME_UNKNOWN = 5,
  // The server or this client is at capacity; the call did not run. Retry later.
  FERRY_STATUS_OVERLOADED = 6,
  // A protocol violation or a method the server does not have; the call did not run.
  FERRY_STATUS_PROTOCOL = 7,
  // The handler failed (returned non-zero, or a Rust handler returned an error).
  FERRY_STATUS_REMOTE = 8,
  // An operating-system error (binding a port, creating a socket).
  FERRY_STATUS_IO = 9,
  // A bug in Ferry: a Rust panic was caught at the ABI boundary.
  FERRY_STATUS_PANIC = 10,
  // The server's authorization refused the call; it did not run.
  FERRY_STATUS_PERMISSION_DENIED = 11,
  // TLS settings could not be made (a file that cannot be read, no key in it, a key
  // that does not match its certificate); the message names the file.
  FERRY_STATUS_TLS = 12,
} ferry_status;

// A call started with `ferry_client_start`.
typedef struct ferry_call ferry_call;

// A connection to one Ferry server; safe to use from many threads at once.
typedef struct ferry_client ferry_client;

// An error's status and message. Free with `ferry_error_free`.
typedef struct ferry_error ferry_error;

// What a handler answers, and what it may ask about its call.
typedef struct ferry_reply ferry_reply;

// A call's answer that a handler took with `ferry_reply_defer`: answered once, from any
// thread, after the handler returned (`ferry_responder_reply` or `ferry_responder_fail`),
// or freed unanswered (`ferry_responder_free`: the caller is told the call failed, having
// run). The call holds no worker thread meanwhile.
typedef struct ferry_responder ferry_responder;

// A running server.
typedef struct ferry_server ferry_server;

// Methods by id, to be served by `ferry_server_start`.
typedef struct ferry_service ferry_service;

// TLS settings for a client (`ferry_tls_client`) or a server (`ferry_tls_server`). Free
// with `ferry_tls_free`; options that point to it are read when connecting or starting.
typedef struct ferry_tls ferry_tls;

// Bytes owned by Ferry (a reply). Free with `ferry_bytes_free`, which also resets the
// struct; an empty reply has `data == NULL` and `len == 0`.
typedef struct ferry_bytes {
  uint8_t *data;
  size_t len;
} ferry_bytes;

// Client settings; a zero field keeps the default, so `ferry_client_options o = {0};`
// is the default configuration.
typedef struct ferry_client_options {
  // Deadline of calls that set none. Default 5000.
  uint64_t default_deadline_ms;
  // How long one connection attempt may take. Default 1000.
  uint64_t connect_timeout_ms;
  // Calls waiting or in flight before `FERRY_STATUS_OVERLOADED`. Default 4096.
  uint32_t max_in_flight;
  // Largest reply frame accepted, in bytes. Default 8 MiB.
  uint32_t max_frame;
  // TLS to the server (`ferry_tls_client`); NULL: plaintext. Read when connecting only.
  const struct ferry_tls *tls;
} ferry_client_options;

// One metadata entry sent with a call: a NUL-terminated UTF-8 key and `value_len` bytes.
typedef struct ferry_metadata {
  // The key (NUL-terminated UTF-8).
  const char *key;
  // The value's bytes (may be NULL when `value_len` is 0).
  const uint8_t *value;
  // The value's length.
  size_t value_len;
} ferry_metadata;

// Per-call settings; zeroed means the client's default deadline, not idempotent, no
// metadata.
typedef struct ferry_call_options {
  // Time allowed for the whole call, retries included; 0: the client's default.
  uint64_t deadline_ms;
  // The method may run again when the outcome of an attempt is unknown.
  bool idempotent;
  // Fire and forget: the call ends once written and the reply is empty.
  bool oneway;
  // `metadata_len` entries sent with the call (a Rust handler reads them with
  // `Context::metadata`); NULL when `metadata_len` is 0. Read during the call only.
  const struct ferry_metadata *metadata;
  // How many entries `metadata` points to.
  size_t metadata_len;
} ferry_call_options;

// A method implementation. Called on one of the server's worker threads, possibly on
// several at once, with `user_data` as registered, the request bytes (valid only during
// the call) and the reply to fill with `ferry_reply_set` (or `ferry_reply_fail`). Return
// 0 for success; anything else fails the call with `FERRY_STATUS_REMOTE` at the caller.
typedef int32_t (*ferry_handler)(void *user_data,
                                 const uint8_t *request,
                                 size_t request_len,
                                 struct ferry_reply *reply);

// Server settings; a zero field keeps the default.
typedef struct ferry_server_options {
  // Event-loop threads. Default: one per core.
  uint32_t event_loops;
  // Worker threads running handlers. Default: one per core.
  uint32_t workers;
  // Connections held at once. Default 16384.
  uint32_t max_connections;
  // Largest request frame accepted, in bytes. Default 8 MiB.
  uint32_t max_frame;
  // A connection with no traffic for this long is closed. Default 300000.
  uint64_t idle_timeout_ms;
  // TLS, or mutual TLS (`ferry_tls_server`); NULL: plaintext. Read when starting only.
  const struct ferry_tls *tls;
} ferry_server_options;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// The status of an error (`FERRY_STATUS_OK` for NULL).
//
// # Safety
// `error` is NULL or a pointer returned by a Ferry function and not yet freed.
enum ferry_status ferry_error_status(const struct ferry_error *error);

// The error's message: what went wrong and what to do. Valid until `ferry_error_free`;
// an empty string for NULL.
//
// # Safety
// `error` is NULL or a pointer returned by a Ferry function and not yet freed.
const char *ferry_error_message(const struct ferry_error *error);

// A new error with `status` (a `ferry_status`; other values become
// `FERRY_STATUS_INVALID_ARGUMENT`) and a copy of `message` (NULL: no message), for C code
// that reports through the same type (generated stubs do). Free with `ferry_error_free`.
//
// # Safety
// `message` is NULL or a NUL-terminated string.
struct ferry_error *ferry_error_new(int32_t status, const char *message);

// Frees an error. NULL is ignored.
//
// # Safety
// `error` is NULL or a pointer returned by a Ferry function, freed at most once.
void ferry_error_free(struct ferry_error *error);

// The name of a status code, e.g. "FERRY_STATUS_UNAVAILABLE"; "FERRY_STATUS_UNKNOWN" for
// a value that is not a status. The string is static.
const char *ferry_status_name(int32_t status);

// Frees the bytes of a reply and resets `bytes` to empty. NULL, or empty bytes, are
// ignored.
//
// # Safety
// `bytes` is NULL or points to a `ferry_bytes` filled by a Ferry function (or zeroed).
void ferry_bytes_free(struct ferry_bytes *bytes);

// The method id of a method name: FNV-1a of its UTF-8 bytes, as in generated Rust code.
// 0 for NULL.
//
// # Safety
// `name` is NULL or a NUL-terminated string.
uint32_t ferry_method_id(const char *name);

// Creates a client for `address` ("host:port", or "unix:PATH" for a Unix socket). It connects in the background and
// reconnects as needed, so an unreachable server shows as `FERRY_STATUS_UNAVAILABLE` on
// calls, not here. `options` may be NULL (defaults). Free with `ferry_client_free`.
//
// # Safety
// `address` is a NUL-terminated string; `options` is NULL or valid (its `tls` NULL or a
// live `ferry_tls`); `out` is valid for a write; `error` is NULL or valid for a write.
enum ferry_status ferry_client_connect(const char *address,
                                       const struct ferry_client_options *options,
                                       struct ferry_client **out,
                                       struct ferry_error **error);

// Closes the client. Calls still in flight end by their deadlines first. NULL is ignored.
//
// # Safety
// `client` is NULL or from `ferry_client_connect`, freed once, with no call on it running.
void ferry_client_free(struct ferry_client *client);

// Calls `method` with `request` and waits for the reply (or an error, or the deadline).
// On `FERRY_STATUS_OK`, `*reply` holds the reply bytes: free them with `ferry_bytes_free`.
// `options` may be NULL.
//
// # Safety
// `client` is from `ferry_client_connect`; `request` points to `request_len` bytes (or
// `request_len` is 0); `options` is NULL or valid (its `metadata` pointing to
// `metadata_len` entries with NUL-terminated keys and readable values); `reply` is valid
// for a write; `error` is NULL or valid for a write.
enum ferry_status ferry_client_call(const struct ferry_client *client,
                                    uint32_t method,
                                    const uint8_t *request,
                                    size_t request_len,
                                    const struct ferry_call_options *options,
                                    struct ferry_bytes *reply,
                                    struct ferry_error **error);

// Starts a call and returns at once; many calls may be in flight on one client. Finish
// it with `ferry_call_wait` (or abandon it with `ferry_call_free`).
//
// # Safety
// As `ferry_client_call`, with `out` valid for a write instead of `reply`.
enum ferry_status ferry_client_start(const struct ferry_client *client,
                                     uint32_t method,
                                     const uint8_t *request,
                                     size_t request_len,
                                     const struct ferry_call_options *options,
                                     struct ferry_call **out,
                                     struct ferry_error **error);

// Waits for a started call to end and frees it (whatever the outcome). On
// `FERRY_STATUS_OK`, `*reply` holds the reply bytes (free with `ferry_bytes_free`).
//
// # Safety
// `call` is from `ferry_client_start` and not yet waited on or freed; `reply` is valid for
// a write; `error` is NULL or valid for a write.
enum ferry_status ferry_call_wait(struct ferry_call *call,
                                  struct ferry_bytes *reply,
                                  struct ferry_error **error);

// Cancels a started call: its wait ends with `FERRY_STATUS_CANCELLED`, and the server
// skips it if it has not started. The call must still be waited on or freed. NULL is
// ignored.
//
// # Safety
// `call` is NULL or from `ferry_client_start` and not yet waited on or freed.
void ferry_call_cancel(const struct ferry_call *call);

// Frees a started call without waiting: it goes on until its reply or deadline, and the
// result is dropped. NULL is ignored.
//
// # Safety
// `call` is NULL or from `ferry_client_start`, not yet waited on or freed.
void ferry_call_free(struct ferry_call *call);

// A new, empty service. Free with `ferry_service_free` unless passed to
// `ferry_server_start`, which takes it.
struct ferry_service *ferry_service_new(void);

// Frees a service that was not started. NULL is ignored.
//
// # Safety
// `service` is NULL or from `ferry_service_new`, not passed to `ferry_server_start`.
void ferry_service_free(struct ferry_service *service);

// Registers `handler` for `method` (replacing any earlier one). `handler` runs on worker
// threads, concurrently: it and `user_data` must be safe to use from several threads at
// once, and `user_data` must outlive the server.
//
// # Safety
// `service` is from `ferry_service_new`; `handler` is a valid function; `error` is NULL or
// valid for a write.
enum ferry_status ferry_service_add(struct ferry_service *service,
                                    uint32_t method,
                                    ferry_handler handler,
                                    void *user_data,
                                    struct ferry_error **error);

// Registers `handler` for `method` as `ferry_service_add` does, and lets it answer after
// it returns: a handler that calls `ferry_reply_defer` gets a `ferry_responder` that any
// thread answers later (its return value and `ferry_reply_set` are then not used); one
// that does not is answered as under `ferry_service_add`. For callback-style C code (an
// event loop, a completion queue) that must not hold a worker thread while it waits.
//
// # Safety
// As `ferry_service_add`.
enum ferry_status ferry_service_add_deferred(struct ferry_service *service,
                                             uint32_t method,
                                             ferry_handler handler,
                                             void *user_data,
                                             struct ferry_error **error);

// Takes the call's answer out of the handler's hands: `*out` is a `ferry_responder` that
// must be answered or freed exactly once, from any thread, after (or before) the handler
// returns. Only for methods registered with `ferry_service_add_deferred`, once per call.
//
// # Safety
// `reply` is NULL or the pointer the handler received, during the handler; `out` is
// valid for a write; `error` is NULL or valid for a write.
enum ferry_status ferry_reply_defer(struct ferry_reply *reply,
                                    struct ferry_responder **out,
                                    struct ferry_error **error);

// Answers a deferred call with `data` (copied) and frees `responder` (also when an
// argument is invalid: the call then fails, saying so). The caller's result arrives as
// if the handler had returned it.
//
// # Safety
// `responder` is from `ferry_reply_defer`, not yet answered or freed; `data` points to
// `len` readable bytes (or `len` is 0); `error` is NULL or valid for a write.
enum ferry_status ferry_responder_reply(struct ferry_responder *responder,
                                        const uint8_t *data,
                                        size_t len,
                                        struct ferry_error **error);

// Fails a deferred call with `message` (copied; the caller gets `FERRY_STATUS_REMOTE`
// with it) and frees `responder` (also when `message` is NULL: the call then fails with
// a message saying so).
//
// # Safety
// `responder` is from `ferry_reply_defer`, not yet answered or freed; `message` is a
// NUL-terminated string; `error` is NULL or valid for a write.
enum ferry_status ferry_responder_fail(struct ferry_responder *responder,
                                       const char *message,
                                       struct ferry_error **error);

// Milliseconds left before the deferred call's deadline (0 once it has passed, or for
// NULL).
//
// # Safety
// `responder` is NULL or from `ferry_reply_defer`, not yet answered or freed.
uint64_t ferry_responder_remaining_ms(const struct ferry_responder *responder);

// True once the caller cancelled the deferred call or its deadline passed (or for NULL):
// the answer will not be read, so the work behind it may stop. Free the responder then.
//
// # Safety
// `responder` is NULL or from `ferry_reply_defer`, not yet answered or freed.
bool ferry_responder_is_cancelled(const struct ferry_responder *responder);

// Frees a responder without answering: the caller is told the call failed after its
// handler ran (it may have had effects). NULL is ignored.
//
// # Safety
// `responder` is NULL or from `ferry_reply_defer`, not yet answered or freed.
void ferry_responder_free(struct ferry_responder *responder);

// Sets the reply bytes (copied). May be called more than once; the last call wins.
//
// # Safety
// `reply` is the pointer the handler received; `data` points to `len` bytes (or `len` is
// 0).
enum ferry_status ferry_reply_set(struct ferry_reply *reply,
                                  const uint8_t *data,
                                  size_t len,
                                  struct ferry_error **error);

// Fails the call with `message` (copied): the caller gets `FERRY_STATUS_REMOTE` with it,
// whatever the handler returns.
//
// # Safety
// `reply` is the pointer the handler received; `message` is a NUL-terminated string.
enum ferry_status ferry_reply_fail(struct ferry_reply *reply,
                                   const char *message,
                                   struct ferry_error **error);

// Milliseconds left before the caller's deadline (0 once it has passed): a handler should
// give up when it reaches 0.
//
// # Safety
// `reply` is NULL or the pointer the handler received.
uint64_t ferry_reply_remaining_ms(const struct ferry_reply *reply);

// True once the caller has cancelled the call (or its deadline passed): the reply will
// not be read, so the handler may stop early.
//
// # Safety
// `reply` is NULL or the pointer the handler received.
bool ferry_reply_is_cancelled(const struct ferry_reply *reply);

// Binds `address` ("host:port", port 0 picks a free one; or "unix:PATH", a Unix socket
// in plaintext) and serves `service` on the
// runtime's event loops and workers until `ferry_server_free`. Takes `service` (also on
// failure). `options` may be NULL.
//
// # Safety
// `address` is a NUL-terminated string; `service` is from `ferry_service_new`; `options`
// is NULL or valid (its `tls` NULL or a live `ferry_tls`); `out` is valid for a write;
// `error` is NULL or valid for a write.
enum ferry_status ferry_server_start(const char *address,
                                     struct ferry_service *service,
                                     const struct ferry_server_options *options,
                                     struct ferry_server **out,
                                     struct ferry_error **error);

// The port the server listens on (useful after binding port 0); 0 for NULL or a server
// on a Unix socket.
//
// # Safety
// `server` is NULL or from `ferry_server_start` and not yet freed.
uint16_t ferry_server_port(const struct ferry_server *server);

// Stops the server: no new connections, calls in progress finish within the shutdown
// grace period, then its threads exit. NULL is ignored.
//
// # Safety
// `server` is NULL or from `ferry_server_start`, freed once.
void ferry_server_free(struct ferry_server *server);

// Server TLS settings: `cert` (the chain, leaf first) and `key`, each a PEM file's path
// or PEM text itself (starting `-----BEGIN`); with `client_ca` (likewise, or NULL) clients
// must present a certificate one of its CAs signed (mutual TLS). Files given by path are
// the ones `ferry_tls_reload` re-reads. Free with `ferry_tls_free`.
//
// # Safety
// `cert` and `key` are NUL-terminated strings; `client_ca` is NULL or one; `out` is valid
// for a write; `error` is NULL or valid for a write.
enum ferry_status ferry_tls_server(const char *cert,
                                   const char *key,
                                   const char *client_ca,
                                   struct ferry_tls **out,
                                   struct ferry_error **error);

// Client TLS settings: trust the CAs of `ca` for a server whose certificate names
// `server_name`; with `cert` and `key` (or NULL for both) present a client certificate
// (mutual TLS). Each PEM argument is a file's path or PEM text. Free with `ferry_tls_free`.
//
// # Safety
// `ca` and `server_name` are NUL-terminated strings; `cert` and `key` are NULL or
// NUL-terminated strings; `out` is valid for a write; `error` is NULL or valid for a write.
enum ferry_status ferry_tls_client(const char *ca,
                                   const char *server_name,
                                   const char *cert,
                                   const char *key,
                                   struct ferry_tls **out,
                                   struct ferry_error **error);

// Re-reads a server's certificate and key from their files; new handshakes use them,
// connections up keep theirs. On failure the old certificate stays and the error says why.
//
// # Safety
// `tls` is from `ferry_tls_server` and not yet freed; `error` is NULL or valid for a write.
enum ferry_status ferry_tls_reload(const struct ferry_tls *tls, struct ferry_error **error);

// Frees TLS settings. Servers and clients made with them keep their own copy. NULL is
// ignored.
//
// # Safety
// `tls` is NULL or from `ferry_tls_server` / `ferry_tls_client`, freed once.
void ferry_tls_free(struct ferry_tls *tls);

// The subject of the caller's verified client certificate as RFC 4514 text
// ("CN=billing,O=Example"; specials in values escaped, so "CN=a\\, CN=b" is one CN), or
// NULL when the call did not come over mutual TLS. Valid until the handler returns.
//
// # Safety
// `reply` is NULL or the pointer the handler received.
const char *ferry_reply_peer_subject(const struct ferry_reply *reply);

// The caller's certificate's alternative names, comma-separated ("DNS:a.example,URI:
// spiffe://example.org/billing"), or NULL without mutual TLS. Valid until the handler
// returns.
//
// # Safety
// `reply` is NULL or the pointer the handler received.
const char *ferry_reply_peer_alt_names(const struct ferry_reply *reply);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* FERRY_H */

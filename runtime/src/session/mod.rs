//! Sans-I/O protocol state machines: what a connection decides, with no socket or thread
//! inside (the shape of rustls and quinn-proto). `server` is one server connection, `client`
//! a client's connection and its calls; the drivers in `server.rs` and `client.rs` move
//! bytes, run handlers and keep time.
pub(crate) mod client;
pub(crate) mod server;

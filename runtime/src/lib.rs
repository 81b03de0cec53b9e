//! `ferry-runtime`: the mio event-loop server and client (issue 4).
//!
//! Not written yet: this crate only reserves its place in the workspace so that the
//! layering (`wire` ← `runtime`) is fixed from the start. See ARCHITECTURE.md.
#![forbid(unsafe_code)]

//! Graceful shutdown on SIGINT and SIGTERM.

use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// SIGINT and SIGTERM, caught from the moment of `install` (a signal that comes before
/// [`Server::run_until`] waits is kept for it). A second signal after the first, during
/// the grace period or later, ends the process at once with the signal's default action,
/// as an impatient operator expects of a second Ctrl-C.
#[derive(Debug)]
pub struct ShutdownSignals {
    pub(super) signals: signal_hook::iterator::Signals,
    pub(super) again: Arc<AtomicBool>,
}

impl ShutdownSignals {
    /// Installs the handlers (a self-pipe: nothing runs in the handler but a write).
    pub fn install() -> io::Result<ShutdownSignals> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let again = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            signal_hook::flag::register_conditional_default(sig, Arc::clone(&again))?;
        }
        let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        Ok(ShutdownSignals { signals, again })
    }
}

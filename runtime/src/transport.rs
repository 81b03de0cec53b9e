//! The byte stream under a session: a socket (TCP or Unix), or TLS over TCP. rustls is sans-I/O as
//! our sessions are, so this is the one place the two compose: reads hand the session
//! plaintext, writes take its plaintext, and whatever TLS needs to send (handshake,
//! alerts, records) is written as the socket takes it.

use std::io::{self, Read, Write};

use crate::socket::Socket;
use crate::tls::{PeerIdentity, ALPN};

/// A connection's byte stream.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(Socket),
    Tls(Box<TlsStream>),
}

#[derive(Debug)]
pub(crate) struct TlsStream {
    socket: Socket,
    tls: rustls::Connection,
    /// The handshake finished and the ALPN id was checked.
    checked: bool,
    /// The peer's first byte was seen to start a TLS record.
    first_seen: bool,
}

impl Stream {
    pub(crate) fn tls(socket: Socket, tls: impl Into<rustls::Connection>) -> Stream {
        Stream::Tls(Box::new(TlsStream {
            socket,
            tls: tls.into(),
            checked: false,
            first_seen: false,
        }))
    }

    /// The socket, for registering with a poll.
    pub(crate) fn socket(&mut self) -> &mut Socket {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &mut t.socket,
        }
    }

    /// Plaintext from the peer: `Ok(0)` at the end of the stream, `WouldBlock` when the
    /// socket has nothing more for now.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }

    /// Takes plaintext to send; `WouldBlock` when neither the socket nor TLS's bounded
    /// buffer takes any.
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    /// TLS bytes wait for room in the socket (the poll must watch for writability).
    pub(crate) fn wants_write(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(t) => t.tls.wants_write(),
        }
    }

    /// Writes what TLS has queued, as far as the socket takes it.
    pub(crate) fn flush_tls(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(_) => Ok(()),
            Stream::Tls(t) => t.flush_tls(),
        }
    }

    /// The peer's verified certificate, once the handshake is done (mutual TLS).
    pub(crate) fn peer_identity(&self) -> Option<PeerIdentity> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(t) => t.tls.peer_certificates().and_then(PeerIdentity::from_chain),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }
}

impl TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n), // 0: the peer closed with close_notify
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if !self.first_seen {
                self.check_first_byte()?;
            }
            match self.tls.read_tls(&mut self.socket) {
                Ok(0) if self.tls.is_handshaking() => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "TLS: the peer ended the connection during the handshake: it does not speak TLS (a plaintext Ferry server closes on a ClientHello), or it refused ours",
                    ))
                }
                Ok(0) => return Ok(0),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(e),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.send_alert();
                    return Err(e);
                }
            }
            if let Err(e) = self.tls.process_new_packets() {
                let handshaking = self.tls.is_handshaking();
                self.send_alert();
                return Err(tls_error(e, handshaking));
            }
            self.check_alpn()?;
            // The handshake may have produced bytes to send (our half of it, a ticket).
            self.flush_tls()?;
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.tls.writer().write(buf)?;
        self.flush_tls()?;
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// A peer that is not speaking TLS at all (a plaintext Ferry peer) is told so at its
    /// first byte, rather than when rustls has waited for the rest of a "record" whose
    /// length is really part of a Ferry frame.
    fn check_first_byte(&mut self) -> io::Result<()> {
        let mut first = [0u8; 1];
        match self.socket.peek(&mut first) {
            Ok(0) => return Ok(()), // the end of the stream: `read_tls` reports it
            Ok(_) => {}
            Err(e) => return Err(e),
        }
        self.first_seen = true;
        // Handshake records open a connection; an alert may come first from a refusing peer.
        if matches!(first[0], 0x15 | 0x16) {
            return Ok(());
        }
        self.send_alert();
        // Take in what the peer sent, so closing ends the stream (FIN) rather than resetting
        // it, which can discard the alert before the peer reads it.
        let _ = self.socket.read(&mut [0u8; 4096]);
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "TLS: the peer does not speak TLS (its first byte is {:#04x}; a plaintext Ferry peer? configure TLS on both sides)",
                first[0]
            ),
        ))
    }

    /// Tells the peer why the connection ends, before it closes: rustls's alert if it made
    /// one, else (bytes that were not TLS at all, a plaintext Ferry client's Hello, say) a
    /// fatal `decode_error` alert, which such a client recognises as "this server speaks
    /// TLS" rather than an unexplained close.
    fn send_alert(&mut self) {
        if self.tls.wants_write() {
            let _ = self.flush_tls();
        } else if self.tls.is_handshaking() {
            const DECODE_ERROR: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32];
            let _ = self.socket.write(&DECODE_ERROR);
        }
    }

    fn flush_tls(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Both sides offer only `ferry/1`; a peer that negotiated nothing (no ALPN at all)
    /// is not a Ferry peer.
    fn check_alpn(&mut self) -> io::Result<()> {
        if self.checked || self.tls.is_handshaking() {
            return Ok(());
        }
        self.checked = true;
        match self.tls.alpn_protocol() {
            Some(p) if p == ALPN => Ok(()),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the TLS peer did not agree on ALPN `ferry/1` (got {}): not a Ferry peer",
                    other.map_or("none".into(), |p| format!("{:?}", String::from_utf8_lossy(p)))
                ),
            )),
        }
    }
}

fn tls_error(e: rustls::Error, handshaking: bool) -> io::Error {
    let hint = match &e {
        rustls::Error::InvalidMessage(_) if handshaking => {
            "; the peer does not speak TLS (a plaintext Ferry peer? configure TLS on both sides)"
        }
        _ => "",
    };
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}{hint}"))
}

/// The first bytes a plaintext client got look like a TLS record (an alert or a
/// handshake): the server expects TLS.
pub(crate) fn looks_like_tls(first: &[u8]) -> bool {
    matches!(first, [0x15 | 0x16, 0x03, ..])
}

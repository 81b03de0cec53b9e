//! The sockets under a connection: TCP, or a Unix domain socket (the sidecar case: a proxy
//! or agent on the same host, reached through a path the file system's permissions guard).
//! Everything above this module (TLS, sessions, loops) sees one [`Socket`] either way.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

/// A connected stream socket.
#[derive(Debug)]
pub(crate) enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Where a server listens or a client connects ([`crate::Server::local_addrs`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// A TCP address (plaintext or TLS).
    Tcp(SocketAddr),
    /// The path of a Unix domain socket.
    Unix(PathBuf),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(a) => write!(f, "{a}"),
            Address::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

impl Address {
    /// The TCP address, if this is one.
    pub fn tcp(&self) -> Option<SocketAddr> {
        match self {
            Address::Tcp(a) => Some(*a),
            Address::Unix(_) => None,
        }
    }
}

/// Who is at the other end of an accepted connection, for logs: its TCP address, or the
/// path of the Unix socket it came in by (a Unix peer's own address is nearly always
/// unnamed).
#[derive(Clone, Debug)]
pub(crate) enum PeerAddr {
    Tcp(SocketAddr),
    Unix(Arc<Path>),
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddr::Tcp(a) => write!(f, "{a}"),
            PeerAddr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

impl Socket {
    /// Starts connecting without blocking; the poll reports writability when it is done.
    pub(crate) fn connect(to: &Address) -> io::Result<Socket> {
        match to {
            Address::Tcp(a) => TcpStream::connect(*a).map(Socket::Tcp),
            Address::Unix(p) => UnixStream::connect(p).map(Socket::Unix),
        }
    }

    /// Whether a connect has finished: `Ok(false)` while it is in progress.
    pub(crate) fn connected(&self) -> io::Result<bool> {
        let error = match self {
            Socket::Tcp(s) => s.take_error(),
            Socket::Unix(s) => s.take_error(),
        };
        if let Some(e) = error? {
            return Err(e);
        }
        Ok(match self {
            Socket::Tcp(s) => s.peer_addr().is_ok(),
            Socket::Unix(s) => s.peer_addr().is_ok(),
        })
    }

    /// Small frames must not wait for Nagle: latency is the product. (Unix sockets have
    /// no Nagle.)
    pub(crate) fn set_nodelay(&self) {
        if let Socket::Tcp(s) = self {
            let _ = s.set_nodelay(true);
        }
    }

    /// Reads without taking: what the peer's first byte is, before deciding how to read.
    /// Only TLS peeks, and TLS runs over TCP alone (a Unix socket's file permissions are
    /// its boundary; `Client::connect_unix` refuses a TLS config).
    pub(crate) fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.peek(buf),
            Socket::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "TLS over a Unix socket is not supported",
            )),
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            Socket::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            Socket::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write_vectored(bufs),
            Socket::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Socket::Tcp(s) => s.as_fd(),
            Socket::Unix(s) => s.as_fd(),
        }
    }
}

impl Source for Socket {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.register(r, t, i),
            Socket::Unix(s) => s.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.reregister(r, t, i),
            Socket::Unix(s) => s.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.deregister(r),
            Socket::Unix(s) => s.deregister(r),
        }
    }
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, UnixPath),
}

impl Listener {
    /// Listens on `at` with a backlog of `backlog` connections (mio and std use 128, which
    /// 1 000 clients connecting at once overflow: their SYNs are dropped and retried after
    /// a second). A Unix socket's path must not exist, or be a socket nobody listens on
    /// (left by a server that ended without removing it), which is replaced.
    pub(crate) fn bind(at: &Address, backlog: u32) -> io::Result<Listener> {
        use socket2::{Domain, SockAddr, Socket as RawSocket, Type};
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        match at {
            Address::Tcp(addr) => {
                let socket = RawSocket::new(Domain::for_address(*addr), Type::STREAM, None)?;
                socket.set_reuse_address(true)?;
                socket.set_nonblocking(true)?;
                socket.bind(&(*addr).into())?;
                socket.listen(backlog)?;
                Ok(Listener::Tcp(TcpListener::from_std(socket.into())))
            }
            Address::Unix(path) => {
                remove_stale_socket(path)?;
                let socket = RawSocket::new(Domain::UNIX, Type::STREAM, None)?;
                socket.set_nonblocking(true)?;
                socket.bind(&SockAddr::unix(path)?)?;
                socket.listen(backlog)?;
                let meta = std::fs::metadata(path)?;
                let path =
                    UnixPath { path: path.as_path().into(), inode: (meta.dev(), meta.ino()) };
                let listener =
                    std::os::unix::net::UnixListener::from(std::os::fd::OwnedFd::from(socket));
                Ok(Listener::Unix(UnixListener::from_std(listener), path))
            }
        }
    }

    /// What it is bound to (the port chosen for port 0).
    pub(crate) fn local_addr(&self) -> io::Result<Address> {
        match self {
            Listener::Tcp(l) => l.local_addr().map(Address::Tcp),
            Listener::Unix(_, p) => Ok(Address::Unix(p.path.to_path_buf())),
        }
    }

    pub(crate) fn accept(&self) -> io::Result<(Socket, PeerAddr)> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, a)| (Socket::Tcp(s), PeerAddr::Tcp(a))),
            Listener::Unix(l, p) => {
                l.accept().map(|(s, _)| (Socket::Unix(s), PeerAddr::Unix(Arc::clone(&p.path))))
            }
        }
    }

    /// Whether connections from other hosts can reach it.
    pub(crate) fn is_local(&self) -> bool {
        match self {
            Listener::Tcp(l) => l.local_addr().is_ok_and(|a| a.ip().is_loopback()),
            Listener::Unix(..) => true,
        }
    }
}

impl Source for Listener {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.register(r, t, i),
            Listener::Unix(l, _) => l.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.reregister(r, t, i),
            Listener::Unix(l, _) => l.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.deregister(r),
            Listener::Unix(l, _) => l.deregister(r),
        }
    }
}

/// A Unix listener's path, removed when the listener is dropped if it is still the socket
/// this listener made (not one a newer server put there since).
#[derive(Debug)]
pub(crate) struct UnixPath {
    path: Arc<Path>,
    inode: (u64, u64),
}

impl Drop for UnixPath {
    fn drop(&mut self) {
        if let Ok(meta) = std::fs::symlink_metadata(&self.path) {
            if (meta.dev(), meta.ino()) == self.inode {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// A socket file at `path` that nothing listens on is what a crashed server leaves; it is
/// removed so the path can be bound again. Anything else there is an error naming it.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket; choose another path or remove that file",
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another server is listening on this socket",
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => std::fs::remove_file(path),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_socket_is_replaced_and_a_live_one_or_a_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("ferry-sock-{}", crate::random_u128()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let at = Address::Unix(path.clone());
        // A socket file nobody listens on (its listener leaked without the cleanup).
        let stale = std::os::unix::net::UnixListener::bind(&path).unwrap();
        drop(stale);
        let live = Listener::bind(&at, 16).expect("a stale socket is replaced");
        let e = Listener::bind(&at, 16).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
        drop(live);
        assert!(!path.exists(), "the listener removes its socket file");
        std::fs::write(&path, b"not a socket").unwrap();
        let e = Listener::bind(&at, 16).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

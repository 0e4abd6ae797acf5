//! Every open stream connection, over all inputs, for the limits that
//! concern them together: connections per peer, the memory held in
//! unfinished frames, and room for a new producer when all slots are
//! taken.
//!
//! A connection is admitted with a [`Ticket`] and tells it how many bytes
//! of an unfinished frame or line it holds after each read. Past the frame
//! budget, the connections holding the largest unfinished frames are told
//! to close until the rest fits: the memory a crowd of half-sent frames can
//! take stays bounded whatever the number of connections. A connection
//! that holds a slot under `max-connections` but has not completed a
//! single frame yet may be told to close to make room for a new one:
//! idle sockets cannot keep a producer out. A connection still queued for
//! a slot is never chosen: closing it frees no slot, so the connection
//! that asked for room would wait for nothing.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// Who is at the other end of a connection, as far as the kernel tells:
/// the unit the per-peer cap counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum PeerKey {
    /// A TCP peer on another host (loopback peers are not counted: every
    /// local process shares one address).
    Ip(IpAddr),
    /// A Unix socket peer's process (`SO_PEERCRED`).
    Pid(i32),
}

impl PeerKey {
    /// The key of a TCP peer: `None` on loopback, where the address does
    /// not tell processes apart.
    pub(crate) fn tcp(ip: IpAddr) -> Option<PeerKey> {
        let ip = ip.to_canonical();
        (!ip.is_loopback()).then_some(PeerKey::Ip(ip))
    }
}

/// Why a connection was told to close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Eviction {
    /// Its unfinished frame was among the largest when the bytes held in
    /// unfinished frames passed the budget.
    FrameBudget { held: usize, budget: usize },
    /// It had completed no frame when a new connection needed its slot.
    Room,
}

/// A connection refused because its peer has too many open.
#[derive(Debug)]
pub(crate) struct PeerFull {
    /// The cap it reached.
    pub(crate) cap: usize,
}

/// The shared registry of open connections.
pub(crate) struct Connections {
    /// Most connections per [`PeerKey`]; 0: no cap.
    per_peer: usize,
    /// Most bytes held in unfinished frames over all connections.
    budget: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// Bytes held by the connections in `open`.
    held: usize,
    /// Connections not told to close, oldest first.
    open: BTreeMap<u64, Entry>,
    /// Connections per peer, told to close or not, until they end.
    per_peer: HashMap<PeerKey, usize>,
}

struct Entry {
    held: usize,
    /// Completed a frame or line.
    proven: bool,
    /// Holds a slot under `max-connections` (not still queued for one).
    seated: bool,
    signal: Arc<Signal>,
}

/// How a connection is told to close.
#[derive(Default)]
struct Signal {
    why: Mutex<Option<Eviction>>,
    notify: Notify,
}

impl Signal {
    fn send(&self, why: Eviction) {
        *lock(&self.why) = Some(why);
        // notify_one keeps the wake-up for a connection not waiting yet.
        self.notify.notify_one();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Connections {
    /// The bytes unfinished frames may hold over all connections.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// A registry with at most `per_peer` connections per peer (0: any
    /// number) and `budget` bytes in unfinished frames over all of them.
    pub(crate) fn new(per_peer: usize, budget: usize) -> Connections {
        Connections {
            per_peer,
            budget,
            state: Mutex::new(State::default()),
        }
    }

    /// Admits a connection from `key`, unless that peer is at its cap.
    pub(crate) fn admit(self: &Arc<Self>, key: Option<PeerKey>) -> Result<Ticket, PeerFull> {
        let mut s = lock(&self.state);
        if let Some(k) = key {
            let n = s.per_peer.entry(k).or_default();
            if self.per_peer > 0 && *n >= self.per_peer {
                return Err(PeerFull { cap: self.per_peer });
            }
            *n += 1;
        }
        let id = s.next_id;
        s.next_id += 1;
        let signal = Arc::new(Signal::default());
        s.open.insert(
            id,
            Entry {
                held: 0,
                proven: false,
                seated: false,
                signal: signal.clone(),
            },
        );
        Ok(Ticket {
            connections: self.clone(),
            id,
            key,
            signal,
        })
    }
}

/// One admitted connection's place in the registry; leaving it (drop)
/// frees the place.
pub(crate) struct Ticket {
    connections: Arc<Connections>,
    id: u64,
    key: Option<PeerKey>,
    signal: Arc<Signal>,
}

impl Ticket {
    /// The connection now holds `bytes` of an unfinished frame or line.
    /// Past the budget, the connections holding the most (this one too,
    /// possibly) are told to close until the rest fits.
    pub(crate) fn hold(&self, bytes: usize) {
        let c = &self.connections;
        let mut s = lock(&c.state);
        let State { held, open, .. } = &mut *s;
        let Some(entry) = open.get_mut(&self.id) else {
            return; // told to close already
        };
        if entry.held == bytes {
            return;
        }
        *held = *held - entry.held + bytes;
        entry.held = bytes;
        while *held > c.budget {
            let Some((&id, _)) = open.iter().max_by_key(|(_, e)| e.held) else {
                break;
            };
            if let Some(e) = open.remove(&id) {
                *held -= e.held;
                e.signal.send(Eviction::FrameBudget {
                    held: e.held,
                    budget: c.budget,
                });
            }
        }
    }

    /// Tells the oldest other connection that holds a slot and has
    /// completed no frame to close, so this one can have its slot; false
    /// if there is none.
    pub(crate) fn make_room(&self) -> bool {
        let mut s = lock(&self.connections.state);
        let Some(id) = s
            .open
            .iter()
            .find(|(id, e)| e.seated && !e.proven && **id != self.id)
            .map(|(id, _)| *id)
        else {
            return false;
        };
        if let Some(e) = s.open.remove(&id) {
            s.held -= e.held;
            e.signal.send(Eviction::Room);
        }
        true
    }

    /// The connection now holds a slot under `max-connections`: from now
    /// on [`Ticket::make_room`] may take that slot for a newcomer if it
    /// completes no frame.
    pub(crate) fn seated(&self) {
        if let Some(e) = lock(&self.connections.state).open.get_mut(&self.id) {
            e.seated = true;
        }
    }

    /// The connection completed a frame or line: a producer, not a
    /// squatter; [`Ticket::make_room`] leaves it alone.
    pub(crate) fn proven(&self) {
        if let Some(e) = lock(&self.connections.state).open.get_mut(&self.id) {
            e.proven = true;
        }
    }

    /// Why the connection was told to close, if it was.
    pub(crate) fn eviction(&self) -> Option<Eviction> {
        *lock(&self.signal.why)
    }

    /// Resolves when the connection is told to close.
    pub(crate) async fn evicted(&self) -> Eviction {
        loop {
            if let Some(why) = self.eviction() {
                return why;
            }
            self.signal.notify.notified().await;
        }
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("id", &self.id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut s = lock(&self.connections.state);
        if let Some(e) = s.open.remove(&self.id) {
            s.held -= e.held;
        }
        if let Some(k) = self.key
            && let Some(n) = s.per_peer.get_mut(&k)
        {
            *n -= 1;
            if *n == 0 {
                s.per_peer.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests;

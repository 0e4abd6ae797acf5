//! What can happen to the admin endpoint (`--admin`): clients cut off or
//! failing, and reloads asked for through it. Stderr only: none of it is
//! about a record.

use super::{Event, Source};
use std::fmt::{self, Display};
use tributary_core::Level;

type F<'a, 'b> = &'a mut fmt::Formatter<'b>;

/// The admin endpoint.
pub(crate) struct Admin;

impl Source for Admin {
    const IN_BAND: bool = false;
}

/// A client connection to the admin endpoint ended in an error (a head
/// too slow or malformed, a failed TLS handshake); ingestion is unaffected.
pub(crate) struct ClientFailed<'a>(pub(crate) &'a dyn Display);

impl Event for ClientFailed<'_> {
    type Context = Admin;
    const LEVEL: Level = Level::INFO;
    fn describe(&self, _: &Admin, f: F<'_, '_>) -> fmt::Result {
        write!(f, "admin: connection from {} ended", self.0)
    }
}

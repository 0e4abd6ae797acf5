//! Why a stream connection ended, and the one event each reason emits.

use crate::diag::input as event;
use crate::input::InputCtx;
use crate::input::connections::Eviction;
use tributary_core::frame::FrameError;

/// Why a connection ended.
pub(super) enum End {
    /// The peer closed it.
    Eof,
    /// Shutdown: what the peer had sent was read.
    Drained,
    /// Nothing arrived for the idle timeout.
    Idle,
    /// No frame or line completed within the first-frame timeout.
    NoFirstFrame,
    /// The stream cannot be resynchronised.
    Frame(FrameError),
    Io(std::io::Error),
    WriterGone,
    /// The hello was refused (and the producer told why).
    Refused(String),
    /// The same producer connected again; this older connection stops.
    Superseded,
    /// A frame or line was started and nothing completed for the frame
    /// timeout (slow-loris).
    SlowFrame,
    /// Closed to keep the others served: its unfinished frame was among
    /// the largest when the frame budget ran out, or it had completed no
    /// frame when a new connection needed its slot.
    Evicted(Eviction),
}

impl End {
    /// Counts and reports the end of the connection from `peer`, which
    /// left `pending` bytes of an unfinished frame or line unread, and
    /// sent `reports` malformed payloads.
    pub(super) fn report(self, input: &InputCtx, peer: &str, pending: usize, reports: u32) {
        match self {
            End::Drained if pending > 0 => {
                input.emit(event::UnfinishedAtShutdown { peer, pending });
            }
            End::Eof | End::Drained | End::WriterGone => {}
            End::Idle => input.emit(event::IdleClosed(peer)),
            End::NoFirstFrame => input.emit(event::NoFirstFrame(peer)),
            End::Frame(error) => input.emit(event::FramingFailed {
                peer,
                error: &error,
            }),
            End::Io(error) => input.emit(event::ConnectionFailed {
                peer,
                error: &error,
            }),
            End::Refused(reason) => input.emit(event::HelloRefused {
                peer,
                reason: &reason,
            }),
            End::SlowFrame => input.emit(event::SlowFrame { peer, pending }),
            End::Superseded => input.emit(event::Superseded(peer)),
            End::Evicted(why) => input.emit(event::Evicted { peer, why }),
        }
        input.emit(event::MalformedTotal { peer, reports });
    }
}

//! Why a stream connection ended, and the one report each reason gets.

use crate::input::connections::Eviction;
use crate::input::{InputCtx, MALFORMED_REPORTS_PER_PEER};
use std::sync::atomic::Ordering::Relaxed;
use tributary_core::Level;
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
    /// described `reports` malformed payloads.
    pub(super) fn report(self, input: &InputCtx, peer: &str, pending: usize, reports: u32) {
        let label = &input.label;
        let diag = &input.diag;
        match self {
            End::Drained if pending > 0 => {
                input.counters.malformed.fetch_add(1, Relaxed);
                diag.report(
                    Level::WARNING,
                    format_args!(
                        "{label}: closing connection from {peer} at shutdown with {pending} bytes of an unfinished frame or line (not written)"
                    ),
                );
            }
            End::Eof | End::Drained | End::WriterGone => {}
            End::Idle => diag.report(
                Level::INFO,
                format_args!("{label}: closing idle connection from {peer} (idle-timeout)"),
            ),
            End::NoFirstFrame => diag.report(
                Level::INFO,
                format_args!(
                    "{label}: closing connection from {peer}: no frame or line completed since it opened (first-frame-timeout)"
                ),
            ),
            End::Frame(e) => {
                input.counters.malformed.fetch_add(1, Relaxed);
                diag.report(
                    Level::ERROR,
                    format_args!("{label}: closing connection from {peer}: {e}"),
                );
            }
            End::Io(e) => diag.report(
                Level::WARNING,
                format_args!("{label}: connection from {peer} failed: {e}"),
            ),
            End::Refused(reason) => {
                input.counters.malformed.fetch_add(1, Relaxed);
                diag.report(
                    Level::ERROR,
                    format_args!("{label}: refused the hello from {peer}: {reason}"),
                );
            }
            End::SlowFrame => {
                input.counters.malformed.fetch_add(1, Relaxed);
                diag.report(
                    Level::WARNING,
                    format_args!(
                        "{label}: closing connection from {peer}: {pending} bytes of an unfinished frame or line and nothing complete for the frame timeout (a stalled or slow-loris client; raise --frame-timeout if legitimate)"
                    ),
                );
            }
            End::Superseded => diag.report(
                Level::INFO,
                format_args!(
                    "{label}: closing an older connection from {peer}: the producer connected again"
                ),
            ),
            End::Evicted(why) => {
                input.counters.evicted.fetch_add(1, Relaxed);
                diag.report(
                    Level::WARNING,
                    format_args!("{label}: closing connection from {peer}: {why}"),
                );
            }
        }
        if reports > MALFORMED_REPORTS_PER_PEER {
            diag.report(
                Level::WARNING,
                format_args!(
                    "{label}: {reports} malformed payloads from {peer} in all (only the first {MALFORMED_REPORTS_PER_PEER} were described)"
                ),
            );
        }
    }
}

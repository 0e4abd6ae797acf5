//! Why a pickle was refused.

use super::opcodes::name;

/// A pickle that cannot be decoded safely.
///
/// Every variant names the byte offset of the opcode at fault, so a bad
/// payload can be located with `python3 -m pickletools`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleError {
    /// The pickle would import or call Python code (GLOBAL, REDUCE, BUILD,
    /// INST, OBJ, NEWOBJ, EXT, PERSID, ...). Nothing was executed.
    #[error(
        "refused opcode {} at byte {offset}{}: it would run Python code; send only str, int, float, bool, None, list and dict values in `extra`, or enable lenient pickle decoding to keep such values as opaque strings",
        name(*opcode),
        target.as_deref().map(|t| format!(" ({t})")).unwrap_or_default()
    )]
    Forbidden {
        /// The opcode byte.
        opcode: u8,
        /// Offset of the opcode in the payload.
        offset: usize,
        /// The Python object it names, when the opcode names one (`datetime.datetime`).
        target: Option<String>,
    },
    /// A byte that is not a pickle opcode (or one this decoder cannot honour
    /// without help from the sender, such as out-of-band buffers).
    #[error(
        "unknown or unsupported pickle opcode {opcode:#04x} at byte {offset}: the payload is not a pickle this listener can read"
    )]
    UnknownOpcode {
        /// The opcode byte.
        opcode: u8,
        /// Offset of the opcode in the payload.
        offset: usize,
    },
    /// The payload ended inside an opcode's argument.
    #[error("pickle truncated: opcode {} at byte {offset} needs more bytes than the payload holds", name(*opcode))]
    Truncated {
        /// The opcode byte.
        opcode: u8,
        /// Offset of the opcode in the payload.
        offset: usize,
    },
    /// The payload ended without a STOP opcode.
    #[error("pickle ends without a STOP opcode after {len} bytes: truncated payload?")]
    MissingStop {
        /// Length of the payload.
        len: usize,
    },
    /// Bytes follow the STOP opcode.
    #[error("{count} unexpected bytes after the pickle's STOP opcode at byte {offset}")]
    TrailingBytes {
        /// Offset of the STOP opcode.
        offset: usize,
        /// How many bytes follow it.
        count: usize,
    },
    /// An opcode needed more values than the stack (above the last MARK) holds.
    #[error("pickle stack underflow: opcode {} at byte {offset} has too few values to work on", name(*opcode))]
    StackUnderflow {
        /// The opcode byte.
        opcode: u8,
        /// Offset of the opcode in the payload.
        offset: usize,
    },
    /// An opcode that collects values up to a MARK found none.
    #[error("pickle opcode {} at byte {offset} found no MARK to collect values from", name(*opcode))]
    MarkNotFound {
        /// The opcode byte.
        opcode: u8,
        /// Offset of the opcode in the payload.
        offset: usize,
    },
    /// A GET named a memo slot that no PUT filled.
    #[error("pickle memo has no entry {id} (GET at byte {offset})")]
    MemoMiss {
        /// The memo id asked for.
        id: u64,
        /// Offset of the GET opcode.
        offset: usize,
    },
    /// An opcode's argument or operands are malformed (bad number text,
    /// unquoted string, APPEND onto a dict, ...).
    #[error("malformed pickle at byte {offset}: {what}")]
    Invalid {
        /// Offset of the opcode.
        offset: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// An integer with more decimal digits than Python itself converts
    /// (`sys.get_int_max_str_digits()`, 4300).
    #[error("pickled integer at byte {offset} has more than {limit} decimal digits")]
    IntegerTooLarge {
        /// Offset of the opcode.
        offset: usize,
        /// The digit limit.
        limit: usize,
    },
    /// Containers nest deeper than the configured limit.
    #[error("pickled values nest deeper than {limit} levels")]
    TooDeep {
        /// The configured depth limit.
        limit: usize,
    },
    /// Shared references expand into more output than the configured budget
    /// (a "billion laughs" pickle), or a dict holds too many keys.
    #[error(
        "pickled value expands beyond the decoding budget of {limit} bytes (shared references or huge containers)"
    )]
    TooLarge {
        /// The budget in bytes.
        limit: usize,
    },
    /// The pickle is valid but is not a dict, so it is not a LogRecord.
    #[error("pickle holds a {found}, not a LogRecord dict")]
    NotADict {
        /// The Python type found.
        found: &'static str,
    },
}

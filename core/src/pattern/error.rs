//! Why a template or a date format was refused.

/// A template or date format that cannot be used; raised when the formatter
/// is built, so that formatting itself never fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    /// The template names an attribute that is neither one of Python's
    /// `LogRecord` attributes (or Tributary's own) nor a declared extra field.
    #[error(
        "unknown attribute `{name}` in template; standard attributes are: {}; \
         declare extra fields with `PatternFormatter::builder(template).allow_fields([\"{name}\"])`, \
         look every other name up in the record's fields with `.allow_any_field()`, \
         or give them a value for records that lack them with `.defaults(..)`",
        crate::pattern::attrs::STANDARD_NAMES.join(", ")
    )]
    UnknownAttribute {
        /// The name as written in the template.
        name: String,
    },
    /// The template is malformed where it starts at byte `at`.
    #[error("invalid template at byte {at}: {reason}")]
    Syntax {
        /// Byte offset of the offending placeholder in the template.
        at: usize,
        /// What is wrong and how to write it instead.
        reason: String,
    },
    /// A conversion that Python would refuse for this attribute's type on
    /// every record, such as `%(levelname)d` or `{msecs:03d}`.
    #[error("`{placeholder}` cannot format `{name}`: {reason}")]
    Conversion {
        /// The placeholder as written in the template.
        placeholder: String,
        /// The attribute it names.
        name: String,
        /// Why, and what to write instead.
        reason: String,
    },
    /// The `datefmt` holds a directive that `time.strftime` on Linux does
    /// not know (glibc would print it unchanged).
    #[error("invalid datefmt `{datefmt}` at byte {at}: {reason}")]
    Datefmt {
        /// The date format as given.
        datefmt: String,
        /// Byte offset of the offending directive.
        at: usize,
        /// What is wrong and how to write it instead.
        reason: String,
    },
}

//! When to rotate: by size, by time, or by whichever comes first.

pub(crate) mod size;
pub(crate) mod time;

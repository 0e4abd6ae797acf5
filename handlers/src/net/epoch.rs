//! Epochs of acknowledged delivery (docs/protocol.md): a random name for
//! one numbering of a producer's records, so the listener never takes a
//! restarted producer's new numbers for its predecessor's, and a client
//! that does not know the epoch cannot make the producer's records be
//! skipped.

use std::hash::{BuildHasher, Hasher};
use std::io::Read;

/// A new epoch: 32 hex digits (128 random bits).
pub(crate) fn new_epoch() -> String {
    let mut bytes = [0u8; 16];
    let from_kernel =
        std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if from_kernel.is_err() {
        // No /dev/urandom (a chroot, a sandbox): std's per-process random
        // hasher keys, the time and an address, mixed. Not cryptographic,
        // but unique per process and start.
        let here = &raw const bytes as usize;
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            h.write_u32(std::process::id());
            h.write_usize(here);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_core::frame::handshake::Hello;

    #[test]
    fn epochs_are_valid_and_differ() {
        let a = new_epoch();
        let b = new_epoch();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        let hello =
            format!(r#"{{"tributary":"hello","version":1,"producer":"p","epoch":"{a}","next":0}}"#);
        let parsed = Hello::parse(hello.as_bytes()).unwrap().unwrap();
        assert_eq!(parsed.epoch, a, "the listener accepts it");
    }
}

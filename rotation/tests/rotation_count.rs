//! `RotatingFile::rotations` counts the rotations that happened, for stats
//! lines and monitoring.
#![allow(clippy::unwrap_used)]

use tributary_rotation::RotatingFile;

#[test]
fn counts_size_rotations_and_rotate_now_but_not_skipped_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut f = RotatingFile::builder(&path).max_bytes(10).open().unwrap();
    assert_eq!(f.rotations(), 0);
    for _ in 0..4 {
        f.write_record(b"0123456789\n").unwrap(); // 11 bytes: one per file
    }
    // The first record goes into the empty file; each later one rotates.
    assert_eq!(f.rotations(), 3);
    f.rotate_now().unwrap();
    assert_eq!(f.rotations(), 4);
    // The active file is empty now: nothing to rotate, nothing counted.
    f.rotate_now().unwrap();
    assert_eq!(f.rotations(), 4);
    f.reopen().unwrap();
    assert_eq!(f.rotations(), 4);
    let archives = std::fs::read_dir(dir.path()).unwrap().count() - 1;
    assert_eq!(archives, 4);
}

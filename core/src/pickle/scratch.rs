//! The pickle machine's working vectors, kept per thread between decodes.
//!
//! A decode needs a stack, a memo and an arena of containers, plus the
//! vector the first MARK collects a LogRecord's keys and values into:
//! four or five allocations per record, about a tenth of a warm decode's
//! instructions (callgrind, `examples/hot_paths.rs pickle_pattern`). A
//! listener decodes record after record on the same few threads, so each
//! thread keeps these vectors, emptied, for its next decode. Vectors that
//! grew past [`KEEP_ITEMS`] are dropped instead, so one large pickle does
//! not pin its memory.
//!
//! The items borrow the payload, so a kept vector is stored with the
//! `'static` lifetime and relabelled per decode by [`relabel`]: an empty
//! vector mapped into an identical type, which the standard library's
//! in-place collection does without allocating (a test checks it still
//! does).

use super::item::{Container, Item};
use std::cell::Cell;

/// Vectors longer than this (in items or memo slots) are not kept: a
/// LogRecord needs about 50, and a thread keeps at most a few hundred KiB.
pub(crate) const KEEP_ITEMS: usize = 1024;

/// The emptied vectors of a finished decode.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) stack: Vec<Item<'static>>,
    pub(crate) memo: Vec<Option<Item<'static>>>,
    pub(crate) arena: Vec<Container<'static>>,
    pub(crate) metastack: Vec<Vec<Item<'static>>>,
    /// For the first MARK, which usually collects the whole LogRecord dict.
    pub(crate) first_mark: Vec<Item<'static>>,
}

thread_local! {
    /// `Cell` and `take`: a decode that somehow ran inside another would
    /// find it empty and allocate, never share.
    static SCRATCH: Cell<Scratch> = const {
        Cell::new(Scratch {
            stack: Vec::new(),
            memo: Vec::new(),
            arena: Vec::new(),
            metastack: Vec::new(),
            first_mark: Vec::new(),
        })
    };
}

/// This thread's kept vectors (empty ones the first time).
pub(crate) fn take() -> Scratch {
    SCRATCH.with(Cell::take)
}

/// Keeps `scratch` for this thread's next decode.
pub(crate) fn keep(scratch: Scratch) {
    SCRATCH.with(|s| s.set(scratch));
}

/// An emptied vector with its items' lifetime relabelled: the same
/// allocation when it is small enough to keep, a new empty vector when not.
pub(crate) fn relabel<'x, 'y>(mut v: Vec<Item<'x>>) -> Vec<Item<'y>> {
    if v.capacity() > KEEP_ITEMS {
        return Vec::new();
    }
    v.clear();
    // The closure never runs (the vector is empty); collecting a `Map` of
    // an `IntoIter` into an identically laid out type reuses the buffer.
    v.into_iter().map(|_| Item::None).collect()
}

/// [`relabel`] for the memo's slots.
pub(crate) fn relabel_memo<'x, 'y>(mut v: Vec<Option<Item<'x>>>) -> Vec<Option<Item<'y>>> {
    if v.capacity() > KEEP_ITEMS {
        return Vec::new();
    }
    v.clear();
    v.into_iter().map(|_| None).collect()
}

/// [`relabel`] for the metastack (the stacks below open MARKs, dropped).
pub(crate) fn relabel_stacks<'x, 'y>(mut v: Vec<Vec<Item<'x>>>) -> Vec<Vec<Item<'y>>> {
    if v.capacity() > KEEP_ITEMS {
        return Vec::new();
    }
    v.clear();
    v.into_iter().map(|_| Vec::new()).collect()
}

/// [`relabel`] for the arena, whose containers are dropped.
pub(crate) fn relabel_containers<'x, 'y>(mut v: Vec<Container<'x>>) -> Vec<Container<'y>> {
    if v.capacity() > KEEP_ITEMS {
        return Vec::new();
    }
    v.clear();
    v.into_iter()
        .map(|_| Container::new(super::item::Kind::List, Vec::new()))
        .collect()
}

/// [`relabel_containers`], and the largest
/// keepable item vector among them is returned for the next first MARK.
pub(crate) fn relabel_arena<'x, 'y>(
    mut arena: Vec<Container<'x>>,
) -> (Vec<Container<'y>>, Vec<Item<'y>>) {
    let mut best: Vec<Item<'x>> = Vec::new();
    for c in arena.drain(..) {
        if c.items.capacity() > best.capacity() && c.items.capacity() <= KEEP_ITEMS {
            best = c.items;
        }
    }
    (relabel_containers(arena), relabel(best))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relabelling_keeps_the_allocation() {
        let payload = vec![b'x'; 4];
        let mut v: Vec<Item<'_>> = Vec::with_capacity(64);
        v.push(Item::Text(&payload));
        let before = v.as_ptr() as usize;
        let kept: Vec<Item<'static>> = relabel(v);
        assert_eq!(kept.as_ptr() as usize, before, "the buffer was reallocated");
        assert_eq!((kept.len(), kept.capacity()), (0, 64));

        let mut memo: Vec<Option<Item<'_>>> = Vec::with_capacity(16);
        memo.push(Some(Item::Text(&payload)));
        let before = memo.as_ptr() as usize;
        let kept: Vec<Option<Item<'static>>> = relabel_memo(memo);
        assert_eq!(kept.as_ptr() as usize, before);

        let mut arena = Vec::with_capacity(8);
        let mut items = Vec::with_capacity(32);
        items.push(Item::Text(&payload));
        let items_at = items.as_ptr() as usize;
        arena.push(Container::new(super::super::item::Kind::Dict, items));
        let arena_at = arena.as_ptr() as usize;
        let (kept, first): (Vec<Container<'static>>, Vec<Item<'static>>) = relabel_arena(arena);
        assert_eq!(kept.as_ptr() as usize, arena_at);
        assert_eq!(first.as_ptr() as usize, items_at);
        assert!(kept.is_empty() && first.is_empty());

        let mut stacks = Vec::with_capacity(4);
        stacks.push(vec![Item::Text(&payload)]);
        let before = stacks.as_ptr() as usize;
        let kept: Vec<Vec<Item<'static>>> = relabel_stacks(stacks);
        assert_eq!(kept.as_ptr() as usize, before);
    }

    #[test]
    fn large_vectors_are_not_kept() {
        let v: Vec<Item<'_>> = Vec::with_capacity(KEEP_ITEMS + 1);
        let kept: Vec<Item<'static>> = relabel(v);
        assert_eq!(kept.capacity(), 0);
    }
}

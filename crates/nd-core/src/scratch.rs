//! Per-thread scratch buffers reused from chunk to chunk.
//!
//! Decoding a chunk often needs a buffer (a chunk-sized staging area, a tile at its clipped
//! shape, quantized integers). Allocating one per chunk costs an allocation and, for large
//! buffers, faulting in fresh pages every time; [`with_scratch`] instead lends each thread one
//! value of the buffer type, kept from call to call on that thread (so on each worker of a
//! parallel read).
//!
//! ```
//! use nd_core::scratch::with_scratch;
//! let sum = with_scratch(|buf: &mut Vec<u8>| {
//!     buf.clear();
//!     buf.extend_from_slice(&[1, 2, 3]);
//!     buf.iter().map(|&b| u32::from(b)).sum::<u32>()
//! });
//! assert_eq!(sum, 6);
//! // the next call on this thread gets the same buffer back (its contents are unspecified)
//! with_scratch(|buf: &mut Vec<u8>| assert!(buf.capacity() >= 3));
//! ```

use std::any::{Any, TypeId};
use std::cell::RefCell;

/// Scratch kept for the next call only up to this many bytes (64 MiB): a thread does not hold on
/// to the buffers of one unusually large chunk.
pub const SCRATCH_KEEP: usize = 64 << 20;

/// A value [`with_scratch`] can lend: buffers that start empty and say how much memory they
/// hold.
pub trait Scratch: Default + 'static {
    /// Bytes of memory the buffers hold (their capacity).
    fn held_bytes(&self) -> usize;
}

impl<T: 'static> Scratch for Vec<T> {
    fn held_bytes(&self) -> usize {
        self.capacity().saturating_mul(std::mem::size_of::<T>())
    }
}

/// A thread's scratch value of one type; empty while it is lent.
type Slot = (TypeId, Option<Box<dyn Any>>);

thread_local! {
    /// One slot per scratch type used on this thread.
    static SLOTS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's scratch value of type `S`, so that call after call (chunk after
/// chunk) reuses its buffers instead of allocating and zeroing them again. The value is what the
/// previous call left (contents unspecified: resize before use); the first call on a thread gets
/// `S::default()`. A value holding more than [`SCRATCH_KEEP`] bytes is dropped afterwards.
/// Re-entrant: a nested call for the same type gets a fresh `S::default()`. Cost: a thread-local
/// lookup among the types used so far; no allocation once warm.
pub fn with_scratch<S: Scratch, R>(f: impl FnOnce(&mut S) -> R) -> R {
    let id = TypeId::of::<S>();
    let lent = SLOTS
        .try_with(|slots| {
            let mut slots = slots.borrow_mut();
            slots
                .iter_mut()
                .find(|(t, _)| *t == id)
                .and_then(|(_, v)| v.take())
        })
        .ok()
        .flatten()
        .and_then(|b| b.downcast::<S>().ok());
    let mut value = lent.unwrap_or_default();
    let r = f(&mut value);
    if value.held_bytes() <= SCRATCH_KEEP {
        let _ = SLOTS.try_with(|slots| {
            let mut slots = slots.borrow_mut();
            match slots.iter_mut().find(|(t, _)| *t == id) {
                Some((_, slot)) => *slot = Some(value),
                None => slots.push((id, Some(value))),
            }
        });
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Two {
        a: Vec<u64>,
        b: Vec<i32>,
    }

    impl Scratch for Two {
        fn held_bytes(&self) -> usize {
            self.a.held_bytes() + self.b.held_bytes()
        }
    }

    #[test]
    fn scratch_is_reused_per_thread_and_type() {
        let p = with_scratch(|v: &mut Vec<u8>| {
            v.resize(1000, 7);
            v.as_ptr() as usize
        });
        let q = with_scratch(|v: &mut Vec<u8>| {
            assert_eq!(v.len(), 1000, "the same buffer comes back");
            v.as_ptr() as usize
        });
        assert_eq!(p, q);
        // another type has its own value; nesting gets a fresh one
        with_scratch(|t: &mut Two| {
            assert!(t.a.is_empty() && t.b.is_empty());
            t.b.push(1);
            with_scratch(|v: &mut Vec<u8>| {
                assert_eq!(v.len(), 1000);
                with_scratch(|w: &mut Vec<u8>| assert!(w.is_empty(), "nested: fresh"));
            });
        });
        with_scratch(|t: &mut Two| assert_eq!(t.b, vec![1]));
        // another thread starts empty
        std::thread::spawn(|| with_scratch(|v: &mut Vec<u8>| assert!(v.is_empty())))
            .join()
            .unwrap();
        // too large to keep
        with_scratch(|v: &mut Vec<u8>| v.reserve(SCRATCH_KEEP + 1));
        with_scratch(|v: &mut Vec<u8>| assert!(v.capacity() <= SCRATCH_KEEP));
    }
}

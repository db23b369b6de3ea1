//! Read buffers that records are cut from, reused once the records are gone.
//!
//! Readers (a `file` producer, a stream reader) read big chunks into a [`BytesMut`] and hand records out as
//! [`Bytes`] slices of it, without copying. When a chunk is used up the reader needs a new one, but records
//! still hold parts of the old one. [`BufferPool`] keeps the last few chunks and hands one out again once no
//! record holds any of it: in a pipeline that keeps up, a handful of chunks are reused over and over, instead
//! of a fresh allocation per chunk that the allocator returns to the kernel and the kernel zeroes again.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// How many retired buffers a pool keeps.
const KEEP: usize = 4;

/// A few retired buffers, reused once no record holds a part of them (see the [module docs](self)).
#[derive(Debug, Default)]
pub struct BufferPool {
    retired: VecDeque<Bytes>,
}

impl BufferPool {
    /// An empty buffer with room for at least `capacity` bytes: a retired one that is free again and big
    /// enough, else a new one.
    pub fn take(&mut self, capacity: usize) -> BytesMut {
        while let Some(at) = self.retired.iter().position(Bytes::is_unique) {
            let Some(retired) = self.retired.remove(at) else { break };
            if let Ok(mut buffer) = retired.try_into_mut() {
                buffer.clear();
                if buffer.try_reclaim(capacity) {
                    return buffer;
                }
            }
            // Too small (or just shared again): let it go.
        }
        BytesMut::with_capacity(capacity)
    }

    /// Keeps `buffer` (any part of a buffer: records may still hold the rest) for a later [`take`](Self::take),
    /// dropping the oldest one kept if there are too many.
    pub fn retire(&mut self, buffer: Bytes) {
        if buffer.is_empty() {
            return; // Nothing worth keeping (and a static or sliced empty `Bytes` holds no allocation).
        }
        // Not cleared: an empty `Bytes` lets go of its allocation. `take` empties it, without copying.
        if self.retired.len() == KEEP {
            self.retired.pop_front();
        }
        self.retired.push_back(buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_once_no_record_holds_it() {
        let mut pool = BufferPool::default();
        let mut buffer = pool.take(1024);
        buffer.extend_from_slice(&[7; 1000]);
        let address = buffer.as_ptr();
        let record = buffer.split_to(10).freeze();
        pool.retire(buffer.freeze());
        assert_ne!(pool.take(1024).as_ptr(), address, "a record still holds it: a new buffer");

        let mut buffer = BytesMut::with_capacity(1024);
        buffer.extend_from_slice(&[7; 1000]);
        let address = buffer.as_ptr();
        let record_too = buffer.split_to(10).freeze();
        pool.retire(buffer.freeze());
        drop(record_too);
        let reused = pool.take(1024);
        assert_eq!((reused.as_ptr(), reused.len()), (address, 0), "free again: reused, empty, from its start");
        assert!(reused.capacity() >= 1024);

        pool.retire(reused.freeze());
        assert_ne!(pool.take(1 << 20).as_ptr(), address, "too small: a new buffer");
        assert_eq!(pool.retired.len(), 1, "the small one was let go, the one still held is kept");
        assert_eq!(&record[..], &[7; 10]);
    }
}

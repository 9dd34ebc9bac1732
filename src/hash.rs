//! A fast hasher for the hot path's own tables (crate-internal).
//!
//! The keys are ours: opaques and send ids from counters, topic names and broker addresses the
//! application and its name server gave us. Nobody can choose them to collide, so SipHash's
//! flood resistance buys nothing there, and profiles of the send path showed it at about 1,500
//! instructions per message. This is the multiply-rotate hash rustc uses (FxHash).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash: fold each word in with a rotate, an xor and a multiply.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The tail's length in the last byte, so "a" and "a\0" differ.
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            word[7] = rest.len() as u8;
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_i32(&mut self, n: i32) {
        self.add(u64::from(n as u32));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keys_hash_apart_and_maps_work() {
        let mut m: FastMap<String, usize> = FastMap::default();
        for i in 0..1000 {
            m.insert(format!("127.0.0.1:{}", 10000 + i), i);
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.get("127.0.0.1:10911"), Some(&911));
        let mut ids: FastMap<i32, i32> = FastMap::default();
        for i in -500..500 {
            ids.insert(i, -i);
        }
        assert!((-500..500).all(|i| ids.get(&i) == Some(&-i)));
        // Through `Hash for str`, as the maps hash (it ends every string with a 0xff byte).
        let hash = |s: &str| std::hash::BuildHasher::hash_one(&BuildHasherDefault::<FastHasher>::default(), s);
        assert_ne!(hash("TopicA"), hash("TopicB"));
        assert_ne!(hash("a"), hash("a\0"));
    }
}

//! A fixed, seedless hasher for integer ids, and the maps built on it.
//!
//! Venue ids (order ids, instrument ids) are not attacker-chosen, so SipHash's protection
//! buys nothing on the hot path; and a hasher without a random seed makes every run of
//! the same input identical, iteration order included. This is the workspace's answer to
//! "no `RandomState`": maps keyed by ids use [`IdMap`]/[`IdSet`], maps whose iteration
//! order reaches an output use `BTreeMap`.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A fast multiplicative hasher for integer keys (order ids, instrument ids). Byte
/// strings hash too (one multiply per byte), for the odd non-integer key.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

const HASH_MUL: u64 = 0xf135_7aea_2e62_a9c5;

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the best-mixed bits at the top; hashbrown takes bucket
        // indices from the low bits, so rotate them down.
        self.0.rotate_left(26)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.wrapping_add(n).wrapping_mul(HASH_MUL);
    }
}

/// A `HashMap` with [`IdHasher`] (create it with `IdMap::default()`).
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A `HashSet` with [`IdHasher`] (create it with `IdSet::default()`).
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_map_works_and_hash_is_stable() {
        let mut m: IdMap<u64, u32> = IdMap::default();
        for i in 0..1000u32 {
            m.insert(u64::from(i) * 7919, i);
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.get(&(500 * 7919)), Some(&500));
        let mut a = IdHasher::default();
        a.write_u64(42);
        let mut b = IdHasher::default();
        b.write_u64(42);
        assert_eq!(a.finish(), b.finish());
        let mut c = IdHasher::default();
        c.write_u64(43);
        assert_ne!(a.finish(), c.finish());
    }

    #[test]
    fn iteration_order_is_the_same_in_every_map() {
        // No per-map seed: two maps filled alike iterate alike.
        let fill = || {
            let mut s: IdSet<String> = IdSet::default();
            for i in 0..200 {
                s.insert(format!("key-{i}"));
            }
            s.into_iter().collect::<Vec<_>>()
        };
        assert_eq!(fill(), fill());
    }
}

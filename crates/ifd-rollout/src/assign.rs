//! Deterministic assignment of keys to arms.
//!
//! A key is encoded canonically (one tag byte, then its fields little-endian), prefixed by
//! the experiment's 64-bit salt, hashed with **FNV-1a 64** (offset basis
//! `0xcbf29ce484222325`, prime `0x100000001b3`) and finished with the **fmix64** mixer of
//! MurmurHash3 (FNV-1a alone spreads short keys poorly in its high bits). The 64-bit hash
//! is mapped to a bucket in `[0, 1 000 000)` by a multiply-shift (`h × 10⁶ >> 64`), and arm
//! `i` owns the buckets `[Σ_{j<i} share_j, Σ_{j≤i} share_j)`. The result depends on nothing
//! but the key, the salt and the shares: not on the process, the platform or the order of
//! calls. Raising the first arm's share only moves keys *into* it, so the canary's keys
//! stay on v3 when the rollout goes to 50%.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::types::Variant;

/// Shares are expressed in parts per million.
pub const PPM: u32 = 1_000_000;

/// What a decision is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AssignmentKey {
    /// The signal's id.
    SignalId(u64),
    /// An option's strike (1e-9 units) and expiry (ns since the epoch).
    StrikeExpiry {
        /// Strike price, 1e-9 units.
        strike: i64,
        /// Expiration timestamp, ns.
        expiry: u64,
    },
    /// Any other caller-defined key.
    Bytes(Vec<u8>),
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`, continuing from `state` (start with [`fnv1a64_start`]).
#[must_use]
pub fn fnv1a64(mut state: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        state ^= u64::from(b);
        state = state.wrapping_mul(FNV_PRIME);
    }
    state
}

/// The FNV-1a 64 offset basis.
#[must_use]
pub const fn fnv1a64_start() -> u64 {
    FNV_OFFSET
}

/// MurmurHash3's 64-bit finaliser.
#[must_use]
pub const fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

impl AssignmentKey {
    /// The key's 64-bit hash under `salt` (see the [module docs](self)).
    #[must_use]
    pub fn hash(&self, salt: u64) -> u64 {
        let mut h = fnv1a64(fnv1a64_start(), &salt.to_le_bytes());
        h = match self {
            Self::SignalId(id) => fnv1a64(fnv1a64(h, &[1]), &id.to_le_bytes()),
            Self::StrikeExpiry { strike, expiry } => {
                let h = fnv1a64(fnv1a64(h, &[2]), &strike.to_le_bytes());
                fnv1a64(h, &expiry.to_le_bytes())
            }
            Self::Bytes(b) => {
                let h = fnv1a64(fnv1a64(h, &[3]), &(b.len() as u64).to_le_bytes());
                fnv1a64(h, b)
            }
        };
        fmix64(h)
    }

    /// The key's bucket in `[0, 1 000 000)` under `salt`.
    #[must_use]
    pub fn bucket(&self, salt: u64) -> u32 {
        let b = (u128::from(self.hash(salt)) * u128::from(PPM)) >> 64;
        // b < PPM by construction.
        u32::try_from(b).unwrap_or(PPM - 1)
    }
}

/// A split of keys into arms with fixed shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    salt: u64,
    /// Cumulative upper bucket bounds, the last one being [`PPM`].
    bounds: Vec<u32>,
}

impl Split {
    /// Arms with the given shares (parts per million, summing to 1 000 000).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when there is no arm or the shares do not sum to
    /// 1 000 000.
    pub fn new(salt: u64, shares_ppm: &[u32]) -> Result<Self> {
        if shares_ppm.is_empty() {
            return Err(Error::InvalidConfig {
                field: "shares_ppm",
                problem: "is empty",
            });
        }
        let mut acc: u64 = 0;
        let mut bounds = Vec::with_capacity(shares_ppm.len());
        for &s in shares_ppm {
            acc += u64::from(s);
            if acc > u64::from(PPM) {
                break;
            }
            bounds.push(u32::try_from(acc).unwrap_or(PPM));
        }
        if acc != u64::from(PPM) {
            return Err(Error::InvalidConfig {
                field: "shares_ppm",
                problem: "must sum to 1000000",
            });
        }
        Ok(Self { salt, bounds })
    }

    /// Two arms: v3 gets `v3_share_ppm` (its buckets come first), v1 the rest.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the share exceeds 1 000 000.
    pub fn v3_share(salt: u64, v3_share_ppm: u32) -> Result<Self> {
        let rest = PPM.checked_sub(v3_share_ppm).ok_or(Error::InvalidConfig {
            field: "v3_share_ppm",
            problem: "exceeds 1000000",
        })?;
        Self::new(salt, &[v3_share_ppm, rest])
    }

    /// Number of arms.
    #[must_use]
    pub fn arms(&self) -> usize {
        self.bounds.len()
    }

    /// The arm index of `key`.
    #[must_use]
    pub fn assign(&self, key: &AssignmentKey) -> usize {
        let b = key.bucket(self.salt);
        self.bounds
            .partition_point(|&upper| upper <= b)
            .min(self.bounds.len() - 1)
    }

    /// For a [`Split::v3_share`] split: the variant that serves `key`.
    #[must_use]
    pub fn assign_variant(&self, key: &AssignmentKey) -> Variant {
        if self.assign(key) == 0 && self.bounds.first().is_some_and(|&b| b > 0) {
            Variant::V3
        } else {
            Variant::V1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_known_answers() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(fnv1a64_start(), b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(fnv1a64_start(), b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(fnv1a64_start(), b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn shares_are_checked() {
        assert!(Split::new(0, &[]).is_err());
        assert!(Split::new(0, &[500_000, 400_000]).is_err());
        assert!(Split::new(0, &[PPM, 1]).is_err());
        assert!(Split::v3_share(0, PPM + 1).is_err());
        assert_eq!(
            Split::new(0, &[250_000, 250_000, 500_000]).unwrap().arms(),
            3
        );
    }

    #[test]
    fn zero_and_full_shares_are_exact() {
        let none = Split::v3_share(7, 0).unwrap();
        let all = Split::v3_share(7, PPM).unwrap();
        for id in 0..2_000 {
            let k = AssignmentKey::SignalId(id);
            assert_eq!(none.assign_variant(&k), Variant::V1);
            assert_eq!(all.assign_variant(&k), Variant::V3);
        }
    }

    #[test]
    fn salt_changes_the_assignment() {
        let a = Split::v3_share(1, 500_000).unwrap();
        let b = Split::v3_share(2, 500_000).unwrap();
        let differ = (0..1_000)
            .filter(|&id| {
                let k = AssignmentKey::SignalId(id);
                a.assign_variant(&k) != b.assign_variant(&k)
            })
            .count();
        // Independent halves disagree about half the time.
        assert!((400..600).contains(&differ), "{differ}");
    }
}

//! The few things this crate knows about a signal.

use serde::{Deserialize, Serialize};

/// Which detector produced a signal (or serves a decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Variant {
    /// The incumbent detector (v1.0, the volume-spike baseline).
    V1,
    /// The challenger (v3.0, institutional-flow detection).
    V3,
}

impl Variant {
    /// Both variants, incumbent first.
    pub const ALL: [Self; 2] = [Self::V1, Self::V3];

    /// A short lowercase name (`"v1"`, `"v3"`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V3 => "v3",
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The direction a signal expects the option's price to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// The option is expected to gain: the notional trade buys at the ask.
    Up,
    /// The option is expected to lose: the notional trade sells at the bid.
    Down,
}

impl Direction {
    /// `+1` for [`Direction::Up`], `-1` for [`Direction::Down`].
    #[must_use]
    pub const fn sign(self) -> i64 {
        match self {
            Self::Up => 1,
            Self::Down => -1,
        }
    }
}

/// The identity of a price series (an option or its underlying future); for Databento
/// data this is the record's `instrument_id`.
pub type InstrumentKey = u32;

/// A pattern label (e.g. `"sweep"`, `"block"`); metrics are kept per label.
pub type PatternLabel = String;

/// One nanosecond-resolution timestamp (UNIX epoch, like dbn's `ts_recv`).
pub type Nanos = u64;

/// Nanoseconds per second.
pub const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// Nanoseconds per minute.
pub const NANOS_PER_MINUTE: u64 = 60 * NANOS_PER_SECOND;
/// Nanoseconds per hour.
pub const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MINUTE;
/// Nanoseconds per day.
pub const NANOS_PER_DAY: u64 = 24 * NANOS_PER_HOUR;

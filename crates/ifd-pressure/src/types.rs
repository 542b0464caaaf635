//! Small value types shared by the book, aggressor and pressure layers.

use serde::{Deserialize, Serialize};

/// One price level's summary on one side of a book.
///
/// `price` is dbn's fixed-point `i64` at 1e-9; `size` is the sum of the resting orders'
/// sizes at that price; `count` is how many resting orders are there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Level {
    /// Price in dbn's fixed point (1 unit = 1e-9).
    pub price: i64,
    /// Total resting size at this price.
    pub size: u64,
    /// Number of resting orders at this price.
    pub count: u32,
}

/// Best bid and offer of one instrument; a side is `None` when it is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Bbo {
    /// Best bid level, if any.
    pub bid: Option<Level>,
    /// Best ask level, if any.
    pub ask: Option<Level>,
}

impl Bbo {
    /// Mid price in fixed point (rounded toward negative infinity), when both sides exist.
    #[must_use]
    pub fn mid(&self) -> Option<i64> {
        match (self.bid, self.ask) {
            (Some(b), Some(a)) => {
                Some(((i128::from(b.price) + i128::from(a.price)).div_euclid(2)) as i64)
            }
            _ => None,
        }
    }

    /// True when both sides exist and the bid is at or above the ask.
    #[must_use]
    pub fn is_crossed(&self) -> bool {
        matches!((self.bid, self.ask), (Some(b), Some(a)) if b.price >= a.price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lvl(price: i64) -> Level {
        Level {
            price,
            size: 1,
            count: 1,
        }
    }

    #[test]
    fn mid_and_crossed() {
        let b = Bbo {
            bid: Some(lvl(100)),
            ask: Some(lvl(103)),
        };
        assert_eq!(b.mid(), Some(101));
        assert!(!b.is_crossed());
        let c = Bbo {
            bid: Some(lvl(103)),
            ask: Some(lvl(103)),
        };
        assert!(c.is_crossed());
        assert_eq!(
            Bbo {
                bid: Some(lvl(1)),
                ask: None
            }
            .mid(),
            None
        );
        let n = Bbo {
            bid: Some(lvl(-5)),
            ask: Some(lvl(-2)),
        };
        assert_eq!(n.mid(), Some(-4));
    }
}

//! The generator's own exact L3 book: sides, order owners, resting orders and price
//! levels with time priority.

use std::collections::{BTreeMap, VecDeque};

use dbn::Side;

use crate::truth::{Participant, TruthSide};

/// Book side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum BSide {
    Bid,
    Ask,
}

impl BSide {
    pub(super) fn idx(self) -> usize {
        match self {
            Self::Bid => 0,
            Self::Ask => 1,
        }
    }
    pub(super) fn opposite(self) -> Self {
        match self {
            Self::Bid => Self::Ask,
            Self::Ask => Self::Bid,
        }
    }
    pub(super) fn dbn(self) -> Side {
        match self {
            Self::Bid => Side::Bid,
            Self::Ask => Side::Ask,
        }
    }
    /// The book side an aggressive order of the institution's `side` takes from.
    pub(super) fn aggressor_of(side: TruthSide) -> Self {
        match side {
            TruthSide::Buy => Self::Bid,
            TruthSide::Sell => Self::Ask,
        }
    }
}

/// Who owns an order inside the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    Mm(u8),
    Institution(u32),
    Counterparty(u32),
    DecoyQuote(u8),
    /// A retail marketable limit's rested remainder ([`crate::MarketStructure`]).
    Retail,
}

impl Owner {
    pub(super) fn participant(self) -> Participant {
        match self {
            Self::Mm(m) | Self::DecoyQuote(m) => Participant::MarketMaker(m),
            Self::Institution(f) => Participant::Institution(u64::from(f) + 1),
            Self::Counterparty(_) => Participant::Counterparty,
            Self::Retail => Participant::Retail,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Order {
    pub(super) inst: usize,
    pub(super) side: BSide,
    pub(super) price: i64,
    pub(super) size: u32,
    pub(super) owner: Owner,
}

#[derive(Debug, Default, Clone)]
pub(super) struct Book {
    sides: [BTreeMap<i64, VecDeque<u64>>; 2],
}

impl Book {
    pub(super) fn best(&self, side: BSide) -> Option<i64> {
        match side {
            BSide::Bid => self.sides[0].keys().next_back().copied(),
            BSide::Ask => self.sides[1].keys().next().copied(),
        }
    }
    /// Price levels from the best outward.
    pub(super) fn levels(
        &self,
        side: BSide,
    ) -> Box<dyn Iterator<Item = (&i64, &VecDeque<u64>)> + '_> {
        match side {
            BSide::Bid => Box::new(self.sides[0].iter().rev()),
            BSide::Ask => Box::new(self.sides[1].iter()),
        }
    }
    pub(super) fn level_count(&self, side: BSide) -> usize {
        self.sides[side.idx()].len()
    }
    pub(super) fn insert(&mut self, side: BSide, price: i64, id: u64) {
        self.sides[side.idx()]
            .entry(price)
            .or_default()
            .push_back(id);
    }
    pub(super) fn remove(&mut self, side: BSide, price: i64, id: u64) {
        let map = &mut self.sides[side.idx()];
        if let Some(q) = map.get_mut(&price) {
            if let Some(pos) = q.iter().position(|&o| o == id) {
                q.remove(pos);
            }
            if q.is_empty() {
                map.remove(&price);
            }
        }
    }
}

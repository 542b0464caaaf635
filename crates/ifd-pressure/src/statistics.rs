//! Open interest, cleared volume and settlement per instrument, from Databento's
//! statistics records (`dbn::StatMsg`), whichever stream carries them.
//!
//! [`StatStore`] keeps, per instrument, the latest of three statistics:
//!
//! | `StatType` | kept as | value field |
//! |---|---|---|
//! | `OpenInterest` (9) | [`InstrumentStats::open_interest`] | `quantity` |
//! | `ClearedVolume` (6) | [`InstrumentStats::cleared_volume`] | `quantity` |
//! | `SettlementPrice` (3) | [`InstrumentStats::settlement`] | `price` (and `stat_flags`) |
//!
//! Semantics of `update_action` (dbn's `StatUpdateAction`): `New` (1) sets the
//! statistic, replacing the previous value (records apply in stream order; `ts_ref`,
//! the trading date the value is for, is kept beside it); `Delete` (2) removes it.
//! Every other statistic type is counted and ignored. A `New` whose value field is
//! undefined (`UNDEF_STAT_QUANTITY`, `UNDEF_PRICE`) or a negative quantity, and an
//! unknown `update_action`, are counted and skipped.
//!
//! Pure: no IO, no clock.

use dbn::{StatMsg, StatType, StatUpdateAction, UNDEF_PRICE, UNDEF_STAT_QUANTITY};

use crate::IdMap;

/// One statistic's value with its dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatValue<T> {
    /// The value (a quantity, or a price in 1e-9).
    pub value: T,
    /// `ts_ref` of the record: the trading date the value is for (`UNDEF_TIMESTAMP`
    /// when the venue gave none).
    pub ts_ref: u64,
    /// `ts_recv` of the record that set it.
    pub ts_recv: u64,
    /// `stat_flags` of the record (for settlement: final or preliminary, actual or
    /// theoretical, as the venue marks them).
    pub flags: u8,
}

/// The statistics kept for one instrument.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct InstrumentStats {
    /// Open interest (contracts).
    pub open_interest: Option<StatValue<u64>>,
    /// Cleared volume of the previous trading date (contracts).
    pub cleared_volume: Option<StatValue<u64>>,
    /// Settlement price (1e-9).
    pub settlement: Option<StatValue<i64>>,
}

/// Counters of the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatStoreStats {
    /// Records seen.
    pub records: u64,
    /// `New` records applied.
    pub set: u64,
    /// `Delete` records applied (including deletes of a statistic not held).
    pub deleted: u64,
    /// Records of other statistic types (ignored).
    pub other_types: u64,
    /// `New` records whose value was undefined or negative (skipped).
    pub bad_value: u64,
    /// Records whose `update_action` dbn does not define (skipped).
    pub bad_action: u64,
}

/// Open interest, cleared volume and settlement per instrument (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct StatStore {
    by_instrument: IdMap<u32, InstrumentStats>,
    stats: StatStoreStats,
}

/// Which statistic a record is about.
#[derive(Clone, Copy)]
enum Kept {
    OpenInterest,
    ClearedVolume,
    Settlement,
}

impl StatStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one statistics record; returns true when it changed the store.
    pub fn apply(&mut self, msg: &StatMsg) -> bool {
        self.stats.records += 1;
        let kept = match msg.stat_type() {
            Ok(StatType::OpenInterest) => Kept::OpenInterest,
            Ok(StatType::ClearedVolume) => Kept::ClearedVolume,
            Ok(StatType::SettlementPrice) => Kept::Settlement,
            _ => {
                self.stats.other_types += 1;
                return false;
            }
        };
        let Ok(action) = msg.update_action() else {
            self.stats.bad_action += 1;
            return false;
        };
        let iid = msg.hd.instrument_id;
        match action {
            StatUpdateAction::Delete => {
                self.stats.deleted += 1;
                let Some(entry) = self.by_instrument.get_mut(&iid) else {
                    return false;
                };
                match kept {
                    Kept::OpenInterest => entry.open_interest.take().is_some(),
                    Kept::ClearedVolume => entry.cleared_volume.take().is_some(),
                    Kept::Settlement => entry.settlement.take().is_some(),
                }
            }
            StatUpdateAction::New => {
                let quantity = u64::try_from(msg.quantity)
                    .ok()
                    .filter(|_| msg.quantity != UNDEF_STAT_QUANTITY);
                let stamp = |value| StatValue {
                    value,
                    ts_ref: msg.ts_ref,
                    ts_recv: msg.ts_recv,
                    flags: msg.stat_flags,
                };
                match kept {
                    Kept::OpenInterest | Kept::ClearedVolume => {
                        let Some(q) = quantity else {
                            self.stats.bad_value += 1;
                            return false;
                        };
                        let entry = self.by_instrument.entry(iid).or_default();
                        if matches!(kept, Kept::OpenInterest) {
                            entry.open_interest = Some(stamp(q));
                        } else {
                            entry.cleared_volume = Some(stamp(q));
                        }
                    }
                    Kept::Settlement => {
                        if msg.price == UNDEF_PRICE {
                            self.stats.bad_value += 1;
                            return false;
                        }
                        self.by_instrument.entry(iid).or_default().settlement = Some(StatValue {
                            value: msg.price,
                            ts_ref: msg.ts_ref,
                            ts_recv: msg.ts_recv,
                            flags: msg.stat_flags,
                        });
                    }
                }
                self.stats.set += 1;
                true
            }
            _ => {
                self.stats.bad_action += 1;
                false
            }
        }
    }

    /// Applies a record if it is a statistics record; other record types are ignored
    /// (`Ok(false)`).
    ///
    /// # Errors
    /// [`crate::Error::MalformedRecord`] when the record claims to be a statistics
    /// record but is shorter than a `StatMsg`.
    pub fn apply_record(&mut self, rec: &dbn::RecordRef<'_>) -> crate::Result<bool> {
        if rec.header().rtype != dbn::rtype::STATISTICS {
            return Ok(false);
        }
        let msg = rec
            .try_get::<StatMsg>()
            .map_err(|_| crate::Error::MalformedRecord {
                rtype: dbn::rtype::STATISTICS,
                reason: "record shorter than a StatMsg",
            })?;
        Ok(self.apply(msg))
    }

    /// The statistics of `instrument_id`, if any was set.
    #[must_use]
    pub fn get(&self, instrument_id: u32) -> Option<&InstrumentStats> {
        self.by_instrument.get(&instrument_id)
    }

    /// Open interest of `instrument_id`.
    #[must_use]
    pub fn open_interest(&self, instrument_id: u32) -> Option<u64> {
        self.get(instrument_id)?.open_interest.map(|v| v.value)
    }

    /// Cleared volume of `instrument_id`.
    #[must_use]
    pub fn cleared_volume(&self, instrument_id: u32) -> Option<u64> {
        self.get(instrument_id)?.cleared_volume.map(|v| v.value)
    }

    /// Settlement price of `instrument_id` (1e-9).
    #[must_use]
    pub fn settlement(&self, instrument_id: u32) -> Option<i64> {
        self.get(instrument_id)?.settlement.map(|v| v.value)
    }

    /// Every instrument with statistics.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &InstrumentStats)> + '_ {
        self.by_instrument.iter().map(|(&k, v)| (k, v))
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> StatStoreStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(iid: u32, stat_type: StatType, action: u8, price: i64, quantity: i64) -> StatMsg {
        StatMsg {
            hd: dbn::RecordHeader::new::<StatMsg>(dbn::rtype::STATISTICS, 1, iid, 5),
            ts_recv: 10,
            ts_ref: 3,
            price,
            quantity,
            sequence: 0,
            ts_in_delta: 0,
            stat_type: stat_type as u16,
            channel_id: 0,
            update_action: action,
            stat_flags: 1,
            _reserved: Default::default(),
        }
    }

    const NEW: u8 = StatUpdateAction::New as u8;
    const DEL: u8 = StatUpdateAction::Delete as u8;

    #[test]
    fn new_sets_delete_removes() {
        let mut s = StatStore::new();
        assert!(s.apply(&stat(7, StatType::OpenInterest, NEW, UNDEF_PRICE, 1_234)));
        assert!(s.apply(&stat(7, StatType::ClearedVolume, NEW, UNDEF_PRICE, 88)));
        assert!(s.apply(&stat(
            7,
            StatType::SettlementPrice,
            NEW,
            125_500_000_000,
            UNDEF_STAT_QUANTITY
        )));
        assert_eq!(s.open_interest(7), Some(1_234));
        assert_eq!(s.cleared_volume(7), Some(88));
        assert_eq!(s.settlement(7), Some(125_500_000_000));
        let oi = s.get(7).unwrap().open_interest.unwrap();
        assert_eq!((oi.ts_ref, oi.ts_recv, oi.flags), (3, 10, 1));
        // A later New replaces.
        s.apply(&stat(7, StatType::OpenInterest, NEW, UNDEF_PRICE, 1_300));
        assert_eq!(s.open_interest(7), Some(1_300));
        // Delete removes only its own statistic.
        assert!(s.apply(&stat(
            7,
            StatType::SettlementPrice,
            DEL,
            UNDEF_PRICE,
            UNDEF_STAT_QUANTITY
        )));
        assert_eq!(s.settlement(7), None);
        assert_eq!(s.open_interest(7), Some(1_300));
        // Deleting what is not held changes nothing.
        assert!(!s.apply(&stat(7, StatType::SettlementPrice, DEL, UNDEF_PRICE, 0)));
        assert!(!s.apply(&stat(9, StatType::OpenInterest, DEL, UNDEF_PRICE, 0)));
        assert!(s.get(9).is_none());
        // Other instruments are separate.
        assert_eq!(s.open_interest(8), None);
        let st = s.stats();
        assert_eq!((st.records, st.set, st.deleted), (7, 4, 3));
    }

    #[test]
    fn bad_records_are_counted_and_skipped() {
        let mut s = StatStore::new();
        let cases = [
            stat(
                1,
                StatType::OpenInterest,
                NEW,
                UNDEF_PRICE,
                UNDEF_STAT_QUANTITY,
            ),
            stat(1, StatType::OpenInterest, NEW, UNDEF_PRICE, -5),
            stat(1, StatType::SettlementPrice, NEW, UNDEF_PRICE, 3),
            stat(1, StatType::OpenInterest, 0, UNDEF_PRICE, 3),
            stat(1, StatType::OpenInterest, 9, UNDEF_PRICE, 3),
            stat(1, StatType::HighestBid, NEW, 100, UNDEF_STAT_QUANTITY),
        ];
        for c in &cases {
            assert!(!s.apply(c));
        }
        let mut unknown_type = stat(1, StatType::OpenInterest, NEW, UNDEF_PRICE, 3);
        unknown_type.stat_type = 999;
        assert!(!s.apply(&unknown_type));
        assert!(s.get(1).is_none());
        let st = s.stats();
        assert_eq!((st.bad_value, st.bad_action, st.other_types), (3, 2, 2));
        assert_eq!(st.records, 7);
    }
}

//! Compact in-memory storage of one trading day's series.
//!
//! A [`Baseline`](crate::Baseline) holds 20 days of values for every series that had
//! data (about 190 000 series and 4 million values for the demo's simulated chain).
//! Kept as a map of small vectors, their keys and allocations take several times the
//! values themselves, so each day is packed into one byte string instead, read front
//! to back (to persist it, to fit the models, to merge baselines):
//!
//! - series in ascending [`SeriesId`] order, each as a header byte (the metric's code;
//!   bit 7 set when the scope differs from the previous series'), the scope in the
//!   persisted encoding when it changed, the value count (LEB128), then the values;
//! - a value whose bits are those of an integer `i` with `|i| < 2⁶¹` (volumes, counts,
//!   whole-dollar premium, and the zeros of empty windows: nearly all of them) is the
//!   LEB128 of `zigzag(i)·2` (one byte up to 31, two up to 4095); any other value is
//!   the byte `1` followed by its eight little-endian bytes.
//!
//! Every value comes back bit for bit, so scores and persisted bytes are those of the
//! values as added.

use crate::baseline::{Scope, SeriesId};
use crate::metric::Metric;
use crate::persist::{put_scope, scope_len, Reader};

/// One day's series, packed (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct PackedDay {
    bytes: Vec<u8>,
    series: usize,
    /// Bytes the day's series take in the persisted format.
    persisted_len: usize,
    last: Option<SeriesId>,
}

/// Largest integer magnitude stored as an integer (its zigzag code, doubled, fits u64).
const MAX_PACKED_INT: u64 = 1 << 61;
/// Marks a value stored as its eight IEEE bytes (an integer's code is even).
const FLOAT_MARK: u8 = 1;
/// Header bit: the series' scope follows.
const NEW_SCOPE: u8 = 0x80;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_value(out: &mut Vec<u8>, v: f64) {
    // `as` saturates; the bit comparison keeps only exact integers (not −0.0).
    let i = v as i64;
    if (i as f64).to_bits() == v.to_bits() && i.unsigned_abs() < MAX_PACKED_INT {
        let zigzag = ((i << 1) ^ (i >> 63)) as u64;
        put_varint(out, zigzag << 1);
    } else {
        out.push(FLOAT_MARK);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

impl PackedDay {
    /// An empty day.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends one series; `false` (nothing added) unless `id` is above every series
    /// added before.
    pub(crate) fn push_series<I>(&mut self, id: &SeriesId, values: I) -> bool
    where
        I: IntoIterator<Item = f64>,
        I::IntoIter: ExactSizeIterator,
    {
        if self.last.is_some_and(|last| last >= *id) {
            return false;
        }
        let values = values.into_iter();
        let n = values.len();
        let new_scope = self.last.is_none_or(|last| last.scope != id.scope);
        self.bytes
            .push(id.metric.code() | if new_scope { NEW_SCOPE } else { 0 });
        if new_scope {
            put_scope(&mut self.bytes, &id.scope);
        }
        put_varint(&mut self.bytes, n as u64);
        for v in values {
            put_value(&mut self.bytes, v);
        }
        self.series += 1;
        self.persisted_len += scope_len(&id.scope) + 1 + 4 + 8 * n;
        self.last = Some(*id);
        true
    }

    /// Number of series.
    pub(crate) fn series_count(&self) -> usize {
        self.series
    }

    /// Bytes of the series in the persisted format (without the day's date and count).
    pub(crate) fn persisted_len(&self) -> usize {
        self.persisted_len
    }

    /// Releases spare capacity (a day is complete once pushed into a baseline).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
    }

    /// A cursor at the first series.
    pub(crate) fn cursor(&self) -> Cursor<'_> {
        let mut c = Cursor {
            r: Reader::new(&self.bytes),
            scope: None,
            head: None,
        };
        c.advance();
        c
    }
}

/// Reads a [`PackedDay`] series by series: [`head`](Self::head) names the next
/// series and its value count, [`take`](Self::take) reads its values and moves on.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    r: Reader<'a>,
    scope: Option<Scope>,
    head: Option<(SeriesId, usize)>,
}

impl Cursor<'_> {
    /// The next series and its number of values; `None` at the end.
    pub(crate) fn head(&self) -> Option<(SeriesId, usize)> {
        self.head
    }

    /// Appends the values of the head series to `out` and moves to the next series.
    pub(crate) fn take(&mut self, out: &mut Vec<f64>) {
        if let Some((_, n)) = self.head {
            out.reserve(n);
            for _ in 0..n {
                match self.value() {
                    Some(v) => out.push(v),
                    None => break,
                }
            }
            self.advance();
        }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.r.u8().ok()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn value(&mut self) -> Option<f64> {
        if self.r.peek() == Some(FLOAT_MARK) {
            self.r.u8().ok()?;
            return Some(f64::from_le_bytes(self.r.arr().ok()?));
        }
        let z = self.varint()? >> 1;
        let i = ((z >> 1) as i64) ^ -((z & 1) as i64);
        Some(i as f64)
    }

    /// Reads the next header; the bytes were written by [`PackedDay::push_series`],
    /// so a failure only ends the day.
    fn advance(&mut self) {
        self.head = self.read_head();
    }

    fn read_head(&mut self) -> Option<(SeriesId, usize)> {
        if self.r.at_end() {
            return None;
        }
        let h = self.r.u8().ok()?;
        let metric = Metric::from_code(h & !NEW_SCOPE)?;
        if h & NEW_SCOPE != 0 {
            self.scope = Some(self.r.scope().ok()?);
        }
        let n = usize::try_from(self.varint()?).ok()?;
        Some((
            SeriesId {
                scope: self.scope?,
                metric,
            },
            n,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{BaselineKey, ExpiryClass, MoneynessBucket, Right, TimeBucket};

    fn id(strike: Option<i64>, tb: u16, metric: Metric) -> SeriesId {
        let key = BaselineKey {
            right: Right::Put,
            expiry_class: ExpiryClass::Weekly,
            moneyness: MoneynessBucket::from_steps(-3),
            time_bucket: TimeBucket(tb),
        };
        let scope = match strike {
            None => Scope::Bucket(key),
            Some(strike) => Scope::Strike {
                right: key.right,
                expiry_class: key.expiry_class,
                strike,
                time_bucket: key.time_bucket,
            },
        };
        SeriesId { scope, metric }
    }

    #[test]
    fn values_and_keys_come_back_bit_for_bit() {
        let series: Vec<(SeriesId, Vec<f64>)> = vec![
            (
                id(None, 3, Metric::BuyVolume),
                vec![0.0, 1.0, 31.0, 32.0, 4095.0, 4096.0],
            ),
            (
                id(None, 3, Metric::SignedImbalance),
                vec![-0.0, -1.0, 0.25, -0.5],
            ),
            (
                id(None, 4, Metric::BuyPremium),
                vec![1e15, 2.5e12, 123_456.75],
            ),
            (id(Some(21_000_000_000_000), 3, Metric::TradeCount), vec![]),
            (
                id(Some(21_000_000_000_000), 3, Metric::OrderFlowImbalance),
                vec![
                    -1e15,
                    -3.0,
                    2.0,
                    f64::MIN_POSITIVE,
                    (1u64 << 61) as f64,
                    -((1u64 << 61) as f64),
                ],
            ),
            (
                id(Some(21_250_000_000_000), 0, Metric::LargestPrint),
                vec![7.0],
            ),
        ];
        let mut day = PackedDay::new();
        for (i, v) in &series {
            assert!(day.push_series(i, v.iter().copied()));
        }
        assert_eq!(day.series_count(), series.len());
        let mut c = day.cursor();
        let mut back = Vec::new();
        while let Some((i, n)) = c.head() {
            let mut v = Vec::new();
            c.take(&mut v);
            assert_eq!(v.len(), n);
            back.push((i, v));
        }
        assert_eq!(back.len(), series.len());
        for ((ia, va), (ib, vb)) in series.iter().zip(&back) {
            assert_eq!(ia, ib);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(va), bits(vb), "{ia:?}");
        }
        // Small integers take one byte each.
        let mut small = PackedDay::new();
        small.push_series(&id(None, 3, Metric::TradeCount), [0.0; 100]);
        assert!(small.bytes.len() < 110);
    }

    #[test]
    fn series_must_ascend() {
        let mut day = PackedDay::new();
        assert!(day.push_series(&id(None, 5, Metric::BuyVolume), [1.0]));
        assert!(!day.push_series(&id(None, 5, Metric::BuyVolume), [2.0]));
        assert!(!day.push_series(&id(None, 4, Metric::BuyVolume), [2.0]));
        assert!(day.push_series(&id(Some(5), 0, Metric::BuyVolume), [3.0]));
        assert_eq!(day.series_count(), 2);
        assert_eq!(
            day.cursor().head(),
            Some((id(None, 5, Metric::BuyVolume), 1))
        );
    }
}

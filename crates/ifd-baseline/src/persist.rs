//! Persistence through bytes: a versioned, checksummed binary format.
//!
//! The body is wrapped in the workspace's persistence envelope
//! ([`ifd_core::envelope`]): magic `IFDB`, format version (`u16`, currently
//! [`FORMAT_VERSION`]), body length (`u64`), body, CRC32 of everything before it (all
//! little endian). Version 1 had the CRC in the header; version 2 is the shared envelope;
//! version 3 adds the pressure window length to the configuration. Older files are
//! reported as [`Error::UnsupportedVersion`] (rebuild them from history).
//!
//! The body holds the configuration (with the window length the values were measured
//! over), then each trading day (date as days from the
//! common era) with its series (scope, metric, raw values as `f64`). Values are stored
//! bit-exactly, so a round trip scores identically.
//!
//! Reading checks, in order: length of the header, magic, length of the body, checksum,
//! version, then the body's own consistency. The CRC covers the header fields and the
//! body, so every single-byte change and every truncation is reported as an error; the
//! caller falls back to a previous copy or rebuilds from history.
//!
//! Writing sizes the output first and fills one buffer (no second copy of the body
//! for the envelope); reading packs each day as it is decoded.

use crate::baseline::{Baseline, BaselineConfig, Scope, SeriesId};
use crate::error::{Error, Result};
use crate::key::{BaselineKey, ExpiryClass, MoneynessBucket, Right, TimeBucket, TradingDay};
use crate::metric::Metric;
use crate::packed::PackedDay;
use ifd_core::envelope::{Envelope, EnvelopeError};

/// Magic bytes at the start of a serialised baseline.
pub const MAGIC: [u8; 4] = *b"IFDB";
/// Version of the format written by this build (the only one it reads).
pub const FORMAT_VERSION: u16 = 3;
/// The baseline's persistence envelope.
pub const ENVELOPE: Envelope = Envelope::new(&MAGIC, FORMAT_VERSION);

impl Baseline {
    /// Serialises the baseline (configuration and every day's values).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let days = self.raw_days();
        let body_len = CONFIG_LEN
            + 4
            + days
                .iter()
                .map(|(_, d)| 4 + 4 + d.persisted_len())
                .sum::<usize>();
        // The envelope's layout (ifd_core::envelope), written in place: magic, version,
        // body length, body, CRC32 of everything before it.
        let mut out = Vec::with_capacity(ENVELOPE.overhead() + body_len);
        out.extend_from_slice(ENVELOPE.magic());
        put_u16(&mut out, ENVELOPE.version());
        out.extend_from_slice(&(body_len as u64).to_le_bytes());
        let body = &mut out;
        let c = self.config();
        put_u16(body, c.max_days);
        put_u16(body, c.min_days);
        put_u16(body, c.bucket_minutes);
        body.push(u8::from(c.per_strike));
        put_u16(body, c.max_tail_df);
        body.extend_from_slice(&c.window_ns.to_le_bytes());
        put_u32(body, days.len() as u32);
        let mut vals = Vec::new();
        for (day, obs) in days {
            body.extend_from_slice(&day.days_from_ce().to_le_bytes());
            put_u32(body, obs.series_count() as u32);
            let mut cursor = obs.cursor();
            while let Some((id, _)) = cursor.head() {
                vals.clear();
                cursor.take(&mut vals);
                put_scope(body, &id.scope);
                body.push(id.metric.code());
                put_u32(body, vals.len() as u32);
                for v in &vals {
                    body.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads a baseline written by [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    /// [`Error::Truncated`] when bytes are missing, [`Error::BadMagic`] for another kind
    /// of file, [`Error::ChecksumMismatch`] for corrupted bytes,
    /// [`Error::UnsupportedVersion`] for another format version, and
    /// [`Error::Malformed`] when a checksummed body does not decode (trailing bytes,
    /// invalid values or configuration).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let body = ENVELOPE.decode(bytes).map_err(|e| match e {
            EnvelopeError::Truncated { len, expected } => Error::Truncated { len, expected },
            EnvelopeError::BadMagic { .. } => Error::BadMagic,
            EnvelopeError::LengthMismatch { expected, .. } => Error::Malformed {
                offset: expected.saturating_sub(ENVELOPE.overhead()),
                reason: "trailing bytes after the body",
            },
            EnvelopeError::ChecksumMismatch { stored, computed } => {
                Error::ChecksumMismatch { stored, computed }
            }
            EnvelopeError::UnsupportedVersion { found, supported } => {
                Error::UnsupportedVersion { found, supported }
            }
            // The envelope's error is non-exhaustive; a new kind is still corruption.
            _ => Error::Malformed {
                offset: 0,
                reason: "envelope rejected the bytes",
            },
        })?;
        decode_body(body)
    }
}

/// Bytes of the configuration at the start of the body.
const CONFIG_LEN: usize = 2 + 2 + 2 + 1 + 2 + 8;

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn right_code(r: Right) -> u8 {
    match r {
        Right::Call => 0,
        Right::Put => 1,
    }
}

fn expiry_code(e: ExpiryClass) -> u8 {
    match e {
        ExpiryClass::SameDay => 0,
        ExpiryClass::Weekly => 1,
        ExpiryClass::MonthlyQuarterly => 2,
    }
}

/// Bytes [`put_scope`] writes for `scope`.
pub(crate) fn scope_len(scope: &Scope) -> usize {
    match scope {
        Scope::Bucket(_) => 1 + 1 + 1 + 1 + 2,
        Scope::Strike { .. } => 1 + 1 + 1 + 8 + 2,
    }
}

pub(crate) fn put_scope(out: &mut Vec<u8>, scope: &Scope) {
    match scope {
        Scope::Bucket(k) => {
            out.push(0);
            out.push(right_code(k.right));
            out.push(expiry_code(k.expiry_class));
            out.extend_from_slice(&k.moneyness.label().to_le_bytes());
            put_u16(out, k.time_bucket.0);
        }
        Scope::Strike {
            right,
            expiry_class,
            strike,
            time_bucket,
        } => {
            out.push(1);
            out.push(right_code(*right));
            out.push(expiry_code(*expiry_class));
            out.extend_from_slice(&strike.to_le_bytes());
            put_u16(out, time_bucket.0);
        }
    }
}

/// Reads the body's fields (and a packed day's, see [`crate::packed`]).
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(self.bad("body ends early")),
        }
    }

    fn bad(&self, reason: &'static str) -> Error {
        Error::Malformed {
            offset: self.pos,
            reason,
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.arr()?))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.arr()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.arr()?))
    }

    fn right(&mut self) -> Result<Right> {
        match self.u8()? {
            0 => Ok(Right::Call),
            1 => Ok(Right::Put),
            _ => Err(self.bad("unknown right")),
        }
    }

    fn expiry(&mut self) -> Result<ExpiryClass> {
        match self.u8()? {
            0 => Ok(ExpiryClass::SameDay),
            1 => Ok(ExpiryClass::Weekly),
            2 => Ok(ExpiryClass::MonthlyQuarterly),
            _ => Err(self.bad("unknown expiry class")),
        }
    }

    pub(crate) fn scope(&mut self) -> Result<Scope> {
        match self.u8()? {
            0 => {
                let right = self.right()?;
                let expiry_class = self.expiry()?;
                let label = i8::from_le_bytes(self.arr()?);
                let moneyness =
                    MoneynessBucket::from_label(label).ok_or(self.bad("bad moneyness label"))?;
                let time_bucket = TimeBucket(self.u16()?);
                Ok(Scope::Bucket(BaselineKey {
                    right,
                    expiry_class,
                    moneyness,
                    time_bucket,
                }))
            }
            1 => {
                let right = self.right()?;
                let expiry_class = self.expiry()?;
                let strike = i64::from_le_bytes(self.arr()?);
                let time_bucket = TimeBucket(self.u16()?);
                Ok(Scope::Strike {
                    right,
                    expiry_class,
                    strike,
                    time_bucket,
                })
            }
            _ => Err(self.bad("unknown scope")),
        }
    }
}

fn decode_body(body: &[u8]) -> Result<Baseline> {
    let mut r = Reader { buf: body, pos: 0 };
    let config = BaselineConfig {
        max_days: r.u16()?,
        min_days: r.u16()?,
        bucket_minutes: r.u16()?,
        per_strike: match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(r.bad("bad per_strike flag")),
        },
        max_tail_df: r.u16()?,
        window_ns: r.u64()?,
    };
    if config.validate().is_err() {
        return Err(r.bad("invalid configuration"));
    }
    let n_days = r.u32()?;
    if n_days > u32::from(config.max_days) {
        return Err(r.bad("more days than max_days"));
    }
    let mut days: Vec<(TradingDay, PackedDay)> = Vec::new();
    let mut vals = Vec::new();
    for _ in 0..n_days {
        let raw = i32::from_le_bytes(r.arr()?);
        let day = TradingDay::from_days_from_ce(raw).ok_or(r.bad("date out of range"))?;
        if days.last().is_some_and(|(d, _)| *d >= day) {
            return Err(r.bad("days not strictly increasing"));
        }
        let n_series = r.u32()?;
        let mut series = PackedDay::new();
        for _ in 0..n_series {
            let scope = r.scope()?;
            let metric = Metric::from_code(r.u8()?).ok_or(r.bad("unknown metric"))?;
            let n = r.u32()? as usize;
            let bytes = r.take(n.checked_mul(8).ok_or(r.bad("too many values"))?)?;
            vals.clear();
            for chunk in bytes.chunks_exact(8) {
                let mut a = [0u8; 8];
                a.copy_from_slice(chunk);
                let v = f64::from_le_bytes(a);
                if !metric.accepts(v) {
                    return Err(r.bad("invalid value"));
                }
                vals.push(v);
            }
            // Written in ascending order; a duplicate or a series out of order is
            // not a body this format writes.
            if !series.push_series(&SeriesId { scope, metric }, vals.iter().copied()) {
                return Err(r.bad("series not in strictly increasing order"));
            }
        }
        series.shrink_to_fit();
        days.push((day, series));
    }
    if r.pos != body.len() {
        return Err(r.bad("unread bytes at the end of the body"));
    }
    Ok(Baseline::from_parts(config, days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::{DayObservations, Observation};

    fn sample() -> Baseline {
        let mut b = Baseline::new(BaselineConfig::default()).expect("config");
        for i in 0..3u32 {
            let mut d = DayObservations::new();
            for (j, m) in Metric::ALL.into_iter().enumerate() {
                let v = if m == Metric::SignedImbalance {
                    -0.25
                } else {
                    1.5 + f64::from(i)
                };
                d.add(Observation {
                    key: BaselineKey {
                        right: if j % 2 == 0 { Right::Call } else { Right::Put },
                        expiry_class: ExpiryClass::SameDay,
                        moneyness: MoneynessBucket::from_steps(i64::from(i) - 1),
                        time_bucket: TimeBucket(7),
                    },
                    strike: (j % 3 == 0).then_some(21_000_000_000_000),
                    metric: m,
                    value: v,
                })
                .expect("valid");
            }
            let date = chrono::NaiveDate::from_ymd_opt(2026, 2, 2 + i).expect("date");
            b.push_day(TradingDay::new(date), d).expect("push");
        }
        b
    }

    #[test]
    fn round_trip() {
        let b = sample();
        let bytes = b.to_bytes();
        let back = Baseline::from_bytes(&bytes).expect("round trip");
        assert_eq!(back, b);
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn written_in_place_as_the_envelope_writes_it() {
        let b = sample();
        let bytes = b.to_bytes();
        let body = ENVELOPE.decode(&bytes).expect("valid");
        assert_eq!(ENVELOPE.encode(body), bytes);
        // Sized exactly: no spare capacity was needed.
        assert_eq!(bytes.len(), bytes.capacity());
        let empty = Baseline::new(BaselineConfig::default()).expect("config");
        let e = empty.to_bytes();
        assert_eq!(ENVELOPE.encode(ENVELOPE.decode(&e).expect("valid")), e);
    }

    #[test]
    fn values_are_written_in_the_order_they_were_added() {
        let mut b = Baseline::new(BaselineConfig::default()).expect("config");
        let mut d = DayObservations::new();
        let added = [3.0, 0.0, 1e12 + 0.5, 2.0, -0.0, 2.0];
        for v in added {
            d.add(Observation {
                key: BaselineKey {
                    right: Right::Put,
                    expiry_class: ExpiryClass::SameDay,
                    moneyness: MoneynessBucket::from_steps(2),
                    time_bucket: TimeBucket(9),
                },
                strike: None,
                metric: Metric::OrderFlowImbalance,
                value: v,
            })
            .expect("valid");
        }
        let date = chrono::NaiveDate::from_ymd_opt(2026, 2, 2).expect("date");
        b.push_day(TradingDay::new(date), d).expect("push");
        let bytes = b.to_bytes();
        let body = ENVELOPE.decode(&bytes).expect("valid");
        // config, day count, date, series count, bucket scope (6), metric, value count
        let at = CONFIG_LEN + 4 + 4 + 4 + 6 + 1 + 4;
        let written: Vec<u64> = body[at..]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")).to_bits())
            .collect();
        let expected: Vec<u64> = added.iter().map(|v| v.to_bits()).collect();
        assert_eq!(written, expected);
    }

    #[test]
    fn series_out_of_order_are_malformed() {
        // Two copies of one series in a day: the second is not above the first.
        let mut b = Baseline::new(BaselineConfig::default()).expect("config");
        let mut d = DayObservations::new();
        d.add(Observation {
            key: BaselineKey {
                right: Right::Call,
                expiry_class: ExpiryClass::Weekly,
                moneyness: MoneynessBucket::from_steps(0),
                time_bucket: TimeBucket(1),
            },
            strike: None,
            metric: Metric::TradeCount,
            value: 2.0,
        })
        .expect("valid");
        let date = chrono::NaiveDate::from_ymd_opt(2026, 2, 2).expect("date");
        b.push_day(TradingDay::new(date), d).expect("push");
        let bytes = b.to_bytes();
        let mut body = ENVELOPE.decode(&bytes).expect("valid").to_vec();
        // Body: config, day count, date, series count, then one series.
        let series_at = CONFIG_LEN + 4 + 4;
        let count_at = series_at;
        body[count_at..count_at + 4].copy_from_slice(&2u32.to_le_bytes());
        let one = body[series_at + 4..].to_vec();
        body.extend_from_slice(&one);
        let twice = ENVELOPE.encode(&body);
        assert!(matches!(
            Baseline::from_bytes(&twice),
            Err(Error::Malformed {
                reason: "series not in strictly increasing order",
                ..
            })
        ));
    }

    #[test]
    fn header_errors_are_typed() {
        let bytes = sample().to_bytes();
        assert!(matches!(
            Baseline::from_bytes(&bytes[..5]),
            Err(Error::Truncated { .. })
        ));
        let mut m = bytes.clone();
        m[0] = b'X';
        assert!(matches!(Baseline::from_bytes(&m), Err(Error::BadMagic)));
        // An older version written with a valid checksum.
        let body = ENVELOPE.decode(&bytes).expect("valid");
        let old = ENVELOPE.encode_as_version(1, body);
        assert!(matches!(
            Baseline::from_bytes(&old),
            Err(Error::UnsupportedVersion {
                found: 1,
                supported: FORMAT_VERSION
            })
        ));
        let mut long = bytes;
        long.push(0);
        assert!(matches!(
            Baseline::from_bytes(&long),
            Err(Error::Malformed { .. })
        ));
    }
}

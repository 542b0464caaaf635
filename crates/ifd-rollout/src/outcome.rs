//! Outcome labelling: what happened to the option (and its underlying) after a signal.
//!
//! # The definitions
//! - **Entry.** When a signal fires the caller passes the option's best bid and ask. The
//!   entry mid is `(bid + ask) / 2` (rounded toward zero at 1e-9). The *touch* is the price
//!   a taker would have paid: the ask for [`Direction::Up`], the bid for [`Direction::Down`].
//! - **Exit.** For every configured horizon `h` the exit mid is the mid *prevailing* at
//!   `fired_at + h`: the last mid update at or before that instant (or the entry mid when
//!   none came after the signal). It is known as soon as an update strictly after the
//!   deadline arrives, or when [`OutcomeLabeller::advance`] says time has passed it.
//! - **Move.** `move = sign × (exit_mid − entry_mid)` in 1e-9 price units, where `sign` is
//!   `+1` for up and `−1` for down: positive means the signal was right.
//! - **Label.** With `band = max(entry_mid × flat_band_bps / 10 000, flat_band_min_px)`:
//!   [`Label::Win`] when `move > band`, [`Label::Loss`] when `move < −band`, otherwise
//!   [`Label::Flat`]. Accuracy downstream is wins over *all* resolved outcomes (flats count
//!   against it).
//! - **P&L of the notional trade.** `contracts` contracts bought (up) or sold (down) at the
//!   touch when the signal fires and closed at the exit mid:
//!   `pnl = sign × (exit_mid − touch) × multiplier × contracts`, in currency, exact
//!   ([`Decimal`]). It pays the half spread on entry and none on exit; no fees.
//! - **Underlying.** When the signal names its underlying future and that series is fed,
//!   the underlying's directional mid move over the same horizon is recorded
//!   ([`Outcome::underlying_move_px`]); it does not change the label.

use std::collections::BTreeSet;

use ifd_core::IdMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::types::{Direction, InstrumentKey, Nanos, PatternLabel, Variant, NANOS_PER_MINUTE};

/// How outcomes are measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeConfig {
    /// Horizons after the signal, in nanoseconds; each signal gets one outcome per horizon.
    pub horizons_ns: Vec<u64>,
    /// Relative half-width of the flat band, in basis points of the entry mid.
    pub flat_band_bps: u32,
    /// Absolute minimum half-width of the flat band, in 1e-9 price units.
    pub flat_band_min_px: i64,
    /// Contracts in the notional trade.
    pub contracts: u32,
}

impl Default for OutcomeConfig {
    /// Horizons of 5, 15 and 30 minutes; a flat band of 1% of the entry mid but at least
    /// 0.05 (one NQ option tick below 5.00 premium); one contract.
    fn default() -> Self {
        Self {
            horizons_ns: vec![
                5 * NANOS_PER_MINUTE,
                15 * NANOS_PER_MINUTE,
                30 * NANOS_PER_MINUTE,
            ],
            flat_band_bps: 100,
            flat_band_min_px: 50_000_000,
            contracts: 1,
        }
    }
}

impl OutcomeConfig {
    /// Checks the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when there is no horizon, a horizon is zero or repeated,
    /// the minimum band is negative, or `contracts` is zero.
    pub fn validate(&self) -> Result<()> {
        if self.horizons_ns.is_empty() {
            return Err(Error::InvalidConfig {
                field: "horizons_ns",
                problem: "is empty",
            });
        }
        if self.horizons_ns.contains(&0) {
            return Err(Error::InvalidConfig {
                field: "horizons_ns",
                problem: "contains zero",
            });
        }
        let mut sorted = self.horizons_ns.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.horizons_ns.len() {
            return Err(Error::InvalidConfig {
                field: "horizons_ns",
                problem: "repeats a horizon",
            });
        }
        if self.flat_band_min_px < 0 {
            return Err(Error::InvalidConfig {
                field: "flat_band_min_px",
                problem: "is negative",
            });
        }
        if self.contracts == 0 {
            return Err(Error::InvalidConfig {
                field: "contracts",
                problem: "is zero",
            });
        }
        Ok(())
    }
}

/// The underlying future named by a signal, with its mid when the signal fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnderlyingEntry {
    /// The underlying's price series.
    pub instrument: InstrumentKey,
    /// Its mid when the signal fired (1e-9 units).
    pub mid: i64,
}

/// A signal as this crate sees it, with the book at the moment it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalEntry {
    /// Unique id.
    pub signal_id: u64,
    /// The detector that raised it.
    pub variant: Variant,
    /// Its pattern label.
    pub pattern: PatternLabel,
    /// The expected direction of the option's price.
    pub direction: Direction,
    /// The detector's confidence in `[0, 1]` (kept for threshold adaptation).
    pub confidence: f64,
    /// When it fired.
    pub fired_at: Nanos,
    /// The option's price series.
    pub instrument: InstrumentKey,
    /// Best bid when it fired (1e-9 units).
    pub entry_bid: i64,
    /// Best ask when it fired (1e-9 units).
    pub entry_ask: i64,
    /// Contract multiplier (for CME options: `unit_of_measure_qty`, 20 for NQ).
    pub multiplier: u32,
    /// The underlying future, when the stream carries it.
    pub underlying: Option<UnderlyingEntry>,
}

/// Win, loss or flat; see the [module docs](self) for the band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Label {
    /// The mid moved the signal's way by more than the band.
    Win,
    /// The mid moved against the signal by more than the band.
    Loss,
    /// Within the band.
    Flat,
}

/// One resolved outcome: a signal over one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The signal.
    pub signal_id: u64,
    /// Its detector.
    pub variant: Variant,
    /// Its pattern label.
    pub pattern: PatternLabel,
    /// Its direction.
    pub direction: Direction,
    /// Its confidence.
    pub confidence: f64,
    /// When it fired.
    pub fired_at: Nanos,
    /// The horizon of this outcome.
    pub horizon_ns: u64,
    /// Entry mid (1e-9 units).
    pub entry_mid: i64,
    /// Entry touch (ask for up, bid for down).
    pub entry_touch: i64,
    /// Mid prevailing at the horizon.
    pub exit_mid: i64,
    /// Directional mid move (positive = the signal was right), 1e-9 units.
    pub move_px: i64,
    /// Half-width of the flat band that was applied, 1e-9 units.
    pub band_px: i64,
    /// Directional mid move of the underlying, when known.
    pub underlying_move_px: Option<i64>,
    /// Win, loss or flat.
    pub label: Label,
    /// P&L of the notional trade, in currency.
    pub pnl: Decimal,
}

/// Counters of what the labeller saw and skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabellerStats {
    /// Signals accepted.
    pub signals_registered: u64,
    /// Outcomes emitted.
    pub outcomes_resolved: u64,
    /// Mid updates accepted.
    pub mid_updates: u64,
    /// Mid updates skipped because the mid was zero or negative.
    pub skipped_nonpositive_mid: u64,
    /// Mid updates skipped because they were older than the series' last update.
    pub skipped_out_of_order: u64,
    /// Pending outcomes voided by [`OutcomeLabeller::void_instrument`].
    pub voided: u64,
    /// Outcomes dropped because the P&L did not fit a `Decimal`.
    pub overflowed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Leg {
    Option,
    Underlying,
}

#[derive(Debug, Clone)]
struct Pending {
    signal_id: u64,
    horizon_ns: u64,
    option_exit: Option<i64>,
    /// `None` when the signal has no underlying; `Some(None)` while it is unresolved.
    underlying_exit: Option<Option<i64>>,
}

#[derive(Debug, Default)]
struct Series {
    last: Option<(Nanos, i64)>,
    queue: BTreeSet<(Nanos, u64, Leg)>,
}

#[derive(Debug)]
struct Live {
    entry: SignalEntry,
    entry_mid: i64,
    remaining: usize,
}

/// Keeps pending outcomes and resolves them as mid updates arrive.
///
/// Feed every mid change of the option (and underlying) series that have pending signals
/// in timestamp order with [`on_mid`](Self::on_mid); call [`advance`](Self::advance) when
/// time has passed with no update (the mid then still prevails).
#[derive(Debug)]
pub struct OutcomeLabeller {
    config: OutcomeConfig,
    // The fixed hasher: no `RandomState`, the same iteration order on every run.
    signals: IdMap<u64, Live>,
    pending: IdMap<u64, Pending>,
    series: IdMap<InstrumentKey, Series>,
    next_seq: u64,
    stats: LabellerStats,
}

fn mid_of(bid: i64, ask: i64) -> i64 {
    // Both are positive i64, so the sum fits i128 and the half fits i64.
    let half = (i128::from(bid) + i128::from(ask)) / 2;
    i64::try_from(half).unwrap_or(i64::MAX)
}

impl OutcomeLabeller {
    /// A labeller with the given configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] as [`OutcomeConfig::validate`].
    pub fn new(config: OutcomeConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            signals: IdMap::default(),
            pending: IdMap::default(),
            series: IdMap::default(),
            next_seq: 0,
            stats: LabellerStats::default(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &OutcomeConfig {
        &self.config
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> LabellerStats {
        self.stats
    }

    /// Outcomes still waiting for their horizon.
    #[must_use]
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Starts labelling a signal: one pending outcome per horizon.
    ///
    /// # Errors
    /// [`Error::DuplicateSignal`] when the id is already pending;
    /// [`Error::InvalidEntryPrice`] when the bid or ask is not positive, the book is
    /// crossed (`ask < bid`), or the underlying's mid is not positive;
    /// [`Error::Overflow`] when a deadline passes `u64::MAX`.
    pub fn register(&mut self, entry: SignalEntry) -> Result<()> {
        if self.signals.contains_key(&entry.signal_id) {
            return Err(Error::DuplicateSignal {
                signal_id: entry.signal_id,
            });
        }
        for price in [entry.entry_bid, entry.entry_ask] {
            if price <= 0 {
                return Err(Error::InvalidEntryPrice {
                    signal_id: entry.signal_id,
                    price,
                });
            }
        }
        if entry.entry_ask < entry.entry_bid {
            return Err(Error::InvalidEntryPrice {
                signal_id: entry.signal_id,
                price: entry.entry_ask,
            });
        }
        if let Some(u) = entry.underlying {
            if u.mid <= 0 {
                return Err(Error::InvalidEntryPrice {
                    signal_id: entry.signal_id,
                    price: u.mid,
                });
            }
        }
        let mut deadlines = Vec::with_capacity(self.config.horizons_ns.len());
        for &h in &self.config.horizons_ns {
            let d = entry
                .fired_at
                .checked_add(h)
                .ok_or(Error::Overflow { what: "deadline" })?;
            deadlines.push((h, d));
        }
        let entry_mid = mid_of(entry.entry_bid, entry.entry_ask);
        for (horizon_ns, deadline) in deadlines {
            let seq = self.next_seq;
            self.next_seq += 1;
            self.series
                .entry(entry.instrument)
                .or_default()
                .queue
                .insert((deadline, seq, Leg::Option));
            let underlying_exit = entry.underlying.map(|u| {
                self.series.entry(u.instrument).or_default().queue.insert((
                    deadline,
                    seq,
                    Leg::Underlying,
                ));
                None
            });
            self.pending.insert(
                seq,
                Pending {
                    signal_id: entry.signal_id,
                    horizon_ns,
                    option_exit: None,
                    underlying_exit,
                },
            );
        }
        let remaining = self.config.horizons_ns.len();
        self.signals.insert(
            entry.signal_id,
            Live {
                entry,
                entry_mid,
                remaining,
            },
        );
        self.stats.signals_registered += 1;
        Ok(())
    }

    /// A new mid for a series at `ts`. Returns the outcomes this update resolved (those
    /// whose deadline lies strictly before `ts`).
    ///
    /// Non-positive mids and updates older than the series' last one are skipped and
    /// counted.
    pub fn on_mid(&mut self, instrument: InstrumentKey, ts: Nanos, mid: i64) -> Vec<Outcome> {
        if mid <= 0 {
            self.stats.skipped_nonpositive_mid += 1;
            return Vec::new();
        }
        let mut out = Vec::new();
        // Every series keeps its last mid, so a later signal's horizon knows what
        // prevailed; the map grows with the number of instruments, not of updates.
        let series = self.series.entry(instrument).or_default();
        if series.last.is_some_and(|(last_ts, _)| ts < last_ts) {
            self.stats.skipped_out_of_order += 1;
            return out;
        }
        self.stats.mid_updates += 1;
        let prev = series.last;
        let due = Self::take_due(series, ts, false);
        series.last = Some((ts, mid));
        for (deadline, seq, leg) in due {
            self.resolve_leg(seq, leg, prev, deadline, &mut out);
        }
        out
    }

    /// Time has reached `now` and every update up to `now` has been fed: resolves all
    /// outcomes whose deadline is at or before `now` with the mid that still prevails.
    pub fn advance(&mut self, now: Nanos) -> Vec<Outcome> {
        let mut out = Vec::new();
        let mut due_all = Vec::new();
        for series in self.series.values_mut() {
            let prev = series.last;
            for (deadline, seq, leg) in Self::take_due(series, now, true) {
                due_all.push((deadline, seq, leg, prev));
            }
        }
        due_all.sort_unstable_by_key(|&(d, s, l, _)| (d, s, l));
        for (deadline, seq, leg, prev) in due_all {
            self.resolve_leg(seq, leg, prev, deadline, &mut out);
        }
        out
    }

    /// The series' data can no longer be trusted (a gap, a resync). Pending outcomes
    /// whose *option* is this series are dropped and counted as voided; those whose
    /// *underlying* is this series lose their underlying move (`None`) and are emitted if
    /// their option leg was already resolved. The series' last mid is forgotten.
    pub fn void_instrument(&mut self, instrument: InstrumentKey) -> Vec<Outcome> {
        let mut out = Vec::new();
        let Some(series) = self.series.get_mut(&instrument) else {
            return out;
        };
        series.last = None;
        let legs = std::mem::take(&mut series.queue);
        for (deadline, seq, leg) in legs {
            match leg {
                Leg::Option => {
                    let Some(p) = self.pending.remove(&seq) else {
                        continue;
                    };
                    let underlying = self
                        .signals
                        .get(&p.signal_id)
                        .and_then(|l| l.entry.underlying);
                    if let Some(u) = underlying {
                        if let Some(s) = self.series.get_mut(&u.instrument) {
                            s.queue.remove(&(deadline, seq, Leg::Underlying));
                        }
                    }
                    self.stats.voided += 1;
                    self.finish_one(p.signal_id);
                }
                Leg::Underlying => {
                    let Some(p) = self.pending.get_mut(&seq) else {
                        continue;
                    };
                    p.underlying_exit = None;
                    self.try_complete(seq, &mut out);
                }
            }
        }
        out
    }

    fn take_due(series: &mut Series, ts: Nanos, inclusive: bool) -> Vec<(Nanos, u64, Leg)> {
        let mut due = Vec::new();
        while let Some(&first) = series.queue.first() {
            let is_due = if inclusive {
                first.0 <= ts
            } else {
                first.0 < ts
            };
            if !is_due {
                break;
            }
            series.queue.pop_first();
            due.push(first);
        }
        due
    }

    fn finish_one(&mut self, signal_id: u64) {
        if let Some(live) = self.signals.get_mut(&signal_id) {
            live.remaining = live.remaining.saturating_sub(1);
            if live.remaining == 0 {
                self.signals.remove(&signal_id);
            }
        }
    }

    fn resolve_leg(
        &mut self,
        seq: u64,
        leg: Leg,
        prev: Option<(Nanos, i64)>,
        deadline: Nanos,
        out: &mut Vec<Outcome>,
    ) {
        let Some(p) = self.pending.get_mut(&seq) else {
            return;
        };
        let Some(live) = self.signals.get(&p.signal_id) else {
            return;
        };
        // The mid prevailing at the deadline: the series' last update when it is not older
        // than the signal, otherwise the mid the signal saw when it fired.
        let (entry_ts, entry_px) = match leg {
            Leg::Option => (live.entry.fired_at, live.entry_mid),
            Leg::Underlying => match live.entry.underlying {
                Some(u) => (live.entry.fired_at, u.mid),
                None => return,
            },
        };
        let prevailing = match prev {
            Some((ts, px)) if ts >= entry_ts && ts <= deadline => px,
            _ => entry_px,
        };
        match leg {
            Leg::Option => p.option_exit = Some(prevailing),
            Leg::Underlying => p.underlying_exit = Some(Some(prevailing)),
        }
        self.try_complete(seq, out);
    }

    fn try_complete(&mut self, seq: u64, out: &mut Vec<Outcome>) {
        let Some(p) = self.pending.get(&seq) else {
            return;
        };
        let complete = p.option_exit.is_some() && !matches!(p.underlying_exit, Some(None));
        if !complete {
            return;
        }
        let Some(p) = self.pending.remove(&seq) else {
            return;
        };
        let signal_id = p.signal_id;
        match self.build(&p) {
            Some(o) => {
                self.stats.outcomes_resolved += 1;
                out.push(o);
            }
            None => self.stats.overflowed += 1,
        }
        self.finish_one(signal_id);
    }

    fn build(&self, p: &Pending) -> Option<Outcome> {
        let live = self.signals.get(&p.signal_id)?;
        let e = &live.entry;
        let exit_mid = p.option_exit?;
        let sign = i128::from(e.direction.sign());
        let entry_mid = live.entry_mid;
        let touch = match e.direction {
            Direction::Up => e.entry_ask,
            Direction::Down => e.entry_bid,
        };
        let move_px = i64::try_from(sign * (i128::from(exit_mid) - i128::from(entry_mid))).ok()?;
        let rel = i128::from(entry_mid) * i128::from(self.config.flat_band_bps) / 10_000;
        let band_px = i64::try_from(rel).ok()?.max(self.config.flat_band_min_px);
        let label = if move_px > band_px {
            Label::Win
        } else if move_px < -band_px {
            Label::Loss
        } else {
            Label::Flat
        };
        let pnl_units = sign
            .checked_mul(i128::from(exit_mid) - i128::from(touch))?
            .checked_mul(i128::from(e.multiplier))?
            .checked_mul(i128::from(self.config.contracts))?;
        let pnl = Decimal::try_from_i128_with_scale(pnl_units, 9)
            .ok()?
            .normalize();
        let underlying_move_px = match (p.underlying_exit, e.underlying) {
            (Some(Some(exit)), Some(u)) => {
                i64::try_from(sign * (i128::from(exit) - i128::from(u.mid))).ok()
            }
            _ => None,
        };
        Some(Outcome {
            signal_id: e.signal_id,
            variant: e.variant,
            pattern: e.pattern.clone(),
            direction: e.direction,
            confidence: e.confidence,
            fired_at: e.fired_at,
            horizon_ns: p.horizon_ns,
            entry_mid,
            entry_touch: touch,
            exit_mid,
            move_px,
            band_px,
            underlying_move_px,
            label,
            pnl,
        })
    }
}

/// A 1e-9 fixed-point price as an exact [`Decimal`].
#[must_use]
pub fn price_to_decimal(px: i64) -> Decimal {
    Decimal::from_i128_with_scale(i128::from(px), 9).normalize()
}

/// A [`Decimal`] price as 1e-9 fixed point; `None` when it has more than nine decimals of
/// precision that matter or does not fit an `i64`.
#[must_use]
pub fn price_from_decimal(px: Decimal) -> Option<i64> {
    let scaled = px.checked_mul(Decimal::from(1_000_000_000_i64))?;
    if !scaled.fract().is_zero() {
        return None;
    }
    i64::try_from(scaled.mantissa() / 10_i128.pow(scaled.scale())).ok()
}

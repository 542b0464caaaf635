//! Fixed-horizon labels of directional signals, measured the way a careful desk measures
//! them: from the underlying's mid to its mid, never from the best price reached.
//!
//! # The definitions
//! - **View.** Every signal states the direction it expects of the *underlying*
//!   ([`DirectionalSignal::view`]: [`Direction::Up`] is bullish). Buying a put is a
//!   bearish view although the notional trade buys.
//! - **Entry and exit.** The entry mid is the underlying mid *prevailing* when the signal
//!   fired (the last point of the [`MidSeries`] at or before `fired_at`); the exit mid is
//!   the one prevailing at the horizon's instant. Nothing between the two matters: the
//!   best (or worst) price reached in between is never looked at.
//! - **Horizons** ([`Horizon`]): a fixed time after the signal (5 min, 30 min, 1 h by
//!   default), the close of the signal's session, and the close of the next session. The
//!   caller supplies the sessions ([`SessionWindow`]).
//! - **Signed return** = `sign(view) × (exit − entry) / entry`, in basis points. A
//!   **hit** is a strictly positive signed return; a zero return is a *tie* (counted as
//!   not a hit, and counted apart).
//! - **Option P&L.** When the signal names an option trade ([`OptionTrade`]): bought at
//!   the ask (sold at the bid) prevailing when the signal fired, closed at the other side
//!   prevailing at the horizon; `pnl = side × (exit − entry) × multiplier` per contract,
//!   exact ([`Decimal`]). It pays the whole spread.
//! - **Delta-hedged P&L** = option P&L − `side × delta × (U_exit − U_entry) × multiplier`,
//!   with the option's delta at entry as given by the caller (a call's delta is positive,
//!   a put's negative) and the underlying's mids: the directional part is hedged away at
//!   entry and never rebalanced.
//! - **Clusters.** Signals whose label windows `[fired_at, exit_at]` overlap (directly or
//!   through a chain of others) share a cluster id, per horizon. Their outcomes are not
//!   independent, so the statistics of [`crate::evaluation`] use clusters, not signals,
//!   as the independent units. All signals of one session share the session-close
//!   cluster.
//!
//! Missing data is never guessed: a signal with no mid before it, a horizon the series
//! does not reach ([`MidSeries::covered_until`]), or an option with no two-sided quote
//! gets no label (or no option P&L) and is counted in [`LabelStats`].
//!
//! The module is pure: the caller supplies the time-ordered series and the sessions.

use std::collections::BTreeMap;

use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::types::{
    Direction, InstrumentKey, Nanos, PatternLabel, Variant, NANOS_PER_HOUR, NANOS_PER_MINUTE,
};

/// A time-ordered series of mids (1e-9 units) of one instrument.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MidSeries {
    points: Vec<(Nanos, i64)>,
    covered_until: Option<Nanos>,
    skipped_nonpositive: u64,
    skipped_out_of_order: u64,
}

impl MidSeries {
    /// An empty series.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a mid. Non-positive mids and points older than the last one are skipped,
    /// counted, and `false` is returned. A point at the same time as the last replaces it.
    pub fn push(&mut self, ts: Nanos, mid: i64) -> bool {
        if mid <= 0 {
            self.skipped_nonpositive += 1;
            return false;
        }
        match self.points.last_mut() {
            Some(last) if ts < last.0 => {
                self.skipped_out_of_order += 1;
                return false;
            }
            Some(last) if ts == last.0 => last.1 = mid,
            _ => self.points.push((ts, mid)),
        }
        true
    }

    /// Declares that the series is complete up to `ts` (the end of the data fed), so that
    /// a horizon after the last point but not after `ts` can be labelled with the last
    /// mid. Without it, the series covers up to its last point.
    pub fn set_covered_until(&mut self, ts: Nanos) {
        self.covered_until = Some(ts);
    }

    /// The last instant whose prevailing mid is known.
    #[must_use]
    pub fn covered_until(&self) -> Option<Nanos> {
        let last = self.points.last().map(|p| p.0);
        match (last, self.covered_until) {
            (Some(l), Some(c)) => Some(l.max(c)),
            (l, c) => l.or(c),
        }
    }

    /// The mid prevailing at `ts` (the last point at or before it), with its time.
    #[must_use]
    pub fn prevailing(&self, ts: Nanos) -> Option<(Nanos, i64)> {
        let i = self.points.partition_point(|p| p.0 <= ts);
        i.checked_sub(1).map(|i| self.points[i])
    }

    /// Number of points.
    #[must_use]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True with no point.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Points skipped because the mid was zero or negative.
    #[must_use]
    pub const fn skipped_nonpositive(&self) -> u64 {
        self.skipped_nonpositive
    }

    /// Points skipped because they were older than the last one.
    #[must_use]
    pub const fn skipped_out_of_order(&self) -> u64 {
        self.skipped_out_of_order
    }
}

/// A time-ordered series of two-sided quotes (bid, ask; 1e-9 units) of one option.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteSeries {
    points: Vec<(Nanos, i64, i64)>,
    skipped_invalid: u64,
    skipped_out_of_order: u64,
}

impl QuoteSeries {
    /// An empty series.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a quote. Quotes with a non-positive side or a crossed book (`bid > ask`),
    /// and quotes older than the last one, are skipped, counted, and `false` is returned.
    pub fn push(&mut self, ts: Nanos, bid: i64, ask: i64) -> bool {
        if bid <= 0 || ask <= 0 || bid > ask {
            self.skipped_invalid += 1;
            return false;
        }
        match self.points.last_mut() {
            Some(last) if ts < last.0 => {
                self.skipped_out_of_order += 1;
                return false;
            }
            Some(last) if ts == last.0 => *last = (ts, bid, ask),
            _ => self.points.push((ts, bid, ask)),
        }
        true
    }

    /// The quote prevailing at `ts`: `(time, bid, ask)`.
    #[must_use]
    pub fn prevailing(&self, ts: Nanos) -> Option<(Nanos, i64, i64)> {
        let i = self.points.partition_point(|p| p.0 <= ts);
        i.checked_sub(1).map(|i| self.points[i])
    }

    /// The time of the last quote.
    #[must_use]
    pub fn last_ts(&self) -> Option<Nanos> {
        self.points.last().map(|p| p.0)
    }

    /// Quotes skipped because they were one-sided, non-positive or crossed.
    #[must_use]
    pub const fn skipped_invalid(&self) -> u64 {
        self.skipped_invalid
    }

    /// Quotes skipped because they were older than the last one.
    #[must_use]
    pub const fn skipped_out_of_order(&self) -> u64 {
        self.skipped_out_of_order
    }
}

/// One trading session, `[start, end)`; its close is `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionWindow {
    /// First instant of the session.
    pub start: Nanos,
    /// The close.
    pub end: Nanos,
}

/// How far after a signal its outcome is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Horizon {
    /// A fixed time after the signal, ns.
    Fixed(u64),
    /// The close of the session the signal fired in.
    SessionClose,
    /// The close of the session after the one the signal fired in.
    NextSessionClose,
}

impl Horizon {
    /// 5 minutes, 30 minutes, 1 hour, the session's close, the next session's close.
    #[must_use]
    pub fn standard() -> Vec<Self> {
        vec![
            Self::Fixed(5 * NANOS_PER_MINUTE),
            Self::Fixed(30 * NANOS_PER_MINUTE),
            Self::Fixed(NANOS_PER_HOUR),
            Self::SessionClose,
            Self::NextSessionClose,
        ]
    }

    /// A short name: `"5m"`, `"1h"`, `"90s"`, `"close"`, `"next"`.
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Self::Fixed(ns) if ns % NANOS_PER_HOUR == 0 => format!("{}h", ns / NANOS_PER_HOUR),
            Self::Fixed(ns) if ns % NANOS_PER_MINUTE == 0 => {
                format!("{}m", ns / NANOS_PER_MINUTE)
            }
            Self::Fixed(ns) if ns % 1_000_000_000 == 0 => format!("{}s", ns / 1_000_000_000),
            Self::Fixed(ns) => format!("{ns}ns"),
            Self::SessionClose => "close".to_owned(),
            Self::NextSessionClose => "next".to_owned(),
        }
    }

    /// The instant a signal fired at `fired_at` is measured at; `None` when the signal
    /// lies in no session (for the session horizons) or there is no next session.
    #[must_use]
    pub fn exit_at(self, fired_at: Nanos, sessions: &[SessionWindow]) -> Option<Nanos> {
        match self {
            Self::Fixed(ns) => fired_at.checked_add(ns),
            Self::SessionClose | Self::NextSessionClose => {
                let i = sessions
                    .iter()
                    .position(|s| s.start <= fired_at && fired_at < s.end)?;
                let k = if self == Self::SessionClose { i } else { i + 1 };
                sessions.get(k).map(|s| s.end)
            }
        }
    }
}

/// The option trade a signal implies, for the option P&L.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptionTrade {
    /// The option's quote series (a key of [`LabelInputs::options`]).
    pub instrument: InstrumentKey,
    /// [`Direction::Up`] buys the option (at the ask), [`Direction::Down`] sells it.
    pub side: Direction,
    /// The option's delta at entry (positive for a call, negative for a put).
    pub delta: f64,
    /// Contract multiplier (20 for NQ options); the underlying future has the same.
    pub multiplier: u32,
}

/// A directional signal to label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectionalSignal {
    /// Unique id.
    pub signal_id: u64,
    /// The detector that raised it.
    pub variant: Variant,
    /// Its pattern label.
    pub pattern: PatternLabel,
    /// The detector's confidence in `[0, 1]`.
    pub confidence: f64,
    /// When it fired.
    pub fired_at: Nanos,
    /// The direction it expects of the underlying.
    pub view: Direction,
    /// The option trade it implies, when one is known.
    pub option: Option<OptionTrade>,
}

/// What the labeller reads: the underlying's mids, the options' quotes, the sessions.
#[derive(Debug, Clone, Copy)]
pub struct LabelInputs<'a> {
    /// The underlying's mids.
    pub underlying: &'a MidSeries,
    /// Quote series of options, by key.
    pub options: &'a BTreeMap<InstrumentKey, QuoteSeries>,
    /// The sessions, in time order.
    pub sessions: &'a [SessionWindow],
}

/// The option leg of a label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptionOutcome {
    /// Price paid (ask) or received (bid) at entry.
    pub entry_px: i64,
    /// Price received (bid) or paid (ask) at the horizon.
    pub exit_px: i64,
    /// Relative half spread paid at entry and at exit, in bp of the entry mid.
    pub cost_bp: f64,
    /// P&L of one contract.
    pub pnl: Decimal,
    /// P&L of one contract hedged with the entry delta in the underlying.
    pub hedged_pnl: Decimal,
}

/// One signal over one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalLabel {
    /// The signal.
    pub signal_id: u64,
    /// Its detector.
    pub variant: Variant,
    /// Its pattern.
    pub pattern: PatternLabel,
    /// Its confidence.
    pub confidence: f64,
    /// When it fired.
    pub fired_at: Nanos,
    /// Its view of the underlying.
    pub view: Direction,
    /// The horizon.
    pub horizon: Horizon,
    /// The instant the exit mid prevailed at.
    pub exit_at: Nanos,
    /// The underlying's mid at entry.
    pub entry_mid: i64,
    /// The underlying's mid at the horizon.
    pub exit_mid: i64,
    /// Signed return in basis points (positive = the view was right).
    pub signed_return_bp: f64,
    /// `signed_return_bp > 0`.
    pub hit: bool,
    /// The option leg, when the signal named one and both quotes were there.
    pub option: Option<OptionOutcome>,
    /// Signals whose windows overlap share this id (per horizon).
    pub cluster: u64,
}

/// What the labeller could not label, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelStats {
    /// Labels produced (signal × horizon).
    pub labelled: u64,
    /// Signal × horizon pairs without an underlying mid at or before the signal.
    pub no_entry_mid: u64,
    /// Pairs whose horizon lies beyond the data, or outside every session.
    pub horizon_not_reached: u64,
    /// Labels whose signal named an option without a two-sided quote at entry or exit.
    pub option_unquoted: u64,
    /// Pairs skipped because a value did not fit its type.
    pub overflowed: u64,
    /// Signals skipped because their confidence was not finite.
    pub bad_confidence: u64,
}

/// Labels every signal at every horizon. Signals may come in any order; the labels come
/// out grouped by horizon (in the order given), then by time.
#[must_use]
pub fn label_signals(
    inputs: &LabelInputs<'_>,
    signals: &[DirectionalSignal],
    horizons: &[Horizon],
) -> (Vec<SignalLabel>, LabelStats) {
    let mut stats = LabelStats::default();
    let mut sorted: Vec<&DirectionalSignal> = Vec::with_capacity(signals.len());
    for s in signals {
        if s.confidence.is_finite() {
            sorted.push(s);
        } else {
            stats.bad_confidence += 1;
        }
    }
    sorted.sort_by_key(|s| (s.fired_at, s.signal_id));
    let mut out = Vec::new();
    for &h in horizons {
        let first = out.len();
        for s in &sorted {
            if let Some(l) = label_one(inputs, s, s.fired_at, h, &mut stats) {
                out.push(l);
            }
        }
        assign_clusters(&mut out[first..]);
    }
    (out, stats)
}

/// The signed return (bp) a signal with `view` would have had at `fired_at` over `h`,
/// or `None` when the data does not say.
#[must_use]
pub fn signed_return_bp(
    inputs: &LabelInputs<'_>,
    view: Direction,
    fired_at: Nanos,
    h: Horizon,
) -> Option<f64> {
    let exit_at = h.exit_at(fired_at, inputs.sessions)?;
    if inputs.underlying.covered_until()? < exit_at {
        return None;
    }
    let (_, entry) = inputs.underlying.prevailing(fired_at)?;
    let (_, exit) = inputs.underlying.prevailing(exit_at)?;
    Some(return_bp(view, entry, exit))
}

/// `sign(view) × (exit − entry) / entry × 10⁴`.
#[allow(
    clippy::cast_precision_loss,
    reason = "prices below 2^53 nano-units convert exactly enough for a return in bp"
)]
fn return_bp(view: Direction, entry: i64, exit: i64) -> f64 {
    let diff = (i128::from(exit) - i128::from(entry)) * i128::from(view.sign());
    diff as f64 / entry as f64 * 1e4
}

fn label_one(
    inputs: &LabelInputs<'_>,
    s: &DirectionalSignal,
    fired_at: Nanos,
    h: Horizon,
    stats: &mut LabelStats,
) -> Option<SignalLabel> {
    let Some(exit_at) = h.exit_at(fired_at, inputs.sessions) else {
        stats.horizon_not_reached += 1;
        return None;
    };
    if inputs
        .underlying
        .covered_until()
        .is_none_or(|c| c < exit_at)
    {
        stats.horizon_not_reached += 1;
        return None;
    }
    let Some((_, entry_mid)) = inputs.underlying.prevailing(fired_at) else {
        stats.no_entry_mid += 1;
        return None;
    };
    let (_, exit_mid) = inputs.underlying.prevailing(exit_at)?;
    let r = return_bp(s.view, entry_mid, exit_mid);
    let option = match s.option {
        None => None,
        Some(t) => {
            let o = option_outcome(inputs, &t, fired_at, exit_at, entry_mid, exit_mid);
            if o.is_none() {
                stats.option_unquoted += 1;
            }
            o
        }
    };
    stats.labelled += 1;
    Some(SignalLabel {
        signal_id: s.signal_id,
        variant: s.variant,
        pattern: s.pattern.clone(),
        confidence: s.confidence,
        fired_at,
        view: s.view,
        horizon: h,
        exit_at,
        entry_mid,
        exit_mid,
        signed_return_bp: r,
        hit: r > 0.0,
        option,
        cluster: 0,
    })
}

fn option_outcome(
    inputs: &LabelInputs<'_>,
    t: &OptionTrade,
    fired_at: Nanos,
    exit_at: Nanos,
    u_entry: i64,
    u_exit: i64,
) -> Option<OptionOutcome> {
    let q = inputs.options.get(&t.instrument)?;
    let (_, b0, a0) = q.prevailing(fired_at)?;
    let (_, b1, a1) = q.prevailing(exit_at)?;
    let (entry_px, exit_px) = match t.side {
        Direction::Up => (a0, b1),
        Direction::Down => (b0, a1),
    };
    let side = i128::from(t.side.sign());
    let mult = i128::from(t.multiplier);
    let units = side
        .checked_mul(i128::from(exit_px) - i128::from(entry_px))?
        .checked_mul(mult)?;
    let pnl = Decimal::try_from_i128_with_scale(units, 9)
        .ok()?
        .normalize();
    let du = (i128::from(u_exit) - i128::from(u_entry)).checked_mul(side * mult)?;
    let hedge =
        Decimal::from_f64(t.delta)?.checked_mul(Decimal::try_from_i128_with_scale(du, 9).ok()?)?;
    let hedged_pnl = pnl.checked_sub(hedge)?.round_dp(9).normalize();
    let mid0 = (i128::from(b0) + i128::from(a0)) / 2;
    #[allow(
        clippy::cast_precision_loss,
        reason = "option prices in nano-units, far below 2^53"
    )]
    let cost_bp = ((a0 - b0) as f64 / 2.0 + (a1 - b1) as f64 / 2.0) / mid0 as f64 * 1e4;
    Some(OptionOutcome {
        entry_px,
        exit_px,
        cost_bp,
        pnl,
        hedged_pnl,
    })
}

/// Gives labels (of one horizon, sorted by `fired_at`) cluster ids: a new cluster starts
/// when a signal fires after every earlier window has closed. Ids count from 0.
fn assign_clusters(labels: &mut [SignalLabel]) {
    let mut id = 0_u64;
    let mut open_until: Option<Nanos> = None;
    for l in labels.iter_mut() {
        match open_until {
            Some(end) if l.fired_at <= end => {
                open_until = Some(end.max(l.exit_at));
            }
            Some(_) => {
                id += 1;
                open_until = Some(l.exit_at);
            }
            None => open_until = Some(l.exit_at),
        }
        l.cluster = id;
    }
}

/// A deterministic stream of 64-bit values (splitmix64), for the seeded shuffles.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) const fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (`n > 0`), by rejection (no modulo bias).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// Hit rates of the same signals with their timestamps shuffled among themselves
/// (Fisher–Yates with a seeded splitmix64), at horizon `h`, one per shuffle. The views
/// stay with their signals; only the times move, so the baseline keeps the signals' mix
/// of bullish and bearish views and their distribution over the day. Signals whose
/// shuffled time cannot be labelled are left out of that shuffle's rate.
#[must_use]
pub fn shuffled_hit_rates(
    inputs: &LabelInputs<'_>,
    signals: &[(Nanos, Direction)],
    h: Horizon,
    shuffles: u32,
    seed: u64,
) -> Vec<f64> {
    let mut rng = SplitMix::new(seed);
    let mut times: Vec<Nanos> = signals.iter().map(|s| s.0).collect();
    let mut out = Vec::with_capacity(shuffles as usize);
    for _ in 0..shuffles {
        for i in (1..times.len()).rev() {
            let j = usize::try_from(rng.below(i as u64 + 1)).unwrap_or(i);
            times.swap(i, j);
        }
        let (mut n, mut hits) = (0_u64, 0_u64);
        for (t, (_, view)) in times.iter().zip(signals) {
            if let Some(r) = signed_return_bp(inputs, *view, *t, h) {
                n += 1;
                hits += u64::from(r > 0.0);
            }
        }
        if n > 0 {
            out.push(crate::stats::lossy_u64(hits) / crate::stats::lossy_u64(n));
        }
    }
    out
}

/// The unconditional up-rate at horizon `h`: the share of windows starting every `step`
/// ns from each session's start (while inside it) in which the underlying rose. `None`
/// with no window the data covers.
#[must_use]
pub fn up_rate(inputs: &LabelInputs<'_>, h: Horizon, step: u64) -> Option<f64> {
    let step = step.max(1);
    let (mut n, mut up) = (0_u64, 0_u64);
    for s in inputs.sessions {
        let mut t = s.start;
        while t < s.end {
            if let Some(r) = signed_return_bp(inputs, Direction::Up, t, h) {
                n += 1;
                up += u64::from(r > 0.0);
            }
            t = t.saturating_add(step);
        }
    }
    (n > 0).then(|| crate::stats::lossy_u64(up) / crate::stats::lossy_u64(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Nanos = 1_000 * NANOS_PER_HOUR;
    const PX: i64 = 1_000_000_000;

    fn series(points: &[(u64, i64)]) -> MidSeries {
        let mut s = MidSeries::new();
        for &(t, p) in points {
            s.push(T0 + t * NANOS_PER_MINUTE, p * PX);
        }
        s
    }

    fn sig(id: u64, at_min: u64, view: Direction) -> DirectionalSignal {
        DirectionalSignal {
            signal_id: id,
            variant: Variant::V3,
            pattern: "sweep".into(),
            confidence: 0.8,
            fired_at: T0 + at_min * NANOS_PER_MINUTE,
            view,
            option: None,
        }
    }

    #[test]
    fn mid_to_mid_never_the_best_price() {
        // Up to 21100 at minute 2 then back to 20990 at minute 4: a 5-minute bullish
        // label is a miss (the best price reached does not count).
        let u = series(&[(0, 21_000), (2, 21_100), (4, 20_990), (10, 21_050)]);
        let options = BTreeMap::new();
        let sessions = [SessionWindow {
            start: T0,
            end: T0 + 10 * NANOS_PER_MINUTE,
        }];
        let inputs = LabelInputs {
            underlying: &u,
            options: &options,
            sessions: &sessions,
        };
        let (labels, st) = label_signals(
            &inputs,
            &[sig(1, 0, Direction::Up), sig(2, 1, Direction::Down)],
            &[Horizon::Fixed(5 * NANOS_PER_MINUTE), Horizon::SessionClose],
        );
        assert_eq!(st.labelled, 4);
        let l = &labels[0];
        assert_eq!((l.entry_mid, l.exit_mid), (21_000 * PX, 20_990 * PX));
        assert!((l.signed_return_bp - (-10.0 / 21_000.0 * 1e4)).abs() < 1e-9);
        assert!(!l.hit);
        // The bearish signal at minute 1 (mid 21000) exits at minute 6 (20990): a hit.
        assert!(labels[1].hit);
        assert!((labels[1].signed_return_bp - 10.0 / 21_000.0 * 1e4).abs() < 1e-9);
        // Windows [0,5] and [1,6] overlap: one cluster.
        assert_eq!((labels[0].cluster, labels[1].cluster), (0, 0));
        // Session close at minute 10 (21050).
        assert_eq!(labels[2].exit_mid, 21_050 * PX);
        assert!(labels[2].hit && !labels[3].hit);
    }

    #[test]
    fn horizons_beyond_the_data_are_counted_not_guessed() {
        let u = series(&[(0, 100), (3, 101)]);
        let options = BTreeMap::new();
        let inputs = LabelInputs {
            underlying: &u,
            options: &options,
            sessions: &[],
        };
        let (labels, st) = label_signals(
            &inputs,
            &[sig(1, 0, Direction::Up)],
            &[Horizon::Fixed(5 * NANOS_PER_MINUTE), Horizon::SessionClose],
        );
        assert!(labels.is_empty());
        assert_eq!(st.horizon_not_reached, 2);
        let mut u = u.clone();
        u.set_covered_until(T0 + 5 * NANOS_PER_MINUTE);
        let inputs = LabelInputs {
            underlying: &u,
            options: &options,
            sessions: &[],
        };
        let (labels, _) = label_signals(
            &inputs,
            &[sig(1, 0, Direction::Up)],
            &[Horizon::Fixed(5 * NANOS_PER_MINUTE)],
        );
        assert_eq!(labels[0].exit_mid, 101 * PX);
    }

    #[test]
    fn option_pnl_crosses_the_spread_and_hedges_the_delta() {
        let u = series(&[(0, 21_000), (30, 21_010)]);
        let mut q = QuoteSeries::new();
        q.push(T0, 10 * PX, 11 * PX);
        q.push(T0 + 30 * NANOS_PER_MINUTE, 14 * PX, 15 * PX);
        let options = BTreeMap::from([(7_u32, q)]);
        let inputs = LabelInputs {
            underlying: &u,
            options: &options,
            sessions: &[],
        };
        let mut s = sig(1, 0, Direction::Up);
        s.option = Some(OptionTrade {
            instrument: 7,
            side: Direction::Up,
            delta: 0.25,
            multiplier: 20,
        });
        let (labels, _) = label_signals(&inputs, &[s], &[Horizon::Fixed(30 * NANOS_PER_MINUTE)]);
        let o = labels[0].option.unwrap();
        // Bought at 11, sold at 14: 3 × 20 = 60. Hedge: 0.25 × 10 points × 20 = 50.
        assert_eq!((o.entry_px, o.exit_px), (11 * PX, 14 * PX));
        assert_eq!(o.pnl, Decimal::from(60));
        assert_eq!(o.hedged_pnl, Decimal::from(10));
        // Half spreads 0.5 + 0.5 over the entry mid 10.5.
        assert!((o.cost_bp - 1.0 / 10.5 * 1e4).abs() < 1e-9);
    }

    #[test]
    fn bad_points_are_counted() {
        let mut s = MidSeries::new();
        assert!(s.push(10, 5));
        assert!(!s.push(11, 0));
        assert!(!s.push(9, 5));
        assert_eq!((s.skipped_nonpositive(), s.skipped_out_of_order()), (1, 1));
        let mut q = QuoteSeries::new();
        assert!(!q.push(1, 6, 5));
        assert!(!q.push(1, 0, 5));
        assert_eq!(q.skipped_invalid(), 2);
    }

    #[test]
    fn horizon_names_and_session_exits() {
        let names: Vec<String> = Horizon::standard().into_iter().map(Horizon::name).collect();
        assert_eq!(names, ["5m", "30m", "1h", "close", "next"]);
        let sessions = [
            SessionWindow { start: 0, end: 10 },
            SessionWindow { start: 20, end: 30 },
        ];
        assert_eq!(Horizon::SessionClose.exit_at(5, &sessions), Some(10));
        assert_eq!(Horizon::NextSessionClose.exit_at(5, &sessions), Some(30));
        assert_eq!(Horizon::NextSessionClose.exit_at(25, &sessions), None);
        assert_eq!(Horizon::SessionClose.exit_at(15, &sessions), None);
    }

    #[test]
    fn shuffles_are_deterministic_permutations() {
        let mut a = SplitMix::new(3);
        let mut b = SplitMix::new(3);
        for _ in 0..10 {
            assert_eq!(a.below(7), b.below(7));
        }
    }
}

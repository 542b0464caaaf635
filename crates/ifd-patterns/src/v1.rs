//! The v1.0 "dead simple" volume-spike detector, kept as the rollout's baseline and
//! fallback.
//!
//! v1.0 flagged a strike when, on a chain snapshot, volume / open interest ≥ 10, volume
//! ≥ 500 and dollar size (volume × price × $20) ≥ $100,000. On MBO the same idea reads
//! aggressor volume in a tumbling window (default 5 minutes of `ts_recv`) per
//! instrument, and fires the moment the window's volume crosses every threshold:
//!
//! - volume ≥ `min_volume` and premium ≥ `min_premium` (v1.0's 500 contracts and
//!   $100,000 applied to a day's volume; the defaults scale them to a 5-minute window);
//! - if a statistics record gave the instrument's open interest: volume / OI ≥
//!   `min_volume_oi_ratio`; otherwise volume ≥ `min_spike_ratio` × the instrument's
//!   average window volume (from the baseline when one scores it, else the average of
//!   the instrument's earlier windows this session, which needs `min_prior_windows`).
//!
//! Its side is the window's dominant aggressor side, its confidence the predecessor's
//! bands on the ratio (≥ 50: 0.95, ≥ 30: 0.85, ≥ 20: 0.75, else 0.6), and it reports no
//! p- or q-value. It ignores market-maker recognition on purpose: it is the v1.0 logic.
//! One signal per instrument and window.

use dbn::{StatMsg, StatType};
use ifd_pressure::AggressorEvent;
use rust_decimal::Decimal;

use crate::signal::{
    expiration_date, fixed_to_decimal, flow_id, ContractKind, DetectorVersion, Direction, Evidence,
    FlowSide, Pattern, Signal,
};
use crate::view::{MarketView, Reference, ReferenceMetric};
use ifd_pressure::IdMap;

/// Thresholds of the v1 detector.
#[derive(Debug, Clone, PartialEq)]
pub struct V1Config {
    /// Window length (default 5 min).
    pub window_ns: u64,
    /// Smallest window volume (default 100: v1.0's 500 was a whole day's snapshot
    /// volume; a 5-minute window is scaled down).
    pub min_volume: u64,
    /// Smallest window premium in USD (default 25,000, v1.0's $100,000 scaled likewise).
    pub min_premium: Decimal,
    /// Smallest volume / open interest (default 10, as v1.0).
    pub min_volume_oi_ratio: f64,
    /// Smallest volume / average window volume when no open interest is known
    /// (default 5).
    pub min_spike_ratio: f64,
    /// Earlier windows needed for an intraday average (default 3).
    pub min_prior_windows: u32,
}

impl Default for V1Config {
    fn default() -> Self {
        Self {
            window_ns: 300_000_000_000,
            min_volume: 100,
            min_premium: Decimal::from(25_000),
            min_volume_oi_ratio: 10.0,
            min_spike_ratio: 5.0,
            min_prior_windows: 3,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct WindowState {
    window: u64,
    buy: u64,
    sell: u64,
    premium: Decimal,
    events: u32,
    fired: bool,
    first_ts: u64,
    prior_windows: u32,
    prior_volume: u64,
}

/// Counters of the v1 detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct V1Stats {
    /// Aggressor events offered.
    pub events: u64,
    /// Events skipped (unknown side or instrument, or a bad `ts_recv`).
    pub skipped: u64,
    /// Open-interest statistics applied.
    pub open_interest_updates: u64,
    /// Signals raised.
    pub signals: u64,
}

/// The v1.0 volume-spike detector on MBO aggressor volume.
#[derive(Debug, Clone, Default)]
pub struct VolumeSpikeDetector {
    config: V1Config,
    windows: IdMap<u32, WindowState>,
    open_interest: IdMap<u32, u64>,
    stats: V1Stats,
}

impl VolumeSpikeDetector {
    /// A detector with the given thresholds.
    #[must_use]
    pub fn new(config: V1Config) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> V1Stats {
        self.stats
    }

    /// Takes open interest from a statistics record (other statistics are ignored).
    pub fn on_stat(&mut self, stat: &StatMsg) {
        if matches!(stat.stat_type(), Ok(StatType::OpenInterest))
            && stat.quantity != dbn::UNDEF_STAT_QUANTITY
            && stat.quantity > 0
        {
            if let Ok(q) = u64::try_from(stat.quantity) {
                self.open_interest.insert(stat.hd.instrument_id, q);
                self.stats.open_interest_updates += 1;
            }
        }
    }

    /// Offers one aggressor event; pushes a signal when its window crosses the thresholds.
    pub fn on_event<V: MarketView + ?Sized, R: Reference + ?Sized>(
        &mut self,
        ev: &AggressorEvent,
        view: &V,
        reference: &R,
        out: &mut Vec<Signal>,
    ) {
        self.stats.events += 1;
        let cfg = &self.config;
        let (Some(side), Some(contract), false) = (
            FlowSide::from_aggressor(ev.side),
            view.contract(ev.instrument_id),
            ev.bad_ts_recv,
        ) else {
            self.stats.skipped += 1;
            return;
        };
        let window = ev.ts_recv / cfg.window_ns.max(1);
        let st = self.windows.entry(ev.instrument_id).or_default();
        if st.window != window || st.events == 0 {
            if st.events > 0 {
                st.prior_windows += 1;
                st.prior_volume += st.buy + st.sell;
            }
            st.window = window;
            st.buy = 0;
            st.sell = 0;
            st.premium = Decimal::ZERO;
            st.events = 0;
            st.fired = false;
            st.first_ts = ev.ts_recv;
        }
        match side {
            FlowSide::Buy => st.buy += ev.size,
            FlowSide::Sell => st.sell += ev.size,
        }
        st.premium += ev.premium;
        st.events += 1;
        let volume = st.buy + st.sell;
        if st.fired || volume < cfg.min_volume || st.premium < cfg.min_premium {
            return;
        }
        #[allow(clippy::cast_precision_loss, reason = "volumes far below 2^52")]
        let vol_f = volume as f64;
        let oi = self.open_interest.get(&ev.instrument_id).copied();
        let (ratio, threshold) = if let Some(oi) = oi {
            #[allow(clippy::cast_precision_loss, reason = "open interest far below 2^52")]
            (vol_f / oi as f64, cfg.min_volume_oi_ratio)
        } else {
            let underlying = view.underlying_price(contract);
            let dominant = if st.buy >= st.sell {
                FlowSide::Buy
            } else {
                FlowSide::Sell
            };
            #[allow(clippy::cast_precision_loss, reason = "volumes far below 2^52")]
            let typical = reference
                .assess(
                    contract,
                    underlying,
                    ev.ts_recv,
                    ReferenceMetric::volume(dominant, cfg.window_ns),
                    st.buy.max(st.sell) as f64,
                )
                .map(|a| a.typical)
                .filter(|t| t.is_finite() && *t > 0.0)
                .or_else(|| {
                    #[allow(clippy::cast_precision_loss, reason = "volumes far below 2^52")]
                    let avg = st.prior_volume as f64 / f64::from(st.prior_windows.max(1));
                    (st.prior_windows >= cfg.min_prior_windows).then_some(avg.max(1.0))
                });
            match typical {
                Some(t) => (vol_f / t, cfg.min_spike_ratio),
                None => return,
            }
        };
        if !(ratio.is_finite() && ratio >= threshold && view.is_healthy(ev.instrument_id)) {
            return;
        }
        st.fired = true;
        let flow_side = if st.buy >= st.sell {
            FlowSide::Buy
        } else {
            FlowSide::Sell
        };
        let confidence = if ratio >= 50.0 {
            0.95
        } else if ratio >= 30.0 {
            0.85
        } else if ratio >= 20.0 {
            0.75
        } else {
            0.6
        };
        let signal = Signal {
            signal_id: flow_id(
                DetectorVersion::V1,
                Pattern::VolumeSpike,
                u64::from(ev.instrument_id),
                window,
            ),
            revision: 0,
            ts_recv: ev.ts_recv,
            ts_event: ev.ts_event,
            instrument_id: ev.instrument_id,
            instruments: vec![ev.instrument_id],
            raw_symbol: contract.raw_symbol.clone(),
            underlying: contract.underlying.clone(),
            expiration: expiration_date(contract),
            strike: fixed_to_decimal(contract.strike),
            kind: ContractKind::from(contract.kind),
            pattern: Pattern::VolumeSpike,
            side: flow_side,
            direction: Direction::of(contract.kind, flow_side),
            size: volume,
            premium: st.premium,
            confidence,
            p_value: None,
            q_value: None,
            detector: DetectorVersion::V1,
            evidence: Evidence {
                events: st.events,
                levels: 1,
                strikes: 1,
                orders: Vec::new(),
                window_start: st.first_ts,
                window_end: ev.ts_recv,
                threshold,
                observed: ratio,
                #[allow(clippy::cast_precision_loss, reason = "volumes far below 2^52")]
                one_sidedness: st.buy.max(st.sell) as f64 / vol_f,
                mm_likelihood: 0.0,
                z_score: None,
                baseline_days: None,
                activity_factor: None,
                open_interest: oi,
            },
            underlying_price: None,
            underlying_source: None,
            iv: None,
            delta: None,
            delta_notional: None,
            vega_notional: None,
            aggressiveness: None,
            opening: None,
            structure: None,
            legs: None,
            net_delta_notional: None,
        };
        let mut signal = signal;
        crate::detect::enrich(
            &mut signal,
            contract,
            Some(ev.vwap_px),
            crate::signal::Aggressiveness::of(ev.vwap_px, &ev.bbo_before),
            view,
        );
        self.stats.signals += 1;
        out.push(signal);
    }
}

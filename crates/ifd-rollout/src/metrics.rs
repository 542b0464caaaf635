//! Success metrics per variant and per pattern, each against its seed target.
//!
//! # Definitions (for one horizon)
//! - **accuracy** = wins / resolved outcomes (flats count as not-wins). Fed with
//!   [`MetricsBook::record_label`], a win is a hit of the fixed-horizon label (the
//!   underlying's signed mid-to-mid return is positive), so accuracy is the hit rate.
//! - **win/loss count ratio** = wins / losses, by [`Label`]; `None` with no loss.
//! - **avg-win/avg-loss ratio** (payoff ratio) = mean P&L of the outcomes with positive
//!   P&L / mean |P&L| of those with negative P&L; `None` without both.
//! - **ROI** = total P&L of resolved outcomes / data cost of the variant (cost from
//!   `ifd-budget`, passed in with [`MetricsBook::set_data_cost`]); `None` at zero cost.
//! - **ROI improvement** of v3 = `(roi_v3 − roi_v1) / |roi_v1|`; `None` when v1's ROI is
//!   zero or unknown.
//! - **cost per signal** = data cost / signals *fired* (pending ones included: the data was
//!   paid for every signal, whatever its outcome).
//! - **EV per signal** = mean P&L of resolved outcomes with its 95 % Student-t interval.
//! - **signals per day** = signals fired / days since the book's start.
//! - **latency p99, uptime, error rate**: passed in from the engine's monitors.
//!
//! Seed targets ([`Targets::default`]): accuracy > 75 %, win/loss > 1.8 (both ratios are
//! shown against it), cost per signal < $5, ROI > 25 % better than v1. An unknown value
//! never meets a target.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::labels::{Horizon, SignalLabel};
use crate::outcome::{Label, Outcome};
use crate::stats::{lossy_u64, mean_ci, MeanCi, RunningStats};
use crate::types::{Nanos, PatternLabel, Variant, NANOS_PER_DAY};

/// `Decimal` to `f64` for statistics and display; `NaN` if it cannot be represented.
#[must_use]
pub fn lossy_decimal(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// The seed targets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// Accuracy must exceed this.
    pub accuracy_min: f64,
    /// Win/loss ratios must exceed this.
    pub win_loss_min: f64,
    /// Cost per signal must be below this (currency).
    pub cost_per_signal_max: Decimal,
    /// v3's ROI must beat v1's by more than this fraction.
    pub roi_improvement_min: f64,
}

impl Default for Targets {
    /// Accuracy > 0.75, win/loss > 1.8, cost per signal < $5, ROI improvement > 0.25.
    fn default() -> Self {
        Self {
            accuracy_min: 0.75,
            win_loss_min: 1.8,
            cost_per_signal_max: Decimal::from(5),
            roi_improvement_min: 0.25,
        }
    }
}

/// Figures from the engine's monitors for one variant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EngineHealth {
    /// 99th percentile of decision latency, milliseconds.
    pub latency_p99_ms: f64,
    /// Time-weighted uptime during market hours, as a fraction in `[0, 1]`.
    pub uptime: f64,
    /// Errors per decision, as a fraction.
    pub error_rate: f64,
}

impl EngineHealth {
    /// True when every figure is finite and in its domain.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.latency_p99_ms.is_finite()
            && self.latency_p99_ms >= 0.0
            && (0.0..=1.0).contains(&self.uptime)
            && (0.0..=1.0).contains(&self.error_rate)
    }
}

/// Counts and sums for one variant (or one variant and pattern).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Signals fired.
    pub signals: u64,
    /// Outcomes resolved.
    pub resolved: u64,
    /// Wins.
    pub wins: u64,
    /// Losses.
    pub losses: u64,
    /// Flats.
    pub flats: u64,
    /// Total P&L of resolved outcomes.
    pub pnl_total: Decimal,
    /// Sum of positive P&Ls.
    pub gain_total: Decimal,
    /// Outcomes with positive P&L.
    pub gains: u64,
    /// Sum of |negative P&Ls|.
    pub pain_total: Decimal,
    /// Outcomes with negative P&L.
    pub pains: u64,
    /// P&L as `f64` for the confidence interval.
    pub pnl_stats: RunningStats,
}

impl Tally {
    fn add_outcome(&mut self, o: &Outcome) {
        self.add(o.label, Some(o.pnl));
    }

    fn add(&mut self, label: Label, pnl: Option<Decimal>) {
        self.resolved += 1;
        match label {
            Label::Win => self.wins += 1,
            Label::Loss => self.losses += 1,
            Label::Flat => self.flats += 1,
        }
        let Some(pnl) = pnl else {
            return;
        };
        self.pnl_total += pnl;
        if pnl > Decimal::ZERO {
            self.gain_total += pnl;
            self.gains += 1;
        } else if pnl < Decimal::ZERO {
            self.pain_total -= pnl;
            self.pains += 1;
        }
        self.pnl_stats.push(lossy_decimal(pnl));
    }

    /// wins / resolved.
    #[must_use]
    pub fn accuracy(&self) -> Option<f64> {
        (self.resolved > 0).then(|| lossy_u64(self.wins) / lossy_u64(self.resolved))
    }

    /// wins / losses.
    #[must_use]
    pub fn win_loss_count_ratio(&self) -> Option<f64> {
        (self.losses > 0).then(|| lossy_u64(self.wins) / lossy_u64(self.losses))
    }

    /// Mean positive P&L / mean |negative P&L|.
    #[must_use]
    pub fn avg_win_over_avg_loss(&self) -> Option<f64> {
        if self.gains == 0 || self.pains == 0 {
            return None;
        }
        let avg_gain = self.gain_total / Decimal::from(self.gains);
        let avg_pain = self.pain_total / Decimal::from(self.pains);
        let r = lossy_decimal(avg_gain) / lossy_decimal(avg_pain);
        r.is_finite().then_some(r)
    }

    /// Mean P&L per resolved outcome with its 95 % interval.
    #[must_use]
    pub fn ev_per_signal(&self) -> Option<MeanCi> {
        mean_ci(&self.pnl_stats, 0.95)
    }
}

/// Metrics of one variant (or one variant and pattern).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantReport {
    /// The variant.
    pub variant: Variant,
    /// The pattern, or `None` for all patterns.
    pub pattern: Option<PatternLabel>,
    /// Raw counts.
    pub tally: Tally,
    /// wins / resolved.
    pub accuracy: Option<f64>,
    /// wins / losses.
    pub win_loss_count_ratio: Option<f64>,
    /// mean win / mean loss.
    pub avg_win_over_avg_loss: Option<f64>,
    /// P&L / data cost (variant level only).
    pub roi: Option<f64>,
    /// Data cost / signals fired (variant level only).
    pub cost_per_signal: Option<Decimal>,
    /// Mean P&L with 95 % interval.
    pub ev_per_signal: Option<MeanCi>,
    /// Signals per day.
    pub signals_per_day: Option<f64>,
    /// Engine figures (variant level only).
    pub health: Option<EngineHealth>,
}

/// The metric a [`TargetCheck`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Metric {
    /// Accuracy.
    Accuracy,
    /// Wins over losses, by count.
    WinLossCountRatio,
    /// Mean win over mean loss.
    AvgWinOverAvgLoss,
    /// Cost per signal.
    CostPerSignal,
    /// v3's ROI relative to v1's.
    RoiImprovementVsV1,
}

impl Metric {
    /// A short name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::WinLossCountRatio => "win/loss (count)",
            Self::AvgWinOverAvgLoss => "win/loss (avg win/avg loss)",
            Self::CostPerSignal => "cost per signal ($)",
            Self::RoiImprovementVsV1 => "ROI improvement vs v1",
        }
    }
}

/// One metric of one variant against its target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetCheck {
    /// Which metric.
    pub metric: Metric,
    /// Which variant.
    pub variant: Variant,
    /// Its value (`None` when unknown).
    pub value: Option<f64>,
    /// The target.
    pub target: f64,
    /// `true` when the target must be exceeded, `false` when the value must stay below.
    pub higher_is_better: bool,
    /// Met? Unknown values never meet a target.
    pub met: bool,
}

/// Everything [`MetricsBook::report`] knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    /// The horizon the outcomes were measured over.
    pub horizon_ns: u64,
    /// Days covered.
    pub days: f64,
    /// One per variant.
    pub variants: Vec<VariantReport>,
    /// One per variant and pattern.
    pub patterns: Vec<VariantReport>,
    /// v3's ROI relative to v1's.
    pub roi_improvement_vs_v1: Option<f64>,
    /// Each metric against its target.
    pub checks: Vec<TargetCheck>,
}

impl MetricsReport {
    /// True when every v3 check is met.
    #[must_use]
    pub fn v3_meets_all_targets(&self) -> bool {
        self.checks
            .iter()
            .filter(|c| c.variant == Variant::V3)
            .all(|c| c.met)
    }
}

/// Accumulates signals and outcomes of one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsBook {
    horizon_ns: u64,
    targets: Targets,
    start: Nanos,
    variants: BTreeMap<Variant, Tally>,
    patterns: BTreeMap<(Variant, PatternLabel), Tally>,
    data_cost: BTreeMap<Variant, Decimal>,
    health: BTreeMap<Variant, EngineHealth>,
    other_horizon: u64,
    invalid_health: u64,
}

impl MetricsBook {
    /// A book for outcomes of `horizon_ns`, covering time from `start`.
    #[must_use]
    pub fn new(horizon_ns: u64, targets: Targets, start: Nanos) -> Self {
        Self {
            horizon_ns,
            targets,
            start,
            variants: BTreeMap::new(),
            patterns: BTreeMap::new(),
            data_cost: BTreeMap::new(),
            health: BTreeMap::new(),
            other_horizon: 0,
            invalid_health: 0,
        }
    }

    /// A signal fired (counted for cost per signal and signals per day).
    pub fn record_signal(&mut self, variant: Variant, pattern: &str) {
        self.variants.entry(variant).or_default().signals += 1;
        self.patterns
            .entry((variant, pattern.to_owned()))
            .or_default()
            .signals += 1;
    }

    /// An outcome resolved. Outcomes of another horizon are ignored and counted
    /// ([`MetricsBook::other_horizon_outcomes`]); returns whether it was taken.
    pub fn record_outcome(&mut self, o: &Outcome) -> bool {
        if o.horizon_ns != self.horizon_ns {
            self.other_horizon += 1;
            return false;
        }
        self.variants.entry(o.variant).or_default().add_outcome(o);
        self.patterns
            .entry((o.variant, o.pattern.clone()))
            .or_default()
            .add_outcome(o);
        true
    }

    /// A label (see [`crate::labels`]) of this book's horizon (`Horizon::Fixed`): a hit
    /// counts as a win, a negative signed return as a loss, a zero one as flat, so that
    /// accuracy is the hit rate; the option P&L, when the label has one, feeds the P&L
    /// figures. Labels of another horizon are ignored and counted; returns whether it
    /// was taken. Feed a book with labels or with outcomes, not both.
    pub fn record_label(&mut self, l: &SignalLabel) -> bool {
        if l.horizon != Horizon::Fixed(self.horizon_ns) {
            self.other_horizon += 1;
            return false;
        }
        let label = if l.hit {
            Label::Win
        } else if l.signed_return_bp < 0.0 {
            Label::Loss
        } else {
            Label::Flat
        };
        let pnl = l.option.map(|o| o.pnl);
        self.variants.entry(l.variant).or_default().add(label, pnl);
        self.patterns
            .entry((l.variant, l.pattern.clone()))
            .or_default()
            .add(label, pnl);
        true
    }

    /// The data cost attributed to `variant` over the book's period (from `ifd-budget`).
    pub fn set_data_cost(&mut self, variant: Variant, cost: Decimal) {
        self.data_cost.insert(variant, cost);
    }

    /// The engine's latest figures for `variant`. Invalid figures (NaN, out of domain)
    /// are not stored and are counted; returns whether they were taken.
    pub fn set_health(&mut self, variant: Variant, health: EngineHealth) -> bool {
        if !health.is_valid() {
            self.invalid_health += 1;
            self.health.remove(&variant);
            return false;
        }
        self.health.insert(variant, health);
        true
    }

    /// Outcomes ignored because of their horizon.
    #[must_use]
    pub const fn other_horizon_outcomes(&self) -> u64 {
        self.other_horizon
    }

    /// Health figures refused because they were invalid.
    #[must_use]
    pub const fn invalid_health_updates(&self) -> u64 {
        self.invalid_health
    }

    /// The tally of a variant.
    #[must_use]
    pub fn tally(&self, variant: Variant) -> Option<&Tally> {
        self.variants.get(&variant)
    }

    fn roi(&self, variant: Variant, t: &Tally) -> Option<f64> {
        let cost = *self.data_cost.get(&variant)?;
        if cost <= Decimal::ZERO {
            return None;
        }
        t.pnl_total
            .checked_div(cost)
            .map(lossy_decimal)
            .filter(|r| r.is_finite())
    }

    fn cost_per_signal(&self, variant: Variant, t: &Tally) -> Option<Decimal> {
        let cost = *self.data_cost.get(&variant)?;
        (t.signals > 0).then(|| cost / Decimal::from(t.signals))
    }

    /// The report at `now`.
    #[must_use]
    pub fn report(&self, now: Nanos) -> MetricsReport {
        let days = lossy_u64(now.saturating_sub(self.start)) / lossy_u64(NANOS_PER_DAY);
        let per_day = |t: &Tally| (days > 0.0).then(|| lossy_u64(t.signals) / days);
        let empty = Tally::default();
        let mut variants = Vec::new();
        for v in Variant::ALL {
            let t = self.variants.get(&v).unwrap_or(&empty);
            variants.push(VariantReport {
                variant: v,
                pattern: None,
                accuracy: t.accuracy(),
                win_loss_count_ratio: t.win_loss_count_ratio(),
                avg_win_over_avg_loss: t.avg_win_over_avg_loss(),
                roi: self.roi(v, t),
                cost_per_signal: self.cost_per_signal(v, t),
                ev_per_signal: t.ev_per_signal(),
                signals_per_day: per_day(t),
                health: self.health.get(&v).copied(),
                tally: t.clone(),
            });
        }
        let patterns = self
            .patterns
            .iter()
            .map(|((v, p), t)| VariantReport {
                variant: *v,
                pattern: Some(p.clone()),
                accuracy: t.accuracy(),
                win_loss_count_ratio: t.win_loss_count_ratio(),
                avg_win_over_avg_loss: t.avg_win_over_avg_loss(),
                roi: None,
                cost_per_signal: None,
                ev_per_signal: t.ev_per_signal(),
                signals_per_day: per_day(t),
                health: None,
                tally: t.clone(),
            })
            .collect();
        let roi_improvement_vs_v1 = match (variants[0].roi, variants[1].roi) {
            (Some(r1), Some(r3)) if r1 != 0.0 => Some((r3 - r1) / r1.abs()),
            _ => None,
        };
        let tg = self.targets;
        let above = |value: Option<f64>, target: f64| value.is_some_and(|x| x > target);
        let mut checks = Vec::new();
        for r in &variants {
            let v = r.variant;
            let mut push = |metric, value: Option<f64>, target: f64, higher: bool, met: bool| {
                checks.push(TargetCheck {
                    metric,
                    variant: v,
                    value,
                    target,
                    higher_is_better: higher,
                    met,
                });
            };
            push(
                Metric::Accuracy,
                r.accuracy,
                tg.accuracy_min,
                true,
                above(r.accuracy, tg.accuracy_min),
            );
            push(
                Metric::WinLossCountRatio,
                r.win_loss_count_ratio,
                tg.win_loss_min,
                true,
                above(r.win_loss_count_ratio, tg.win_loss_min),
            );
            push(
                Metric::AvgWinOverAvgLoss,
                r.avg_win_over_avg_loss,
                tg.win_loss_min,
                true,
                above(r.avg_win_over_avg_loss, tg.win_loss_min),
            );
            push(
                Metric::CostPerSignal,
                r.cost_per_signal.map(lossy_decimal),
                lossy_decimal(tg.cost_per_signal_max),
                false,
                r.cost_per_signal
                    .is_some_and(|c| c < tg.cost_per_signal_max),
            );
            if v == Variant::V3 {
                push(
                    Metric::RoiImprovementVsV1,
                    roi_improvement_vs_v1,
                    tg.roi_improvement_min,
                    true,
                    above(roi_improvement_vs_v1, tg.roi_improvement_min),
                );
            }
        }
        MetricsReport {
            horizon_ns: self.horizon_ns,
            days,
            variants,
            patterns,
            roi_improvement_vs_v1,
            checks,
        }
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"))
}

impl fmt::Display for MetricsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "horizon {} min, {:.2} days",
            self.horizon_ns / crate::types::NANOS_PER_MINUTE,
            self.days
        )?;
        writeln!(
            f,
            "{:<4} {:<14} {:>7} {:>8} {:>6} {:>7} {:>7} {:>8} {:>8} {:>22} {:>7} {:>8} {:>8}",
            "var",
            "pattern",
            "signals",
            "resolved",
            "acc",
            "wl_cnt",
            "wl_avg",
            "roi",
            "$/sig",
            "ev/sig [95% ci]",
            "sig/day",
            "p99 ms",
            "uptime"
        )?;
        for r in self.variants.iter().chain(&self.patterns) {
            let ev = r.ev_per_signal.map_or_else(
                || "-".to_owned(),
                |c| format!("{:.2} [{:.2},{:.2}]", c.mean, c.lower, c.upper),
            );
            writeln!(
                f,
                "{:<4} {:<14} {:>7} {:>8} {:>6} {:>7} {:>7} {:>8} {:>8} {:>22} {:>7} {:>8} {:>8}",
                r.variant.as_str(),
                r.pattern.as_deref().unwrap_or("(all)"),
                r.tally.signals,
                r.tally.resolved,
                opt(r.accuracy, 3),
                opt(r.win_loss_count_ratio, 2),
                opt(r.avg_win_over_avg_loss, 2),
                opt(r.roi, 2),
                r.cost_per_signal
                    .map_or_else(|| "-".to_owned(), |c| format!("{:.2}", c.round_dp(2))),
                ev,
                opt(r.signals_per_day, 1),
                opt(r.health.map(|h| h.latency_p99_ms), 1),
                opt(r.health.map(|h| h.uptime * 100.0), 3),
            )?;
        }
        writeln!(f, "targets:")?;
        for c in &self.checks {
            writeln!(
                f,
                "  {:<3} {:<28} {:>10} {} {:<6} {}",
                c.variant.as_str(),
                c.metric.as_str(),
                opt(c.value, 3),
                if c.higher_is_better { ">" } else { "<" },
                c.target,
                if c.met { "met" } else { "NOT met" }
            )?;
        }
        Ok(())
    }
}

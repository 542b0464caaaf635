//! Statistics of labelled signals that survive scrutiny, per variant and horizon, and per
//! pattern and confidence decile.
//!
//! For every group of [`SignalLabel`]s ([`group_stats`]):
//! - **Hit rate** with its Wilson interval and the exact one-sided binomial p-value
//!   against ½ (independent signals), and the same test on cluster means (overlapping
//!   signals are one unit, see [`crate::labels`]).
//! - **Against the unconditional up-rate** `u` of the horizon: a guesser that says "up"
//!   as often as the signals do (share `q`) hits `q·u + (1−q)(1−u)` on average; the
//!   excess over that is reported.
//! - **Against a shuffled-timestamp baseline**: the signals' times permuted among
//!   themselves (seeded, deterministic) many times; the p-value is the share of
//!   shuffles whose hit rate reaches the observed one (`(1 + k)/(1 + K)`).
//! - **Pesaran–Timmermann** test of directional accuracy (1992): forecasts "up" against
//!   realised "up", statistic `(P − P*)/√(V(P) − V(P*))`, one-sided normal p-value.
//! - **Mean signed return** in bp with a cluster-robust standard error (clusters of
//!   overlapping windows; `G/(G−1)` small-sample factor), one-sided Student-t p-value
//!   with `G − 1` degrees of freedom; the same net of the round-trip cost in bp.
//!   The same mean with the Hansen–Hodrick error for overlapping windows
//!   ([`overlap_hac_mean`]), which keeps power when chained clusters are few.
//! - **Win/loss ratio** = mean positive signed return / mean |negative| one.
//! - **Option P&L** and **delta-hedged P&L** means per contract, and the mean spread
//!   cost the option trade paid, when the signals named options.
//!
//! [`outcome_table`] builds every row, and [`OutcomeTable::best`] names the best row of a
//! metric *with the number of rows it was chosen from* (plus the variants the caller says
//! it tried before), so a best figure never travels without its multiple-testing context.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Normal, StudentsT};

use crate::labels::{shuffled_hit_rates, up_rate, Horizon, LabelInputs, SignalLabel};
use crate::metrics::lossy_decimal;
use crate::stats::lossy_u64;
use crate::types::{Direction, Nanos, PatternLabel, Variant, NANOS_PER_MINUTE};

/// The Wilson score interval of `hits` out of `n` at `level` (e.g. 0.95); `None` with
/// `n = 0` or a level outside `(0, 1)`.
#[must_use]
pub fn wilson_interval(hits: u64, n: u64, level: f64) -> Option<(f64, f64)> {
    if n == 0 || hits > n || !(level > 0.0 && level < 1.0) {
        return None;
    }
    let z = Normal::standard().inverse_cdf(0.5 + level / 2.0);
    let nf = lossy_u64(n);
    let p = lossy_u64(hits) / nf;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = z / (1.0 + z2 / nf) * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// `P(X ≥ hits)` for `X ~ Binomial(n, p0)`: the exact one-sided p-value of a hit rate
/// above `p0`. `None` when `p0` is outside `[0, 1]` or `hits > n`.
#[must_use]
pub fn binomial_p_at_least(hits: u64, n: u64, p0: f64) -> Option<f64> {
    if hits > n {
        return None;
    }
    if hits == 0 {
        return Some(1.0);
    }
    let b = Binomial::new(p0, n).ok()?;
    Some(b.sf(hits - 1).clamp(0.0, 1.0))
}

/// The Pesaran–Timmermann test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PesaranTimmermann {
    /// Share of correct directional forecasts `P`.
    pub p_hat: f64,
    /// The share expected under independence `P* = Py·Px + (1−Py)(1−Px)`.
    pub p_star: f64,
    /// `(P − P*)/√(V(P) − V(P*))`, asymptotically standard normal under independence.
    pub statistic: f64,
    /// One-sided p-value `1 − Φ(statistic)`.
    pub p_value: f64,
}

/// The Pesaran–Timmermann (1992) test on `(forecast up, realised up)` pairs; `None` with
/// fewer than two pairs, or when forecasts or outcomes never vary (the variance is zero).
#[must_use]
pub fn pesaran_timmermann(pairs: &[(bool, bool)]) -> Option<PesaranTimmermann> {
    let n = lossy_u64(pairs.len() as u64);
    if pairs.len() < 2 {
        return None;
    }
    let count =
        |f: &dyn Fn(&(bool, bool)) -> bool| lossy_u64(pairs.iter().filter(|p| f(p)).count() as u64);
    let p_hat = count(&|p| p.0 == p.1) / n;
    let px = count(&|p| p.0) / n;
    let py = count(&|p| p.1) / n;
    let p_star = py * px + (1.0 - py) * (1.0 - px);
    let v_p = p_star * (1.0 - p_star) / n;
    let v_star = ((2.0 * py - 1.0).powi(2) * px * (1.0 - px)
        + (2.0 * px - 1.0).powi(2) * py * (1.0 - py))
        / n
        + 4.0 * py * px * (1.0 - py) * (1.0 - px) / (n * n);
    let var = v_p - v_star;
    if !(var > 0.0 && var.is_finite()) {
        return None;
    }
    let statistic = (p_hat - p_star) / var.sqrt();
    Some(PesaranTimmermann {
        p_hat,
        p_star,
        statistic,
        p_value: 1.0 - Normal::standard().cdf(statistic),
    })
}

/// A mean with a cluster-robust standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClusteredMean {
    /// Observations.
    pub n: u64,
    /// Clusters.
    pub clusters: u64,
    /// The mean.
    pub mean: f64,
    /// Its cluster-robust standard error.
    pub se: f64,
    /// `mean / se`.
    pub t: f64,
    /// One-sided p-value of `mean > 0` from Student's t with `clusters − 1` degrees.
    pub p_value: f64,
}

/// The mean of `(cluster, value)` observations with the cluster-robust (CR1) standard
/// error `√(G/(G−1) · Σ_g (Σ_{i∈g} (x_i − x̄))²) / n`. `None` with fewer than two
/// clusters, a non-finite value, or a zero standard error.
#[must_use]
pub fn clustered_mean(obs: &[(u64, f64)]) -> Option<ClusteredMean> {
    if obs.iter().any(|o| !o.1.is_finite()) {
        return None;
    }
    let n = lossy_u64(obs.len() as u64);
    let mean = obs.iter().map(|o| o.1).sum::<f64>() / n;
    let mut sums: BTreeMap<u64, f64> = BTreeMap::new();
    for &(c, x) in obs {
        *sums.entry(c).or_default() += x - mean;
    }
    let g = sums.len() as u64;
    if g < 2 {
        return None;
    }
    let gf = lossy_u64(g);
    let ss: f64 = sums.values().map(|s| s * s).sum();
    let se = (gf / (gf - 1.0) * ss).sqrt() / n;
    if !(se > 0.0 && se.is_finite()) {
        return None;
    }
    let t = mean / se;
    let dist = StudentsT::new(0.0, 1.0, gf - 1.0).ok()?;
    Some(ClusteredMean {
        n: obs.len() as u64,
        clusters: g,
        mean,
        se,
        t,
        p_value: 1.0 - dist.cdf(t),
    })
}

/// The mean of observations over time windows `(start, end, value)` with the
/// Hansen–Hodrick standard error for overlapping windows:
/// `Var(x̄) = Σ_i Σ_j 1[I_i ∩ I_j ≠ ∅] e_i e_j / n²`. Every pair of overlapping windows
/// keeps its whole cross product (a Bartlett/Newey–West weight would shrink exactly the
/// covariances that overlapping returns carry and understate the error). The estimate
/// can come out negative in small samples; then there is no answer. The p-value
/// (one-sided, `mean > 0`) uses Student's t with `L/l̄ − 1` degrees of freedom (at
/// least 1), `L` the length of the union of the windows and `l̄` their mean length: the
/// number of non-overlapping windows the data spans. `clusters` counts the chained
/// clusters. `None` with fewer than two observations, a non-finite value, an empty
/// window, or a variance that is not positive.
#[must_use]
pub fn overlap_hac_mean(obs: &[(Nanos, Nanos, f64)]) -> Option<ClusteredMean> {
    if obs.len() < 2 || obs.iter().any(|o| !o.2.is_finite() || o.1 <= o.0) {
        return None;
    }
    let mut sorted: Vec<(Nanos, Nanos, f64)> = obs.to_vec();
    sorted.sort_by_key(|o| (o.0, o.1));
    let n = lossy_u64(sorted.len() as u64);
    let mean = sorted.iter().map(|o| o.2).sum::<f64>() / n;
    let mut acc = 0.0;
    let mut clusters = 0_u64;
    let mut union = 0_u64;
    let mut total = 0_u64;
    let mut open_until: Option<Nanos> = None;
    for (i, a) in sorted.iter().enumerate() {
        total = total.saturating_add(a.1 - a.0);
        match open_until {
            Some(e) if a.0 <= e => union = union.saturating_add(a.1.saturating_sub(e)),
            _ => {
                clusters += 1;
                union = union.saturating_add(a.1 - a.0);
            }
        }
        open_until = Some(open_until.map_or(a.1, |e| e.max(a.1)));
        let ea = a.2 - mean;
        acc += ea * ea;
        for b in &sorted[i + 1..] {
            if b.0 >= a.1 {
                // Starts are sorted, but a later window may still overlap `a` only if it
                // starts before `a` ends.
                break;
            }
            acc += 2.0 * ea * (b.2 - mean);
        }
    }
    if !(acc > 0.0 && acc.is_finite()) {
        return None;
    }
    let se = acc.sqrt() / n;
    let t = mean / se;
    let spans = lossy_u64(union) / (lossy_u64(total) / n);
    let df = (spans - 1.0).max(1.0);
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(ClusteredMean {
        n: sorted.len() as u64,
        clusters,
        mean,
        se,
        t,
        p_value: 1.0 - dist.cdf(t),
    })
}

/// How the statistics are computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// Round-trip cost of acting on a signal in the underlying, bp.
    pub cost_bp: f64,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Shuffles of the timestamp baseline (0: none).
    pub shuffles: u32,
    /// Seed of the shuffles.
    pub seed: u64,
    /// Spacing of the windows of the unconditional up-rate, ns.
    pub up_rate_step_ns: u64,
    /// Rows with fewer labels are not candidates for [`OutcomeTable::best`].
    pub min_n_for_best: u64,
    /// Variants (detectors, parameter sets, horizons) the caller tried before this table;
    /// added to the count reported beside a best figure.
    pub variants_tried_before: u64,
}

impl Default for EvalConfig {
    /// 1 bp cost, 95 %, 200 shuffles with seed 1, up-rate windows every 5 minutes, best
    /// rows need 30 labels, no earlier variants.
    fn default() -> Self {
        Self {
            cost_bp: 1.0,
            level: 0.95,
            shuffles: 200,
            seed: 1,
            up_rate_step_ns: 5 * NANOS_PER_MINUTE,
            min_n_for_best: 30,
            variants_tried_before: 0,
        }
    }
}

/// The shuffled-timestamp baseline of a group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShuffleBaseline {
    /// Shuffles that produced a rate.
    pub shuffles: u64,
    /// Mean hit rate over the shuffles.
    pub mean_hit_rate: f64,
    /// `(1 + shuffles at or above the observed rate) / (1 + shuffles)`.
    pub p_value: f64,
}

/// Every statistic of one group of labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupStats {
    /// Labels.
    pub n: u64,
    /// Clusters among them.
    pub clusters: u64,
    /// Hits (signed return > 0).
    pub hits: u64,
    /// Zero returns (not hits).
    pub ties: u64,
    /// hits / n.
    pub hit_rate: f64,
    /// Wilson interval of the hit rate.
    pub hit_rate_ci: (f64, f64),
    /// Exact one-sided binomial p-value of the hit rate against ½ (independent labels).
    pub hit_p_binomial: f64,
    /// One-sided p-value of the hit rate against ½ with clusters as units.
    pub hit_p_clustered: Option<f64>,
    /// Share of bullish views.
    pub up_share: f64,
    /// Unconditional up-rate of the horizon, when the data was given.
    pub up_rate: Option<f64>,
    /// Hit rate of a guesser with the same share of bullish views:
    /// `q·u + (1−q)(1−u)`.
    pub guess_hit_rate: Option<f64>,
    /// Shuffled-timestamp baseline.
    pub shuffled: Option<ShuffleBaseline>,
    /// The Pesaran–Timmermann test.
    pub pesaran_timmermann: Option<PesaranTimmermann>,
    /// Mean signed return, bp.
    pub mean_bp: f64,
    /// The same with its cluster-robust error.
    pub mean_test: Option<ClusteredMean>,
    /// The same with the Hansen–Hodrick error for overlapping windows.
    pub mean_test_hac: Option<ClusteredMean>,
    /// Mean signed return net of [`EvalConfig::cost_bp`].
    pub net_mean_bp: f64,
    /// Mean positive return / mean |negative| return.
    pub win_loss: Option<f64>,
    /// Labels with an option P&L.
    pub option_n: u64,
    /// Mean option P&L per contract (currency).
    pub option_pnl_mean: Option<f64>,
    /// Mean delta-hedged option P&L per contract.
    pub hedged_pnl_mean: Option<f64>,
    /// Mean spread cost the option trades paid, bp of the option's mid.
    pub option_cost_bp: Option<f64>,
}

/// Computes a group's statistics; `None` for an empty group. `up_rate` is the horizon's
/// unconditional up-rate; `shuffled` the shuffled hit rates (see
/// [`crate::labels::shuffled_hit_rates`]).
#[must_use]
pub fn group_stats(
    labels: &[&SignalLabel],
    cfg: &EvalConfig,
    up_rate: Option<f64>,
    shuffled: &[f64],
) -> Option<GroupStats> {
    if labels.is_empty() {
        return None;
    }
    let n = labels.len() as u64;
    let nf = lossy_u64(n);
    let hits = labels.iter().filter(|l| l.hit).count() as u64;
    let ties = labels.iter().filter(|l| l.signed_return_bp == 0.0).count() as u64;
    let hit_rate = lossy_u64(hits) / nf;
    let ups = labels.iter().filter(|l| l.view == Direction::Up).count() as u64;
    let up_share = lossy_u64(ups) / nf;
    let clusters = labels
        .iter()
        .map(|l| l.cluster)
        .collect::<BTreeSet<_>>()
        .len() as u64;
    let hit_obs: Vec<(u64, f64)> = labels
        .iter()
        .map(|l| (l.cluster, if l.hit { 0.5 } else { -0.5 }))
        .collect();
    let ret_obs: Vec<(u64, f64)> = labels
        .iter()
        .map(|l| (l.cluster, l.signed_return_bp))
        .collect();
    let mean_bp = ret_obs.iter().map(|o| o.1).sum::<f64>() / nf;
    let pos: Vec<f64> = ret_obs.iter().map(|o| o.1).filter(|&r| r > 0.0).collect();
    let neg: Vec<f64> = ret_obs.iter().map(|o| -o.1).filter(|&r| r > 0.0).collect();
    let win_loss = (!pos.is_empty() && !neg.is_empty()).then(|| {
        (pos.iter().sum::<f64>() / lossy_u64(pos.len() as u64))
            / (neg.iter().sum::<f64>() / lossy_u64(neg.len() as u64))
    });
    let pairs: Vec<(bool, bool)> = labels
        .iter()
        .map(|l| {
            let up = match l.view {
                Direction::Up => l.signed_return_bp > 0.0,
                Direction::Down => l.signed_return_bp < 0.0,
            };
            (l.view == Direction::Up, up)
        })
        .collect();
    let opts: Vec<_> = labels.iter().filter_map(|l| l.option).collect();
    let mean_of = |xs: Vec<f64>| {
        let k = xs.len() as u64;
        (k > 0).then(|| xs.iter().sum::<f64>() / lossy_u64(k))
    };
    let shuffled_stats = (!shuffled.is_empty()).then(|| {
        let k = shuffled.len() as u64;
        let at_least = shuffled.iter().filter(|&&r| r >= hit_rate).count() as u64;
        ShuffleBaseline {
            shuffles: k,
            mean_hit_rate: shuffled.iter().sum::<f64>() / lossy_u64(k),
            p_value: lossy_u64(1 + at_least) / lossy_u64(1 + k),
        }
    });
    Some(GroupStats {
        n,
        clusters,
        hits,
        ties,
        hit_rate,
        hit_rate_ci: wilson_interval(hits, n, cfg.level).unwrap_or((0.0, 1.0)),
        hit_p_binomial: binomial_p_at_least(hits, n, 0.5).unwrap_or(1.0),
        hit_p_clustered: clustered_mean(&hit_obs).map(|m| m.p_value),
        up_share,
        up_rate,
        guess_hit_rate: up_rate.map(|u| up_share * u + (1.0 - up_share) * (1.0 - u)),
        shuffled: shuffled_stats,
        pesaran_timmermann: pesaran_timmermann(&pairs),
        mean_bp,
        mean_test: clustered_mean(&ret_obs),
        mean_test_hac: overlap_hac_mean(
            &labels
                .iter()
                .map(|l| (l.fired_at, l.exit_at, l.signed_return_bp))
                .collect::<Vec<_>>(),
        ),
        net_mean_bp: mean_bp - cfg.cost_bp,
        win_loss,
        option_n: opts.len() as u64,
        option_pnl_mean: mean_of(opts.iter().map(|o| lossy_decimal(o.pnl)).collect()),
        hedged_pnl_mean: mean_of(opts.iter().map(|o| lossy_decimal(o.hedged_pnl)).collect()),
        option_cost_bp: mean_of(opts.iter().map(|o| o.cost_bp).collect()),
    })
}

/// Which labels a row holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grouping {
    /// Every label of the variant.
    All,
    /// One pattern.
    Pattern(PatternLabel),
    /// One confidence decile (0 = lowest) of the variant's signals.
    Decile(u8),
}

impl fmt::Display for Grouping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Pattern(p) => write!(f, "pattern {p}"),
            Self::Decile(d) => write!(f, "decile {d}"),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    /// The detector.
    pub variant: Variant,
    /// The group.
    pub grouping: Grouping,
    /// The horizon.
    pub horizon: Horizon,
    /// Its statistics.
    pub stats: GroupStats,
}

/// A best row with the number of candidates it was chosen from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Best<'a> {
    /// The row.
    pub row: &'a TableRow,
    /// Its value of the metric.
    pub value: f64,
    /// Rows compared plus [`EvalConfig::variants_tried_before`].
    pub variants_tried: u64,
}

/// Every row of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeTable {
    /// Rows: per variant and horizon, all labels, then per pattern, then per decile.
    pub rows: Vec<TableRow>,
    /// The configuration used.
    pub config: EvalConfig,
}

/// The confidence decile (0..=9) of every signal id of every variant: ranks by
/// `(confidence, signal_id)` within the variant.
#[must_use]
pub fn confidence_deciles(labels: &[SignalLabel]) -> BTreeMap<(Variant, u64), u8> {
    let mut per: BTreeMap<Variant, BTreeMap<u64, f64>> = BTreeMap::new();
    for l in labels {
        per.entry(l.variant)
            .or_default()
            .insert(l.signal_id, l.confidence);
    }
    let mut out = BTreeMap::new();
    for (v, sigs) in per {
        let mut ranked: Vec<(f64, u64)> = sigs.into_iter().map(|(id, c)| (c, id)).collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let n = ranked.len();
        for (rank, (_, id)) in ranked.into_iter().enumerate() {
            let d = u8::try_from(rank * 10 / n).unwrap_or(9);
            out.insert((v, id), d);
        }
    }
    out
}

/// Builds the table. With `inputs`, each row also gets the horizon's unconditional
/// up-rate and (when [`EvalConfig::shuffles`] > 0) its shuffled-timestamp baseline.
#[must_use]
pub fn outcome_table(
    labels: &[SignalLabel],
    cfg: &EvalConfig,
    inputs: Option<&LabelInputs<'_>>,
) -> OutcomeTable {
    let deciles = confidence_deciles(labels);
    let mut groups: BTreeMap<(Variant, Horizon, Grouping), Vec<&SignalLabel>> = BTreeMap::new();
    for l in labels {
        let d = deciles.get(&(l.variant, l.signal_id)).copied().unwrap_or(0);
        for g in [
            Grouping::All,
            Grouping::Pattern(l.pattern.clone()),
            Grouping::Decile(d),
        ] {
            groups.entry((l.variant, l.horizon, g)).or_default().push(l);
        }
    }
    let mut up_rates: BTreeMap<Horizon, Option<f64>> = BTreeMap::new();
    let mut rows = Vec::with_capacity(groups.len());
    for (i, ((variant, horizon, grouping), ls)) in groups.into_iter().enumerate() {
        let u = match inputs {
            Some(inp) => *up_rates
                .entry(horizon)
                .or_insert_with(|| up_rate(inp, horizon, cfg.up_rate_step_ns)),
            None => None,
        };
        let shuffled = match inputs {
            Some(inp) if cfg.shuffles > 0 => {
                let sigs: Vec<(Nanos, Direction)> =
                    ls.iter().map(|l| (l.fired_at, l.view)).collect();
                shuffled_hit_rates(inp, &sigs, horizon, cfg.shuffles, cfg.seed ^ (i as u64))
            }
            _ => Vec::new(),
        };
        if let Some(stats) = group_stats(&ls, cfg, u, &shuffled) {
            rows.push(TableRow {
                variant,
                grouping,
                horizon,
                stats,
            });
        }
    }
    OutcomeTable { rows, config: *cfg }
}

impl OutcomeTable {
    /// The row of `variant` and `horizon` over all its labels.
    #[must_use]
    pub fn overall(&self, variant: Variant, horizon: Horizon) -> Option<&TableRow> {
        self.rows
            .iter()
            .find(|r| r.variant == variant && r.horizon == horizon && r.grouping == Grouping::All)
    }

    /// The row with the highest `metric` among rows with at least
    /// [`EvalConfig::min_n_for_best`] labels, with the count of rows it beat.
    #[must_use]
    pub fn best(&self, metric: impl Fn(&GroupStats) -> Option<f64>) -> Option<Best<'_>> {
        let mut best: Option<(&TableRow, f64)> = None;
        let mut tried = 0_u64;
        for r in &self.rows {
            if r.stats.n < self.config.min_n_for_best {
                continue;
            }
            let Some(v) = metric(&r.stats).filter(|v| v.is_finite()) else {
                continue;
            };
            tried += 1;
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((r, v));
            }
        }
        best.map(|(row, value)| Best {
            row,
            value,
            variants_tried: tried + self.config.variants_tried_before,
        })
    }
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

impl fmt::Display for OutcomeTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<3} {:<6} {:<22} {:>5} {:>5} {:>6} {:>13} {:>7} {:>6} {:>6} {:>7} {:>6} {:>8} {:>7} {:>7} {:>7} {:>6} {:>9} {:>9}",
            "var", "hor", "group", "n", "clus", "hit", "hit 95% CI", "p(bin)", "guess", "shuf", "p(shuf)",
            "PT", "mean bp", "se", "p(mean)", "p(hac)", "W/L", "opt P&L", "hedged"
        )?;
        for r in &self.rows {
            let s = &r.stats;
            writeln!(
                f,
                "{:<3} {:<6} {:<22} {:>5} {:>5} {:>6.3} {:>13} {:>7.4} {:>6} {:>6} {:>7} {:>6} {:>8.2} {:>7} {:>7} {:>7} {:>6} {:>9} {:>9}",
                r.variant.as_str(),
                r.horizon.name(),
                r.grouping.to_string(),
                s.n,
                s.clusters,
                s.hit_rate,
                format!("{:.3}-{:.3}", s.hit_rate_ci.0, s.hit_rate_ci.1),
                s.hit_p_binomial,
                opt(s.guess_hit_rate, 3),
                opt(s.shuffled.map(|b| b.mean_hit_rate), 3),
                opt(s.shuffled.map(|b| b.p_value), 3),
                opt(s.pesaran_timmermann.map(|p| p.statistic), 2),
                s.mean_bp,
                opt(s.mean_test.map(|m| m.se), 2),
                opt(s.mean_test.map(|m| m.p_value), 4),
                opt(s.mean_test_hac.map(|m| m.p_value), 4),
                opt(s.win_loss, 2),
                opt(s.option_pnl_mean, 2),
                opt(s.hedged_pnl_mean, 2),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_known_answer() {
        // 7 of 10 at 95 %: z = 1.959964; centre = (0.7 + z²/20)/(1 + z²/10).
        let (lo, hi) = wilson_interval(7, 10, 0.95).unwrap();
        assert!((lo - 0.396_778).abs() < 1e-5, "{lo}");
        assert!((hi - 0.892_208).abs() < 1e-5, "{hi}");
        assert!(wilson_interval(0, 0, 0.95).is_none());
    }

    #[test]
    fn binomial_known_answer() {
        // P(X >= 8 | n = 10, ½) = (45 + 10 + 1)/1024.
        let p = binomial_p_at_least(8, 10, 0.5).unwrap();
        assert!((p - 56.0 / 1024.0).abs() < 1e-12, "{p}");
        assert!((binomial_p_at_least(0, 10, 0.5).unwrap() - 1.0).abs() < 1e-15);
        assert!(binomial_p_at_least(11, 10, 0.5).is_none());
    }

    #[test]
    fn pesaran_timmermann_known_answer() {
        // n = 10: (up, up) ×4, (up, down) ×2, (down, down) ×4: P = 0.8, Px = 0.6,
        // Py = 0.4, P* = 0.48; by hand the statistic is 2.2222 and p = 0.013134.
        let mut pairs = vec![(true, true); 4];
        pairs.extend([(true, false); 2]);
        pairs.extend([(false, false); 4]);
        let pt = pesaran_timmermann(&pairs).unwrap();
        let (n, px, py): (f64, f64, f64) = (10.0, 0.6, 0.4);
        let ps = py * px + (1.0 - py) * (1.0 - px);
        let vp = ps * (1.0 - ps) / n;
        let vs = ((2.0 * py - 1.0).powi(2) * px * (1.0 - px)
            + (2.0 * px - 1.0).powi(2) * py * (1.0 - py))
            / n
            + 4.0 * py * px * (1.0 - py) * (1.0 - px) / (n * n);
        assert!((ps - 0.48).abs() < 1e-12);
        let stat = (0.8 - 0.48) / (vp - vs).sqrt();
        assert!((pt.statistic - stat).abs() < 1e-12);
        assert!((pt.statistic - 2.222_222).abs() < 1e-5, "{}", pt.statistic);
        assert!((pt.p_value - 0.013_134).abs() < 1e-5, "{}", pt.p_value);
        assert!(pesaran_timmermann(&[(true, true), (true, false)]).is_none());
    }

    #[test]
    fn clustered_mean_known_answer() {
        // Clusters {1, 3} and {2} and {6}: mean 3; residual sums −2+0 = −2, −1, 3;
        // Σ = 4 + 1 + 9 = 14; se = √(3/2 · 14)/4 = √21/4.
        let obs = [(0, 1.0), (0, 3.0), (1, 2.0), (2, 6.0)];
        let m = clustered_mean(&obs).unwrap();
        assert!((m.mean - 3.0).abs() < 1e-12);
        assert!((m.se - 21.0_f64.sqrt() / 4.0).abs() < 1e-12);
        assert_eq!((m.n, m.clusters), (4, 3));
        // One-sided t(2) at 3/(√21/4) = 2.6186: p ≈ 0.0600.
        assert!((m.p_value - 0.060_0).abs() < 5e-4, "{}", m.p_value);
        assert!(clustered_mean(&[(0, 1.0), (0, 2.0)]).is_none());
        assert!(clustered_mean(&[(0, f64::NAN), (1, 2.0)]).is_none());
    }

    #[test]
    fn overlap_hac_known_answer() {
        // Windows [0,10) x=1, [5,15) x=5, [20,30) x=3: mean 3, residuals −2, 2, 0;
        // the first two overlap: Var = (4 + 4 + 0 + 2·(−2)(2))/9 = 0 → no answer.
        assert!(overlap_hac_mean(&[(0, 10, 1.0), (5, 15, 5.0), (20, 30, 3.0)]).is_none());
        // x = 1, 3 overlapping and 5 apart: residuals −2, 0, 2; the overlapping pair
        // contributes 0: Var = 8/9, se = √8/3; two clusters, union 25 over mean length
        // 10: t with 1.5 degrees.
        let m = overlap_hac_mean(&[(0, 10, 1.0), (5, 15, 3.0), (20, 30, 5.0)]).unwrap();
        assert!((m.mean - 3.0).abs() < 1e-12);
        assert!((m.se - 8.0_f64.sqrt() / 3.0).abs() < 1e-12, "{m:?}");
        assert_eq!(m.clusters, 2);
        // Residuals +1, +1, −2 with the first two overlapping: Var = (1 + 1 + 4 + 2)/9.
        let m = overlap_hac_mean(&[(0, 10, 3.0), (5, 15, 3.0), (20, 30, 0.0)]).unwrap();
        assert!((m.se - 8.0_f64.sqrt() / 3.0).abs() < 1e-12, "{m:?}");
        // Two disjoint windows: residuals ∓1, Var = 2/4, union 20 / mean 10 → 1 degree;
        // t(1) at 2/√0.5·... mean 1, se √2/2, t = √2: p = 1/2 − atan(√2)/π.
        let m = overlap_hac_mean(&[(0, 10, 0.0), (20, 30, 2.0)]).unwrap();
        assert!((m.se - 0.5_f64.sqrt()).abs() < 1e-12, "{m:?}");
        let p = 0.5 - 2.0_f64.sqrt().atan() / std::f64::consts::PI;
        assert!((m.p_value - p).abs() < 1e-9, "{}", m.p_value);
        assert!(overlap_hac_mean(&[(0, 0, 1.0), (1, 2, 1.0)]).is_none());
    }
}

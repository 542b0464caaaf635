//! The market model of a session: deterministic random streams, the intraday activity
//! profile, the underlying's path, and the information planted flows carry.
//!
//! # Information ([`crate::Information`])
//! With [`SimConfig::information`] set, every planted flow is *informed* with probability
//! `p` (one draw per planned flow, in plan order, from its own random stream, so the other
//! draws of the session do not move). An informed flow with direction `d` (+1 bullish,
//! −1 bearish) planned at `t₀` multiplies the underlying's path from `t₀ + onset` on by
//! `exp(d · μ · g(t))`, with `μ = mu_bp / 10⁴` and `g` rising linearly from 0 to 1 over
//! `horizon_ns`, then staying at 1 (no decay) or decaying as `exp(−(t − t₁)/decay_ns)`.
//! Uninformed flows, decoys and everything else move nothing. The drift is applied after
//! the Brownian bridge, so a drift still present at the close shows as a gap to the next
//! day's open. Without information the path is untouched (byte-identical sessions).
//!
//! [`information_path`] runs this model alone (the path and the draws, no book, no
//! records) for a list of planned flows: the cheap path for experiments over hundreds of
//! seeds. A full session plants the same drift at its flows' planned times.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Poisson};

use crate::calendar::{Session, NS_PER_SEC};
use crate::truth::TruthDirection;
use crate::{Information, SimConfig};

/// A deterministic RNG for one (seed, day, stream).
pub(crate) fn stream_rng(seed: u64, day: u32, stream: u64) -> ChaCha8Rng {
    fn mix(mut z: u64) -> u64 {
        // splitmix64 finaliser
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    ChaCha8Rng::seed_from_u64(mix(seed ^ mix((u64::from(day) << 16) | stream)))
}

/// Intraday activity over the Globex session, as a function of hours since 17:00 CT:
/// a busy reopen, a quiet night with a European bump, and a U over the 08:30-15:00 CT
/// regular session (high at the open and into the close, lower at midday).
pub(crate) fn activity_profile(h: f64) -> f64 {
    let mut m = 0.22 + 1.0 * (-h / 0.5).exp() + 0.25 * (-((h - 9.0) * (h - 9.0)) / 0.5).exp();
    if (15.5..22.0).contains(&h) {
        m += 0.7 + 2.6 * (-(h - 15.5) / 0.6).exp() + 2.0 * (-(22.0 - h) / 0.6).exp();
    } else if h >= 22.0 {
        m += 0.5 * (-(h - 22.0) / 0.3).exp();
    }
    m
}

pub(super) fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u64 {
    if lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    Poisson::new(lambda).map_or(0, |p| p.sample(rng) as u64)
}

/// The underlying path of one session, one level per second: a Brownian bridge from the
/// day's open to the next day's open, with a U-shaped volatility profile and jumps.
pub(crate) fn underlying_path(cfg: &SimConfig, day: u32, secs: u64) -> Vec<f64> {
    // Daily opens as a random walk of daily returns.
    let daily_sd = cfg.annual_vol / 252_f64.sqrt();
    let mut open = cfg.start_price;
    let mut next_open = open;
    for d in 0..=day {
        let mut r = stream_rng(cfg.seed, d, 11);
        let ret = Normal::new(0.0, daily_sd).map_or(0.0, |n| n.sample(&mut r));
        if d < day {
            open *= ret.exp();
        } else {
            next_open = open * ret.exp();
        }
    }
    let mut rng = stream_rng(cfg.seed, day, 13);
    let n = usize::try_from(secs).unwrap_or(0).max(1);
    let mass: f64 = (0..n)
        .map(|s| activity_profile(s as f64 / 3_600.0))
        .sum::<f64>()
        / n as f64;
    let sec_sd = daily_sd / (n as f64).sqrt();
    let std = Normal::new(0.0, 1.0).ok();
    let mut w = Vec::with_capacity(n);
    let mut x = 0.0;
    for s in 0..n {
        w.push(x);
        let a = activity_profile(s as f64 / 3_600.0) / mass;
        let z = std.as_ref().map_or(0.0, |d| d.sample(&mut rng));
        x += sec_sd * a.sqrt() * z;
    }
    // Jumps.
    let jumps = poisson(&mut rng, cfg.jumps_per_day.max(0.0));
    let jump_dist = Normal::new(0.0, 0.003).ok();
    for _ in 0..jumps {
        let at = rng.random_range(0..n);
        let size = jump_dist.as_ref().map_or(0.0, |d| d.sample(&mut rng));
        for v in &mut w[at..] {
            *v += size;
        }
        x += size;
    }
    let target = (next_open / open).ln();
    // `x` is the walk after its last step (jumps included): pin it to the next open.
    let end = x;
    w.iter()
        .enumerate()
        .map(|(s, &v)| open * (v - (s as f64 / n as f64) * (end - target)).exp())
        .collect()
}

/// Random stream of the informed draws.
const INFORMATION_STREAM: u64 = 17;

/// The drift factor `g` at `t` ns after the flow's planned start (see the module docs).
fn drift_shape(info: &Information, t: u64) -> f64 {
    let Some(tau) = t.checked_sub(info.onset_ns) else {
        return 0.0;
    };
    let h = info.horizon_ns;
    if tau < h {
        return tau as f64 / h as f64;
    }
    match info.decay_ns {
        Some(d) if d > 0 => (-((tau - h) as f64) / d as f64).exp(),
        Some(_) => 0.0,
        None => 1.0,
    }
}

/// Draws which planned flows are informed and plants their drift into `path` (one level
/// per second from `session_start`). `flows` are `(planned ts, direction)`. Returns one
/// entry per flow: `None` without information, else whether it was informed.
pub(crate) fn plant_information(
    cfg: &SimConfig,
    day: u32,
    session_start: u64,
    path: &mut [f64],
    flows: &[(u64, TruthDirection)],
) -> Vec<Option<bool>> {
    let Some(info) = cfg.information else {
        return vec![None; flows.len()];
    };
    let p = if info.p.is_finite() {
        info.p.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mu = if info.mu_bp.is_finite() {
        info.mu_bp / 1e4
    } else {
        0.0
    };
    let mut rng = stream_rng(cfg.seed, day, INFORMATION_STREAM);
    let mut out = Vec::with_capacity(flows.len());
    for &(ts, dir) in flows {
        let informed = rng.random_bool(p);
        out.push(Some(informed));
        if !informed || mu == 0.0 {
            continue;
        }
        let d = match dir {
            TruthDirection::Bullish => 1.0,
            TruthDirection::Bearish => -1.0,
        };
        let first =
            usize::try_from(ts.saturating_sub(session_start) / NS_PER_SEC).unwrap_or(usize::MAX);
        for (s, level) in path.iter_mut().enumerate().skip(first) {
            let t = (session_start + s as u64 * NS_PER_SEC).saturating_sub(ts);
            let g = drift_shape(&info, t);
            if g != 0.0 {
                *level *= (d * mu * g).exp();
            }
        }
    }
    out
}

/// A flow planned for [`information_path`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedFlow {
    /// When it trades, ns after the session's start.
    pub offset_ns: u64,
    /// Its direction.
    pub direction: TruthDirection,
}

/// The underlying's path of one session with information planted, without the book.
#[derive(Debug, Clone, PartialEq)]
pub struct InformedPath {
    /// Session start (UNIX ns); `path[s]` is the level at `start + s` seconds.
    pub session_start: u64,
    /// Session end (UNIX ns).
    pub session_end: u64,
    /// The underlying, one level per second.
    pub path: Vec<f64>,
    /// Per planned flow: `None` without information, else whether it was informed.
    pub informed: Vec<Option<bool>>,
}

impl InformedPath {
    /// The level prevailing at `ts` (UNIX ns), clamped to the session.
    #[must_use]
    pub fn level_at(&self, ts: u64) -> Option<f64> {
        let s = usize::try_from(ts.saturating_sub(self.session_start) / NS_PER_SEC).ok()?;
        self.path
            .get(s.min(self.path.len().saturating_sub(1)))
            .copied()
    }

    /// The standard deviation (bp) of the model's diffusion over `[from, from + len)`
    /// (UNIX ns), from the volatility and the activity profile: the `σ` of an
    /// uninformed flow's return over that window (jumps and the bridge's pinning, a
    /// correction of order `len / session`, left out).
    #[must_use]
    pub fn diffusion_sd_bp(&self, cfg: &SimConfig, from: u64, len_ns: u64) -> f64 {
        let n = self.path.len().max(1);
        let mass: f64 = (0..n)
            .map(|s| activity_profile(s as f64 / 3_600.0))
            .sum::<f64>()
            / n as f64;
        let sec_sd = cfg.annual_vol / 252_f64.sqrt() / (n as f64).sqrt();
        let first = from.saturating_sub(self.session_start) / NS_PER_SEC;
        let last = (from.saturating_add(len_ns)).saturating_sub(self.session_start) / NS_PER_SEC;
        let var: f64 = (first..last)
            .map(|s| activity_profile(s as f64 / 3_600.0) / mass)
            .sum::<f64>()
            * sec_sd
            * sec_sd;
        var.sqrt() * 1e4
    }
}

/// The underlying's path of session `day_index` with the information of `cfg` planted
/// for `flows`, exactly as a full session plants it for its own flows, without
/// generating the book or any record (cheap: one path and one draw per flow).
#[must_use]
pub fn information_path(cfg: &SimConfig, day_index: u32, flows: &[PlannedFlow]) -> InformedPath {
    let trade_date = crate::calendar::nth_trading_date(cfg.start_date, day_index);
    let session = Session::new(trade_date);
    let mut path = underlying_path(cfg, day_index, session.seconds());
    let planned: Vec<(u64, TruthDirection)> = flows
        .iter()
        .map(|f| (session.start.saturating_add(f.offset_ns), f.direction))
        .collect();
    let informed = plant_information(cfg, day_index, session.start, &mut path, &planned);
    InformedPath {
        session_start: session.start,
        session_end: session.end,
        path,
        informed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Information, Preset, SimConfig};

    #[test]
    fn activity_is_u_shaped_over_the_regular_session() {
        let open = activity_profile(15.6);
        let midday = activity_profile(18.5);
        let close = activity_profile(21.9);
        let night = activity_profile(6.0);
        assert!(
            open > 2.0 * midday && close > 1.5 * midday,
            "{open} {midday} {close}"
        );
        assert!(night < 0.5 * midday, "{night} {midday}");
        assert!(activity_profile(0.05) > midday, "the reopen is busy");
    }

    #[test]
    fn underlying_days_join_without_gaps() {
        let cfg = SimConfig::preset(Preset::Quiet, 5);
        let secs = 23 * 3_600;
        let d0 = underlying_path(&cfg, 0, secs);
        let d1 = underlying_path(&cfg, 1, secs);
        assert_eq!(d0.len(), 82_800);
        assert!((d0[0] - cfg.start_price).abs() < 1e-9);
        // The bridge ends one second before the next open, within a few points of it.
        let last = d0[d0.len() - 1];
        assert!((last - d1[0]).abs() < 25.0, "{last} vs {}", d1[0]);
        let max_step = d0
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max);
        assert!(max_step < 400.0, "no absurd one-second move: {max_step}");
        assert_eq!(d0, underlying_path(&cfg, 0, secs), "deterministic");
    }

    #[test]
    fn information_drifts_informed_flows_only() {
        let mut cfg = SimConfig::preset(Preset::Quiet, 11);
        let flows = [
            PlannedFlow {
                offset_ns: 16 * 3_600 * NS_PER_SEC,
                direction: TruthDirection::Bullish,
            },
            PlannedFlow {
                offset_ns: 18 * 3_600 * NS_PER_SEC,
                direction: TruthDirection::Bearish,
            },
        ];
        let plain = information_path(&cfg, 0, &flows);
        assert_eq!(plain.informed, vec![None, None]);
        assert_eq!(plain.path, underlying_path(&cfg, 0, 23 * 3_600));
        cfg.information = Some(Information {
            p: 1.0,
            mu_bp: 20.0,
            onset_ns: 60 * NS_PER_SEC,
            horizon_ns: 600 * NS_PER_SEC,
            decay_ns: None,
        });
        let inf = information_path(&cfg, 0, &flows);
        assert_eq!(inf.informed, vec![Some(true), Some(true)]);
        let at = |h: u64, s: u64| usize::try_from(h * 3_600 + s).unwrap();
        let ratio = |i: usize| (inf.path[i] / plain.path[i]).ln() * 1e4;
        // Nothing before the onset; half the drift halfway; all of it after.
        assert!(ratio(at(16, 60)).abs() < 1e-9);
        assert!((ratio(at(16, 360)) - 10.0).abs() < 1e-6);
        assert!((ratio(at(17, 0)) - 20.0).abs() < 1e-6);
        // The bearish flow takes it back.
        assert!((ratio(at(18, 660)) - 0.0).abs() < 1e-6);
        assert!(ratio(at(0, 5)).abs() < 1e-12);
        // p = 0 plants nothing; decay brings the level back.
        cfg.information = Some(Information {
            p: 0.0,
            ..cfg.information.unwrap()
        });
        let none = information_path(&cfg, 0, &flows);
        assert_eq!(none.informed, vec![Some(false), Some(false)]);
        assert_eq!(none.path, plain.path);
        let info = Information {
            p: 1.0,
            mu_bp: 20.0,
            onset_ns: 0,
            horizon_ns: 100,
            decay_ns: Some(1_000),
        };
        assert!((drift_shape(&info, 50) - 0.5).abs() < 1e-12);
        assert!((drift_shape(&info, 1_100) - (-1.0_f64).exp()).abs() < 1e-12);
    }

    #[test]
    fn rng_streams_differ_by_seed_day_and_stream() {
        let a: u64 = stream_rng(1, 0, 1).random();
        assert_eq!(a, stream_rng(1, 0, 1).random::<u64>());
        assert_ne!(a, stream_rng(2, 0, 1).random::<u64>());
        assert_ne!(a, stream_rng(1, 1, 1).random::<u64>());
        assert_ne!(a, stream_rng(1, 0, 2).random::<u64>());
    }
}

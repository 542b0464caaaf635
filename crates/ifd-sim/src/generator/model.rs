//! The market model of a session: deterministic random streams, the intraday activity
//! profile and the underlying's path.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Poisson};

use crate::SimConfig;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Preset, SimConfig};

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
    fn rng_streams_differ_by_seed_day_and_stream() {
        let a: u64 = stream_rng(1, 0, 1).random();
        assert_eq!(a, stream_rng(1, 0, 1).random::<u64>());
        assert_ne!(a, stream_rng(2, 0, 1).random::<u64>());
        assert_ne!(a, stream_rng(1, 1, 1).random::<u64>());
        assert_ne!(a, stream_rng(1, 0, 2).random::<u64>());
    }
}

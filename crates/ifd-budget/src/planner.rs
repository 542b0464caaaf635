//! The subscription planner: which parents, expiries and strike bands to stream so that
//! the expected spend stays inside the budget left.
//!
//! Each [`PlanCandidate`] is one (parent, expiry, strike band) with the live bytes it is
//! expected to produce per trading day and the signals it produced historically (over
//! one look-back period, the same for every candidate). The expected cost of a candidate
//! is `bytes per day × trading days × live $/GB`, rounded up to the cent.
//!
//! The planner maximises expected signals subject to `Σ cost ≤ budget left`:
//!
//! - **Exact** ([`PlanMethod::Exact`]) when the input is small (at most
//!   [`EXACT_MAX_CANDIDATES`] candidates and at most [`EXACT_MAX_CELLS`] cells of
//!   candidates × budget cents): a 0/1 knapsack over whole cents. Among plans with the
//!   same signals it picks the cheapest; remaining ties go to the plan found first in
//!   candidate order.
//! - **Greedy** ([`PlanMethod::Greedy`]) otherwise: candidates in decreasing signals per
//!   dollar, ties broken by lower cost, then nearer expiry, then lower band, then parent
//!   name; each is taken if it still fits.
//!
//! In both, a candidate with zero expected cost is always taken, and a candidate with no
//! historical signal and a positive cost is never taken. The plan's expected cost never
//! exceeds the budget left.

use std::cmp::Ordering;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::cost::{check_usd, cost_of_bytes};
use crate::error::{Error, Result};

/// The exact knapsack is used for at most this many candidates.
pub const EXACT_MAX_CANDIDATES: usize = 64;
/// ... and at most this many `candidates × (budget cents + 1)` cells.
pub const EXACT_MAX_CELLS: u64 = 4_000_000;

/// One subscribable unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCandidate {
    /// The parent symbol (for example `"NQ.OPT"`).
    pub parent: String,
    /// The expiry date.
    pub expiry: NaiveDate,
    /// The strike band, 0 at the money, larger further out.
    pub band: u8,
    /// Expected live bytes per trading day.
    pub bytes_per_day: u64,
    /// Signals it produced over the look-back period.
    pub signals: u64,
}

/// How a plan was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanMethod {
    /// 0/1 knapsack over cents: optimal.
    Exact,
    /// Greedy by signals per dollar.
    Greedy,
}

/// The chosen subscription set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionPlan {
    /// Indices into the candidate slice, ascending.
    pub chosen: Vec<usize>,
    /// Expected cost of each candidate (same order as the input), USD.
    pub costs: Vec<Decimal>,
    /// Expected cost of the chosen set, USD (at most the budget left).
    pub expected_cost: Decimal,
    /// Historical signals of the chosen set.
    pub expected_signals: u64,
    /// How it was chosen.
    pub method: PlanMethod,
}

fn ceil_cents(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::AwayFromZero)
}

fn to_cents(x: Decimal) -> Option<u64> {
    u64::try_from((x * Decimal::ONE_HUNDRED).trunc().mantissa()).ok()
}

/// Chooses the subscription set (see the module docs).
///
/// # Errors
/// [`Error::ImplausibleAmount`] for a negative or absurd budget or rate, or a candidate
/// whose expected cost is absurd; [`Error::Overflow`] if a cost cannot be computed.
pub fn plan_subscriptions(
    candidates: &[PlanCandidate],
    budget_left: Decimal,
    live_usd_per_gb: Decimal,
    trading_days: u32,
) -> Result<SubscriptionPlan> {
    let budget = check_usd("budget left", budget_left)?;
    let rate = check_usd("live $/GB", live_usd_per_gb)?;
    let mut costs = Vec::with_capacity(candidates.len());
    for c in candidates {
        let bytes =
            c.bytes_per_day
                .checked_mul(u64::from(trading_days))
                .ok_or(Error::Overflow {
                    what: "bytes per day × trading days",
                })?;
        costs.push(ceil_cents(cost_of_bytes(bytes, rate)?));
    }
    let cap_cents = to_cents(budget.round_dp_with_strategy(2, RoundingStrategy::ToZero)).ok_or(
        Error::Overflow {
            what: "budget in cents",
        },
    )?;
    let cells = (candidates.len() as u64).saturating_mul(cap_cents.saturating_add(1));
    let (chosen, method) = if candidates.len() <= EXACT_MAX_CANDIDATES && cells <= EXACT_MAX_CELLS {
        (exact(candidates, &costs, cap_cents), PlanMethod::Exact)
    } else {
        (greedy(candidates, &costs, budget), PlanMethod::Greedy)
    };
    let expected_cost = chosen.iter().map(|&i| costs[i]).sum();
    let expected_signals = chosen
        .iter()
        .map(|&i| candidates[i].signals)
        .fold(0u64, u64::saturating_add);
    Ok(SubscriptionPlan {
        chosen,
        costs,
        expected_cost,
        expected_signals,
        method,
    })
}

/// 0/1 knapsack maximising (signals, −cost) over whole cents.
fn exact(candidates: &[PlanCandidate], costs: &[Decimal], cap: u64) -> Vec<usize> {
    let width = usize::try_from(cap).unwrap_or(usize::MAX - 1) + 1;
    // best[w] = (signals, cost) of the best plan with cost <= w.
    let mut best: Vec<(u64, u64)> = vec![(0, 0); width];
    let mut take: Vec<Vec<bool>> = Vec::with_capacity(candidates.len());
    let better = |a: (u64, u64), b: (u64, u64)| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1);
    let mut chosen = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        let mut row = vec![false; width];
        let cost = to_cents(costs[i]).unwrap_or(u64::MAX);
        if cost == 0 {
            // Free: always taken, outside the knapsack.
            chosen.push(i);
        } else if let Ok(cost_w) = usize::try_from(cost) {
            if cost_w < width {
                for w in (cost_w..width).rev() {
                    let prev = best[w - cost_w];
                    let cand = (prev.0.saturating_add(c.signals), prev.1 + cost);
                    if better(cand, best[w]) {
                        best[w] = cand;
                        row[w] = true;
                    }
                }
            }
        }
        take.push(row);
    }
    let mut w = width - 1;
    for i in (0..candidates.len()).rev() {
        if take[i][w] {
            chosen.push(i);
            let cost = usize::try_from(to_cents(costs[i]).unwrap_or(0)).unwrap_or(0);
            w -= cost;
        }
    }
    chosen.sort_unstable();
    chosen
}

fn greedy(candidates: &[PlanCandidate], costs: &[Decimal], budget: Decimal) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len())
        .filter(|&i| costs[i].is_zero() || candidates[i].signals > 0)
        .collect();
    // signals_a / cost_a > signals_b / cost_b  <=>  signals_a × cost_b > signals_b × cost_a,
    // with zero cost ranking first.
    order.sort_by(|&a, &b| {
        let (ca, cb) = (costs[a], costs[b]);
        let ratio = match (ca.is_zero(), cb.is_zero()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => {
                let lhs = Decimal::from(candidates[a].signals) * cb;
                let rhs = Decimal::from(candidates[b].signals) * ca;
                rhs.cmp(&lhs)
            }
        };
        ratio
            .then(ca.cmp(&cb))
            .then(candidates[a].expiry.cmp(&candidates[b].expiry))
            .then(candidates[a].band.cmp(&candidates[b].band))
            .then(candidates[a].parent.cmp(&candidates[b].parent))
            .then(a.cmp(&b))
    });
    let mut left = budget;
    let mut chosen = Vec::new();
    for i in order {
        if costs[i] <= left {
            left -= costs[i];
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn cand(expiry_day: u32, band: u8, gb_per_day_tenths: u64, signals: u64) -> PlanCandidate {
        PlanCandidate {
            parent: "NQ.OPT".into(),
            expiry: NaiveDate::from_ymd_opt(2025, 3, expiry_day).unwrap(),
            band,
            bytes_per_day: gb_per_day_tenths * 100_000_000,
            signals,
        }
    }

    #[test]
    fn exact_beats_greedy_on_the_classic_trap() {
        // At $1/GB over 10 days: costs $10, $6, $6; budget $12.
        // Greedy by ratio takes A (1.1 per $) then nothing fits: 11 signals.
        // Exact takes B + C: 12 signals.
        let cs = vec![cand(21, 0, 10, 11), cand(21, 1, 6, 6), cand(28, 0, 6, 6)];
        let plan = plan_subscriptions(&cs, dec("12"), dec("1"), 10).unwrap();
        assert_eq!(plan.method, PlanMethod::Exact);
        assert_eq!(plan.chosen, vec![1, 2]);
        assert_eq!(plan.expected_signals, 12);
        assert_eq!(plan.expected_cost, dec("12"));
        let g = greedy(&cs, &plan.costs, dec("12"));
        assert_eq!(g, vec![0]);
    }

    #[test]
    fn greedy_tie_break_prefers_cheaper_then_nearer_expiry() {
        // Same ratio (1 signal per $): cheaper first, then nearer expiry.
        let cs = vec![cand(28, 0, 4, 4), cand(21, 0, 4, 4), cand(21, 1, 2, 2)];
        let costs = vec![dec("4"), dec("4"), dec("2")];
        assert_eq!(greedy(&cs, &costs, dec("6")), vec![1, 2]);
    }

    #[test]
    fn zero_signal_and_zero_cost_rules() {
        let cs = vec![cand(21, 0, 0, 0), cand(21, 1, 5, 0), cand(21, 2, 5, 1)];
        let plan = plan_subscriptions(&cs, dec("100"), dec("1"), 10).unwrap();
        assert_eq!(plan.chosen, vec![0, 2]);
        let costs = plan.costs.clone();
        assert_eq!(greedy(&cs, &costs, dec("100")), vec![0, 2]);
    }

    #[test]
    fn nothing_fits_an_empty_budget() {
        let cs = vec![cand(21, 0, 1, 100)];
        let plan = plan_subscriptions(&cs, Decimal::ZERO, dec("1"), 1).unwrap();
        assert!(plan.chosen.is_empty());
        assert_eq!(plan.expected_cost, Decimal::ZERO);
    }
}

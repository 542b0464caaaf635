//! Black-76 options analytics: implied volatility, delta, gamma and vega.
//!
//! CME equity-index options are options on futures and are margined futures-style, so
//! the model is Black (1976) on the forward `F` (the underlying future's price, see
//! [`crate::UnderlyingResolver`]) **without discounting**:
//!
//! ```text
//! d1 = (ln(F/K) + σ²T/2) / (σ√T),   d2 = d1 − σ√T
//! call = F·N(d1) − K·N(d2),          put = K·N(−d2) − F·N(−d1)
//! Δcall = N(d1),  Δput = N(d1) − 1,  Γ = φ(d1) / (F σ √T),  vega = F φ(d1) √T
//! ```
//!
//! (standard textbook formulas). Vega is per unit of volatility (1.00 = 100 vol points).
//! Time is in years of 365 days, from the contract's `expiration` and a caller's
//! timestamp in ns (this module reads no clock).
//!
//! # No NaN leaves this module
//! Every public function returns `None` instead of a non-finite number:
//! - a zero or negative time, forward, strike or volatility gives `None`;
//! - [`implied_vol`] gives `None` where no volatility in
//!   ([`MIN_VOL`], [`MAX_VOL`]) reproduces the price: at or below intrinsic value (a
//!   premium under one tick on a deep in-the-money option can be), at or above the
//!   upper bound (`F` for a call, `K` for a put), or with no time left;
//! - [`book_mid`] gives `None` for a one-sided or crossed book, so the mid of a book
//!   in that state never reaches the solver.
//!
//! # The solver
//! The Black price is strictly increasing in σ, so the implied volatility is the root
//! of `price(σ) − p` on the bracket [`MIN_VOL`, `MAX_VOL`]. The solver keeps that
//! bracket and takes a Newton step (slope = vega) when the step lands inside it, and a
//! bisection step otherwise (deep out-of-the-money options, whose vega is tiny, fall
//! back to bisection). It stops when the price error is below `1e-12 · max(1, p)`
//! or the bracket is narrower than `1e-12`; at most 200 steps.

use crate::chain::{OptionContract, OptionKind};
use crate::types::Bbo;

/// Smallest volatility the solver considers (0.01 %).
pub const MIN_VOL: f64 = 1e-4;
/// Largest volatility the solver considers (5,000 %).
pub const MAX_VOL: f64 = 50.0;
/// Nanoseconds in the 365-day year used for time to expiry.
pub const NS_PER_YEAR: f64 = 365.0 * 86_400.0 * 1e9;

const FIXED_SCALE: f64 = 1e9;

/// Standard normal cumulative distribution function.
///
/// Hart's double-precision rational approximation (as published by G. West, 2005);
/// absolute error below 1e-14. Total on finite inputs, NaN in gives NaN out.
#[must_use]
pub fn norm_cdf(x: f64) -> f64 {
    let a = x.abs();
    let tail = if a > 37.0 {
        0.0
    } else {
        let e = (-a * a / 2.0).exp();
        if a < 7.071_067_811_865_47 {
            let mut n = 3.526_249_659_989_11e-2 * a + 0.700_383_064_443_688;
            n = n * a + 6.373_962_203_531_65;
            n = n * a + 33.912_866_078_383;
            n = n * a + 112.079_291_497_871;
            n = n * a + 221.213_596_169_931;
            n = n * a + 220.206_867_912_376;
            let mut d = 8.838_834_764_831_84e-2 * a + 1.755_667_163_182_64;
            d = d * a + 16.064_177_579_207;
            d = d * a + 86.780_732_202_946_1;
            d = d * a + 296.564_248_779_674;
            d = d * a + 637.333_633_378_831;
            d = d * a + 793.826_512_519_948;
            d = d * a + 440.413_735_824_752;
            e * n / d
        } else {
            let mut b = a + 0.65;
            b = a + 4.0 / b;
            b = a + 3.0 / b;
            b = a + 2.0 / b;
            b = a + 1.0 / b;
            e / b / 2.506_628_274_631
        }
    };
    if x > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Standard normal density.
#[must_use]
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Years (of 365 days) from `ts_ns` to `expiration_ns`; `None` when the option has
/// expired or expires at `ts_ns`.
#[must_use]
pub fn years_to_expiry(expiration_ns: u64, ts_ns: u64) -> Option<f64> {
    let left = expiration_ns.checked_sub(ts_ns).filter(|&d| d > 0)?;
    #[allow(
        clippy::cast_precision_loss,
        reason = "ns over years: relative error 1e-16"
    )]
    let t = left as f64 / NS_PER_YEAR;
    Some(t)
}

/// Fixed-point 1e-9 value to `f64` (lossy: 53 bits of mantissa).
#[must_use]
pub fn fixed_to_f64_lossy(value: i64) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "the name says lossy")]
    let v = value as f64;
    v / FIXED_SCALE
}

/// The book mid in fixed point, for implied volatility from the book: `None` when the
/// book is one-sided, locked at a non-positive price, or crossed (bid > ask).
#[must_use]
pub fn book_mid(bbo: &Bbo) -> Option<i64> {
    let (bid, ask) = (bbo.bid?, bbo.ask?);
    if bid.price > ask.price || ask.price <= 0 {
        return None;
    }
    bbo.mid().filter(|&m| m > 0)
}

fn valid(forward: f64, strike: f64, t: f64) -> bool {
    forward.is_finite()
        && strike.is_finite()
        && t.is_finite()
        && forward > 0.0
        && strike > 0.0
        && t > 0.0
}

/// `(d1, d2)`, or `None` when an input makes them non-finite.
fn d1_d2(forward: f64, strike: f64, t: f64, vol: f64) -> Option<(f64, f64)> {
    if !(valid(forward, strike, t) && vol.is_finite() && vol > 0.0) {
        return None;
    }
    let sd = vol * t.sqrt();
    let d1 = ((forward / strike).ln() + 0.5 * sd * sd) / sd;
    let d2 = d1 - sd;
    (d1.is_finite() && d2.is_finite()).then_some((d1, d2))
}

/// Undiscounted Black-76 price of one option (in the underlying's price units).
/// `None` for a non-positive or non-finite forward, strike, time or volatility.
#[must_use]
pub fn black76_price(kind: OptionKind, forward: f64, strike: f64, t: f64, vol: f64) -> Option<f64> {
    let (d1, d2) = d1_d2(forward, strike, t, vol)?;
    let p = match kind {
        OptionKind::Call => forward * norm_cdf(d1) - strike * norm_cdf(d2),
        OptionKind::Put => strike * norm_cdf(-d2) - forward * norm_cdf(-d1),
    };
    // Rounding can take a worthless option a hair below zero.
    let p = p.max(0.0);
    p.is_finite().then_some(p)
}

/// Intrinsic value and the no-arbitrage upper bound of an undiscounted option.
fn bounds(kind: OptionKind, forward: f64, strike: f64) -> (f64, f64) {
    match kind {
        OptionKind::Call => ((forward - strike).max(0.0), forward),
        OptionKind::Put => ((strike - forward).max(0.0), strike),
    }
}

/// Black-76 implied volatility of `price` (undiscounted), or `None` when no
/// volatility in ([`MIN_VOL`], [`MAX_VOL`]) reproduces it (see the module docs).
#[must_use]
pub fn implied_vol(kind: OptionKind, price: f64, forward: f64, strike: f64, t: f64) -> Option<f64> {
    if !(valid(forward, strike, t) && price.is_finite() && price > 0.0) {
        return None;
    }
    let (intrinsic, upper) = bounds(kind, forward, strike);
    if price <= intrinsic || price >= upper {
        return None;
    }
    let f = |v: f64| black76_price(kind, forward, strike, t, v).map(|p| p - price);
    let (mut lo, mut hi) = (MIN_VOL, MAX_VOL);
    let (f_lo, f_hi) = (f(lo)?, f(hi)?);
    if f_lo > 0.0 || f_hi < 0.0 {
        return None;
    }
    // Brenner–Subrahmanyam start, clamped into the bracket.
    let mut v = ((2.0 * std::f64::consts::PI / t).sqrt() * price / forward).clamp(0.05, 5.0);
    let tol = 1e-12 * price.max(1.0);
    for _ in 0..200 {
        let fv = f(v)?;
        if fv.abs() <= tol {
            return Some(v);
        }
        if fv > 0.0 {
            hi = v;
        } else {
            lo = v;
        }
        if hi - lo <= 1e-12 {
            break;
        }
        let slope = vega(forward, strike, t, v).unwrap_or(0.0);
        let newton = v - fv / slope;
        v = if slope > 1e-300 && newton.is_finite() && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
    }
    let v = 0.5 * (lo + hi);
    v.is_finite().then_some(v)
}

/// Delta of an undiscounted option: in (0, 1) for a call, in (−1, 0) for a put (the
/// rounding of `N` can reach the closed bounds far from the money).
#[must_use]
pub fn delta(kind: OptionKind, forward: f64, strike: f64, t: f64, vol: f64) -> Option<f64> {
    let (d1, _) = d1_d2(forward, strike, t, vol)?;
    let n = norm_cdf(d1);
    Some(match kind {
        OptionKind::Call => n,
        OptionKind::Put => n - 1.0,
    })
}

/// Gamma (per unit of the forward), the same for calls and puts.
#[must_use]
pub fn gamma(forward: f64, strike: f64, t: f64, vol: f64) -> Option<f64> {
    let (d1, _) = d1_d2(forward, strike, t, vol)?;
    let g = norm_pdf(d1) / (forward * vol * t.sqrt());
    g.is_finite().then_some(g)
}

/// Vega per unit of volatility (1.00 = 100 vol points), the same for calls and puts.
#[must_use]
pub fn vega(forward: f64, strike: f64, t: f64, vol: f64) -> Option<f64> {
    let (d1, _) = d1_d2(forward, strike, t, vol)?;
    let v = forward * norm_pdf(d1) * t.sqrt();
    v.is_finite().then_some(v)
}

/// Implied volatility and greeks of one option at one price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionAnalytics {
    /// Black-76 implied volatility (annualised, 0.25 = 25 %).
    pub iv: f64,
    /// Delta per contract unit (call in (0, 1), put in (−1, 0)).
    pub delta: f64,
    /// Gamma per point of the underlying.
    pub gamma: f64,
    /// Vega per unit of volatility, in the underlying's price units.
    pub vega: f64,
    /// Years to expiry used.
    pub years: f64,
    /// The underlying (forward) price used, in price units.
    pub forward: f64,
}

impl OptionAnalytics {
    /// Black-76 analytics of `contract` priced at `option_price` when the underlying
    /// future is at `underlying` (both dbn fixed point, 1e-9) at `ts_ns`; `None` when
    /// no implied volatility exists (see [`implied_vol`]) or an input is unusable.
    #[must_use]
    pub fn of(
        contract: &OptionContract,
        option_price: i64,
        underlying: i64,
        ts_ns: u64,
    ) -> Option<Self> {
        let t = years_to_expiry(contract.expiration, ts_ns)?;
        let forward = fixed_to_f64_lossy(underlying);
        let strike = fixed_to_f64_lossy(contract.strike);
        let price = fixed_to_f64_lossy(option_price);
        let iv = implied_vol(contract.kind, price, forward, strike, t)?;
        Some(Self {
            iv,
            delta: delta(contract.kind, forward, strike, t, iv)?,
            gamma: gamma(forward, strike, t, iv)?,
            vega: vega(forward, strike, t, iv)?,
            years: t,
            forward,
        })
    }

    /// Signed delta-adjusted notional of `size` contracts traded on `side`
    /// (+1 bought, −1 sold) with a multiplier of `multiplier` (fixed point; 20e9 for
    /// NQ): `side · Δ · size · multiplier · F`, in the premium's currency.
    #[must_use]
    pub fn delta_notional(&self, side: i8, size: u64, multiplier: i64) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
        let n = f64::from(side.signum())
            * self.delta
            * size as f64
            * fixed_to_f64_lossy(multiplier)
            * self.forward;
        if n.is_finite() {
            n
        } else {
            0.0
        }
    }

    /// Signed vega notional: `side · vega · size · multiplier / 100`, the premium change
    /// for one volatility point, in the premium's currency.
    #[must_use]
    pub fn vega_notional(&self, side: i8, size: u64, multiplier: i64) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
        let n = f64::from(side.signum()) * self.vega * size as f64 * fixed_to_f64_lossy(multiplier)
            / 100.0;
        if n.is_finite() {
            n
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_reference_values() {
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((norm_cdf(1.96) - 0.975_002_104_851_779_5).abs() < 1e-13);
        assert!((norm_cdf(-1.0) - 0.158_655_253_931_457_05).abs() < 1e-13);
        assert!((norm_cdf(-8.0) - 6.220_960_574_271_785e-16).abs() < 1e-20);
        for x in [-40.0, -3.3, -0.1, 0.7, 2.5, 9.0, 40.0] {
            assert!((norm_cdf(x) + norm_cdf(-x) - 1.0).abs() < 1e-14, "{x}");
        }
    }

    #[test]
    fn call_put_parity_undiscounted() {
        let (f, k, t, v) = (21_000.0, 20_500.0, 0.1, 0.22);
        let c = black76_price(OptionKind::Call, f, k, t, v).unwrap();
        let p = black76_price(OptionKind::Put, f, k, t, v).unwrap();
        assert!((c - p - (f - k)).abs() < 1e-8);
        let dc = delta(OptionKind::Call, f, k, t, v).unwrap();
        let dp = delta(OptionKind::Put, f, k, t, v).unwrap();
        assert!((dc - dp - 1.0).abs() < 1e-15);
    }

    #[test]
    fn atm_price_matches_closed_form() {
        // At the money: call = F (2N(σ√T/2) − 1).
        let (f, t, v) = (20_000.0, 0.25, 0.2);
        let c = black76_price(OptionKind::Call, f, f, t, v).unwrap();
        let expect = f * (2.0 * norm_cdf(v * t.sqrt() / 2.0) - 1.0);
        assert!((c - expect).abs() < 1e-9);
        let iv = implied_vol(OptionKind::Call, c, f, f, t).unwrap();
        assert!((iv - v).abs() < 1e-9);
    }

    #[test]
    fn no_vol_outside_the_bounds() {
        let (f, k, t) = (21_000.0, 20_000.0, 0.05);
        // At or below intrinsic, at or above the forward, no time, no price.
        assert_eq!(implied_vol(OptionKind::Call, 1_000.0, f, k, t), None);
        assert_eq!(implied_vol(OptionKind::Call, 999.0, f, k, t), None);
        assert_eq!(implied_vol(OptionKind::Call, f, f, k, t), None);
        assert_eq!(implied_vol(OptionKind::Put, k, f, k, t), None);
        assert_eq!(implied_vol(OptionKind::Call, 1_100.0, f, k, 0.0), None);
        assert_eq!(implied_vol(OptionKind::Put, 0.0, f, k, t), None);
        assert_eq!(implied_vol(OptionKind::Put, f64::NAN, f, k, t), None);
        // A one-tick wing has a volatility.
        assert!(implied_vol(OptionKind::Put, 0.05, f, 17_000.0, t).is_some());
    }

    #[test]
    fn expiry_and_mid() {
        assert_eq!(years_to_expiry(10, 10), None);
        assert_eq!(years_to_expiry(10, 11), None);
        let one_year = 365 * 86_400 * 1_000_000_000_u64;
        assert!((years_to_expiry(one_year + 5, 5).unwrap() - 1.0).abs() < 1e-15);
        use crate::types::Level;
        let lv = |price| {
            Some(Level {
                price,
                size: 1,
                count: 1,
            })
        };
        assert_eq!(
            book_mid(&Bbo {
                bid: lv(10),
                ask: lv(20)
            }),
            Some(15)
        );
        assert_eq!(
            book_mid(&Bbo {
                bid: lv(20),
                ask: lv(20)
            }),
            Some(20)
        );
        assert_eq!(
            book_mid(&Bbo {
                bid: lv(21),
                ask: lv(20)
            }),
            None
        );
        assert_eq!(
            book_mid(&Bbo {
                bid: None,
                ask: lv(20)
            }),
            None
        );
        assert_eq!(
            book_mid(&Bbo {
                bid: lv(10),
                ask: None
            }),
            None
        );
    }
}

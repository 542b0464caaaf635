//! Black-76 option values, the volatility smile and CME's NQ option premium grid.

/// One unit of price in dbn's fixed-point scale (1e-9).
pub(crate) const PX: i64 = 1_000_000_000;
/// 0.05 index points, the premium tick below 5.00.
pub(crate) const SMALL_TICK: i64 = PX / 20;
/// 0.25 index points: the premium tick from 5.00 up, and the future's tick.
pub(crate) const LARGE_TICK: i64 = PX / 4;
/// The premium at which the tick widens from 0.05 to 0.25.
pub(crate) const TICK_BREAK: i64 = 5 * PX;
/// Seconds in a (365-day) year, for time to expiry.
const YEAR_SECONDS: f64 = 365.0 * 86_400.0;

/// Standard normal cumulative distribution (Abramowitz-Stegun 7.1.26 via erf, |err| < 1.5e-7).
pub(crate) fn norm_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    let erf = if z >= 0.0 { erf } else { -erf };
    0.5 * (1.0 + erf)
}

/// Black-76 value of a European option on a future (undiscounted: CME options on futures
/// are premium-paid but the rate effect over weeks is far below one tick here).
pub(crate) fn black76(call: bool, fwd: f64, strike: f64, vol: f64, years: f64) -> f64 {
    let intrinsic = if call {
        (fwd - strike).max(0.0)
    } else {
        (strike - fwd).max(0.0)
    };
    if years <= 0.0 || vol <= 0.0 || fwd <= 0.0 || strike <= 0.0 {
        return intrinsic;
    }
    let sd = vol * years.sqrt();
    let d1 = ((fwd / strike).ln() + 0.5 * sd * sd) / sd;
    let d2 = d1 - sd;
    let value = if call {
        fwd * norm_cdf(d1) - strike * norm_cdf(d2)
    } else {
        strike * norm_cdf(-d2) - fwd * norm_cdf(-d1)
    };
    value.max(intrinsic)
}

/// Black-76 delta (undiscounted).
pub(crate) fn delta76(call: bool, fwd: f64, strike: f64, vol: f64, years: f64) -> f64 {
    if years <= 0.0 || vol <= 0.0 || fwd <= 0.0 || strike <= 0.0 {
        let itm = if call { fwd > strike } else { fwd < strike };
        return match (itm, call) {
            (true, true) => 1.0,
            (true, false) => -1.0,
            _ => 0.0,
        };
    }
    let sd = vol * years.sqrt();
    let d1 = ((fwd / strike).ln() + 0.5 * sd * sd) / sd;
    if call {
        norm_cdf(d1)
    } else {
        norm_cdf(d1) - 1.0
    }
}

/// Years from `now` to `expiry` (ns), floored at one minute so 0DTE values stay finite.
pub(crate) fn years_to(now: u64, expiry: u64) -> f64 {
    (expiry.saturating_sub(now) as f64 / 1e9).max(60.0) / YEAR_SECONDS
}

/// The smile: ATM volatility plus a negative skew and a convex wing in log-moneyness
/// scaled by the square root of time, floored at 5%.
pub(crate) fn smile_vol(atm: f64, fwd: f64, strike: f64, years: f64) -> f64 {
    let m = (strike / fwd).ln() / years.sqrt().max(0.02);
    (atm * (1.0 - 0.25 * m + 0.35 * m * m).min(3.0)).max(0.05)
}

/// The tick that applies at and just above `price` (1e-9).
pub(crate) fn tick_at(price: i64) -> i64 {
    if price < TICK_BREAK {
        SMALL_TICK
    } else {
        LARGE_TICK
    }
}

/// Converts a premium to fixed point, rounding down onto the grid.
pub(crate) fn floor_to_grid(price: f64) -> i64 {
    let raw = (price * PX as f64).floor() as i64;
    let tick = tick_at(raw);
    raw.div_euclid(tick) * tick
}

/// Converts a premium to fixed point, rounding up onto the grid.
pub(crate) fn ceil_to_grid(price: f64) -> i64 {
    let raw = (price * PX as f64).ceil() as i64;
    let below = floor_to_grid(price);
    if below >= raw {
        below
    } else {
        tick_up(below)
    }
}

/// The next grid price above `price`.
pub(crate) fn tick_up(price: i64) -> i64 {
    price + tick_at(price)
}

/// The next grid price below `price` (may reach zero or below: callers check).
pub(crate) fn tick_down(price: i64) -> i64 {
    if price <= TICK_BREAK {
        price - SMALL_TICK
    } else {
        price - LARGE_TICK
    }
}

/// Whether `price` lies on the premium grid.
#[cfg(test)]
pub(crate) fn on_grid(price: i64) -> bool {
    price % tick_at(price) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_call_parity_and_limits() {
        let (f, k, v, t) = (21_000.0, 21_100.0, 0.22, 10.0 / 365.0);
        let c = black76(true, f, k, v, t);
        let p = black76(false, f, k, v, t);
        assert!((c - p - (f - k)).abs() < 1e-6, "parity: {c} {p}");
        assert!(c > 0.0 && c < f);
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((norm_cdf(1.96) - 0.975).abs() < 1e-4);
        let d = delta76(true, f, f, v, t);
        assert!(d > 0.5 && d < 0.55, "ATM delta {d}");
        assert_eq!(black76(true, f, k, v, 0.0), 0.0);
    }

    #[test]
    fn smile_is_skewed() {
        let t = 30.0 / 365.0;
        let put_wing = smile_vol(0.2, 21_000.0, 19_500.0, t);
        let call_wing = smile_vol(0.2, 21_000.0, 22_500.0, t);
        let atm = smile_vol(0.2, 21_000.0, 21_000.0, t);
        assert!(
            put_wing > call_wing && call_wing > atm * 0.95,
            "{put_wing} {call_wing} {atm}"
        );
    }

    #[test]
    fn premium_grid() {
        assert_eq!(floor_to_grid(4.99), 4_950_000_000);
        assert_eq!(ceil_to_grid(4.96), 5_000_000_000);
        assert_eq!(floor_to_grid(5.10), 5_000_000_000);
        assert_eq!(ceil_to_grid(5.10), 5_250_000_000);
        assert_eq!(ceil_to_grid(5.25), 5_250_000_000);
        assert_eq!(tick_up(4_950_000_000), 5_000_000_000);
        assert_eq!(tick_up(5_000_000_000), 5_250_000_000);
        assert_eq!(tick_down(5_000_000_000), 4_950_000_000);
        assert_eq!(tick_down(5_250_000_000), 5_000_000_000);
        for p in [0.07, 1.0, 4.97, 5.0, 123.4, 999.99] {
            assert!(on_grid(floor_to_grid(p)) && on_grid(ceil_to_grid(p)));
            assert!(floor_to_grid(p) <= ceil_to_grid(p));
        }
    }
}

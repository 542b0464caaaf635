//! Packages: prints on several instruments that are one multi-leg trade.
//!
//! A calendar roll, a vertical, a straddle or a conversion prints as separate aggressor
//! events on each leg's instrument, milliseconds apart. Read one by one, each leg looks
//! like a directional block or sweep; together they are one trade whose view on the
//! underlying is its *net* delta, often close to none.
//!
//! # Recognition
//! Aggressor events of option instruments of one underlying product (the underlying
//! future's symbol without its month and year, so calendars across quarterly futures
//! match) within [`DetectorConfig::package_window_ns`](crate::DetectorConfig) of the
//! first are grouped into legs by (instrument, side): several events of one leg add
//! up. Legs then match these structures (sizes equal, or in the ratio shown, within
//! [`DetectorConfig::package_size_tolerance`](crate::DetectorConfig) of the larger: 2%
//! by default, so a leg filled a few lots short or joined by a small print on its
//! contract still matches):
//!
//! | structure | legs |
//! |---|---|
//! | `butterfly` | three strikes of one kind and expiry, sizes q:2q:q, the body on the other side from the wings |
//! | `calendar` | same strike and kind, different expiries, equal sizes, opposite sides |
//! | `vertical` | same expiry and kind, different strikes, equal sizes, opposite sides |
//! | `ratio` | same expiry and kind, different strikes, sizes 1:2 or 1:3, opposite sides |
//! | `straddle` | call and put of one strike and expiry, equal sizes, same side |
//! | `strangle` | call and put of different strikes, one expiry, equal sizes, same side |
//! | `synthetic` | call and put of one strike and expiry, equal sizes, opposite sides |
//! | `risk_reversal` | call and put of one expiry, equal sizes, opposite sides, call strike above the put strike (both out of the money around the forward) |
//!
//! Three-leg structures are tried before two-leg ones, so the first two legs of a
//! butterfly are not taken for a ratio spread.
//!
//! A package legged in through thin books fills its legs unequally (orders that take
//! what the screen holds and cancel the rest: a vertical printing 52 against 139 lots,
//! a condor 90/107/88/131), and some structures have four legs. When no listed
//! structure matches, the legs of the window that are large beside the largest (each
//! at least [`DetectorConfig::package_legged_min_share`](crate::DetectorConfig) of it
//! and at least `package_min_size` contracts) form a `custom` package, provided they
//! are not all of one side and one kind: buys against sells, or calls beside puts, in
//! the same milliseconds is a spread, whereas same-side prints of one kind on several
//! strikes are the cross-strike pattern and stay directional.
//!
//! On one expiry the share is not asked
//! ([`DetectorConfig::package_expiry_any_share`](crate::DetectorConfig)): prints on
//! instruments of the released print's expiry within the window, each of
//! `package_min_size` contracts or more and not all of one side and one kind, are one
//! `custom` package whatever their sizes. Legged through thin books a synthetic printed
//! 36 lots of its call against 310 of its put, a straddle 50 against 206, a ratio 42
//! against 508, and each leg read alone was a directional sweep. Across expiries (a
//! calendar) the share still applies.
//!
//! A structure found takes the window's other prints of `package_min_size` contracts or
//! more on its legs' expiries, on instruments none of its legs trades
//! ([`DetectorConfig::package_join_expiry`](crate::DetectorConfig)), and is then
//! `custom`: a three-leg collar whose first two legs are a risk reversal by themselves,
//! a butterfly whose short wing left the body and the other wing a 1:2 ratio.
//!
//! # The hold-back
//! The block, sweep, cross-strike and accumulation detectors must not see a leg of a
//! package. So every aggressor event that passes the market-maker gate is first held
//! in a queue; its market-maker likelihood, the intraday typical size and whether it
//! hit an iceberg are fixed on arrival, as if it had been scored at once. The oldest
//! held event is released when the stream's time (`ts_recv` of a later event, or of
//! any record through [`PatternDetector::advance`](crate::PatternDetector::advance))
//! passes its `ts_recv + package_window_ns`: by then every event that could be a leg
//! of its package has arrived. On release, the held events within its window are
//! matched; a package containing it takes all its legs' events out of the queue and
//! becomes one signal (`pattern: "package"`); otherwise the event alone goes on to the
//! other detectors. Because release is keyed on the records' `ts_recv` only, replay is
//! deterministic and a stream split anywhere gives the same signals. The cost is a
//! delay of one package window (30 ms by default, in stream time) before a block or
//! sweep is emitted, and a call to
//! [`PatternDetector::flush`](crate::PatternDetector::flush) at the end of the data.
//! A window of 0 turns packages and the hold-back off.
//!
//! # Direction
//! A package's `delta_notional` and `net_delta_notional` are the sum over its legs of
//! side × Δ × size × multiplier × underlying. A package is `"neutral"` unless that
//! net is known and its magnitude exceeds
//! [`DetectorConfig::package_material_delta_notional`](crate::DetectorConfig); then
//! its direction is the sign of the net delta (positive: bullish).
//!
//! # Exchange-listed spreads
//! A trade on a spread instrument (a definition with legs: class `T` option spreads,
//! known through [`MarketView::spread_legs`](crate::MarketView::spread_legs)) is one
//! package with structure `spread_instrument` whose legs are the definition's: leg
//! side = the spread aggressor's side when buying the spread buys the leg, else the
//! opposite; leg size = spread size × the leg's ratio. CME may also print the legs on
//! their own instruments: held leg prints of matching instrument and size within the
//! package window are taken into the package (their price becomes the leg's price),
//! and those arriving later within the window are dropped on arrival, so the trade is
//! counted once. A leg that did not print has a `null` price; its delta comes from its
//! book mid. The premium is the spread's |price| × size × the largest leg's
//! multiplier. A spread with a leg that is not an option of the chain is counted in
//! `unknown_instrument`, not signalled.
//!
//! # Limits
//! Futures legs (a conversion's or reversal's hedge) are not part of a package: a
//! synthetic whose future leg traded separately reads as directional by its option
//! delta.

use ifd_pressure::{OptionContract, OptionKind};

use crate::signal::{FlowSide, Structure};

/// One leg: the held events of one (instrument, side) within a package window.
#[derive(Debug, Clone)]
pub(crate) struct PkgLeg<'a> {
    pub(crate) contract: &'a OptionContract,
    pub(crate) side: FlowSide,
    pub(crate) size: u64,
}

/// The product of an underlying future's symbol: `"NQZ6"` → `"NQ"`, `"NQH27"` →
/// `"NQ"`; symbols without a month-and-year tail are kept whole.
pub(crate) fn product(symbol: &str) -> &str {
    let stem = symbol.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() == symbol.len() || stem.len() < 2 {
        return symbol;
    }
    // Drop the month code.
    &stem[..stem.len() - 1]
}

/// True when `a` and `b` are options on one underlying product.
pub(crate) fn same_underlying(a: &OptionContract, b: &OptionContract) -> bool {
    a.underlying_id == b.underlying_id || product(&a.underlying) == product(&b.underlying)
}

/// True when `a` is `b` within `tol` of the larger (both positive).
fn close(a: u64, b: u64, tol: f64) -> bool {
    #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
    let within = a.abs_diff(b) as f64 <= tol * a.max(b) as f64;
    a > 0 && b > 0 && within
}

fn classify_pair(a: &PkgLeg<'_>, b: &PkgLeg<'_>, tol: f64) -> Option<Structure> {
    let (ca, cb) = (a.contract, b.contract);
    let opposite = a.side != b.side;
    let equal = close(a.size, b.size, tol);
    if ca.kind == cb.kind {
        if ca.strike == cb.strike && ca.expiration != cb.expiration && equal && opposite {
            return Some(Structure::Calendar);
        }
        if ca.expiration == cb.expiration && ca.strike != cb.strike && opposite {
            if equal {
                return Some(Structure::Vertical);
            }
            let (lo, hi) = (a.size.min(b.size), a.size.max(b.size));
            if close(hi, 2 * lo, tol) || close(hi, 3 * lo, tol) {
                return Some(Structure::Ratio);
            }
        }
        return None;
    }
    if ca.expiration != cb.expiration || !equal {
        return None;
    }
    if ca.strike == cb.strike {
        return Some(if opposite {
            Structure::Synthetic
        } else {
            Structure::Straddle
        });
    }
    if !opposite {
        return Some(Structure::Strangle);
    }
    let (call, put) = if ca.kind == OptionKind::Call {
        (ca, cb)
    } else {
        (cb, ca)
    };
    (call.strike > put.strike).then_some(Structure::RiskReversal)
}

fn is_butterfly(legs: [&PkgLeg<'_>; 3], tol: f64) -> bool {
    let mut l = legs;
    let c0 = l[0].contract;
    if l.iter()
        .any(|x| x.contract.kind != c0.kind || x.contract.expiration != c0.expiration)
    {
        return false;
    }
    l.sort_by_key(|x| x.contract.strike);
    let (lo, body, hi) = (l[0], l[1], l[2]);
    lo.contract.strike < body.contract.strike
        && body.contract.strike < hi.contract.strike
        && close(lo.size, hi.size, tol)
        && close(body.size, lo.size + hi.size, tol)
        && lo.side == hi.side
        && body.side != lo.side
}

/// The first structure that contains leg `first` (three-leg structures before two-leg
/// ones, then in leg order), with the indices of its legs; sizes match within `tol` of
/// the larger.
pub(crate) fn find_package(
    legs: &[PkgLeg<'_>],
    first: usize,
    tol: f64,
) -> Option<(Structure, Vec<usize>)> {
    let f = legs.get(first)?;
    let others: Vec<usize> = (0..legs.len())
        .filter(|&i| i != first && same_underlying(legs[i].contract, f.contract))
        .collect();
    for (n, &i) in others.iter().enumerate() {
        for &j in &others[n + 1..] {
            if is_butterfly([f, &legs[i], &legs[j]], tol) {
                return Some((Structure::Butterfly, vec![first, i, j]));
            }
        }
    }
    for &i in &others {
        if let Some(s) = classify_pair(f, &legs[i], tol) {
            return Some((s, vec![first, i]));
        }
    }
    None
}

/// The legs of a `custom` package containing leg `first`: the legs on other
/// instruments of its underlying that hold at least `min_share` of the largest leg's
/// size (any share on `first`'s expiry when `any_share_on_expiry`) and at least
/// `min_size` contracts, when `first` is one of them and they are not all of one side
/// and one kind. `None` when `min_share` is 0 (off).
pub(crate) fn find_legged(
    legs: &[PkgLeg<'_>],
    first: usize,
    min_share: f64,
    min_size: u64,
    any_share_on_expiry: bool,
) -> Option<Vec<usize>> {
    let f = legs.get(first)?;
    if min_share.is_nan() || min_share <= 0.0 {
        return None;
    }
    let related = |l: &PkgLeg<'_>| same_underlying(l.contract, f.contract);
    let largest = legs.iter().filter(|l| related(l)).map(|l| l.size).max()?;
    #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
    let by_share =
        |l: &PkgLeg<'_>| l.size >= min_size && l.size as f64 >= min_share * largest as f64;
    // A leg beside `first` on its expiry, whatever its share.
    let on_expiry = |l: &PkgLeg<'_>| {
        any_share_on_expiry
            && l.size >= min_size
            && l.contract.expiration == f.contract.expiration
            && l.contract.instrument_id != f.contract.instrument_id
            && related(l)
    };
    let large = |l: &PkgLeg<'_>| by_share(l) || on_expiry(l);
    if !(by_share(f) || (f.size >= min_size && legs.iter().any(on_expiry))) {
        return None;
    }
    let mut chosen = vec![first];
    for (i, l) in legs.iter().enumerate() {
        if i == first || !related(l) || !large(l) {
            continue;
        }
        // One leg per instrument: the other side of a chosen leg's contract is not a leg.
        if chosen
            .iter()
            .any(|&c| legs[c].contract.instrument_id == l.contract.instrument_id)
        {
            continue;
        }
        chosen.push(i);
    }
    let mixed = chosen
        .iter()
        .any(|&i| legs[i].side != f.side || legs[i].contract.kind != f.contract.kind);
    (chosen.len() >= 2 && mixed).then_some(chosen)
}

/// Takes into the package of `ids` every other leg of the window of at least
/// `min_size` contracts on one of its legs' expiries (and its underlying), on an
/// instrument none of its legs trades: the third leg of a collar after a risk reversal
/// was matched, the wing of a butterfly that filled short after the other wing and the
/// body were matched as a ratio. A few lots of retail beside a package stay apart. True
/// when a leg was taken.
pub(crate) fn join_same_expiry(legs: &[PkgLeg<'_>], ids: &mut Vec<usize>, min_size: u64) -> bool {
    let Some(&first) = ids.first() else {
        return false;
    };
    let mut joined = false;
    for (i, l) in legs.iter().enumerate() {
        if ids.contains(&i)
            || l.size < min_size
            || !same_underlying(l.contract, legs[first].contract)
        {
            continue;
        }
        let on_expiry = ids
            .iter()
            .any(|&j| legs[j].contract.expiration == l.contract.expiration);
        let new_instrument = ids
            .iter()
            .all(|&j| legs[j].contract.instrument_id != l.contract.instrument_id);
        if on_expiry && new_instrument {
            ids.push(i);
            joined = true;
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use ifd_pressure::TickRule;

    const PX: i64 = 1_000_000_000;
    const EXP1: u64 = 1_797_800_000_000_000_000;
    const EXP2: u64 = EXP1 + 7 * 86_400 * 1_000_000_000;

    fn c(kind: OptionKind, strike: i64, expiration: u64) -> OptionContract {
        OptionContract {
            instrument_id: 0,
            raw_symbol: String::new(),
            underlying: "NQZ6".into(),
            underlying_id: 9,
            asset: "NQ".into(),
            kind,
            strike: strike * PX,
            expiration,
            multiplier: 20 * PX,
            tick: TickRule::CME_EQUITY_INDEX_OPTION,
            channel_id: 0,
            ts_recv: 0,
        }
    }

    /// `contract` as instrument `instrument_id`.
    fn id(contract: OptionContract, instrument_id: u32) -> OptionContract {
        OptionContract {
            instrument_id,
            ..contract
        }
    }

    fn leg(contract: &OptionContract, side: FlowSide, size: u64) -> PkgLeg<'_> {
        PkgLeg {
            contract,
            side,
            size,
        }
    }

    use FlowSide::{Buy, Sell};
    use OptionKind::{Call, Put};

    #[test]
    fn products() {
        assert_eq!(product("NQZ6"), "NQ");
        assert_eq!(product("NQH27"), "NQ");
        assert_eq!(product("ES"), "ES");
        assert_eq!(product("Z6"), "Z6");
    }

    #[test]
    fn two_leg_structures() {
        let c1 = c(Call, 21_000, EXP1);
        let c1b = c(Call, 21_000, EXP2);
        let c2 = c(Call, 21_100, EXP1);
        let p1 = c(Put, 21_000, EXP1);
        let p0 = c(Put, 20_800, EXP1);
        let pair = |a, b| find_package(&[a, b], 0, 0.0).map(|(s, _)| s);
        assert_eq!(
            pair(leg(&c1, Buy, 50), leg(&c1b, Sell, 50)),
            Some(Structure::Calendar)
        );
        assert_eq!(
            pair(leg(&c1, Buy, 50), leg(&c1b, Buy, 50)),
            None,
            "same side is no calendar"
        );
        assert_eq!(
            pair(leg(&c1, Buy, 50), leg(&c2, Sell, 50)),
            Some(Structure::Vertical)
        );
        assert_eq!(
            pair(leg(&c1, Buy, 50), leg(&c2, Sell, 100)),
            Some(Structure::Ratio)
        );
        assert_eq!(
            pair(leg(&c1, Buy, 50), leg(&c2, Sell, 150)),
            Some(Structure::Ratio)
        );
        assert_eq!(pair(leg(&c1, Buy, 50), leg(&c2, Sell, 120)), None);
        assert_eq!(
            pair(leg(&c1, Buy, 50), leg(&c2, Buy, 50)),
            None,
            "cross-strike, not a package"
        );
        assert_eq!(
            pair(leg(&c1, Buy, 50), leg(&p1, Buy, 50)),
            Some(Structure::Straddle)
        );
        assert_eq!(
            pair(leg(&c1, Buy, 50), leg(&p1, Sell, 50)),
            Some(Structure::Synthetic)
        );
        assert_eq!(
            pair(leg(&c2, Sell, 50), leg(&p0, Sell, 50)),
            Some(Structure::Strangle)
        );
        assert_eq!(
            pair(leg(&c2, Buy, 50), leg(&p0, Sell, 50)),
            Some(Structure::RiskReversal)
        );
        assert_eq!(
            pair(leg(&p0, Sell, 50), leg(&c2, Buy, 50)),
            Some(Structure::RiskReversal)
        );
        assert_eq!(
            pair(leg(&c1, Buy, 50), leg(&p1, Buy, 40)),
            None,
            "sizes differ"
        );
        let other = OptionContract {
            underlying: "ESZ6".into(),
            underlying_id: 10,
            ..c(Put, 21_000, EXP1)
        };
        assert_eq!(
            pair(leg(&c1, Buy, 50), leg(&other, Buy, 50)),
            None,
            "another underlying"
        );
    }

    #[test]
    fn butterfly_before_ratio() {
        let a = c(Call, 20_900, EXP1);
        let b = c(Call, 21_000, EXP1);
        let d = c(Call, 21_100, EXP1);
        let legs = [leg(&a, Buy, 10), leg(&b, Sell, 20), leg(&d, Buy, 10)];
        assert_eq!(
            find_package(&legs, 0, 0.0),
            Some((Structure::Butterfly, vec![0, 1, 2]))
        );
        // Without the third wing the first two are a 1:2 ratio spread.
        assert_eq!(
            find_package(&legs[..2], 0, 0.0).map(|p| p.0),
            Some(Structure::Ratio)
        );
        // Wings on opposite sides: no butterfly.
        let bad = [leg(&a, Buy, 10), leg(&b, Sell, 20), leg(&d, Sell, 10)];
        assert_ne!(
            find_package(&bad, 0, 0.0).map(|p| p.0),
            Some(Structure::Butterfly)
        );
    }

    #[test]
    fn sizes_match_within_the_tolerance() {
        let c1 = c(Call, 21_000, EXP1);
        let p1 = c(Put, 21_000, EXP1);
        let c2 = c(Call, 21_100, EXP1);
        let c3 = c(Call, 21_200, EXP1);
        let pair = |a, b, tol| find_package(&[a, b], 0, tol).map(|(s, _)| s);
        // 324 against 326 lots: 0.6% apart.
        assert_eq!(pair(leg(&c1, Buy, 324), leg(&p1, Sell, 326), 0.0), None);
        assert_eq!(
            pair(leg(&c1, Buy, 324), leg(&p1, Sell, 326), 0.02),
            Some(Structure::Synthetic)
        );
        // 5% apart is not one structure at 2%.
        assert_eq!(pair(leg(&c1, Buy, 300), leg(&p1, Sell, 316), 0.02), None);
        // A ratio a few lots short of 1:2.
        assert_eq!(
            pair(leg(&c1, Buy, 243), leg(&c2, Sell, 482), 0.02),
            Some(Structure::Ratio)
        );
        // A butterfly whose body is one lot short.
        let fly = [leg(&c1, Buy, 100), leg(&c2, Sell, 199), leg(&c3, Buy, 100)];
        assert_eq!(find_package(&fly, 0, 0.0).map(|p| p.0), None);
        assert_eq!(
            find_package(&fly, 0, 0.02).map(|p| p.0),
            Some(Structure::Butterfly)
        );
        // Small sizes stay exact: 2% of 10 lots is under one lot.
        assert_eq!(pair(leg(&c1, Buy, 10), leg(&p1, Sell, 11), 0.02), None);
    }

    #[test]
    fn unequal_legs_of_mixed_sides_or_kinds_are_one_custom_package() {
        let c1 = id(c(Call, 21_000, EXP1), 1);
        let c2 = id(c(Call, 21_100, EXP1), 2);
        let c3 = id(c(Call, 21_200, EXP1), 3);
        let c4 = id(c(Call, 21_300, EXP1), 4);
        let p1 = id(c(Put, 21_000, EXP1), 5);
        let legged = |legs: &[PkgLeg<'_>]| find_legged(legs, 0, 0.25, 10, false);
        // A vertical filled 52 against 139 lots: no listed ratio, one package.
        let vertical = [leg(&c1, Buy, 52), leg(&c2, Sell, 139)];
        assert_eq!(find_package(&vertical, 0, 0.02), None);
        assert_eq!(legged(&vertical), Some(vec![0, 1]));
        // A condor 90/107/88/131: four legs, the wings on one side.
        let condor = [
            leg(&c1, Buy, 90),
            leg(&c2, Sell, 107),
            leg(&c3, Sell, 88),
            leg(&c4, Buy, 131),
        ];
        assert_eq!(legged(&condor), Some(vec![0, 1, 2, 3]));
        // A straddle bought 180 against 92: one side, two kinds.
        assert_eq!(
            legged(&[leg(&c1, Buy, 180), leg(&p1, Buy, 92)]),
            Some(vec![0, 1])
        );
        // Same side and kind on three strikes is the cross-strike pattern, not a package.
        assert_eq!(
            legged(&[leg(&c1, Buy, 120), leg(&c2, Buy, 60), leg(&c3, Buy, 200)]),
            None
        );
        // A small print beside a large one is not its leg, nor is the large one its leg.
        let block_and_retail = [leg(&c1, Buy, 400), leg(&p1, Sell, 40)];
        assert_eq!(legged(&block_and_retail), None);
        assert_eq!(find_legged(&block_and_retail, 1, 0.25, 10, false), None);
        // The other side of a leg's own contract is not another leg.
        assert_eq!(legged(&[leg(&c1, Buy, 100), leg(&c1, Sell, 90)]), None);
        // Under the size floor, and with the rule off.
        assert_eq!(legged(&[leg(&c1, Buy, 8), leg(&c2, Sell, 9)]), None);
        assert_eq!(find_legged(&vertical, 0, 0.0, 10, false), None);
    }
    #[test]
    fn unequal_legs_on_one_expiry_are_one_package_whatever_their_share() {
        let c1 = id(c(Call, 21_000, EXP1), 1);
        let p1 = id(c(Put, 21_000, EXP1), 2);
        let c2 = id(c(Call, 21_100, EXP1), 3);
        let c2b = id(c(Call, 21_100, EXP2), 4);
        // A synthetic filled 36 against 310: under the quarter share.
        let synthetic = [leg(&c1, Buy, 36), leg(&p1, Sell, 310)];
        assert_eq!(find_legged(&synthetic, 0, 0.25, 10, false), None);
        assert_eq!(find_legged(&synthetic, 0, 0.25, 10, true), Some(vec![0, 1]));
        assert_eq!(find_legged(&synthetic, 1, 0.25, 10, true), Some(vec![1, 0]));
        // On another expiry the share still applies (a calendar-like pair).
        let calendar = [leg(&c2b, Buy, 36), leg(&c2, Sell, 310)];
        assert_eq!(find_legged(&calendar, 0, 0.25, 10, true), None);
        assert_eq!(find_legged(&calendar, 1, 0.25, 10, true), None);
        // One side and one kind is still no package, nor is a leg under the floor.
        let cross = [leg(&c1, Buy, 36), leg(&c2, Buy, 310)];
        assert_eq!(find_legged(&cross, 0, 0.25, 10, true), None);
        let tiny = [leg(&c1, Buy, 9), leg(&p1, Sell, 310)];
        assert_eq!(find_legged(&tiny, 1, 0.25, 10, true), None);
        // Off with a zero share.
        assert_eq!(find_legged(&synthetic, 0, 0.0, 10, true), None);
    }

    #[test]
    fn legs_on_a_package_expiry_join_it() {
        let p0 = id(c(Put, 20_800, EXP1), 1);
        let c1 = id(c(Call, 21_000, EXP1), 2);
        let c2 = id(c(Call, 21_100, EXP1), 3);
        let c2b = id(c(Call, 21_100, EXP2), 4);
        // A collar: the first two legs are a risk reversal, the third joins it.
        let collar = [leg(&p0, Sell, 163), leg(&c1, Buy, 163), leg(&c2, Sell, 163)];
        let (s, mut ids) = find_package(&collar, 0, 0.02).unwrap();
        assert_eq!(s, Structure::RiskReversal);
        assert!(join_same_expiry(&collar, &mut ids, 10));
        assert_eq!(ids, vec![0, 1, 2]);
        // Not a leg on another expiry, nor the other side of a leg's own contract.
        let other = [
            leg(&p0, Sell, 163),
            leg(&c1, Buy, 163),
            leg(&c2b, Sell, 163),
        ];
        let mut ids = vec![0, 1];
        assert!(!join_same_expiry(&other, &mut ids, 10));
        let own = [leg(&p0, Sell, 163), leg(&c1, Buy, 163), leg(&c1, Sell, 40)];
        let mut ids = vec![0, 1];
        assert!(!join_same_expiry(&own, &mut ids, 10));
        assert_eq!(ids, vec![0, 1]);
        // Nor a print under the leg floor.
        let retail = [leg(&p0, Sell, 163), leg(&c1, Buy, 163), leg(&c2, Sell, 3)];
        let mut ids = vec![0, 1];
        assert!(!join_same_expiry(&retail, &mut ids, 10));
    }
}

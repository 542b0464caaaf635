//! A market maker putting its quote back after each hit re-quotes its other side at
//! once; an iceberg's reload touches its own side only (issue 18, `blind_world2`
//! development seeds: a maker's bid refilled under an accumulation's sell clips, its
//! offer re-priced 60–150 µs later each time, read as a buyer's iceberg).

use super::{mbo, take, T0};
use dbn::{Action, Side};
use ifd_patterns::testing::TestMarket;
use ifd_patterns::{DetectorConfig, MmConfig, Pattern, PatternDetector, Signal};

/// Five rounds of an ask chain of 20 lots on instrument 2 (see `take_and_refill`); when
/// `requote_ns` is given, a bid resting on instrument 2 is re-priced that long after
/// each refill (negative: that long before it, between the fill and the refill).
fn rounds(requote_ns: Option<i64>, requote_window_ns: u64) -> Vec<Signal> {
    let market = TestMarket::nq_chain(3);
    let mut det = PatternDetector::new(DetectorConfig {
        mm: MmConfig {
            requote_window_ns,
            ..MmConfig::default()
        },
        ..DetectorConfig::default()
    })
    .unwrap();
    let mut out = Vec::new();
    let px = 12_500_000_000;
    let bid_px = |n: u64| 11_000_000_000 + i64::try_from(n % 2).unwrap() * 250_000_000;
    let (mut ts, mut oid) = (T0, 5_000);
    det.on_mbo(
        &mbo(2, 900, Action::Add, Side::Bid, bid_px(0), 20, ts),
        &market,
        &mut out,
    );
    det.on_mbo(
        &mbo(2, oid, Action::Add, Side::Ask, px, 20, ts),
        &market,
        &mut out,
    );
    for n in 1..=5u64 {
        take(&mut det, &market, &mut out, (&mut ts, oid), px, 20);
        ts += 20_000_000;
        oid += 1;
        let requote = |at: u64| mbo(2, 900, Action::Modify, Side::Bid, bid_px(n), 20, at);
        let refill = mbo(2, oid, Action::Add, Side::Ask, px, 20, ts);
        match requote_ns {
            Some(d) if d < 0 => {
                det.on_mbo(&requote(ts - d.unsigned_abs()), &market, &mut out);
                det.on_mbo(&refill, &market, &mut out);
            }
            Some(d) => {
                det.on_mbo(&refill, &market, &mut out);
                ts += d.unsigned_abs();
                det.on_mbo(&requote(ts), &market, &mut out);
            }
            None => det.on_mbo(&refill, &market, &mut out),
        }
    }
    out
}

#[test]
fn reloads_sent_with_a_re_quote_of_the_other_side_are_a_market_maker() {
    let window = 250_000;
    // The other side re-priced 60 µs after each reload: a market maker's quote.
    let out = rounds(Some(60_000), window);
    assert!(out.iter().all(|s| s.pattern != Pattern::Iceberg), "{out:?}");
    // With a window shorter than that, the same chain reads as an iceberg.
    let out = rounds(Some(60_000), 10_000);
    assert!(out.iter().any(|s| s.pattern == Pattern::Iceberg), "{out:?}");
    // Re-priced 5 ms after: not with the reload; the chain is an iceberg.
    let out = rounds(Some(5_000_000), window);
    assert!(out.iter().any(|s| s.pattern == Pattern::Iceberg), "{out:?}");
    // Without any re-quote, as before.
    let out = rounds(None, window);
    assert!(out.iter().any(|s| s.pattern == Pattern::Iceberg), "{out:?}");
}

#[test]
fn by_default_only_a_re_quote_of_the_same_packet_counts() {
    let window = MmConfig::default().requote_window_ns;
    assert_eq!(window, 0);
    // Sent with the reload (the same `ts_recv`): a market maker's quote.
    let out = rounds(Some(0), window);
    assert!(out.iter().all(|s| s.pattern != Pattern::Iceberg), "{out:?}");
    // 60 µs later: on a real book that is any participant's quote; the chain is an
    // iceberg.
    let out = rounds(Some(60_000), window);
    assert!(out.iter().any(|s| s.pattern == Pattern::Iceberg), "{out:?}");
}

#[test]
fn a_re_quote_sent_just_before_the_reload_counts_too() {
    let out = rounds(Some(-60_000), 250_000);
    assert!(out.iter().all(|s| s.pattern != Pattern::Iceberg), "{out:?}");
    // With a window shorter than the 60 µs, the chain reads as an iceberg.
    let out = rounds(Some(-60_000), 10_000);
    assert!(out.iter().any(|s| s.pattern == Pattern::Iceberg), "{out:?}");
}

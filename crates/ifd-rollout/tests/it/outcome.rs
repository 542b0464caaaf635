use ifd_rollout::{
    price_from_decimal, price_to_decimal, Direction, Error, Label, OutcomeConfig, OutcomeLabeller,
    SignalEntry, UnderlyingEntry, Variant, NANOS_PER_MINUTE,
};
use rust_decimal::Decimal;

const T0: u64 = 1_700_000_000_000_000_000;
const PX: i64 = 1_000_000_000; // 1.00 in 1e-9 units

fn entry(id: u64, direction: Direction, bid: i64, ask: i64) -> SignalEntry {
    SignalEntry {
        signal_id: id,
        variant: Variant::V3,
        pattern: "sweep".into(),
        direction,
        confidence: 0.8,
        fired_at: T0,
        instrument: 7,
        entry_bid: bid,
        entry_ask: ask,
        multiplier: 20,
        underlying: None,
    }
}

fn one_horizon(minutes: u64) -> OutcomeLabeller {
    OutcomeLabeller::new(OutcomeConfig {
        horizons_ns: vec![minutes * NANOS_PER_MINUTE],
        ..OutcomeConfig::default()
    })
    .unwrap()
}

#[test]
fn down_signal_pays_the_bid_and_wins_on_a_falling_mid() {
    let mut l = one_horizon(5);
    // bid 20.00, ask 20.50: mid 20.25; a short sells at the bid.
    l.register(entry(1, Direction::Down, 20 * PX, 20 * PX + PX / 2))
        .unwrap();
    l.on_mid(7, T0 + NANOS_PER_MINUTE, 19 * PX);
    let out = l.on_mid(7, T0 + 6 * NANOS_PER_MINUTE, 25 * PX);
    assert_eq!(out.len(), 1);
    let o = &out[0];
    assert_eq!(
        o.exit_mid,
        19 * PX,
        "the mid prevailing at the horizon, not the later one"
    );
    assert_eq!(o.entry_mid, 20 * PX + PX / 4);
    assert_eq!(o.entry_touch, 20 * PX);
    assert_eq!(o.move_px, PX + PX / 4);
    assert_eq!(o.label, Label::Win);
    // Sold at 20.00, bought back at 19.00, 20 per point: +20.
    assert_eq!(o.pnl, Decimal::from(20));
    assert_eq!(l.pending_count(), 0);
}

#[test]
fn flat_band_is_the_larger_of_relative_and_absolute() {
    // Entry mid 10.00: 1% band = 0.10 > 0.05 minimum.
    for (exit, label) in [
        (10 * PX + PX / 10, Label::Flat), // +0.10: on the band edge is flat
        (10 * PX + PX / 10 + 1, Label::Win),
        (10 * PX - PX / 10, Label::Flat),
        (10 * PX - PX / 10 - 1, Label::Loss),
    ] {
        let mut l = one_horizon(5);
        l.register(entry(1, Direction::Up, 10 * PX, 10 * PX))
            .unwrap();
        l.on_mid(7, T0 + 1, exit);
        let out = l.advance(T0 + 5 * NANOS_PER_MINUTE);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].band_px, PX / 10);
        assert_eq!(out[0].label, label, "exit {exit}");
    }
    // Entry mid 1.00: 1% = 0.01 < 0.05 minimum, so the band is 0.05.
    let mut l = one_horizon(5);
    l.register(entry(1, Direction::Up, PX, PX)).unwrap();
    l.on_mid(7, T0 + 1, PX + PX / 25); // +0.04
    let out = l.advance(T0 + 5 * NANOS_PER_MINUTE);
    assert_eq!(out[0].band_px, 50_000_000);
    assert_eq!(out[0].label, Label::Flat);
}

#[test]
fn every_horizon_resolves_once_with_its_own_mid() {
    let mut l = OutcomeLabeller::new(OutcomeConfig::default()).unwrap(); // 5, 15, 30 min
    l.register(entry(9, Direction::Up, 10 * PX, 11 * PX))
        .unwrap();
    assert_eq!(l.pending_count(), 3);
    let mut all = Vec::new();
    for (minute, mid) in [(3, 11), (10, 12), (20, 9), (40, 30)] {
        all.extend(l.on_mid(7, T0 + minute * NANOS_PER_MINUTE, mid * PX));
    }
    let got: Vec<(u64, i64, Label)> = all
        .iter()
        .map(|o| (o.horizon_ns / NANOS_PER_MINUTE, o.exit_mid / PX, o.label))
        .collect();
    assert_eq!(
        got,
        vec![
            (5, 11, Label::Win),
            (15, 12, Label::Win),
            (30, 9, Label::Loss)
        ]
    );
    // P&L at 30 min: bought at 11, marked at 9: -2 × 20 = -40.
    assert_eq!(all[2].pnl, Decimal::from(-40));
    assert_eq!(l.pending_count(), 0);
    assert_eq!(l.stats().outcomes_resolved, 3);
}

#[test]
fn without_updates_the_entry_mid_prevails() {
    let mut l = one_horizon(5);
    l.register(entry(1, Direction::Up, 10 * PX, 10 * PX))
        .unwrap();
    assert!(l.advance(T0 + 5 * NANOS_PER_MINUTE - 1).is_empty());
    let out = l.advance(T0 + 5 * NANOS_PER_MINUTE);
    assert_eq!(out[0].exit_mid, 10 * PX);
    assert_eq!(out[0].label, Label::Flat);
    assert_eq!(out[0].pnl, Decimal::ZERO);
}

#[test]
fn an_update_exactly_at_the_deadline_is_the_prevailing_one() {
    let mut l = one_horizon(5);
    l.register(entry(1, Direction::Up, 10 * PX, 10 * PX))
        .unwrap();
    assert!(l.on_mid(7, T0 + 5 * NANOS_PER_MINUTE, 12 * PX).is_empty());
    let out = l.on_mid(7, T0 + 5 * NANOS_PER_MINUTE + 1, 8 * PX);
    assert_eq!(out[0].exit_mid, 12 * PX);
}

#[test]
fn underlying_move_is_recorded_in_the_signal_direction() {
    let mut l = one_horizon(5);
    let mut e = entry(1, Direction::Down, 10 * PX, 10 * PX);
    e.underlying = Some(UnderlyingEntry {
        instrument: 99,
        mid: 21_000 * PX,
    });
    l.register(e).unwrap();
    l.on_mid(99, T0 + 1, 20_990 * PX);
    // The option leg resolves first; the outcome waits for the underlying leg.
    assert!(l.on_mid(7, T0 + 6 * NANOS_PER_MINUTE, 9 * PX).is_empty());
    let out = l.on_mid(99, T0 + 7 * NANOS_PER_MINUTE, 20_000 * PX);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].underlying_move_px, Some(10 * PX));
    assert_eq!(
        out[0].label,
        Label::Flat,
        "the option's mid did not move before the horizon"
    );
}

#[test]
fn bad_input_is_rejected_or_skipped_and_counted() {
    let mut l = one_horizon(5);
    assert!(matches!(
        l.register(entry(1, Direction::Up, 0, PX)),
        Err(Error::InvalidEntryPrice {
            signal_id: 1,
            price: 0
        })
    ));
    assert!(matches!(
        l.register(entry(1, Direction::Up, 2 * PX, PX)),
        Err(Error::InvalidEntryPrice { .. })
    ));
    l.register(entry(1, Direction::Up, PX, PX)).unwrap();
    assert!(matches!(
        l.register(entry(1, Direction::Up, PX, PX)),
        Err(Error::DuplicateSignal { signal_id: 1 })
    ));
    let mut late = entry(2, Direction::Up, PX, PX);
    late.fired_at = u64::MAX - 1;
    assert!(matches!(l.register(late), Err(Error::Overflow { .. })));
    l.on_mid(7, T0 + 10, -5);
    l.on_mid(7, T0 + 10, 0);
    l.on_mid(7, T0 + 20, 2 * PX);
    l.on_mid(7, T0 + 15, 3 * PX);
    let s = l.stats();
    assert_eq!(
        (
            s.skipped_nonpositive_mid,
            s.skipped_out_of_order,
            s.mid_updates
        ),
        (2, 1, 1)
    );
    assert!(l.void_instrument(7).is_empty());
    assert_eq!(l.pending_count(), 0);
    assert!(l.advance(u64::MAX).is_empty());
    assert_eq!(l.stats().voided, 1);
    assert!(OutcomeLabeller::new(OutcomeConfig {
        horizons_ns: vec![],
        ..OutcomeConfig::default()
    })
    .is_err());
    assert!(OutcomeLabeller::new(OutcomeConfig {
        horizons_ns: vec![5, 5],
        ..OutcomeConfig::default()
    })
    .is_err());
    assert!(OutcomeLabeller::new(OutcomeConfig {
        contracts: 0,
        ..OutcomeConfig::default()
    })
    .is_err());
}

#[test]
fn decimal_prices_round_trip() {
    let d = Decimal::new(2_125, 2); // 21.25
    assert_eq!(price_from_decimal(d), Some(21_250_000_000));
    assert_eq!(price_to_decimal(21_250_000_000), d);
    assert_eq!(
        price_from_decimal(Decimal::new(1, 10)),
        None,
        "finer than 1e-9"
    );
}

#[test]
fn voiding_the_underlying_keeps_the_option_outcome() {
    let mut l = one_horizon(5);
    let mut e = entry(1, Direction::Up, 10 * PX, 10 * PX);
    e.underlying = Some(UnderlyingEntry {
        instrument: 99,
        mid: 21_000 * PX,
    });
    l.register(e).unwrap();
    assert!(
        l.on_mid(7, T0 + 6 * NANOS_PER_MINUTE, 12 * PX).is_empty(),
        "waits for the underlying"
    );
    let out = l.void_instrument(99);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].underlying_move_px, None);
    assert_eq!(
        out[0].label,
        Label::Flat,
        "no option update before the horizon"
    );
    assert_eq!(l.stats().voided, 0);
    // Voiding the option drops the whole outcome, including its underlying leg.
    let mut e = entry(2, Direction::Up, 10 * PX, 10 * PX);
    e.underlying = Some(UnderlyingEntry {
        instrument: 99,
        mid: 21_000 * PX,
    });
    l.register(e).unwrap();
    assert!(l.void_instrument(7).is_empty());
    assert_eq!(l.stats().voided, 1);
    assert_eq!(l.pending_count(), 0);
    assert!(l.on_mid(99, T0 + NANOS_PER_MINUTE * 60, 1).is_empty());
}

mod props {
    use super::*;
    use ifd_rollout::Outcome;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Ev {
        Signal {
            inst: u32,
            up: bool,
            bid: i64,
            spread: i64,
        },
        Mid {
            inst: u32,
            mid: i64,
        },
    }

    fn ev() -> impl Strategy<Value = (u64, Ev)> {
        let e = prop_oneof![
            1 => (0_u32..3, any::<bool>(), 1_i64..50, 0_i64..3)
                .prop_map(|(inst, up, bid, spread)| Ev::Signal { inst, up, bid: bid * PX / 4, spread: spread * PX / 4 }),
            4 => (0_u32..3, -2_i64..60).prop_map(|(inst, m)| Ev::Mid { inst, mid: m * PX / 4 }),
        ];
        (0_u64..4 * NANOS_PER_MINUTE, e)
    }

    fn run(events: &[(u64, Ev)], advance_between: bool) -> (Vec<Outcome>, u64) {
        let mut l = OutcomeLabeller::new(OutcomeConfig {
            horizons_ns: vec![5 * NANOS_PER_MINUTE, 15 * NANOS_PER_MINUTE],
            ..OutcomeConfig::default()
        })
        .unwrap();
        let mut out = Vec::new();
        let mut now = T0;
        let mut registered = 0;
        for (i, (dt, e)) in events.iter().enumerate() {
            if advance_between && *dt > 0 {
                // Everything up to just before the next event has been fed.
                out.extend(l.advance(now + dt - 1));
            }
            now += dt;
            match e {
                Ev::Signal {
                    inst,
                    up,
                    bid,
                    spread,
                } => {
                    let mut s = entry(
                        i as u64,
                        if *up { Direction::Up } else { Direction::Down },
                        *bid,
                        bid + spread,
                    );
                    s.fired_at = now;
                    s.instrument = *inst;
                    l.register(s).unwrap();
                    registered += 1;
                }
                Ev::Mid { inst, mid } => out.extend(l.on_mid(*inst, now, *mid)),
            }
        }
        out.extend(l.advance(u64::MAX));
        assert_eq!(l.pending_count(), 0);
        let s = l.stats();
        assert_eq!(
            s.outcomes_resolved + s.overflowed + s.voided,
            registered * 2,
            "every horizon accounted for"
        );
        out.sort_by_key(|o| (o.signal_id, o.horizon_ns));
        (out, registered)
    }

    proptest! {
        /// Calling `advance` whenever time passes changes nothing: outcomes depend only on
        /// the mid sequence, and each signal gets exactly one outcome per horizon.
        #[test]
        fn outcomes_do_not_depend_on_when_time_is_advanced(events in proptest::collection::vec(ev(), 0..80)) {
            let (a, n) = run(&events, false);
            let (b, _) = run(&events, true);
            prop_assert_eq!(a.len() as u64, 2 * n);
            prop_assert_eq!(&a, &b);
            for o in &a {
                prop_assert_eq!(o.move_px > o.band_px, o.label == Label::Win);
                prop_assert_eq!(o.move_px < -o.band_px, o.label == Label::Loss);
            }
        }
    }
}

//! The sans-IO recovery machine driven by a model gateway and a fake clock.

use std::time::Duration;

use dbn::{enums::ErrorCode, ErrorMsg, Record, RecordBuf, RecordRef};
use ifd_mbo_client::live::{
    cme_globex_open, Action, ConnectPlan, DisconnectReason, Event, Failure, FatalReason, LiveEvent,
    MarketHours, Recovery, RecoveryConfig, Verdict,
};
use proptest::prelude::*;

use crate::gateway;

fn config() -> RecoveryConfig {
    RecoveryConfig {
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_secs(2),
        replay_margin_ns: 50_000_000,
        market_hours: MarketHours::Always,
        ..RecoveryConfig::default()
    }
}

/// Drains actions; returns the plan of a requested connection, and answers waits by
/// advancing the clock and firing the timer.
fn drive(
    rec: &mut Recovery,
    now: &mut Duration,
    events: &mut Vec<LiveEvent>,
    connects: &mut Vec<Duration>,
) -> Option<ConnectPlan> {
    while let Some(action) = rec.poll_action() {
        match action {
            Action::Connect(plan) => {
                connects.push(*now);
                return Some(plan);
            }
            Action::WaitUntil(at) => {
                assert!(at >= *now);
                *now = at;
                rec.on_event(Event::TimerExpired, *now);
            }
            Action::Emit(e) => events.push(e),
            Action::CloseSession => {}
            Action::Stop(reason) => panic!("unexpected stop: {reason:?}"),
            _ => {}
        }
    }
    None
}

struct Run {
    delivered: Vec<RecordBuf>,
    received: u64,
    events: Vec<LiveEvent>,
    connects: Vec<Duration>,
    rec: Recovery,
}

/// Serves `session` through the machine; connection `i` drops after `cuts[i]`
/// records; `outage` records pass in real time while the client is away.
fn simulate(session: &[RecordBuf], cuts: &[usize], outage: usize, skip_back: Option<usize>) -> Run {
    let mut rec = Recovery::new(config());
    let mut now = Duration::ZERO;
    let mut events = Vec::new();
    let mut connects = Vec::new();
    let mut delivered = Vec::new();
    let mut received = 0u64;
    let mut cursor = 0usize;
    let mut skip: Option<usize> = None;
    rec.on_event(Event::Start, now);
    for conn in 0.. {
        let Some(plan) = drive(&mut rec, &mut now, &mut events, &mut connects) else {
            break;
        };
        let start_ns = session.get(cursor).map_or(0, |r| r.raw_index_ts());
        rec.on_event(
            Event::Connected {
                session_id: conn.to_string(),
                start_ns,
            },
            now,
        );
        let mut stream: Vec<(&RecordBuf, bool)> = Vec::new();
        if let Some(start) = plan.start {
            for (i, r) in session[..cursor].iter().enumerate() {
                if skip.is_some_and(|from| i >= from) {
                    continue;
                }
                if r.header().ts_event >= start {
                    stream.push((r, false));
                }
            }
        }
        skip = None;
        let live_from = cursor;
        stream.extend(session[cursor..].iter().map(|r| (r, true)));
        let cut = cuts.get(conn).copied();
        let mut live_sent = 0;
        for (i, (r, live)) in stream.iter().enumerate() {
            if cut.is_some_and(|c| i >= c) {
                break;
            }
            now += Duration::from_micros(10);
            received += 1;
            if *live {
                live_sent += 1;
            }
            match rec.on_record(r.as_rec_ref(), now, 0) {
                Verdict::Deliver => delivered.push((*r).clone()),
                Verdict::Duplicate | Verdict::Control | Verdict::Ignore => {}
            }
            if !rec.is_streaming() {
                break;
            }
        }
        if cut.is_none() {
            break;
        }
        cursor = (live_from + live_sent + outage).min(session.len());
        if let Some(back) = skip_back {
            skip = Some(live_from + live_sent - back.min(live_from + live_sent));
        }
        rec.on_event(
            Event::Failed(Failure::Transient(DisconnectReason::Io("reset".into()))),
            now,
        );
    }
    // Collect what the last session emitted (a gap, a disconnect).
    while let Some(action) = rec.poll_action() {
        if let Action::Emit(e) = action {
            events.push(e);
        }
    }
    Run {
        delivered,
        received,
        events,
        connects,
        rec,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For any sequence of disconnect points, every record is delivered once, in order.
    #[test]
    fn dedup_delivers_each_record_once(
        n in 20usize..160,
        seed in any::<u64>(),
        cuts in proptest::collection::vec(0usize..80, 0..8),
        outage in 0usize..12,
    ) {
        let session = gateway::session(n, seed);
        let run = simulate(&session, &cuts, outage, None);
        prop_assert_eq!(run.delivered.len(), session.len());
        prop_assert!(run.delivered == session);
        let c = run.rec.counters();
        prop_assert_eq!(c.records_delivered, session.len() as u64);
        prop_assert_eq!(c.records_delivered + c.duplicates_dropped, run.received);
        prop_assert_eq!(c.gaps, 0);
        let gap_raised = run.events.iter().any(|e| matches!(e, LiveEvent::Gap { .. }));
        prop_assert!(!gap_raised);
        // Never more than five connections per second.
        for w in run.connects.windows(2) {
            prop_assert!(w[1] - w[0] >= Duration::from_millis(200));
        }
    }
}

#[test]
fn replay_that_misses_the_seam_raises_gap_then_plans_a_snapshot() {
    let session = gateway::session(100, 42);
    let mut rec = Recovery::new(config());
    let mut now = Duration::ZERO;
    let (mut events, mut connects) = (Vec::new(), Vec::new());
    rec.on_event(Event::Start, now);
    drive(&mut rec, &mut now, &mut events, &mut connects).expect("connect");
    rec.on_event(
        Event::Connected {
            session_id: "1".into(),
            start_ns: 0,
        },
        now,
    );
    for r in &session[..60] {
        assert_eq!(rec.on_record(r.as_rec_ref(), now, 0), Verdict::Deliver);
    }
    let hwm = session[59].raw_index_ts();
    rec.on_event(
        Event::Failed(Failure::Transient(DisconnectReason::HeartbeatTimeout)),
        now,
    );
    let plan = drive(&mut rec, &mut now, &mut events, &mut connects).expect("reconnect");
    assert!(plan.start.is_some() && !plan.snapshot);
    rec.on_event(
        Event::Connected {
            session_id: "2".into(),
            start_ns: 0,
        },
        now,
    );
    // The replay jumps straight past the mark.
    let first_after = session
        .iter()
        .find(|r| r.raw_index_ts() > hwm)
        .expect("a later record");
    assert_eq!(
        rec.on_record(first_after.as_rec_ref(), now, 0),
        Verdict::Ignore
    );
    let plan = drive(&mut rec, &mut now, &mut events, &mut connects).expect("resync");
    assert_eq!(
        plan,
        ConnectPlan {
            start: None,
            snapshot: true
        }
    );
    assert!(events.contains(&LiveEvent::Gap {
        from: hwm,
        to: first_after.raw_index_ts()
    }));
    assert_eq!(rec.counters().gaps, 1);
}

#[test]
fn gap_detected_by_simulation_when_replay_omits_the_last_records() {
    let session = gateway::session(120, 3);
    let run = simulate(&session, &[70], 5, Some(3));
    assert_eq!(run.rec.counters().gaps, 1);
    assert!(run
        .events
        .iter()
        .any(|e| matches!(e, LiveEvent::Gap { .. })));
    // Nothing after the first session's 70 records was delivered by the gapped replay.
    assert_eq!(&run.delivered[..70], &session[..70]);
}

#[test]
fn fatal_error_record_stops_without_retry() {
    let mut rec = Recovery::new(config());
    let mut now = Duration::ZERO;
    rec.on_event(Event::Start, now);
    let (mut events, mut connects) = (Vec::new(), Vec::new());
    drive(&mut rec, &mut now, &mut events, &mut connects).expect("connect");
    rec.on_event(
        Event::Connected {
            session_id: "1".into(),
            start_ns: 0,
        },
        now,
    );
    let err = ErrorMsg::new(
        0,
        Some(ErrorCode::InvalidSubscription),
        "bad symbol list",
        true,
    );
    assert_eq!(
        rec.on_record(RecordRef::from(&err), now, 0),
        Verdict::Control
    );
    let mut stop = None;
    while let Some(a) = rec.poll_action() {
        assert!(!matches!(a, Action::Connect(_) | Action::WaitUntil(_)));
        if let Action::Stop(r) = a {
            stop = Some(r);
        }
    }
    assert_eq!(
        stop,
        Some(Some(FatalReason::Rejected {
            code: ErrorCode::InvalidSubscription as u8,
            message: "bad symbol list".into()
        }))
    );
    assert!(rec.is_stopped());
    assert_eq!(rec.counters().connection_attempts, 1);
}

#[test]
fn connection_limit_waits_at_least_a_second() {
    let mut rec = Recovery::new(config());
    let now = Duration::from_secs(5);
    rec.on_event(Event::Start, now);
    assert!(matches!(rec.poll_action(), Some(Action::Connect(_))));
    rec.on_event(
        Event::Connected {
            session_id: "1".into(),
            start_ns: 0,
        },
        now,
    );
    while rec.poll_action().is_some() {}
    let err = ErrorMsg::new(
        0,
        Some(ErrorCode::ConnectionLimitExceeded),
        "too many",
        true,
    );
    rec.on_record(RecordRef::from(&err), now, 0);
    let wait = std::iter::from_fn(|| rec.poll_action())
        .find_map(|a| match a {
            Action::WaitUntil(at) => Some(at),
            _ => None,
        })
        .expect("a wait");
    assert!(wait >= now + Duration::from_secs(1));
}

#[test]
fn backoff_grows_and_is_deterministic_in_the_seed() {
    let waits = |seed: u64| {
        let mut rec = Recovery::new(RecoveryConfig {
            seed,
            min_connect_spacing: Duration::ZERO,
            ..config()
        });
        let mut now = Duration::ZERO;
        rec.on_event(Event::Start, now);
        let mut out = Vec::new();
        for _ in 0..8 {
            while let Some(a) = rec.poll_action() {
                if let Action::WaitUntil(at) = a {
                    out.push(at - now);
                    now = at;
                    rec.on_event(Event::TimerExpired, now);
                }
            }
            rec.on_event(
                Event::ConnectFailed(Failure::Transient(DisconnectReason::ConnectFailed(
                    "refused".into(),
                ))),
                now,
            );
        }
        out
    };
    let a = waits(1);
    assert_eq!(a, waits(1));
    assert_ne!(a, waits(2));
    // Equal jitter: each wait lies in [base/2, base) with base = 10 ms * 2^k capped at 2 s.
    for (k, w) in a.iter().enumerate() {
        let base = Duration::from_millis(10 * (1 << k)).min(Duration::from_secs(2));
        assert!(
            *w >= base / 2 && *w < base,
            "wait {k}: {w:?} outside [{:?}, {base:?})",
            base / 2
        );
    }
}

#[test]
fn clean_close_outside_market_hours_ends_the_stream() {
    let mut rec = Recovery::new(RecoveryConfig {
        market_hours: MarketHours::CmeGlobex,
        ..config()
    });
    rec.on_event(Event::Start, Duration::ZERO);
    while rec.poll_action().is_some() {}
    rec.on_event(
        Event::Connected {
            session_id: "1".into(),
            start_ns: 0,
        },
        Duration::ZERO,
    );
    while rec.poll_action().is_some() {}
    // Saturday 2026-01-03 12:00 UTC.
    rec.on_event(
        Event::Closed {
            unix_now_ns: ns(2026, 1, 3, 12, 0),
        },
        Duration::from_secs(1),
    );
    let actions: Vec<Action> = std::iter::from_fn(|| rec.poll_action()).collect();
    assert!(actions.contains(&Action::Stop(None)));
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::WaitUntil(_) | Action::Connect(_))));
}

fn ns(y: i32, m: u8, d: u8, h: u8, min: u8) -> u64 {
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).expect("month"), d)
        .expect("date");
    let dt = date.with_hms(h, min, 0).expect("time").assume_utc();
    u64::try_from(dt.unix_timestamp_nanos()).expect("after 1970")
}

#[test]
fn cme_globex_hours_known_answers() {
    // Winter (CST = UTC-6).
    assert!(!cme_globex_open(ns(2026, 1, 3, 12, 0)), "Saturday");
    assert!(!cme_globex_open(ns(2026, 1, 4, 22, 30)), "Sunday 16:30 CT");
    assert!(cme_globex_open(ns(2026, 1, 4, 23, 30)), "Sunday 17:30 CT");
    assert!(cme_globex_open(ns(2026, 1, 7, 15, 0)), "Wednesday 09:00 CT");
    assert!(
        !cme_globex_open(ns(2026, 1, 7, 22, 30)),
        "Wednesday 16:30 CT break"
    );
    assert!(cme_globex_open(ns(2026, 1, 7, 23, 5)), "Wednesday 17:05 CT");
    assert!(!cme_globex_open(ns(2026, 1, 9, 22, 30)), "Friday 16:30 CT");
    // Summer (CDT = UTC-5).
    assert!(
        !cme_globex_open(ns(2026, 7, 8, 21, 30)),
        "Wednesday 16:30 CDT break"
    );
    assert!(
        cme_globex_open(ns(2026, 7, 8, 22, 30)),
        "Wednesday 17:30 CDT"
    );
    assert!(cme_globex_open(ns(2026, 7, 10, 20, 30)), "Friday 15:30 CDT");
}

/// 2026-03-04 15:00 UTC, a CME trading day.
fn budget_now() -> u64 {
    1_772_636_400_000_000_000
}

#[test]
fn budgeted_handler_records_live_bytes_per_batch_and_session() {
    use ifd_budget::{
        BudgetConfig, ChargeKind, CostModel, Ledger, LivePricing, PriceTable, TradingCalendar,
    };
    use ifd_mbo_client::live::{BudgetedHandler, LiveHandler};

    struct Nothing;
    impl LiveHandler for Nothing {
        fn on_record(&mut self, _: RecordRef<'_>) {}
    }
    let prices = PriceTable::from_unit_prices([("mbo", 1.5)]).expect("prices");
    let live = LivePricing::PerGb {
        usd_per_gb: rust_decimal::Decimal::new(5, 0),
    };
    let mut budget = ifd_budget::Budget::new(
        BudgetConfig::default(),
        TradingCalendar::cme(),
        CostModel::new(prices, live).expect("model"),
        Ledger::new(),
    )
    .expect("budget");
    {
        let mut h = BudgetedHandler::with_clock(Nothing, &mut budget, 1_000, budget_now);
        h.on_event(&LiveEvent::Connected {
            session_id: "7".into(),
            reconnect: 0,
        });
        for _ in 0..25 {
            h.on_bytes(100); // 2 500 bytes: two full batches, 500 pending
        }
        h.on_event(&LiveEvent::Disconnected {
            reason: DisconnectReason::CleanClose,
        });
        h.on_event(&LiveEvent::Connected {
            session_id: "8".into(),
            reconnect: 1,
        });
        h.on_bytes(56);
        assert!(h.errors().is_empty(), "{:?}", h.errors());
        assert!(h.directive().is_some());
    } // drop records the last 56 bytes
    let charges = budget.ledger().charges();
    let got: Vec<(&str, u64)> = charges
        .iter()
        .map(|c| (c.reference.as_str(), c.bytes))
        .collect();
    assert_eq!(
        got,
        vec![
            ("live-7", 1_000),
            ("live-7", 1_000),
            ("live-7", 500),
            ("live-8", 56)
        ]
    );
    assert!(charges.iter().all(|c| c.kind == ChargeKind::Live));
}

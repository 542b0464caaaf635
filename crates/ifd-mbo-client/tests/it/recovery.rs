//! The sans-IO recovery machine driven by a model gateway and a fake clock.

use std::time::Duration;

use dbn::{
    enums::{ErrorCode, SystemCode},
    ErrorMsg, Record, RecordBuf, RecordRef, SystemMsg,
};
use ifd_mbo_client::live::{
    cme_globex_open, Action, ConnectPlan, DisconnectReason, Event, Failure, FatalReason, Gap,
    GapReason, LiveEvent, MarketHours, Recovery, RecoveryConfig, Verdict,
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

/// What the next replay leaves out, counted back from where the connection dropped:
/// `back` records before it and `len` records in all (`usize::MAX`: up to real time).
#[derive(Debug, Clone, Copy)]
struct Omit {
    back: usize,
    len: usize,
}

fn replay_completed() -> RecordBuf {
    RecordBuf::from(
        SystemMsg::new(0, Some(SystemCode::ReplayCompleted), "replay completed").expect("sys"),
    )
}

/// Serves `session` through the machine; connection `i` drops after `cuts[i]`
/// records; `outage` records pass in real time while the client is away. A replay
/// ends with one `ReplayCompleted` per schema; a snapshot session starts with one
/// snapshot clear per instrument. With `omit`, the replay after the first cut leaves
/// records out.
fn simulate(session: &[RecordBuf], cuts: &[usize], outage: usize, omit: Option<Omit>) -> Run {
    let mut rec = Recovery::new(config());
    let mut now = Duration::ZERO;
    let mut events = Vec::new();
    let mut connects = Vec::new();
    let mut delivered = Vec::new();
    let mut received = 0u64;
    let mut cursor = 0usize;
    let mut skip: Option<(usize, usize)> = None;
    let mut omit = omit;
    let done = replay_completed();
    let clears = gateway::snapshot_clears();
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
        if plan.snapshot {
            stream.extend(clears.iter().map(|r| (r, false)));
        } else if let Some(start) = plan.start {
            for (i, r) in session[..cursor].iter().enumerate() {
                if skip.is_some_and(|(a, b)| i >= a && i < b) {
                    continue;
                }
                if r.header().ts_event >= start {
                    stream.push((r, false));
                }
            }
            for _ in 0..3 {
                stream.push((&done, false));
            }
        }
        skip = None;
        let live_from = cursor;
        stream.extend(session[cursor..].iter().map(|r| (r, true)));
        let cut = cuts.get(conn).copied();
        let mut live_sent = 0;
        let mut switched = false;
        for (i, (r, live)) in stream.iter().enumerate() {
            if cut.is_some_and(|c| i >= c) {
                break;
            }
            now += Duration::from_micros(10);
            received += 1;
            if *live {
                live_sent += 1;
            }
            match rec.on_record(r.as_rec_ref(), now) {
                Verdict::Deliver => {
                    // Events queued by this record go out before it.
                    while let Some(e) = rec.poll_emitted() {
                        events.push(e);
                    }
                    delivered.push((*r).clone());
                }
                Verdict::Duplicate | Verdict::Control | Verdict::Ignore => {}
            }
            if !rec.is_streaming() {
                switched = true;
                break;
            }
        }
        if cut.is_none() && !switched {
            break;
        }
        let end = live_from + live_sent;
        cursor = gateway::packet_boundary(session, end + outage);
        if let Some(o) = omit.take() {
            let a = end.saturating_sub(o.back);
            skip = Some((a, a.saturating_add(o.len)));
        }
        if !switched {
            rec.on_event(
                Event::Failed(Failure::Transient(DisconnectReason::Io("reset".into()))),
                now,
            );
        }
    }
    // The caller stops: collect what the last session emitted (a gap, a disconnect).
    rec.on_event(Event::Shutdown, now);
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

fn gaps(events: &[LiveEvent]) -> Vec<Gap> {
    events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::Gap(g) => Some(*g),
            _ => None,
        })
        .collect()
}

/// Checks that nothing is lost outside the reported gaps; returns (missing, in gaps).
fn assert_nothing_lost_outside_gaps(session: &[RecordBuf], run: &Run) -> (usize, usize) {
    let f = gateway::check_delivery(session, &run.delivered, &gaps(&run.events));
    (f.missing, f.in_gaps)
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
        prop_assert_eq!(
            c.records_delivered + c.duplicates_dropped + c.control_records,
            run.received
        );
        prop_assert_eq!(c.gaps, 0);
        let gap_raised = run.events.iter().any(|e| matches!(e, LiveEvent::Gap(_)));
        prop_assert!(!gap_raised);
        // Never more than five connections per second.
        for w in run.connects.windows(2) {
            prop_assert!(w[1] - w[0] >= Duration::from_millis(200));
        }
    }

    /// A replay that silently omits a range (and still reports ReplayCompleted): the
    /// records after the seam are kept, every missing record lies inside a reported
    /// gap, nothing is delivered twice, and the books get a snapshot session.
    #[test]
    fn omission_loses_nothing_outside_reported_gaps(
        n in 60usize..200,
        seed in any::<u64>(),
        first_cut in 20usize..60,
        later_cuts in proptest::collection::vec(0usize..80, 0..4),
        outage in 0usize..30,
        back in 1usize..10,
        len in 1usize..40,
    ) {
        let session = gateway::session(n, seed);
        let mut cuts = vec![first_cut];
        cuts.extend(later_cuts);
        let run = simulate(&session, &cuts, outage, Some(Omit { back, len }));
        let (missing, _) = assert_nothing_lost_outside_gaps(&session, &run);
        let c = run.rec.counters();
        let gaps = gaps(&run.events);
        prop_assert_eq!(c.gaps, gaps.len() as u64);
        if missing > 0 {
            prop_assert!(!gaps.is_empty());
        }
        // A replay omission is followed by a snapshot session.
        if gaps.iter().any(|g| g.reason == GapReason::ReplayOmission) {
            prop_assert!(c.snapshot_resyncs >= 1);
            prop_assert!(run.events.contains(&LiveEvent::Resynced));
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
        assert_eq!(rec.on_record(r.as_rec_ref(), now), Verdict::Deliver);
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
    // The record after the seam is good: delivered, with the gap announced first.
    assert_eq!(
        rec.on_record(first_after.as_rec_ref(), now),
        Verdict::Deliver
    );
    // The events queued before the record: the session's own, then the gap.
    let emitted: Vec<LiveEvent> = std::iter::from_fn(|| rec.poll_emitted()).collect();
    let gap = emitted.last().cloned().expect("a gap before the record");
    assert_eq!(
        gap,
        LiveEvent::Gap(Gap {
            publisher_id: first_after.header().publisher_id,
            channel_id: None,
            from_ts_recv: hwm,
            to_ts_recv: first_after.raw_index_ts(),
            reason: GapReason::ReplayOmission,
        })
    );
    events.push(gap);
    // The session goes on until the replay has caught up, then swaps for a snapshot.
    assert!(rec.is_streaming());
    let done = replay_completed();
    for _ in 0..3 {
        assert_eq!(rec.on_record(done.as_rec_ref(), now), Verdict::Control);
    }
    let plan = drive(&mut rec, &mut now, &mut events, &mut connects).expect("resync");
    assert_eq!(
        plan,
        ConnectPlan {
            start: None,
            snapshot: true
        }
    );
    assert!(events.contains(&LiveEvent::ReplayCompleted));
    assert_eq!(rec.counters().gaps, 1);
    assert_eq!(
        rec.counters().gap_ns,
        first_after.raw_index_ts() - hwm,
        "gap_ns sums the reported spans"
    );
}

#[test]
fn gap_detected_by_simulation_when_replay_omits_the_last_records() {
    let session = gateway::session(120, 3);
    let run = simulate(
        &session,
        &[70],
        5,
        Some(Omit {
            back: 3,
            len: usize::MAX,
        }),
    );
    // The replay omitted everything up to real time and caught up without reaching
    // back to the mark: one gap from the last delivered record, and at once a snapshot
    // session; the gap ends at its first real-time record.
    let gaps = gaps(&run.events);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].reason, GapReason::ReplayOmission);
    assert_eq!(gaps[0].from_ts_recv, session[69].raw_index_ts());
    assert_eq!(&run.delivered[..70], &session[..70]);
    let after: Vec<&RecordBuf> = run.delivered[70..]
        .iter()
        .filter(|r| !gateway::snapshot_clears().contains(r))
        .collect();
    assert_eq!(gaps[0].to_ts_recv, after[0].raw_index_ts());
    assert!(gaps[0].to_ts_recv > session[75].raw_index_ts());
    assert_eq!(run.rec.counters().snapshot_resyncs, 1);
    let (missing, _) = assert_nothing_lost_outside_gaps(&session, &run);
    assert!(missing >= 5);
    assert_eq!(run.rec.counters().gaps, gaps.len() as u64);
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
    assert_eq!(rec.on_record(RecordRef::from(&err), now), Verdict::Control);
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
    rec.on_record(RecordRef::from(&err), now);
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

/// Starts a machine and brings a session up at `now`.
fn streaming(cfg: RecoveryConfig, now: Duration) -> Recovery {
    let mut rec = Recovery::new(cfg);
    rec.on_event(Event::Start, now);
    while rec.poll_action().is_some() {}
    rec.on_event(
        Event::Connected {
            session_id: "1".into(),
            start_ns: 0,
        },
        now,
    );
    while rec.poll_action().is_some() {}
    rec
}

#[test]
fn clean_close_outside_market_hours_ends_the_stream_when_asked() {
    let mut rec = streaming(
        RecoveryConfig {
            market_hours: MarketHours::CmeGlobex,
            exit_outside_hours: true,
            ..config()
        },
        Duration::ZERO,
    );
    // Saturday 2026-01-03 12:00 UTC.
    rec.on_event(
        Event::Closed {
            unix_now_ns: ns(2026, 1, 3, 12, 0),
        },
        Duration::from_secs(1),
    );
    let actions: Vec<Action> = std::iter::from_fn(|| rec.poll_action()).collect();
    assert!(actions.contains(&Action::Stop(None)));
    assert!(actions.contains(&Action::Emit(LiveEvent::Disconnected {
        reason: DisconnectReason::ClosedOutsideMarketHours
    })));
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::WaitUntil(_) | Action::Connect(_))));
}

#[test]
fn clean_close_outside_market_hours_waits_for_the_open() {
    let cfg = RecoveryConfig {
        market_hours: MarketHours::CmeGlobex,
        ..config()
    };
    assert!(!cfg.exit_outside_hours, "waiting is the default");
    let t0 = Duration::from_secs(100);
    let mut rec = streaming(cfg, t0);
    // Sunday 2026-01-04 15:00 UTC = 09:00 CT; Globex opens at 17:00 CT = 23:00 UTC.
    let unix = ns(2026, 1, 4, 15, 0);
    let open = ns(2026, 1, 4, 23, 0);
    rec.on_event(Event::Closed { unix_now_ns: unix }, t0);
    let actions: Vec<Action> = std::iter::from_fn(|| rec.poll_action()).collect();
    assert!(!actions.iter().any(|a| matches!(a, Action::Stop(_))));
    assert!(actions.contains(&Action::Emit(LiveEvent::WaitingForOpen {
        open_unix_ns: open
    })));
    let Some(Action::WaitUntil(at)) = actions.last() else {
        panic!("the last action is the wait: {actions:?}");
    };
    let eight_hours = Duration::from_secs(8 * 3600);
    assert!(*at >= t0 + eight_hours, "waits until the open: {at:?}");
    assert!(
        *at <= t0 + eight_hours + Duration::from_secs(2),
        "then backs off a little: {at:?}"
    );
    // At the open it reconnects (a replay: what was delivered before the close).
    rec.on_event(Event::TimerExpired, *at);
    assert!(matches!(rec.poll_action(), Some(Action::Connect(_))));
}

#[test]
fn refused_connection_outside_market_hours_waits_for_the_open() {
    let mut rec = Recovery::new(RecoveryConfig {
        market_hours: MarketHours::CmeGlobex,
        ..config()
    });
    let t0 = Duration::from_secs(5);
    rec.on_event(Event::Start, t0);
    assert!(matches!(rec.poll_action(), Some(Action::Connect(_))));
    // Wednesday 2026-07-08 21:30 UTC = 16:30 CDT, the daily break; open at 22:00 UTC.
    rec.on_event(
        Event::ConnectFailedAt {
            failure: Failure::Transient(DisconnectReason::ConnectFailed("refused".into())),
            unix_now_ns: ns(2026, 7, 8, 21, 30),
        },
        t0,
    );
    let actions: Vec<Action> = std::iter::from_fn(|| rec.poll_action()).collect();
    assert!(actions.contains(&Action::Emit(LiveEvent::WaitingForOpen {
        open_unix_ns: ns(2026, 7, 8, 22, 0)
    })));
    let Some(Action::WaitUntil(at)) = actions.last() else {
        panic!("a wait: {actions:?}");
    };
    assert!(*at >= t0 + Duration::from_secs(30 * 60));
    // The same refusal in market hours is a plain backoff.
    let mut rec = Recovery::new(RecoveryConfig {
        market_hours: MarketHours::CmeGlobex,
        ..config()
    });
    rec.on_event(Event::Start, t0);
    while rec.poll_action().is_some() {}
    rec.on_event(
        Event::ConnectFailedAt {
            failure: Failure::Transient(DisconnectReason::ConnectFailed("refused".into())),
            unix_now_ns: ns(2026, 7, 8, 15, 0),
        },
        t0,
    );
    let wait = std::iter::from_fn(|| rec.poll_action())
        .find_map(|a| match a {
            Action::WaitUntil(at) => Some(at),
            _ => None,
        })
        .expect("a wait");
    assert!(wait < t0 + Duration::from_secs(3));
}

#[test]
fn next_open_known_answers() {
    let h = MarketHours::CmeGlobex;
    // Friday 2026-01-09 22:30 UTC (16:30 CT, closed) -> Sunday 23:00 UTC.
    assert_eq!(
        h.next_open(ns(2026, 1, 9, 22, 30)),
        Some(ns(2026, 1, 11, 23, 0))
    );
    // Open now -> now.
    let t = ns(2026, 1, 7, 15, 0) + 123;
    assert_eq!(h.next_open(t), Some(t));
    assert_eq!(MarketHours::Always.next_open(5), Some(5));
    // Holidays come from ifd_core's calendar: Christmas 2026 is a Friday, closed all
    // day; Globex reopens Sunday 17:00 CT.
    assert!(!cme_globex_open(ns(2026, 12, 25, 15, 0)));
    assert_eq!(
        h.next_open(ns(2026, 12, 25, 15, 0)),
        Some(ns(2026, 12, 27, 23, 0))
    );
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

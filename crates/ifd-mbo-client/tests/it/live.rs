//! Live source against the fake gateway: the real `databento::LiveClient` connects to
//! 127.0.0.1, faults are injected per connection, and the records delivered downstream
//! are compared with the served session.

use std::time::Duration;

use dbn::{flags, MboMsg, RecordBuf, RecordRef};
use ifd_mbo_client::live::{
    DisconnectReason, FatalReason, Gap, GapReason, LiveConfig, LiveCounters, LiveEvent,
    LiveHandler, LiveSource, MarketHours, RecoveryConfig,
};
use ifd_mbo_client::Error;
use tokio::sync::oneshot;

use crate::gateway::{self, Fault, Gateway, KEY};

/// Collects deliveries and stops the source once the last served record arrives.
struct Collect {
    records: Vec<RecordBuf>,
    events: Vec<LiveEvent>,
    last: Vec<u8>,
    done: Option<oneshot::Sender<()>>,
    bytes: u64,
}

impl Collect {
    fn new(last: &RecordBuf) -> (Self, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let c = Self {
            records: Vec::new(),
            events: Vec::new(),
            last: last.as_ref().to_vec(),
            done: Some(tx),
            bytes: 0,
        };
        (c, rx)
    }
}

impl LiveHandler for Collect {
    fn on_record(&mut self, rec: RecordRef<'_>) {
        self.records
            .push(RecordBuf::try_from(rec).expect("a record fits a RecordBuf"));
        if rec.as_ref() == self.last.as_slice() {
            if let Some(tx) = self.done.take() {
                let _ = tx.send(());
            }
        }
    }
    fn on_event(&mut self, event: &LiveEvent) {
        self.events.push(event.clone());
    }
    fn on_bytes(&mut self, bytes: u64) {
        self.bytes += bytes;
    }
}

fn config(addr: &str) -> LiveConfig {
    LiveConfig {
        key: Some(KEY.to_owned()),
        addr: Some(addr.to_owned()),
        heartbeat_interval_s: 5,
        connect_timeout: Duration::from_secs(2),
        auth_timeout: Duration::from_secs(2),
        recovery: RecoveryConfig {
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_millis(100),
            // 50 ms: records arrive every 10 ms with ts_event up to 30 ms earlier.
            replay_margin_ns: 50_000_000,
            market_hours: MarketHours::Always,
            seed: 7,
            ..RecoveryConfig::default()
        },
        ..LiveConfig::default()
    }
}

struct Outcome {
    result: ifd_mbo_client::Result<LiveCounters>,
    collect: Collect,
    gateway: Gateway,
}

async fn run(session: &[RecordBuf], faults: Vec<Fault>, outage: usize) -> Outcome {
    let gateway = Gateway::start(session.to_vec(), faults, outage).await;
    let (mut collect, done) = Collect::new(session.last().expect("non-empty session"));
    let mut source = LiveSource::new(config(&gateway.addr)).expect("source");
    let shutdown = async {
        let _ = done.await;
    };
    let result = tokio::time::timeout(Duration::from_secs(40), source.run(&mut collect, shutdown))
        .await
        .expect("the live source finished within 40 s");
    Outcome {
        result,
        collect,
        gateway,
    }
}

fn served(session: &[RecordBuf]) -> Vec<RecordBuf> {
    session.to_vec()
}

/// The core assertion of every fault case: downstream got exactly the served session.
fn assert_identical(out: &Outcome, session: &[RecordBuf], disconnects: u64) -> LiveCounters {
    let counters = *out
        .result
        .as_ref()
        .expect("live source ended without error");
    let expected = served(session);
    assert_eq!(
        out.collect.records.len(),
        expected.len(),
        "delivered {} records, served {}",
        out.collect.records.len(),
        expected.len()
    );
    assert!(
        out.collect.records == expected,
        "delivered records differ from the served session"
    );
    assert_eq!(counters.records_delivered, expected.len() as u64);
    assert_eq!(counters.reconnects, disconnects);
    assert_eq!(counters.gaps, 0);
    assert!(!out
        .collect
        .events
        .iter()
        .any(|e| matches!(e, LiveEvent::Gap(_))));
    assert!(
        out.collect.bytes
            >= expected
                .iter()
                .map(|r| r.as_ref().len() as u64)
                .sum::<u64>()
    );
    counters
}

fn gaps_of(events: &[LiveEvent]) -> Vec<Gap> {
    events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::Gap(g) => Some(*g),
            _ => None,
        })
        .collect()
}

/// Checks the delivery against the served session and prints the figures of a fault.
fn figures(fault: &str, out: &Outcome, session: &[RecordBuf]) -> gateway::Figures {
    let f = gateway::check_delivery(session, &out.collect.records, &gaps_of(&out.collect.events));
    let c = out.result.as_ref().copied().unwrap_or_default();
    eprintln!(
        "FIGURES {fault}: {f} | reconnects {} | attempts {} | duplicates dropped {} | \
         replayed {} | gap ns {}",
        c.reconnects, c.connection_attempts, c.duplicates_dropped, c.records_replayed, c.gap_ns
    );
    f
}

fn disconnect_reasons(events: &[LiveEvent]) -> Vec<DisconnectReason> {
    events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::Disconnected { reason } if *reason != DisconnectReason::Shutdown => {
                Some(reason.clone())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn uninterrupted_session_is_delivered_whole() {
    let session = gateway::session(200, 1);
    let out = run(&session, vec![], 0).await;
    let c = assert_identical(&out, &session, 0);
    assert_eq!(c.duplicates_dropped, 0);
    assert_eq!(out.gateway.log().len(), 1);
    // The first session is real time: no `start`.
    let subs = &out.gateway.log()[0].subscriptions;
    assert_eq!(subs.len(), 3);
    assert!(subs.iter().all(|l| !l.contains("start=")
        && l.contains("stype_in=parent")
        && l.contains("symbols=NQ.OPT")));
}

#[tokio::test]
async fn connection_reset_mid_record_is_backfilled() {
    let session = gateway::session(300, 2);
    let out = run(&session, vec![Fault::ResetAfter(120)], 10).await;
    let c = assert_identical(&out, &session, 1);
    assert_eq!(figures("reset mid-record", &out, &session).missing, 0);
    assert!(
        c.duplicates_dropped > 0,
        "the replay overlapped what was delivered"
    );
    assert!(matches!(
        disconnect_reasons(&out.collect.events)[..],
        [DisconnectReason::Io(_)]
    ));
    // The reconnection replays every schema from a `start` before the last ts_event.
    let log = out.gateway.log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].subscriptions.len(), 3);
    assert!(log[1]
        .subscriptions
        .iter()
        .all(|l| l.contains("start=") && l.contains("snapshot=0")));
    assert!(out
        .collect
        .events
        .iter()
        .any(|e| matches!(e, LiveEvent::Replaying { .. })));
    assert!(out.collect.events.contains(&LiveEvent::ReplayCompleted));
}

#[tokio::test]
async fn stall_past_heartbeat_timeout_is_backfilled() {
    // heartbeat_interval 5 s: the client gives up after 10 s of silence.
    let session = gateway::session(200, 3);
    let out = run(&session, vec![Fault::StallAfter(90)], 5).await;
    let c = assert_identical(&out, &session, 1);
    assert_eq!(
        figures("stall past heartbeat timeout", &out, &session).missing,
        0
    );
    assert!(c.duplicates_dropped > 0);
    assert_eq!(
        disconnect_reasons(&out.collect.events),
        vec![DisconnectReason::HeartbeatTimeout]
    );
}

#[tokio::test]
async fn clean_close_in_market_hours_is_a_disconnect() {
    let session = gateway::session(250, 4);
    let out = run(&session, vec![Fault::CloseAfter(100)], 8).await;
    let c = assert_identical(&out, &session, 1);
    assert!(c.duplicates_dropped > 0);
    assert_eq!(
        disconnect_reasons(&out.collect.events),
        vec![DisconnectReason::CleanClose]
    );
}

#[tokio::test]
async fn reset_during_auth_is_retried() {
    let session = gateway::session(150, 5);
    let out = run(
        &session,
        vec![Fault::ResetAfterChallenge, Fault::ResetDuringAuth],
        0,
    )
    .await;
    // No session came up before the third connection: no reconnect counted, no
    // Connected event for the failed attempts.
    assert_identical(&out, &session, 0);
    assert_eq!(figures("reset during auth", &out, &session).missing, 0);
    assert_eq!(out.gateway.log().len(), 3);
    assert_eq!(
        out.result.as_ref().map(|c| c.connection_attempts).ok(),
        Some(3)
    );
    let connected = out
        .collect
        .events
        .iter()
        .filter(|e| matches!(e, LiveEvent::Connected { .. }))
        .count();
    assert_eq!(connected, 1);
    let failed = out
        .collect
        .events
        .iter()
        .filter(|e| matches!(e, LiveEvent::ConnectFailed { .. }))
        .count();
    assert_eq!(failed, 2, "both handshake resets are reported");
}

#[tokio::test]
async fn ten_disconnects_in_a_row() {
    let session = gateway::session(500, 6);
    let faults = vec![
        Fault::ResetAfter(40),
        Fault::CloseAfter(45),
        Fault::ResetAfter(50),
        Fault::ResetAfterChallenge,
        Fault::CloseAfter(35),
        Fault::ResetAfter(60),
        Fault::ResetDuringAuth,
        Fault::ResetAfter(42),
        Fault::CloseAfter(55),
        Fault::ResetAfter(48),
    ];
    let out = run(&session, faults, 6).await;
    // Eight of the ten faults hit a started session; two hit the handshake.
    let c = assert_identical(&out, &session, 8);
    assert_eq!(c.connection_attempts, 11);
    assert!(c.duplicates_dropped > 0);
    assert_eq!(disconnect_reasons(&out.collect.events).len(), 8);
}

#[tokio::test]
async fn disconnect_during_replay() {
    let session = gateway::session(300, 7);
    // The second connection replays ≥ 8 records, and is reset after 3 of them.
    let out = run(
        &session,
        vec![Fault::CloseAfter(120), Fault::ResetAfter(3)],
        8,
    )
    .await;
    let c = assert_identical(&out, &session, 2);
    assert!(c.records_replayed > 3);
    let replays = out
        .collect
        .events
        .iter()
        .filter(|e| matches!(e, LiveEvent::Replaying { .. }))
        .count();
    assert_eq!(replays, 2);
    // Both replays anchor at the same point: nothing new was delivered in between.
    let log = out.gateway.log();
    let start = |i: usize| {
        log[i].subscriptions[0]
            .split('|')
            .find(|kv| kv.starts_with("start="))
            .map(str::to_owned)
    };
    assert!(start(1).is_some());
    assert_eq!(start(1), start(2));
}

#[tokio::test]
async fn auth_rejection_is_fatal_without_retry() {
    let session = gateway::session(50, 8);
    let out = run(&session, vec![Fault::RejectAuth], 0).await;
    match &out.result {
        Err(Error::LiveFatal {
            reason: FatalReason::AuthRejected { message },
        }) => assert_eq!(message, "Authentication failed."),
        other => panic!("expected a fatal auth error, got {other:?}"),
    }
    assert_eq!(out.gateway.log().len(), 1, "no retry after a rejected key");
    assert!(out.collect.records.is_empty());
}

#[tokio::test]
async fn invalid_subscription_is_fatal_without_retry() {
    let session = gateway::session(50, 12);
    let out = run(&session, vec![Fault::InvalidSubscription], 0).await;
    match &out.result {
        Err(Error::LiveFatal {
            reason: FatalReason::Rejected { code, message },
        }) => {
            assert_eq!(*code, dbn::enums::ErrorCode::InvalidSubscription as u8);
            assert!(message.contains("not entitled"), "{message}");
        }
        other => panic!("expected a fatal subscription error, got {other:?}"),
    }
    assert_eq!(
        out.gateway.log().len(),
        1,
        "no retry after a refused subscription"
    );
    assert!(out.collect.records.is_empty());
}

#[tokio::test]
async fn wrong_key_is_rejected_by_the_gateway() {
    let session = gateway::session(20, 9);
    let gw = Gateway::start(session.clone(), vec![], 0).await;
    let mut cfg = config(&gw.addr);
    cfg.key = Some("wrong-key-0123456789abcdefghijkl".to_owned());
    let mut source = LiveSource::new(cfg).expect("source");
    let (mut collect, _done) = Collect::new(&session[0]);
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        source.run(&mut collect, std::future::pending()),
    )
    .await
    .expect("finished");
    assert!(matches!(
        result,
        Err(Error::LiveFatal {
            reason: FatalReason::AuthRejected { .. }
        })
    ));
    assert_eq!(gw.log().len(), 1);
    assert!(!gw.log()[0].auth_ok);
}

#[tokio::test]
async fn connection_limit_is_retried_after_a_second() {
    let session = gateway::session(150, 11);
    #[allow(
        clippy::disallowed_methods,
        reason = "the test measures how long the source waited, in wall time"
    )]
    let started = std::time::Instant::now();
    let out = run(&session, vec![Fault::ConnectionLimit], 0).await;
    assert_identical(&out, &session, 1);
    assert_eq!(figures("connection rate limit", &out, &session).missing, 0);
    assert!(disconnect_reasons(&out.collect.events)
        .iter()
        .any(|r| matches!(r, DisconnectReason::GatewayError { code: 3, .. })));
    // The gateway asks for a second between attempts.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(out.gateway.log().len(), 2);
}

#[tokio::test]
async fn replay_omission_keeps_the_replay_and_reports_exact_gaps() {
    let session = gateway::session(400, 10);
    let n = 120;
    // The first connection closes after n records; the replay of the second silently
    // omits 20 records from 6 before the cut (and still reports ReplayCompleted), then
    // serves the rest of the replay and 5 real-time records; the third is the
    // snapshot session that rebuilds the books.
    let faults = vec![
        Fault::CloseAfterThenOmit {
            n,
            back: 6,
            len: 20,
        },
        Fault::ServeLive(5),
    ];
    let out = run(&session, faults, 30).await;
    let counters = *out.result.as_ref().expect("ran");
    let got = &out.collect.records;
    let ts = |i: usize| dbn::Record::raw_index_ts(&gateway::rec_ref(&session[i]));
    // Before the fault: the first n records exactly.
    assert_eq!(&got[..n], &session[..n]);
    let gaps = gaps_of(&out.collect.events);
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    // 1. The omission: from the last record delivered before it to the first record
    //    after it, which the replay delivers (the replay is kept).
    let resume = n - 6 + 20;
    assert_eq!(
        gaps[0],
        Gap {
            publisher_id: 1,
            channel_id: None,
            from_ts_recv: ts(n - 1),
            to_ts_recv: ts(resume),
            reason: GapReason::ReplayOmission,
        }
    );
    assert_eq!(
        got[n], session[resume],
        "the replay after the seam is delivered"
    );
    // 2. The switch to a snapshot session once the replay caught up.
    assert_eq!(gaps[1].reason, GapReason::SnapshotResync);
    assert_eq!(
        gaps[1].from_ts_recv,
        ts(n + 30 - 1),
        "the last record of the replay"
    );
    assert!(out.collect.events.contains(&LiveEvent::ReplayCompleted));
    assert!(out.collect.events.contains(&LiveEvent::Resyncing));
    assert!(out.collect.events.contains(&LiveEvent::Resynced));
    assert_eq!(counters.snapshot_resyncs, 1);
    let log = out.gateway.log();
    let mbo_sub = log
        .last()
        .expect("log")
        .subscriptions
        .iter()
        .find(|l| l.contains("schema=mbo"))
        .expect("mbo subscription")
        .clone();
    assert!(mbo_sub.contains("snapshot=1") && !mbo_sub.contains("start="));
    let snap = got
        .iter()
        .filter(|b| {
            b.get::<MboMsg>()
                .is_some_and(|m| m.flags.raw() & flags::SNAPSHOT != 0)
        })
        .count();
    assert_eq!(snap, 3, "one clear per instrument");
    // Every missing record lies inside a reported gap; nothing twice.
    let f = figures("replay omission", &out, &session);
    assert_eq!(f.gaps, 2);
    assert!(
        f.missing >= 20 - 6,
        "the omitted records that were not delivered before"
    );
    assert_eq!(counters.gaps, 2);
    eprintln!(
        "omission: gateway omitted {} records, {} of them delivered before the cut",
        out.gateway.omitted(),
        6
    );
}

//! The sans-IO recovery state machine of the live source.
//!
//! [`Recovery`] owns every decision of the live path: when to connect, what to subscribe
//! to (real time, a replay from `start`, or a snapshot), which records to deliver and
//! which to drop as duplicates of an earlier session, when a seam has a hole in it, and
//! when to give up. It does no IO and reads no clock: the driver feeds it [`Event`]s and
//! records together with `now` (a monotonic [`Duration`] since the driver started) and
//! polls [`Action`]s back out with [`Recovery::poll_action`].

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use dbn::{
    enums::{rtype, ErrorCode, SystemCode},
    ErrorMsg, MboMsg, Record, RecordRef, SystemMsg,
};

/// Tunables of [`Recovery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// First reconnection delay; doubles with each consecutive failure.
    pub backoff_initial: Duration,
    /// Largest reconnection delay.
    pub backoff_max: Duration,
    /// Delay after the gateway reports `ConnectionLimitExceeded` (at least one second,
    /// as the gateway asks).
    pub connection_limit_backoff: Duration,
    /// Smallest spacing between two connection attempts (the gateway accepts at most
    /// five new connections per second per address: 200 ms).
    pub min_connect_spacing: Duration,
    /// A session that stayed up this long resets the backoff.
    pub healthy_after: Duration,
    /// How far before the last delivered `ts_event` a backfill replay starts, in
    /// nanoseconds. Replay filters on `ts_event`, which is not monotonic, so the anchor
    /// must be earlier than the last record seen.
    pub replay_margin_ns: u64,
    /// `start` of the very first session (unix ns), or `None` for real time only.
    pub initial_start: Option<u64>,
    /// Seed of the jitter generator: the same seed gives the same delays.
    pub seed: u64,
    /// When a clean close (`Ok(None)`) counts as a disconnect.
    pub market_hours: MarketHours,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            connection_limit_backoff: Duration::from_secs(1),
            min_connect_spacing: Duration::from_millis(200),
            healthy_after: Duration::from_secs(60),
            replay_margin_ns: 2_000_000_000,
            initial_start: None,
            seed: 0x1fd_5eed,
            market_hours: MarketHours::CmeGlobex,
        }
    }
}

/// Which wall-clock times count as market hours for a clean close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketHours {
    /// Every clean close is a disconnect (reconnect at any time).
    Always,
    /// CME Globex equity-index hours: Sunday 17:00 to Friday 16:00 US Central time,
    /// less the daily 16:00-17:00 maintenance break. A clean close outside them ends
    /// the stream without an error.
    CmeGlobex,
}

impl MarketHours {
    /// Whether `unix_ns` (UTC) falls in market hours.
    #[must_use]
    pub fn is_open(self, unix_ns: u64) -> bool {
        match self {
            Self::Always => true,
            Self::CmeGlobex => cme_globex_open(unix_ns),
        }
    }
}

/// Whether CME Globex equity-index futures and options trade at `unix_ns` (UTC).
///
/// US Central time is UTC-6, or UTC-5 from the second Sunday of March 02:00 local to
/// the first Sunday of November 02:00 local. Exchange holidays are not modelled.
#[must_use]
pub fn cme_globex_open(unix_ns: u64) -> bool {
    let secs = i64::try_from(unix_ns / 1_000_000_000).unwrap_or(i64::MAX);
    let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(secs) else {
        return false;
    };
    let offset_hours = if us_dst(utc) { 5 } else { 6 };
    let local = utc - time::Duration::hours(offset_hours);
    let hour = local.hour();
    match local.weekday() {
        time::Weekday::Saturday => false,
        time::Weekday::Sunday => hour >= 17,
        time::Weekday::Friday => hour < 16,
        _ => hour != 16,
    }
}

/// Whether US daylight saving time is in force at `utc`.
fn us_dst(utc: time::OffsetDateTime) -> bool {
    let year = utc.year();
    // 02:00 local standard time on the second Sunday of March = 08:00 UTC.
    let start = nth_sunday(year, time::Month::March, 2).map(|d| d.with_hms(8, 0, 0));
    // 02:00 local daylight time on the first Sunday of November = 07:00 UTC.
    let end = nth_sunday(year, time::Month::November, 1).map(|d| d.with_hms(7, 0, 0));
    match (start, end) {
        (Some(Ok(start)), Some(Ok(end))) => {
            let t = time::PrimitiveDateTime::new(utc.date(), utc.time());
            t >= start && t < end
        }
        _ => false,
    }
}

fn nth_sunday(year: i32, month: time::Month, n: u8) -> Option<time::Date> {
    let first = time::Date::from_calendar_date(year, month, 1).ok()?;
    let to_sunday = (7 - first.weekday().number_days_from_sunday()) % 7;
    let day = 1 + to_sunday + 7 * (n - 1);
    time::Date::from_calendar_date(year, month, day).ok()
}

/// What the next session subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectPlan {
    /// Replay from this unix-ns `ts_event` (all schemas), or real time when `None`.
    pub start: Option<u64>,
    /// Subscribe to MBO with `snapshot=1` (never together with `start`).
    pub snapshot: bool,
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The socket failed (reset, broken pipe, refused).
    Io(String),
    /// Nothing arrived within the heartbeat timeout.
    HeartbeatTimeout,
    /// The gateway closed the connection cleanly during market hours.
    CleanClose,
    /// The gateway closed the connection cleanly outside market hours: the stream ends.
    ClosedOutsideMarketHours,
    /// The gateway sent an error record that ends the session.
    GatewayError {
        /// The `ErrorCode` byte.
        code: u8,
        /// The gateway's text.
        message: String,
    },
    /// The connection or authentication did not complete.
    ConnectFailed(String),
    /// The replay skipped records: the session is replaced by a snapshot session.
    Resync,
    /// The caller asked the source to stop.
    Shutdown,
}

/// A failure reported by the driver, already sorted into retryable or fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt after a backoff.
    Transient(DisconnectReason),
    /// Retrying cannot help (bad key, rejected subscription, bad argument).
    Fatal(FatalReason),
}

/// Why the live source gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FatalReason {
    /// The gateway rejected the API key.
    AuthRejected {
        /// The gateway's reason.
        message: String,
    },
    /// The gateway sent a fatal error record (auth failed, key deactivated, invalid
    /// subscription).
    Rejected {
        /// The `ErrorCode` byte.
        code: u8,
        /// The gateway's text.
        message: String,
    },
    /// The client refused the configuration (bad key format, bad argument).
    BadConfig {
        /// What the client said.
        message: String,
    },
}

impl std::fmt::Display for FatalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AuthRejected { message } => write!(f, "authentication rejected: {message}"),
            Self::Rejected { code, message } => {
                write!(f, "gateway error code {code}: {message}")
            }
            Self::BadConfig { message } => write!(f, "bad configuration: {message}"),
        }
    }
}

/// Events for callers of the live source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LiveEvent {
    /// A session is authenticated, subscribed and started.
    Connected {
        /// The gateway's session id (a label, not a resume token).
        session_id: String,
        /// Zero for the first session, then 1, 2, ... for each reconnection.
        reconnect: u64,
    },
    /// A session ended; a reconnection follows unless the source stops.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// A connection attempt failed before its session started; a retry follows after
    /// the backoff.
    ConnectFailed {
        /// Why.
        reason: DisconnectReason,
    },
    /// The new session replays from `from` (unix ns `ts_event`) to backfill.
    Replaying {
        /// The replay anchor.
        from: u64,
    },
    /// The replay caught up with real time.
    ReplayCompleted,
    /// Records with `ts_recv` in `(from, to)` could not be recovered. Books must be
    /// treated as recovering until the snapshot that follows completes.
    Gap {
        /// The last `ts_recv` delivered before the hole.
        from: u64,
        /// The first `ts_recv` seen after it (or the wall clock when unknown).
        to: u64,
    },
    /// A snapshot session started: snapshot records (flag `F_SNAPSHOT`) follow.
    Resyncing,
    /// The snapshot ended (a snapshot record carried `F_LAST`): the books are valid.
    Resynced,
}

/// Counters of the live source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveCounters {
    /// Connection attempts, successful or not.
    pub connection_attempts: u64,
    /// Sessions that started after the first one.
    pub reconnects: u64,
    /// Data records delivered downstream.
    pub records_delivered: u64,
    /// Replayed records dropped because they had been delivered already.
    pub duplicates_dropped: u64,
    /// Data records received while a backfill replay was behind the high-water mark.
    pub records_replayed: u64,
    /// Gap events raised.
    pub gaps: u64,
    /// Control records (symbol mappings, system and error messages) received.
    pub control_records: u64,
    /// Bytes of records received (data and control), for budget accounting.
    pub bytes_received: u64,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Build a fresh client, subscribe as planned, start, then feed
    /// [`Event::Connected`] or [`Event::ConnectFailed`].
    Connect(ConnectPlan),
    /// Sleep until `now` reaches this value, then feed [`Event::TimerExpired`].
    WaitUntil(Duration),
    /// Drop the current client.
    CloseSession,
    /// Hand this event to the caller.
    Emit(LiveEvent),
    /// Stop: `None` after a requested shutdown or the end of market hours.
    Stop(Option<FatalReason>),
}

/// Inputs of [`Recovery`] other than records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The driver starts.
    Start,
    /// A [`Action::WaitUntil`] elapsed.
    TimerExpired,
    /// The planned session is up.
    Connected {
        /// The gateway's session id.
        session_id: String,
        /// `start` of the session's DBN metadata (unix ns; 0 when unknown). Until a
        /// record is delivered, a backfill replays from the first session's start.
        start_ns: u64,
    },
    /// The planned session did not come up.
    ConnectFailed(Failure),
    /// `next_record` returned `Ok(None)`.
    Closed {
        /// Wall clock (unix ns) to decide whether markets are open.
        unix_now_ns: u64,
    },
    /// `next_record` failed.
    Failed(Failure),
    /// The caller asked to stop.
    Shutdown,
}

/// What to do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A data record to hand downstream.
    Deliver,
    /// A data record already delivered by an earlier session.
    Duplicate,
    /// A session control record (symbol mapping, system or error message).
    Control,
    /// A record arriving when no session is streaming (ignored).
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Waiting,
    Connecting(ConnectPlan),
    Streaming { since: Duration, mode: Mode },
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Real time, or a replay already past the high-water mark.
    Live,
    /// A backfill replay still behind (or at) the high-water mark.
    Overlap,
    /// A snapshot session whose snapshot has not ended.
    Snapshot,
}

/// The recovery state machine.
///
/// # De-duplication
///
/// Records of one session arrive in `ts_recv` order. The machine keeps a high-water mark
/// (the largest `ts_recv` delivered) and the multiset of full record bytes delivered at
/// that mark. A backfill session replays from a margin before the last delivered
/// `ts_event`; while it is still behind the mark, records with a smaller `ts_recv` are
/// dropped, records at the mark are dropped while they match an unmatched delivered copy
/// byte for byte, and the first record past the mark closes the overlap. If at that point
/// any record delivered at the mark has not been matched, the replay did not cover the
/// seam: a [`LiveEvent::Gap`] is raised and the next session resynchronises the books
/// from an MBO snapshot.
#[derive(Debug)]
pub struct Recovery {
    config: RecoveryConfig,
    rng: SplitMix64,
    phase: Phase,
    actions: VecDeque<Action>,
    counters: LiveCounters,
    /// Consecutive failed attempts or short sessions, for the backoff exponent.
    failures: u32,
    last_attempt: Option<Duration>,
    sessions: u64,
    /// Largest delivered `ts_recv`.
    hwm: Option<u64>,
    /// `ts_event` of the last delivered record.
    last_ts_event: Option<u64>,
    /// Full bytes of the records delivered at `hwm`, with multiplicity.
    at_hwm: HashMap<Vec<u8>, u32>,
    /// Copies matched so far by the current replay, per record at `hwm`.
    matched: HashMap<Vec<u8>, u32>,
    /// The next session must be a snapshot session.
    resync_pending: bool,
    /// ReplayCompleted messages still expected in this session.
    replay_acks_pending: u32,
    /// Extra delay requested by the gateway (`ConnectionLimitExceeded`).
    floor_delay: Option<Duration>,
    /// Metadata `start` of the first session: the replay anchor while nothing has
    /// been delivered.
    first_start: Option<u64>,
}

/// Schemas subscribed per session (MBO, definition, statistics): a replay session gets
/// one `ReplayCompleted` per schema.
const SCHEMAS_PER_SESSION: u32 = 3;

impl Recovery {
    /// A machine that will connect when fed [`Event::Start`].
    #[must_use]
    pub fn new(config: RecoveryConfig) -> Self {
        let rng = SplitMix64(config.seed);
        Self {
            config,
            rng,
            phase: Phase::Idle,
            actions: VecDeque::new(),
            counters: LiveCounters::default(),
            failures: 0,
            last_attempt: None,
            sessions: 0,
            hwm: None,
            last_ts_event: None,
            at_hwm: HashMap::new(),
            matched: HashMap::new(),
            resync_pending: false,
            replay_acks_pending: 0,
            floor_delay: None,
            first_start: None,
        }
    }

    /// The counters so far.
    #[must_use]
    pub fn counters(&self) -> LiveCounters {
        self.counters
    }

    /// The largest `ts_recv` delivered so far.
    #[must_use]
    pub fn high_water_mark(&self) -> Option<u64> {
        self.hwm
    }

    /// Whether the machine has stopped.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    /// Whether a session is streaming.
    #[must_use]
    pub fn is_streaming(&self) -> bool {
        matches!(self.phase, Phase::Streaming { .. })
    }

    /// The next action for the driver, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Feeds an event at time `now`.
    pub fn on_event(&mut self, event: Event, now: Duration) {
        if self.phase == Phase::Stopped {
            return;
        }
        match event {
            Event::Start => {
                if self.phase == Phase::Idle {
                    self.connect(now);
                }
            }
            Event::TimerExpired => {
                if self.phase == Phase::Waiting {
                    self.connect(now);
                }
            }
            Event::Connected {
                session_id,
                start_ns,
            } => {
                let Phase::Connecting(plan) = self.phase else {
                    return;
                };
                if self.first_start.is_none() && start_ns > 0 {
                    self.first_start = Some(start_ns);
                }
                let reconnect = self.sessions;
                self.sessions = self.sessions.saturating_add(1);
                if reconnect > 0 {
                    self.counters.reconnects = self.counters.reconnects.saturating_add(1);
                }
                self.emit(LiveEvent::Connected {
                    session_id,
                    reconnect,
                });
                let mode = if plan.snapshot {
                    self.resync_pending = false;
                    self.emit(LiveEvent::Resyncing);
                    Mode::Snapshot
                } else if let Some(from) = plan.start {
                    self.emit(LiveEvent::Replaying { from });
                    if self.hwm.is_some() {
                        Mode::Overlap
                    } else {
                        Mode::Live
                    }
                } else {
                    Mode::Live
                };
                self.matched.clear();
                self.replay_acks_pending = if plan.start.is_some() {
                    SCHEMAS_PER_SESSION
                } else {
                    0
                };
                self.phase = Phase::Streaming { since: now, mode };
            }
            Event::ConnectFailed(failure) => {
                if matches!(self.phase, Phase::Connecting(_)) {
                    self.fail(failure, now, false);
                }
            }
            Event::Closed { unix_now_ns } => {
                if !self.is_streaming() {
                    return;
                }
                if self.config.market_hours.is_open(unix_now_ns) {
                    self.fail(Failure::Transient(DisconnectReason::CleanClose), now, true);
                } else {
                    self.emit(LiveEvent::Disconnected {
                        reason: DisconnectReason::ClosedOutsideMarketHours,
                    });
                    self.stop(None);
                }
            }
            Event::Failed(failure) => {
                if self.is_streaming() {
                    self.fail(failure, now, true);
                }
            }
            Event::Shutdown => {
                if self.is_streaming() {
                    self.actions.push_back(Action::CloseSession);
                    self.emit(LiveEvent::Disconnected {
                        reason: DisconnectReason::Shutdown,
                    });
                }
                self.stop(None);
            }
        }
    }

    /// Classifies one received record and updates the de-duplication state.
    ///
    /// `unix_now_ns` is the wall clock, used only as the end of a gap whose end is
    /// unknown (the gateway reported that replay data aged out).
    pub fn on_record(&mut self, rec: RecordRef<'_>, now: Duration, unix_now_ns: u64) -> Verdict {
        let Phase::Streaming { mode, .. } = self.phase else {
            return Verdict::Ignore;
        };
        let size = rec.as_ref().len() as u64;
        self.counters.bytes_received = self.counters.bytes_received.saturating_add(size);
        match rec.header().rtype {
            rtype::SYMBOL_MAPPING => {
                self.count_control();
                return Verdict::Control;
            }
            rtype::SYSTEM => {
                self.count_control();
                if let Some(sys) = rec.get::<SystemMsg>() {
                    self.on_system(sys);
                }
                return Verdict::Control;
            }
            rtype::ERROR => {
                self.count_control();
                if let Some(err) = rec.get::<ErrorMsg>() {
                    self.on_error(err, now, unix_now_ns);
                }
                return Verdict::Control;
            }
            _ => {}
        }
        let ts_recv = rec.raw_index_ts();
        let snapshot_flags = rec
            .get::<MboMsg>()
            .map(|m| (m.flags.is_snapshot(), m.flags.is_last()));
        match mode {
            Mode::Snapshot => {
                if let Some((true, last)) = snapshot_flags {
                    if last {
                        self.set_mode(Mode::Live);
                        self.emit(LiveEvent::Resynced);
                    }
                    self.count_delivered();
                    return Verdict::Deliver;
                }
                // A non-snapshot record ends the snapshot even without `F_LAST`.
                self.set_mode(Mode::Live);
                self.emit(LiveEvent::Resynced);
                self.deliver(rec, ts_recv)
            }
            Mode::Live => self.deliver(rec, ts_recv),
            Mode::Overlap => {
                self.counters.records_replayed = self.counters.records_replayed.saturating_add(1);
                let Some(hwm) = self.hwm else {
                    self.set_mode(Mode::Live);
                    return self.deliver(rec, ts_recv);
                };
                if ts_recv < hwm {
                    return self.duplicate();
                }
                if ts_recv == hwm {
                    let bytes = rec.as_ref();
                    let delivered = self.at_hwm.get(bytes).copied().unwrap_or(0);
                    let matched = self.matched.entry(bytes.to_vec()).or_insert(0);
                    if *matched < delivered {
                        *matched += 1;
                        return self.duplicate();
                    }
                    // A record of the last packet that the old session never delivered:
                    // deliver it and count it as covered, so the seam check below
                    // compares only what earlier sessions delivered.
                    let verdict = self.deliver(rec, ts_recv);
                    *self.matched.entry(rec.as_ref().to_vec()).or_insert(0) += 1;
                    return verdict;
                }
                // First record past the mark: the seam check.
                let complete = self
                    .at_hwm
                    .iter()
                    .all(|(bytes, n)| self.matched.get(bytes).copied().unwrap_or(0) >= *n);
                if complete {
                    self.set_mode(Mode::Live);
                    self.deliver(rec, ts_recv)
                } else {
                    self.gap(hwm, ts_recv, now);
                    Verdict::Ignore
                }
            }
        }
    }

    fn on_system(&mut self, sys: &SystemMsg) {
        if matches!(sys.code(), Ok(SystemCode::ReplayCompleted)) && self.replay_acks_pending > 0 {
            self.replay_acks_pending -= 1;
            if self.replay_acks_pending == 0 {
                self.emit(LiveEvent::ReplayCompleted);
            }
        }
    }

    fn on_error(&mut self, err: &ErrorMsg, now: Duration, unix_now_ns: u64) {
        let message = err.err().unwrap_or("<invalid utf-8>").to_owned();
        match err.code() {
            Ok(
                ErrorCode::AuthFailed
                | ErrorCode::ApiKeyDeactivated
                | ErrorCode::InvalidSubscription,
            ) => {
                self.actions.push_back(Action::CloseSession);
                self.fail(
                    Failure::Fatal(FatalReason::Rejected {
                        code: err.code,
                        message,
                    }),
                    now,
                    true,
                );
            }
            Ok(ErrorCode::ConnectionLimitExceeded) => {
                self.floor_delay = Some(self.config.connection_limit_backoff);
                self.end_session(err.code, message, now);
            }
            Ok(ErrorCode::ReplayDataAgedOut | ErrorCode::SkippedRecordsAfterSlowReading) => {
                let from = self.hwm.unwrap_or(0);
                self.gap(from, unix_now_ns.max(from), now);
            }
            Ok(ErrorCode::InternalError) => self.end_session(err.code, message, now),
            // Symbol resolution failures no longer end the session; unknown codes are
            // left to the connection state.
            _ => {}
        }
    }

    fn end_session(&mut self, code: u8, message: String, now: Duration) {
        self.actions.push_back(Action::CloseSession);
        self.fail(
            Failure::Transient(DisconnectReason::GatewayError { code, message }),
            now,
            true,
        );
    }

    fn gap(&mut self, from: u64, to: u64, now: Duration) {
        self.counters.gaps = self.counters.gaps.saturating_add(1);
        self.emit(LiveEvent::Gap { from, to });
        self.resync_pending = true;
        self.actions.push_back(Action::CloseSession);
        self.fail(Failure::Transient(DisconnectReason::Resync), now, true);
    }

    fn deliver(&mut self, rec: RecordRef<'_>, ts_recv: u64) -> Verdict {
        match self.hwm {
            Some(h) if ts_recv < h => {}
            Some(h) if ts_recv == h => {
                *self.at_hwm.entry(rec.as_ref().to_vec()).or_insert(0) += 1;
            }
            _ => {
                self.hwm = Some(ts_recv);
                self.at_hwm.clear();
                self.at_hwm.insert(rec.as_ref().to_vec(), 1);
            }
        }
        self.last_ts_event = Some(rec.header().ts_event);
        self.count_delivered();
        Verdict::Deliver
    }

    fn duplicate(&mut self) -> Verdict {
        self.counters.duplicates_dropped = self.counters.duplicates_dropped.saturating_add(1);
        Verdict::Duplicate
    }

    fn count_delivered(&mut self) {
        self.counters.records_delivered = self.counters.records_delivered.saturating_add(1);
    }

    fn count_control(&mut self) {
        self.counters.control_records = self.counters.control_records.saturating_add(1);
    }

    fn set_mode(&mut self, new: Mode) {
        if let Phase::Streaming { mode, .. } = &mut self.phase {
            *mode = new;
        }
    }

    fn emit(&mut self, event: LiveEvent) {
        self.actions.push_back(Action::Emit(event));
    }

    fn stop(&mut self, fatal: Option<FatalReason>) {
        self.phase = Phase::Stopped;
        self.actions.push_back(Action::Stop(fatal));
    }

    fn plan(&self) -> ConnectPlan {
        if self.resync_pending {
            return ConnectPlan {
                start: None,
                snapshot: true,
            };
        }
        let margin = self.config.replay_margin_ns;
        let start = match (
            self.last_ts_event,
            self.config.initial_start,
            self.first_start,
        ) {
            (Some(ts), _, _) => Some(ts.saturating_sub(margin)),
            (None, Some(initial), _) => Some(initial),
            // A session ran but delivered nothing: replay from when it started.
            (None, None, Some(first)) => Some(first.saturating_sub(margin)),
            (None, None, None) => None,
        };
        ConnectPlan {
            start,
            snapshot: false,
        }
    }

    fn connect(&mut self, now: Duration) {
        let plan = self.plan();
        self.last_attempt = Some(now);
        self.counters.connection_attempts = self.counters.connection_attempts.saturating_add(1);
        self.phase = Phase::Connecting(plan);
        self.actions.push_back(Action::Connect(plan));
    }

    fn fail(&mut self, failure: Failure, now: Duration, was_streaming: bool) {
        let reason = match failure {
            Failure::Fatal(fatal) => {
                self.stop(Some(fatal));
                return;
            }
            Failure::Transient(reason) => reason,
        };
        if let Phase::Streaming { since, .. } = self.phase {
            if now.saturating_sub(since) >= self.config.healthy_after {
                self.failures = 0;
            }
        }
        if was_streaming {
            self.emit(LiveEvent::Disconnected { reason });
        } else {
            self.emit(LiveEvent::ConnectFailed { reason });
        }
        let delay = self.backoff();
        self.failures = self.failures.saturating_add(1);
        let mut at = now.saturating_add(delay);
        if let Some(last) = self.last_attempt {
            at = at.max(last.saturating_add(self.config.min_connect_spacing));
        }
        if let Some(floor) = self.floor_delay.take() {
            at = at.max(now.saturating_add(floor));
        }
        self.phase = Phase::Waiting;
        self.actions.push_back(Action::WaitUntil(at));
    }

    /// Exponential backoff with "equal jitter": half the step is fixed, the other
    /// half drawn from the seeded generator.
    fn backoff(&mut self) -> Duration {
        let exp = self.failures.min(20);
        let base = self
            .config
            .backoff_initial
            .saturating_mul(1u32 << exp)
            .min(self.config.backoff_max);
        let half = base / 2;
        let half_ns = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if half_ns == 0 {
            0
        } else {
            self.rng.next() % half_ns
        };
        half.saturating_add(Duration::from_nanos(jitter))
    }
}

/// A small deterministic generator for the jitter (SplitMix64).
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

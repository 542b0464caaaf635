//! The sans-IO recovery state machine of the live source.
//!
//! [`Recovery`] owns every decision of the live path: when to connect, what to subscribe
//! to (real time, a replay from `start`, or a snapshot), which records to deliver and
//! which to drop as duplicates of an earlier session, when a seam has a hole in it, and
//! when to give up. It does no IO and reads no clock: the driver feeds it [`Event`]s and
//! records together with `now` (a monotonic [`Duration`] since the driver started) and
//! polls [`Action`]s back out with [`Recovery::poll_action`].

use std::collections::{BTreeMap, HashMap, VecDeque};
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
    /// What a clean close or a refused connection outside market hours does: `false`
    /// (the default) waits for the next open and reconnects with backoff; `true` ends
    /// the stream without an error ([`DisconnectReason::ClosedOutsideMarketHours`]),
    /// for batch use.
    pub exit_outside_hours: bool,
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
            exit_outside_hours: false,
        }
    }
}

/// Which wall-clock times count as market hours for a clean close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketHours {
    /// Every clean close is a disconnect (reconnect at any time).
    Always,
    /// CME Globex equity-index hours (`ifd_core::calendar`): Sunday 17:00 to Friday
    /// 16:00 US Central time, less the daily 16:00-17:00 maintenance break, the
    /// exchange holidays and early closes.
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

    /// The first time at or after `unix_ns` at which markets are open (`unix_ns` itself
    /// when they are open), or `None` beyond the calendar's years.
    #[must_use]
    pub fn next_open(self, unix_ns: u64) -> Option<u64> {
        match self {
            Self::Always => Some(unix_ns),
            Self::CmeGlobex => ifd_core::calendar::Calendar::cme_equity_shared().next_open(unix_ns),
        }
    }
}

/// Whether CME Globex equity-index futures and options trade at `unix_ns` (UTC):
/// `ifd_core::calendar`'s CME equity calendar (Central time with its daylight saving
/// rules, the daily break, holidays and early closes).
#[must_use]
pub fn cme_globex_open(unix_ns: u64) -> bool {
    ifd_core::calendar::Calendar::cme_equity_shared().is_open(unix_ns)
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
    /// The gateway closed the connection cleanly outside market hours: the source waits
    /// for the next open (or ends, with `exit_outside_hours`).
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

/// Why records may be missing from the delivered stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GapReason {
    /// A backfill replay did not reach back to the records delivered before the
    /// disconnection: it omitted records at the seam and jumped past them
    /// (Databento's replay omission, databento-rs #90). The replay after the seam is
    /// kept.
    ReplayOmission,
    /// The gateway no longer retains the replay data (`ReplayDataAgedOut`): the books
    /// are rebuilt from a snapshot session, and what passed meanwhile is lost.
    ReplayDataAgedOut,
    /// A snapshot session rebuilt the books: the records that passed while it
    /// connected are lost.
    SnapshotResync,
    /// The gateway skipped records after slow reading (`SkippedRecordsAfterSlowReading`).
    SkippedRecords,
}

impl GapReason {
    /// A short, stable name (`replay-omission`, `replay-data-aged-out`,
    /// `snapshot-resync`, `skipped-records`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReplayOmission => "replay-omission",
            Self::ReplayDataAgedOut => "replay-data-aged-out",
            Self::SnapshotResync => "snapshot-resync",
            Self::SkippedRecords => "skipped-records",
        }
    }
}

impl std::fmt::Display for GapReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hole in the delivered stream.
///
/// Records of `publisher_id` (and of `channel_id` when known) with
/// `from_ts_recv <= ts_recv <= to_ts_recv` may be missing; every other record was
/// delivered. `from_ts_recv` is the `ts_recv` of the last record of the publisher
/// delivered before the loss, `to_ts_recv` that of the first one delivered after it
/// (snapshot records, whose `ts_recv` is the snapshot's generation time, do not end a
/// gap). The bounds are inclusive because several records share one `ts_recv` (one
/// packet): the delivered records at the bounds are not lost, but others of the same
/// packet may be. A gap is reported when its end is known, just before the record
/// that ends it is delivered; a gap still open when the source stops is reported then,
/// open-ended (`to_ts_recv == u64::MAX`; publisher 0 when no record was ever
/// delivered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gap {
    /// The publisher whose records may be missing.
    pub publisher_id: u16,
    /// The channel, when the loss is known to concern one channel only; `None` when it
    /// concerns every channel of the publisher (a lost connection, a replay omission).
    pub channel_id: Option<u8>,
    /// `ts_recv` of the last record delivered before the loss (unix ns).
    pub from_ts_recv: u64,
    /// `ts_recv` of the first record delivered after the loss (unix ns).
    pub to_ts_recv: u64,
    /// Why the records are missing.
    pub reason: GapReason,
}

impl Gap {
    /// Whether a record of `publisher_id` received at `ts_recv` lies inside the gap.
    #[must_use]
    pub fn covers(&self, publisher_id: u16, ts_recv: u64) -> bool {
        publisher_id == self.publisher_id
            && (self.from_ts_recv..=self.to_ts_recv).contains(&ts_recv)
    }
}

impl std::fmt::Display for Gap {
    /// `<from_ts_recv> <to_ts_recv> # <reason>`, the line format of `live --gaps-out`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} # {} publisher {}",
            self.from_ts_recv, self.to_ts_recv, self.reason, self.publisher_id
        )?;
        if let Some(c) = self.channel_id {
            write!(f, " channel {c}")?;
        }
        Ok(())
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
    /// Records could not be recovered: see [`Gap`] for the exact bounds. Emitted just
    /// before the record that ends the gap is delivered; the books of the publisher
    /// (and channel) must be treated as recovering until a snapshot rebuilds them.
    Gap(Gap),
    /// Markets are closed: the source waits for the next open before reconnecting.
    WaitingForOpen {
        /// The next open (unix ns, UTC).
        open_unix_ns: u64,
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
    /// Sum over the gap events of `to_ts_recv - from_ts_recv`, in nanoseconds (open-ended
    /// gaps at stop excluded).
    pub gap_ns: u64,
    /// Snapshot sessions started to rebuild the books.
    pub snapshot_resyncs: u64,
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
    /// The planned session did not come up (wall clock unknown: treated as market
    /// hours).
    ConnectFailed(Failure),
    /// The planned session did not come up, at wall-clock time `unix_now_ns`: outside
    /// market hours a transient failure waits for the next open.
    ConnectFailedAt {
        /// Why.
        failure: Failure,
        /// Wall clock (unix ns) to decide whether markets are open.
        unix_now_ns: u64,
    },
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
/// seam.
///
/// # Gaps
///
/// A seam that the replay did not cover is a loss from the last record delivered
/// before it to the first record after it. The records after the seam are good: they
/// are delivered, and a [`LiveEvent::Gap`] with those exact bounds goes out just before
/// the first of them, so that the caller marks its books recovering. Once the replay
/// has caught up (`ReplayCompleted` for every schema), the session is swapped for a
/// snapshot session that rebuilds the books; what passes while it connects is a second
/// gap, from the last record of the replay session to the first real-time record after
/// the snapshot. The same holds when only a snapshot session is left
/// (`ReplayDataAgedOut`). Nothing is missing outside a reported gap, and nothing is
/// delivered twice.
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
    /// The next session must be a snapshot session (no replay can help).
    snapshot_next: bool,
    /// The books need a snapshot once the running replay has caught up.
    resync_wanted: bool,
    /// `ts_recv` of the last non-snapshot record delivered, per publisher.
    last_by_publisher: BTreeMap<u16, u64>,
    /// Losses whose end is not known yet: per publisher, the `ts_recv` before the
    /// loss and why.
    open_gaps: BTreeMap<u16, (u64, GapReason)>,
    /// A loss before any record was delivered (its start is the first session's
    /// start).
    open_unknown: Option<GapReason>,
    /// ReplayCompleted messages still expected in this session.
    replay_acks_pending: u32,
    /// Extra delay requested by the gateway (`ConnectionLimitExceeded`).
    floor_delay: Option<Duration>,
    /// Metadata `start` of the first session: the replay anchor while nothing has
    /// been delivered.
    first_start: Option<u64>,
    /// The last session ended cleanly outside market hours: the next replay's seam
    /// needs no overlap.
    trust_seam: bool,
    /// The open (unix ns) the source last waited for.
    open_at: Option<u64>,
}

/// How far before an open a replay after a market closure may start (23 h: inside the
/// gateway's 24-hour replay window).
const REPLAY_REACH_AFTER_CLOSE_NS: u64 = 23 * 3_600 * 1_000_000_000;

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
            snapshot_next: false,
            resync_wanted: false,
            last_by_publisher: BTreeMap::new(),
            open_gaps: BTreeMap::new(),
            open_unknown: None,
            trust_seam: false,
            open_at: None,
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
                    self.snapshot_next = false;
                    self.counters.snapshot_resyncs =
                        self.counters.snapshot_resyncs.saturating_add(1);
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
            Event::ConnectFailedAt {
                failure,
                unix_now_ns,
            } => {
                if !matches!(self.phase, Phase::Connecting(_)) {
                    return;
                }
                let closed = matches!(failure, Failure::Transient(_))
                    && !self.config.market_hours.is_open(unix_now_ns);
                if closed && self.config.exit_outside_hours {
                    if let Failure::Transient(reason) = failure {
                        self.emit(LiveEvent::ConnectFailed { reason });
                    }
                    self.stop(None);
                    return;
                }
                self.fail(failure, now, false);
                if closed {
                    self.wait_for_open(now, unix_now_ns);
                }
            }
            Event::Closed { unix_now_ns } => {
                if !self.is_streaming() {
                    return;
                }
                if self.config.market_hours.is_open(unix_now_ns) {
                    self.fail(Failure::Transient(DisconnectReason::CleanClose), now, true);
                } else if self.config.exit_outside_hours {
                    self.emit(LiveEvent::Disconnected {
                        reason: DisconnectReason::ClosedOutsideMarketHours,
                    });
                    self.stop(None);
                } else {
                    // The gateway sent everything before closing: the next replay has
                    // nothing to cover at the seam.
                    self.trust_seam = true;
                    self.fail(
                        Failure::Transient(DisconnectReason::ClosedOutsideMarketHours),
                        now,
                        true,
                    );
                    self.wait_for_open(now, unix_now_ns);
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
    /// When the verdict is [`Verdict::Deliver`], the driver hands the events queued by
    /// this call (a [`LiveEvent::Gap`] that the record ends, see
    /// [`poll_emitted`](Self::poll_emitted)) to the caller before the record.
    pub fn on_record(&mut self, rec: RecordRef<'_>, now: Duration) -> Verdict {
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
                if let Ok(sys) = rec.try_get::<SystemMsg>() {
                    self.on_system(sys, now);
                }
                return Verdict::Control;
            }
            rtype::ERROR => {
                self.count_control();
                if let Ok(err) = rec.try_get::<ErrorMsg>() {
                    self.on_error(err, now);
                }
                return Verdict::Control;
            }
            _ => {}
        }
        let ts_recv = rec.raw_index_ts();
        let snapshot_flags = rec
            .try_get::<MboMsg>()
            .ok()
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
                let complete = std::mem::take(&mut self.trust_seam) || self.seam_complete();
                self.set_mode(Mode::Live);
                if !complete {
                    // The replay jumped past records delivered at the mark, so it may
                    // have skipped the ones after them too: a gap up to this record.
                    // What follows the seam is good and is kept; the books are rebuilt
                    // from a snapshot once the replay has caught up.
                    self.open_gap(GapReason::ReplayOmission);
                    self.resync_wanted = true;
                }
                let verdict = self.deliver(rec, ts_recv);
                if self.resync_wanted && self.replay_acks_pending == 0 {
                    // The replay had already caught up: resync now (the queued gap
                    // event still goes out before this record).
                    self.switch_to_snapshot(GapReason::SnapshotResync, now);
                }
                verdict
            }
        }
    }

    /// Whether the replay matched every record delivered at the mark.
    fn seam_complete(&self) -> bool {
        self.at_hwm
            .iter()
            .all(|(bytes, n)| self.matched.get(bytes).copied().unwrap_or(0) >= *n)
    }

    fn on_system(&mut self, sys: &SystemMsg, now: Duration) {
        if matches!(sys.code(), Ok(SystemCode::ReplayCompleted)) && self.replay_acks_pending > 0 {
            self.replay_acks_pending -= 1;
            if self.replay_acks_pending == 0 {
                self.emit(LiveEvent::ReplayCompleted);
                // The replay caught up without reaching back to the mark: it omitted
                // the records delivered there, and may have omitted those after them.
                if matches!(
                    self.phase,
                    Phase::Streaming {
                        mode: Mode::Overlap,
                        ..
                    }
                ) && !self.trust_seam
                    && !self.seam_complete()
                {
                    self.set_mode(Mode::Live);
                    self.open_gap(GapReason::ReplayOmission);
                    self.resync_wanted = true;
                }
                if self.resync_wanted {
                    self.switch_to_snapshot(GapReason::SnapshotResync, now);
                }
            }
        }
    }

    /// Moves the reconnection planned by [`fail`](Self::fail) past the next open, by
    /// the same backoff.
    fn wait_for_open(&mut self, now: Duration, unix_now_ns: u64) {
        let Some(open) = self.config.market_hours.next_open(unix_now_ns) else {
            return;
        };
        let until_open = Duration::from_nanos(open.saturating_sub(unix_now_ns));
        self.open_at = Some(open);
        self.emit(LiveEvent::WaitingForOpen { open_unix_ns: open });
        for action in self.actions.iter_mut().rev() {
            if let Action::WaitUntil(at) = action {
                let backoff = at.saturating_sub(now);
                *at = now.saturating_add(until_open).saturating_add(backoff);
                break;
            }
        }
        // Keep the wait last, after the event.
        if let Some(i) = self
            .actions
            .iter()
            .rposition(|a| matches!(a, Action::WaitUntil(_)))
        {
            if let Some(wait) = self.actions.remove(i) {
                self.actions.push_back(wait);
            }
        }
    }

    /// Ends the session to rebuild the books from a snapshot session: what passes
    /// until its first real-time record is a gap.
    fn switch_to_snapshot(&mut self, reason: GapReason, now: Duration) {
        self.resync_wanted = false;
        self.snapshot_next = true;
        self.open_gap(reason);
        self.actions.push_back(Action::CloseSession);
        self.fail(Failure::Transient(DisconnectReason::Resync), now, true);
    }

    /// Records that a loss starts after the last delivered record of every publisher.
    fn open_gap(&mut self, reason: GapReason) {
        if self.last_by_publisher.is_empty() {
            self.open_unknown.get_or_insert(reason);
        }
        for (&publisher, &ts) in &self.last_by_publisher {
            self.open_gaps.entry(publisher).or_insert((ts, reason));
        }
    }

    /// Reports the open gaps that a non-snapshot record of `publisher` at `ts_recv`
    /// ends.
    fn close_gaps(&mut self, publisher: u16, ts_recv: u64) {
        let open = self.open_gaps.remove(&publisher).or_else(|| {
            self.open_unknown
                .take()
                .map(|reason| (self.first_start.unwrap_or(0).min(ts_recv), reason))
        });
        if let Some((from, reason)) = open {
            self.emit_gap(publisher, from, ts_recv, reason);
        }
        self.last_by_publisher.insert(publisher, ts_recv);
    }

    fn emit_gap(&mut self, publisher: u16, from: u64, to: u64, reason: GapReason) {
        self.counters.gaps = self.counters.gaps.saturating_add(1);
        if to != u64::MAX {
            self.counters.gap_ns = self.counters.gap_ns.saturating_add(to.saturating_sub(from));
        }
        self.emit(LiveEvent::Gap(Gap {
            publisher_id: publisher,
            channel_id: None,
            from_ts_recv: from,
            to_ts_recv: to,
            reason,
        }));
    }

    /// The next leading [`Action::Emit`], if the queue starts with one: what the driver
    /// hands to the caller before delivering the record just classified.
    pub fn poll_emitted(&mut self) -> Option<LiveEvent> {
        if matches!(self.actions.front(), Some(Action::Emit(_))) {
            if let Some(Action::Emit(e)) = self.actions.pop_front() {
                return Some(e);
            }
        }
        None
    }

    fn on_error(&mut self, err: &ErrorMsg, now: Duration) {
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
            // No replay can reach back any more: only a snapshot session is left.
            Ok(ErrorCode::ReplayDataAgedOut) => {
                self.switch_to_snapshot(GapReason::ReplayDataAgedOut, now);
            }
            // The session goes on after the skipped records (MBO is never skipped, so
            // the books need no snapshot).
            Ok(ErrorCode::SkippedRecordsAfterSlowReading) => {
                self.open_gap(GapReason::SkippedRecords);
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
        if !is_snapshot(rec) {
            self.close_gaps(rec.header().publisher_id, ts_recv);
        }
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
        // Losses whose end never came: reported open-ended.
        let open = std::mem::take(&mut self.open_gaps);
        for (publisher, (from, reason)) in open {
            self.emit_gap(publisher, from, u64::MAX, reason);
        }
        if let Some(reason) = self.open_unknown.take() {
            let from = self.first_start.unwrap_or(0);
            self.emit_gap(0, from, u64::MAX, reason);
        }
        self.phase = Phase::Stopped;
        self.actions.push_back(Action::Stop(fatal));
    }

    fn plan(&self) -> ConnectPlan {
        if self.snapshot_next {
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
            (Some(ts), _, _) => {
                let start = ts.saturating_sub(margin);
                // After a weekend, replay from within a day of the open (replay reaches
                // back 24 hours; nothing trades while markets are closed).
                Some(match self.open_at {
                    Some(open) => start.max(open.saturating_sub(REPLAY_REACH_AFTER_CLOSE_NS)),
                    None => start,
                })
            }
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
        if let Phase::Streaming { since, mode } = self.phase {
            if now.saturating_sub(since) >= self.config.healthy_after {
                self.failures = 0;
            }
            // A snapshot cut short rebuilt nothing: the next session snapshots again.
            if mode == Mode::Snapshot {
                self.snapshot_next = true;
            }
        }
        let planned = reason == DisconnectReason::Resync;
        if was_streaming {
            self.emit(LiveEvent::Disconnected { reason });
        } else {
            self.emit(LiveEvent::ConnectFailed { reason });
        }
        // A planned switch to a snapshot session waits for nothing but the connection
        // spacing.
        let delay = if planned {
            Duration::ZERO
        } else {
            let d = self.backoff();
            self.failures = self.failures.saturating_add(1);
            d
        };
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

/// Whether `rec` is an MBO record of a snapshot (`F_SNAPSHOT`).
fn is_snapshot(rec: RecordRef<'_>) -> bool {
    rec.try_get::<MboMsg>().is_ok_and(|m| m.flags.is_snapshot())
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

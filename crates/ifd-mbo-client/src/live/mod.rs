//! Databento live streaming with reconnection and backfill (feature `live`).
//!
//! [`LiveSource`] drives the real [`databento::LiveClient`] with the sans-IO
//! [`Recovery`] state machine: every session is a fresh client (the stored
//! subscriptions of `reconnect()`/`resubscribe()` would drop `start`), each reconnection
//! replays from a margin before the last delivered `ts_event`, and the replayed overlap
//! is de-duplicated so that the [`LiveHandler`] sees exactly the records of an
//! uninterrupted session. A replay that does not reach back to what was delivered raises
//! a [`LiveEvent::Gap`] with exact bounds ([`Gap`]); the records after the seam are
//! kept, and the books are rebuilt by a snapshot session once the replay has caught up
//! (that switch is a second, reported gap).
//!
//! ```no_run
//! # async fn demo() -> ifd_mbo_client::Result<()> {
//! use ifd_mbo_client::live::{LiveConfig, LiveEvent, LiveHandler, LiveSource};
//! use dbn::RecordRef;
//!
//! struct Print;
//! impl LiveHandler for Print {
//!     fn on_record(&mut self, rec: RecordRef<'_>) {
//!         println!("{:?}", rec.header());
//!     }
//!     fn on_event(&mut self, event: &LiveEvent) {
//!         eprintln!("{event:?}");
//!     }
//! }
//!
//! // Key from DATABENTO_API_KEY, GLBX.MDP3, parent NQ.OPT: mbo + definition + statistics.
//! let mut source = LiveSource::new(LiveConfig::default())?;
//! let stop = async {
//!     let _ = tokio::signal::ctrl_c().await;
//! };
//! let counters = source.run(&mut Print, stop).await?;
//! eprintln!("{counters:?}");
//! # Ok(()) }
//! ```

#[cfg(feature = "ifd-budget")]
mod budget;
mod recovery;

use std::future::Future;
use std::time::Duration;

use databento::{
    dbn::{SType, Schema},
    live::{Subscription, TimeoutConf},
    LiveClient,
};
use dbn::RecordRef;

pub use recovery::{
    cme_globex_open, Action, ConnectPlan, DisconnectReason, Event, Failure, FatalReason, Gap,
    GapReason, LiveCounters, LiveEvent, MarketHours, Recovery, RecoveryConfig, Verdict,
};

#[cfg(feature = "ifd-budget")]
pub use budget::BudgetedHandler;

use crate::{Error, Result};

/// The environment variable holding the Databento API key.
pub const API_KEY_ENV: &str = "DATABENTO_API_KEY";

/// Configuration of a [`LiveSource`].
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Dataset code; `GLBX.MDP3` by default.
    pub dataset: String,
    /// Parent symbols subscribed with `stype_in=parent`; `["NQ.OPT"]` by default
    /// (definitions, MBO and statistics of every NQ option).
    pub parents: Vec<String>,
    /// The underlying futures, subscribed with the same schemas: a parent symbol
    /// (containing a dot, such as `NQ.FUT`) or a raw symbol (such as `NQZ6`). An
    /// `NQ.OPT` subscription carries no futures records. `None` by default.
    pub underlying: Option<String>,
    /// API key; read from [`API_KEY_ENV`] when `None`.
    pub key: Option<String>,
    /// Gateway `host:port`; Databento's gateway for the dataset when `None`.
    pub addr: Option<String>,
    /// Heartbeat interval in whole seconds (5..=1800); the client declares the
    /// connection dead after this plus 5 s of silence.
    pub heartbeat_interval_s: u32,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Authentication timeout.
    pub auth_timeout: Duration,
    /// Backoff, replay margin, jitter seed and market hours.
    pub recovery: RecoveryConfig,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            dataset: "GLBX.MDP3".to_owned(),
            parents: vec!["NQ.OPT".to_owned()],
            underlying: None,
            key: None,
            addr: None,
            heartbeat_interval_s: 10,
            connect_timeout: Duration::from_secs(5),
            auth_timeout: Duration::from_secs(10),
            recovery: RecoveryConfig::default(),
        }
    }
}

/// Receives what the live source delivers.
pub trait LiveHandler {
    /// A data record (MBO, definition, statistics), de-duplicated across sessions, in
    /// stream order.
    fn on_record(&mut self, rec: RecordRef<'_>);
    /// A control record of the current session (symbol mapping, system or error
    /// message). These are per session and are not de-duplicated.
    fn on_control(&mut self, rec: RecordRef<'_>) {
        let _ = rec;
    }
    /// A connection or recovery event.
    fn on_event(&mut self, event: &LiveEvent) {
        let _ = event;
    }
    /// Bytes received from the gateway (every record, delivered or dropped): the hook
    /// for budget accounting of live usage.
    fn on_bytes(&mut self, bytes: u64) {
        let _ = bytes;
    }
}

/// The live source: a short tokio loop around [`Recovery`].
#[derive(Debug)]
pub struct LiveSource {
    config: LiveConfig,
    key: String,
    recovery: Recovery,
}

impl LiveSource {
    /// A source for `config`; nothing connects before [`run`](Self::run).
    ///
    /// # Errors
    /// [`Error::MissingApiKey`] when no key is given and [`API_KEY_ENV`] is unset, and
    /// [`Error::Config`] when the parents list is empty or the heartbeat interval is
    /// outside 5..=1800 s.
    pub fn new(config: LiveConfig) -> Result<Self> {
        let key = match &config.key {
            Some(k) => k.clone(),
            None => {
                std::env::var(API_KEY_ENV).map_err(|_| Error::MissingApiKey { var: API_KEY_ENV })?
            }
        };
        if config.parents.is_empty() {
            return Err(Error::Config {
                param: "parents",
                reason: "at least one parent symbol is required".to_owned(),
            });
        }
        if !(5..=1800).contains(&config.heartbeat_interval_s) {
            return Err(Error::Config {
                param: "heartbeat_interval_s",
                reason: format!("{} is outside 5..=1800", config.heartbeat_interval_s),
            });
        }
        let recovery = Recovery::new(config.recovery.clone());
        Ok(Self {
            config,
            key,
            recovery,
        })
    }

    /// The counters so far.
    #[must_use]
    pub fn counters(&self) -> LiveCounters {
        self.recovery.counters()
    }

    /// Streams until `shutdown` resolves or a fatal error (or, with
    /// [`RecoveryConfig::exit_outside_hours`], until the gateway closes or refuses
    /// outside market hours; by default the source waits for the next open).
    /// Reconnects, backfills and de-duplicates on the way.
    ///
    /// # Errors
    /// [`Error::LiveFatal`] when the gateway rejects the key or the subscription, or
    /// the client rejects the configuration; retrying cannot help then.
    pub async fn run<H, F>(&mut self, handler: &mut H, shutdown: F) -> Result<LiveCounters>
    where
        H: LiveHandler + ?Sized,
        F: Future<Output = ()>,
    {
        let origin = tokio::time::Instant::now();
        let now = move || tokio::time::Instant::now().saturating_duration_since(origin);
        tokio::pin!(shutdown);
        let mut client: Option<LiveClient> = None;
        self.recovery.on_event(Event::Start, now());
        loop {
            while let Some(action) = self.recovery.poll_action() {
                match action {
                    Action::Emit(event) => handler.on_event(&event),
                    Action::CloseSession => client = None,
                    Action::Stop(None) => return Ok(self.recovery.counters()),
                    Action::Stop(Some(reason)) => return Err(Error::LiveFatal { reason }),
                    Action::WaitUntil(at) => {
                        let deadline = origin + at;
                        tokio::select! {
                            () = tokio::time::sleep_until(deadline) => {
                                self.recovery.on_event(Event::TimerExpired, now());
                            }
                            () = &mut shutdown => self.recovery.on_event(Event::Shutdown, now()),
                        }
                    }
                    Action::Connect(plan) => {
                        client = None;
                        // `subscribe` and `start` are not cancel safe: on shutdown the
                        // half-built client is dropped whole.
                        tokio::select! {
                            opened = open(&self.config, &self.key, plan) => match opened {
                                Ok((c, start_ns)) => {
                                    let session_id = c.session_id().to_owned();
                                    client = Some(c);
                                    self.recovery.on_event(Event::Connected { session_id, start_ns }, now());
                                }
                                Err(e) => self.recovery.on_event(
                                    Event::ConnectFailedAt {
                                        failure: classify(e, true),
                                        unix_now_ns: unix_now_ns(),
                                    },
                                    now(),
                                ),
                            },
                            () = &mut shutdown => self.recovery.on_event(Event::Shutdown, now()),
                        }
                    }
                }
            }
            let Some(c) = client.as_mut() else {
                // No session and no action: only possible once stopped.
                if self.recovery.is_stopped() {
                    return Ok(self.recovery.counters());
                }
                self.recovery.on_event(Event::Shutdown, now());
                continue;
            };
            tokio::select! {
                next = c.next_record() => match next {
                    Ok(Some(rec)) => {
                        handler.on_bytes(rec.as_ref().len() as u64);
                        match self.recovery.on_record(rec, now()) {
                            Verdict::Deliver => {
                                // A gap that this record ends goes out before it.
                                while let Some(event) = self.recovery.poll_emitted() {
                                    handler.on_event(&event);
                                }
                                handler.on_record(rec);
                            }
                            Verdict::Control => handler.on_control(rec),
                            Verdict::Duplicate | Verdict::Ignore => {}
                        }
                    }
                    Ok(None) => self.recovery.on_event(Event::Closed { unix_now_ns: unix_now_ns() }, now()),
                    Err(e) => self.recovery.on_event(Event::Failed(classify(e, false)), now()),
                },
                () = &mut shutdown => self.recovery.on_event(Event::Shutdown, now()),
            }
        }
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "the live driver is the IO edge: the wall clock decides market hours"
)]
fn unix_now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Builds a fresh client, subscribes as planned and starts the session.
async fn open(
    config: &LiveConfig,
    key: &str,
    plan: ConnectPlan,
) -> databento::Result<(LiveClient, u64)> {
    let timeouts = TimeoutConf {
        connect: Some(to_time(config.connect_timeout)),
        auth: Some(to_time(config.auth_timeout)),
    };
    let mut builder = LiveClient::builder()
        .key(key)?
        .dataset(&config.dataset)
        .heartbeat_interval(time::Duration::seconds(i64::from(
            config.heartbeat_interval_s,
        )))
        .timeout_conf(timeouts);
    if let Some(addr) = &config.addr {
        builder = builder.addr(addr.as_str()).await?;
    }
    let mut client = builder.build().await?;
    let start = match plan.start {
        Some(ns) => Some(
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).map_err(|e| {
                databento::Error::BadArgument {
                    param_name: "start",
                    desc: e.to_string(),
                }
            })?,
        ),
        None => None,
    };
    let (mut parents, raw) = (config.parents.clone(), None::<String>);
    let raw = match &config.underlying {
        Some(u) if u.contains('.') => {
            parents.push(u.clone());
            raw
        }
        Some(u) => Some(u.clone()),
        None => raw,
    };
    for schema in [Schema::Definition, Schema::Mbo, Schema::Statistics] {
        let groups = std::iter::once((parents.clone(), SType::Parent))
            .chain(raw.iter().map(|r| (vec![r.clone()], SType::RawSymbol)));
        for (symbols, stype) in groups {
            let mut sub = Subscription::builder()
                .symbols(symbols)
                .schema(schema)
                .stype_in(stype)
                .use_snapshot(plan.snapshot && schema == Schema::Mbo)
                .build();
            if !plan.snapshot {
                sub.start = start;
            }
            client.subscribe(sub).await?;
        }
    }
    let metadata = client.start().await?;
    Ok((client, metadata.start))
}

fn to_time(d: Duration) -> time::Duration {
    time::Duration::seconds(i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1))
}

/// Sorts a client error into retryable or fatal.
fn classify(error: databento::Error, connecting: bool) -> Failure {
    use databento::Error as E;
    let transient = |s: String| {
        if connecting {
            Failure::Transient(DisconnectReason::ConnectFailed(s))
        } else {
            Failure::Transient(DisconnectReason::Io(s))
        }
    };
    match error {
        // An empty reply means the connection dropped before the gateway answered.
        E::Auth(message) if !message.trim().is_empty() => {
            Failure::Fatal(FatalReason::AuthRejected { message })
        }
        E::BadArgument { param_name, desc } => Failure::Fatal(FatalReason::BadConfig {
            message: format!("{param_name}: {desc}"),
        }),
        E::HeartbeatTimeout(_) => Failure::Transient(DisconnectReason::HeartbeatTimeout),
        other => transient(other.to_string()),
    }
}

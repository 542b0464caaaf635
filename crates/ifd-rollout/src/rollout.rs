//! The staged rollout state machine, its promotion gates and the emergency rollback.
//!
//! ```text
//!            promote               promote               promote
//!  Shadow ──────────────▶ Canary ──────────────▶ Limited ──────────────▶ Full
//!  (v3 0%)               (v3 10%)               (v3 50%)               (v3 100%, v1 fallback)
//!     ▲                     │                      │                      │
//!     │ cool-down elapsed   │ breach / kill switch │                      │
//!     └────────────── RolledBack (v3 0%) ◀─────────┴──────────────────────┘
//! ```
//!
//! - **Inputs** are a [`RolloutSnapshot`] (cumulative resolved counts, the sequential tests'
//!   results and the engine's health figures) and an explicit `now`; **outputs** are
//!   [`AuditEvent`]s, one per transition, each with its reason and the snapshot.
//! - **Promotion** from a stage needs every gate of [`Gate`] to pass: time in stage,
//!   resolved samples *in this stage* for both arms, v3 not worse than v1 by the
//!   sequential tests (and, when a non-inferiority margin is set, the accuracy confidence
//!   sequence's lower bound above `−margin`), **v3 significantly better than v1** on the
//!   hit-rate test at the chosen horizon ([`Gate::SignificantEdge`], on by default:
//!   [`RolloutConfig::require_significant_edge`]; the test is fed labels by
//!   [`crate::AbTest::observe_label`] and its always-valid p-value allows a look at
//!   every snapshot), latency p99 below the limit, uptime at or
//!   above the minimum, error rate below the limit, and finite health figures. Every
//!   comparison is written so that NaN fails it.
//! - **Rollback** happens in Canary, Limited and Full, on the first snapshot with a
//!   breach: a sequential test saying v3 is worse, latency p99 at or above the limit,
//!   uptime below the minimum, error rate at or above the limit, or
//!   [`RolloutConfig::max_invalid_snapshots`] invalid (NaN, infinite, out of range)
//!   health snapshots in a row. The kill switch rolls back from any stage. A rollback is
//!   never refused or delayed: it sets v3's share to 0 at once and starts the cool-down.
//! - **Flapping**: after the cool-down the ladder restarts at Shadow. When
//!   [`RolloutConfig::max_rollbacks_per_hour`] rollbacks happened within an hour the
//!   rollout is *halted*: it stays rolled back until [`Rollout::resume`]. (The limit
//!   stops automatic re-entry; it never blocks a rollback.) An engaged kill switch also
//!   holds it rolled back until [`Rollout::release_kill_switch`].
//! - **Evidence after a rollback**: a sequential test that found v3 worse has stopped
//!   and keeps saying so, so after the cool-down the ladder re-enters Shadow but cannot
//!   leave it. That is deliberate: a new v3 build needs a new [`crate::AbTest`]. A
//!   rollback caused by latency, uptime or errors leaves the tests untouched.
//! - **Persistence**: [`Rollout::to_bytes`] / [`Rollout::from_bytes`], see [`crate::persist`].

use serde::{Deserialize, Serialize};

use crate::assign::{AssignmentKey, Split, PPM};
use crate::error::{Error, Result};
use crate::stats::{Decision, SequentialResult};
use crate::types::{Nanos, Variant, NANOS_PER_HOUR, NANOS_PER_MINUTE};

/// A stage of the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// v3 computed and recorded, v1 served.
    Shadow,
    /// v3 serves the canary share (10 % by default).
    Canary,
    /// v3 serves the limited share (50 % by default).
    Limited,
    /// v3 serves everything; v1 is kept as the fallback.
    Full,
    /// Emergency state after a rollback: v1 serves everything.
    RolledBack,
}

impl Stage {
    /// The stage a promotion leads to, if any.
    #[must_use]
    pub const fn next(self) -> Option<Self> {
        match self {
            Self::Shadow => Some(Self::Canary),
            Self::Canary => Some(Self::Limited),
            Self::Limited => Some(Self::Full),
            Self::Full | Self::RolledBack => None,
        }
    }

    /// True where v3 serves some decisions.
    #[must_use]
    pub const fn serves_v3(self) -> bool {
        matches!(self, Self::Canary | Self::Limited | Self::Full)
    }
}

/// What a stage needs before promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageGate {
    /// Minimum time in the stage, ns.
    pub min_time_ns: u64,
    /// Minimum resolved outcomes in the stage, for each arm.
    pub min_resolved: u64,
}

/// Configuration of the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RolloutConfig {
    /// v3's share in Canary, ppm.
    pub canary_share_ppm: u32,
    /// v3's share in Limited, ppm.
    pub limited_share_ppm: u32,
    /// Gate to leave Shadow.
    pub shadow_gate: StageGate,
    /// Gate to leave Canary.
    pub canary_gate: StageGate,
    /// Gate to leave Limited.
    pub limited_gate: StageGate,
    /// Latency p99 must stay below this, ms.
    pub latency_p99_max_ms: f64,
    /// Market-hours uptime must stay at or above this fraction.
    pub uptime_min: f64,
    /// Error rate must stay below this fraction.
    pub error_rate_max: f64,
    /// When set, promotion also needs the accuracy confidence sequence's lower bound
    /// (v3 − v1) above `−margin`: non-inferiority shown, not merely "not shown worse".
    pub non_inferiority_margin: Option<f64>,
    /// Time in RolledBack before the ladder restarts, ns.
    pub cool_down_ns: u64,
    /// Rollbacks within an hour that halt automatic re-entry.
    pub max_rollbacks_per_hour: u32,
    /// Invalid health snapshots in a row that trigger a rollback while v3 serves.
    pub max_invalid_snapshots: u32,
    /// Salt of the serving split (see [`crate::assign`]).
    pub salt: u64,
    /// Promotion also needs the accuracy (hit-rate) test to have decided
    /// [`Decision::V3Better`]: the rollout advances only on significant evidence.
    #[serde(default = "yes")]
    pub require_significant_edge: bool,
}

const fn yes() -> bool {
    true
}

impl Default for RolloutConfig {
    /// 10 % and 50 %; Shadow 4 h / 100 outcomes, Canary 12 h / 200, Limited 24 h / 400;
    /// p99 < 100 ms, uptime ≥ 99.9 %, error rate < 1 %; no non-inferiority margin;
    /// 30 min cool-down; 3 rollbacks per hour; 3 invalid snapshots; a significant edge
    /// required.
    fn default() -> Self {
        Self {
            canary_share_ppm: 100_000,
            limited_share_ppm: 500_000,
            shadow_gate: StageGate {
                min_time_ns: 4 * NANOS_PER_HOUR,
                min_resolved: 100,
            },
            canary_gate: StageGate {
                min_time_ns: 12 * NANOS_PER_HOUR,
                min_resolved: 200,
            },
            limited_gate: StageGate {
                min_time_ns: 24 * NANOS_PER_HOUR,
                min_resolved: 400,
            },
            latency_p99_max_ms: 100.0,
            uptime_min: 0.999,
            error_rate_max: 0.01,
            non_inferiority_margin: None,
            cool_down_ns: 30 * NANOS_PER_MINUTE,
            max_rollbacks_per_hour: 3,
            max_invalid_snapshots: 3,
            salt: 0x6966_6433_726f_6c6c,
            require_significant_edge: true,
        }
    }
}

impl RolloutConfig {
    /// Checks the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the shares are not increasing inside `(0, 10⁶)`, a
    /// limit is not finite, uptime or error rate is outside `[0, 1]`, the margin is
    /// negative or not finite, or a count is zero.
    pub fn validate(&self) -> Result<()> {
        if !(0 < self.canary_share_ppm
            && self.canary_share_ppm < self.limited_share_ppm
            && self.limited_share_ppm < PPM)
        {
            return Err(Error::InvalidConfig {
                field: "canary_share_ppm/limited_share_ppm",
                problem: "must satisfy 0 < canary < limited < 1000000",
            });
        }
        if !(self.latency_p99_max_ms.is_finite() && self.latency_p99_max_ms > 0.0) {
            return Err(Error::InvalidConfig {
                field: "latency_p99_max_ms",
                problem: "must be finite and positive",
            });
        }
        if !(0.0..=1.0).contains(&self.uptime_min) {
            return Err(Error::InvalidConfig {
                field: "uptime_min",
                problem: "must lie in [0, 1]",
            });
        }
        if !(0.0..=1.0).contains(&self.error_rate_max) {
            return Err(Error::InvalidConfig {
                field: "error_rate_max",
                problem: "must lie in [0, 1]",
            });
        }
        if self
            .non_inferiority_margin
            .is_some_and(|m| !(m.is_finite() && m >= 0.0))
        {
            return Err(Error::InvalidConfig {
                field: "non_inferiority_margin",
                problem: "must be finite and >= 0",
            });
        }
        if self.max_rollbacks_per_hour == 0 || self.max_invalid_snapshots == 0 {
            return Err(Error::InvalidConfig {
                field: "max_rollbacks_per_hour/max_invalid_snapshots",
                problem: "must be at least 1",
            });
        }
        Ok(())
    }

    /// v3's share of decisions in `stage`, ppm.
    #[must_use]
    pub const fn v3_share_ppm(&self, stage: Stage) -> u32 {
        match stage {
            Stage::Shadow | Stage::RolledBack => 0,
            Stage::Canary => self.canary_share_ppm,
            Stage::Limited => self.limited_share_ppm,
            Stage::Full => PPM,
        }
    }

    /// The gate to leave `stage`, if it has one.
    #[must_use]
    pub const fn gate(&self, stage: Stage) -> Option<StageGate> {
        match stage {
            Stage::Shadow => Some(self.shadow_gate),
            Stage::Canary => Some(self.canary_gate),
            Stage::Limited => Some(self.limited_gate),
            Stage::Full | Stage::RolledBack => None,
        }
    }
}

/// What the rollout is told at each evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RolloutSnapshot {
    /// Resolved outcomes of v1 so far (cumulative).
    pub resolved_v1: u64,
    /// Resolved outcomes of v3 so far (cumulative).
    pub resolved_v3: u64,
    /// The sequential test on accuracy, if running.
    pub accuracy: Option<SequentialResult>,
    /// The sequential test on P&L per signal, if running.
    pub pnl: Option<SequentialResult>,
    /// v3's decision latency p99, ms.
    pub latency_p99_ms: f64,
    /// Market-hours uptime, fraction.
    pub uptime: f64,
    /// Error rate, fraction.
    pub error_rate: f64,
}

impl RolloutSnapshot {
    /// True when the health figures are finite and in their domains.
    #[must_use]
    pub fn health_is_valid(&self) -> bool {
        self.latency_p99_ms.is_finite()
            && self.latency_p99_ms >= 0.0
            && (0.0..=1.0).contains(&self.uptime)
            && (0.0..=1.0).contains(&self.error_rate)
    }
}

/// A promotion gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Gate {
    /// The stage has been held for its minimum time.
    TimeInStage,
    /// Each arm has the minimum resolved outcomes in this stage.
    ResolvedSamples,
    /// The sequential tests do not find v3 worse (and non-inferiority holds when set).
    NotWorse,
    /// The hit-rate test found v3 significantly better (when required).
    SignificantEdge,
    /// Latency p99 below the limit.
    LatencyP99,
    /// Uptime at or above the minimum.
    Uptime,
    /// Error rate below the limit.
    ErrorRate,
    /// Health figures finite and in range.
    MetricsValid,
}

/// One gate's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateStatus {
    /// The gate.
    pub gate: Gate,
    /// Did it pass?
    pub passed: bool,
}

/// What caused a rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Trigger {
    /// The accuracy test found v3 worse.
    V3WorseAccuracy,
    /// The P&L test found v3 worse.
    V3WorsePnl,
    /// Latency p99 at or above the limit.
    Latency,
    /// Uptime below the minimum.
    Uptime,
    /// Error rate at or above the limit.
    ErrorRate,
    /// Too many invalid health snapshots in a row.
    InvalidMetrics,
    /// The operator's kill switch.
    KillSwitch,
}

/// Why a transition happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// Every gate passed.
    Promoted,
    /// Emergency rollback, with every trigger that fired.
    Rollback(Vec<Trigger>),
    /// The cool-down elapsed: the ladder restarts.
    CoolDownElapsed,
    /// The kill switch was engaged while already rolled back (recorded, no stage change).
    KillSwitchEngaged,
    /// The kill switch was released.
    KillSwitchReleased,
    /// Too many rollbacks within an hour: automatic re-entry halted.
    Halted,
    /// The operator resumed a halted rollout.
    Resumed,
}

/// An audit record of one transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When.
    pub at: Nanos,
    /// Stage before.
    pub from: Stage,
    /// Stage after.
    pub to: Stage,
    /// Why.
    pub reason: Reason,
    /// The metrics at that moment, when the transition came from a snapshot.
    pub snapshot: Option<RolloutSnapshot>,
}

/// The persistent part of the rollout (see [`crate::persist`]). It holds no float, so
/// it always encodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutState {
    /// Current stage.
    pub stage: Stage,
    /// When the stage was entered.
    pub entered_at: Nanos,
    /// Cumulative resolved v1 outcomes when the stage was entered.
    pub resolved_v1_at_entry: u64,
    /// Cumulative resolved v3 outcomes when the stage was entered.
    pub resolved_v3_at_entry: u64,
    /// The stage a rollback left.
    pub rolled_back_from: Option<Stage>,
    /// End of the cool-down.
    pub cool_down_until: Nanos,
    /// Times of the rollbacks within the last hour.
    pub recent_rollbacks: Vec<Nanos>,
    /// Kill switch engaged.
    pub kill_switch: bool,
    /// Automatic re-entry halted by the rollback limit.
    pub halted: bool,
    /// Invalid health snapshots in a row.
    pub invalid_streak: u32,
}

/// The rollout state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    config: RolloutConfig,
    state: RolloutState,
    audit: Vec<AuditEvent>,
}

impl Rollout {
    /// A rollout starting in Shadow at `now`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] as [`RolloutConfig::validate`].
    pub fn new(config: RolloutConfig, now: Nanos) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            state: RolloutState {
                stage: Stage::Shadow,
                entered_at: now,
                resolved_v1_at_entry: 0,
                resolved_v3_at_entry: 0,
                rolled_back_from: None,
                cool_down_until: 0,
                recent_rollbacks: Vec::new(),
                kill_switch: false,
                halted: false,
                invalid_streak: 0,
            },
            audit: Vec::new(),
        })
    }

    /// A rollout resumed from a persisted state.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] as [`RolloutConfig::validate`].
    pub fn from_state(config: RolloutConfig, state: RolloutState) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            state,
            audit: Vec::new(),
        })
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &RolloutConfig {
        &self.config
    }

    /// The persistent state.
    #[must_use]
    pub const fn state(&self) -> &RolloutState {
        &self.state
    }

    /// The current stage.
    #[must_use]
    pub const fn stage(&self) -> Stage {
        self.state.stage
    }

    /// True while automatic re-entry is halted by the rollback limit.
    #[must_use]
    pub const fn is_halted(&self) -> bool {
        self.state.halted
    }

    /// True while the kill switch is engaged.
    #[must_use]
    pub const fn kill_switch_engaged(&self) -> bool {
        self.state.kill_switch
    }

    /// v3's share of decisions now, ppm.
    #[must_use]
    pub const fn v3_share_ppm(&self) -> u32 {
        self.config.v3_share_ppm(self.state.stage)
    }

    /// Every transition since this value was created (or loaded), oldest first. The
    /// caller persists them in its own log; they are not part of [`RolloutState`].
    #[must_use]
    pub fn audit(&self) -> &[AuditEvent] {
        &self.audit
    }

    /// Which variant serves the decision keyed by `key` now. Keys served by v3 at a
    /// smaller share stay on v3 at a larger one.
    #[must_use]
    pub fn serving_variant(&self, key: &AssignmentKey) -> Variant {
        match Split::v3_share(self.config.salt, self.v3_share_ppm()) {
            Ok(split) => split.assign_variant(key),
            Err(_) => Variant::V1,
        }
    }

    /// Every promotion gate of the current stage at `now` (empty in Full and RolledBack).
    #[must_use]
    pub fn gates(&self, now: Nanos, snap: &RolloutSnapshot) -> Vec<GateStatus> {
        let Some(gate) = self.config.gate(self.state.stage) else {
            return Vec::new();
        };
        let c = &self.config;
        let in_stage_v1 = snap
            .resolved_v1
            .saturating_sub(self.state.resolved_v1_at_entry);
        let in_stage_v3 = snap
            .resolved_v3
            .saturating_sub(self.state.resolved_v3_at_entry);
        let not_worse = {
            let acc_ok = snap
                .accuracy
                .is_some_and(|r| r.decision != Decision::V3Worse);
            let pnl_ok = snap.pnl.is_none_or(|r| r.decision != Decision::V3Worse);
            let margin_ok = match c.non_inferiority_margin {
                None => true,
                Some(m) => snap
                    .accuracy
                    .and_then(|r| r.ci)
                    .is_some_and(|(lo, _)| lo > -m),
            };
            acc_ok && pnl_ok && margin_ok
        };
        let status = |gate, passed| GateStatus { gate, passed };
        vec![
            status(
                Gate::TimeInStage,
                now.saturating_sub(self.state.entered_at) >= gate.min_time_ns,
            ),
            status(
                Gate::ResolvedSamples,
                in_stage_v1.min(in_stage_v3) >= gate.min_resolved,
            ),
            status(Gate::NotWorse, not_worse),
            status(
                Gate::SignificantEdge,
                !c.require_significant_edge
                    || snap
                        .accuracy
                        .is_some_and(|r| r.decision == Decision::V3Better),
            ),
            status(Gate::LatencyP99, snap.latency_p99_ms < c.latency_p99_max_ms),
            status(Gate::Uptime, snap.uptime >= c.uptime_min),
            status(Gate::ErrorRate, snap.error_rate < c.error_rate_max),
            status(Gate::MetricsValid, snap.health_is_valid()),
        ]
    }

    fn triggers(&mut self, snap: &RolloutSnapshot) -> Vec<Trigger> {
        let c = self.config;
        let mut t = Vec::new();
        if snap
            .accuracy
            .is_some_and(|r| r.decision == Decision::V3Worse)
        {
            t.push(Trigger::V3WorseAccuracy);
        }
        if snap.pnl.is_some_and(|r| r.decision == Decision::V3Worse) {
            t.push(Trigger::V3WorsePnl);
        }
        if snap.health_is_valid() {
            self.state.invalid_streak = 0;
            if snap.latency_p99_ms >= c.latency_p99_max_ms {
                t.push(Trigger::Latency);
            }
            if snap.uptime < c.uptime_min {
                t.push(Trigger::Uptime);
            }
            if snap.error_rate >= c.error_rate_max {
                t.push(Trigger::ErrorRate);
            }
        } else {
            self.state.invalid_streak = self.state.invalid_streak.saturating_add(1);
            if self.state.invalid_streak >= c.max_invalid_snapshots {
                t.push(Trigger::InvalidMetrics);
            }
        }
        t
    }

    fn enter(&mut self, stage: Stage, now: Nanos, snap: Option<&RolloutSnapshot>) {
        self.state.stage = stage;
        self.state.entered_at = now;
        if let Some(s) = snap {
            self.state.resolved_v1_at_entry = s.resolved_v1;
            self.state.resolved_v3_at_entry = s.resolved_v3;
        }
    }

    fn record(
        &mut self,
        at: Nanos,
        from: Stage,
        reason: Reason,
        snap: Option<&RolloutSnapshot>,
        out: &mut Vec<AuditEvent>,
    ) {
        let ev = AuditEvent {
            at,
            from,
            to: self.state.stage,
            reason,
            snapshot: snap.copied(),
        };
        self.audit.push(ev.clone());
        out.push(ev);
    }

    fn rollback(
        &mut self,
        now: Nanos,
        triggers: Vec<Trigger>,
        snap: Option<&RolloutSnapshot>,
        out: &mut Vec<AuditEvent>,
    ) {
        let from = self.state.stage;
        self.state.rolled_back_from = Some(from);
        self.enter(Stage::RolledBack, now, snap);
        self.state.cool_down_until = now.saturating_add(self.config.cool_down_ns);
        self.state.invalid_streak = 0;
        self.state
            .recent_rollbacks
            .retain(|&t| now.saturating_sub(t) < NANOS_PER_HOUR);
        self.state.recent_rollbacks.push(now);
        self.record(now, from, Reason::Rollback(triggers), snap, out);
        let limit = usize::try_from(self.config.max_rollbacks_per_hour).unwrap_or(usize::MAX);
        if self.state.recent_rollbacks.len() >= limit && !self.state.halted {
            self.state.halted = true;
            self.record(now, Stage::RolledBack, Reason::Halted, snap, out);
        }
    }

    /// Evaluates the rollout at `now` with the latest metrics; returns the transitions.
    ///
    /// At most one promotion happens per call. In a stage that serves v3, rollback
    /// triggers are checked first and win over promotion.
    pub fn on_snapshot(&mut self, now: Nanos, snap: &RolloutSnapshot) -> Vec<AuditEvent> {
        let mut out = Vec::new();
        let stage = self.state.stage;
        if stage.serves_v3() {
            let triggers = self.triggers(snap);
            if !triggers.is_empty() {
                self.rollback(now, triggers, Some(snap), &mut out);
                return out;
            }
        } else if !snap.health_is_valid() {
            self.state.invalid_streak = self.state.invalid_streak.saturating_add(1);
        } else {
            self.state.invalid_streak = 0;
        }
        match stage {
            Stage::RolledBack => {
                if !self.state.kill_switch
                    && !self.state.halted
                    && now >= self.state.cool_down_until
                {
                    self.enter(Stage::Shadow, now, Some(snap));
                    self.record(
                        now,
                        Stage::RolledBack,
                        Reason::CoolDownElapsed,
                        Some(snap),
                        &mut out,
                    );
                }
            }
            _ => {
                let gates = self.gates(now, snap);
                if let Some(next) = stage.next() {
                    if !gates.is_empty() && gates.iter().all(|g| g.passed) {
                        self.enter(next, now, Some(snap));
                        self.record(now, stage, Reason::Promoted, Some(snap), &mut out);
                    }
                }
            }
        }
        out
    }

    /// Engages the kill switch: rolls back at once from any stage (recorded even when
    /// already rolled back), and holds the rollout there until released.
    pub fn engage_kill_switch(&mut self, now: Nanos) -> Vec<AuditEvent> {
        let mut out = Vec::new();
        self.state.kill_switch = true;
        if self.state.stage == Stage::RolledBack {
            self.record(
                now,
                Stage::RolledBack,
                Reason::KillSwitchEngaged,
                None,
                &mut out,
            );
        } else {
            self.rollback(now, vec![Trigger::KillSwitch], None, &mut out);
        }
        out
    }

    /// Releases the kill switch; the ladder restarts once the cool-down has elapsed.
    pub fn release_kill_switch(&mut self, now: Nanos) -> Vec<AuditEvent> {
        let mut out = Vec::new();
        if self.state.kill_switch {
            self.state.kill_switch = false;
            self.record(
                now,
                self.state.stage,
                Reason::KillSwitchReleased,
                None,
                &mut out,
            );
        }
        out
    }

    /// Lifts a halt caused by the rollback limit (an operator's decision).
    pub fn resume(&mut self, now: Nanos) -> Vec<AuditEvent> {
        let mut out = Vec::new();
        if self.state.halted {
            self.state.halted = false;
            self.state.recent_rollbacks.clear();
            self.record(now, self.state.stage, Reason::Resumed, None, &mut out);
        }
        out
    }

    /// The state as checksummed bytes (see [`crate::persist`]).
    ///
    /// # Errors
    /// [`Error::Encode`] if the state cannot be encoded (it holds no float, so this is
    /// not expected).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::persist::encode(&self.state)
    }

    /// A rollout resumed from [`Rollout::to_bytes`] output.
    ///
    /// # Errors
    /// The [`crate::persist::decode`] errors, and [`Error::InvalidConfig`] as
    /// [`RolloutConfig::validate`].
    pub fn from_bytes(config: RolloutConfig, bytes: &[u8]) -> Result<Self> {
        Self::from_state(config, crate::persist::decode(bytes)?)
    }
}

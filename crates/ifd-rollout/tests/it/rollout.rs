use ifd_rollout::{
    AssignmentKey, Decision, Gate, Reason, Rollout, RolloutConfig, RolloutSnapshot,
    SequentialResult, Stage, StageGate, Trigger, Variant, NANOS_PER_HOUR, NANOS_PER_MINUTE, PPM,
};

const T0: u64 = 1_700_000_000_000_000_000;
const H: u64 = NANOS_PER_HOUR;

fn config() -> RolloutConfig {
    let gate = StageGate {
        min_time_ns: H,
        min_resolved: 10,
    };
    RolloutConfig {
        shadow_gate: gate,
        canary_gate: gate,
        limited_gate: gate,
        cool_down_ns: 30 * NANOS_PER_MINUTE,
        ..RolloutConfig::default()
    }
}

fn test_result(decision: Decision, ci: Option<(f64, f64)>) -> SequentialResult {
    SequentialResult {
        n_v1: 100,
        n_v3: 100,
        mean_v1: Some(0.7),
        mean_v3: Some(0.72),
        difference: Some(0.02),
        effect_size: Some(0.04),
        ci,
        p_value: 0.5,
        decision,
    }
}

/// A healthy snapshot with `n` resolved outcomes per arm.
fn good(n: u64) -> RolloutSnapshot {
    RolloutSnapshot {
        resolved_v1: n,
        resolved_v3: n,
        accuracy: Some(test_result(Decision::V3Better, Some((0.01, 0.07)))),
        pnl: Some(test_result(Decision::NoDifferenceYet, None)),
        latency_p99_ms: 35.0,
        uptime: 0.9995,
        error_rate: 0.001,
    }
}

/// A rollout promoted into `stage` at `T0 + k·H` with 10·k resolved per arm.
fn rollout_in(stage: Stage) -> (Rollout, u64, u64) {
    let mut r = Rollout::new(config(), T0).unwrap();
    let (mut now, mut n) = (T0, 0);
    while r.stage() != stage {
        now += H;
        n += 10;
        let ev = r.on_snapshot(now, &good(n));
        assert_eq!(ev.len(), 1, "{:?} did not promote", r.stage());
    }
    (r, now, n)
}

#[test]
fn the_ladder_advances_on_evidence_and_shares_follow() {
    let mut r = Rollout::new(config(), T0).unwrap();
    assert_eq!((r.stage(), r.v3_share_ppm()), (Stage::Shadow, 0));
    let mut stages = vec![];
    let (mut now, mut n) = (T0, 0);
    for _ in 0..4 {
        now += H;
        n += 10;
        for ev in r.on_snapshot(now, &good(n)) {
            assert_eq!(ev.reason, Reason::Promoted);
            assert_eq!(ev.snapshot, Some(good(n)), "the audit carries the metrics");
            stages.push((ev.from, ev.to, r.v3_share_ppm()));
        }
    }
    assert_eq!(
        stages,
        vec![
            (Stage::Shadow, Stage::Canary, 100_000),
            (Stage::Canary, Stage::Limited, 500_000),
            (Stage::Limited, Stage::Full, PPM),
        ]
    );
    assert!(
        r.gates(now, &good(n)).is_empty(),
        "Full has no promotion gate"
    );
    assert_eq!(r.audit().len(), 3);
}

#[test]
fn serving_follows_the_stage_share() {
    let share = |stage| {
        let (r, _, _) = rollout_in(stage);
        (0..10_000)
            .filter(|&id| r.serving_variant(&AssignmentKey::SignalId(id)) == Variant::V3)
            .count()
    };
    assert_eq!(share(Stage::Shadow), 0);
    assert!((850..1_150).contains(&share(Stage::Canary)));
    assert!((4_750..5_250).contains(&share(Stage::Limited)));
    assert_eq!(share(Stage::Full), 10_000);
}

/// Asserts that exactly `gate` fails and that no promotion happens.
fn blocked_by(gate: Gate, now: u64, snap: &RolloutSnapshot, cfg: RolloutConfig) {
    let (r, start, _) = rollout_in(Stage::Canary);
    let mut r = Rollout::from_state(cfg, r.state().clone()).unwrap();
    let now = start + now;
    let failed: Vec<Gate> = r
        .gates(now, snap)
        .iter()
        .filter(|g| !g.passed)
        .map(|g| g.gate)
        .collect();
    assert!(
        failed.contains(&gate),
        "{gate:?} should fail, failed: {failed:?}"
    );
    assert!(
        r.on_snapshot(now, snap)
            .iter()
            .all(|e| e.reason != Reason::Promoted),
        "{gate:?}"
    );
    assert_ne!(r.stage(), Stage::Limited);
}

#[test]
fn every_promotion_gate_blocks_on_its_own() {
    let c = config();
    // Canary entered with 10 resolved per arm; a full pass needs 20 and one hour.
    let ok = good(20);
    let (r, start, _) = rollout_in(Stage::Canary);
    assert!(
        r.gates(start + H, &ok).iter().all(|g| g.passed),
        "the reference passes"
    );

    blocked_by(Gate::TimeInStage, H - 1, &ok, c);
    blocked_by(
        Gate::ResolvedSamples,
        H,
        &RolloutSnapshot {
            resolved_v1: 19,
            ..ok
        },
        c,
    );
    blocked_by(
        Gate::ResolvedSamples,
        H,
        &RolloutSnapshot {
            resolved_v3: 19,
            ..ok
        },
        c,
    );
    blocked_by(
        Gate::NotWorse,
        H,
        &RolloutSnapshot {
            accuracy: None,
            ..ok
        },
        c,
    );
    let margin = RolloutConfig {
        non_inferiority_margin: Some(0.02),
        ..c
    };
    blocked_by(
        Gate::NotWorse,
        H,
        &RolloutSnapshot {
            accuracy: Some(test_result(Decision::V3Better, Some((-0.03, 0.07)))),
            ..ok
        },
        margin,
    );
    // Not shown worse is not enough: promotion needs a significant edge at the horizon.
    let undecided = RolloutSnapshot {
        accuracy: Some(test_result(Decision::NoDifferenceYet, Some((-0.03, 0.07)))),
        ..ok
    };
    blocked_by(Gate::SignificantEdge, H, &undecided, c);
    let (r, start, _) = rollout_in(Stage::Canary);
    let lenient = RolloutConfig {
        require_significant_edge: false,
        ..c
    };
    let r = Rollout::from_state(lenient, r.state().clone()).unwrap();
    assert!(
        r.gates(start + H, &undecided).iter().all(|g| g.passed),
        "without the requirement, not shown worse passes"
    );
    blocked_by(
        Gate::LatencyP99,
        H,
        &RolloutSnapshot {
            latency_p99_ms: 100.0,
            ..ok
        },
        c,
    );
    blocked_by(
        Gate::Uptime,
        H,
        &RolloutSnapshot {
            uptime: 0.998_99,
            ..ok
        },
        c,
    );
    blocked_by(
        Gate::ErrorRate,
        H,
        &RolloutSnapshot {
            error_rate: 0.01,
            ..ok
        },
        c,
    );
    blocked_by(
        Gate::MetricsValid,
        H,
        &RolloutSnapshot {
            uptime: f64::NAN,
            ..ok
        },
        c,
    );
    // The margin gate passes when the lower bound clears it.
    let (r, start, _) = rollout_in(Stage::Canary);
    let mut r = Rollout::from_state(
        RolloutConfig {
            non_inferiority_margin: Some(0.05),
            ..c
        },
        r.state().clone(),
    )
    .unwrap();
    r.on_snapshot(start + H, &ok);
    assert_eq!(r.stage(), Stage::Limited);
}

#[test]
fn shadow_blocks_but_never_rolls_back() {
    let mut r = Rollout::new(config(), T0).unwrap();
    let worse = RolloutSnapshot {
        accuracy: Some(test_result(Decision::V3Worse, None)),
        latency_p99_ms: 500.0,
        ..good(50)
    };
    assert!(r.on_snapshot(T0 + 5 * H, &worse).is_empty());
    assert_eq!(r.stage(), Stage::Shadow);
}

fn rollback_trigger(snap: RolloutSnapshot, trigger: Trigger) {
    for stage in [Stage::Canary, Stage::Limited, Stage::Full] {
        let (mut r, now, _) = rollout_in(stage);
        let ev = r.on_snapshot(now + 1, &snap);
        assert_eq!(r.stage(), Stage::RolledBack);
        assert_eq!(r.v3_share_ppm(), 0, "immediate");
        assert_eq!(ev[0].from, stage);
        assert_eq!(ev[0].reason, Reason::Rollback(vec![trigger]));
        assert_eq!(ev[0].snapshot, Some(snap));
        assert_eq!(r.state().cool_down_until, now + 1 + 30 * NANOS_PER_MINUTE);
    }
}

#[test]
fn each_rollback_trigger() {
    let ok = good(1_000);
    rollback_trigger(
        RolloutSnapshot {
            accuracy: Some(test_result(Decision::V3Worse, None)),
            ..ok
        },
        Trigger::V3WorseAccuracy,
    );
    rollback_trigger(
        RolloutSnapshot {
            pnl: Some(test_result(Decision::V3Worse, None)),
            ..ok
        },
        Trigger::V3WorsePnl,
    );
    rollback_trigger(
        RolloutSnapshot {
            latency_p99_ms: 100.0,
            ..ok
        },
        Trigger::Latency,
    );
    rollback_trigger(RolloutSnapshot { uptime: 0.99, ..ok }, Trigger::Uptime);
    rollback_trigger(
        RolloutSnapshot {
            error_rate: 0.2,
            ..ok
        },
        Trigger::ErrorRate,
    );
}

#[test]
fn invalid_metrics_hold_then_roll_back() {
    let (mut r, now, n) = rollout_in(Stage::Canary);
    let nan = RolloutSnapshot {
        latency_p99_ms: f64::NAN,
        ..good(n + 100)
    };
    // Two invalid snapshots hold (no promotion even with every other gate passing)...
    assert!(r.on_snapshot(now + 2 * H, &nan).is_empty());
    assert!(r.on_snapshot(now + 2 * H + 1, &nan).is_empty());
    assert_eq!(r.stage(), Stage::Canary);
    // ...a valid one resets the streak (and here promotes)...
    let ev = r.on_snapshot(now + 2 * H + 2, &good(n + 100));
    assert_eq!(ev[0].reason, Reason::Promoted);
    // ...and three in a row roll back.
    let nan = RolloutSnapshot {
        error_rate: f64::INFINITY,
        ..good(n + 200)
    };
    r.on_snapshot(now + 3 * H, &nan);
    r.on_snapshot(now + 3 * H + 1, &nan);
    let ev = r.on_snapshot(now + 3 * H + 2, &nan);
    assert_eq!(
        ev[0].reason,
        Reason::Rollback(vec![Trigger::InvalidMetrics])
    );
}

#[test]
fn several_triggers_are_all_recorded() {
    let (mut r, now, _) = rollout_in(Stage::Limited);
    let bad = RolloutSnapshot {
        latency_p99_ms: 250.0,
        error_rate: 0.5,
        ..good(0)
    };
    let ev = r.on_snapshot(now, &bad);
    assert_eq!(
        ev[0].reason,
        Reason::Rollback(vec![Trigger::Latency, Trigger::ErrorRate])
    );
}

#[test]
fn cool_down_then_the_ladder_restarts_from_shadow() {
    let (mut r, now, n) = rollout_in(Stage::Limited);
    r.on_snapshot(
        now,
        &RolloutSnapshot {
            uptime: 0.5,
            ..good(n)
        },
    );
    assert_eq!(r.stage(), Stage::RolledBack);
    let until = r.state().cool_down_until;
    assert!(r.on_snapshot(until - 1, &good(n)).is_empty());
    assert_eq!(r.stage(), Stage::RolledBack);
    let ev = r.on_snapshot(until, &good(n + 5));
    assert_eq!(
        (ev[0].from, ev[0].to, ev[0].reason.clone()),
        (Stage::RolledBack, Stage::Shadow, Reason::CoolDownElapsed)
    );
    // Samples count again from re-entry: 10 new ones are needed.
    let gates = r.gates(until + H, &good(n + 14));
    assert!(gates
        .iter()
        .any(|g| g.gate == Gate::ResolvedSamples && !g.passed));
    r.on_snapshot(until + H, &good(n + 15));
    assert_eq!(r.stage(), Stage::Canary);
}

#[test]
fn too_many_rollbacks_in_an_hour_halt_reentry_without_blocking_the_rollback() {
    let cfg = RolloutConfig {
        max_rollbacks_per_hour: 2,
        shadow_gate: StageGate {
            min_time_ns: 0,
            min_resolved: 0,
        },
        cool_down_ns: 5 * NANOS_PER_MINUTE,
        ..config()
    };
    let mut r = Rollout::new(cfg, T0).unwrap();
    let bad = RolloutSnapshot {
        latency_p99_ms: 300.0,
        ..good(0)
    };
    let mut now = T0;
    // Shadow -> Canary immediately (no shadow gate), then a breach.
    r.on_snapshot(now, &good(0));
    assert_eq!(r.stage(), Stage::Canary);
    r.on_snapshot(now + 1, &bad);
    assert_eq!(r.stage(), Stage::RolledBack);
    assert!(!r.is_halted());
    now += 5 * NANOS_PER_MINUTE + 1;
    r.on_snapshot(now, &good(0)); // cool-down over: Shadow
    r.on_snapshot(now + 1, &good(0)); // Canary
    assert_eq!(r.stage(), Stage::Canary);
    let ev = r.on_snapshot(now + 2, &bad);
    assert_eq!(r.stage(), Stage::RolledBack, "the second rollback happens");
    assert_eq!(ev.last().unwrap().reason, Reason::Halted);
    assert!(r.is_halted());
    // Halted: the cool-down passing does not restart the ladder.
    assert!(r.on_snapshot(now + 2 * H, &good(0)).is_empty());
    assert_eq!(r.stage(), Stage::RolledBack);
    assert_eq!(r.resume(now + 2 * H)[0].reason, Reason::Resumed);
    r.on_snapshot(now + 2 * H + 1, &good(0));
    assert_eq!(r.stage(), Stage::Shadow);
}

#[test]
fn rollbacks_older_than_an_hour_do_not_count() {
    let cfg = RolloutConfig {
        max_rollbacks_per_hour: 2,
        shadow_gate: StageGate {
            min_time_ns: 0,
            min_resolved: 0,
        },
        ..config()
    };
    let mut r = Rollout::new(cfg, T0).unwrap();
    let bad = RolloutSnapshot {
        error_rate: 0.9,
        ..good(0)
    };
    r.on_snapshot(T0, &good(0));
    r.on_snapshot(T0, &bad);
    let later = T0 + 2 * H;
    r.on_snapshot(later, &good(0));
    r.on_snapshot(later, &good(0));
    r.on_snapshot(later, &bad);
    assert_eq!(r.stage(), Stage::RolledBack);
    assert!(!r.is_halted());
}

#[test]
fn kill_switch_from_every_stage_is_immediate_idempotent_and_holds() {
    for stage in [Stage::Shadow, Stage::Canary, Stage::Limited, Stage::Full] {
        let (mut r, now, n) = rollout_in(stage);
        let ev = r.engage_kill_switch(now);
        assert_eq!((ev[0].from, ev[0].to), (stage, Stage::RolledBack));
        assert_eq!(ev[0].reason, Reason::Rollback(vec![Trigger::KillSwitch]));
        assert_eq!(r.v3_share_ppm(), 0);
        let again = r.engage_kill_switch(now + 1);
        assert_eq!(again[0].reason, Reason::KillSwitchEngaged);
        assert_eq!(r.stage(), Stage::RolledBack);
        // Held past the cool-down.
        assert!(r.on_snapshot(now + 10 * H, &good(n)).is_empty());
        assert_eq!(
            r.release_kill_switch(now + 10 * H)[0].reason,
            Reason::KillSwitchReleased
        );
        assert!(r.release_kill_switch(now + 10 * H).is_empty());
        r.on_snapshot(now + 10 * H, &good(n));
        assert_eq!(r.stage(), Stage::Shadow);
    }
}

#[test]
fn restart_from_persisted_state_resumes_mid_stage() {
    let (mut r, entered, n) = rollout_in(Stage::Canary);
    // Half an hour in, 5 more resolved: not yet.
    assert!(r.on_snapshot(entered + H / 2, &good(n + 5)).is_empty());
    let bytes = r.to_bytes().unwrap();
    drop(r);
    let mut back = Rollout::from_bytes(config(), &bytes).unwrap();
    assert_eq!(back.stage(), Stage::Canary);
    assert_eq!(back.state().entered_at, entered, "time in stage survives");
    // The sample baseline survives too: 9 in-stage samples are not enough.
    assert!(back.on_snapshot(entered + H, &good(n + 9)).is_empty());
    let ev = back.on_snapshot(entered + H, &good(n + 10));
    assert_eq!((ev[0].from, ev[0].to), (Stage::Canary, Stage::Limited));
}

#[test]
fn clock_going_backwards_never_promotes() {
    let (mut r, entered, n) = rollout_in(Stage::Canary);
    assert!(r.on_snapshot(entered - 10 * H, &good(n + 100)).is_empty());
    assert_eq!(r.stage(), Stage::Canary);
}

#[test]
fn bad_configs_are_refused() {
    let c = config();
    for bad in [
        RolloutConfig {
            canary_share_ppm: 0,
            ..c
        },
        RolloutConfig {
            canary_share_ppm: 600_000,
            ..c
        },
        RolloutConfig {
            limited_share_ppm: PPM,
            ..c
        },
        RolloutConfig {
            latency_p99_max_ms: f64::NAN,
            ..c
        },
        RolloutConfig {
            uptime_min: 1.5,
            ..c
        },
        RolloutConfig {
            error_rate_max: -0.1,
            ..c
        },
        RolloutConfig {
            non_inferiority_margin: Some(f64::INFINITY),
            ..c
        },
        RolloutConfig {
            max_rollbacks_per_hour: 0,
            ..c
        },
    ] {
        assert!(Rollout::new(bad, T0).is_err(), "{bad:?}");
    }
}

#[cfg(feature = "testing")]
mod props {
    use super::*;
    use ifd_rollout::testing::rollout_snapshot;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Promotion implies a valid, not-worse snapshot; v3 serves only in serving stages.
        #[test]
        fn nan_metrics_never_promote(
            steps in proptest::collection::vec((rollout_snapshot(0), 0_u64..2 * H, any::<bool>()), 1..60)
        ) {
            let mut r = Rollout::new(config(), T0).unwrap();
            let mut now = T0;
            let mut base = 0;
            for (mut snap, dt, kill) in steps {
                now += dt;
                base += 20;
                snap.resolved_v1 += base;
                snap.resolved_v3 += base;
                let events = if kill { r.engage_kill_switch(now) } else { r.on_snapshot(now, &snap) };
                if kill {
                    prop_assert_eq!(r.stage(), Stage::RolledBack);
                    r.release_kill_switch(now);
                }
                for ev in events {
                    if ev.reason == Reason::Promoted {
                        let s = ev.snapshot.unwrap();
                        prop_assert!(s.health_is_valid());
                        prop_assert!(s.latency_p99_ms < 100.0 && s.uptime >= 0.999 && s.error_rate < 0.01);
                        prop_assert!(s.accuracy.is_some_and(|a| a.decision == Decision::V3Better));
                        prop_assert!(s.pnl.is_none_or(|a| a.decision != Decision::V3Worse));
                    }
                }
                prop_assert_eq!(r.v3_share_ppm() > 0, r.stage().serves_v3());
                let restored = Rollout::from_bytes(config(), &r.to_bytes().unwrap()).unwrap();
                prop_assert_eq!(restored.state(), r.state());
            }
        }
    }
}

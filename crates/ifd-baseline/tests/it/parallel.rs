//! History sessions learned on several threads give the sequential baseline, byte for
//! byte, including when definitions come in files of their own.

use dbn::{rtype, RecordRef};
use ifd_baseline::{Baseline, BaselineBuilder, BuilderConfig, SessionsError};
use ifd_sim::{Preset, SimConfig, SimDay, Simulator};

/// A session: the records of one simulated day, or only its definitions, or only its
/// other records.
#[derive(Clone, Copy)]
enum Part {
    Whole,
    DefinitionsOnly,
    WithoutDefinitions,
}

fn keep(part: Part, rec: &RecordRef<'_>) -> bool {
    let is_def = rec.header().rtype == rtype::INSTRUMENT_DEF;
    match part {
        Part::Whole => true,
        Part::DefinitionsOnly => is_def,
        Part::WithoutDefinitions => !is_def,
    }
}

fn days(n: u32) -> Vec<SimDay> {
    let mut cfg = SimConfig::preset(Preset::Quiet, 11);
    cfg.history_days = n;
    let sim = Simulator::new(cfg);
    (0..n).map(|i| sim.history_day(i)).collect()
}

fn sequential(sessions: &[(&SimDay, Part)]) -> (Vec<u8>, ifd_baseline::BuilderStats) {
    let mut b = BaselineBuilder::new(BuilderConfig::default()).expect("config");
    for (day, part) in sessions {
        for rec in day.records().filter(|r| keep(*part, r)) {
            b.on_record(&rec).expect("fresh day");
        }
        b.end_session().expect("fresh day");
    }
    let stats = b.stats();
    (b.finish().expect("fresh day").to_bytes(), stats)
}

fn parallel(sessions: &[(&SimDay, Part)], threads: usize) -> (Vec<u8>, ifd_baseline::BuilderStats) {
    let mut b = BaselineBuilder::new(BuilderConfig::default()).expect("config");
    b.learn_sessions(sessions.len(), threads, |i, learner| {
        let (day, part) = sessions[i];
        for rec in day.records().filter(|r| keep(part, r)) {
            learner.on_record(&rec);
        }
        Ok::<(), std::convert::Infallible>(())
    })
    .expect("fresh days");
    let stats = b.stats();
    (b.finish().expect("fresh day").to_bytes(), stats)
}

#[test]
fn parallel_history_is_byte_identical_to_sequential() {
    let days = days(7);
    let sessions: Vec<(&SimDay, Part)> = days.iter().map(|d| (d, Part::Whole)).collect();
    let (seq, seq_stats) = sequential(&sessions);
    let b = Baseline::from_bytes(&seq).expect("valid");
    assert_eq!(b.days(), 7, "every day learned");
    assert!(b.series_count() > 100);
    for threads in [1, 2, 3, 8] {
        let (par, par_stats) = parallel(&sessions, threads);
        assert!(
            par == seq,
            "{threads} threads: the persisted baselines differ"
        );
        assert_eq!(par_stats, seq_stats, "{threads} threads");
    }
}

#[test]
fn definitions_in_files_of_their_own_carry_over_in_parallel_too() {
    let days = days(4);
    let sessions = [
        (&days[0], Part::Whole),
        (&days[1], Part::DefinitionsOnly),
        (&days[1], Part::WithoutDefinitions),
        (&days[2], Part::Whole),
        (&days[3], Part::DefinitionsOnly),
        (&days[3], Part::WithoutDefinitions),
    ];
    let (seq, seq_stats) = sequential(&sessions);
    // Days 1 and 3 are learned from the definitions of the file before them.
    assert_eq!(Baseline::from_bytes(&seq).expect("valid").days(), 4);
    for threads in [2, 3, 6] {
        let (par, par_stats) = parallel(&sessions, threads);
        assert!(
            par == seq,
            "{threads} threads: the persisted baselines differ"
        );
        assert_eq!(par_stats, seq_stats, "{threads} threads");
    }
    // Without the definitions file, a session learns nothing (no contracts).
    let (alone, _) = sequential(&[(&days[1], Part::WithoutDefinitions)]);
    assert_eq!(Baseline::from_bytes(&alone).expect("valid").days(), 0);
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable")]
struct Unreadable;

#[test]
fn a_failing_session_stops_after_the_sessions_before_it() {
    let days = days(5);
    let sessions: Vec<(&SimDay, Part)> = days.iter().map(|d| (d, Part::Whole)).collect();
    for (threads, fail_at) in [(1, 3), (2, 3), (4, 3), (2, 1), (3, 0)] {
        let mut b = BaselineBuilder::new(BuilderConfig::default()).expect("config");
        let r = b.learn_sessions(days.len(), threads, |i, learner| {
            if i == fail_at {
                return Err(Unreadable);
            }
            for rec in days[i].records() {
                learner.on_record(&rec);
            }
            Ok(())
        });
        assert!(
            matches!(r, Err(SessionsError::Source { index, .. }) if index == fail_at),
            "{threads} threads: {r:?}"
        );
        assert_eq!(b.sessions(), fail_at as u64);
        let got = b.finish().expect("fresh").to_bytes();
        assert!(
            got == sequential(&sessions[..fail_at]).0,
            "{threads} threads"
        );
    }
}

#[test]
fn baselines_of_separate_days_merge_into_the_full_build() {
    let days = days(6);
    let sessions: Vec<(&SimDay, Part)> = days.iter().map(|d| (d, Part::Whole)).collect();
    let (full, _) = sequential(&sessions);
    let mut merged = Baseline::from_bytes(&sequential(&sessions[..2]).0).expect("valid");
    for part in [&sessions[4..], &sessions[2..4]] {
        let b = Baseline::from_bytes(&sequential(part).0).expect("valid");
        merged.merge(&b).expect("new days");
    }
    assert!(merged.to_bytes() == full);
    let again = Baseline::from_bytes(&sequential(&sessions[1..2]).0).expect("valid");
    assert!(matches!(
        merged.merge(&again),
        Err(ifd_baseline::Error::DuplicateDay { .. })
    ));
}

//! A digest of everything the engine puts out over a few simulator sessions: the
//! signals, the pressure windows and every counter, printed as one hash per run and
//! one over all runs. Run it before and after a hot-path change: equal digests mean
//! the change kept the engine's behaviour byte for byte (issue 20, target 1).
//!
//! `cargo run --release -p ifd-benches --example engine_digest`
//!
//! Runs presets `normal` and `busy` with seeds 1 and 2, each with the engine's default
//! pressure (one 1-minute window per instrument) and with `PressureConfig::default()`
//! (three window specs over every grouping), so that the pressure tracker's multi-window
//! path is covered too.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use ifd_benches::for_each_record;
use ifd_engine::Engine;
use ifd_pressure::PressureConfig;
use ifd_sim::{to_dbn_bytes, Preset, SimConfig, Simulator};

/// Feeds `text` (a `Debug` rendering) into the hasher; `Debug` of `f64` is exact.
fn feed(h: &mut DefaultHasher, text: &str) {
    text.hash(h);
}

fn run(bytes: &[u8], full_pressure: bool) -> (u64, usize, usize) {
    let mut builder = Engine::builder();
    if full_pressure {
        builder = builder.pressure(Some(PressureConfig::default()));
    }
    let mut e = builder.build().expect("default config");
    let mut h = DefaultHasher::new();
    let mut signals = Vec::new();
    // Hashes and counts the signals raised and the windows closed so far.
    let drain =
        |e: &mut Engine, signals: &mut Vec<_>, h: &mut DefaultHasher, n: &mut (usize, usize)| {
            for s in signals.drain(..) {
                feed(h, &format!("{s:?}"));
                n.0 += 1;
            }
            for w in e.drain_pressure_windows() {
                feed(h, &format!("{w:?}"));
                n.1 += 1;
            }
        };
    let mut counts = (0usize, 0usize);
    for_each_record(bytes, |r| {
        let res = e.on_record(r, &mut signals);
        feed(&mut h, &format!("{res:?}"));
        drain(&mut e, &mut signals, &mut h, &mut counts);
    });
    e.on_session_end(&mut signals);
    drain(&mut e, &mut signals, &mut h, &mut counts);
    let (n_signals, windows) = counts;
    feed(&mut h, &format!("{:?}", e.stats()));
    feed(&mut h, &format!("{:?}", e.book_stats()));
    for (key, book) in e.books().iter() {
        feed(
            &mut h,
            &format!(
                "{key:?} {:?} {:?} {:?}",
                book.health(),
                book.health_stats(),
                book.stats()
            ),
        );
    }
    feed(&mut h, &format!("{:?}", e.aggressor_stats()));
    feed(&mut h, &format!("{:?}", e.pattern_stats()));
    feed(&mut h, &format!("{:?}", e.v1_stats()));
    feed(&mut h, &format!("{:?}", e.market().stats()));
    feed(
        &mut h,
        &format!("{:?}", e.market().underlying_resolver().stats()),
    );
    feed(
        &mut h,
        &format!("{:?}", e.market().pressure().map(|p| p.stats())),
    );
    (h.finish(), n_signals, windows)
}

fn main() {
    let mut all = DefaultHasher::new();
    for (name, preset) in [("normal", Preset::Normal), ("busy", Preset::Busy)] {
        for seed in [1u64, 2] {
            let day = Simulator::new(SimConfig::preset(preset, seed)).flow_day();
            let bytes = to_dbn_bytes(&day, false).expect("the simulator encodes its own day");
            for full in [false, true] {
                let (digest, signals, windows) = run(&bytes, full);
                println!(
                    "{name:<6} seed {seed} pressure {:<8} signals {signals:>5} windows {windows:>7} digest {digest:016x}",
                    if full { "default" } else { "engine" }
                );
                digest.hash(&mut all);
            }
        }
    }
    println!("all {:016x}", all.finish());
}

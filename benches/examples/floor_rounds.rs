//! The variants of `benches/benches/book_floor.rs` (and `MarketState` and the whole
//! `ifd_engine::Engine`), run in interleaved rounds over the same Large simulator day
//! in memory, so that the ratios to the decode are taken within each round and a slow
//! stretch of a shared VM hits every variant alike. Prints, per variant, the fastest
//! and the median pass and the median of the per-round ratios to decode. Criterion
//! remains the reference for absolute figures; this is the cross-check of the ratios.
//!
//! `cargo run --release -p ifd-benches --example floor_rounds -- [ROUNDS [VARIANT...]]`
//! (default 7 rounds of every variant; named variants run beside the decode alone).
//!
//! With `FLOOR_CLOCK=cpu` in the environment each pass is timed by the CPU time of the
//! measuring thread (`/proc/thread-self/schedstat`, nanoseconds on CPU) instead of the
//! wall clock: on a shared machine whose load exceeds its cores, the wall clock counts
//! the time the thread waited for a core, and the CPU time does not (cache sharing with
//! the other processes still shows).

use std::hint::black_box;
use std::time::Instant;

use ifd_benches::floor::{floors, run_floor, run_ifd_book, Floor, NaiveBook};
use ifd_benches::{decode_only, for_each_record, sim_day_dbn};
use ifd_pressure::{MarketConfig, MarketState};
use ifd_sim::Preset;

fn decode(bytes: &[u8]) -> usize {
    decode_only(bytes).0 as usize
}

fn market(bytes: &[u8]) -> usize {
    let mut m = MarketState::new(MarketConfig::default()).expect("valid config");
    let mut windows = 0;
    for_each_record(bytes, |r| {
        if m.on_record(r).is_ok() {
            black_box(m.events().len());
        }
        windows += m.drain_windows().len();
    });
    m.end_session();
    windows += m.drain_windows().len();
    windows
}

fn engine(bytes: &[u8]) -> usize {
    let mut e = ifd_engine::Engine::builder()
        .build()
        .expect("default config");
    let mut signals = Vec::new();
    let mut windows = 0;
    // Windows are drained as they close, as `market` above and `replay` do (kept, a
    // Large day's 1-minute windows grow a vector of about 40 MB).
    for_each_record(bytes, |r| {
        let _ = e.on_record(r, &mut signals);
        windows += e.drain_pressure_windows().len();
    });
    e.on_session_end(&mut signals);
    windows += e.drain_pressure_windows().len();
    signals.len() + windows
}

/// Nanoseconds the calling thread has spent on a CPU (Linux schedstat), if readable.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Seconds of the chosen clock since an arbitrary origin.
fn now_secs(cpu: bool, origin: Instant) -> f64 {
    if cpu {
        #[allow(clippy::cast_precision_loss, reason = "nanoseconds of a benchmark run")]
        thread_cpu_ns().map_or(f64::NAN, |ns| ns as f64 * 1e-9)
    } else {
        origin.elapsed().as_secs_f64()
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(7)
        .max(1);
    // Further arguments keep only the variants they name (decode always runs).
    let only: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let cpu = std::env::var("FLOOR_CLOCK").is_ok_and(|v| v == "cpu");
    if cpu && thread_cpu_ns().is_none() {
        eprintln!("FLOOR_CLOCK=cpu: /proc/thread-self/schedstat is not readable here");
        std::process::exit(2);
    }
    // The example is the IO edge of this measurement: it reads the clock.
    #[allow(clippy::disallowed_methods)]
    let origin = Instant::now();
    let (bytes, records) = sim_day_dbn(Preset::Large);
    println!(
        "fixture: Large simulator day, {records} records, {} bytes; clock: {}",
        bytes.len(),
        if cpu { "thread CPU time" } else { "wall" }
    );
    let mut variants: Vec<Floor> = vec![("decode", decode)];
    variants.extend(floors());
    variants.extend::<[Floor; 4]>([
        ("ifd_book", run_ifd_book),
        ("market_state_default", market),
        ("engine", engine),
        ("naive_book", run_floor::<NaiveBook>),
    ]);
    let mut times = vec![Vec::with_capacity(rounds); variants.len()];
    // One warm-up pass of each, then the rounds.
    for round in 0..=rounds {
        for (i, (name, run)) in variants.iter().enumerate() {
            if i > 0 && !only.is_empty() && !only.contains(name) {
                continue;
            }
            let start = now_secs(cpu, origin);
            black_box(run(black_box(&bytes)));
            let secs = now_secs(cpu, origin) - start;
            if round > 0 {
                times[i].push(secs);
            }
        }
    }
    println!(
        "{:<22} {:>10} {:>10} {:>16}",
        "variant", "min ms", "median ms", "median ratio"
    );
    for (i, (name, _)) in variants.iter().enumerate() {
        if times[i].is_empty() {
            continue;
        }
        let mut ratios: Vec<f64> = times[i].iter().zip(&times[0]).map(|(t, d)| t / d).collect();
        let min = times[i].iter().copied().fold(f64::INFINITY, f64::min);
        let med = median(&mut times[i].clone());
        println!(
            "{name:<22} {:>10.1} {:>10.1} {:>15.2}x",
            min * 1e3,
            med * 1e3,
            median(&mut ratios)
        );
    }
}

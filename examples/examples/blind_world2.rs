//! A second blind NQ.OPT world: an independently written generator of Databento-shaped
//! `NQ.OPT` days with planted institutional flow, to measure ifd's detectors out of sample.
//!
//! ```text
//! blind_world2 generate --scenario normal|quiet|busy|noflow --seed N --out DIR [--history-days 20]
//! ```
//!
//! writes `DIR/history/YYYYMMDD.dbn.zst` (the trading days before the session),
//! `DIR/session.dbn.zst`, `DIR/truth.jsonl` (one line per planted flow, the format that
//! `blind_world score` reads) and `DIR/noise.jsonl` (the large non-institutional prints of
//! the session). Output depends only on (scenario, seed, history days).
//!
//! # How it was written
//!
//! Blind: without reading ifd's simulator (`ifd-sim`), its detectors (`ifd-patterns`),
//! `detection_quality` or the first blind generator (`blind_world`). It uses only `dbn`,
//! `clap`, `serde_json`, `chrono`, `anyhow` and std, and a SplitMix64 generator of its own.
//! The record layout was copied from what real GLBX.MDP3 MBO files show (the ES files in
//! the shared Databento samples, read with a throwaway byte reader), the rest are my own
//! guesses about the NQ options market, listed below so that a reader can disagree.
//!
//! # What a file holds (as a parent `NQ.OPT` subscription of GLBX.MDP3 would deliver)
//!
//! Options only: no future records. Metadata: dataset `GLBX.MDP3`, mixed schema, `stype_in`
//! parent, symbols `["NQ.OPT"]`, start 00:00 UTC of the day, end 24:00. Records in this order:
//! instrument definitions (ts_recv = file start), one `OpenInterest` statistic per
//! instrument, then MBO. Most days begin with a book snapshot (per instrument: a Clear `R`
//! with flags `SNAPSHOT|BAD_TS_RECV`, then the resting orders as Adds with the same flags,
//! the instrument's last one also `LAST`; ts_recv = file start, ts_event = the order's own
//! time, sequence = the order's own); about a quarter of the history days start without
//! one, as a stream joined mid-session: orders resting before it are unknown to the reader
//! and their later Cancels, Modifies and Fills refer to ids never seen.
//!
//! Event layout, as the real ES files show it:
//! - Add / Cancel / Modify: one record, flags `LAST|PUBLISHER_SPECIFIC` (130). A market
//!   maker pulling several orders at once sends one packet: flags 0, the last 130.
//! - A trade: first a packet (one sequence, one ts_recv, flags 0) with, per price level, a
//!   `T` (the aggressor's order id, side = aggressor side, size = the level's volume) and one
//!   `F` per resting order filled (its id, its side); then a second packet (next sequence,
//!   a few microseconds later) that changes the book: `C` of each fully filled resting order
//!   (size = what was left), `M` of a partly filled one (the new size), an `A` of the
//!   aggressor's remainder when it rests, the last record flagged 130. An aggressor whose
//!   remainder does not rest (IOC) is never added.
//! - Modify of price or size up: the order goes to the back of the level.
//! - ts_recv is strictly the stream order (never decreases), ts_event = ts_recv − 80..600 µs
//!   (ts_in_delta 10–18 µs), sequence one global counter that never decreases outside
//!   the snapshot (it skips values, as a parent subscription sees only part of a channel).
//!
//! # The chain (guesses)
//!
//! Session day Tuesday 2026-09-15, the week of the September quarterly expiry; history
//! = the trading days before it (Labor Day 2026-09-07 skipped). Listed each day: the next
//! three Monday–Thursday dailies (`Q{week}{A..D}{month}{year}`, e.g. `Q3BU6` = third
//! Tuesday of September, expiring that day: 0DTE), the next two Friday weeklies
//! (`QN{week}`), the next two third-Friday contracts (`NQ`, quarterly in Mar/Jun/Sep/Dec,
//! serial otherwise) and the next quarterly. Raw symbols `"Q3BU6 C24150"`, `"NQZ6 P22000"`,
//! asset = the product code. Quarterlies expire 13:30 UTC (morning settlement), everything
//! else 20:00 UTC (15:00 Central, summer). Options expiring on or before 2026-09-18
//! reference `NQU6`, later ones `NQZ6` (then `NQH7`): two underlyings in one file, the
//! December future trading ~0.95 % above September (carry). Strikes: dailies 50 points
//! apart (±4 around the money), weeklies 100 (±3), monthlies and quarterlies 250 (±3),
//! plus deep wings (puts −4 % to −20 %, calls +3 % to +8 %), a call and a put at every
//! strike: 150–180 instruments a day. Definitions: `min_price_increment` UNDEF (as in every
//! real CME option sample), `unit_of_measure_qty` 20 (IPNT), contract_multiplier null,
//! cfi `OCAFPS`/`OPAFPS` for monthlies and quarterlies (American), `OCEFPS`/`OPEFPS` for
//! weeklies and dailies (European, like the real `EW2F6 C7000`). Instrument ids stay the
//! same across days.
//!
//! Tick rule (guess, not found in the research notes): 0.05 index points below a premium
//! of 5.00, 0.25 from 5.00 up; nothing trades below 0.05.
//!
//! Fair values: Black-76 (r = 4 %) on the listed future, with my smile: ATM vol 19 % plus
//! a short-dated bump (+5 points decaying over ~3 days); in standardised moneyness
//! x = ln(K/F)/(σ√T) the vol is σ·(1 − 0.12x + 0.025x²), clamped to [0.6σ, 3σ] (steep put
//! skew, a mild call wing). The future follows a random walk with the day's U-shaped
//! activity (19 % a year in RTH, far less overnight) and two to four fast moves a day
//! (0.3–0.6 % in 20–60 s).
//!
//! # Background (guesses)
//!
//! Activity by UTC time: overnight 0.1, Europe 0.2, the RTH open 13:30 2.2, then 1.2, a
//! lunch dip 0.7, 1.0, the close 19:15–20:00 1.8, 20:00–21:00 0.25, halt 21:00–22:00,
//! then 0.08.
//! - Four market makers, each with a style: `stacker` (three levels one tick apart, two
//!   orders per level, cancel-and-replace, 0.3 s lag), `big` (two levels two ticks apart,
//!   20–50 lots, wide, moves its orders with Modify, 2 s lag), `fast` (one small order at
//!   the touch, 20 ms lag, modifies, pulls its near-the-money quotes for 1.5–4 s when the
//!   future moves more than 0.1 % in 5 s), `inventory` (two levels, stops quoting the side
//!   that would grow its position beyond 150 lots). Quote size grows away from the money
//!   (up to ~9x on the wings, 3x more below one point). Makers never cross the book (post
//!   only: they step one tick back from the other side). After a fill each refills after
//!   its own delay (20 ms – 20 s).
//! - Retail: Pareto sizes (α 1.35, mostly 1–3 lots, now and then 50–400), 58 % buyers,
//!   favouring 0–2 DTE and 5–60-delta strikes; 65 % marketable limits up to two ticks
//!   through (partial fills rest, then cancel after ~90 s), 35 % passive limits.
//! - Non-institutional prints (all in `noise.jsonl`): packages printed leg by leg 0.2–5 ms
//!   apart (verticals, calendars, straddles, strangles, synthetics, risk reversals, 1:2:1
//!   butterflies, 1x2 and 1x3 ratios, 1:1:1:1 condors, 3-leg collars); half of them take
//!   the outright books (through levels when large), half print at a price inside the
//!   spread against a resting order id the outright book never showed (my guess of how
//!   spread-book leg fills look) with no book change; lottery tickets (200–3000 lots at a
//!   few ticks on a wing below 3 delta); dealer crosses (one maker posts 50–500 lots inside
//!   the spread, another takes it all 1–10 ms later, both requote); maker hedges (after a
//!   print of 100+ lots, 40 % of the time a maker takes 10–60 lots on a neighbouring
//!   strike 0.5–4 s later); retail prints of 50+ lots.
//! - Volume: a normal day has ~4,400 retail orders, ~40 noise events and ~250k MBO
//!   records (makers' requotes are most of them; trades are ~1 % of records).
//! - Scenarios. The history days always have the normal background (each day scaled by
//!   0.75–1.25) and 0–3 unrecorded institutional flows each. Session: `normal` as history;
//!   `quiet` background and noise ×0.4; `busy` background, makers' activity and noise ×3
//!   on the session only (a busy day after normal ones, as on a macro day); `noflow`
//!   normal background, 2.5x the noise with larger sizes, and no planted flow.
//!
//! # Planted institutional flow (guesses; session day, 13:40–19:30 UTC)
//!
//! NQ options are expensive per contract (an at-the-money monthly ~600 points = $12,000),
//! so I assumed institutions size by premium, not lots: a flow's planned size is a premium
//! budget (lognormal) divided by the price, clamped to the issue's ranges. Blocks $200k–$3M
//! (25–1500 lots), sweeps ~$250k (20–500), cross-strike ~$120k a leg (10–300, 3–5 strikes
//! of one expiry and kind within ms), icebergs ~$500k (50–1000 lots, 1–20 shown), slow
//! accumulations ~$400k (60–800 lots in clips of 1–15 over 15–90 min, with pauses).
//! Instruments: 5–60 delta, weeklies to quarterlies mostly, some 0–2 DTE. Blocks come in
//! three shapes: a limit taking one or two levels when they hold the size (a remainder
//! would rest a few seconds), otherwise an RFQ-style block (a maker posts the size at or inside the touch and the institution
//! takes all of it 2–40 ms later: on the tape it looks like a dealer cross); an IOC through
//! two levels. Icebergs: half replenish natively (the same order id re-added right after
//! its `C`, in the same packet), half by a new order 30–400 ms after each fill; the other
//! side hitting them is ordinary sellers/buyers every ~20 s. Truth = what actually traded
//! (ts_start/ts_end = first/last print's ts_recv).
//!
//! # Results on the test seeds (2026-12-07)
//!
//! Generator as committed in `0b9e1ea` (final before any test seed was run); detectors and
//! `replay` of `main` at `6585964`. Seeds 1–3 of each scenario, 20 history days,
//! `replay --threads 2 --history DIR/history`, scored with `blind_world score`. Precision =
//! right / directional first-revision signals, summed over the three seeds.
//!
//! ```text
//! scenario  v3 precision        v3 recall: block sweep cross iceberg accum   v1
//! normal    0.46 (32/69)        4/8   6/8   5/5   5/5   1/4                  0 signals
//! quiet     0.65 (28/43)        2/5   4/5   4/4   4/5   1/4                  0 signals
//! busy      0.15 (21/140)       2/7   4/7   4/4   3/5   2/6                  1 (false)
//! noflow    29, 44, 36 directional signals on the three no-flow days         1, 1, 0
//! ```
//!
//! False v3 signals by cause (all scenarios): dealer crosses 114, packages 99, lottery
//! tickets 25, retail 17, background 17, opposite-direction prints on a planted iceberg or
//! accumulation 8.
//! - Packages: 50 of the 372 session packages raised directional block/sweep signals, and
//!   45 of those 50 are "outright" packages whose legs filled unequally (IOC legs through a
//!   thin book: e.g. a condor 90/107/88/131, a vertical 52/139); of the 49 packages with a
//!   broken ratio 45 were flagged, of the 323 that kept their ratio 5. Spread-book legs
//!   (never-seen resting ids) were almost never flagged.
//! - Dealer crosses: 114 of 215 flagged, all 150–528 lots; the unflagged ones are
//!   54–334 (median 99). Only 14 of the 215 were posted strictly inside the spread: with
//!   four makers the spread is mostly one tick, so the maker joins the touch and the taker
//!   takes the whole level (2–5 resting orders) — a print that looks like a block.
//! - Lottery tickets: 200–1,100 lots on far wings flagged as sweeps (24) or a block (1),
//!   $6k–$97k premium.
//! - On planted flows' own instruments: makers refilling their bids after an accumulation
//!   sold puts into them were read as a bearish iceberg; buyers lifting a planted call
//!   iceberg were read as a bullish accumulation.
//! - `busy` is a busy session after 20 normal history days (my guess of a macro day): the
//!   baseline does not normalise it, and background, packages and crosses are 3x.
//!
//! Missed flows (v3): 12 of 20 blocks, 25–132 lots ($59k–$1.44M, half of them over
//! $0.5M on NQZ6/NQV6/QN1V6, where one contract costs $6k–$22k), in one or two levels;
//! 6 of 20 sweeps, all through exactly two levels (27–30 lots worth $0.5–0.65M, or
//! 109–500 lots); 10 of 14 accumulations (58–237 lots in 1–15-lot clips over 7–78
//! minutes); 3 of 15 icebergs (new-id refills, 52–57 lots). Cross-strike: 13/13 found.
#![allow(missing_docs, clippy::too_many_arguments)]

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::raw::c_char;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use clap::{Parser, Subcommand, ValueEnum};
use dbn::encode::{DbnEncoder, EncodeRecord};
use dbn::record::str_to_c_chars;
use dbn::{
    rtype, Action, FlagSet, InstrumentDefMsg, MboMsg, Metadata, RecordHeader, SType, Side, StatMsg,
    StatType, UNDEF_PRICE,
};
use serde_json::json;

const PX: i64 = 1_000_000_000;
const NS: u64 = 1_000_000_000;
const DAY_NS: u64 = 86_400 * NS;
const YEAR_NS: f64 = 365.25 * 86_400.0 * 1e9;
const MULT: f64 = 20.0;
const RATE: f64 = 0.04;
const F_LAST: u8 = 0x80;
const F_PUB: u8 = 0x02;
const F_SNAP: u8 = 0x20;
const F_BADTS: u8 = 0x08;

// ---------------------------------------------------------------------------------------------
// Command line

#[derive(Parser, Debug)]
#[command(about = "A second blind NQ.OPT world generator (see the file's documentation)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Write a world: history days, the session, truth.jsonl and noise.jsonl.
    Generate {
        #[arg(long, value_enum)]
        scenario: Scenario,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 20)]
        history_days: usize,
    },
}

/// The four session scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Normal,
    Quiet,
    Busy,
    Noflow,
}

impl Scenario {
    #[cfg(test)]
    fn name(self) -> &'static str {
        match self {
            Scenario::Normal => "normal",
            Scenario::Quiet => "quiet",
            Scenario::Busy => "busy",
            Scenario::Noflow => "noflow",
        }
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Generate {
            scenario,
            seed,
            out,
            history_days,
        } => {
            let s = generate_world(scenario, seed, &out, history_days)?;
            println!("{s}");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Random numbers (SplitMix64)

#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut r = Rng(seed ^ 0x5EED_B11D_2026_0915);
        r.next_u64();
        r
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.f()
    }
    /// Uniform integer in [a, b].
    fn int(&mut self, a: u64, b: u64) -> u64 {
        if b <= a {
            return a;
        }
        a + self.next_u64() % (b - a + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.f().max(1e-300);
        let u2 = self.f();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f()).ln()
    }
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
    fn poisson(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 50.0 {
            return (mean + mean.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let l = (-mean).exp();
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= self.f();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next_u64() % xs.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Black-76

fn norm_cdf(x: f64) -> f64 {
    // Abramowitz–Stegun 7.1.26 on erf, |error| < 1.5e-7.
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-z * z).exp();
    let erf = if z >= 0.0 { y } else { -y };
    0.5 * (1.0 + erf)
}

/// Black-76 price and delta of a call or put on a future.
fn black76(f: f64, k: f64, t: f64, vol: f64, call: bool) -> (f64, f64) {
    let t = t.max(1e-7);
    let df = (-RATE * t).exp();
    let sd = (vol * t.sqrt()).max(1e-9);
    let d1 = ((f / k).ln() + 0.5 * sd * sd) / sd;
    let d2 = d1 - sd;
    if call {
        (
            df * (f * norm_cdf(d1) - k * norm_cdf(d2)),
            df * norm_cdf(d1),
        )
    } else {
        (
            df * (k * norm_cdf(-d2) - f * norm_cdf(-d1)),
            -df * norm_cdf(-d1),
        )
    }
}

/// My smile: ATM level with a short-dated bump, put skew, mild call wing.
fn smile_vol(f: f64, k: f64, t: f64) -> f64 {
    let days = t * 365.25;
    let atm = 0.19 + 0.05 * (-days / 3.0).exp();
    let x = (k / f).ln() / (atm * t.max(1e-6).sqrt());
    (atm * (1.0 - 0.12 * x + 0.025 * x * x)).clamp(0.6 * atm, 3.0 * atm)
}

/// Tick size at a price (1e-9 units): 0.05 below 5.00, 0.25 from 5.00.
fn tick_at(px: i64) -> i64 {
    if px < 5 * PX {
        PX / 20
    } else {
        PX / 4
    }
}

const MIN_PX: i64 = PX / 20;

fn floor_tick(p: f64) -> i64 {
    let raw = (p * PX as f64).floor() as i64;
    let t = tick_at(raw);
    (raw.div_euclid(t)) * t
}

fn ceil_tick(p: f64) -> i64 {
    let raw = (p * PX as f64).ceil() as i64;
    let t = tick_at(raw);
    let q = raw.div_euclid(t) * t;
    let v = if q < raw { q + t } else { q };
    v.max(MIN_PX)
}

/// The next valid price above `px`.
fn up_tick(px: i64) -> i64 {
    px + tick_at(px)
}

/// The next valid price below `px` (may go below the minimum).
fn down_tick(px: i64) -> i64 {
    px - tick_at(px - 1)
}

// ---------------------------------------------------------------------------------------------
// Calendar and chain

fn is_holiday(d: NaiveDate) -> bool {
    matches!(
        (d.year(), d.month(), d.day()),
        (2026, 9, 7) | (2026, 11, 26) | (2026, 12, 25) | (2027, 1, 1) | (2026, 7, 3)
    )
}

fn is_trading_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !is_holiday(d)
}

fn session_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, 15).expect("valid date")
}

fn history_dates(session: NaiveDate, n: usize) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = session;
    while out.len() < n {
        d -= Duration::days(1);
        if is_trading_day(d) {
            out.push(d);
        }
    }
    out.reverse();
    out
}

fn day_start_ns(d: NaiveDate) -> u64 {
    let dt = d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    dt.timestamp_nanos_opt().unwrap_or(0) as u64
}

const MONTH_CODES: [char; 12] = ['F', 'G', 'H', 'J', 'K', 'M', 'N', 'Q', 'U', 'V', 'X', 'Z'];

fn month_code(d: NaiveDate) -> String {
    format!("{}{}", MONTH_CODES[d.month0() as usize], d.year() % 10)
}

fn is_dst(d: NaiveDate) -> bool {
    // US daylight time 2026: Mar 8 .. Nov 1; 2027: Mar 14 .. Nov 7 (close enough for the chain).
    let (a, b) = match d.year() {
        2027 => ((3, 14), (11, 7)),
        _ => ((3, 8), (11, 1)),
    };
    let md = (d.month(), d.day());
    md >= a && md < b
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExpKind {
    Daily,
    Weekly,
    Serial,
    Quarterly,
}

#[derive(Clone, Debug)]
struct Expiry {
    code: String,
    asset: String,
    ts: u64,
    kind: ExpKind,
    under: usize,
}

/// Quarterly futures: (code, expiry date).
fn futures() -> Vec<(&'static str, NaiveDate, u32)> {
    vec![
        (
            "NQU6",
            NaiveDate::from_ymd_opt(2026, 9, 18).expect("d"),
            42_005_804,
        ),
        (
            "NQZ6",
            NaiveDate::from_ymd_opt(2026, 12, 18).expect("d"),
            42_009_846,
        ),
        (
            "NQH7",
            NaiveDate::from_ymd_opt(2027, 3, 19).expect("d"),
            42_013_377,
        ),
    ]
}

fn under_for(d: NaiveDate) -> usize {
    futures().iter().position(|f| d <= f.1).unwrap_or(2)
}

fn expiries_for(day: NaiveDate) -> Vec<Expiry> {
    let mut dailies = Vec::new();
    let mut weeklies = Vec::new();
    let mut thirds = Vec::new();
    let mut quarterly = None;
    for i in 0..200 {
        let e = day + Duration::days(i);
        if !is_trading_day(e) {
            continue;
        }
        let week = (e.day() - 1) / 7 + 1;
        let mc = month_code(e);
        let pm = if is_dst(e) { 20 } else { 21 };
        let pm_ts = day_start_ns(e) + pm * 3600 * NS;
        match e.weekday() {
            Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu if dailies.len() < 3 => {
                let letter = match e.weekday() {
                    Weekday::Mon => 'A',
                    Weekday::Tue => 'B',
                    Weekday::Wed => 'C',
                    _ => 'D',
                };
                let asset = format!("Q{week}{letter}");
                dailies.push(Expiry {
                    code: format!("{asset}{mc}"),
                    asset,
                    ts: pm_ts,
                    kind: ExpKind::Daily,
                    under: under_for(e),
                });
            }
            Weekday::Fri => {
                if week == 3 {
                    let q = matches!(e.month(), 3 | 6 | 9 | 12);
                    let am = if is_dst(e) { 13 } else { 14 };
                    let ex = Expiry {
                        code: format!("NQ{mc}"),
                        asset: "NQ".into(),
                        ts: if q {
                            day_start_ns(e) + am * 3600 * NS + 30 * 60 * NS
                        } else {
                            pm_ts
                        },
                        kind: if q {
                            ExpKind::Quarterly
                        } else {
                            ExpKind::Serial
                        },
                        under: under_for(e),
                    };
                    if thirds.len() < 2 {
                        thirds.push(ex.clone());
                    } else if q && quarterly.is_none() {
                        quarterly = Some(ex);
                    }
                } else if weeklies.len() < 2 {
                    let asset = format!("QN{week}");
                    weeklies.push(Expiry {
                        code: format!("{asset}{mc}"),
                        asset,
                        ts: pm_ts,
                        kind: ExpKind::Weekly,
                        under: under_for(e),
                    });
                }
            }
            _ => {}
        }
        if dailies.len() >= 3 && weeklies.len() >= 2 && thirds.len() >= 2 && quarterly.is_some() {
            break;
        }
    }
    let mut all = dailies;
    all.extend(weeklies);
    all.extend(thirds);
    all.extend(quarterly);
    // A contract expiring before the day's open is not listed (the quarterly's morning expiry).
    let start = day_start_ns(day);
    all.retain(|e| e.ts > start + 3600 * NS);
    all.sort_by_key(|e| e.ts);
    all
}

#[derive(Clone, Debug)]
struct Inst {
    id: u32,
    sym: String,
    asset: String,
    call: bool,
    strike: f64,
    exp: u64,
    exp_kind: ExpKind,
    exp_idx: usize,
    under: usize,
    channel: u8,
}

/// Stable instrument ids across days.
struct IdBook {
    ids: BTreeMap<String, u32>,
    next: u32,
    rng: Rng,
}

impl IdBook {
    fn id(&mut self, sym: &str) -> u32 {
        if let Some(&i) = self.ids.get(sym) {
            return i;
        }
        let gap = self.rng.int(1, 40) as u32;
        self.next += gap;
        self.ids.insert(sym.to_string(), self.next);
        self.next
    }
}

fn strikes_for(kind: ExpKind, f: f64) -> Vec<f64> {
    let (step, n, wings): (f64, i32, &[f64]) = match kind {
        ExpKind::Daily => (50.0, 4, &[-0.06, -0.04, 0.03, 0.045]),
        ExpKind::Weekly => (100.0, 3, &[-0.08, -0.05, 0.05]),
        ExpKind::Serial | ExpKind::Quarterly => (250.0, 3, &[-0.2, -0.12, 0.08]),
    };
    let atm = (f / step).round() * step;
    let mut v: Vec<f64> = (-n..=n).map(|i| atm + step * i as f64).collect();
    for w in wings {
        let s = (f * (1.0 + w) / 100.0).round() * 100.0;
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
    v
}

fn build_chain(day: NaiveDate, f_front: f64, basis: &[f64; 3], ids: &mut IdBook) -> Vec<Inst> {
    let mut out = Vec::new();
    for (ei, e) in expiries_for(day).iter().enumerate() {
        let f = f_front * basis[e.under];
        for k in strikes_for(e.kind, f) {
            for call in [true, false] {
                let sym = format!("{} {}{}", e.code, if call { 'C' } else { 'P' }, k as i64);
                out.push(Inst {
                    id: ids.id(&sym),
                    sym,
                    asset: e.asset.clone(),
                    call,
                    strike: k,
                    exp: e.ts,
                    exp_kind: e.kind,
                    exp_idx: ei,
                    under: e.under,
                    channel: match e.kind {
                        ExpKind::Daily => 12,
                        ExpKind::Weekly => 11,
                        _ => 10,
                    },
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Activity profile

/// Relative activity at `sec` seconds after 00:00 UTC (0 during the halt).
fn activity(sec: u64) -> f64 {
    let h = sec as f64 / 3600.0;
    match h {
        h if h < 7.0 => 0.1,
        h if h < 13.5 => 0.2,
        h if h < 14.0 => 2.2,
        h if h < 16.5 => 1.2,
        h if h < 18.0 => 0.7,
        h if h < 19.25 => 1.0,
        h if h < 20.0 => 1.8,
        h if h < 21.0 => 0.25,
        h if h < 22.0 => 0.0,
        _ => 0.08,
    }
}

/// The profile's highest value.
const PEAK_ACTIVITY: f64 = 2.2;

/// Σ activity over the day's minutes (the profile above).
const ACTIVITY_MINUTES: f64 = 609.6;

const HALT_START: u64 = 21 * 3600;
const HALT_END: u64 = 22 * 3600;

// ---------------------------------------------------------------------------------------------
// Market participants

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Mm(u8),
    Retail,
    Flow(u32),
    Other,
}

#[derive(Clone, Debug)]
struct Order {
    inst: usize,
    bid: bool,
    px: i64,
    size: u32,
    owner: Owner,
    ts: u64,
    seq: u32,
}

#[derive(Default, Clone, Debug)]
struct Book {
    bids: BTreeMap<i64, VecDeque<u64>>,
    asks: BTreeMap<i64, VecDeque<u64>>,
}

impl Book {
    fn best_bid(&self) -> Option<i64> {
        self.bids.keys().next_back().copied()
    }
    fn best_ask(&self) -> Option<i64> {
        self.asks.keys().next().copied()
    }
}

struct MmStyle {
    name: &'static str,
    lag_ms: u64,
    levels: usize,
    per_level: usize,
    level_step: i64,
    base: f64,
    growth: f64,
    width: f64,
    rate: f64,
    modify: bool,
    refill_ms: (u64, u64),
}

const MMS: [MmStyle; 4] = [
    MmStyle {
        name: "stacker",
        lag_ms: 300,
        levels: 3,
        per_level: 2,
        level_step: 1,
        base: 4.0,
        growth: 1.8,
        width: 1.0,
        rate: 0.0035,
        modify: false,
        refill_ms: (500, 3000),
    },
    MmStyle {
        name: "big",
        lag_ms: 2000,
        levels: 2,
        per_level: 1,
        level_step: 2,
        base: 30.0,
        growth: 1.5,
        width: 1.6,
        rate: 0.0015,
        modify: true,
        refill_ms: (5000, 20000),
    },
    MmStyle {
        name: "fast",
        lag_ms: 20,
        levels: 1,
        per_level: 1,
        level_step: 1,
        base: 3.0,
        growth: 1.0,
        width: 0.8,
        rate: 0.009,
        modify: true,
        refill_ms: (20, 300),
    },
    MmStyle {
        name: "inventory",
        lag_ms: 1000,
        levels: 2,
        per_level: 1,
        level_step: 1,
        base: 10.0,
        growth: 2.0,
        width: 1.2,
        rate: 0.0025,
        modify: false,
        refill_ms: (1000, 6000),
    },
];

// ---------------------------------------------------------------------------------------------
// Scenario knobs

#[derive(Clone, Debug)]
struct Knobs {
    /// Retail orders per second at activity 1.
    retail: f64,
    /// Multiplier of the makers' check rates.
    mm: f64,
    /// Multiplier of the noise counts.
    noise: f64,
    /// Median leg size of packages.
    pkg_median: f64,
    /// Whether large-print sizes are the no-flow day's.
    big_noise: bool,
    /// Planted flows per pattern (block, sweep, cross, iceberg, accumulation); recorded or not.
    flows: [u32; 5],
    record_flows: bool,
    snapshot: bool,
}

fn knobs(s: Scenario, session: bool, rng: &mut Rng) -> Knobs {
    let day = if session { 1.0 } else { rng.range(0.75, 1.25) };
    let base = Knobs {
        retail: 0.12 * day,
        mm: day,
        noise: day,
        pkg_median: 40.0,
        big_noise: false,
        flows: [0; 5],
        record_flows: false,
        snapshot: !rng.chance(0.25),
    };
    if !session {
        let mut k = base;
        for i in 0..rng.int(0, 3) {
            k.flows[((i + rng.int(0, 4)) % 5) as usize] += 1;
        }
        return k;
    }
    let jitter = |r: &mut Rng, n: u32| n + r.int(0, 1) as u32;
    let mut k = Knobs {
        snapshot: true,
        record_flows: true,
        ..base
    };
    match s {
        Scenario::Normal => {
            k.flows = [
                jitter(rng, 2),
                jitter(rng, 2),
                jitter(rng, 1),
                jitter(rng, 1),
                jitter(rng, 1),
            ];
        }
        Scenario::Quiet => {
            k.retail *= 0.4;
            k.mm *= 0.4;
            k.noise *= 0.4;
            k.flows = [
                jitter(rng, 1),
                jitter(rng, 1),
                jitter(rng, 1),
                jitter(rng, 1),
                jitter(rng, 1),
            ];
        }
        Scenario::Busy => {
            k.retail *= 3.0;
            k.mm *= 3.0;
            k.noise *= 3.0;
            k.flows = [
                jitter(rng, 2),
                jitter(rng, 2),
                jitter(rng, 1),
                jitter(rng, 1),
                jitter(rng, 1),
            ];
        }
        Scenario::Noflow => {
            k.noise *= 2.5;
            k.pkg_median = 110.0;
            k.big_noise = true;
            k.flows = [0; 5];
        }
    }
    k
}

// ---------------------------------------------------------------------------------------------
// The day simulation

#[derive(Clone, Debug)]
enum Ev {
    Tick,
    MmCheck {
        mm: u8,
        inst: u32,
        gen: u32,
    },
    MmRefill {
        mm: u8,
        inst: u32,
    },
    Retail,
    Cancel {
        oid: u64,
    },
    Expire {
        inst: u32,
    },
    Noise,
    PkgLeg {
        pkg: u32,
        leg: u32,
    },
    CrossTake {
        oid: u64,
        taker: u8,
        noise: u32,
    },
    Hedge {
        inst: u32,
        buy: bool,
        size: u32,
        noise: u32,
    },
    FlowStart {
        f: u32,
    },
    FlowStep {
        f: u32,
    },
    IceRefill {
        f: u32,
    },
    IceHit {
        f: u32,
    },
}

struct Sched {
    t: u64,
    n: u64,
    ev: Ev,
}

impl PartialEq for Sched {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.n) == (o.t, o.n)
    }
}
impl Eq for Sched {}
impl PartialOrd for Sched {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Sched {
    fn cmp(&self, o: &Self) -> Ordering {
        (o.t, o.n).cmp(&(self.t, self.n))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pattern {
    Block,
    Sweep,
    Cross,
    Iceberg,
    Accum,
}

impl Pattern {
    fn name(self) -> &'static str {
        match self {
            Pattern::Block => "block",
            Pattern::Sweep => "sweep",
            Pattern::Cross => "cross_strike",
            Pattern::Iceberg => "iceberg",
            Pattern::Accum => "accumulation",
        }
    }
}

#[derive(Clone, Debug)]
struct Flow {
    pattern: Pattern,
    variant: &'static str,
    buy: bool,
    insts: Vec<usize>,
    traded: u64,
    premium: f64,
    first: u64,
    last: u64,
    // iceberg / accumulation
    px: i64,
    display: u32,
    native: bool,
    reserve: u32,
    target: u32,
    end: u64,
    oid: Option<u64>,
    done: bool,
    clip: f64,
    step_gap: f64,
    pause_until: u64,
}

#[derive(Clone, Debug)]
struct Pkg {
    legs: Vec<(usize, bool, u32)>,
    structure: &'static str,
    spread_book: bool,
    noise: u32,
}

#[derive(Clone, Debug)]
struct NoiseRec {
    kind: &'static str,
    structure: &'static str,
    insts: Vec<usize>,
    size: u64,
    first: u64,
    last: u64,
    side: &'static str,
}

struct Fill {
    oid: u64,
    owner: Owner,
    q: u32,
    px: i64,
    bid: bool,
}

/// Resting orders filled at one price: (order id, quantity, fully filled).
type LevelFills = Vec<(u64, u32, bool)>;

struct Exec {
    filled: u32,
    recv: u64,
    premium: f64,
}

struct Day<'a> {
    k: Knobs,
    rng: Rng,
    t0: u64,
    insts: Vec<Inst>,
    books: Vec<Book>,
    orders: HashMap<u64, Order>,
    mm_orders: Vec<[Vec<u64>; 2]>,
    mm_gen: Vec<u32>,
    mm_pulled: Vec<u64>,
    mm_inv: Vec<i64>,
    expired: Vec<bool>,
    fpath: &'a [f64],
    basis: [f64; 3],
    out: Vec<MboMsg>,
    snapshot: Vec<MboMsg>,
    last_recv: u64,
    seq: u32,
    next_oid: u64,
    heap: BinaryHeap<Sched>,
    nsched: u64,
    flows: Vec<Flow>,
    pkgs: Vec<Pkg>,
    noise: Vec<NoiseRec>,
    live: bool,
}

fn mbo(
    inst: &Inst,
    ts_event: u64,
    ts_recv: u64,
    seq: u32,
    oid: u64,
    px: i64,
    size: u32,
    flags: u8,
    action: Action,
    side: Side,
) -> MboMsg {
    MboMsg {
        hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, inst.id, ts_event),
        order_id: oid,
        price: px,
        size,
        flags: FlagSet::new(flags),
        channel_id: inst.channel,
        action: u8::from(action) as c_char,
        side: u8::from(side) as c_char,
        ts_recv,
        ts_in_delta: 0,
        sequence: seq,
    }
}

fn side_of(bid: bool) -> Side {
    if bid {
        Side::Bid
    } else {
        Side::Ask
    }
}

impl<'a> Day<'a> {
    fn schedule(&mut self, t: u64, ev: Ev) {
        self.nsched += 1;
        self.heap.push(Sched {
            t,
            n: self.nsched,
            ev,
        });
    }

    fn sec(&self, t: u64) -> u64 {
        (t.saturating_sub(self.t0) / NS).min(86_399)
    }

    fn fwd(&self, under: usize, t: u64) -> f64 {
        let s = t.saturating_sub(self.t0) as f64 / 1e9;
        let i = (s.floor() as usize).min(self.fpath.len() - 2);
        let w = (s - i as f64).clamp(0.0, 1.0);
        (self.fpath[i] * (1.0 - w) + self.fpath[i + 1] * w) * self.basis[under]
    }

    /// (theo, delta) of an instrument at time t with the future seen `lag` ns ago.
    fn theo(&self, i: usize, t: u64, lag: u64) -> (f64, f64) {
        let inst = &self.insts[i];
        let f = self.fwd(inst.under, t.saturating_sub(lag));
        let tt = (inst.exp.saturating_sub(t)) as f64 / YEAR_NS;
        let vol = smile_vol(f, inst.strike, tt.max(1e-6));
        black76(f, inst.strike, tt.max(1e-6), vol, inst.call)
    }

    fn alive(&self, i: usize, t: u64) -> bool {
        !self.expired[i] && t + 120 * NS < self.insts[i].exp
    }

    /// Starts a packet: returns (ts_recv, sequence).
    fn packet(&mut self, t: u64) -> (u64, u32) {
        let lat = 80_000 + self.rng.exp(120_000.0) as u64;
        let recv = (t + lat.min(600_000)).max(self.last_recv + self.rng.int(1, 900));
        self.last_recv = recv;
        self.seq += self.rng.int(1, 3) as u32;
        (recv, self.seq)
    }

    fn push(&mut self, mut m: MboMsg) {
        m.ts_in_delta = 10_000 + (self.rng.next_u64() % 8_000) as i32;
        if self.live {
            self.out.push(m);
        }
    }

    fn new_oid(&mut self) -> u64 {
        self.next_oid += self.rng.int(1, 3);
        self.next_oid
    }

    fn insert(&mut self, oid: u64, o: Order) {
        let book = &mut self.books[o.inst];
        let lvl = if o.bid {
            &mut book.bids
        } else {
            &mut book.asks
        };
        lvl.entry(o.px).or_default().push_back(oid);
        self.orders.insert(oid, o);
    }

    fn unlink(&mut self, oid: u64) -> Option<Order> {
        let o = self.orders.remove(&oid)?;
        let book = &mut self.books[o.inst];
        let lvl = if o.bid {
            &mut book.bids
        } else {
            &mut book.asks
        };
        if let Some(q) = lvl.get_mut(&o.px) {
            q.retain(|&x| x != oid);
            if q.is_empty() {
                lvl.remove(&o.px);
            }
        }
        Some(o)
    }

    /// Adds a resting order as one event.
    fn add(&mut self, t: u64, inst: usize, bid: bool, px: i64, size: u32, owner: Owner) -> u64 {
        let oid = self.new_oid();
        let (recv, seq) = self.packet(t);
        let m = mbo(
            &self.insts[inst],
            t,
            recv,
            seq,
            oid,
            px,
            size,
            F_LAST | F_PUB,
            Action::Add,
            side_of(bid),
        );
        self.push(m);
        self.insert(
            oid,
            Order {
                inst,
                bid,
                px,
                size,
                owner,
                ts: t,
                seq,
            },
        );
        oid
    }

    fn cancel(&mut self, t: u64, oid: u64) -> bool {
        let Some(o) = self.unlink(oid) else {
            return false;
        };
        let (recv, seq) = self.packet(t);
        let m = mbo(
            &self.insts[o.inst],
            t,
            recv,
            seq,
            oid,
            o.px,
            o.size,
            F_LAST | F_PUB,
            Action::Cancel,
            side_of(o.bid),
        );
        self.push(m);
        true
    }

    /// Cancels several orders of one instrument in one packet.
    fn mass_cancel(&mut self, t: u64, oids: &[u64]) {
        let mut gone = Vec::new();
        for &oid in oids {
            if let Some(o) = self.unlink(oid) {
                gone.push((oid, o));
            }
        }
        if gone.is_empty() {
            return;
        }
        let (recv, seq) = self.packet(t);
        let n = gone.len();
        for (j, (oid, o)) in gone.into_iter().enumerate() {
            let fl = if j + 1 == n { F_LAST | F_PUB } else { 0 };
            let m = mbo(
                &self.insts[o.inst],
                t,
                recv,
                seq,
                oid,
                o.px,
                o.size,
                fl,
                Action::Cancel,
                side_of(o.bid),
            );
            self.push(m);
        }
    }

    fn modify(&mut self, t: u64, oid: u64, px: i64, size: u32) {
        let Some(o) = self.orders.get(&oid).cloned() else {
            return;
        };
        if o.px == px && o.size == size {
            return;
        }
        let (recv, seq) = self.packet(t);
        let m = mbo(
            &self.insts[o.inst],
            t,
            recv,
            seq,
            oid,
            px,
            size,
            F_LAST | F_PUB,
            Action::Modify,
            side_of(o.bid),
        );
        self.push(m);
        if o.px != px || size > o.size {
            self.unlink(oid);
            self.insert(
                oid,
                Order {
                    px,
                    size,
                    ts: t,
                    seq,
                    ..o
                },
            );
        } else if let Some(x) = self.orders.get_mut(&oid) {
            x.size = size;
        }
    }

    /// Submits a limit order: matches against the other side up to `limit`, then rests the
    /// remainder unless `ioc`. Emits the real two-packet trade layout.
    fn submit(
        &mut self,
        t: u64,
        inst: usize,
        buy: bool,
        limit: i64,
        size: u32,
        owner: Owner,
        ioc: bool,
    ) -> (Exec, Option<u64>, Vec<Fill>) {
        let agg = self.new_oid();
        let mut remaining = size;
        // (px, [(oid, q, full)])
        let mut levels: Vec<(i64, LevelFills)> = Vec::new();
        loop {
            if remaining == 0 {
                break;
            }
            let book = &self.books[inst];
            let best = if buy {
                book.best_ask()
            } else {
                book.best_bid()
            };
            let Some(px) = best else { break };
            if (buy && px > limit) || (!buy && px < limit) {
                break;
            }
            let q: Vec<u64> = if buy {
                book.asks[&px].iter().copied().collect()
            } else {
                book.bids[&px].iter().copied().collect()
            };
            let mut fills = Vec::new();
            for oid in q {
                if remaining == 0 {
                    break;
                }
                let osz = self.orders[&oid].size;
                let f = osz.min(remaining);
                remaining -= f;
                fills.push((oid, f, f == osz));
                if f == osz {
                    // removed from the book below; unlink now so the loop sees the next level
                    let o = self.unlink(oid);
                    if let Some(mut o) = o {
                        o.size = 0;
                        // keep the order data for the C record
                        self.orders.insert(oid, o);
                    }
                } else if let Some(o) = self.orders.get_mut(&oid) {
                    o.size -= f;
                }
            }
            levels.push((px, fills));
        }
        let filled = size - remaining;
        let mut notes = Vec::new();
        let mut exec = Exec {
            filled,
            recv: 0,
            premium: 0.0,
        };
        let inst_ref = self.insts[inst].clone();
        let agg_side = side_of(buy);
        let pas_side = side_of(!buy);
        if !levels.is_empty() {
            let (recv, seq) = self.packet(t);
            exec.recv = recv;
            for (px, fills) in &levels {
                let lv: u32 = fills.iter().map(|x| x.1).sum();
                exec.premium += *px as f64 / PX as f64 * lv as f64 * MULT;
                let m = mbo(
                    &inst_ref,
                    t,
                    recv,
                    seq,
                    agg,
                    *px,
                    lv,
                    0,
                    Action::Trade,
                    agg_side,
                );
                self.push(m);
                for &(oid, q, _) in fills {
                    let m = mbo(
                        &inst_ref,
                        t,
                        recv,
                        seq,
                        oid,
                        *px,
                        q,
                        0,
                        Action::Fill,
                        pas_side,
                    );
                    self.push(m);
                }
            }
            // second packet: the book changes
            let recv2 = recv + self.rng.int(2_000, 15_000);
            self.last_recv = self.last_recv.max(recv2);
            let recv2 = self.last_recv;
            self.seq += 1;
            let seq2 = self.seq;
            let mut recs = Vec::new();
            let mut natives = Vec::new();
            for (px, fills) in &levels {
                for &(oid, q, full) in fills {
                    let o = self.orders.get(&oid).cloned();
                    let owner = o.as_ref().map(|o| o.owner).unwrap_or(Owner::Other);
                    notes.push(Fill {
                        oid,
                        owner,
                        q,
                        px: *px,
                        bid: !buy,
                    });
                    if full {
                        self.orders.remove(&oid);
                        recs.push(mbo(
                            &inst_ref,
                            t,
                            recv2,
                            seq2,
                            oid,
                            *px,
                            q,
                            0,
                            Action::Cancel,
                            pas_side,
                        ));
                        // native iceberg replenishment: same id re-added in the same packet
                        if let Owner::Flow(fi) = owner {
                            let fl = &mut self.flows[fi as usize];
                            if fl.pattern == Pattern::Iceberg && fl.native && !fl.done {
                                let show = fl.display.min(fl.reserve);
                                if show > 0 {
                                    fl.reserve -= show;
                                    recs.push(mbo(
                                        &inst_ref,
                                        t,
                                        recv2,
                                        seq2,
                                        oid,
                                        *px,
                                        show,
                                        0,
                                        Action::Add,
                                        pas_side,
                                    ));
                                    natives.push((oid, *px, show, owner));
                                }
                            }
                        }
                    } else {
                        let left = self.orders.get(&oid).map(|o| o.size).unwrap_or(0);
                        recs.push(mbo(
                            &inst_ref,
                            t,
                            recv2,
                            seq2,
                            oid,
                            *px,
                            left,
                            0,
                            Action::Modify,
                            pas_side,
                        ));
                    }
                }
            }
            let mut rest = None;
            if remaining > 0 && !ioc {
                recs.push(mbo(
                    &inst_ref,
                    t,
                    recv2,
                    seq2,
                    agg,
                    limit,
                    remaining,
                    0,
                    Action::Add,
                    agg_side,
                ));
                rest = Some(agg);
            }
            if let Some(last) = recs.last_mut() {
                last.flags = FlagSet::new(F_LAST | F_PUB);
            }
            for r in recs {
                self.push(r);
            }
            for (oid, px, show, owner) in natives {
                self.insert(
                    oid,
                    Order {
                        inst,
                        bid: !buy,
                        px,
                        size: show,
                        owner,
                        ts: t,
                        seq: seq2,
                    },
                );
            }
            if let Some(oid) = rest {
                self.insert(
                    oid,
                    Order {
                        inst,
                        bid: buy,
                        px: limit,
                        size: remaining,
                        owner,
                        ts: t,
                        seq: seq2,
                    },
                );
            }
            self.after_fills(t, inst, &notes, recv);
            return (exec, rest, notes);
        }
        if remaining > 0 && !ioc {
            // nothing traded: a plain add with the aggressor id
            let (recv, seq) = self.packet(t);
            let m = mbo(
                &inst_ref,
                t,
                recv,
                seq,
                agg,
                limit,
                remaining,
                F_LAST | F_PUB,
                Action::Add,
                agg_side,
            );
            self.push(m);
            self.insert(
                agg,
                Order {
                    inst,
                    bid: buy,
                    px: limit,
                    size: remaining,
                    owner,
                    ts: t,
                    seq,
                },
            );
            return (exec, Some(agg), notes);
        }
        (exec, None, notes)
    }

    /// Bookkeeping after resting orders were filled.
    fn after_fills(&mut self, t: u64, inst: usize, notes: &[Fill], recv: u64) {
        for n in notes {
            match n.owner {
                Owner::Mm(m) => {
                    let st = &MMS[m as usize];
                    let d = self.rng.int(st.refill_ms.0, st.refill_ms.1) * 1_000_000;
                    self.schedule(
                        t + d,
                        Ev::MmRefill {
                            mm: m,
                            inst: inst as u32,
                        },
                    );
                    let ii = m as usize * self.insts.len() + inst;
                    self.mm_inv[ii] += if n.bid { n.q as i64 } else { -(n.q as i64) };
                    let mo = &mut self.mm_orders[ii];
                    if !self.orders.contains_key(&n.oid) {
                        mo[0].retain(|&x| x != n.oid);
                        mo[1].retain(|&x| x != n.oid);
                    }
                }
                Owner::Flow(fi) => {
                    let fl = &mut self.flows[fi as usize];
                    fl.traded += n.q as u64;
                    fl.premium += n.px as f64 / PX as f64 * n.q as f64 * MULT;
                    if fl.first == 0 {
                        fl.first = recv;
                    }
                    fl.last = recv;
                    if fl.pattern == Pattern::Iceberg
                        && !fl.native
                        && !self.orders.contains_key(&n.oid)
                    {
                        fl.oid = None;
                        let d = self.rng.int(30, 400) * 1_000_000;
                        self.schedule(t + d, Ev::IceRefill { f: fi });
                    }
                }
                _ => {}
            }
        }
    }

    fn best(&self, inst: usize, bid: bool) -> Option<i64> {
        if bid {
            self.books[inst].best_bid()
        } else {
            self.books[inst].best_ask()
        }
    }

    /// The price `n` levels deep on one side (1 = best), or the deepest there is.
    fn level_px(&self, inst: usize, bid: bool, n: usize) -> Option<(i64, u32)> {
        let b = &self.books[inst];
        let it: Box<dyn Iterator<Item = (&i64, &VecDeque<u64>)>> = if bid {
            Box::new(b.bids.iter().rev())
        } else {
            Box::new(b.asks.iter())
        };
        let mut last = None;
        let mut cum = 0u32;
        for (j, (px, q)) in it.enumerate() {
            cum += q.iter().map(|o| self.orders[o].size).sum::<u32>();
            last = Some((*px, cum));
            if j + 1 >= n {
                break;
            }
        }
        last
    }

    // ---------------- market makers

    fn mm_index(&self, mm: u8, inst: usize) -> usize {
        mm as usize * self.insts.len() + inst
    }

    fn mm_check(&mut self, t: u64, mm: u8, inst: usize) {
        let st = &MMS[mm as usize];
        let idx = self.mm_index(mm, inst);
        if !self.alive(inst, t) {
            let all: Vec<u64> = self.mm_orders[idx].iter().flatten().copied().collect();
            self.mass_cancel(t, &all);
            self.mm_orders[idx] = [Vec::new(), Vec::new()];
            return;
        }
        if t < self.mm_pulled[idx] {
            return;
        }
        let (theo, delta) = self.theo(inst, t, st.lag_ms * 1_000_000);
        let tick = tick_at((theo * PX as f64) as i64) as f64 / PX as f64;
        let hs = (0.0035 * theo + 0.05).max(tick) * st.width;
        let ad = delta.abs();
        let wing = 1.0 + 8.0 * (0.5 - ad).max(0.0) / 0.5 + if theo < 1.0 { 2.0 } else { 0.0 };
        let itm = if ad > 0.8 { 0.3 } else { 1.0 };
        let mut bid0 = floor_tick(theo - hs);
        let mut ask0 = ceil_tick(theo + hs);
        // post only: never cross resting orders of others
        let own: Vec<u64> = self.mm_orders[idx].iter().flatten().copied().collect();
        let other_best = |d: &Self, bid: bool| -> Option<i64> {
            let b = &d.books[inst];
            let it: Box<dyn Iterator<Item = (&i64, &VecDeque<u64>)>> = if bid {
                Box::new(b.bids.iter().rev())
            } else {
                Box::new(b.asks.iter())
            };
            for (px, q) in it {
                if q.iter().any(|o| !own.contains(o)) {
                    return Some(*px);
                }
            }
            None
        };
        if let Some(ob) = other_best(self, true) {
            if ask0 <= ob {
                ask0 = up_tick(ob);
            }
        }
        if let Some(oa) = other_best(self, false) {
            if bid0 >= oa {
                bid0 = down_tick(oa);
            }
        }
        let inv = self.mm_inv[mm as usize * self.insts.len() + inst];
        // move the side that gets out of the way first, so that own orders never cross
        let own_bid = self.mm_orders[idx][0]
            .iter()
            .filter_map(|o| self.orders.get(o).map(|x| x.px))
            .max();
        let own_ask = self.mm_orders[idx][1]
            .iter()
            .filter_map(|o| self.orders.get(o).map(|x| x.px))
            .min();
        let up = own_bid.is_some_and(|b| bid0 > b) || own_ask.is_some_and(|a| bid0 >= a);
        let order = if up {
            [(1usize, false), (0usize, true)]
        } else {
            [(0usize, true), (1usize, false)]
        };
        for (si, bid) in order {
            let mut targets: Vec<(i64, u32)> = Vec::new();
            let skip = st.name == "inventory" && ((bid && inv > 150) || (!bid && inv < -150));
            if !skip {
                let mut px = if bid { bid0 } else { ask0 };
                for lvl in 0..st.levels {
                    if px < MIN_PX {
                        break;
                    }
                    for _ in 0..st.per_level {
                        let sz = st.base * st.growth.powi(lvl as i32) * wing * itm;
                        let sz = (sz * self.rng.range(0.7, 1.3)).round().max(1.0) as u32;
                        targets.push((px, sz));
                    }
                    for _ in 0..st.level_step {
                        px = if bid { down_tick(px) } else { up_tick(px) };
                    }
                }
            }
            let existing: Vec<u64> = self.mm_orders[idx][si]
                .iter()
                .copied()
                .filter(|o| self.orders.contains_key(o))
                .collect();
            let mut keep = Vec::new();
            if st.modify {
                let n = existing.len().max(targets.len());
                for j in 0..n {
                    match (existing.get(j), targets.get(j)) {
                        (Some(&oid), Some(&(px, sz))) => {
                            let cur = self.orders[&oid].clone();
                            if cur.px != px || cur.size * 2 < sz {
                                self.modify(t, oid, px, sz);
                            }
                            keep.push(oid);
                        }
                        (Some(&oid), None) => {
                            self.cancel(t, oid);
                        }
                        (None, Some(&(px, sz))) => {
                            let oid = self.add(t, inst, bid, px, sz, Owner::Mm(mm));
                            keep.push(oid);
                        }
                        (None, None) => {}
                    }
                }
            } else {
                let mut want = targets.clone();
                for oid in existing {
                    let cur = self.orders[&oid].clone();
                    if let Some(p) = want
                        .iter()
                        .position(|&(px, sz)| px == cur.px && cur.size * 2 >= sz)
                    {
                        want.remove(p);
                        keep.push(oid);
                    } else {
                        self.cancel(t, oid);
                    }
                }
                for (px, sz) in want {
                    let oid = self.add(t, inst, bid, px, sz, Owner::Mm(mm));
                    keep.push(oid);
                }
            }
            self.mm_orders[idx][si] = keep;
        }
        let _ = delta;
    }

    fn mm_rate(&self, mm: u8, inst: usize, t: u64) -> f64 {
        let st = &MMS[mm as usize];
        let (_, d) = self.theo(inst, t, 0);
        let ad = d.abs();
        let w = if (0.08..0.92).contains(&ad) {
            1.0
        } else {
            0.25
        };
        0.4 * st.rate * self.k.mm * w * PEAK_ACTIVITY
    }

    fn next_check(&mut self, t: u64, mm: u8, inst: usize) {
        let idx = self.mm_index(mm, inst);
        if !self.alive(inst, t) {
            return;
        }
        // candidates at the peak rate, thinned by the activity when they come due
        let r = self.mm_rate(mm, inst, t);
        let nt = t + (self.rng.exp(1.0 / r) * 1e9) as u64;
        self.schedule(
            nt,
            Ev::MmCheck {
                mm,
                inst: inst as u32,
                gen: self.mm_gen[idx],
            },
        );
    }

    fn on_tick(&mut self, t: u64) {
        let s = self.sec(t);
        if s >= 5 && s % 2 == 0 {
            let now = self.fpath[s as usize];
            let before = self.fpath[s as usize - 5];
            if ((now - before) / before).abs() > 0.001 {
                for i in 0..self.insts.len() {
                    let idx = self.mm_index(2, i);
                    if self.mm_pulled[idx] > t || !self.alive(i, t) {
                        continue;
                    }
                    let (_, d) = self.theo(i, t, 0);
                    if !(0.15..0.85).contains(&d.abs()) {
                        continue;
                    }
                    let all: Vec<u64> = self.mm_orders[idx].iter().flatten().copied().collect();
                    if all.is_empty() {
                        continue;
                    }
                    let at = t + self.rng.int(100_000, 3_000_000);
                    self.mass_cancel(at, &all);
                    self.mm_orders[idx] = [Vec::new(), Vec::new()];
                    let back = t + self.rng.int(1_500, 4_000) * 1_000_000;
                    self.mm_pulled[idx] = back;
                    self.schedule(
                        back + 1,
                        Ev::MmRefill {
                            mm: 2,
                            inst: i as u32,
                        },
                    );
                }
            }
        }
        if s + 1 < 86_400 {
            self.schedule(t + NS, Ev::Tick);
        }
    }

    // ---------------- retail

    fn pick_retail_inst(&mut self, t: u64) -> Option<usize> {
        let mut w = Vec::with_capacity(self.insts.len());
        for i in 0..self.insts.len() {
            if !self.alive(i, t) {
                w.push(0.0);
                continue;
            }
            let (_, d) = self.theo(i, t, 0);
            let ad = d.abs();
            let m = if (0.05..0.6).contains(&ad) {
                1.0
            } else if ad < 0.05 {
                0.3
            } else {
                0.15
            };
            let days = (self.insts[i].exp - t) as f64 / 86_400e9;
            let e = if days < 1.0 {
                4.0
            } else if days < 3.0 {
                2.0
            } else if days < 12.0 {
                1.0
            } else {
                0.6
            };
            w.push(m * e);
        }
        let tot: f64 = w.iter().sum();
        if tot <= 0.0 {
            return None;
        }
        let mut x = self.rng.f() * tot;
        for (i, wi) in w.iter().enumerate() {
            x -= wi;
            if x <= 0.0 {
                return Some(i);
            }
        }
        None
    }

    fn retail_size(&mut self, big: bool) -> u32 {
        let u = self.rng.f().max(1e-9);
        let s = u.powf(-1.0 / 1.35).floor();
        let cap = if big { 600.0 } else { 400.0 };
        s.clamp(1.0, cap) as u32
    }

    fn on_retail(&mut self, t: u64) {
        let Some(i) = self.pick_retail_inst(t) else {
            return;
        };
        let buy = self.rng.chance(0.58);
        let size = self.retail_size(false);
        let marketable = self.rng.chance(0.65);
        let opp = self.best(i, !buy);
        let own = self.best(i, buy);
        let (limit, keep_s) = match (marketable, opp, own) {
            (true, Some(o), _) => {
                let mut p = o;
                for _ in 0..self.rng.int(0, 2) {
                    p = if buy {
                        up_tick(p)
                    } else {
                        down_tick(p).max(MIN_PX)
                    };
                }
                (p, 90.0)
            }
            (_, _, Some(b)) => (b, 300.0),
            _ => return,
        };
        let (ex, rest, _) = self.submit(t, i, buy, limit, size, Owner::Retail, false);
        if let Some(oid) = rest {
            let d = (self.rng.exp(keep_s) * 1e9) as u64 + NS;
            self.schedule(t + d, Ev::Cancel { oid });
        }
        if ex.filled >= 50 {
            self.noise.push(NoiseRec {
                kind: "retail",
                structure: "",
                insts: vec![i],
                size: ex.filled as u64,
                first: ex.recv,
                last: ex.recv,
                side: if buy { "buy" } else { "sell" },
            });
            self.maybe_hedge(t, i, buy, ex.filled, self.noise.len() as u32 - 1);
        }
    }

    fn maybe_hedge(&mut self, t: u64, inst: usize, cust_buy: bool, size: u32, noise: u32) {
        if size < 100 || !self.rng.chance(0.4) {
            return;
        }
        // a neighbouring strike of the same expiry and kind
        let me = &self.insts[inst];
        let mut cands: Vec<usize> = (0..self.insts.len())
            .filter(|&j| {
                j != inst
                    && self.insts[j].exp_idx == me.exp_idx
                    && self.insts[j].call == me.call
                    && (self.insts[j].strike - me.strike).abs() <= 2.5 * step_of(me.exp_kind)
            })
            .collect();
        if cands.is_empty() {
            return;
        }
        cands.sort_unstable();
        let j = self.rng.pick(&cands);
        let hs = self.rng.int(10, 60) as u32;
        let d = self.rng.int(500, 4000) * 1_000_000;
        self.schedule(
            t + d,
            Ev::Hedge {
                inst: j as u32,
                buy: cust_buy,
                size: hs,
                noise,
            },
        );
    }

    // ---------------- noise

    fn pick_inst<F: Fn(&Self, usize, f64) -> bool>(&mut self, t: u64, f: F) -> Option<usize> {
        let c: Vec<usize> = (0..self.insts.len())
            .filter(|&i| {
                self.alive(i, t) && {
                    let (_, d) = self.theo(i, t, 0);
                    f(self, i, d)
                }
            })
            .collect();
        if c.is_empty() {
            None
        } else {
            Some(self.rng.pick(&c))
        }
    }

    fn find(&self, exp_idx: usize, call: bool, strike: f64) -> Option<usize> {
        self.insts
            .iter()
            .position(|x| x.exp_idx == exp_idx && x.call == call && x.strike == strike)
    }

    fn neighbour(&self, i: usize, steps: i32) -> Option<usize> {
        let me = &self.insts[i];
        let mut ks: Vec<f64> = self
            .insts
            .iter()
            .filter(|x| x.exp_idx == me.exp_idx && x.call == me.call)
            .map(|x| x.strike)
            .collect();
        ks.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
        let p = ks.iter().position(|&k| k == me.strike)? as i32 + steps;
        if p < 0 || p as usize >= ks.len() {
            return None;
        }
        self.find(me.exp_idx, me.call, ks[p as usize])
    }

    fn on_noise(&mut self, t: u64) {
        let r = self.rng.f();
        if r < 0.55 {
            self.start_package(t);
        } else if r < 0.72 {
            self.lottery(t);
        } else {
            self.dealer_cross(t);
        }
    }

    fn start_package(&mut self, t: u64) {
        let Some(a) = self.pick_inst(t, |_, _, d| (0.1..0.7).contains(&d.abs())) else {
            return;
        };
        let n = (self.rng.lognormal(self.k.pkg_median, 0.8)).clamp(5.0, 900.0) as u32;
        let buy = self.rng.chance(0.5);
        let ai = self.insts[a].clone();
        let opp_kind = self.find(ai.exp_idx, !ai.call, ai.strike);
        let structures = [
            "vertical",
            "calendar",
            "straddle",
            "strangle",
            "synthetic",
            "risk_reversal",
            "butterfly",
            "ratio",
            "condor",
            "collar3",
        ];
        let s = self.rng.pick(&structures);
        let mut legs: Vec<(usize, bool, u32)> = Vec::new();
        let st = if self.rng.chance(0.5) { 1 } else { 2 };
        match s {
            "vertical" => {
                if let Some(b) = self.neighbour(a, if ai.call { st } else { -st }) {
                    legs = vec![(a, buy, n), (b, !buy, n)];
                }
            }
            "calendar" => {
                let other = self.insts.iter().position(|x| {
                    x.exp_idx == ai.exp_idx + 1 && x.call == ai.call && x.strike == ai.strike
                });
                if let Some(b) = other {
                    legs = vec![(a, !buy, n), (b, buy, n)];
                }
            }
            "straddle" => {
                if let Some(b) = opp_kind {
                    legs = vec![(a, buy, n), (b, buy, n)];
                }
            }
            "strangle" => {
                let c = self.find_otm(t, ai.exp_idx, true, 0.25);
                let p = self.find_otm(t, ai.exp_idx, false, 0.25);
                if let (Some(c), Some(p)) = (c, p) {
                    legs = vec![(c, buy, n), (p, buy, n)];
                }
            }
            "synthetic" => {
                if let Some(b) = opp_kind {
                    let (c, p) = if ai.call { (a, b) } else { (b, a) };
                    legs = vec![(c, buy, n), (p, !buy, n)];
                }
            }
            "risk_reversal" => {
                let c = self.find_otm(t, ai.exp_idx, true, 0.25);
                let p = self.find_otm(t, ai.exp_idx, false, 0.25);
                if let (Some(c), Some(p)) = (c, p) {
                    legs = vec![(p, !buy, n), (c, buy, n)];
                }
            }
            "butterfly" => {
                let lo = self.neighbour(a, -st);
                let hi = self.neighbour(a, st);
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    legs = vec![(lo, buy, n), (a, !buy, 2 * n), (hi, buy, n)];
                }
            }
            "ratio" => {
                let r = if self.rng.chance(0.6) { 2 } else { 3 };
                if let Some(b) = self.neighbour(a, if ai.call { st } else { -st }) {
                    legs = vec![(a, buy, n), (b, !buy, r * n)];
                }
            }
            "condor" => {
                let l1 = self.neighbour(a, -1);
                let h1 = self.neighbour(a, 1);
                let h2 = self.neighbour(a, 2);
                if let (Some(l1), Some(h1), Some(h2)) = (l1, h1, h2) {
                    legs = vec![(l1, buy, n), (a, !buy, n), (h1, !buy, n), (h2, buy, n)];
                }
            }
            _ => {
                // collar with a call spread: buy put, sell call, buy further call
                let p = self.find_otm(t, ai.exp_idx, false, 0.2);
                let c = self.find_otm(t, ai.exp_idx, true, 0.3);
                if let (Some(p), Some(c)) = (p, c) {
                    if let Some(c2) = self.neighbour(c, 2) {
                        legs = vec![(p, buy, n), (c, !buy, n), (c2, buy, n)];
                    }
                }
            }
        }
        if legs.is_empty() || legs.iter().any(|l| !self.alive(l.0, t + 10 * NS)) {
            return;
        }
        let spread_book = self.rng.chance(0.5);
        self.noise.push(NoiseRec {
            kind: "package",
            structure: s,
            insts: legs.iter().map(|l| l.0).collect(),
            size: 0,
            first: 0,
            last: 0,
            side: if buy { "buy" } else { "sell" },
        });
        let ni = self.noise.len() as u32 - 1;
        self.pkgs.push(Pkg {
            legs,
            structure: s,
            spread_book,
            noise: ni,
        });
        let p = self.pkgs.len() as u32 - 1;
        self.schedule(t, Ev::PkgLeg { pkg: p, leg: 0 });
    }

    fn find_otm(&self, t: u64, exp_idx: usize, call: bool, target: f64) -> Option<usize> {
        let mut best = None;
        let mut bd = f64::MAX;
        for (i, x) in self.insts.iter().enumerate() {
            if x.exp_idx != exp_idx || x.call != call {
                continue;
            }
            let (_, d) = self.theo(i, t, 0);
            let e = (d.abs() - target).abs();
            if e < bd {
                bd = e;
                best = Some(i);
            }
        }
        best
    }

    fn note_noise(&mut self, ni: u32, filled: u32, recv: u64) {
        let n = &mut self.noise[ni as usize];
        n.size += filled as u64;
        if filled > 0 {
            if n.first == 0 {
                n.first = recv;
            }
            n.last = recv.max(n.last);
        }
    }

    fn on_pkg_leg(&mut self, t: u64, p: u32, leg: u32) {
        let pkg = self.pkgs[p as usize].clone();
        let Some(&(i, buy, n)) = pkg.legs.get(leg as usize) else {
            return;
        };
        if !self.alive(i, t) {
            return;
        }
        if pkg.spread_book {
            // leg fill from the spread book: a print inside the outright spread against an
            // order the outright book never showed; no book change
            let (theo, _) = self.theo(i, t, 0);
            let bb = self.best(i, true).unwrap_or(MIN_PX);
            let ba = self.best(i, false).unwrap_or(ceil_tick(theo * 1.02 + 0.05));
            let mut px = if buy {
                ceil_tick(theo)
            } else {
                floor_tick(theo)
            };
            if px <= bb || px >= ba {
                px = if buy { ba } else { bb };
            }
            let px = px.max(MIN_PX);
            let agg = self.new_oid();
            let hidden = self.new_oid() + 7_000_000_000;
            let (recv, seq) = self.packet(t);
            let inst = self.insts[i].clone();
            self.push(mbo(
                &inst,
                t,
                recv,
                seq,
                agg,
                px,
                n,
                0,
                Action::Trade,
                side_of(buy),
            ));
            self.push(mbo(
                &inst,
                t,
                recv,
                seq,
                hidden,
                px,
                n,
                F_LAST | F_PUB,
                Action::Fill,
                side_of(!buy),
            ));
            self.note_noise(pkg.noise, n, recv);
        } else {
            let lim = self.level_px(i, !buy, 4).map(|x| x.0).unwrap_or(if buy {
                up_tick(MIN_PX)
            } else {
                MIN_PX
            });
            let (ex, _, _) = self.submit(t, i, buy, lim, n, Owner::Other, true);
            self.note_noise(pkg.noise, ex.filled, ex.recv);
        }
        if (leg as usize) + 1 < pkg.legs.len() {
            let d = self.rng.int(200_000, 5_000_000);
            self.schedule(
                t + d,
                Ev::PkgLeg {
                    pkg: p,
                    leg: leg + 1,
                },
            );
        } else {
            let tot = self.noise[pkg.noise as usize].size;
            if tot >= 100 {
                let (i0, b0, _) = pkg.legs[0];
                let _ = pkg.structure;
                self.maybe_hedge(t, i0, b0, tot as u32, pkg.noise);
            }
        }
    }

    fn lottery(&mut self, t: u64) {
        let Some(i) = self.pick_inst(t, |d, i, delta| {
            delta.abs() < 0.03 && d.theo(i, t, 0).0 < 2.0 && d.best(i, false).is_some()
        }) else {
            return;
        };
        let buy = self.rng.chance(0.8);
        let hi = if self.k.big_noise { 3000.0 } else { 1500.0 };
        let n = self.rng.lognormal(500.0, 0.6).clamp(200.0, hi) as u32;
        let lim = self
            .level_px(i, !buy, 3)
            .map(|x| x.0)
            .unwrap_or(MIN_PX)
            .max(MIN_PX);
        let (ex, _, _) = self.submit(t, i, buy, lim, n, Owner::Other, true);
        if ex.filled > 0 {
            self.noise.push(NoiseRec {
                kind: "lottery",
                structure: "",
                insts: vec![i],
                size: ex.filled as u64,
                first: ex.recv,
                last: ex.recv,
                side: if buy { "buy" } else { "sell" },
            });
        }
    }

    fn dealer_cross(&mut self, t: u64) {
        let Some(i) = self.pick_inst(t, |d, i, delta| {
            (0.15..0.85).contains(&delta.abs())
                && d.best(i, true).is_some()
                && d.best(i, false).is_some()
        }) else {
            return;
        };
        let (bb, ba) = match (self.best(i, true), self.best(i, false)) {
            (Some(b), Some(a)) => (b, a),
            _ => return,
        };
        let buyer_posts = self.rng.chance(0.5);
        // inside the spread where there is room, else at the touch
        let px = if up_tick(bb) < ba {
            if buyer_posts {
                up_tick(bb)
            } else {
                down_tick(ba)
            }
        } else if buyer_posts {
            bb
        } else {
            ba
        };
        let hi = if self.k.big_noise { 800.0 } else { 500.0 };
        let n = self.rng.lognormal(120.0, 0.6).clamp(50.0, hi) as u32;
        let maker = self.rng.int(0, 3) as u8;
        let taker = ((maker as u64 + self.rng.int(1, 3)) % 4) as u8;
        let oid = self.add(t, i, buyer_posts, px, n, Owner::Mm(maker));
        self.noise.push(NoiseRec {
            kind: "dealer_cross",
            structure: "",
            insts: vec![i],
            size: 0,
            first: 0,
            last: 0,
            side: if buyer_posts { "sell" } else { "buy" },
        });
        let ni = self.noise.len() as u32 - 1;
        let d = self.rng.int(1, 10) * 1_000_000;
        self.schedule(
            t + d,
            Ev::CrossTake {
                oid,
                taker,
                noise: ni,
            },
        );
        let _ = maker;
    }

    fn on_cross_take(&mut self, t: u64, oid: u64, taker: u8, ni: u32) {
        let Some(o) = self.orders.get(&oid).cloned() else {
            return;
        };
        // the taker takes everything at that price (the posted order is the only one
        // inside the spread; at the touch the queue ahead trades too)
        let lv = self
            .level_px(o.inst, o.bid, 1)
            .map(|x| x.1)
            .unwrap_or(o.size);
        let (ex, _, _) = self.submit(t, o.inst, !o.bid, o.px, lv, Owner::Mm(taker), true);
        self.note_noise(ni, ex.filled, ex.recv);
        for mm in 0..4u8 {
            let d = self.rng.int(5, 80) * 1_000_000;
            self.schedule(
                t + d,
                Ev::MmRefill {
                    mm,
                    inst: o.inst as u32,
                },
            );
        }
    }

    fn on_hedge(&mut self, t: u64, i: usize, buy: bool, size: u32, ni: u32) {
        if !self.alive(i, t) {
            return;
        }
        let Some(lim) = self.best(i, !buy) else {
            return;
        };
        let (ex, _, _) = self.submit(t, i, buy, lim, size, Owner::Mm(3), true);
        if ex.filled > 0 {
            self.noise.push(NoiseRec {
                kind: "hedge",
                structure: "",
                insts: vec![i],
                size: ex.filled as u64,
                first: ex.recv,
                last: ex.recv,
                side: if buy { "buy" } else { "sell" },
            });
            let _ = ni;
        }
    }

    // ---------------- institutions

    fn pick_flow_inst(&mut self, t: u64, lo: f64, hi: f64, horizon: u64) -> Option<usize> {
        let used: Vec<usize> = self.flows.iter().flat_map(|f| f.insts.clone()).collect();
        // expiry preference: weeklies to quarterlies mostly, some 0-2 DTE
        let short = self.rng.chance(0.3);
        let c: Vec<usize> = (0..self.insts.len())
            .filter(|&i| {
                let x = &self.insts[i];
                if used.contains(&i) || x.exp < t + horizon + 3600 * NS {
                    return false;
                }
                let is_short = x.exp_kind == ExpKind::Daily;
                if is_short != short {
                    return false;
                }
                let (_, d) = self.theo(i, t, 0);
                (lo..hi).contains(&d.abs())
                    && self.best(i, true).is_some()
                    && self.best(i, false).is_some()
            })
            .collect();
        if c.is_empty() {
            return None;
        }
        Some(self.rng.pick(&c))
    }

    fn size_for(&mut self, i: usize, t: u64, median_usd: f64, lo: u32, hi: u32) -> u32 {
        let (theo, _) = self.theo(i, t, 0);
        let usd = self.rng.lognormal(median_usd, 0.6);
        ((usd / (theo.max(0.05) * MULT)).round() as u32).clamp(lo, hi)
    }

    fn flow_print(&mut self, fi: u32, ex: &Exec) {
        if ex.filled == 0 {
            return;
        }
        let f = &mut self.flows[fi as usize];
        f.traded += ex.filled as u64;
        f.premium += ex.premium;
        if f.first == 0 {
            f.first = ex.recv;
        }
        f.last = ex.recv;
    }

    fn on_flow_start(&mut self, t: u64, fi: u32) {
        let pat = self.flows[fi as usize].pattern;
        let buy = self.flows[fi as usize].buy;
        match pat {
            Pattern::Block => {
                let Some(i) = self.pick_flow_inst(t, 0.15, 0.6, 600 * NS) else {
                    return;
                };
                self.flows[fi as usize].insts = vec![i];
                let n = self.size_for(i, t, 700_000.0, 25, 1500);
                let mut v = self.rng.f();
                // a book too thin for the size: the institution asks for a quote instead
                let depth2 = self.level_px(i, !buy, 2).map(|x| x.1).unwrap_or(0);
                if v < 0.45 && depth2 < n {
                    v = 0.5;
                }
                if v < 0.45 {
                    self.flows[fi as usize].variant = "take_rest";
                    let lv = self.rng.int(1, 2) as usize;
                    let Some((lim, _)) = self.level_px(i, !buy, lv) else {
                        return;
                    };
                    let (ex, rest, _) = self.submit(t, i, buy, lim, n, Owner::Flow(fi), false);
                    self.flow_print(fi, &ex);
                    if let Some(oid) = rest {
                        let d = self.rng.int(2, 8) * NS;
                        self.schedule(t + d, Ev::Cancel { oid });
                    }
                } else if v < 0.8 {
                    self.flows[fi as usize].variant = "rfq";
                    let (Some(bb), Some(ba)) = (self.best(i, true), self.best(i, false)) else {
                        return;
                    };
                    let px = if buy {
                        if down_tick(ba) > bb {
                            down_tick(ba)
                        } else {
                            ba
                        }
                    } else if up_tick(bb) < ba {
                        up_tick(bb)
                    } else {
                        bb
                    };
                    let mm = self.rng.int(0, 3) as u8;
                    let oid = self.add(t, i, !buy, px, n, Owner::Mm(mm));
                    self.flows[fi as usize].oid = Some(oid);
                    self.flows[fi as usize].px = px;
                    self.flows[fi as usize].target = n;
                    let d = self.rng.int(2, 40) * 1_000_000;
                    self.schedule(t + d, Ev::FlowStep { f: fi });
                } else {
                    self.flows[fi as usize].variant = "ioc_two_levels";
                    let Some((lim, _)) = self.level_px(i, !buy, 2) else {
                        return;
                    };
                    let (ex, _, _) = self.submit(t, i, buy, lim, n, Owner::Flow(fi), true);
                    self.flow_print(fi, &ex);
                }
                self.after_flow_print(t, fi);
            }
            Pattern::Sweep => {
                let Some(i) = self.pick_flow_inst(t, 0.1, 0.55, 600 * NS) else {
                    return;
                };
                self.flows[fi as usize].insts = vec![i];
                let planned = self.size_for(i, t, 250_000.0, 20, 500);
                let k = self.rng.int(2, 6) as usize;
                let mut lvl = k;
                let mut got = self.level_px(i, !buy, lvl);
                while let Some((_, cum)) = got {
                    if cum >= 20 || lvl >= 6 {
                        break;
                    }
                    lvl += 1;
                    got = self.level_px(i, !buy, lvl);
                }
                let Some((lim, cum)) = got else { return };
                // enough to reach the last level, within the plan's range
                let before = if lvl > 1 {
                    self.level_px(i, !buy, lvl - 1).map(|x| x.1).unwrap_or(0)
                } else {
                    0
                };
                let n = planned
                    .clamp((before + 1).min(cum), cum.max(1))
                    .clamp(20, 500);
                self.flows[fi as usize].variant = "ioc";
                let (ex, _, _) = self.submit(t, i, buy, lim, n, Owner::Flow(fi), true);
                self.flow_print(fi, &ex);
                self.after_flow_print(t, fi);
            }
            Pattern::Cross => {
                let Some(a) = self.pick_flow_inst(t, 0.05, 0.45, 600 * NS) else {
                    return;
                };
                let legs = self.rng.int(3, 5) as i32;
                // mostly further out of the money: calls up, puts down
                let otm = if self.insts[a].call { 1 } else { -1 };
                let dir = if self.rng.chance(0.75) { otm } else { -otm };
                let mut insts = vec![a];
                for j in 1..legs {
                    if let Some(b) = self.neighbour(a, dir * j) {
                        insts.push(b);
                    }
                }
                if insts.len() < 3 {
                    return;
                }
                self.flows[fi as usize].insts = insts.clone();
                self.flows[fi as usize].variant = "legs_ms_apart";
                let mut tt = t;
                for i in insts {
                    let n = self.size_for(i, tt, 120_000.0, 10, 300);
                    let lim = self.level_px(i, !buy, 2).map(|x| x.0);
                    if let Some(lim) = lim {
                        let (ex, _, _) = self.submit(tt, i, buy, lim, n, Owner::Flow(fi), true);
                        self.flow_print(fi, &ex);
                    }
                    tt += self.rng.int(300_000, 8_000_000);
                }
                self.after_flow_print(t, fi);
            }
            Pattern::Iceberg => {
                let Some(i) = self.pick_flow_inst(t, 0.1, 0.5, 3600 * NS) else {
                    return;
                };
                let (Some(bb), Some(ba)) = (self.best(i, true), self.best(i, false)) else {
                    return;
                };
                let target = self.size_for(i, t, 500_000.0, 50, 1000);
                let display = self.rng.int(1, 20) as u32;
                let improve = self.rng.chance(0.4);
                let px = if buy {
                    if improve && up_tick(bb) < ba {
                        up_tick(bb)
                    } else {
                        bb
                    }
                } else if improve && down_tick(ba) > bb {
                    down_tick(ba)
                } else {
                    ba
                };
                let native = self.rng.chance(0.5);
                let end = t + self.rng.int(25, 60) * 60 * NS;
                {
                    let f = &mut self.flows[fi as usize];
                    f.insts = vec![i];
                    f.px = px;
                    f.display = display;
                    f.native = native;
                    f.reserve = target.saturating_sub(display) + display * 3;
                    f.target = target;
                    f.end = end;
                    f.variant = if native { "native_same_id" } else { "new_id" };
                }
                let oid = self.add(t, i, buy, px, display, Owner::Flow(fi));
                self.flows[fi as usize].oid = Some(oid);
                let d = (self.rng.exp(8.0) * 1e9) as u64 + NS;
                self.schedule(t + d, Ev::IceHit { f: fi });
            }
            Pattern::Accum => {
                let Some(i) = self.pick_flow_inst(t, 0.15, 0.5, 5400 * NS) else {
                    return;
                };
                let mut insts = vec![i];
                if self.rng.chance(0.3) {
                    if let Some(b) = self.neighbour(i, 1) {
                        insts.push(b);
                    }
                }
                let target = self.size_for(i, t, 400_000.0, 60, 800);
                let dur = self.rng.int(15, 90) * 60 * NS;
                let clip = self.rng.range(3.0, 9.0);
                let clips = (target as f64 / clip).max(4.0);
                let f = &mut self.flows[fi as usize];
                f.insts = insts;
                f.target = target;
                f.end = t + dur;
                f.clip = clip;
                f.step_gap = dur as f64 * 0.75 / clips;
                f.variant = if f.insts.len() > 1 {
                    "two_strikes"
                } else {
                    "one_strike"
                };
                self.schedule(t, Ev::FlowStep { f: fi });
            }
        }
    }

    fn after_flow_print(&mut self, t: u64, fi: u32) {
        let f = self.flows[fi as usize].clone();
        if f.traded >= 100 {
            if let Some(&i) = f.insts.first() {
                self.maybe_hedge(t, i, f.buy, f.traded as u32, u32::MAX);
            }
        }
    }

    fn on_flow_step(&mut self, t: u64, fi: u32) {
        let f = self.flows[fi as usize].clone();
        match f.pattern {
            Pattern::Block => {
                // the RFQ block: take everything at the posted price
                let i = f.insts[0];
                let lv = self.level_px(i, !f.buy, 1);
                if let Some((px, cum)) = lv {
                    let ok = if f.buy { px <= f.px } else { px >= f.px };
                    if ok {
                        let n = cum.min(f.target + f.target / 5);
                        let (ex, _, _) = self.submit(t, i, f.buy, f.px, n, Owner::Flow(fi), true);
                        self.flow_print(fi, &ex);
                        self.after_flow_print(t, fi);
                    }
                }
                // the maker pulls what was not taken
                if let Some(oid) = f.oid {
                    let d = self.rng.int(50, 500) * 1_000_000;
                    self.schedule(t + d, Ev::Cancel { oid });
                }
            }
            Pattern::Accum => {
                if t > f.end || f.traded >= f.target as u64 {
                    return;
                }
                if t >= f.pause_until {
                    let i = self.rng.pick(&f.insts);
                    if self.alive(i, t) {
                        if let Some(lim) = self.best(i, !f.buy) {
                            let n = (self.rng.exp(f.clip).round() as u32).clamp(1, 15);
                            let (ex, _, _) =
                                self.submit(t, i, f.buy, lim, n, Owner::Flow(fi), true);
                            self.flow_print(fi, &ex);
                        }
                    }
                    if self.rng.chance(0.06) {
                        let p = self.rng.int(3, 12) * 60 * NS;
                        self.flows[fi as usize].pause_until = t + p;
                    }
                }
                let gap = (self.rng.exp(f.step_gap) as u64).max(2 * NS);
                let next = (t + gap).max(self.flows[fi as usize].pause_until);
                self.schedule(next, Ev::FlowStep { f: fi });
            }
            _ => {}
        }
    }

    fn on_ice_refill(&mut self, t: u64, fi: u32) {
        let f = self.flows[fi as usize].clone();
        if f.done || f.oid.is_some() || f.reserve == 0 {
            return;
        }
        let show = f.display.min(f.reserve);
        self.flows[fi as usize].reserve -= show;
        // a limit order at the iceberg's price: it trades if the other side came to it
        let (ex, rest, _) = self.submit(t, f.insts[0], f.buy, f.px, show, Owner::Flow(fi), false);
        self.flow_print(fi, &ex);
        self.flows[fi as usize].oid = rest;
        if rest.is_none() {
            self.schedule(t + 50_000_000, Ev::IceRefill { f: fi });
        }
    }

    fn on_ice_hit(&mut self, t: u64, fi: u32) {
        let f = self.flows[fi as usize].clone();
        if f.done {
            return;
        }
        let i = f.insts[0];
        let live_oid = f.oid.filter(|o| self.orders.contains_key(o));
        if t > f.end || f.traded >= f.target as u64 || !self.alive(i, t + 600 * NS) {
            self.flows[fi as usize].done = true;
            if let Some(oid) = live_oid {
                self.cancel(t, oid);
            }
            return;
        }
        // another participant hits the resting side at the iceberg's price
        let n = (self
            .rng
            .lognormal(f.display as f64 * 1.5 + 3.0, 0.7)
            .round() as u32)
            .clamp(1, 80);
        let (ex, rest, _) = self.submit(t, i, !f.buy, f.px, n, Owner::Retail, true);
        let _ = (ex, rest);
        if live_oid.is_none() && self.flows[fi as usize].oid.is_none() && !f.native {
            self.schedule(t + 50_000_000, Ev::IceRefill { f: fi });
        }
        let d = (self.rng.exp(20.0) * 1e9) as u64 + NS / 2;
        self.schedule(t + d, Ev::IceHit { f: fi });
    }

    // ---------------- main loop

    fn run(&mut self) {
        let t0 = self.t0;
        // resting orders from before the file start (snapshot or unknown)
        self.live = false;
        let pre = t0 - 2 * 3600 * NS;
        for i in 0..self.insts.len() {
            for mm in 0..4u8 {
                if self.alive(i, t0) {
                    let tt = pre + self.rng.int(0, 7000) * NS;
                    self.mm_check(tt, mm, i);
                }
            }
        }
        self.live = true;
        // the snapshot (ts_recv = file start), sorted by instrument, side, price
        let mut snap: Vec<(usize, bool, i64, u64)> = self
            .orders
            .iter()
            .map(|(k, o)| (o.inst, o.bid, o.px, *k))
            .collect();
        snap.sort_unstable();
        let mut cur = usize::MAX;
        for (j, &(inst, _, _, oid)) in snap.iter().enumerate() {
            let o = &self.orders[&oid];
            if inst != cur {
                cur = inst;
                self.snapshot.push(mbo(
                    &self.insts[inst],
                    t0,
                    t0,
                    0,
                    0,
                    UNDEF_PRICE,
                    0,
                    F_SNAP | F_BADTS,
                    Action::Clear,
                    Side::None,
                ));
            }
            let last = snap.get(j + 1).map(|x| x.0 != inst).unwrap_or(true);
            let fl = F_SNAP | F_BADTS | if last { F_LAST } else { 0 };
            self.snapshot.push(mbo(
                &self.insts[inst],
                o.ts,
                t0,
                o.seq,
                oid,
                o.px,
                o.size,
                fl,
                Action::Add,
                side_of(o.bid),
            ));
        }
        self.last_recv = t0;
        // schedules
        self.schedule(t0, Ev::Tick);
        for i in 0..self.insts.len() {
            if self.insts[i].exp < t0 + DAY_NS {
                self.schedule(self.insts[i].exp - 60 * NS, Ev::Expire { inst: i as u32 });
            }
            for mm in 0..4u8 {
                self.next_check(t0, mm, i);
            }
        }
        for m in 0..1440u64 {
            let a = activity(m * 60);
            let nr = self.rng.poisson(self.k.retail * a * 60.0);
            for _ in 0..nr {
                let tt = t0 + m * 60 * NS + self.rng.int(0, 60 * NS - 1);
                self.schedule(tt, Ev::Retail);
            }
            // about 40 noise events a normal day, following the activity
            let nn = self.rng.poisson(self.k.noise * 40.0 * a / ACTIVITY_MINUTES);
            for _ in 0..nn {
                let tt = t0 + m * 60 * NS + self.rng.int(0, 60 * NS - 1);
                self.schedule(tt, Ev::Noise);
            }
        }
        // planted flows
        let pats = [
            Pattern::Block,
            Pattern::Sweep,
            Pattern::Cross,
            Pattern::Iceberg,
            Pattern::Accum,
        ];
        for (pi, &n) in self.k.flows.clone().iter().enumerate() {
            for _ in 0..n {
                let start = t0
                    + self.rng.int(13 * 3600 + 40 * 60, 19 * 3600 + 30 * 60) * NS
                    + self.rng.int(0, NS - 1);
                let p = pats[pi];
                let start = if matches!(p, Pattern::Accum | Pattern::Iceberg) {
                    start.min(t0 + 18 * 3600 * NS)
                } else {
                    start
                };
                self.flows.push(Flow {
                    pattern: p,
                    variant: "",
                    buy: self.rng.chance(0.55),
                    insts: Vec::new(),
                    traded: 0,
                    premium: 0.0,
                    first: 0,
                    last: 0,
                    px: 0,
                    display: 0,
                    native: false,
                    reserve: 0,
                    target: 0,
                    end: 0,
                    oid: None,
                    done: false,
                    clip: 0.0,
                    step_gap: 0.0,
                    pause_until: 0,
                });
                let f = self.flows.len() as u32 - 1;
                self.schedule(start, Ev::FlowStart { f });
            }
        }
        while let Some(Sched { t, ev, .. }) = self.heap.pop() {
            if t >= t0 + DAY_NS {
                break;
            }
            let s = self.sec(t);
            let halted = (HALT_START..HALT_END).contains(&s);
            match ev {
                Ev::Tick => self.on_tick(t),
                Ev::MmCheck { mm, inst, gen } => {
                    let idx = self.mm_index(mm, inst as usize);
                    if gen == self.mm_gen[idx] {
                        if !halted && self.rng.f() * PEAK_ACTIVITY < activity(s) {
                            self.mm_check(t, mm, inst as usize);
                        }
                        self.next_check(t, mm, inst as usize);
                    }
                }
                Ev::MmRefill { mm, inst } => {
                    if !halted {
                        self.mm_check(t, mm, inst as usize);
                    }
                }
                Ev::Retail => {
                    if !halted {
                        self.on_retail(t)
                    }
                }
                Ev::Cancel { oid } => {
                    if !halted {
                        self.cancel(t, oid);
                    } else {
                        let nt = t0 + HALT_END * NS + self.rng.int(0, 60 * NS);
                        self.schedule(nt, Ev::Cancel { oid });
                    }
                }
                Ev::Expire { inst } => {
                    let i = inst as usize;
                    let mut all: Vec<(i64, u64)> = self
                        .orders
                        .iter()
                        .filter(|(_, o)| o.inst == i)
                        .map(|(k, o)| (o.px, *k))
                        .collect();
                    all.sort_unstable();
                    let ids: Vec<u64> = all.into_iter().map(|x| x.1).collect();
                    self.mass_cancel(t, &ids);
                    self.expired[i] = true;
                    for mm in 0..4u8 {
                        let idx = self.mm_index(mm, i);
                        self.mm_orders[idx] = [Vec::new(), Vec::new()];
                    }
                }
                Ev::Noise => {
                    if !halted {
                        self.on_noise(t)
                    }
                }
                Ev::PkgLeg { pkg, leg } => self.on_pkg_leg(t, pkg, leg),
                Ev::CrossTake { oid, taker, noise } => self.on_cross_take(t, oid, taker, noise),
                Ev::Hedge {
                    inst,
                    buy,
                    size,
                    noise,
                } => self.on_hedge(t, inst as usize, buy, size, noise),
                Ev::FlowStart { f } => self.on_flow_start(t, f),
                Ev::FlowStep { f } => self.on_flow_step(t, f),
                Ev::IceRefill { f } => self.on_ice_refill(t, f),
                Ev::IceHit { f } => self.on_ice_hit(t, f),
            }
        }
    }
}

fn step_of(k: ExpKind) -> f64 {
    match k {
        ExpKind::Daily => 50.0,
        ExpKind::Weekly => 100.0,
        _ => 250.0,
    }
}

// ---------------------------------------------------------------------------------------------
// Files

fn cstr<const N: usize>(s: &str) -> Result<[c_char; N]> {
    str_to_c_chars::<N>(s).map_err(|e| anyhow::anyhow!("{s}: {e}"))
}

fn definition(inst: &Inst, t0: u64) -> Result<InstrumentDefMsg> {
    let fut = futures();
    let (ucode, udate, uid) = fut[inst.under];
    let _ = udate;
    let american = matches!(inst.exp_kind, ExpKind::Serial | ExpKind::Quarterly);
    let cfi = format!(
        "O{}{}FPS",
        if inst.call { 'C' } else { 'P' },
        if american { 'A' } else { 'E' }
    );
    let exp_date = chrono::DateTime::from_timestamp_nanos(inst.exp as i64).date_naive();
    let mut d = InstrumentDefMsg {
        hd: RecordHeader::new::<InstrumentDefMsg>(
            rtype::INSTRUMENT_DEF,
            1,
            inst.id,
            t0 - 3 * 86_400 * NS + (inst.id as u64 % 1000) * 1_000_000,
        ),
        ts_recv: t0,
        display_factor: PX,
        expiration: inst.exp,
        activation: t0 - 20 * 86_400 * NS,
        unit_of_measure_qty: 20 * PX,
        strike_price: (inst.strike * PX as f64) as i64,
        raw_instrument_id: inst.id as u64,
        underlying_id: uid,
        market_segment_id: 76,
        channel_id: inst.channel as u16,
        maturity_year: exp_date.year() as u16,
        maturity_month: exp_date.month() as u8,
        maturity_day: exp_date.day() as u8,
        currency: cstr("USD")?,
        settl_currency: cstr("USD")?,
        raw_symbol: cstr(&inst.sym)?,
        group: cstr("NQ")?,
        exchange: cstr("XCME")?,
        asset: cstr(&inst.asset)?,
        cfi: cstr(&cfi)?,
        security_type: cstr("OOF")?,
        unit_of_measure: cstr("IPNT")?,
        underlying: cstr(ucode)?,
        strike_price_currency: cstr("USD")?,
        instrument_class: if inst.call { b'C' } else { b'P' } as c_char,
        security_update_action: b'A' as c_char,
        ..Default::default()
    };
    d.min_price_increment = UNDEF_PRICE;
    Ok(d)
}

fn write_day(
    path: &Path,
    t0: u64,
    insts: &[Inst],
    oi: &[i64],
    snapshot: &[MboMsg],
    out: &[MboMsg],
) -> Result<()> {
    let meta = Metadata::builder()
        .dataset("GLBX.MDP3")
        .schema(None)
        .start(t0)
        .end(std::num::NonZeroU64::new(t0 + DAY_NS))
        .stype_in(Some(SType::Parent))
        .stype_out(SType::InstrumentId)
        .symbols(vec!["NQ.OPT".to_string()])
        .build();
    let file = File::create(path).with_context(|| format!("create {}", path.display()))?;
    let mut enc = DbnEncoder::with_zstd(BufWriter::new(file), &meta)?;
    for inst in insts {
        enc.encode_record(&definition(inst, t0)?)?;
    }
    for (j, inst) in insts.iter().enumerate() {
        let st = StatMsg {
            hd: RecordHeader::new::<StatMsg>(rtype::STATISTICS, 1, inst.id, t0),
            ts_recv: t0,
            ts_ref: t0 - 86_400 * NS,
            price: UNDEF_PRICE,
            quantity: oi[j],
            sequence: 0,
            ts_in_delta: 0,
            stat_type: StatType::OpenInterest as u16,
            channel_id: inst.channel as u16,
            update_action: 1,
            stat_flags: 0,
            ..Default::default()
        };
        enc.encode_record(&st)?;
    }
    for m in snapshot {
        enc.encode_record(m)?;
    }
    for m in out {
        enc.encode_record(m)?;
    }
    enc.flush()?;
    Ok(())
}

/// The future's path for one day, one value per second (86,401 values).
fn future_path(rng: &mut Rng, start: f64) -> Vec<f64> {
    let mut v = Vec::with_capacity(86_401);
    let mut f = start;
    let base = 0.19 / (252.0f64 * 23_400.0).sqrt();
    // fast moves
    let mut jumps = Vec::new();
    for _ in 0..rng.int(2, 4) {
        let at = rng.int(13 * 3600 + 35 * 60, 19 * 3600 + 50 * 60);
        let len = rng.int(20, 60);
        let size = rng.range(0.003, 0.006) * if rng.chance(0.5) { 1.0 } else { -1.0 };
        jumps.push((at, len, size));
    }
    for s in 0..=86_400u64 {
        v.push(f);
        let a = activity(s);
        let vol = base * (a / 1.2).sqrt();
        let mut r = vol * rng.normal();
        for &(at, len, size) in &jumps {
            if s >= at && s < at + len {
                r += size / len as f64;
            }
        }
        f *= r.exp();
    }
    v
}

fn generate_world(s: Scenario, seed: u64, out: &Path, history_days: usize) -> Result<String> {
    if history_days > 60 {
        bail!("at most 60 history days");
    }
    fs::create_dir_all(out.join("history"))?;
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(s as u64 * 7_919));
    let session = session_date();
    let mut days = history_dates(session, history_days);
    days.push(session);
    let mut ids = IdBook {
        ids: BTreeMap::new(),
        next: 43_118_000 + rng.int(0, 50_000) as u32,
        rng: Rng::new(seed ^ 0xABCD),
    };
    let mut f = rng.range(23_300.0, 24_300.0);
    let mut oi_book: BTreeMap<u32, i64> = BTreeMap::new();
    let mut summary = String::new();
    let mut next_oid: u64 = 6_500_000_000_000 + rng.int(0, 1_000_000_000);
    let mut seq: u32 = rng.int(1_000_000, 5_000_000) as u32;
    for (di, &day) in days.iter().enumerate() {
        let is_session = di + 1 == days.len();
        let t0 = day_start_ns(day);
        let mut drng = Rng::new(rng.next_u64());
        let k = knobs(s, is_session, &mut drng);
        let path = future_path(&mut drng, f);
        // carry: each quarterly ~0.95 % above the previous
        let basis = [1.0, 1.0095, 1.0095 * 1.0095];
        let front = under_for(day);
        let adj = basis[front];
        let basis = [basis[0] / adj, basis[1] / adj, basis[2] / adj];
        let insts = build_chain(day, path[0], &basis, &mut ids);
        let n = insts.len();
        let mut oi = Vec::with_capacity(n);
        for inst in &insts {
            let base = match inst.exp_kind {
                ExpKind::Daily => 150.0,
                ExpKind::Weekly => 600.0,
                ExpKind::Serial => 1500.0,
                ExpKind::Quarterly => 4000.0,
            };
            let e = oi_book
                .entry(inst.id)
                .or_insert_with(|| drng.lognormal(base, 0.9).round() as i64);
            *e = (*e as f64 * drng.range(0.97, 1.08)).round() as i64;
            oi.push(*e);
        }
        let mut d = Day {
            k: k.clone(),
            rng: Rng::new(drng.next_u64()),
            t0,
            insts,
            books: vec![Book::default(); n],
            orders: HashMap::new(),
            mm_orders: vec![[Vec::new(), Vec::new()]; 4 * n],
            mm_gen: vec![0; 4 * n],
            mm_pulled: vec![0; 4 * n],
            mm_inv: vec![0; 4 * n],
            expired: vec![false; n],
            fpath: &path,
            basis,
            out: Vec::new(),
            snapshot: Vec::new(),
            last_recv: t0,
            seq,
            next_oid,
            heap: BinaryHeap::new(),
            nsched: 0,
            flows: Vec::new(),
            pkgs: Vec::new(),
            noise: Vec::new(),
            live: true,
        };
        d.run();
        next_oid = d.next_oid + 1_000_000;
        seq = d.seq + 1000;
        f = path[86_400];
        let snapshot: &[MboMsg] = if k.snapshot { &d.snapshot } else { &[] };
        let file = if is_session {
            out.join("session.dbn.zst")
        } else {
            out.join("history")
                .join(format!("{}.dbn.zst", day.format("%Y%m%d")))
        };
        write_day(&file, t0, &d.insts, &oi, snapshot, &d.out)?;
        summary.push_str(&format!(
            "{} {} instruments, {} MBO records{}, {} flows, {} noise prints\n",
            day,
            n,
            d.out.len() + snapshot.len(),
            if k.snapshot { "" } else { " (no snapshot)" },
            d.flows.iter().filter(|f| f.traded > 0).count(),
            d.noise.iter().filter(|x| x.size > 0).count(),
        ));
        if is_session {
            write_truth(out, &d)?;
        }
    }
    Ok(summary)
}

fn direction(call: bool, buy: bool) -> &'static str {
    if call == buy {
        "bullish"
    } else {
        "bearish"
    }
}

fn write_truth(out: &Path, d: &Day<'_>) -> Result<()> {
    let mut w = BufWriter::new(File::create(out.join("truth.jsonl"))?);
    if d.k.record_flows {
        for f in &d.flows {
            if f.traded == 0 || f.insts.is_empty() {
                continue;
            }
            let call = d.insts[f.insts[0]].call;
            let line = json!({
                "pattern": f.pattern.name(),
                "instruments": f.insts.iter().map(|&i| d.insts[i].id).collect::<Vec<_>>(),
                "raw_symbols": f.insts.iter().map(|&i| d.insts[i].sym.clone()).collect::<Vec<_>>(),
                "side": if f.buy { "buy" } else { "sell" },
                "direction": direction(call, f.buy),
                "ts_start": f.first,
                "ts_end": f.last,
                "size": f.traded,
                "variant": f.variant,
                "premium_usd": f.premium.round(),
            });
            writeln!(w, "{line}")?;
        }
    }
    w.flush()?;
    let mut w = BufWriter::new(File::create(out.join("noise.jsonl"))?);
    for n in &d.noise {
        if n.size == 0 {
            continue;
        }
        let line = json!({
            "kind": n.kind,
            "structure": n.structure,
            "instruments": n.insts.iter().map(|&i| d.insts[i].id).collect::<Vec<_>>(),
            "raw_symbols": n.insts.iter().map(|&i| d.insts[i].sym.clone()).collect::<Vec<_>>(),
            "size": n.size,
            "ts_start": n.first,
            "ts_end": n.last,
            "side": n.side,
        });
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbn::decode::{DecodeRecordRef, DynDecoder};
    use dbn::{RecordRefEnum, VersionUpgradePolicy};
    use std::collections::HashSet;

    /// Records of one file, in order, as owned copies of what the tests look at.
    enum R {
        Def(u32, String),
        Stat(u32, u64),
        Mbo(MboMsg),
    }

    fn read(path: &Path) -> Vec<R> {
        let mut dec =
            DynDecoder::from_file(path, VersionUpgradePolicy::UpgradeToV3).expect("open the file");
        let mut out = Vec::new();
        while let Some(r) = dec.decode_record_ref().expect("decode a record") {
            match r.as_enum().expect("known record") {
                RecordRefEnum::InstrumentDef(d) => out.push(R::Def(
                    d.hd.instrument_id,
                    d.raw_symbol().expect("symbol").to_string(),
                )),
                RecordRefEnum::Stat(s) => out.push(R::Stat(s.hd.instrument_id, s.ts_recv)),
                RecordRefEnum::Mbo(m) => out.push(R::Mbo(m.clone())),
                other => panic!("unexpected record {other:?}"),
            }
        }
        out
    }

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir.join("history"))
            .expect("history dir")
            .map(|e| e.expect("entry").path())
            .collect();
        v.sort();
        v.push(dir.join("session.dbn.zst"));
        v
    }

    #[test]
    fn generation_is_deterministic_in_scenario_and_seed() {
        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        let c = tempfile::tempdir().expect("tmp");
        generate_world(Scenario::Quiet, 5, a.path(), 1).expect("generate a");
        generate_world(Scenario::Quiet, 5, b.path(), 1).expect("generate b");
        generate_world(Scenario::Quiet, 6, c.path(), 1).expect("generate c");
        let fa = files(a.path());
        let fb = files(b.path());
        assert_eq!(fa.len(), 2);
        for (x, y) in fa.iter().zip(&fb) {
            assert_eq!(fs::read(x).expect("a"), fs::read(y).expect("b"), "{x:?}");
        }
        for f in ["truth.jsonl", "noise.jsonl"] {
            assert_eq!(
                fs::read(a.path().join(f)).expect("a"),
                fs::read(b.path().join(f)).expect("b")
            );
        }
        assert_ne!(
            fs::read(a.path().join("session.dbn.zst")).expect("a"),
            fs::read(c.path().join("session.dbn.zst")).expect("c"),
            "another seed gives another world"
        );
    }

    /// Checks one file's layout and rebuilds its books; returns (live MBO records, trades).
    fn check_file(path: &Path) -> (usize, usize) {
        let recs = read(path);
        // definitions, then statistics, then MBO
        let mut phase = 0;
        let mut defs = HashSet::new();
        for r in &recs {
            let p = match r {
                R::Def(id, sym) => {
                    assert!(sym.contains(' ') && (sym.contains(" C") || sym.contains(" P")));
                    defs.insert(*id);
                    0
                }
                R::Stat(id, _) => {
                    assert!(defs.contains(id), "statistic before its definition");
                    1
                }
                R::Mbo(m) => {
                    assert!(defs.contains(&m.hd.instrument_id), "MBO without definition");
                    2
                }
            };
            assert!(p >= phase, "{path:?}: records out of order");
            phase = p;
        }
        assert!(
            (60..=250).contains(&defs.len()),
            "{} instruments",
            defs.len()
        );
        let mbo: Vec<MboMsg> = recs
            .iter()
            .filter_map(|r| {
                if let R::Mbo(m) = r {
                    Some(m.clone())
                } else {
                    None
                }
            })
            .collect();
        // ts_recv never decreases over the whole file
        let mut last = 0;
        for r in &recs {
            let t = match r {
                R::Def(..) => 0,
                R::Stat(_, t) => *t,
                R::Mbo(m) => m.ts_recv,
            };
            assert!(t >= last || t == 0, "ts_recv went back");
            last = last.max(t);
        }
        let snap: Vec<&MboMsg> = mbo.iter().filter(|m| m.flags.is_snapshot()).collect();
        let live: Vec<&MboMsg> = mbo.iter().filter(|m| !m.flags.is_snapshot()).collect();
        assert!(
            mbo.iter().take(snap.len()).all(|m| m.flags.is_snapshot()),
            "the snapshot comes first"
        );
        for (j, m) in snap.iter().enumerate() {
            assert!(m.flags.is_bad_ts_recv());
            let next_other = snap
                .get(j + 1)
                .map(|n| n.hd.instrument_id != m.hd.instrument_id)
                .unwrap_or(true);
            assert_eq!(
                m.flags.is_last(),
                next_other,
                "snapshot LAST per instrument"
            );
        }
        assert!(
            (100_000..=700_000).contains(&live.len()),
            "{} live records",
            live.len()
        );
        // sequence never decreases; packets = runs of one sequence
        let mut packets: Vec<Vec<&MboMsg>> = Vec::new();
        for w in live.windows(2) {
            assert!(w[1].sequence >= w[0].sequence, "sequence went back");
        }
        for m in &live {
            match packets.last_mut() {
                Some(p) if p[0].sequence == m.sequence => p.push(m),
                _ => packets.push(vec![m]),
            }
        }
        let act = |m: &MboMsg| m.action().expect("action");
        let mut trades = 0;
        for (pi, p) in packets.iter().enumerate() {
            for (j, m) in p.iter().enumerate() {
                assert_eq!(
                    m.hd.instrument_id, p[0].hd.instrument_id,
                    "one instrument a packet"
                );
                assert_eq!(m.ts_recv, p[0].ts_recv, "one ts_recv a packet");
                assert!(m.ts_recv >= m.hd.ts_event, "ts_recv before ts_event");
                if m.flags.is_last() {
                    assert_eq!(j + 1, p.len(), "LAST only on a packet's last record");
                }
            }
            let tf = p
                .iter()
                .all(|m| matches!(act(m), Action::Trade | Action::Fill));
            let ends_last = p.last().map(|m| m.flags.is_last()).unwrap_or(false);
            if tf && !ends_last {
                // a trade packet: the book changes follow in the next packet
                let n = packets.get(pi + 1).expect("book change after a trade");
                assert_eq!(n[0].hd.instrument_id, p[0].hd.instrument_id);
                assert_eq!(n[0].hd.ts_event, p[0].hd.ts_event);
                assert!(n
                    .iter()
                    .all(|m| !matches!(act(m), Action::Trade | Action::Fill)));
                assert!(n.last().map(|m| m.flags.is_last()).unwrap_or(false));
            } else {
                assert!(ends_last, "packet without LAST: {:?}", p.last());
            }
            // each T is followed by its F records, sizes adding up, opposite side
            let mut j = 0;
            while j < p.len() {
                if act(p[j]) == Action::Trade {
                    trades += 1;
                    let side = p[j].side().expect("side");
                    assert!(
                        matches!(side, Side::Bid | Side::Ask),
                        "aggressor side known"
                    );
                    let mut k = j + 1;
                    let mut sum = 0;
                    while k < p.len() && act(p[k]) == Action::Fill {
                        assert_ne!(p[k].side().expect("side"), side);
                        assert_eq!(p[k].price, p[j].price);
                        sum += p[k].size;
                        k += 1;
                    }
                    assert_eq!(sum, p[j].size, "fills add up to the trade");
                    j = k;
                } else {
                    j += 1;
                }
            }
        }
        // the book, rebuilt from the file: consistent when the file has a snapshot
        let with_snapshot = !snap.is_empty();
        let mut orders: HashMap<u64, (u32, bool, i64, u32)> = HashMap::new();
        let mut unknown = 0usize;
        for m in &mbo {
            let bid = m.side().map(|s| s == Side::Bid).unwrap_or(false);
            match act(m) {
                Action::Add => {
                    assert!(orders
                        .insert(m.order_id, (m.hd.instrument_id, bid, m.price, m.size))
                        .is_none());
                    assert!(m.size > 0 && m.price >= MIN_PX);
                }
                Action::Cancel if orders.remove(&m.order_id).is_none() => unknown += 1,
                Action::Modify => {
                    if let Some(o) = orders.get_mut(&m.order_id) {
                        o.2 = m.price;
                        o.3 = m.size;
                    } else {
                        unknown += 1;
                        orders.insert(m.order_id, (m.hd.instrument_id, bid, m.price, m.size));
                    }
                }
                _ => {}
            }
            if m.flags.is_last() && !m.flags.is_snapshot() {
                let iid = m.hd.instrument_id;
                let bb = orders
                    .values()
                    .filter(|o| o.0 == iid && o.1)
                    .map(|o| o.2)
                    .max();
                let ba = orders
                    .values()
                    .filter(|o| o.0 == iid && !o.1)
                    .map(|o| o.2)
                    .min();
                if let (Some(b), Some(a)) = (bb, ba) {
                    assert!(b < a, "crossed book on {iid}: {b} >= {a}");
                }
            }
        }
        if with_snapshot {
            assert_eq!(
                unknown, 0,
                "{path:?}: cancels or modifies of unknown orders"
            );
        }
        (live.len(), trades)
    }

    #[test]
    fn files_decode_with_dbn_and_events_are_well_formed() {
        let dir = tempfile::tempdir().expect("tmp");
        generate_world(Scenario::Normal, 3, dir.path(), 2).expect("generate");
        for f in files(dir.path()) {
            let (n, trades) = check_file(&f);
            assert!(trades > 500, "{f:?}: only {trades} trades in {n} records");
        }
        // the planted flows printed where truth says they did
        let session = read(&dir.path().join("session.dbn.zst"));
        let truth = fs::read_to_string(dir.path().join("truth.jsonl")).expect("truth");
        let mut n = 0;
        for line in truth.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            n += 1;
            let ids: Vec<u32> = v["instruments"]
                .as_array()
                .expect("instruments")
                .iter()
                .map(|x| x.as_u64().expect("id") as u32)
                .collect();
            let (a, b) = (
                v["ts_start"].as_u64().expect("start"),
                v["ts_end"].as_u64().expect("end"),
            );
            assert!(a <= b && v["size"].as_u64().expect("size") > 0);
            assert_eq!(ids.len(), v["raw_symbols"].as_array().expect("syms").len());
            let dir_ok = matches!(v["direction"].as_str(), Some("bullish" | "bearish"));
            assert!(dir_ok);
            let printed = session.iter().any(|r| {
                matches!(r, R::Mbo(m) if m.ts_recv == a
                    && ids.contains(&m.hd.instrument_id)
                    && m.action().ok() == Some(Action::Trade))
            });
            assert!(printed, "no print at the flow's ts_start: {line}");
        }
        assert!(n >= 5, "a normal session plants flows ({n})");
    }

    #[test]
    fn noflow_day_has_large_noise_and_no_truth() {
        let dir = tempfile::tempdir().expect("tmp");
        generate_world(Scenario::Noflow, 2, dir.path(), 0).expect("generate");
        let truth = fs::read_to_string(dir.path().join("truth.jsonl")).expect("truth");
        assert!(truth.trim().is_empty());
        let noise = fs::read_to_string(dir.path().join("noise.jsonl")).expect("noise");
        let kinds: Vec<String> = noise
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json");
                v["kind"].as_str().expect("kind").to_string()
            })
            .collect();
        for k in ["package", "lottery", "dealer_cross"] {
            assert!(kinds.iter().any(|x| x == k), "no {k} on the no-flow day");
        }
        assert!(kinds.len() >= 50, "{} noise prints", kinds.len());
        assert_eq!(Scenario::Noflow.name(), "noflow");
    }

    #[test]
    fn black76_parity_and_tick_grid() {
        for &(f, k, t, v) in &[
            (24_000.0, 23_500.0, 0.05, 0.2),
            (24_000.0, 26_000.0, 0.5, 0.3),
        ] {
            let (c, dc) = black76(f, k, t, v, true);
            let (p, dp) = black76(f, k, t, v, false);
            let df = (-RATE * t).exp();
            assert!((c - p - df * (f - k)).abs() < 1e-3 * f, "parity");
            assert!((dc - dp - df).abs() < 1e-6, "delta parity");
            assert!(c > 0.0 && p > 0.0 && dc > 0.0 && dp < 0.0);
        }
        for &p in &[0.01, 0.07, 4.97, 5.0, 5.1, 123.4] {
            for px in [floor_tick(p), ceil_tick(p)] {
                if px > 0 {
                    assert_eq!(px % tick_at(px), 0, "{p} -> {px} off the grid");
                }
            }
            assert!(ceil_tick(p) as f64 >= p * PX as f64 - 1.0);
            assert!(floor_tick(p) as f64 <= p * PX as f64 + 1.0);
        }
        assert_eq!(up_tick(495 * PX / 100), 5 * PX);
        assert_eq!(down_tick(5 * PX), 495 * PX / 100);
        assert_eq!(down_tick(525 * PX / 100), 5 * PX);
    }

    #[test]
    fn the_session_chain_is_the_september_expiry_week() {
        let e = expiries_for(session_date());
        let codes: Vec<&str> = e.iter().map(|x| x.code.as_str()).collect();
        assert_eq!(
            codes,
            ["Q3BU6", "Q3CU6", "Q3DU6", "NQU6", "QN4U6", "QN1V6", "NQV6", "NQZ6"]
        );
        assert_eq!(e[0].under, 0, "the 0DTE references NQU6");
        assert_eq!(e[4].under, 1, "after the September expiry: NQZ6");
        let h = history_dates(session_date(), 20);
        assert_eq!(h.len(), 20);
        assert!(!h.contains(&NaiveDate::from_ymd_opt(2026, 9, 7).expect("d")));
    }
}

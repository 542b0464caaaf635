//! # ifd-sim
//!
//! A deterministic NQ options market simulator that writes real DBN and knows the truth
//! it planted.
//!
//! Databento cannot be reached from tests and no public NQ options MBO data exists, so
//! the demo, the detection-quality benchmark and many tests run on this simulator. It
//! generates one CME Globex session at a time as `dbn` records in memory
//! ([`SimDay`]), writes them through dbn's own encoder ([`write_dbn`],
//! [`to_dbn_bytes`]) and lists every planted institutional flow ([`Truth`]) and every
//! decoy ([`Decoy`]) beside them.
//!
//! The crate depends on `dbn`, the `rand` family and `ifd-core` (for the CME calendar)
//! only, so any part of the workspace can test against it without pulling in the IO edge.
//!
//! # Quick start
//!
//! ```
//! use ifd_sim::{Preset, SimConfig, Simulator};
//!
//! let sim = Simulator::new(SimConfig::preset(Preset::Quiet, 42));
//! let day = sim.flow_day();
//! assert!(!day.truth.is_empty());
//! let bytes = ifd_sim::to_dbn_bytes(&day, true)?;
//! assert!(!bytes.is_empty());
//! # Ok::<(), ifd_sim::Error>(())
//! ```
//!
//! # The model
//!
//! - **Calendar.** The CME equity calendar of [`ifd_core::calendar`]: day `N` is the
//!   `N`-th CME trading date on or after [`SimConfig::start_date`] (weekends and exchange
//!   holidays skipped), and its session is that date's Globex session: 17:00 CT of the
//!   previous day to 16:00 CT on an ordinary day; after a holiday with an early halt it
//!   also holds the holiday's segment (no records in the gap between); early closes
//!   (12:15 CT) end it early. Expiries listed each day: the same-day option (`Q1A`..,
//!   `QN1`.. codes, 15:00 CT), the next Friday weekly (`QN{week}`), end of month (`QNE`)
//!   and the front quarterly (`NQ`, 08:30 CT on the third Friday), all on the front
//!   quarterly future (`NQZ6` etc.), which is also simulated.
//! - **Definitions.** One `InstrumentDefMsg` per contract at the start of the file:
//!   asset `NQ` (real weeklies carry their own product code as asset; the simulator
//!   keeps `NQ` so one asset filter finds the chain), raw symbols like `NQZ6 C21000` or
//!   `QN2X6 P20950`, strike in 1e-9, `unit_of_measure_qty` 20 (`IPNT`), class C/P,
//!   `OOF`, CFI `OCAFPS`/`OPAFPS`, `min_price_increment` undefined and
//!   `contract_multiplier` null as on CME. Instrument ids are a pure function of the
//!   contract, so a contract keeps its id across days.
//! - **Underlying.** A Brownian bridge from each day's open to the next day's open
//!   (daily returns drawn at [`SimConfig::annual_vol`]), with per-second volatility
//!   following the activity profile and Poisson jumps ([`SimConfig::jumps_per_day`]).
//! - **Option values.** Black-76 on the future with a skewed, convex smile in
//!   log-moneyness over the square root of time; premium ticks are 0.05 below 5.00 and
//!   0.25 from 5.00 up.
//! - **Market makers.** [`SimConfig::market_makers`] of them, each with its own spread,
//!   size and modify-versus-cancel/replace habit, quote both sides of every contract at
//!   [`SimConfig::mm_levels`] levels with persistent order ids. Quote refreshes arrive as
//!   a Poisson process following the activity profile, favouring contracts near the
//!   money; a refresh moves stale quotes (modify, or cancel and add a new id), and
//!   otherwise flickers one order. Quotes never cross the book. They make about 90% of
//!   the records, as in real MBO.
//! - **Retail and hedging.** Small takers hit the touch with heavy-tailed (Pareto) sizes;
//!   market makers replenish hit quotes within milliseconds and hedge option fills in
//!   the future with the option delta.
//! - **Records.** Databento's CME normalisation: a trade is a `T` per price level
//!   (aggressor side and the aggressor's order id, as in real GLBX files) with the `F`
//!   records of the resting orders it hit, then, one sequence number later, the `C`
//!   (filled) and `M` (partly filled) records that change the book; `LAST` (with
//!   `PUBLISHER_SPECIFIC`, flags 130) marks the last record of every event. Each
//!   instrument starts with an `R`; with [`SimConfig::snapshot_start`] the opening book
//!   comes as `SNAPSHOT|BAD_TS_RECV` adds. `ts_recv` never decreases, `ts_event` is a
//!   few hundred microseconds earlier, sequence numbers increase per packet, and every
//!   `C`/`M`/`F` refers to an order that is resting at that moment.
//! - **Statistics** ([`SimConfig::statistics`]): open interest of every contract before
//!   the open, and its settlement price and cleared volume after the close, as
//!   `StatMsg` records.
//! - **Feeds** ([`Feed`]): a parent `NQ.OPT` subscription carries the options only
//!   (definitions, `R` or snapshot, MBO, statistics) and the future comes with `NQ.FUT`;
//!   [`SimDay::options_records`] and [`SimDay::futures_records`] split a session that
//!   way, [`write_feed_dbn`] writes either file, and [`SimDay::records`] is the
//!   combined stream (both merged in time order).
//! - **Mid-session start** ([`SimConfig::start_offset_minutes`]): the file starts that
//!   many minutes into the session with no `R` and no snapshot, so orders added earlier
//!   are absent while later `C`/`M`/`F` records may refer to them, as in a Databento
//!   download whose range starts mid-session.
//! - **Activity.** A busy reopen at 17:00 CT, a quiet night with a European bump, and a
//!   U over the regular session (08:30 CT open and 15:00 CT close busier than midday).
//! - **Planted flows** ([`FlowConfig`], only in planted sessions): sweeps through
//!   several levels (sometimes on adjacent strikes at once), blocks against a
//!   facilitation order, cross-strike same-side takes within milliseconds, icebergs
//!   refilled at one price, and slow accumulation over many minutes; random side,
//!   call or put, and expiry.
//! - **Information** ([`SimConfig::information`], off in the presets): each planted flow
//!   is informed with probability `p`, and after an informed flow the underlying drifts
//!   by `μ` in its direction (onset, build-up, decay); [`Truth::informed`] says which.
//! - **Decoys** ([`DecoyConfig`], every session): very large two-sided quotes posted
//!   and pulled, bursts of 1-lot trades of both sides, a volatility re-mark that
//!   reprices every quote at once, stretches of doubled quote traffic, and
//!   market-maker hedges.
//! - **Real-world prints** (decoys too; [`DecoyConfig::with_real_world_prints`], on in
//!   [`Preset::NoFlow`]): multi-leg packages of every [`PackageStructure`], each leg one
//!   print taking the touch within milliseconds of the others (the touch topped up by a
//!   market maker as implied spread liquidity would be), synthetics, risk reversals and
//!   verticals tied to the future; lottery tickets (hundreds of lots at a few ticks on
//!   deep wings the chain then lists); dealer crosses (one market maker posts inside the
//!   spread, another takes it in full within milliseconds, both re-quote). The decoy
//!   record names the kind, and [`Decoy::package`] the structure and legs.
//! - **Perturbed worlds** ([`Perturbation`], [`SimConfig::perturbed`]): instead of a
//!   preset's one market, a market drawn per seed from a wide documented range around
//!   it (retail rate and size tail, [`Background`]; market makers' number, levels,
//!   sizes and spreads; strikes, volatility, jumps; decoy and real-world print counts
//!   and sizes; planted flow sizes) and its structure ([`MarketStructure`]: market
//!   makers that modify in place or refill at one price after a hit, retail marketable
//!   limits that rest, retail clustered at the open and close and in bursts, one-sided
//!   retail herds). The presets themselves are unchanged.
//!
//! # Determinism
//! Every random draw comes from a ChaCha8 generator seeded from (seed, day, stream);
//! no output depends on hash-map iteration order. The same configuration gives
//! byte-identical files.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod calendar;
mod chain;
mod error;
mod generator;
mod perturb;
mod pricing;
mod stats;
mod truth;
mod write;

use std::num::NonZeroU64;
use std::ops::{Range, RangeInclusive};

use dbn::{
    InstrumentDefMsg, MboMsg, Metadata, MetadataBuilder, RecordEnum, RecordRef, SType, StatMsg,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

pub use calendar::ExpiryKind;
pub use chain::{ContractKind, SimContract};
pub use chrono::NaiveDate;
pub use error::{Error, Result};
pub use generator::{information_path, InformedPath, PlannedFlow};
pub use perturb::Perturbation;
pub use truth::{
    Decoy, DecoyKind, FlowKind, PackageLeg, PackageStructure, PackageTruth, Participant, Truth,
    TruthDirection, TruthSide,
};
pub use write::{
    decoys_to_jsonl, feed_to_dbn_bytes, to_dbn_bytes, truth_from_jsonl, truth_to_jsonl, write_dbn,
    write_decoys_jsonl, write_feed_dbn, write_truth_jsonl,
};

/// The record budget of [`Preset::Normal`] (and the unit of [`Preset::Busy`]'s).
const NORMAL_RECORDS_PER_DAY: u64 = 300_000;

/// Size presets of the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// A small chain and ~30k records a day: for debug-build tests.
    Quiet,
    /// The default: four expiries, ~300k records a day.
    Normal,
    /// Three times Normal's background flow: Normal's chain, market makers, planted
    /// flows and decoys with exactly three times its record budget (900k records a
    /// day). Every background rate (quote refreshes, retail takes, and the hedges and
    /// refills they cause) is proportional to `records_per_day` over the same chain and
    /// activity profile, so each is exactly 3× Normal's.
    Busy,
    /// Benchmarks: ~5M records a day by default; raise `records_per_day` for more.
    Large,
    /// A day without institutional flow: Normal's chain and background, no planted flow
    /// (the flow day's truth is empty), and large non-institutional prints: the classic
    /// decoys three times over, and three packages of every structure, six lottery
    /// tickets and six dealer crosses a session ([`DecoyConfig::with_real_world_prints`]).
    /// Serialised and parsed as `noflow`.
    #[serde(rename = "noflow")]
    NoFlow,
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "quiet" => Ok(Self::Quiet),
            "normal" => Ok(Self::Normal),
            "busy" => Ok(Self::Busy),
            "large" => Ok(Self::Large),
            "noflow" | "no_flow" => Ok(Self::NoFlow),
            other => Err(format!(
                "unknown preset {other:?} (quiet|normal|busy|large|noflow)"
            )),
        }
    }
}

/// How many flows of each kind a planted session gets, and their parameters.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FlowConfig {
    /// Number of blocks.
    pub blocks: u32,
    /// Number of sweeps.
    pub sweeps: u32,
    /// Number of cross-strike flows.
    pub cross_strikes: u32,
    /// Number of icebergs.
    pub icebergs: u32,
    /// Number of accumulations.
    pub accumulations: u32,
    /// Block size in contracts.
    pub block_size: RangeInclusive<u32>,
    /// Price levels a sweep takes (at least 2).
    pub sweep_levels: RangeInclusive<u32>,
    /// Probability that a sweep also hits one or two adjacent strikes at once.
    pub sweep_multi_strike_prob: f64,
    /// Strikes hit by a cross-strike flow (at least 2).
    pub cross_strike_strikes: RangeInclusive<u32>,
    /// Gap between the strikes of a cross-strike flow, in microseconds.
    pub cross_strike_gap_us: RangeInclusive<u64>,
    /// Displayed size of an iceberg.
    pub iceberg_display: RangeInclusive<u32>,
    /// Total size an iceberg wants (at least three times its display).
    pub iceberg_total: RangeInclusive<u32>,
    /// Duration of an accumulation, in minutes.
    pub accumulation_minutes: RangeInclusive<u32>,
    /// Number of takes of an accumulation.
    pub accumulation_trades: RangeInclusive<u32>,
    /// Contracts per accumulation take (capped by the touch).
    pub accumulation_clip: RangeInclusive<u32>,
    /// How institutions size a flow in risk terms ([`RiskSizing`]); `None` plants each
    /// flow on its drawn strike whatever that contract is worth.
    pub risk: Option<RiskSizing>,
}

/// How an institution sizes a planted flow in risk terms: it trades a contract on which
/// its order is worth at least the pattern's premium and whose |delta| is at least
/// `min_abs_delta`.
///
/// A flow is planned on a strike drawn a few strikes out of the money; when that
/// contract's fair value times the flow's planned contracts (times the $20 multiplier) is
/// under the premium, or its |delta| under the floor, the flow moves one strike towards
/// the money at a time, then to the next expiry; a flow no listed contract can host
/// (the underlying has run past the chain's last strike, every contract of its kind a
/// far wing) is not planted. Late in a session the shortest
/// expiry's wings are worth a few ticks: without this rule the simulator planted
/// "institutional" blocks of 200–660 lots at 0.10–0.60 ($1–4k of premium), sweeps of
/// 226–563 lots at 0.22–0.34 and accumulations of 264–550 lots at 0.09–0.20, which
/// issue 18 defines as lottery tickets, not institutional flow (500 lots at 0.10 on a
/// 0.02-delta wing is not a block). The defaults are the risk sizes of the issue as
/// `ifd-patterns` reads them (its `DetectorConfig` premium floors; this crate does not
/// depend on it). The planned contracts are the block's size, the sweep's levels as
/// the book shows them, the iceberg's total and the accumulation's takes times its
/// mean clip; cross-strike flows (touch takes of a few lots a strike) are not sized.
/// Choosing the contract draws nothing from the session's random streams.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RiskSizing {
    /// Smallest premium of a block, USD (default 25,000).
    pub block_premium: f64,
    /// Smallest premium of a sweep, USD (default 5,000).
    pub sweep_premium: f64,
    /// Smallest premium of an iceberg's planned total, USD (default 10,000).
    pub iceberg_premium: f64,
    /// Smallest premium of an accumulation's planned contracts, USD (default 10,000).
    pub accumulation_premium: f64,
    /// Smallest |delta| of the contract (default 0.10: a directional view on a
    /// contract of a few deltas is a lottery ticket).
    pub min_abs_delta: f64,
}

impl Default for RiskSizing {
    fn default() -> Self {
        Self {
            block_premium: 25_000.0,
            sweep_premium: 5_000.0,
            iceberg_premium: 10_000.0,
            accumulation_premium: 10_000.0,
            min_abs_delta: 0.10,
        }
    }
}

impl FlowConfig {
    /// `n` flows of every kind with the default parameters.
    #[must_use]
    pub fn each(n: u32) -> Self {
        Self {
            blocks: n,
            sweeps: n,
            cross_strikes: n,
            icebergs: n,
            accumulations: n,
            block_size: 200..=800,
            sweep_levels: 3..=6,
            sweep_multi_strike_prob: 0.3,
            cross_strike_strikes: 3..=6,
            cross_strike_gap_us: 50..=3_000,
            iceberg_display: 10..=25,
            iceberg_total: 200..=600,
            accumulation_minutes: 20..=90,
            accumulation_trades: 20..=60,
            accumulation_clip: 5..=25,
            risk: Some(RiskSizing::default()),
        }
    }
}

/// How many decoys of each kind every session gets.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DecoyConfig {
    /// Very large two-sided quotes posted and pulled.
    pub large_quotes: u32,
    /// Bursts of 1-lot trades of both sides.
    pub one_lot_bursts: u32,
    /// Volatility re-marks repricing every quote at once.
    pub reprice_all: u32,
    /// Stretches of doubled quote traffic.
    pub traffic_surges: u32,
    /// Whether market makers hedge option fills in the future.
    pub hedges: bool,
    /// Probability that a market maker hedges a fill of at least one delta-lot.
    pub hedge_prob: f64,
    /// Multi-leg packages ([`DecoyKind::Package`]); the structures are taken in turn
    /// from [`PackageStructure::ALL`] starting at a seeded offset, so eight packages
    /// give one of each.
    pub packages: u32,
    /// Contracts per unit leg of a package (ratio legs print a multiple).
    pub package_size: RangeInclusive<u32>,
    /// Lottery tickets ([`DecoyKind::LotteryTicket`]).
    pub lottery_tickets: u32,
    /// Contracts of a lottery ticket.
    pub lottery_size: RangeInclusive<u32>,
    /// Dealer-to-dealer crosses ([`DecoyKind::DealerCross`]).
    pub dealer_crosses: u32,
    /// Contracts of a dealer cross.
    pub dealer_cross_size: RangeInclusive<u32>,
    /// Gap between two legs of a package, ns (0.2 to 3 ms by default; an empty range
    /// gives its start).
    pub package_leg_gap_ns: Range<u64>,
}

impl DecoyConfig {
    /// `n` decoys of every kind, with hedging on.
    #[must_use]
    pub fn each(n: u32) -> Self {
        Self {
            large_quotes: n,
            one_lot_bursts: n,
            reprice_all: n,
            traffic_surges: n,
            hedges: true,
            hedge_prob: 0.15,
            packages: 0,
            package_size: 50..=400,
            lottery_tickets: 0,
            lottery_size: 200..=900,
            dealer_crosses: 0,
            dealer_cross_size: 25..=250,
            package_leg_gap_ns: 200_000..3_000_000,
        }
    }

    /// The real-world prints of issue 18 on top: `n` packages of every structure
    /// (`8 n` packages), `2 n` lottery tickets and `2 n` dealer crosses a session.
    ///
    /// Off in the presets except [`Preset::NoFlow`] until the detectors recognise them
    /// (the engine's tests expect no signal from the classic decoys); the
    /// detection-quality benchmark turns them on everywhere.
    #[must_use]
    pub fn with_real_world_prints(mut self, n: u32) -> Self {
        self.packages = 8 * n;
        self.lottery_tickets = 2 * n;
        self.dealer_crosses = 2 * n;
        self
    }
}

/// Configuration of the simulator. Start from [`SimConfig::preset`] and adjust fields.
///
/// Out-of-range values are clamped when a session is generated: 1 to 4 expiries, 1 to
/// 60 strikes per side, 1 to 16 market makers, 1 to 6 levels.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SimConfig {
    /// The seed of every random draw.
    pub seed: u64,
    /// The preset the sizes came from.
    pub preset: Preset,
    /// Day 0 is the first CME trading date on or after this date; later days are the
    /// following trading dates (weekends and exchange holidays skipped).
    pub start_date: NaiveDate,
    /// Expiries listed per day (1 to 4: daily, weekly, monthly, quarterly).
    pub expiries: usize,
    /// Strikes each side of the money per expiry.
    pub strikes_per_side: usize,
    /// Number of market makers.
    pub market_makers: usize,
    /// Price levels each market maker quotes per side.
    pub mm_levels: usize,
    /// Target record count of a session (the generated count lands near it).
    pub records_per_day: u64,
    /// Underlying level on day 0.
    pub start_price: f64,
    /// Annualised volatility of the underlying (and ATM implied volatility).
    pub annual_vol: f64,
    /// Mean number of jumps of the underlying per session.
    pub jumps_per_day: f64,
    /// Start each session with a book snapshot (`SNAPSHOT|BAD_TS_RECV` adds).
    pub snapshot_start: bool,
    /// Write statistics records: open interest of every contract before the open,
    /// settlement price and cleared volume after the close (`StatMsg`, stat types
    /// `OpenInterest`, `SettlementPrice`, `ClearedVolume`; `ts_ref` is the trading date
    /// the value refers to). Real `NQ.OPT` data carries them, and `simulate` writes them
    /// by default; the presets leave them out: with open interest, v1.0's rule (volume
    /// ≥ 10 × open interest in a 5-minute window) never fires on the demo session (0
    /// signals, against 5 from its baseline-relative rule without open interest), which
    /// would leave v3 nothing to be compared with.
    ///
    /// CME publishes a trading date's cleared volume the next morning; the simulator
    /// publishes it right after the session it counts, so it equals the session's
    /// traded contracts.
    pub statistics: bool,
    /// Start the written session this many minutes after its open (0: at the open).
    ///
    /// The session is generated whole and cut: records with `ts_recv` before the cut are
    /// dropped, so there is no `R` and no snapshot, orders that rest from before the cut
    /// are absent, and later `C`/`M`/`F` records may refer to them. Definitions stay at
    /// the head of the file (stamped at the cut); truth and decoys that ended before the
    /// cut are dropped. Values past the session's end are clamped to its last minute.
    pub start_offset_minutes: u32,
    /// History days before the flow day in [`Simulator::history_and_flow`].
    pub history_days: u32,
    /// Planted flows (planted sessions only).
    pub flows: FlowConfig,
    /// Decoys (every session).
    pub decoys: DecoyConfig,
    /// Information carried by planted flows: the underlying drifts after an informed
    /// flow in its direction. `None` (the presets): the underlying ignores every flow.
    pub information: Option<Information>,
    /// Market makers as auto-quoters (`None` in the presets, which keeps their streams
    /// as they are): whenever the underlying has moved by `move_points` since the last
    /// sweep, every market maker re-quotes the future and every option whose |delta|
    /// lies in `[min_abs_delta, max_abs_delta]`, as real quoting engines do on every
    /// move of the future. Near-the-money books then hold put–call parity to the
    /// rounding of the premium grid, at the price of many more records.
    pub auto_quote: Option<AutoQuote>,
    /// The shape of the background market: retail takers' rate and size tail, market
    /// makers' sizes and spreads ([`Background::default`] in the presets).
    pub background: Background,
    /// The structure of the background market: how market makers reprice and refill,
    /// how retail orders rest and cluster in time, retail herds
    /// ([`MarketStructure::default`], every habit off, in the presets).
    pub structure: MarketStructure,
}

/// Structural habits of the background market beyond its numbers (see
/// [`SimConfig::structure`]). An independently built market differs from this
/// simulator's presets less in its rates than in how its participants behave; these
/// habits are what real CME options MBO shows and the presets leave out. The default
/// turns every one off (the presets' market, byte for byte); [`Perturbation`] draws
/// others. None of them is institutional: they add no truth.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MarketStructure {
    /// Share of market makers that reprice by modifying their orders in place only
    /// (never cancel and add a new id); the others keep their own mix (0 by default).
    pub mm_modify_only_share: f64,
    /// Probability that a market maker whose quote is hit puts the same size back at
    /// the same price right after, whatever fair value does: a new order id after a
    /// full fill, its size modified back up after a partial one (0 by default: market
    /// makers re-quote around fair value instead). On MBO this is a refill at one price,
    /// the trace an iceberg leaves too.
    pub mm_refill_prob: f64,
    /// Delay of such a refill after the hit, ns.
    pub mm_refill_delay_ns: Range<u64>,
    /// Share of retail takes that are marketable limit orders for their whole size:
    /// what the touch does not fill rests at the limit (the traded price) under the
    /// aggressor's order id, as CME shows it (0 by default: retail takes at most the
    /// touch).
    pub retail_rest_share: f64,
    /// How long a rested retail remainder stays before it is cancelled (if not
    /// filled), ns.
    pub retail_rest_ns: Range<u64>,
    /// Factor on the retail take rate in the first and the last half hour of regular
    /// trading (08:30–09:00 and 14:30–15:00 CT): 1 by default.
    pub open_close_ramp: f64,
    /// Retail bursts a session: stretches in which retail takes (both sides) arrive
    /// `retail_burst_rate` times as often (0 by default).
    pub retail_bursts: u32,
    /// Factor on the retail take rate within a burst.
    pub retail_burst_rate: f64,
    /// Length of a burst, minutes.
    pub retail_burst_minutes: RangeInclusive<u32>,
    /// Retail herds a session ([`DecoyKind::RetailHerd`]): many small retail takes on
    /// one contract for minutes, nearly all of one side (0 by default).
    pub herds: u32,
    /// Length of a herd, minutes.
    pub herd_minutes: RangeInclusive<u32>,
    /// Mean gap between two takes of a herd, ms.
    pub herd_gap_ms: RangeInclusive<u64>,
    /// Share of a herd's takes on its side.
    pub herd_one_sided: f64,
}

impl Default for MarketStructure {
    fn default() -> Self {
        Self {
            mm_modify_only_share: 0.0,
            mm_refill_prob: 0.0,
            mm_refill_delay_ns: 100_000..2_000_000,
            retail_rest_share: 0.0,
            retail_rest_ns: 1_000_000_000..60_000_000_000,
            open_close_ramp: 1.0,
            retail_bursts: 0,
            retail_burst_rate: 1.0,
            retail_burst_minutes: 2..=10,
            herds: 0,
            herd_minutes: 5..=20,
            herd_gap_ms: 3_000..=10_000,
            herd_one_sided: 0.9,
        }
    }
}

/// The shape of the background market beyond the record budget (see
/// [`SimConfig::background`]). The defaults are the presets' market; [`Perturbation`]
/// draws others.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Background {
    /// Factor on the rate of retail takes (options and the future) at a given record
    /// budget: 1 by default.
    pub taker_rate: f64,
    /// Pareto shape of retail take sizes (scale 1 lot): 1.35 by default; lower is a
    /// heavier tail.
    pub size_tail: f64,
    /// Largest retail take, contracts: 100 by default.
    pub size_cap: u32,
    /// Factor on every market maker's quote sizes: 1 by default.
    pub mm_size: f64,
    /// Factor on every market maker's option half spread: 1 by default.
    pub mm_spread: f64,
}

impl Default for Background {
    fn default() -> Self {
        Self {
            taker_rate: 1.0,
            size_tail: 1.35,
            size_cap: 100,
            mm_size: 1.0,
            mm_spread: 1.0,
        }
    }
}

/// Sweep re-quoting of the near-the-money books (see [`SimConfig::auto_quote`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoQuote {
    /// Move of the underlying (index points) that triggers a sweep.
    pub move_points: f64,
    /// Smallest |delta| of an option swept.
    pub min_abs_delta: f64,
    /// Largest |delta| of an option swept.
    pub max_abs_delta: f64,
}

/// The information planted flows carry (see [`SimConfig::information`]).
///
/// Each planted flow is informed with probability `p`. After an informed flow of
/// direction `d` (+1 bullish, −1 bearish) planned at `t₀`, the underlying's path is
/// multiplied by `exp(d · mu_bp/10⁴ · g)`, where `g` is 0 until `t₀ + onset_ns`, rises
/// linearly to 1 over `horizon_ns`, then stays at 1 (`decay_ns: None`) or decays
/// exponentially with time constant `decay_ns`. Uninformed flows and decoys move nothing.
/// [`Truth::informed`] records the draw. [`information_path`] runs the same model
/// without the book, for experiments over many seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Information {
    /// Probability that a planted flow is informed, in `[0, 1]` (clamped).
    pub p: f64,
    /// Size of an informed flow's drift, bp of the underlying (non-finite: none).
    pub mu_bp: f64,
    /// Delay from the flow's planned start to the drift's start, ns.
    pub onset_ns: u64,
    /// Time over which the drift builds up linearly, ns.
    pub horizon_ns: u64,
    /// Time constant of the drift's exponential decay after the build-up, ns (`None`:
    /// permanent, `Some(0)`: gone at once).
    pub decay_ns: Option<u64>,
}

impl SimConfig {
    /// The configuration of a preset.
    #[must_use]
    pub fn preset(preset: Preset, seed: u64) -> Self {
        let (records, expiries, strikes, mms, levels, flows, decoys) = match preset {
            Preset::Quiet => (30_000, 2, 8, 2, 2, 1, 1),
            Preset::Normal => (NORMAL_RECORDS_PER_DAY, 4, 12, 4, 3, 2, 2),
            Preset::Busy => (3 * NORMAL_RECORDS_PER_DAY, 4, 12, 4, 3, 2, 2),
            Preset::Large => (5_000_000, 4, 30, 6, 4, 4, 6),
            Preset::NoFlow => (NORMAL_RECORDS_PER_DAY, 4, 12, 4, 3, 0, 6),
        };
        let decoys = if preset == Preset::NoFlow {
            DecoyConfig::each(decoys).with_real_world_prints(3)
        } else {
            DecoyConfig::each(decoys)
        };
        Self {
            seed,
            preset,
            start_date: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
            expiries,
            strikes_per_side: strikes,
            market_makers: mms,
            mm_levels: levels,
            records_per_day: records,
            start_price: 21_000.0,
            annual_vol: 0.22,
            jumps_per_day: 1.5,
            snapshot_start: false,
            statistics: false,
            start_offset_minutes: 0,
            history_days: 20,
            flows: FlowConfig::each(flows),
            decoys,
            information: None,
            auto_quote: None,
            background: Background::default(),
            structure: MarketStructure::default(),
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::preset(Preset::Normal, 0)
    }
}

/// Counters of one generated session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SimStats {
    /// `A` records.
    pub adds: u64,
    /// `C` records.
    pub cancels: u64,
    /// `M` records.
    pub modifies: u64,
    /// `T` records.
    pub trades: u64,
    /// `F` records.
    pub fills: u64,
    /// `R` records.
    pub clears: u64,
    /// Market-maker quote events that wrote records.
    pub quote_events: u64,
    /// Match events (one aggressor order each).
    pub trade_events: u64,
    /// Contracts traded.
    pub traded_contracts: u64,
    /// Market-maker hedges in the future.
    pub hedges: u64,
    /// Orders created.
    pub orders: u64,
}

/// One simulated session.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimDay {
    /// Day index (0-based) within the simulation.
    pub day_index: u32,
    /// The trade date.
    pub trade_date: NaiveDate,
    /// Session start (the first Globex open of the trade date's session, 17:00 CT),
    /// UNIX ns.
    pub session_start: u64,
    /// Session end (16:00 CT, or the early close), UNIX ns.
    pub session_end: u64,
    /// Start of the written data, UNIX ns: the session start, or the cut of a
    /// mid-session start ([`SimConfig::start_offset_minutes`]). The metadata's `start`.
    pub data_start: u64,
    /// Whether institutional flow was planted.
    pub planted: bool,
    /// DBN metadata of the combined stream: GLBX.MDP3, mixed schema, `stype_in` parent,
    /// symbols `["NQ.OPT"]` (see [`SimDay::feed_metadata`] for each feed's own).
    pub metadata: Metadata,
    /// Definitions, written first (their `ts_recv` precedes every other record); the
    /// future's comes first.
    pub definitions: Vec<InstrumentDefMsg>,
    /// Statistics records in `ts_recv` order (empty unless [`SimConfig::statistics`]).
    pub statistics: Vec<StatMsg>,
    /// MBO records in `ts_recv` order.
    pub mbo: Vec<MboMsg>,
    /// The contracts, in definition order.
    pub contracts: Vec<SimContract>,
    /// The planted flows.
    pub truth: Vec<Truth>,
    /// The decoys.
    pub decoys: Vec<Decoy>,
    /// Owner of every order id (ascending by id), for market-maker recognition tests.
    pub order_owners: Vec<(u64, Participant)>,
    /// Counters of the generated session (before any mid-session cut).
    pub stats: SimStats,
    /// The underlying's true level (index points) at each second from
    /// [`SimDay::session_start`]: the forward the market makers quote the future and
    /// the options around (see [`SimDay::true_underlying`]). Kept whole for a
    /// mid-session start.
    pub underlying_path: Vec<f64>,
    /// Instrument ids of the futures in the chain (one: the front quarterly).
    future_ids: Vec<u32>,
}

/// Which records of a session a file or stream holds, as Databento delivers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feed {
    /// Everything: the future and the options merged in time order (one file, the
    /// layout of a download of both parents, or of the simulator before feeds).
    Combined,
    /// A parent `NQ.OPT` subscription: the options' definitions, `R` or snapshot, MBO
    /// and statistics; no record of the future.
    Options,
    /// A parent `NQ.FUT` subscription (the front future only here): its definition,
    /// `R` or snapshot, MBO and statistics.
    Futures,
}

impl Feed {
    /// Whether this feed carries records of an instrument that is (or is not) a future.
    #[must_use]
    pub const fn carries(self, future: bool) -> bool {
        match self {
            Self::Combined => true,
            Self::Options => !future,
            Self::Futures => future,
        }
    }
}

/// The records of one feed of a session, borrowed, in file order: definitions, then
/// statistics and MBO merged by `ts_recv` (MBO first at equal times).
#[derive(Debug, Clone)]
pub struct FeedRecords<'a> {
    day: &'a SimDay,
    feed: Feed,
    def: usize,
    stat: usize,
    mbo: usize,
}

impl<'a> FeedRecords<'a> {
    fn carries(&self, instrument_id: u32) -> bool {
        self.feed
            .carries(self.day.future_ids.contains(&instrument_id))
    }
}

impl<'a> Iterator for FeedRecords<'a> {
    type Item = RecordRef<'a>;

    fn next(&mut self) -> Option<RecordRef<'a>> {
        let day = self.day;
        while let Some(d) = day.definitions.get(self.def) {
            self.def += 1;
            if self.carries(d.hd.instrument_id) {
                return Some(RecordRef::from(d));
            }
        }
        while day
            .statistics
            .get(self.stat)
            .is_some_and(|s| !self.carries(s.hd.instrument_id))
        {
            self.stat += 1;
        }
        while day
            .mbo
            .get(self.mbo)
            .is_some_and(|m| !self.carries(m.hd.instrument_id))
        {
            self.mbo += 1;
        }
        match (day.statistics.get(self.stat), day.mbo.get(self.mbo)) {
            (Some(s), Some(m)) if s.ts_recv < m.ts_recv => {
                self.stat += 1;
                Some(RecordRef::from(s))
            }
            (_, Some(m)) => {
                self.mbo += 1;
                Some(RecordRef::from(m))
            }
            (Some(s), None) => {
                self.stat += 1;
                Some(RecordRef::from(s))
            }
            (None, None) => None,
        }
    }
}

impl SimDay {
    /// Number of records of the combined stream (definitions, statistics and MBO).
    #[must_use]
    pub fn record_count(&self) -> usize {
        self.definitions.len() + self.statistics.len() + self.mbo.len()
    }

    /// All records of the combined stream in file order, borrowed.
    pub fn records(&self) -> FeedRecords<'_> {
        self.feed_records(Feed::Combined)
    }

    /// The records of one feed in file order, borrowed.
    pub fn feed_records(&self, feed: Feed) -> FeedRecords<'_> {
        FeedRecords {
            day: self,
            feed,
            def: 0,
            stat: 0,
            mbo: 0,
        }
    }

    /// The records a parent `NQ.OPT` subscription delivers: options only.
    pub fn options_records(&self) -> FeedRecords<'_> {
        self.feed_records(Feed::Options)
    }

    /// The records a parent `NQ.FUT` subscription delivers: the future only.
    pub fn futures_records(&self) -> FeedRecords<'_> {
        self.feed_records(Feed::Futures)
    }

    /// The underlying's true level at `ts` (UNIX ns, an exchange time such as
    /// `ts_event`), in dbn's fixed point: the second of [`SimDay::underlying_path`] that
    /// holds `ts`, clamped to the session. `None` when the path is empty.
    #[must_use]
    pub fn true_underlying(&self, ts: u64) -> Option<i64> {
        let second = ts.saturating_sub(self.session_start) / calendar::NS_PER_SEC;
        let i = usize::try_from(second)
            .unwrap_or(usize::MAX)
            .min(self.underlying_path.len().checked_sub(1)?);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "index levels times 1e9 are far inside i64"
        )]
        self.underlying_path
            .get(i)
            .map(|&f| (f * 1e9).round() as i64)
    }

    /// Whether `instrument_id` is the chain's future.
    #[must_use]
    pub fn is_future(&self, instrument_id: u32) -> bool {
        self.future_ids.contains(&instrument_id)
    }

    /// The DBN metadata of a feed's file: the combined stream's for
    /// [`Feed::Combined`] and [`Feed::Options`] (symbols `["NQ.OPT"]`), symbols
    /// `["NQ.FUT"]` for [`Feed::Futures`].
    #[must_use]
    pub fn feed_metadata(&self, feed: Feed) -> Metadata {
        match feed {
            Feed::Combined | Feed::Options => self.metadata.clone(),
            Feed::Futures => metadata(self.data_start, self.session_end, "NQ.FUT"),
        }
    }

    /// All records of the combined stream in file order, owned (allocates one
    /// `RecordEnum` per record).
    #[must_use]
    pub fn to_record_enums(&self) -> Vec<RecordEnum> {
        self.records()
            .filter_map(|r| {
                if let Some(m) = r.get::<MboMsg>() {
                    Some(RecordEnum::from(m.clone()))
                } else if let Some(s) = r.get::<StatMsg>() {
                    Some(RecordEnum::from(s.clone()))
                } else {
                    r.get::<InstrumentDefMsg>()
                        .map(|d| RecordEnum::from(d.clone()))
                }
            })
            .collect()
    }

    /// The owner of an order id, if the simulator created it.
    #[must_use]
    pub fn owner_of(&self, order_id: u64) -> Option<Participant> {
        self.order_owners
            .binary_search_by_key(&order_id, |o| o.0)
            .ok()
            .map(|i| self.order_owners[i].1)
    }
}

/// The simulator: a configuration from which any session can be generated on its own.
#[derive(Debug, Clone)]
pub struct Simulator {
    config: SimConfig,
}

impl Simulator {
    /// A simulator for `config` (values out of range are clamped; see [`SimConfig`]).
    #[must_use]
    pub fn new(config: SimConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The trade date of day `day_index`.
    #[must_use]
    pub fn trade_date(&self, day_index: u32) -> NaiveDate {
        calendar::nth_trading_date(self.config.start_date, day_index)
    }

    /// Generates session `day_index`, with institutional flow when `planted`.
    ///
    /// Deterministic in (config, `day_index`, `planted`).
    #[must_use]
    pub fn session(&self, day_index: u32, planted: bool) -> SimDay {
        let cfg = &self.config;
        let trade_date = self.trade_date(day_index);
        let session = calendar::Session::new(trade_date);
        let secs = session.seconds();
        let path = generator::underlying_path(cfg, day_index, secs);
        let atm = path.first().copied().unwrap_or(cfg.start_price);
        let chain = chain::build(
            &session,
            atm,
            cfg.expiries.clamp(1, 4),
            cfg.strikes_per_side.clamp(1, 60),
            // Deep wings for lottery tickets, only when there are any.
            if cfg.decoys.lottery_tickets > 0 { 2 } else { 0 },
        )
        // The symbols are built from short fixed parts; they always fit. Fall back
        // to an empty chain rather than panic if that ever changes.
        .unwrap_or_else(|_| chain::SimChain {
            insts: Vec::new(),
            contracts: Vec::new(),
            definitions: Vec::new(),
            by_expiry: Vec::new(),
        });
        let generated = if chain.insts.is_empty() {
            None
        } else {
            Some(
                generator::SessionGenerator::new(
                    cfg,
                    &chain,
                    session.clone(),
                    path.clone(),
                    day_index,
                )
                .run(planted, day_index),
            )
        };
        let mut g = generated.unwrap_or(generator::Generated {
            mbo: Vec::new(),
            truth: Vec::new(),
            decoys: Vec::new(),
            owners: Vec::new(),
            stats: SimStats::default(),
            path,
        });
        let mut statistics = if cfg.statistics {
            stats::session_statistics(cfg, day_index, &chain, &session, &g.path, &g.mbo)
        } else {
            Vec::new()
        };
        let mut definitions = chain.definitions;
        let data_start = if cfg.start_offset_minutes == 0 {
            session.start
        } else {
            // Cut at least one minute before the end so the file is never empty of time.
            let offset = u64::from(cfg.start_offset_minutes) * 60 * calendar::NS_PER_SEC;
            let cut =
                (session.start + offset).min(session.end.saturating_sub(60 * calendar::NS_PER_SEC));
            g.mbo.retain(|m| m.ts_recv >= cut);
            statistics.retain(|s| s.ts_recv >= cut);
            g.truth.retain(|t| t.ts_end >= cut);
            g.decoys.retain(|d| d.ts_end >= cut);
            for d in &mut definitions {
                d.ts_recv = cut;
            }
            cut
        };
        let future_ids = chain
            .contracts
            .iter()
            .filter(|c| c.kind == ContractKind::Future)
            .map(|c| c.instrument_id)
            .collect();
        SimDay {
            day_index,
            trade_date,
            session_start: session.start,
            session_end: session.end,
            data_start,
            planted,
            metadata: metadata(data_start, session.end, "NQ.OPT"),
            definitions,
            statistics,
            mbo: g.mbo,
            contracts: chain.contracts,
            truth: g.truth,
            decoys: g.decoys,
            order_owners: g.owners,
            stats: g.stats,
            underlying_path: g.path,
            future_ids,
        }
    }

    /// History day `i` (no planted flow).
    #[must_use]
    pub fn history_day(&self, i: u32) -> SimDay {
        self.session(i, false)
    }

    /// The flow day: the session after the history days, with planted flow.
    #[must_use]
    pub fn flow_day(&self) -> SimDay {
        self.session(self.config.history_days, true)
    }

    /// The history days followed by the flow day, generated lazily one at a time
    /// (`history_days + 1` sessions, 21 by default).
    pub fn history_and_flow(&self) -> impl Iterator<Item = SimDay> + '_ {
        let h = self.config.history_days;
        (0..=h).map(move |i| self.session(i, i == h))
    }
}

/// The metadata of a simulated file: GLBX.MDP3, mixed schema, parent symbology.
fn metadata(start: u64, end: u64, parent: &str) -> Metadata {
    MetadataBuilder::new()
        .dataset("GLBX.MDP3")
        .schema(None)
        .start(start)
        .end(NonZeroU64::new(end))
        .stype_in(Some(SType::Parent))
        .stype_out(SType::InstrumentId)
        .symbols(vec![parent.to_owned()])
        .build()
}

/// A uniform draw from an inclusive range given in either order.
pub(crate) fn pick_u32<R: Rng>(rng: &mut R, r: &RangeInclusive<u32>) -> u32 {
    let (a, b) = (*r.start().min(r.end()), *r.start().max(r.end()));
    rng.random_range(a..=b)
}

/// A uniform draw from an inclusive range given in either order.
pub(crate) fn pick_u64<R: Rng>(rng: &mut R, r: &RangeInclusive<u64>) -> u64 {
    let (a, b) = (*r.start().min(r.end()), *r.start().max(r.end()));
    rng.random_range(a..=b)
}

//! Prints the month so far from an ifd-budget ledger file: spend by day and kind, the
//! daily pacing, alerts raised, the month-end projection and cost per signal, with an
//! ASCII bar chart of daily spend against the pacing line.
//!
//! ```text
//! # Show a simulated month (writes the simulated ledger first, atomically):
//! cargo run --example budget -- --simulate-month 2025-03
//! # Show a real ledger as of now (or as of --now):
//! cargo run --example budget -- --ledger path/to/budget.ledger --signals 40 --useful 12
//! ```
//!
//! The simulated month drives a real `Budget` the way the IO edge does: a pre-flight
//! quoted baseline download authorized then recorded, cache hits at zero, live bytes
//! recorded in 15-minute batches during regular trading hours, and the live session
//! obeying the degrade directive it gets back. Its rates are illustrative, not
//! Databento's prices.

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use clap::Parser;
use ifd_budget::calendar::EXCHANGE_TZ;
use ifd_budget::{
    session_date, Alert, AlertScope, Budget, BudgetConfig, ChargeKind, CostModel, DegradeLevel,
    DownloadQuote, Ledger, LivePricing, Month, PriceTable, SignalCounts, TradingCalendar,
};
use rust_decimal::Decimal;

#[derive(Parser, Debug)]
#[command(about = "Month-so-far report of an ifd-budget ledger")]
struct Args {
    /// Ledger file to read (and, with --simulate-month, to write). Defaults to
    /// `<temp dir>/ifd-budget-sim.ledger` when simulating.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Write a simulated month (YYYY-MM) to the ledger file first, then report on it.
    #[arg(long, value_name = "YYYY-MM")]
    simulate_month: Option<String>,
    /// Report as of this instant (RFC 3339); defaults to the end of the simulated month,
    /// or to the current time.
    #[arg(long)]
    now: Option<DateTime<Utc>>,
    /// Monthly budget in USD ($150 to $200).
    #[arg(long, default_value = "175")]
    monthly: Decimal,
    /// Live rate in USD per GB (illustrative default).
    #[arg(long, default_value = "0.90")]
    live_usd_per_gb: Decimal,
    /// Signals emitted this month (for cost per signal); simulated when simulating.
    #[arg(long)]
    signals: Option<u64>,
    /// Signals judged useful this month; simulated when simulating.
    #[arg(long)]
    useful: Option<u64>,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn main() -> Result<()> {
    ifd_examples::exit_quietly_on_closed_pipe();
    let args = Args::parse();
    let config = BudgetConfig::with_monthly(args.monthly)?;
    let model = CostModel::new(
        PriceTable::new(),
        LivePricing::PerGb {
            usd_per_gb: args.live_usd_per_gb,
        },
    )?;
    let mut counts = SignalCounts {
        signals: args.signals.unwrap_or(0),
        useful: args.useful.unwrap_or(0),
    };
    let (path, now) = if let Some(month) = &args.simulate_month {
        let month = parse_month(month)?;
        let path = args
            .ledger
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("ifd-budget-sim.ledger"));
        let sim = simulate_month(month, &config, &model, args.seed)?;
        // Temp file beside the target, fsync, rename: a half-written ledger never
        // replaces a good one.
        ifd_mbo_client::write_atomic(&path, &sim.ledger.to_bytes()?)?;
        println!(
            "simulated {month}: {} charges written to {}",
            sim.ledger.len(),
            path.display()
        );
        // The degrade ladder as the live session saw it, one line per session date
        // (the return to Full at each day's open is left out).
        let mut by_day: std::collections::BTreeMap<NaiveDate, Vec<String>> = Default::default();
        for (at, level) in &sim.directives {
            if *level != DegradeLevel::Full {
                by_day.entry(session_date(*at)).or_default().push(format!(
                    "{level:?} at {}",
                    at.with_timezone(&EXCHANGE_TZ).format("%H:%M")
                ));
            }
        }
        println!("live directives (CT):");
        for (day, steps) in by_day {
            println!("  {}: {}", day.format("%m-%d"), steps.join(", "));
        }
        counts.signals = args.signals.unwrap_or(sim.signals.signals);
        counts.useful = args.useful.unwrap_or(sim.signals.useful);
        (path, args.now.unwrap_or(sim.end))
    } else {
        let Some(path) = args.ledger.clone() else {
            bail!("give --ledger PATH, or --simulate-month YYYY-MM");
        };
        #[allow(
            clippy::disallowed_methods,
            reason = "the example is the IO edge: 'now' for a report on a real ledger"
        )]
        let wall = DateTime::<Utc>::from(std::time::SystemTime::now());
        (path, args.now.unwrap_or(wall))
    };
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    // A ledger that does not decode is reported, never shown as zero spend.
    let ledger = Ledger::from_bytes(&bytes)
        .with_context(|| format!("ledger {} is unreadable", path.display()))?;
    // The month as it stood at `now`: charges after it (a past --now) are left out.
    let mut as_of = Ledger::new();
    for c in ledger.charges().iter().filter(|c| c.at <= now) {
        as_of.append(c.clone())?;
    }
    let alerts: Vec<Alert> = ledger
        .alerts()
        .iter()
        .filter(|a| a.at <= now)
        .cloned()
        .collect();
    let budget = Budget::new(config, TradingCalendar::cme(), model, as_of)?;
    report(&budget, &alerts, now, counts)
}

fn parse_month(s: &str) -> Result<Month> {
    let (y, m) = s.split_once('-').context("month must be YYYY-MM")?;
    Month::new(y.parse()?, m.parse()?).context("month must be YYYY-MM with MM in 01..=12")
}

/// A small deterministic generator (xorshift64*), enough for a demo.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1) with 1e-6 resolution, as a Decimal.
    fn unit(&mut self) -> Decimal {
        Decimal::new(i64::try_from(self.next() % 1_000_000).unwrap_or(0), 6)
    }
}

struct Simulated {
    ledger: Ledger,
    end: DateTime<Utc>,
    signals: SignalCounts,
    /// (time, new level) each time the live session was told to change its width.
    directives: Vec<(DateTime<Utc>, DegradeLevel)>,
}

fn ct(date: NaiveDate, h: u32, m: u32) -> Result<DateTime<Utc>> {
    let naive = date.and_time(NaiveTime::from_hms_opt(h, m, 0).context("time")?);
    Ok(EXCHANGE_TZ
        .from_local_datetime(&naive)
        .single()
        .context("ambiguous CT time")?
        .with_timezone(&Utc))
}

fn simulate_month(
    month: Month,
    config: &BudgetConfig,
    model: &CostModel,
    seed: u64,
) -> Result<Simulated> {
    let cal = TradingCalendar::cme();
    let mut b = Budget::new(config.clone(), cal.clone(), model.clone(), Ledger::new())?;
    let mut rng = Rng(seed.max(1));
    let rate = match model.live {
        LivePricing::PerGb { usd_per_gb } => usd_per_gb,
        _ => Decimal::ONE,
    };
    let mut signals = SignalCounts::default();
    let mut directives = Vec::new();
    let mut end = ct(month.first_day(), 9, 0)?;
    let mut first_trading_day = true;
    for date in month.dates() {
        if !cal.is_trading_day(date)? {
            continue;
        }
        if first_trading_day {
            // The 20-day baseline: quoted, authorized, downloaded, recorded; a re-run of
            // the same request is then served from the cache at zero.
            first_trading_day = false;
            let at = ct(date, 7, 0)?;
            let quote =
                DownloadQuote::preflight("baseline-20d NQ.OPT mbo", 19.87, Some(22_080_000_000))?;
            let auth = b.authorize_download(&quote, at)?;
            b.record_download(auth, quote.dollars(), 22_080_000_000, at)?;
            b.record_cache_hit("baseline-20d NQ.OPT mbo", 22_080_000_000, ct(date, 7, 30)?)?;
        } else if rng.next() % 5 == 0 {
            b.record_cache_hit("definitions NQ.OPT", 48_000_000, ct(date, 7, 15)?)?;
        }
        // Daily live spend around $5.5-8.5 at full width; busy days $10-14, which the
        // degrade ladder has to hold back.
        let busy = rng.next() % 5 == 0;
        let day_target = if busy {
            Decimal::new(100, 1) + rng.unit() * Decimal::new(40, 1)
        } else {
            Decimal::new(55, 1) + rng.unit() * Decimal::new(30, 1)
        };
        let batches = 26u32; // 08:30-15:00 CT in 15-minute steps
        let mut level = DegradeLevel::Full;
        for i in 0..batches {
            let at = ct(date, 8, 30)? + Duration::minutes(15 * i64::from(i));
            end = at;
            if level == DegradeLevel::Stop {
                break;
            }
            let width = match level {
                DegradeLevel::Full => Decimal::ONE,
                DegradeLevel::NearerExpiries => Decimal::new(65, 2),
                _ => Decimal::new(40, 2),
            };
            let jitter = Decimal::new(7, 1) + rng.unit() * Decimal::new(6, 1);
            let usd = day_target / Decimal::from(batches) * jitter * width;
            let bytes = u64::try_from(
                (usd / rate * Decimal::from(1_000_000_000u64))
                    .trunc()
                    .mantissa(),
            )
            .unwrap_or(0);
            let d = b.record_live_bytes("live NQ.OPT", bytes, at)?;
            if d.changed {
                directives.push((at, d.level));
            }
            level = d.level;
        }
        let today = rng.next() % 4;
        signals.signals += today;
        signals.useful += rng.next() % (today + 1);
    }
    Ok(Simulated {
        ledger: b.into_ledger(),
        end,
        signals,
        directives,
    })
}

fn money(x: Decimal) -> String {
    format!("{:.2}", x.round_dp(2))
}

/// `$1.23` or `-$0.14`.
fn dollars(x: Decimal) -> String {
    if x.is_sign_negative() && !x.round_dp(2).is_zero() {
        format!("-${}", money(-x))
    } else {
        format!("${}", money(x))
    }
}

fn report(
    budget: &Budget,
    alerts: &[Alert],
    now: DateTime<Utc>,
    counts: SignalCounts,
) -> Result<()> {
    let today = session_date(now);
    let status = budget.status(now)?;
    let month = status.month;
    let ledger = budget.ledger();
    let days = ledger.days_of(month);
    println!();
    println!(
        "ifd budget: {month} as of {} (session date {today}, America/Chicago)",
        now.with_timezone(&EXCHANGE_TZ).format("%Y-%m-%d %H:%M %Z")
    );
    println!(
        "budget ${}  committed ${}  remaining {}  today's share ${}  today's cap ${}  live now: {:?}",
        money(status.budget),
        money(status.committed),
        dollars(status.remaining),
        money(status.pacing.daily_share),
        money(status.pacing.daily_cap),
        status.degrade
    );
    println!();
    println!(
        "{:<10} {:>3} {:>10} {:>8} {:>9} {:>6} {:>8} {:>7} {:>7}",
        "day", "td", "historical", "live", "cache-hit", "plan", "total", "share", "cap"
    );
    let mut rows = Vec::new();
    for date in month.dates().filter(|d| *d <= today) {
        let t = days.get(&date).copied().unwrap_or_default();
        let p = budget.pacing(date)?;
        if t.count == 0 && !p.trading_day {
            continue;
        }
        println!(
            "{:<10} {:>3} {:>10} {:>8} {:>9} {:>6} {:>8} {:>7} {:>7}",
            date.to_string(),
            if p.trading_day { "*" } else { "" },
            money(t.of(ChargeKind::Historical)),
            money(t.of(ChargeKind::Live)),
            money(t.of(ChargeKind::CacheHit)),
            money(t.of(ChargeKind::Plan)),
            money(t.total()),
            money(p.daily_share),
            money(p.daily_cap),
        );
        rows.push((date, t.live, t.total(), p.daily_share));
    }
    let m = status.month_totals;
    println!(
        "{:<10} {:>3} {:>10} {:>8} {:>9} {:>6} {:>8}",
        "month",
        "",
        money(m.historical),
        money(m.live),
        money(m.cache_hit),
        money(m.plan),
        money(m.total())
    );
    println!("(td * = CME trading day; share/cap = the day's pacing share and live hard cap)");

    println!();
    println!("daily spend ('#' live, '=' downloads and plan fees) against the pacing share ('|'):");
    let width = 50usize;
    let top = rows
        .iter()
        .map(|(_, _, s, p)| (*s).max(*p))
        .max()
        .unwrap_or(Decimal::ONE)
        .max(Decimal::ONE);
    let col = |x: Decimal| -> usize {
        let c = (x / top * Decimal::from(width)).round();
        usize::try_from(c.mantissa()).unwrap_or(0).min(width)
    };
    for (date, live, spent, share) in &rows {
        let mut bar: Vec<char> = vec![' '; width + 1];
        for c in bar.iter_mut().take(col(*spent)) {
            *c = '=';
        }
        for c in bar.iter_mut().take(col(*live)) {
            *c = '#';
        }
        if *share > Decimal::ZERO {
            bar[col(*share)] = '|';
        }
        let bar: String = bar.into_iter().collect();
        println!("{} {} ${}", date.format("%m-%d"), bar, money(*spent));
    }
    println!("scale: {width} columns = ${}", money(top));

    println!();
    let alerts: Vec<_> = alerts
        .iter()
        .filter(|a| match a.scope {
            AlertScope::Month(m) | AlertScope::Projection(m) => m == month,
            AlertScope::Day(d) => month.contains(d),
            _ => false,
        })
        .collect();
    println!("alerts raised ({}):", alerts.len());
    for a in alerts {
        let what = match a.scope {
            AlertScope::Month(_) => "month spend".to_owned(),
            AlertScope::Day(d) => format!("day {d} live"),
            AlertScope::Projection(_) => "projection over budget".to_owned(),
            _ => "other".to_owned(),
        };
        println!(
            "  {}  {:<24} level {:>4}%  ${} of ${}",
            a.at.with_timezone(&EXCHANGE_TZ).format("%m-%d %H:%M"),
            what,
            (a.level * Decimal::ONE_HUNDRED).normalize(),
            money(a.spent),
            money(a.limit)
        );
    }

    println!();
    let p = status.projection;
    println!(
        "projection at the current live rate, before limits: ${} at month end (avg live ${}/trading day elapsed, {} trading days after today){}",
        money(p.projected),
        money(p.avg_daily_live),
        p.trading_days_after,
        if p.over_budget {
            "  OVER BUDGET: the degrade ladder will hold live back"
        } else {
            ""
        }
    );
    let cps = budget.cost_per_signal(month, counts)?;
    let show = |x: Option<Decimal>| x.map_or_else(|| "n/a".to_owned(), money);
    println!(
        "cost per signal: ${} ({} signals); per useful signal: ${} ({} useful); target $5: {}",
        show(cps.per_signal),
        counts.signals,
        show(cps.per_useful),
        counts.useful,
        match cps.meets_target(Decimal::new(5, 0)) {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "no signal yet",
        }
    );
    Ok(())
}

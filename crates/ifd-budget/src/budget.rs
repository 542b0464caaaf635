//! The monthly budget: pacing, alerts, hard limits and the degrade ladder.
//!
//! [`Budget`] owns the [`Ledger`] and is the only way the download and live paths should
//! record spend. It is a state machine: every call takes an explicit `now` and returns
//! what to do (an [`Authorization`], a refusal, a [`LiveDirective`], the [`Alert`]s newly
//! raised). It never reads a clock and never does IO.
//!
//! # Pacing
//!
//! The share of a trading day `D` is fixed for the whole day:
//! `share(D) = floor_cents((budget − committed before D) / trading days left in the month
//! from D)`, where "committed before D" is the month's spend on session dates before `D`
//! plus the month's flat plan fee (recorded on any day, or still pending). A day that is not a trading day has a share of zero.
//! The day's **hard cap** is `min(share × daily_cap_multiple, budget − committed before
//! D)`, rounded down to the cent.
//!
//! The share and cap govern **live** spend. Historical downloads are governed by the
//! month: a download is authorized only if the month's committed spend (recorded charges,
//! outstanding authorizations, an unrecorded plan fee) plus its quote stays within the
//! budget; otherwise it is refused with [`Error::WouldExceedMonth`] before it starts and
//! the ledger is unchanged. A download lowers the shares of the days after it.
//!
//! # Degrade ladder (live)
//!
//! As the day's live spend grows towards the day's hard cap, [`Budget::record_live_bytes`]
//! returns a [`DegradeLevel`], in this fixed order:
//!
//! 1. [`DegradeLevel::Full`]: below `nearer_expiries` × cap (default 80%).
//! 2. [`DegradeLevel::NearerExpiries`]: drop the farthest expiries, keep the nearest.
//! 3. [`DegradeLevel::NearerStrikes`]: from `nearer_strikes` × cap (default 90%), also
//!    narrow the strike bands towards the money.
//! 4. [`DegradeLevel::Stop`]: at the cap, or when the month's committed spend reaches the
//!    budget, or on a day with no share: end the live session.
//!
//! Under a flat monthly plan live bytes cost nothing at the margin, so the ladder stays at
//! `Full` on trading days (and `Stop` on other days) whatever the month's spend.
//!
//! The level never goes back down within a session date (spend only grows); a new session
//! date starts again from its own cap. Live bytes are recorded after they arrive, so the
//! cap can be passed by at most the last recorded batch: record in small batches (for
//! example once a minute per session).
//!
//! # Alerts
//!
//! Each `(scope, level)` pair is raised once and written to the ledger, so a restart does
//! not raise it again: month levels (default 80%, 95%) of the monthly budget, day levels
//! (default 80%) of the day's share (live spend), and one "projected over budget" alert
//! per month once enough trading days have elapsed.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::calendar::{session_date, Month, TradingCalendar};
use crate::cost::{check_usd, CostModel, DownloadQuote};
use crate::error::{Error, Result};
use crate::ledger::{Alert, AlertScope, Charge, ChargeKind, KindTotals, Ledger};
use crate::metrics::{CostPerSignal, SignalCounts};

fn dec(units: i64, scale: u32) -> Decimal {
    Decimal::new(units, scale)
}

fn floor_cents(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::ToZero)
}

fn ceil_cents(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::AwayFromZero)
}

/// Where a live session stands on the degrade ladder (see the module docs). Ordered from
/// least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DegradeLevel {
    /// Keep the full subscription.
    Full,
    /// Narrow the subscription to the nearer expiries.
    NearerExpiries,
    /// Narrow to the nearer expiries and to strike bands nearer the money.
    NearerStrikes,
    /// End the live session for the rest of the session date.
    Stop,
}

/// The monthly budget's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetConfig {
    /// The monthly budget in USD; default $175, accepted $150 to $200.
    pub monthly_usd: Decimal,
    /// Month alert levels as fractions of the budget, each in (0, 1]; default 0.80, 0.95.
    pub month_alert_levels: Vec<Decimal>,
    /// Day alert levels as fractions of the day's share, each in (0, 1]; default 0.80.
    pub day_alert_levels: Vec<Decimal>,
    /// The day's hard cap as a multiple of its share, in [1, 3]; default 1.25.
    pub daily_cap_multiple: Decimal,
    /// Fraction of the day's cap at which live narrows to nearer expiries; default 0.80.
    pub nearer_expiries_at: Decimal,
    /// Fraction of the day's cap at which live also narrows strikes; default 0.90.
    pub nearer_strikes_at: Decimal,
    /// Trading days that must have elapsed in the month before the projection alert can
    /// fire; default 3.
    pub projection_min_days: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            monthly_usd: dec(175, 0),
            month_alert_levels: vec![dec(80, 2), dec(95, 2)],
            day_alert_levels: vec![dec(80, 2)],
            daily_cap_multiple: dec(125, 2),
            nearer_expiries_at: dec(80, 2),
            nearer_strikes_at: dec(90, 2),
            projection_min_days: 3,
        }
    }
}

impl BudgetConfig {
    /// The smallest accepted monthly budget.
    pub const MIN_MONTHLY_USD: Decimal = Decimal::from_parts(150, 0, 0, false, 0);
    /// The largest accepted monthly budget.
    pub const MAX_MONTHLY_USD: Decimal = Decimal::from_parts(200, 0, 0, false, 0);

    /// The default configuration with another monthly budget.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] outside $150–$200.
    pub fn with_monthly(monthly_usd: Decimal) -> Result<Self> {
        let c = Self {
            monthly_usd,
            ..Self::default()
        };
        c.validate()?;
        Ok(c)
    }

    /// Checks every field against its documented range.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, value: Decimal, reason| {
            Err(Error::InvalidConfig {
                field,
                value: value.to_string(),
                reason,
            })
        };
        if self.monthly_usd < Self::MIN_MONTHLY_USD || self.monthly_usd > Self::MAX_MONTHLY_USD {
            return bad(
                "monthly_usd",
                self.monthly_usd,
                "must be within $150..=$200",
            );
        }
        let fraction = |x: Decimal| x > Decimal::ZERO && x <= Decimal::ONE;
        for &l in &self.month_alert_levels {
            if !fraction(l) {
                return bad("month_alert_levels", l, "each level must be in (0, 1]");
            }
        }
        for &l in &self.day_alert_levels {
            if !fraction(l) {
                return bad("day_alert_levels", l, "each level must be in (0, 1]");
            }
        }
        if self.daily_cap_multiple < Decimal::ONE || self.daily_cap_multiple > dec(3, 0) {
            return bad(
                "daily_cap_multiple",
                self.daily_cap_multiple,
                "must be within 1..=3",
            );
        }
        if !fraction(self.nearer_expiries_at) || self.nearer_expiries_at >= Decimal::ONE {
            return bad(
                "nearer_expiries_at",
                self.nearer_expiries_at,
                "must be in (0, 1)",
            );
        }
        if self.nearer_strikes_at < self.nearer_expiries_at
            || self.nearer_strikes_at >= Decimal::ONE
        {
            return bad(
                "nearer_strikes_at",
                self.nearer_strikes_at,
                "must be in [nearer_expiries_at, 1)",
            );
        }
        Ok(())
    }
}

/// The pacing of one session date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// The session date.
    pub date: NaiveDate,
    /// Whether it is a trading day.
    pub trading_day: bool,
    /// Trading days from `date` (inclusive) to the end of the month.
    pub remaining_trading_days: u32,
    /// Month spend committed before `date` (earlier session dates, plus the month's flat
    /// plan fee, recorded or pending).
    pub committed_before: Decimal,
    /// `budget − committed_before`, at least zero.
    pub remaining_budget: Decimal,
    /// The day's share, rounded down to the cent (zero on a non-trading day).
    pub daily_share: Decimal,
    /// The day's hard cap for live spend, rounded down to the cent.
    pub daily_cap: Decimal,
}

/// The month-end projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Projection {
    /// The month projected.
    pub month: Month,
    /// Spend committed so far (recorded plus an unrecorded plan fee).
    pub committed: Decimal,
    /// Average live spend per elapsed trading day (today's spend when none has elapsed).
    pub avg_daily_live: Decimal,
    /// Trading days after the projection date until the month ends.
    pub trading_days_after: u32,
    /// Projected month-end spend, rounded up to the cent.
    pub projected: Decimal,
    /// Whether `projected` exceeds the budget.
    pub over_budget: bool,
}

/// The state of the month at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetStatus {
    /// The month of `now`'s session date.
    pub month: Month,
    /// The budget.
    pub budget: Decimal,
    /// Recorded charges of the month, by kind.
    pub month_totals: KindTotals,
    /// Recorded charges plus outstanding authorizations plus an unrecorded plan fee.
    pub committed: Decimal,
    /// `budget − committed` (negative if an actual charge exceeded its quote).
    pub remaining: Decimal,
    /// Today's pacing.
    pub pacing: Pacing,
    /// Today's live spend.
    pub day_live: Decimal,
    /// Where live stands on the degrade ladder now.
    pub degrade: DegradeLevel,
    /// The month-end projection.
    pub projection: Projection,
}

/// Permission to start one historical download, holding its quote as reserved spend
/// until [`Budget::record_download`] or [`Budget::cancel_download`] settles it. It is
/// settled once: settling a clone again fails with [`Error::UnknownAuthorization`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an authorization reserves budget until it is recorded or cancelled"]
pub struct Authorization {
    id: u64,
    request: String,
    month: Month,
    at: DateTime<Utc>,
    quoted: Decimal,
}

impl Authorization {
    /// The authorization's id.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The request it authorizes.
    #[must_use]
    pub fn request(&self) -> &str {
        &self.request
    }
    /// The reserved (quoted) amount.
    #[must_use]
    pub fn quoted(&self) -> Decimal {
        self.quoted
    }
    /// The month it is charged to.
    #[must_use]
    pub fn month(&self) -> Month {
        self.month
    }
}

/// The outcome of [`Budget::settle_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// What was recorded.
    pub kind: ChargeKind,
    /// Whether the charge settled an authorization held for the request. A non-zero charge
    /// without one is still recorded (money spent is never hidden) but is a bug at the
    /// caller: it downloaded without asking.
    pub authorized: bool,
    /// Alerts newly raised.
    pub alerts: Vec<Alert>,
}

/// What a live session must do after recording its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveDirective {
    /// The degrade level to apply now.
    pub level: DegradeLevel,
    /// Whether the level differs from the last one returned to this session.
    pub changed: bool,
    /// The day's live spend so far.
    pub day_live: Decimal,
    /// The day's hard cap.
    pub daily_cap: Decimal,
    /// Alerts newly raised by this record.
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone)]
struct Reservation {
    month: Month,
    dollars: Decimal,
}

/// The monthly budget over a ledger (see the module docs).
#[derive(Debug, Clone)]
pub struct Budget {
    config: BudgetConfig,
    calendar: TradingCalendar,
    cost: CostModel,
    ledger: Ledger,
    by_day: BTreeMap<NaiveDate, KindTotals>,
    reservations: BTreeMap<u64, Reservation>,
    next_id: u64,
    last_level: BTreeMap<String, DegradeLevel>,
    held: BTreeMap<String, Authorization>,
}

impl Budget {
    /// A budget over an existing ledger (loaded with [`Ledger::from_bytes`], or
    /// [`Ledger::new`] on a fresh installation).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if the configuration is out of range.
    pub fn new(
        config: BudgetConfig,
        calendar: TradingCalendar,
        cost: CostModel,
        ledger: Ledger,
    ) -> Result<Self> {
        config.validate()?;
        let mut by_day: BTreeMap<NaiveDate, KindTotals> = BTreeMap::new();
        for c in ledger.charges() {
            by_day.entry(c.session_date()).or_default().add_charge(c);
        }
        Ok(Self {
            config,
            calendar,
            cost,
            ledger,
            by_day,
            reservations: BTreeMap::new(),
            next_id: 1,
            last_level: BTreeMap::new(),
            held: BTreeMap::new(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &BudgetConfig {
        &self.config
    }

    /// The trading calendar.
    #[must_use]
    pub fn calendar(&self) -> &TradingCalendar {
        &self.calendar
    }

    /// The cost model.
    #[must_use]
    pub fn cost_model(&self) -> &CostModel {
        &self.cost
    }

    /// The ledger (serialise it with [`Ledger::to_bytes`] after each record).
    #[must_use]
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Gives the ledger back.
    #[must_use]
    pub fn into_ledger(self) -> Ledger {
        self.ledger
    }

    fn month_totals(&self, month: Month) -> KindTotals {
        self.sum_days(month.first_day(), month.last_day())
    }

    /// Sums of the session dates in `[from, to]` (empty when `from > to`).
    fn sum_days(&self, from: NaiveDate, to: NaiveDate) -> KindTotals {
        let mut t = KindTotals::default();
        if from <= to {
            for (_, d) in self.by_day.range(from..=to) {
                t.merge(d);
            }
        }
        t
    }

    /// Sums of the session dates of `date`'s month before `date`.
    fn sum_before(&self, date: NaiveDate) -> KindTotals {
        match date.pred_opt() {
            Some(prev) => self.sum_days(Month::of(date).first_day(), prev),
            None => KindTotals::default(),
        }
    }

    /// A flat plan's fee counts as committed until a plan charge of the month is recorded.
    fn pending_plan_fee(&self, recorded: &KindTotals) -> Decimal {
        match self.cost.flat_fee() {
            Some(fee) if recorded.plan.is_zero() => fee,
            _ => Decimal::ZERO,
        }
    }

    fn plan_recorded(&self, month: Month) -> bool {
        self.ledger
            .charges()
            .iter()
            .any(|c| c.kind == ChargeKind::Plan && c.month() == month)
    }

    fn reserved(&self, month: Month) -> Decimal {
        self.reservations
            .values()
            .filter(|r| r.month == month)
            .map(|r| r.dollars)
            .sum()
    }

    /// The month's committed spend: recorded charges, outstanding authorizations and an
    /// unrecorded flat plan fee.
    #[must_use]
    pub fn committed(&self, month: Month) -> Decimal {
        let t = self.month_totals(month);
        t.total() + self.reserved(month) + self.pending_plan_fee(&t)
    }

    /// The pacing of session date `date`.
    ///
    /// # Errors
    /// [`Error::CalendarNotCovered`] if the calendar has no list for the date's year.
    pub fn pacing(&self, date: NaiveDate) -> Result<Pacing> {
        let month = Month::of(date);
        let before = self.sum_before(date);
        let month_all = self.month_totals(month);
        // A plan fee belongs to the whole month: it counts from the first day whether it is
        // still pending or was recorded on any day, so recording it never moves a share.
        let plan = month_all.plan + self.pending_plan_fee(&month_all);
        let committed_before = before.total() - before.plan + plan;
        let remaining_budget = (self.config.monthly_usd - committed_before).max(Decimal::ZERO);
        let trading_day = self.calendar.is_trading_day(date)?;
        let remaining_trading_days = self.calendar.remaining_trading_days(date)?;
        let (daily_share, daily_cap) = if trading_day && remaining_trading_days > 0 {
            let share = floor_cents(remaining_budget / Decimal::from(remaining_trading_days));
            let cap = floor_cents((share * self.config.daily_cap_multiple).min(remaining_budget));
            (share, cap)
        } else {
            (Decimal::ZERO, Decimal::ZERO)
        };
        Ok(Pacing {
            date,
            trading_day,
            remaining_trading_days,
            committed_before,
            remaining_budget,
            daily_share,
            daily_cap,
        })
    }

    fn day_live(&self, date: NaiveDate) -> Decimal {
        self.by_day.get(&date).map_or(Decimal::ZERO, |t| t.live)
    }

    /// The month-end projection as of session date `date`: committed spend, plus the
    /// average live spend per elapsed trading day for the rest of today (if today is a
    /// trading day and its live spend is still below the average) and for each remaining
    /// trading day.
    ///
    /// # Errors
    /// [`Error::CalendarNotCovered`] if the calendar has no list for the date's year.
    pub fn projection(&self, date: NaiveDate) -> Result<Projection> {
        let month = Month::of(date);
        let committed = self.committed(month);
        let elapsed = self.calendar.elapsed_trading_days(date)?;
        let trading_today = self.calendar.is_trading_day(date)?;
        let after = self
            .calendar
            .remaining_trading_days(date)?
            .saturating_sub(u32::from(trading_today));
        let today = self.day_live(date);
        let live_before = self.sum_before(date).live;
        let avg = if elapsed > 0 {
            live_before / Decimal::from(elapsed)
        } else if trading_today {
            today
        } else {
            Decimal::ZERO
        };
        let rest_of_today = if trading_today {
            (avg - today).max(Decimal::ZERO)
        } else {
            Decimal::ZERO
        };
        let projected = ceil_cents(committed + rest_of_today + avg * Decimal::from(after));
        Ok(Projection {
            month,
            committed,
            avg_daily_live: avg.round_dp_with_strategy(6, RoundingStrategy::AwayFromZero),
            trading_days_after: after,
            projected,
            over_budget: projected > self.config.monthly_usd,
        })
    }

    fn level_for(&self, date: NaiveDate, pacing: &Pacing) -> DegradeLevel {
        let month = Month::of(date);
        if self.cost.flat_fee().is_some() {
            // Live bytes cost nothing at the margin under a flat plan: only the session
            // calendar limits live.
            return if pacing.trading_day {
                DegradeLevel::Full
            } else {
                DegradeLevel::Stop
            };
        }
        if self.committed(month) >= self.config.monthly_usd || pacing.daily_cap <= Decimal::ZERO {
            return DegradeLevel::Stop;
        }
        let live = self.day_live(date);
        let cap = pacing.daily_cap;
        if live >= cap {
            DegradeLevel::Stop
        } else if live >= cap * self.config.nearer_strikes_at {
            DegradeLevel::NearerStrikes
        } else if live >= cap * self.config.nearer_expiries_at {
            DegradeLevel::NearerExpiries
        } else {
            DegradeLevel::Full
        }
    }

    /// Where live stands on the degrade ladder at `now`, without recording anything: ask
    /// before opening a session (do not open it on [`DegradeLevel::Stop`]).
    ///
    /// # Errors
    /// [`Error::CalendarNotCovered`] if the calendar has no list for the year.
    pub fn live_level(&self, now: DateTime<Utc>) -> Result<DegradeLevel> {
        let date = session_date(now);
        let pacing = self.pacing(date)?;
        Ok(self.level_for(date, &pacing))
    }

    /// The state of the month at `now`.
    ///
    /// # Errors
    /// [`Error::CalendarNotCovered`] if the calendar has no list for the year.
    pub fn status(&self, now: DateTime<Utc>) -> Result<BudgetStatus> {
        let date = session_date(now);
        let month = Month::of(date);
        let pacing = self.pacing(date)?;
        let committed = self.committed(month);
        Ok(BudgetStatus {
            month,
            budget: self.config.monthly_usd,
            month_totals: self.month_totals(month),
            committed,
            remaining: self.config.monthly_usd - committed,
            pacing,
            day_live: self.day_live(date),
            degrade: self.level_for(date, &pacing),
            projection: self.projection(date)?,
        })
    }

    /// Cost per signal and per useful signal over the month of `now`'s session date
    /// (recorded charges only).
    ///
    /// # Errors
    /// An error of [`CostPerSignal::new`].
    pub fn cost_per_signal(&self, month: Month, counts: SignalCounts) -> Result<CostPerSignal> {
        CostPerSignal::new(self.month_totals(month).total(), counts)
    }

    /// Asks before a historical download. If the month's committed spend plus the quote
    /// stays within the budget, the quote is reserved and an [`Authorization`] returned;
    /// start the download only then.
    ///
    /// # Errors
    /// [`Error::WouldExceedMonth`] if it would not fit: nothing is reserved and the
    /// ledger is unchanged.
    pub fn authorize_download(
        &mut self,
        quote: &DownloadQuote,
        now: DateTime<Utc>,
    ) -> Result<Authorization> {
        let month = Month::of(session_date(now));
        let committed = self.committed(month);
        let quoted = quote.dollars();
        if committed + quoted > self.config.monthly_usd {
            return Err(Error::WouldExceedMonth {
                request: quote.request().to_owned(),
                month,
                quote: quoted,
                committed,
                budget: self.config.monthly_usd,
            });
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.reservations.insert(
            id,
            Reservation {
                month,
                dollars: quoted,
            },
        );
        Ok(Authorization {
            id,
            request: quote.request().to_owned(),
            month,
            at: now,
            quoted,
        })
    }

    /// Records the actual charge of an authorized download (pass the quote when no
    /// separate actual figure is known) and releases its reservation. The charge is dated
    /// at the authorization, so it lands in the month it was checked against. An actual
    /// charge above the quote is recorded as it is: money spent is never hidden.
    ///
    /// # Errors
    /// [`Error::UnknownAuthorization`] if the authorization was already settled;
    /// [`Error::ImplausibleAmount`] for a negative or absurd amount (the reservation is
    /// then kept); [`Error::CalendarNotCovered`] from alert evaluation (the charge is
    /// recorded before it).
    pub fn record_download(
        &mut self,
        auth: Authorization,
        actual_usd: Decimal,
        billable_bytes: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Alert>> {
        if !self.reservations.contains_key(&auth.id) {
            return Err(Error::UnknownAuthorization { id: auth.id });
        }
        let dollars = check_usd("download charge", actual_usd)?;
        self.reservations.remove(&auth.id);
        let charge = Charge {
            at: auth.at,
            kind: ChargeKind::Historical,
            reference: auth.request,
            bytes: billable_bytes,
            dollars,
        };
        let date = charge.session_date();
        self.append(charge)?;
        self.raise_alerts(date, now)
    }

    /// Releases an authorization whose download was not made (it failed before being
    /// billed, or the caller changed its mind).
    ///
    /// # Errors
    /// [`Error::UnknownAuthorization`] if it was already settled.
    pub fn cancel_download(&mut self, auth: Authorization) -> Result<()> {
        self.reservations
            .remove(&auth.id)
            .map(|_| ())
            .ok_or(Error::UnknownAuthorization { id: auth.id })
    }

    /// Keyed form of [`authorize_download`](Self::authorize_download) for callers that
    /// identify requests by a string and get the quote as `f64` (a `get_cost` answer):
    /// the authorization is held inside the budget under `request` until
    /// [`settle_request`](Self::settle_request) or [`release_request`](Self::release_request).
    ///
    /// # Errors
    /// [`Error::ImplausibleAmount`] for a NaN, negative or absurd quote;
    /// [`Error::AlreadyAuthorized`] if an authorization is already held for `request`;
    /// [`Error::WouldExceedMonth`] if it does not fit (nothing reserved, ledger unchanged).
    pub fn authorize_request(
        &mut self,
        request: &str,
        quoted_usd: f64,
        billable_bytes: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if self.held.contains_key(request) {
            return Err(Error::AlreadyAuthorized {
                request: request.to_owned(),
            });
        }
        let quote = DownloadQuote::preflight(request, quoted_usd, billable_bytes)?;
        let auth = self.authorize_download(&quote, now)?;
        self.held.insert(request.to_owned(), auth);
        Ok(())
    }

    /// Keyed form of [`record_download`](Self::record_download) and
    /// [`record_cache_hit`](Self::record_cache_hit): with an authorization held for
    /// `request`, records `charged_usd` against it; without one, a zero charge is a cache
    /// hit and a non-zero charge is recorded as a historical charge with
    /// `authorized: false`.
    ///
    /// # Errors
    /// [`Error::ImplausibleAmount`] for a NaN, negative or absurd charge (nothing
    /// recorded, the authorization stays held); [`Error::CalendarNotCovered`] from alert
    /// evaluation (the charge is recorded before it).
    pub fn settle_request(
        &mut self,
        request: &str,
        charged_usd: f64,
        bytes: u64,
        now: DateTime<Utc>,
    ) -> Result<Settlement> {
        let dollars = crate::cost::usd_from_f64("download charge", charged_usd)?;
        if let Some(auth) = self.held.remove(request) {
            let alerts = self.record_download(auth, dollars, bytes, now)?;
            return Ok(Settlement {
                kind: ChargeKind::Historical,
                authorized: true,
                alerts,
            });
        }
        if dollars.is_zero() {
            self.record_cache_hit(request, bytes, now)?;
            return Ok(Settlement {
                kind: ChargeKind::CacheHit,
                authorized: false,
                alerts: Vec::new(),
            });
        }
        let charge = Charge {
            at: now,
            kind: ChargeKind::Historical,
            reference: request.to_owned(),
            bytes,
            dollars,
        };
        let date = charge.session_date();
        self.append(charge)?;
        Ok(Settlement {
            kind: ChargeKind::Historical,
            authorized: false,
            alerts: self.raise_alerts(date, now)?,
        })
    }

    /// Releases the authorization held for `request` (the download was not made).
    ///
    /// # Errors
    /// [`Error::UnknownRequest`] if none is held.
    pub fn release_request(&mut self, request: &str) -> Result<()> {
        let auth = self
            .held
            .remove(request)
            .ok_or_else(|| Error::UnknownRequest {
                request: request.to_owned(),
            })?;
        self.cancel_download(auth)
    }

    /// Records a historical request answered from the local cache, at zero dollars.
    ///
    /// # Errors
    /// Never in practice (the amount is zero); kept fallible like every record.
    pub fn record_cache_hit(
        &mut self,
        request: impl Into<String>,
        bytes: u64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.append(Charge {
            at: now,
            kind: ChargeKind::CacheHit,
            reference: request.into(),
            bytes,
            dollars: Decimal::ZERO,
        })
    }

    /// Records live bytes received by `session` and says what the session must do next
    /// (see the degrade ladder in the module docs). The bytes are always recorded: they
    /// were already received.
    ///
    /// # Errors
    /// [`Error::Overflow`]/[`Error::ImplausibleAmount`] if the byte cost cannot be
    /// computed (nothing recorded); [`Error::CalendarNotCovered`] if the calendar has no
    /// list for the year (the charge is recorded before the check).
    pub fn record_live_bytes(
        &mut self,
        session: &str,
        bytes: u64,
        now: DateTime<Utc>,
    ) -> Result<LiveDirective> {
        let dollars = self.cost.live_cost(bytes)?;
        self.append(Charge {
            at: now,
            kind: ChargeKind::Live,
            reference: session.to_owned(),
            bytes,
            dollars,
        })?;
        let date = session_date(now);
        let alerts = self.raise_alerts(date, now)?;
        let pacing = self.pacing(date)?;
        let level = self.level_for(date, &pacing);
        let previous = self.last_level.insert(session.to_owned(), level);
        Ok(LiveDirective {
            level,
            changed: previous.map_or(level != DegradeLevel::Full, |p| p != level),
            day_live: self.day_live(date),
            daily_cap: pacing.daily_cap,
            alerts,
        })
    }

    /// Records the flat plan's fee for the month of `now`.
    ///
    /// # Errors
    /// [`Error::NoFlatPlan`] if live pricing is per GB; [`Error::PlanFeeAlreadyRecorded`]
    /// if the month's fee is already in the ledger; [`Error::CalendarNotCovered`] from
    /// alert evaluation (the fee is recorded before it).
    pub fn record_plan_fee(&mut self, now: DateTime<Utc>) -> Result<Vec<Alert>> {
        let fee = self.cost.flat_fee().ok_or(Error::NoFlatPlan)?;
        let date = session_date(now);
        let month = Month::of(date);
        if self.plan_recorded(month) {
            return Err(Error::PlanFeeAlreadyRecorded { month });
        }
        self.append(Charge {
            at: now,
            kind: ChargeKind::Plan,
            reference: format!("plan {month}"),
            bytes: 0,
            dollars: fee,
        })?;
        self.raise_alerts(date, now)
    }

    fn append(&mut self, charge: Charge) -> Result<()> {
        let date = charge.session_date();
        self.ledger.append(charge)?;
        if let Some(c) = self.ledger.charges().last() {
            self.by_day.entry(date).or_default().add_charge(c);
        }
        Ok(())
    }

    fn raise(&mut self, out: &mut Vec<Alert>, alert: Alert) {
        if !self.ledger.has_alert(alert.scope, alert.level) {
            self.ledger.push_alert(alert.clone());
            out.push(alert);
        }
    }

    /// Evaluates the alerts of session date `date` (and its month), raising each new one.
    fn raise_alerts(&mut self, date: NaiveDate, now: DateTime<Utc>) -> Result<Vec<Alert>> {
        let mut out = Vec::new();
        let month = Month::of(date);
        let budget = self.config.monthly_usd;
        let spent = {
            let t = self.month_totals(month);
            t.total() + self.pending_plan_fee(&t)
        };
        let mut levels = self.config.month_alert_levels.clone();
        levels.sort();
        for level in levels {
            if spent >= budget * level {
                let a = Alert {
                    at: now,
                    scope: AlertScope::Month(month),
                    level,
                    spent,
                    limit: budget,
                };
                self.raise(&mut out, a);
            }
        }
        let pacing = self.pacing(date)?;
        if pacing.daily_share > Decimal::ZERO {
            let live = self.day_live(date);
            let mut levels = self.config.day_alert_levels.clone();
            levels.sort();
            for level in levels {
                if live >= pacing.daily_share * level {
                    let a = Alert {
                        at: now,
                        scope: AlertScope::Day(date),
                        level,
                        spent: live,
                        limit: pacing.daily_share,
                    };
                    self.raise(&mut out, a);
                }
            }
        }
        if self.calendar.elapsed_trading_days(date)? >= self.config.projection_min_days {
            let p = self.projection(date)?;
            if p.over_budget {
                let a = Alert {
                    at: now,
                    scope: AlertScope::Projection(month),
                    level: Decimal::ONE,
                    spent: p.projected,
                    limit: budget,
                };
                self.raise(&mut out, a);
            }
        }
        Ok(out)
    }
}

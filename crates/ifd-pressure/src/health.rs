//! Per-instrument book health: can downstream layers trust this book right now?
//!
//! A book is, in order of precedence:
//! - [`Health::Suspect`] after `F_MAYBE_BAD_BOOK` on its channel (until a Clear `R`
//!   rebuilds it), or while unknown-order references come in at or above
//!   [`HealthConfig::unknown_order_threshold`] per [`HealthConfig::unknown_order_window`]
//!   book records;
//! - [`Health::Recovering`] after a Clear `R`, until the next record that carries
//!   `F_LAST`; and after a gap reported by the IO edge, until a Clear `R` (a snapshot
//!   or the venue's own) rebuilds it: the records after a gap are valid, but the book
//!   missed what the gap held, so it is not trusted at its next `F_LAST`;
//! - [`Health::Crossed`] while the best bid is at or above the best ask at `F_LAST`
//!   boundaries, with the `ts_recv` at which the crossing was first seen;
//! - [`Health::Ok`] otherwise.
//!
//! # Partial books
//!
//! Separately from its health, a book knows how much of the venue's book it has seen
//! ([`Completeness`]). A stream that starts mid-session without a Clear `R` or a
//! snapshot is a normal case (a live subscription without `snapshot`, a file cut by
//! time): the book starts [`Completeness::Partial`], missing the orders that rested
//! before its first record until a modify reveals them (an implicit add) or they are
//! cancelled or filled. Such a book is still `Health::Ok` when nothing else is wrong:
//! what it shows of prints and of orders placed since its start is exact. It becomes
//! [`Completeness::Complete`] on a Clear `R` or a snapshot (which replaces the book;
//! its content is consistent at the next `F_LAST`, as always; a snapshot without a
//! Clear counts too, as Databento's historical snapshots come without one, so a
//! stream cut inside a snapshot is taken as complete), or
//! [`Completeness::Warm`] once [`HealthConfig::warm_up_ns`] of `ts_recv` have passed
//! since its first record. Consumers that read resting depth (queue positions, resting
//! quotes, icebergs) should wait for [`Completeness::depth_ready`]; consumers that read
//! prints need not.
//!
//! While a book is partial and not yet warm, its unknown-order references are expected
//! (each reveals or removes an order from before the start): they are counted in the
//! book's stats but do not make it suspect. Once it is complete they count toward
//! [`SuspectReason::UnknownOrders`] as on any book. Once it is warm but not complete,
//! a reference to an order id below every id added since the book's first record is
//! still one of the orders that rested before the start (venue order ids grow with
//! entry time, as CME's do): a resting quote cancelled hours after a mid-session start
//! is normal, so such references are counted as expected too, and only the others (an
//! order added after the start whose add the stream lost) count toward suspicion.
//! Where a venue's ids do not grow with time, fewer references are recognised as old
//! and the book is suspected as it would be without the rule.

/// Why a book is suspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SuspectReason {
    /// A record on the book's channel carried `F_MAYBE_BAD_BOOK` (an unrecoverable gap).
    MaybeBadBook,
    /// Cancels/modifies of unknown orders arrived at or above the configured rate.
    UnknownOrders,
}

/// Health of one book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Health {
    /// Consistent and uncrossed at the last `F_LAST`.
    Ok,
    /// Cleared and not yet at an `F_LAST`, or gapped and not yet rebuilt by a Clear `R`.
    Recovering,
    /// Crossed or locked (bid >= ask) at every `F_LAST` since `since_ts_recv`.
    Crossed {
        /// `ts_recv` of the first `F_LAST` record that found the book crossed.
        since_ts_recv: u64,
    },
    /// Not to be trusted; see the reason.
    Suspect(SuspectReason),
}

impl Health {
    /// True for [`Health::Ok`].
    #[must_use]
    pub const fn is_ok(&self) -> bool {
        matches!(self, Self::Ok)
    }
}

/// How much of the venue's book a book has seen.
///
/// A stream that starts mid-session without a Clear `R` or a snapshot is a normal case
/// (a live subscription without `snapshot`, a file cut by time): the book starts
/// `Partial`, missing the orders that rested before its first record until a modify
/// reveals them (an implicit add) or they are cancelled or filled. Its [`Health`] is
/// still `Ok` when nothing else is wrong: what it shows of prints and of orders placed
/// since its start is exact. It becomes `Complete` on a Clear `R` or a snapshot (a
/// snapshot without a Clear counts too, as Databento's historical snapshots come
/// without one), or `Warm` once [`HealthConfig::warm_up_ns`] of `ts_recv` have passed
/// since its first record. Consumers that read resting depth (queue positions, resting
/// quotes, icebergs) wait for [`Completeness::depth_ready`]; consumers of prints need
/// not. While a book is partial and not yet warm, its unknown-order references are
/// expected: they are counted ([`HealthStats::partial_unknown_refs`]) but do not make
/// it suspect; once it is complete or warm they count toward
/// [`SuspectReason::UnknownOrders`] as on any book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Completeness {
    /// Started without a Clear `R` or a snapshot: orders resting before the first record
    /// are missing until they are touched.
    Partial {
        /// `ts_recv` of the book's first record (0 before any record).
        since_ts_recv: u64,
    },
    /// Started partial, but [`HealthConfig::warm_up_ns`] has passed since its first
    /// record: treated as complete.
    Warm,
    /// Rebuilt from a Clear `R` or a snapshot.
    Complete,
}

impl Completeness {
    /// True when resting depth can be read: complete or warm.
    #[must_use]
    pub const fn depth_ready(&self) -> bool {
        !matches!(self, Self::Partial { .. })
    }
}

/// Thresholds of the health tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// Number of book-changing records (A/C/M) per evaluation window.
    pub unknown_order_window: u32,
    /// Unknown-order references within one window that make the book suspect.
    pub unknown_order_threshold: u32,
    /// Nanoseconds of `ts_recv` after a partial book's first record at which it counts
    /// as warm ([`Completeness::Warm`]); `u64::MAX` keeps a partial book partial until a
    /// Clear `R` or a snapshot.
    pub warm_up_ns: u64,
}

impl HealthConfig {
    /// Default warm-up of a partial book: 15 minutes.
    pub const DEFAULT_WARM_UP_NS: u64 = 15 * 60 * 1_000_000_000;
}

impl Default for HealthConfig {
    /// 10 unknown-order references per 1,000 book records (1 %); a 15-minute warm-up.
    fn default() -> Self {
        Self {
            unknown_order_window: 1_000,
            unknown_order_threshold: 10,
            warm_up_ns: Self::DEFAULT_WARM_UP_NS,
        }
    }
}

/// Counters of a book's health history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthStats {
    /// Crossing episodes started (an `F_LAST` found the book crossed after it was not).
    pub crossings: u64,
    /// Total nanoseconds (`ts_recv`) of closed crossing episodes.
    pub crossed_ns: u64,
    /// Gaps reported through `mark_gap`.
    pub gaps: u64,
    /// Records with `F_MAYBE_BAD_BOOK` that marked this book.
    pub maybe_bad_book: u64,
    /// Unknown-order references expected of a book that started partial: while it was
    /// not yet warm, and after, to order ids older than every id added since its start
    /// (they did not count toward suspicion).
    pub partial_unknown_refs: u64,
}

/// State machine behind [`Health`].
#[derive(Debug, Clone, Default)]
pub(crate) struct HealthTracker {
    /// A Clear `R` or a snapshot has rebuilt the book.
    complete: bool,
    /// Partial, and the warm-up has passed.
    warm: bool,
    /// `ts_recv` of the first record, once one was seen.
    first_ts_recv: Option<u64>,
    /// The smallest order id added (`A`) since the first record, while not complete.
    min_added_id: Option<u64>,
    recovering: bool,
    /// A gap was reported and no Clear `R` has rebuilt the book since.
    gapped: bool,
    crossed_since: Option<u64>,
    bad_book: bool,
    unknown_suspect: bool,
    window_ops: u32,
    window_unknown: u32,
    stats: HealthStats,
}

impl HealthTracker {
    /// Every record, before it is applied: starts and advances the warm-up clock. Once
    /// the book is complete or warm this is one predictable branch.
    #[inline]
    pub(crate) fn on_record(&mut self, ts_recv: u64, cfg: &HealthConfig) {
        if !(self.complete || self.warm) {
            self.on_partial_record(ts_recv, cfg);
        }
    }

    #[cold]
    fn on_partial_record(&mut self, ts_recv: u64, cfg: &HealthConfig) {
        match self.first_ts_recv {
            None => self.first_ts_recv = Some(ts_recv),
            Some(first) => self.warm = ts_recv.saturating_sub(first) >= cfg.warm_up_ns,
        }
    }

    /// The book was rebuilt from a Clear `R` or a snapshot.
    pub(crate) fn on_complete(&mut self) {
        self.complete = true;
    }

    pub(crate) fn completeness(&self) -> Completeness {
        if self.complete {
            Completeness::Complete
        } else if self.warm {
            Completeness::Warm
        } else {
            Completeness::Partial {
                since_ts_recv: self.first_ts_recv.unwrap_or(0),
            }
        }
    }

    /// Completeness as of `now_ts_recv` (for a quiet book whose own records are older).
    pub(crate) fn completeness_at(&self, now_ts_recv: u64, cfg: &HealthConfig) -> Completeness {
        match self.completeness() {
            Completeness::Partial { since_ts_recv }
                if self.first_ts_recv.is_some()
                    && now_ts_recv.saturating_sub(since_ts_recv) >= cfg.warm_up_ns =>
            {
                Completeness::Warm
            }
            c => c,
        }
    }

    pub(crate) fn on_clear(&mut self, ts_recv: u64) {
        self.complete = true;
        self.recovering = true;
        self.gapped = false;
        self.bad_book = false;
        self.unknown_suspect = false;
        self.window_ops = 0;
        self.window_unknown = 0;
        self.close_crossing(ts_recv);
    }

    pub(crate) fn on_gap(&mut self) {
        self.recovering = true;
        self.gapped = true;
        self.stats.gaps += 1;
    }

    pub(crate) fn on_maybe_bad_book(&mut self) {
        self.bad_book = true;
        self.stats.maybe_bad_book += 1;
    }

    /// An add (`A`) of `order_id`: on a book that is not complete, remembers the
    /// smallest id added since the start.
    #[inline]
    pub(crate) fn on_add(&mut self, order_id: u64) {
        if !self.complete {
            self.min_added_id = Some(self.min_added_id.map_or(order_id, |m| m.min(order_id)));
        }
    }

    /// One book-changing record (`A`/`C`/`M`); `unknown_order` is the order id when it
    /// named one not in the book. The common case is one add and one compare.
    #[inline]
    pub(crate) fn on_book_op(&mut self, unknown_order: Option<u64>, cfg: &HealthConfig) {
        // `window_ops` is below the window before this record, so it cannot overflow.
        self.window_ops += 1;
        if let Some(order_id) = unknown_order {
            self.on_unknown_order(order_id, cfg);
        }
        if self.window_ops >= cfg.unknown_order_window.max(1) {
            self.end_window(cfg);
        }
    }

    #[cold]
    fn on_unknown_order(&mut self, order_id: u64, cfg: &HealthConfig) {
        let before_start = || self.min_added_id.is_none_or(|m| order_id < m);
        if !self.complete && (!self.warm || before_start()) {
            self.stats.partial_unknown_refs += 1;
            return;
        }
        self.window_unknown = self.window_unknown.saturating_add(1);
        if self.window_unknown >= cfg.unknown_order_threshold.max(1) {
            self.unknown_suspect = true;
        }
    }

    #[cold]
    fn end_window(&mut self, cfg: &HealthConfig) {
        if self.window_unknown < cfg.unknown_order_threshold.max(1) {
            self.unknown_suspect = false;
        }
        self.window_ops = 0;
        self.window_unknown = 0;
    }

    /// A record carrying `F_LAST`; `crossed` when the book is crossed or locked now.
    #[inline]
    pub(crate) fn on_last(&mut self, crossed: bool, ts_recv: u64) {
        self.recovering = false;
        if crossed || self.crossed_since.is_some() {
            self.on_last_crossing(crossed, ts_recv);
        }
    }

    #[cold]
    fn on_last_crossing(&mut self, crossed: bool, ts_recv: u64) {
        if crossed {
            if self.crossed_since.is_none() {
                self.crossed_since = Some(ts_recv);
                self.stats.crossings += 1;
            }
        } else {
            self.close_crossing(ts_recv);
        }
    }

    fn close_crossing(&mut self, ts_recv: u64) {
        if let Some(since) = self.crossed_since.take() {
            self.stats.crossed_ns = self
                .stats
                .crossed_ns
                .saturating_add(ts_recv.saturating_sub(since));
        }
    }

    pub(crate) fn health(&self) -> Health {
        if self.bad_book {
            Health::Suspect(SuspectReason::MaybeBadBook)
        } else if self.unknown_suspect {
            Health::Suspect(SuspectReason::UnknownOrders)
        } else if self.recovering || self.gapped {
            Health::Recovering
        } else if let Some(since_ts_recv) = self.crossed_since {
            Health::Crossed { since_ts_recv }
        } else {
            Health::Ok
        }
    }

    pub(crate) fn crossed_since(&self) -> Option<u64> {
        self.crossed_since
    }

    pub(crate) fn stats(&self) -> HealthStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_transitions() {
        let cfg = HealthConfig {
            unknown_order_window: 10,
            unknown_order_threshold: 3,
            warm_up_ns: u64::MAX,
        };
        let mut t = HealthTracker::default();
        t.on_complete();
        assert_eq!(t.health(), Health::Ok);
        t.on_clear(0);
        assert_eq!(t.health(), Health::Recovering);
        t.on_last(true, 100);
        assert_eq!(t.health(), Health::Crossed { since_ts_recv: 100 });
        t.on_last(true, 150);
        assert_eq!(t.health(), Health::Crossed { since_ts_recv: 100 });
        t.on_last(false, 160);
        assert_eq!(t.health(), Health::Ok);
        assert_eq!((t.stats().crossings, t.stats().crossed_ns), (1, 60));
        for _ in 0..2 {
            t.on_book_op(Some(1), &cfg);
        }
        assert_eq!(t.health(), Health::Ok);
        t.on_book_op(Some(1), &cfg);
        assert_eq!(t.health(), Health::Suspect(SuspectReason::UnknownOrders));
        // The rest of that window, then a clean window: the suspicion lifts.
        for _ in 0..17 {
            t.on_book_op(None, &cfg);
        }
        assert_eq!(t.health(), Health::Ok);
        t.on_gap();
        t.on_last(false, 150);
        assert_eq!(t.health(), Health::Recovering, "a gap lasts past F_LAST");
        t.on_maybe_bad_book();
        assert_eq!(t.health(), Health::Suspect(SuspectReason::MaybeBadBook));
        t.on_clear(200);
        assert_eq!(t.health(), Health::Recovering);
        t.on_last(false, 201);
        assert!(t.health().is_ok());
    }
}

#[cfg(test)]
mod partial_tests {
    use super::*;

    #[test]
    fn partial_book_warms_up_or_completes() {
        let cfg = HealthConfig {
            unknown_order_window: 10,
            unknown_order_threshold: 3,
            warm_up_ns: 100,
        };
        let mut t = HealthTracker::default();
        assert_eq!(t.completeness(), Completeness::Partial { since_ts_recv: 0 });
        t.on_record(1_000, &cfg);
        // Unknown references of a partial book are expected: counted, never suspect.
        for _ in 0..10 {
            t.on_book_op(Some(1), &cfg);
        }
        assert_eq!(t.health(), Health::Ok);
        assert_eq!(t.stats().partial_unknown_refs, 10);
        t.on_record(1_099, &cfg);
        assert_eq!(
            t.completeness(),
            Completeness::Partial {
                since_ts_recv: 1_000
            }
        );
        assert!(!t.completeness().depth_ready());
        assert_eq!(t.completeness_at(1_100, &cfg), Completeness::Warm);
        t.on_record(1_100, &cfg);
        assert_eq!(t.completeness(), Completeness::Warm);
        assert!(t.completeness().depth_ready());
        // Warm, with orders 500 and 700 added since the start (ids grow with entry
        // time): references to older ids are orders that rested before the start,
        // still expected; references to newer unknown ids count again.
        t.on_add(700);
        t.on_add(500);
        for id in [100, 200, 300, 499] {
            t.on_book_op(Some(id), &cfg);
        }
        assert_eq!(t.health(), Health::Ok);
        assert_eq!(t.stats().partial_unknown_refs, 14);
        for id in [600, 800, 900] {
            t.on_book_op(Some(id), &cfg);
        }
        assert_eq!(t.health(), Health::Suspect(SuspectReason::UnknownOrders));

        let mut c = HealthTracker::default();
        c.on_record(5, &cfg);
        c.on_clear(5);
        assert_eq!(c.completeness(), Completeness::Complete);
        assert_eq!(c.completeness_at(0, &cfg), Completeness::Complete);
    }
}

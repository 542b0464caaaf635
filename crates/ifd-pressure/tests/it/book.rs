//! The book on Databento's real ES MBO samples.

use std::collections::{BTreeMap, HashMap};

use dbn::{MboMsg, Side};
use ifd_pressure::{Book, Books, Health, Level};

use crate::samples;

const ESH4_SNAPSHOT: &str = "nautilus_trader/esh4-glbx-mdp3-20231224.mbo.dbn.zst";
const ESH4_DAY: &str = "nautilus_trader/esh4-glbx-mdp3-20231225.mbo.dbn.zst";
const ESM4: &str = "nautilus_trader/esm4-glbx-mdp3-20240508T000000-000002.mbo.dbn.zst";

/// A straightforward reference: orders by id, then levels summed from them.
#[derive(Default)]
struct Reference {
    orders: HashMap<u64, (u8, i64, u32)>,
}

impl Reference {
    fn apply(&mut self, m: &MboMsg) {
        match m.action as u8 {
            b'A' => {
                self.orders
                    .insert(m.order_id, (m.side as u8, m.price, m.size));
            }
            b'C' => {
                if let Some(o) = self.orders.get_mut(&m.order_id) {
                    o.2 = o.2.saturating_sub(m.size);
                    if o.2 == 0 {
                        self.orders.remove(&m.order_id);
                    }
                }
            }
            b'M' => {
                // Databento's semantics: a modify of an unknown order adds it.
                let o = self
                    .orders
                    .entry(m.order_id)
                    .or_insert((m.side as u8, m.price, m.size));
                o.1 = m.price;
                o.2 = m.size;
                if o.2 == 0 {
                    self.orders.remove(&m.order_id);
                }
            }
            b'R' => self.orders.clear(),
            _ => {}
        }
    }

    /// Levels of a side, best first.
    fn levels(&self, side: u8) -> Vec<Level> {
        let mut by_price: BTreeMap<i64, (u64, u32)> = BTreeMap::new();
        for &(s, px, sz) in self.orders.values() {
            if s == side {
                let e = by_price.entry(px).or_default();
                e.0 += u64::from(sz);
                e.1 += 1;
            }
        }
        let levels =
            by_price
                .into_iter()
                .map(|(price, (size, count))| Level { price, size, count });
        if side == b'B' {
            levels.rev().collect()
        } else {
            levels.collect()
        }
    }
}

fn book_levels(book: &Book, side: Side) -> Vec<Level> {
    book.levels(side).collect()
}

fn assert_same(book: &Book, reference: &Reference, at: &str) {
    assert_eq!(
        book_levels(book, Side::Bid),
        reference.levels(b'B'),
        "bids {at}"
    );
    assert_eq!(
        book_levels(book, Side::Ask),
        reference.levels(b'A'),
        "asks {at}"
    );
    assert_eq!(book.order_count(), reference.orders.len(), "orders {at}");
    assert_eq!(book.check_invariants(), None, "{at}");
}

#[test]
fn esh4_snapshot_file_matches_reference() {
    let Some(records) = samples::mbo(ESH4_SNAPSHOT) else {
        return;
    };
    assert_eq!(records.len(), 8_725);
    let mut book = Book::new();
    let mut reference = Reference::default();
    for m in &records {
        book.apply(m);
        reference.apply(m);
    }
    assert_same(&book, &reference, "after the snapshot");
    assert_eq!(book.order_count(), 8_725);
    let bids: u32 = book.levels(Side::Bid).map(|l| l.count).sum();
    let asks: u32 = book.levels(Side::Ask).map(|l| l.count).sum();
    assert_eq!((bids, asks), (5_192, 3_533));
    assert!(
        book.is_consistent(),
        "the last snapshot record carries F_LAST"
    );
    assert!(!book.bbo().is_crossed());
}

/// Applies a file through `Books`, checking the book at every `F_LAST`, and returns the
/// crossings found as `(ts_recv, bid, ask)`.
/// `(ts_recv, best bid, best ask)` at a crossed `F_LAST`.
type Crossing = (u64, i64, i64);

fn replay(rel: &str) -> Option<(Books, Vec<Crossing>, usize)> {
    let records = samples::mbo(rel)?;
    let mut books = Books::new();
    let mut reference = Reference::default();
    let mut crossings = Vec::new();
    let mut snapshot_checked = false;
    let mut lasts = 0;
    for (i, m) in records.iter().enumerate() {
        let update = books.apply(m);
        reference.apply(m);
        let book = books.get(update.key).expect("book exists after a record");
        let snapshot_over = !m.flags.is_snapshot() && i > 0 && records[i - 1].flags.is_snapshot();
        if snapshot_over && !snapshot_checked {
            // The reference saw the same snapshot adds, minus this first live record.
            let mut before = Reference::default();
            for r in &records[..i] {
                before.apply(r);
            }
            let mut snap_book = Book::new();
            for r in &records[..i] {
                snap_book.apply(r);
            }
            assert_same(&snap_book, &before, "right after the snapshot");
            snapshot_checked = true;
        }
        if update.last {
            lasts += 1;
            let bbo = book.bbo();
            if bbo.is_crossed() {
                crossings.push((m.ts_recv, bbo.bid.unwrap().price, bbo.ask.unwrap().price));
            }
            if lasts % 997 == 0 {
                assert_same(book, &reference, &format!("record {i}"));
            }
        }
    }
    assert!(
        snapshot_checked,
        "{rel} has a snapshot followed by live records"
    );
    let book = books.iter().next().unwrap().1;
    assert_same(book, &reference, "at the end");
    Some((books, crossings, lasts))
}

#[test]
fn esh4_full_day() {
    let Some((books, crossings, lasts)) = replay(ESH4_DAY) else {
        return;
    };
    assert_eq!(books.len(), 1);
    let stats = books.stats();
    assert_eq!(stats.records, 68_792);
    assert_eq!(
        (stats.trades, stats.fills),
        (2_973, 6_371),
        "T and F are counted, never applied"
    );
    assert_eq!(stats.unknown_order_refs(), 0, "{stats:?}");
    assert_eq!(stats.skipped(), 0, "{stats:?}");
    assert!(lasts > 0);
    // Crossings found: all in CME's pre-open on the 2023-12-25 reopen, when orders may
    // cross until the opening auction. The first at 22:39:55.222 UTC (bid 4805.00 over
    // ask 4799.50), the last at 23:00:00.000068972 UTC, the opening uncross; the book is
    // never crossed at an F_LAST after the open.
    let open = 1_703_545_200_000_000_000; // 2023-12-25 23:00:00 UTC
    let first = crossings.first().copied().expect("pre-open crossings");
    let last = crossings.last().copied().expect("pre-open crossings");
    eprintln!(
        "ESH4 day: {} crossed F_LAST records, first {first:?}, last {last:?}",
        crossings.len()
    );
    assert_eq!(
        first,
        (
            1_703_543_995_222_483_197,
            4_805_000_000_000,
            4_799_500_000_000
        )
    );
    assert_eq!(last.0, 1_703_545_200_000_068_972);
    assert!(crossings
        .iter()
        .all(|c| c.0 >= open - 3_600_000_000_000 && c.0 < open + 1_000_000));
    assert_eq!(books.health(17_077), Some(Health::Ok));
    let health = books.book(17_077).unwrap().health_stats();
    assert_eq!(health.crossings, 1, "one crossing episode: the pre-open");
    eprintln!("ESH4 day: {stats:?}, {lasts} F_LAST records");
}

#[test]
fn esm4_snapshot_then_live() {
    let Some((books, crossings, _)) = replay(ESM4) else {
        return;
    };
    let stats = books.stats();
    assert_eq!(stats.records, 13_796);
    assert_eq!(stats.clears, 1);
    assert_eq!(stats.implicit_clears, 0);
    assert_eq!(stats.unknown_order_refs(), 0, "{stats:?}");
    assert_eq!(crossings, Vec::new(), "crossed at F_LAST");
    assert_eq!(books.health(5_602), Some(Health::Ok));
}

/// Databento's example book, straightforwardly: orders by id, and per side a `BTreeMap`
/// of price to (size, count) kept up to date. A modify of an unknown order adds it; a
/// price change or size increase moves it (no queue is kept, so priority does not show
/// here); cancels subtract; `R` clears; `T`/`F`/`N` change nothing.
#[derive(Default)]
struct DatabentoBook {
    orders: HashMap<u64, (u8, i64, u32)>,
    bids: BTreeMap<i64, (u64, u32)>,
    asks: BTreeMap<i64, (u64, u32)>,
}

impl DatabentoBook {
    fn side(&mut self, side: u8) -> Option<&mut BTreeMap<i64, (u64, u32)>> {
        match side {
            b'B' => Some(&mut self.bids),
            b'A' => Some(&mut self.asks),
            _ => None,
        }
    }

    fn level_add(&mut self, side: u8, price: i64, size: u32) {
        if let Some(levels) = self.side(side) {
            let l = levels.entry(price).or_default();
            l.0 += u64::from(size);
            l.1 += 1;
        }
    }

    fn level_remove(&mut self, side: u8, price: i64, size: u32) {
        if let Some(levels) = self.side(side) {
            if let Some(l) = levels.get_mut(&price) {
                l.0 -= u64::from(size);
                l.1 -= 1;
                if l.1 == 0 {
                    levels.remove(&price);
                }
            }
        }
    }

    fn add(&mut self, m: &MboMsg) {
        let side = m.side as u8;
        if matches!(side, b'B' | b'A') && m.size > 0 {
            if let Some((s, p, z)) = self.orders.insert(m.order_id, (side, m.price, m.size)) {
                self.level_remove(s, p, z);
            }
            self.level_add(side, m.price, m.size);
        }
    }

    fn apply(&mut self, m: &MboMsg) {
        match m.action as u8 {
            b'A' => self.add(m),
            b'C' => {
                if let Some(&(s, p, z)) = self.orders.get(&m.order_id) {
                    self.level_remove(s, p, z);
                    let left = z.saturating_sub(m.size);
                    if left == 0 {
                        self.orders.remove(&m.order_id);
                    } else {
                        self.orders.insert(m.order_id, (s, p, left));
                        self.level_add(s, p, left);
                    }
                }
            }
            b'M' => match self.orders.remove(&m.order_id) {
                // Not found: treat it as an add.
                None => self.add(m),
                Some((s, p, z)) => {
                    self.level_remove(s, p, z);
                    if m.size > 0 {
                        self.orders.insert(m.order_id, (s, m.price, m.size));
                        self.level_add(s, m.price, m.size);
                    }
                }
            },
            b'R' => {
                self.orders.clear();
                self.bids.clear();
                self.asks.clear();
            }
            _ => {}
        }
    }

    fn top(&self) -> (Option<Level>, Option<Level>) {
        let level = |(&price, &(size, count)): (&i64, &(u64, u32))| Level { price, size, count };
        (
            self.bids.iter().next_back().map(level),
            self.asks.iter().next().map(level),
        )
    }
}

/// Drops the first `cut` records of a sample (so the stream starts mid-session, with no
/// Clear or snapshot for its book) and compares the top of book (price, size and order
/// count of each side) at every `F_LAST` with [`DatabentoBook`]. Returns (rows compared, implicit adds, completeness at the end).
fn cut_and_compare(
    records: &[MboMsg],
    cut: usize,
    name: &str,
) -> (usize, u64, ifd_pressure::Completeness) {
    let mut books = Books::new();
    let mut reference = DatabentoBook::default();
    let (mut rows, mut mismatches) = (0usize, 0usize);
    let mut first_mismatch = None;
    for (i, m) in records.iter().enumerate().skip(cut) {
        let update = books.apply(m);
        reference.apply(m);
        if !update.last {
            continue;
        }
        let book = books.get(update.key).expect("book exists after a record");
        let bbo = book.bbo();
        let ours = (bbo.bid, bbo.ask);
        let theirs = reference.top();
        rows += 1;
        if ours != theirs {
            mismatches += 1;
            first_mismatch.get_or_insert((i, ours, theirs));
        }
    }
    let stats = books.stats();
    let book = books.iter().next().expect("one book").1;
    eprintln!(
        "{name} cut at record {cut}: {rows} F_LAST rows compared, {mismatches} mismatches, {} implicit adds, {} unknown cancels, completeness {:?}, health {:?}",
        stats.implicit_adds,
        stats.unknown_cancel,
        book.completeness(),
        book.health()
    );
    assert_eq!(mismatches, 0, "{name} cut {cut}: first {first_mismatch:?}");
    assert_eq!(book.check_invariants(), None);
    (rows, stats.implicit_adds, book.completeness())
}

#[test]
fn esh4_cut_mid_session_matches_databento_reference() {
    let Some(records) = samples::mbo(ESH4_DAY) else {
        return;
    };
    // The first 8,725 records are the snapshot; cut inside the live part.
    let mut total = 0;
    for cut in [9_000, 15_000, 30_000, 45_000, 60_000] {
        let (rows, implicit, completeness) = cut_and_compare(&records, cut, "ESH4");
        assert!(rows > 1_000, "{rows} rows after cut {cut}");
        assert!(
            implicit > 0,
            "modifies of orders from before the cut are added"
        );
        assert!(
            matches!(
                completeness,
                ifd_pressure::Completeness::Partial { .. } | ifd_pressure::Completeness::Warm
            ),
            "no Clear or snapshot after the cut: {completeness:?}"
        );
        total += rows;
    }
    eprintln!("ESH4: {total} rows compared over 5 cuts");
}

#[test]
fn esm4_cut_mid_session_matches_databento_reference() {
    let Some(records) = samples::mbo(ESM4) else {
        return;
    };
    // 13,601 snapshot records, then 195 live ones; cut just after the snapshot and in
    // the live part.
    let mut total = 0;
    for cut in [13_601, 13_650, 13_700, 13_750] {
        let (rows, _, completeness) = cut_and_compare(&records, cut, "ESM4");
        assert!(rows > 0);
        assert!(!completeness.depth_ready(), "{completeness:?}");
        total += rows;
    }
    eprintln!("ESM4: {total} rows compared over 4 cuts");
}

//! Properties of `Book` over generated record sequences, and a differential test
//! against the reference model.

use dbn::{MboMsg, Side};
use ifd_pressure::testing::{book_orders, mbo_noise, mbo_sequence, ReferenceBook};
use ifd_pressure::{Book, Level};
use proptest::prelude::*;

fn levels(book: &Book) -> (Vec<Level>, Vec<Level>) {
    (
        book.levels(Side::Bid).collect(),
        book.levels(Side::Ask).collect(),
    )
}

fn assert_matches_reference(book: &Book, reference: &ReferenceBook) -> Result<(), TestCaseError> {
    prop_assert_eq!(book_orders(book), reference.orders());
    prop_assert_eq!(
        levels(book),
        (reference.levels(Side::Bid), reference.levels(Side::Ask))
    );
    Ok(())
}

fn run(records: &[MboMsg]) -> Book {
    let mut book = Book::new();
    for r in records {
        book.apply(r);
    }
    book
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Level sizes and counts equal the sums over their orders, no order has size zero,
    /// levels are sorted, and the book equals the reference model, after every record.
    #[test]
    fn invariants_and_reference_on_valid_sequences(records in mbo_sequence(120)) {
        let mut book = Book::new();
        let mut reference = ReferenceBook::new();
        for r in &records {
            book.apply(r);
            reference.apply(r);
            prop_assert_eq!(book.check_invariants(), None);
            assert_matches_reference(&book, &reference)?;
        }
        let stats = book.stats();
        prop_assert_eq!(stats.unknown_order_refs(), 0, "valid sequences name live orders only");
        for side in [Side::Bid, Side::Ask] {
            for level in book.levels(side) {
                let orders: Vec<_> = book.orders_at(side, level.price).collect();
                prop_assert!(orders.iter().all(|o| o.size > 0));
                prop_assert_eq!(level.size, orders.iter().map(|o| u64::from(o.size)).sum::<u64>());
                prop_assert_eq!(level.count as usize, orders.len());
            }
        }
    }

    /// Trade, Fill and None records never change the book.
    #[test]
    fn trades_fills_and_nones_leave_the_book_unchanged(records in mbo_sequence(120)) {
        let mut book = Book::new();
        for r in &records {
            let before = book_orders(&book);
            let before_levels = levels(&book);
            book.apply(r);
            if matches!(r.action as u8, b'T' | b'F' | b'N') {
                prop_assert_eq!(book_orders(&book), before);
                prop_assert_eq!(levels(&book), before_levels);
            }
        }
    }

    /// A stream split at any point and resumed on a fresh book from a snapshot of the
    /// first half gives the same book as the unsplit stream.
    #[test]
    fn split_with_snapshot_gives_the_same_book(records in mbo_sequence(100), cut in any::<prop::sample::Index>()) {
        let k = cut.index(records.len() + 1);
        let whole = run(&records);
        let first = run(&records[..k]);
        let mut second = Book::new();
        for r in first.snapshot_records(1, 42, 0) {
            second.apply(&r);
        }
        for r in &records[k..] {
            second.apply(r);
        }
        prop_assert_eq!(book_orders(&second), book_orders(&whole));
        prop_assert_eq!(levels(&second), levels(&whole));
        prop_assert_eq!(second.bbo(), whole.bbo());
        for o in whole.orders() {
            prop_assert_eq!(second.queue_position(o.order_id), whole.queue_position(o.order_id));
        }
    }

    /// Arbitrary (mostly invalid) records: nothing panics, invariants hold, the book
    /// still equals the reference, and every record is accounted for in the stats.
    #[test]
    fn noise_is_skipped_and_counted(records in mbo_noise(200)) {
        let mut book = Book::new();
        let mut reference = ReferenceBook::new();
        for r in &records {
            book.apply(r);
            reference.apply(r);
            prop_assert_eq!(book.check_invariants(), None);
        }
        assert_matches_reference(&book, &reference)?;
        let s = book.stats();
        prop_assert_eq!(s.records, records.len() as u64);
        let handled = s.adds + s.cancels + s.modifies + s.clears + s.trades + s.fills + s.nones + s.skipped();
        prop_assert_eq!(handled, s.records);
    }
}

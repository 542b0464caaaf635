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
        let handled = s.adds + s.implicit_adds + s.cancels + s.modifies + s.clears + s.trades + s.fills + s.nones + s.skipped();
        prop_assert_eq!(handled, s.records);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A stream whose head is dropped (it starts mid-session, without a Clear or a
    /// snapshot): every order the cut book holds is in the whole stream's book with the
    /// same side, price and size (a modify reveals an order's full state, and what
    /// follows applies alike); once a Clear or a snapshot arrives in the tail, the two
    /// books are equal and the cut book is complete. The reference model agrees with the
    /// cut book throughout.
    #[test]
    fn stream_cut_mid_session_is_a_subset_then_equal(records in mbo_sequence(120), cut in any::<prop::sample::Index>()) {
        use ifd_pressure::Completeness;
        let k = cut.index(records.len() + 1);
        let mut whole = Book::new();
        for r in &records[..k] {
            whole.apply(r);
        }
        let mut part = Book::new();
        let mut reference = ReferenceBook::new();
        // The generated snapshots start with a Clear; a cut inside one leaves its tail,
        // which the book cannot tell from a whole snapshot without a Clear (it counts it
        // as complete), so only a Clear proves the two books equal.
        let (mut rebuilt, mut snapshot) = (false, false);
        for r in &records[k..] {
            whole.apply(r);
            part.apply(r);
            reference.apply(r);
            rebuilt |= r.action as u8 == b'R';
            snapshot |= r.flags.is_snapshot();
            prop_assert_eq!(part.check_invariants(), None);
            if rebuilt {
                prop_assert_eq!(book_orders(&part), book_orders(&whole));
                prop_assert_eq!(part.completeness(), Completeness::Complete);
            } else {
                for o in part.orders() {
                    let w = whole.order(o.order_id);
                    prop_assert_eq!(w.map(|w| (w.side, w.price, w.size)), Some((o.side, o.price, o.size)));
                }
                prop_assert_eq!(part.completeness().depth_ready(), snapshot);
            }
        }
        assert_matches_reference(&part, &reference)?;
    }
}

//! Property tests: order-independent sums and the hard limit under any request sequence.

use ifd_budget::testing::{charge, instant_in_2025_month, request, Request};
use ifd_budget::{DegradeLevel, DownloadQuote, Ledger, Month};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::budget;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn ledger_total_is_the_sum_of_entries_in_any_order(
        (charges, shuffled) in proptest::collection::vec(charge(), 0..40)
            .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle()))
    ) {
        let mut a = Ledger::new();
        for c in &charges {
            a.append(c.clone()).unwrap();
        }
        let mut b = Ledger::new();
        for c in &shuffled {
            b.append(c.clone()).unwrap();
        }
        let expected: Decimal = charges.iter().map(|c| c.dollars).sum();
        prop_assert_eq!(a.total(), expected);
        prop_assert_eq!(b.total(), expected);
        prop_assert_eq!(a.months(), b.months());
        let by_month: Decimal = a.months().values().map(|t| t.total()).sum();
        prop_assert_eq!(by_month, expected);
        for m in a.months().keys() {
            let by_day: Decimal = a.days_of(*m).values().map(|t| t.total()).sum();
            prop_assert_eq!(by_day, a.month_totals(*m).total());
        }
        let back = Ledger::from_bytes(&a.to_bytes().unwrap()).unwrap();
        prop_assert_eq!(back.total(), expected);
    }

    #[test]
    fn requests_never_exceed_the_hard_limit(
        mut steps in proptest::collection::vec((request(), instant_in_2025_month(3)), 1..60)
    ) {
        steps.sort_by_key(|(_, t)| *t);
        let mut b = budget();
        let month = Month::new(2025, 3).unwrap();
        let limit = b.config().monthly_usd;
        let mut held = Vec::new();
        let mut stopped_on = None;
        let mut max_live_batch = Decimal::ZERO;
        for (i, (req, now)) in steps.into_iter().enumerate() {
            let before = b.ledger().clone();
            let committed_before = b.committed(month);
            match req {
                Request::Download { quote, record } => {
                    let q = DownloadQuote::preflight_decimal(format!("r{i}"), quote, None).unwrap();
                    match b.authorize_download(&q, now) {
                        Ok(auth) => {
                            prop_assert!(committed_before + quote <= limit);
                            prop_assert!(b.committed(month) <= limit + max_live_batch);
                            if record {
                                b.record_download(auth, quote, 0, now).unwrap();
                            } else {
                                b.cancel_download(auth).unwrap();
                            }
                        }
                        Err(_) => {
                            prop_assert!(committed_before + quote > limit);
                            prop_assert_eq!(b.ledger(), &before);
                            prop_assert_eq!(b.committed(month), committed_before);
                        }
                    }
                }
                Request::Hold { quote } => {
                    let q = DownloadQuote::preflight_decimal(format!("h{i}"), quote, None).unwrap();
                    match b.authorize_download(&q, now) {
                        Ok(auth) => held.push(auth),
                        Err(_) => prop_assert_eq!(b.ledger(), &before),
                    }
                }
                Request::Live { bytes } => {
                    // A well-behaved live path: it does not open a session on Stop and
                    // ends it when told to.
                    let date = ifd_budget::session_date(now);
                    if stopped_on == Some(date) || b.live_level(now).unwrap() == DegradeLevel::Stop {
                        continue;
                    }
                    let cost = b.cost_model().live_cost(bytes).unwrap();
                    max_live_batch = max_live_batch.max(cost);
                    let cap = b.pacing(date).unwrap().daily_cap;
                    let d = b.record_live_bytes("s", bytes, now).unwrap();
                    // The day's live spend passes the cap by at most the last batch.
                    prop_assert!(d.day_live <= cap + cost);
                    if d.level == DegradeLevel::Stop {
                        stopped_on = Some(date);
                    }
                }
                Request::CacheHit => {
                    b.record_cache_hit(format!("c{i}"), 10, now).unwrap();
                    prop_assert_eq!(b.committed(month), committed_before);
                }
            }
            // Recorded + reserved spend never passes the budget by more than one live
            // batch (live bytes are recorded after they arrive).
            prop_assert!(b.committed(month) <= limit + max_live_batch);
        }
        for auth in held {
            b.cancel_download(auth).unwrap();
        }
        prop_assert!(b.ledger().month_totals(month).total() <= limit + max_live_batch);
    }
}

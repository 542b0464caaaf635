//! A simulator session that starts two hours after its open, with no `R` and no
//! snapshot: the books start partial, and the orders that rested before the cut are
//! cancelled, modified and filled for hours after it.

use dbn::{MboMsg, UNDEF_TIMESTAMP};
use ifd_pressure::{Books, Health, SuspectReason};
use ifd_sim::{Preset, SimConfig, Simulator};

/// The options' MBO records of a normal session cut `minutes` after its open.
fn cut_session(seed: u64, minutes: u32) -> Vec<MboMsg> {
    let mut cfg = SimConfig::preset(Preset::Normal, seed);
    cfg.start_offset_minutes = minutes;
    let day = Simulator::new(cfg).flow_day();
    day.mbo
        .iter()
        .filter(|m| !day.is_future(m.hd.instrument_id))
        .cloned()
        .collect()
}

/// Health of every instrument that has records, after all of them.
fn final_health(records: &[MboMsg]) -> Vec<(u32, Health)> {
    let mut books = Books::new();
    for m in records {
        books.apply(m);
    }
    let mut ids: Vec<u32> = records.iter().map(|m| m.hd.instrument_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .filter_map(|id| books.health(id).map(|h| (id, h)))
        .collect()
}

/// Old resting orders referenced long after the warm-up do not make a book suspect
/// (before the rule, 152 of 201 books of this session ended suspect), while a book
/// that loses adds made after the start still does.
#[test]
fn orders_from_before_a_mid_session_start_do_not_make_books_suspect() {
    let records = cut_session(22, 120);
    assert!(records.iter().all(|m| m.ts_recv != UNDEF_TIMESTAMP));
    let health = final_health(&records);
    assert!(health.len() > 100, "{} books", health.len());
    let suspect: Vec<_> = health.iter().filter(|(_, h)| !h.is_ok()).collect();
    assert!(
        suspect.is_empty(),
        "{} books not ok: {suspect:?}",
        suspect.len()
    );

    // Lose the adds of the busiest book after its first hour: its later cancels and
    // modifies name orders newer than every add it saw, and it turns suspect.
    let busiest = {
        let mut counts = std::collections::BTreeMap::<u32, usize>::new();
        for m in &records {
            *counts.entry(m.hd.instrument_id).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by_key(|&(_, n)| n)
            .map(|(id, _)| id)
            .unwrap()
    };
    let first = records.first().map_or(0, |m| m.ts_recv);
    let lossy: Vec<MboMsg> = records
        .iter()
        .filter(|m| {
            !(m.hd.instrument_id == busiest
                && m.action == b'A' as std::os::raw::c_char
                && m.ts_recv > first + 3_600_000_000_000)
        })
        .cloned()
        .collect();
    let health = final_health(&lossy);
    let h = health
        .iter()
        .find(|(id, _)| *id == busiest)
        .map(|(_, h)| *h);
    assert_eq!(h, Some(Health::Suspect(SuspectReason::UnknownOrders)));
}

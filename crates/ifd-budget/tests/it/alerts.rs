//! Alerts fire once per level, survive a restart, and are written to the ledger.

use ifd_budget::{AlertScope, Ledger, Month};

use crate::{budget, budget_with, day, dec, gb, spend_download, utc};

#[test]
fn month_alerts_fire_once_per_level() {
    let mut b = budget();
    let mar = Month::new(2025, 3).unwrap();
    let t = utc("2025-03-10T15:00:00Z");
    spend_download(&mut b, "a", "139", t);
    assert!(b.ledger().alerts().is_empty());
    // 140 = 80% of 175 exactly.
    spend_download(&mut b, "b", "1", t);
    let alerts = b.ledger().alerts().to_vec();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].scope, AlertScope::Month(mar));
    assert_eq!(alerts[0].level, dec("0.80"));
    assert_eq!(alerts[0].spent, dec("140"));
    spend_download(&mut b, "c", "1", t);
    assert_eq!(b.ledger().alerts().len(), 1);
    // 167 >= 95% (166.25).
    spend_download(&mut b, "d", "26", t);
    assert_eq!(b.ledger().alerts().len(), 2);
    assert_eq!(b.ledger().alerts()[1].level, dec("0.95"));
    spend_download(&mut b, "e", "8", t);
    assert_eq!(b.ledger().alerts().len(), 2);
}

#[test]
fn crossing_two_levels_at_once_raises_both_once() {
    let mut b = budget();
    let q = ifd_budget::DownloadQuote::preflight_decimal("all", dec("170"), None).unwrap();
    let t = utc("2025-03-10T15:00:00Z");
    let auth = b.authorize_download(&q, t).unwrap();
    let raised = b.record_download(auth, dec("170"), 0, t).unwrap();
    let levels: Vec<_> = raised.iter().map(|a| a.level).collect();
    assert_eq!(levels, vec![dec("0.80"), dec("0.95")]);
}

#[test]
fn day_alert_fires_once_and_not_again_after_a_restart() {
    let mut b = budget();
    let t = utc("2025-03-03T15:00:00Z");
    // Share 8.33; 80% = 6.664.
    let d = b.record_live_bytes("s", gb("6"), t).unwrap();
    assert!(d.alerts.is_empty());
    let d = b.record_live_bytes("s", gb("1"), t).unwrap();
    assert_eq!(d.alerts.len(), 1);
    assert_eq!(d.alerts[0].scope, AlertScope::Day(day(2025, 3, 3)));
    assert_eq!(d.alerts[0].limit, dec("8.33"));
    let d = b.record_live_bytes("s", gb("0.5"), t).unwrap();
    assert!(d.alerts.is_empty());
    // Restart from the persisted ledger: the alert is remembered.
    let bytes = b.ledger().to_bytes().unwrap();
    let mut restarted = budget_with(Ledger::from_bytes(&bytes).unwrap());
    let d = restarted.record_live_bytes("s", gb("0.5"), t).unwrap();
    assert!(d.alerts.is_empty());
    assert_eq!(restarted.ledger().alerts().len(), 1);
    // The next day has its own alert.
    let d = restarted
        .record_live_bytes("s", gb("7"), utc("2025-03-04T15:00:00Z"))
        .unwrap();
    assert_eq!(d.alerts.len(), 1);
    assert_eq!(d.alerts[0].scope, AlertScope::Day(day(2025, 3, 4)));
}

#[test]
fn projection_alert_waits_for_enough_days_then_fires_once() {
    let mut b = budget();
    // $12 a day of live on Mon-Wed Mar 3-5 2025: an average of 12 x 21 days > 175.
    for (d, at) in [
        (3, "2025-03-03T15:00:00Z"),
        (4, "2025-03-04T15:00:00Z"),
        (5, "2025-03-05T15:00:00Z"),
    ] {
        let dir = b.record_live_bytes("s", gb("12"), utc(at)).unwrap();
        assert!(
            dir.alerts
                .iter()
                .all(|a| !matches!(a.scope, AlertScope::Projection(_))),
            "projection alert before 3 elapsed days (day {d})"
        );
    }
    let dir = b
        .record_live_bytes("s", gb("1"), utc("2025-03-06T15:00:00Z"))
        .unwrap();
    let proj: Vec<_> = dir
        .alerts
        .iter()
        .filter(|a| matches!(a.scope, AlertScope::Projection(_)))
        .collect();
    assert_eq!(proj.len(), 1);
    // 37 committed + 11 more today + 12 x 17 days after = 252.
    assert_eq!(proj[0].spent, dec("252"));
    let dir = b
        .record_live_bytes("s", gb("1"), utc("2025-03-06T16:00:00Z"))
        .unwrap();
    assert!(dir
        .alerts
        .iter()
        .all(|a| !matches!(a.scope, AlertScope::Projection(_))));
}

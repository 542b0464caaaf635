//! Hard limits: download refusals and the live degrade ladder.

use ifd_budget::{DegradeLevel, DownloadQuote, Error, Month};

use crate::{budget, dec, gb, prices, spend_download, utc};

#[test]
fn refused_download_leaves_the_ledger_unchanged() {
    let mut b = budget();
    let now = utc("2025-03-10T15:00:00Z");
    spend_download(&mut b, "baseline", "170", now);
    let before = b.ledger().to_bytes().unwrap();
    let mar = Month::new(2025, 3).unwrap();
    let q = DownloadQuote::preflight("extra", 5.01, Some(1)).unwrap();
    let err = b.authorize_download(&q, now).unwrap_err();
    match err {
        Error::WouldExceedMonth {
            quote,
            committed,
            budget,
            ..
        } => {
            assert_eq!(quote, dec("5.01"));
            assert_eq!(committed, dec("170"));
            assert_eq!(budget, dec("175"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(b.ledger().to_bytes().unwrap(), before);
    assert_eq!(b.committed(mar), dec("170"));
    // Exactly the rest of the budget fits.
    let q = DownloadQuote::preflight("fits", 5.0, None).unwrap();
    let auth = b.authorize_download(&q, now).unwrap();
    assert_eq!(b.committed(mar), dec("175"));
    b.record_download(auth, dec("5"), 0, now).unwrap();
    assert_eq!(b.ledger().month_totals(mar).total(), dec("175"));
}

#[test]
fn outstanding_authorizations_are_reserved() {
    let mut b = budget();
    let now = utc("2025-03-10T15:00:00Z");
    let q1 = DownloadQuote::offline("a", &prices(), "mbo", 50_000_000_000).unwrap();
    assert_eq!(q1.dollars(), dec("100"));
    let a1 = b.authorize_download(&q1, now).unwrap();
    let q2 = DownloadQuote::preflight_decimal("b", dec("80"), None).unwrap();
    assert!(b.authorize_download(&q2, now).is_err());
    assert!(b.ledger().is_empty());
    b.cancel_download(a1).unwrap();
    let a2 = b.authorize_download(&q2, now).unwrap();
    assert_eq!(a2.quoted(), dec("80"));
    // An actual charge above its quote is recorded as it is.
    b.record_download(a2, dec("81.5"), 7, now).unwrap();
    assert_eq!(b.committed(Month::new(2025, 3).unwrap()), dec("81.5"));
    assert_eq!(b.ledger().charges()[0].bytes, 7);
}

#[test]
fn a_download_is_charged_to_the_month_it_was_authorized_in() {
    let mut b = budget();
    // Authorized at 16:30 CT on Fri Jan 31 2025 (January), recorded at 18:00 CT (Feb).
    let q = DownloadQuote::preflight_decimal("x", dec("20"), None).unwrap();
    let auth = b
        .authorize_download(&q, utc("2025-01-31T22:30:00Z"))
        .unwrap();
    assert_eq!(auth.month(), Month::new(2025, 1).unwrap());
    b.record_download(auth, dec("20"), 0, utc("2025-02-01T00:00:00Z"))
        .unwrap();
    assert_eq!(b.committed(Month::new(2025, 1).unwrap()), dec("20"));
    assert_eq!(b.committed(Month::new(2025, 2).unwrap()), dec("0"));
}

#[test]
fn live_degrades_in_order_then_stops() {
    let mut b = budget();
    // Mon Mar 3 2025: share 175 / 21 = 8.33, cap 10.41; 80% = 8.328, 90% = 9.369.
    let t = utc("2025-03-03T15:00:00Z");
    let d = b.record_live_bytes("s", gb("8"), t).unwrap();
    assert_eq!((d.level, d.changed), (DegradeLevel::Full, false));
    assert_eq!(d.daily_cap, dec("10.41"));
    let d = b.record_live_bytes("s", gb("0.5"), t).unwrap();
    assert_eq!((d.level, d.changed), (DegradeLevel::NearerExpiries, true));
    let d = b.record_live_bytes("s", gb("0.5"), t).unwrap();
    assert_eq!((d.level, d.changed), (DegradeLevel::NearerExpiries, false));
    let d = b.record_live_bytes("s", gb("0.5"), t).unwrap();
    assert_eq!((d.level, d.changed), (DegradeLevel::NearerStrikes, true));
    let d = b.record_live_bytes("s", gb("1"), t).unwrap();
    assert_eq!((d.level, d.changed), (DegradeLevel::Stop, true));
    assert_eq!(d.day_live, dec("10.5"));
    assert_eq!(b.live_level(t).unwrap(), DegradeLevel::Stop);
    // The next session date starts again: (175 - 10.5) / 20 = 8.225 -> 8.22.
    let tue = utc("2025-03-04T15:00:00Z");
    assert_eq!(b.live_level(tue).unwrap(), DegradeLevel::Full);
    assert_eq!(
        b.pacing(crate::day(2025, 3, 4)).unwrap().daily_share,
        dec("8.22")
    );
    let d = b.record_live_bytes("s", gb("0.1"), tue).unwrap();
    assert_eq!((d.level, d.changed), (DegradeLevel::Full, true));
}

#[test]
fn live_stops_on_non_trading_days_and_when_the_month_is_spent() {
    let mut b = budget();
    // Saturday.
    assert_eq!(
        b.live_level(utc("2025-03-08T15:00:00Z")).unwrap(),
        DegradeLevel::Stop
    );
    // Friday 17:30 CT belongs to Saturday's (non-)session.
    assert_eq!(
        b.live_level(utc("2025-03-07T23:30:00Z")).unwrap(),
        DegradeLevel::Stop
    );
    // Sunday 17:30 CT opens Monday's session.
    assert_eq!(
        b.live_level(utc("2025-03-09T22:30:00Z")).unwrap(),
        DegradeLevel::Full
    );
    spend_download(&mut b, "all", "175", utc("2025-03-10T14:00:00Z"));
    assert_eq!(
        b.live_level(utc("2025-03-11T15:00:00Z")).unwrap(),
        DegradeLevel::Stop
    );
    // A zero quote still fits a fully spent month; a cent does not.
    let zero = DownloadQuote::preflight("free", 0.0, None).unwrap();
    assert!(b
        .authorize_download(&zero, utc("2025-03-11T15:00:00Z"))
        .is_ok());
    let cent = DownloadQuote::preflight("cent", 0.01, None).unwrap();
    assert!(b
        .authorize_download(&cent, utc("2025-03-11T15:00:00Z"))
        .is_err());
}

#[test]
fn cache_hits_are_recorded_at_zero() {
    let mut b = budget();
    b.record_cache_hit("req-1", 123, utc("2025-03-10T15:00:00Z"))
        .unwrap();
    assert_eq!(b.ledger().len(), 1);
    assert_eq!(b.ledger().total(), dec("0"));
    assert_eq!(b.ledger().charges()[0].bytes, 123);
}

#[test]
fn cost_per_signal_over_the_month() {
    let mut b = budget();
    spend_download(&mut b, "d", "20", utc("2025-03-03T15:00:00Z"));
    b.record_live_bytes("s", gb("25"), utc("2025-03-04T15:00:00Z"))
        .unwrap();
    let c = b
        .cost_per_signal(
            Month::new(2025, 3).unwrap(),
            ifd_budget::SignalCounts {
                signals: 12,
                useful: 4,
            },
        )
        .unwrap();
    assert_eq!(c.per_signal, Some(dec("3.75")));
    assert_eq!(c.per_useful, Some(dec("11.25")));
    assert_eq!(c.meets_target(dec("5")), Some(true));
}

#[test]
fn keyed_requests_for_a_gate_style_caller() {
    let mut b = budget();
    let now = utc("2025-03-10T15:00:00Z");
    b.authorize_request("GLBX.MDP3/mbo/NQ.OPT/d1", 19.87, Some(9), now)
        .unwrap();
    assert!(matches!(
        b.authorize_request("GLBX.MDP3/mbo/NQ.OPT/d1", 1.0, None, now),
        Err(Error::AlreadyAuthorized { .. })
    ));
    // The held quote is reserved.
    assert_eq!(b.committed(Month::new(2025, 3).unwrap()), dec("19.87"));
    assert!(matches!(
        b.authorize_request("too-big", 160.0, None, now),
        Err(Error::WouldExceedMonth { .. })
    ));
    let s = b
        .settle_request("GLBX.MDP3/mbo/NQ.OPT/d1", 19.87, 9, now)
        .unwrap();
    assert_eq!(s.kind, ifd_budget::ChargeKind::Historical);
    assert!(s.authorized);
    // Zero without an authorization is a cache hit.
    let s = b
        .settle_request("GLBX.MDP3/mbo/NQ.OPT/d1", 0.0, 9, now)
        .unwrap();
    assert_eq!(s.kind, ifd_budget::ChargeKind::CacheHit);
    // A charge without an authorization is still recorded, and flagged.
    let s = b.settle_request("rogue", 1.5, 0, now).unwrap();
    assert!(!s.authorized);
    assert_eq!(b.ledger().total(), dec("21.37"));
    b.authorize_request("abandoned", 3.0, None, now).unwrap();
    b.release_request("abandoned").unwrap();
    assert!(matches!(
        b.release_request("abandoned"),
        Err(Error::UnknownRequest { .. })
    ));
    assert_eq!(b.committed(Month::new(2025, 3).unwrap()), dec("21.37"));
    assert!(b.settle_request("x", f64::NAN, 0, now).is_err());
    assert_eq!(b.ledger().len(), 3);
}

#[test]
fn an_authorization_settles_once() {
    let mut b = budget();
    let now = utc("2025-03-10T15:00:00Z");
    let q = DownloadQuote::preflight("once", 2.0, None).unwrap();
    let auth = b.authorize_download(&q, now).unwrap();
    let copy = auth.clone();
    b.record_download(auth, dec("2"), 0, now).unwrap();
    let before = b.ledger().clone();
    assert!(matches!(
        b.record_download(copy.clone(), dec("2"), 0, now),
        Err(Error::UnknownAuthorization { .. })
    ));
    assert!(matches!(
        b.cancel_download(copy),
        Err(Error::UnknownAuthorization { .. })
    ));
    assert_eq!(b.ledger(), &before);
}

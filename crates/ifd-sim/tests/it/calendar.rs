//! The simulator's sessions follow the CME calendar of `ifd_core`.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use ifd_core::calendar::{central_ns, Calendar};
use ifd_sim::{Preset, SimConfig, SimDay, Simulator};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn ct(date: NaiveDate, h: u32, m: u32) -> u64 {
    central_ns(date, NaiveTime::from_hms_opt(h, m, 0).unwrap()).unwrap()
}

#[test]
fn a_thirty_day_run_across_thanksgiving_skips_the_holiday_and_weekends() {
    let cal = Calendar::cme_equity();
    let mut cfg = SimConfig::preset(Preset::Quiet, 11);
    cfg.start_date = d(2026, 11, 14); // a Saturday
    cfg.records_per_day = 3_000;
    let sim = Simulator::new(cfg);
    let days: Vec<SimDay> = (0..30).map(|i| sim.session(i, i % 7 == 3)).collect();
    assert_eq!(
        days[0].trade_date,
        d(2026, 11, 16),
        "day 0 is the first trading date"
    );
    let dates: Vec<NaiveDate> = days.iter().map(|s| s.trade_date).collect();
    assert!(
        !dates.contains(&d(2026, 11, 26)),
        "no session on Thanksgiving"
    );
    assert!(dates.contains(&d(2026, 11, 27)));
    for w in dates.windows(2) {
        // Consecutive trading dates: nothing tradable lies between them.
        let next = cal.trading_day_on_or_after(w[0].succ_opt().unwrap());
        assert_eq!(next, Some(w[1]), "{} is followed by {}", w[0], w[1]);
    }
    for s in &days {
        let wd = s.trade_date.weekday();
        assert!(wd != Weekday::Sat && wd != Weekday::Sun, "{}", s.trade_date);
        assert!(cal.is_trading_day(s.trade_date));
        let session = cal.session(s.trade_date).unwrap();
        assert_eq!(s.session_start, session.open());
        assert_eq!(s.session_end, session.close());
        assert!(!s.mbo.is_empty(), "{} has records", s.trade_date);
        for m in &s.mbo {
            let ts = m.hd.ts_event;
            assert!(
                session.contains(ts),
                "{}: an event at {ts} while Globex is closed",
                s.trade_date
            );
        }
    }
    for w in days.windows(2) {
        assert!(w[0].session_end <= w[1].session_start);
    }
    // The day after Thanksgiving: Wednesday 17:00 CT to the Thursday 12:00 CT halt, then
    // Thursday 17:00 CT to the 12:15 CT early close, both traded, nothing between.
    let fri = days
        .iter()
        .find(|s| s.trade_date == d(2026, 11, 27))
        .unwrap();
    assert_eq!(fri.session_start, ct(d(2026, 11, 25), 17, 0));
    assert_eq!(fri.session_end, ct(d(2026, 11, 27), 12, 15));
    let halt = ct(d(2026, 11, 26), 12, 0);
    let reopen = ct(d(2026, 11, 26), 17, 0);
    let before = fri.mbo.iter().filter(|m| m.hd.ts_event < halt).count();
    let after = fri.mbo.iter().filter(|m| m.hd.ts_event >= reopen).count();
    assert!(
        before > 100 && after > 100,
        "{before} before the halt, {after} after the reopen"
    );
    assert_eq!(before + after, fri.mbo.len());
}

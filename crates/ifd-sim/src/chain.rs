//! The simulated NQ chain of one trade date: the front future and its options, with the
//! `InstrumentDefMsg` records Databento would send for them.

use std::ffi::c_char;

use dbn::{rtype, InstrumentDefMsg, RecordHeader, SecurityUpdateAction, UNDEF_PRICE};
use serde::{Deserialize, Serialize};

use chrono::{Datelike, NaiveDate};

use super::calendar::{
    central_time_ns, days_since_epoch, expiries, front_quarter, month_code, ExpiryKind, Session,
};
use super::pricing::{LARGE_TICK, PX};
use crate::{Error, Result};

/// GLBX.MDP3's publisher id.
pub(crate) const PUBLISHER_ID: u16 = 1;

/// What a simulated contract is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractKind {
    /// The underlying NQ future.
    Future,
    /// A call option on the future.
    Call,
    /// A put option on the future.
    Put,
}

/// One simulated contract, as listed in [`SimDay::contracts`](super::SimDay::contracts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimContract {
    /// Databento instrument id (stable across days for the same contract).
    pub instrument_id: u32,
    /// CME raw symbol, e.g. `"NQZ6 C21000"` or `"NQZ6"`.
    pub raw_symbol: String,
    /// Future, call or put.
    pub kind: ContractKind,
    /// Strike at 1e-9, `None` for the future.
    pub strike: Option<i64>,
    /// Expiration, UNIX ns.
    pub expiration: u64,
    /// Expiry family, `None` for the future.
    pub expiry: Option<ExpiryKind>,
}

/// Internal instrument state shared by the engine.
#[derive(Debug, Clone)]
pub(crate) struct Inst {
    pub(crate) id: u32,
    pub(crate) kind: ContractKind,
    pub(crate) strike: f64,
    pub(crate) expiration: u64,
    /// Index of the expiry in the day's expiry list (0 = front); `usize::MAX` for the future.
    pub(crate) expiry_index: usize,
    pub(crate) channel: u8,
}

impl Inst {
    pub(crate) fn is_option(&self) -> bool {
        self.kind != ContractKind::Future
    }
    pub(crate) fn is_call(&self) -> bool {
        self.kind == ContractKind::Call
    }
}

/// The chain of one session.
#[derive(Debug, Clone)]
pub(crate) struct SimChain {
    /// Index 0 is the future; options follow, grouped by expiry then strike then C/P.
    pub(crate) insts: Vec<Inst>,
    pub(crate) contracts: Vec<SimContract>,
    pub(crate) definitions: Vec<InstrumentDefMsg>,
    /// Per expiry: the option instrument indexes as (strike index -> [call, put]).
    pub(crate) by_expiry: Vec<Vec<[usize; 2]>>,
}

/// Instrument id of the quarterly future expiring on `date` (stable across days).
fn future_id(date: NaiveDate) -> u32 {
    let days = u32::try_from(days_since_epoch(date).max(0)).unwrap_or(0);
    10_000 + days % 90_000
}

/// Instrument id of an option: a pure function of its expiry, product, strike and class.
fn option_id(expiry: NaiveDate, product_index: u32, strike: i64, put: bool) -> u32 {
    let days = u32::try_from((days_since_epoch(expiry) - 18_262).clamp(0, 4_000)).unwrap_or(0);
    let strike_slot = u32::try_from((strike / 5).rem_euclid(50_000)).unwrap_or(0);
    1_000_000_000 + days * 400_000 + product_index * 100_000 + strike_slot * 2 + u32::from(put)
}

fn strike_step(kind: ExpiryKind) -> i64 {
    match kind {
        ExpiryKind::Daily => 25,
        ExpiryKind::Weekly | ExpiryKind::Monthly => 50,
        ExpiryKind::Quarterly => 100,
    }
}

fn cstr<const N: usize>(s: &str) -> Result<[c_char; N]> {
    dbn::record::str_to_c_chars::<N>(s).map_err(|source| Error::DbnEncode { source })
}

/// Builds the chain for `session` centred on the underlying level `atm`: per expiry
/// `strikes_per_side` strikes each side of the money, plus `wings` deep out-of-the-money
/// strikes each side beyond them (at 2, 3, ... times the chain's half-width).
pub(crate) fn build(
    session: &Session,
    atm: f64,
    n_expiries: usize,
    strikes_per_side: usize,
    wings: usize,
) -> Result<SimChain> {
    let trade_date = session.trade_date;
    let q = front_quarter(trade_date);
    let fut_symbol = format!("NQ{}{}", month_code(q.month()), q.year().rem_euclid(10));
    let fut_exp = central_time_ns(q, 8, 30);
    let fut_id = future_id(q);
    let def_ts = session.start.saturating_sub(60 * 1_000_000_000);

    let mut insts = Vec::new();
    let mut contracts = Vec::new();
    let mut definitions = Vec::new();
    let mut by_expiry = Vec::new();

    let mut fut_def = InstrumentDefMsg {
        hd: RecordHeader::new::<InstrumentDefMsg>(
            rtype::INSTRUMENT_DEF,
            PUBLISHER_ID,
            fut_id,
            def_ts,
        ),
        ts_recv: def_ts,
        min_price_increment: LARGE_TICK,
        display_factor: PX,
        expiration: fut_exp,
        unit_of_measure_qty: 20 * PX,
        raw_instrument_id: u64::from(fut_id),
        channel_id: 0,
        instrument_class: dbn::InstrumentClass::Future as u8 as c_char,
        security_update_action: SecurityUpdateAction::Add as u8 as c_char,
        maturity_year: u16::try_from(q.year()).unwrap_or(u16::MAX),
        maturity_month: u8::try_from(q.month()).unwrap_or(u8::MAX),
        maturity_day: u8::try_from(q.day()).unwrap_or(u8::MAX),
        ..InstrumentDefMsg::default()
    };
    fut_def.raw_symbol = cstr(&fut_symbol)?;
    fut_def.asset = cstr("NQ")?;
    fut_def.security_type = cstr("FUT")?;
    fut_def.cfi = cstr("FFICSX")?;
    fut_def.unit_of_measure = cstr("IPNT")?;
    fut_def.exchange = cstr("XCME")?;
    fut_def.group = cstr("NQ")?;
    fut_def.currency = cstr("USD")?;
    definitions.push(fut_def);
    insts.push(Inst {
        id: fut_id,
        kind: ContractKind::Future,
        strike: 0.0,
        expiration: fut_exp,
        expiry_index: usize::MAX,
        channel: 0,
    });
    contracts.push(SimContract {
        instrument_id: fut_id,
        raw_symbol: fut_symbol.clone(),
        kind: ContractKind::Future,
        strike: None,
        expiration: fut_exp,
        expiry: None,
    });

    for (ei, expiry) in expiries(trade_date, n_expiries).into_iter().enumerate() {
        let step = strike_step(expiry.kind);
        let centre = ((atm / step as f64).round() as i64) * step;
        let product_index = match expiry.kind {
            ExpiryKind::Daily => 0,
            ExpiryKind::Weekly => 1,
            ExpiryKind::Monthly => 2,
            ExpiryKind::Quarterly => 3,
        };
        let sym_prefix = format!(
            "{}{}{}",
            expiry.product,
            month_code(expiry.date.month()),
            expiry.date.year().rem_euclid(10)
        );
        let side = i64::try_from(strikes_per_side).unwrap_or(1);
        let mut offsets: Vec<i64> = (-side..=side).collect();
        for j in 1..=i64::try_from(wings).unwrap_or(0) {
            let far = side * (1 + j);
            if far > side {
                offsets.push(far);
                offsets.insert(0, -far);
            }
        }
        offsets.dedup();
        let mut strikes = Vec::new();
        for k in offsets.into_iter().map(|i| centre + i * step) {
            let mut pair = [0usize; 2];
            for (ci, put) in [false, true].into_iter().enumerate() {
                let id = option_id(expiry.date, product_index, k, put);
                let raw_symbol = format!("{sym_prefix} {}{k}", if put { 'P' } else { 'C' });
                let kind = if put {
                    ContractKind::Put
                } else {
                    ContractKind::Call
                };
                let channel = u8::try_from(ei + 1).unwrap_or(u8::MAX);
                let mut def = InstrumentDefMsg {
                    hd: RecordHeader::new::<InstrumentDefMsg>(
                        rtype::INSTRUMENT_DEF,
                        PUBLISHER_ID,
                        id,
                        def_ts,
                    ),
                    ts_recv: def_ts,
                    min_price_increment: UNDEF_PRICE,
                    display_factor: PX,
                    expiration: expiry.ns,
                    unit_of_measure_qty: 20 * PX,
                    strike_price: k * PX,
                    raw_instrument_id: u64::from(id),
                    underlying_id: fut_id,
                    contract_multiplier: i32::MAX,
                    channel_id: u16::from(channel),
                    instrument_class: if put {
                        dbn::InstrumentClass::Put as u8 as c_char
                    } else {
                        dbn::InstrumentClass::Call as u8 as c_char
                    },
                    security_update_action: SecurityUpdateAction::Add as u8 as c_char,
                    maturity_year: u16::try_from(expiry.date.year()).unwrap_or(u16::MAX),
                    maturity_month: u8::try_from(expiry.date.month()).unwrap_or(u8::MAX),
                    maturity_day: u8::try_from(expiry.date.day()).unwrap_or(u8::MAX),
                    ..InstrumentDefMsg::default()
                };
                def.raw_symbol = cstr(&raw_symbol)?;
                def.asset = cstr("NQ")?;
                def.security_type = cstr("OOF")?;
                def.cfi = cstr(if put { "OPAFPS" } else { "OCAFPS" })?;
                def.unit_of_measure = cstr("IPNT")?;
                def.underlying = cstr(&fut_symbol)?;
                def.exchange = cstr("XCME")?;
                def.group = cstr("NQ")?;
                def.currency = cstr("USD")?;
                def.strike_price_currency = cstr("USD")?;
                definitions.push(def);
                pair[ci] = insts.len();
                insts.push(Inst {
                    id,
                    kind,
                    strike: k as f64,
                    expiration: expiry.ns,
                    expiry_index: ei,
                    channel,
                });
                contracts.push(SimContract {
                    instrument_id: id,
                    raw_symbol,
                    kind,
                    strike: Some(k * PX),
                    expiration: expiry.ns,
                    expiry: Some(expiry.kind),
                });
            }
            strikes.push(pair);
        }
        by_expiry.push(strikes);
    }
    Ok(SimChain {
        insts,
        contracts,
        definitions,
        by_expiry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_definitions_look_like_cme() {
        let session = Session::new(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap());
        let chain = build(&session, 21_003.0, 4, 3, 0).unwrap();
        assert_eq!(chain.insts.len(), 1 + 4 * 7 * 2);
        let ids: std::collections::BTreeSet<u32> = chain.insts.iter().map(|i| i.id).collect();
        assert_eq!(ids.len(), chain.insts.len(), "instrument ids are unique");
        let q = chain
            .definitions
            .iter()
            .find(|d| d.raw_symbol().unwrap() == "NQZ6 C21000")
            .unwrap();
        assert_eq!(q.asset().unwrap(), "NQ");
        assert_eq!(q.underlying().unwrap(), "NQZ6");
        assert_eq!(q.underlying_id, chain.insts[0].id);
        assert_eq!(q.strike_price, 21_000 * PX);
        assert_eq!(q.unit_of_measure_qty, 20_000_000_000);
        assert_eq!(q.cfi().unwrap(), "OCAFPS");
        assert_eq!(q.security_type().unwrap(), "OOF");
        assert_eq!(q.instrument_class().unwrap(), dbn::InstrumentClass::Call);
        assert_eq!(q.min_price_increment, UNDEF_PRICE);
        assert_eq!(q.contract_multiplier, i32::MAX);
        assert_eq!(chain.definitions[0].security_type().unwrap(), "FUT");
        // Same contract, next day: same id.
        let next = build(
            &Session::new(NaiveDate::from_ymd_opt(2026, 11, 3).unwrap()),
            21_003.0,
            4,
            3,
            0,
        )
        .unwrap();
        let again = next
            .contracts
            .iter()
            .find(|c| c.raw_symbol == "NQZ6 C21000")
            .unwrap();
        assert_eq!(again.instrument_id, q.hd.instrument_id);
        // Two wings each side beyond 3 strikes: at 6 and 9 strikes (2 and 3 times the
        // half-width), ascending.
        let winged = build(&session, 21_003.0, 1, 3, 2).unwrap();
        let strikes: Vec<f64> = winged.by_expiry[0]
            .iter()
            .map(|p| winged.insts[p[0]].strike)
            .collect();
        assert_eq!(
            strikes,
            [
                20_775.0, 20_850.0, 20_925.0, 20_950.0, 20_975.0, 21_000.0, 21_025.0, 21_050.0,
                21_075.0, 21_150.0, 21_225.0
            ]
        );
    }
}

//! Statistics records (`StatMsg`, rtype `STATISTICS`) of a session, as CME publishes them
//! through Databento: open interest per instrument before the session opens, and the
//! settlement price and cleared volume of each instrument after it closes.
//!
//! Two simplifications, both documented on [`SimConfig::statistics`](crate::SimConfig):
//! CME publishes the cleared volume of a trading date on the next morning, and the
//! simulator publishes it right after the session it counts (with `ts_ref` naming that
//! trading date); settlement prices are Black-76 values at the close (intrinsic value for
//! an option that expired during the session), rounded to the premium grid.

use dbn::{rtype, Action, MboMsg, RecordHeader, StatMsg, StatType, StatUpdateAction};
use rand_distr::{Distribution, LogNormal};

use crate::calendar::{midnight_utc_ns, previous_trading_date, Session, NS_PER_SEC};
use crate::chain::{SimChain, PUBLISHER_ID};
use crate::generator::stream_rng;
use crate::pricing::{black76, floor_to_grid, smile_vol, years_to, LARGE_TICK, PX, SMALL_TICK};
use crate::SimConfig;

/// Settlement flag (CME `SettlPriceType` bit 0): the final daily settlement.
pub(crate) const SETTLEMENT_FINAL: u8 = 1 << 0;
/// Settlement flag (CME `SettlPriceType` bit 1): an actual (not theoretical) price, i.e.
/// the instrument traded.
pub(crate) const SETTLEMENT_ACTUAL: u8 = 1 << 1;

/// Before the open: definitions are stamped a minute before the session, open interest
/// 30 seconds before it.
const OPEN_INTEREST_LEAD_NS: u64 = 30 * NS_PER_SEC;
/// Exchange-to-capture latency of a statistics record.
const STAT_LATENCY_NS: u64 = 150_000;

/// The statistics of one session, in `ts_recv` order.
///
/// `mbo` is the session's full record stream (before any mid-session cut): cleared volume
/// is the sum of its trade sizes per instrument, and the closing statistics follow its
/// last record.
pub(crate) fn session_statistics(
    cfg: &SimConfig,
    day: u32,
    chain: &SimChain,
    session: &Session,
    path: &[f64],
    mbo: &[MboMsg],
) -> Vec<StatMsg> {
    let mut rng = stream_rng(cfg.seed, day, 17);
    let first_seq = mbo.first().map_or(0, |m| m.sequence.saturating_sub(1));
    let last_seq = mbo.last().map_or(0, |m| m.sequence.saturating_add(1));
    let f0 = path.first().copied().unwrap_or(cfg.start_price);
    let f_close = path.last().copied().unwrap_or(f0);
    let mut out = Vec::with_capacity(chain.insts.len() * 3);

    // Open interest of the previous trading date, before the open.
    let oi_recv = session.start.saturating_sub(OPEN_INTEREST_LEAD_NS);
    let prev_date = previous_trading_date(session.trade_date);
    for inst in &chain.insts {
        let base = if inst.is_option() {
            let width = match inst.expiry_index {
                0 => 150.0,
                1 => 300.0,
                2 => 500.0,
                _ => 700.0,
            };
            let depth = match inst.expiry_index {
                0 => 400.0,
                1 => 1_500.0,
                2 => 3_000.0,
                _ => 6_000.0,
            };
            depth * (-(inst.strike - f0).abs() / width).exp() + 20.0
        } else {
            250_000.0
        };
        let noise = LogNormal::new(0.0, 0.5).map_or(1.0, |d| d.sample(&mut rng));
        let oi = (base * noise).round().max(1.0) as i64;
        out.push(stat(
            inst.id,
            inst.channel,
            oi_recv,
            first_seq,
            StatType::OpenInterest,
            midnight_utc_ns(prev_date),
            dbn::UNDEF_PRICE,
            oi,
            0,
        ));
    }

    // Settlement and cleared volume of this trading date, after the close.
    let mut volume = vec![0_i64; chain.insts.len()];
    let index: std::collections::HashMap<u32, usize> = chain
        .insts
        .iter()
        .enumerate()
        .map(|(i, inst)| (inst.id, i))
        .collect();
    for m in mbo {
        if matches!(m.action(), Ok(Action::Trade)) {
            if let Some(&i) = index.get(&m.hd.instrument_id) {
                volume[i] += i64::from(m.size);
            }
        }
    }
    let close_recv = mbo.last().map_or(session.end, |m| m.ts_recv) + 1_000_000;
    let today = midnight_utc_ns(session.trade_date);
    for (i, inst) in chain.insts.iter().enumerate() {
        let traded = volume[i] > 0;
        let price = if inst.is_option() {
            let expired = inst.expiration <= session.end;
            let at = if expired {
                inst.expiration
            } else {
                session.end
            };
            let second = usize::try_from(at.saturating_sub(session.start) / NS_PER_SEC)
                .unwrap_or(usize::MAX)
                .min(path.len().saturating_sub(1));
            let f = path.get(second).copied().unwrap_or(f_close);
            let value = if expired {
                let intrinsic = if inst.is_call() {
                    f - inst.strike
                } else {
                    inst.strike - f
                };
                intrinsic.max(0.0)
            } else {
                let years = years_to(at, inst.expiration);
                let vol = smile_vol(cfg.annual_vol, f, inst.strike, years);
                black76(inst.is_call(), f, inst.strike, vol, years)
            };
            // Round to the nearest grid price (half a tick up, then down onto the grid).
            let half = if value < 5.0 { SMALL_TICK } else { LARGE_TICK } as f64 / 2.0;
            floor_to_grid(value + half / PX as f64).max(0)
        } else {
            ((f_close * 4.0).round() / 4.0 * PX as f64).round() as i64
        };
        let flags = SETTLEMENT_FINAL | if traded { SETTLEMENT_ACTUAL } else { 0 };
        out.push(stat(
            inst.id,
            inst.channel,
            close_recv,
            last_seq,
            StatType::SettlementPrice,
            today,
            price,
            dbn::UNDEF_STAT_QUANTITY,
            flags,
        ));
        if traded {
            out.push(stat(
                inst.id,
                inst.channel,
                close_recv,
                last_seq,
                StatType::ClearedVolume,
                today,
                dbn::UNDEF_PRICE,
                volume[i],
                0,
            ));
        }
    }
    // Already in time order: open interest precedes every MBO record and the closing
    // statistics follow them; within one instant, definition order.
    out
}

#[allow(
    clippy::too_many_arguments,
    reason = "one statistics record has this many fields"
)]
fn stat(
    instrument_id: u32,
    channel: u8,
    ts_recv: u64,
    sequence: u32,
    stat_type: StatType,
    ts_ref: u64,
    price: i64,
    quantity: i64,
    stat_flags: u8,
) -> StatMsg {
    let ts_event = ts_recv.saturating_sub(STAT_LATENCY_NS);
    StatMsg {
        hd: RecordHeader::new::<StatMsg>(rtype::STATISTICS, PUBLISHER_ID, instrument_id, ts_event),
        ts_recv,
        ts_ref,
        price,
        quantity,
        sequence,
        ts_in_delta: i32::try_from(STAT_LATENCY_NS / 3).unwrap_or(0),
        stat_type: stat_type as u16,
        channel_id: u16::from(channel),
        update_action: StatUpdateAction::New as u8,
        stat_flags,
        ..StatMsg::default()
    }
}

//! The options chain: option contracts built from `InstrumentDefMsg` records, indexed by
//! expiry, strike and kind, with lookups by instrument id.
//!
//! # What goes where
//! - Outright options (instrument class `C` or `P`) become [`OptionContract`]s and are
//!   indexed by `(expiration, strike, kind)`.
//! - Futures (class `F`) become [`FutureContract`]s: they are the underlyings that
//!   moneyness is measured against.
//! - Everything else (option spreads `T`, futures spreads `S`, mixed spreads `M`, and any
//!   other class) is kept apart as an [`OtherInstrument`], so spread and combination books
//!   never leak into outright pressure.
//!
//! A definition whose `security_update_action` is `D` (delete) removes the instrument; any
//! other action adds it or replaces the previous definition of the same instrument id.
//!
//! # Units
//! Strikes stay in dbn's 1e-9 fixed point. The multiplier of a CME option is
//! `unit_of_measure_qty` (20 for NQ, 50 for ES), also in 1e-9 fixed point;
//! `contract_multiplier` is null (`i32::MAX`) on CME and is used only as a fallback.
//!
//! # Ticks
//! CME publishes `min_price_increment = UNDEF_PRICE` for its options because their tick is
//! variable. [`TickRule::CME_EQUITY_INDEX_OPTION`] models the equity-index rule (NQ and ES
//! options, including weeklies): 0.05 index points for premiums below 5.00 and 0.25 at or
//! above 5.00. It is a model of the exchange's published rule, not data from the feed; it
//! is applied to every option whose definition has no usable increment, and
//! [`Chain::with_default_option_tick`] replaces it for other products.
//!
//! # Fallback: symbols only
//! Where a definition is missing (for example a symbol mapping arrived but no definition),
//! [`parse_option_symbol`] reads CME option symbols such as `"NQZ6 C21000"`,
//! `"EW2F6 C7000"` or `"ESM4 P5250"`, and [`Chain::insert_from_symbol`] records the
//! parsed kind and strike for the instrument until its definition arrives.

use std::collections::BTreeSet;

use ifd_core::IdMap;

use dbn::{InstrumentDefMsg, FIXED_PRICE_SCALE, UNDEF_PRICE, UNDEF_TIMESTAMP};

use crate::error::{Error, Result};

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OptionKind {
    /// A call option (instrument class `C`).
    Call,
    /// A put option (instrument class `P`).
    Put,
}

impl OptionKind {
    /// The letter CME and Databento use: `'C'` or `'P'`.
    #[must_use]
    pub const fn as_char(self) -> char {
        match self {
            Self::Call => 'C',
            Self::Put => 'P',
        }
    }
}

/// The minimum price increment of an instrument, in 1e-9 fixed point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickRule {
    /// One increment at every price (from a defined `min_price_increment`).
    Fixed {
        /// The increment.
        tick: i64,
    },
    /// CME's variable option tick: `below` for prices under `threshold`, `at_or_above`
    /// from `threshold` up.
    Variable {
        /// Price where the larger tick starts.
        threshold: i64,
        /// Increment strictly below `threshold`.
        below: i64,
        /// Increment at or above `threshold`.
        at_or_above: i64,
    },
}

impl TickRule {
    /// CME equity-index options (NQ, ES and their weeklies): 0.05 below 5.00, 0.25 at or
    /// above 5.00 index points.
    pub const CME_EQUITY_INDEX_OPTION: Self = Self::Variable {
        threshold: 5 * FIXED_PRICE_SCALE,
        below: FIXED_PRICE_SCALE / 20,
        at_or_above: FIXED_PRICE_SCALE / 4,
    };

    /// The increment that applies at `price`.
    #[must_use]
    pub const fn tick_at(&self, price: i64) -> i64 {
        match *self {
            Self::Fixed { tick } => tick,
            Self::Variable {
                threshold,
                below,
                at_or_above,
            } => {
                if price < threshold {
                    below
                } else {
                    at_or_above
                }
            }
        }
    }

    /// True when `price` lies on the tick grid that applies at it. A non-positive tick
    /// accepts nothing.
    #[must_use]
    pub const fn is_on_tick(&self, price: i64) -> bool {
        let tick = self.tick_at(price);
        tick > 0 && price.rem_euclid(tick) == 0
    }
}

/// One outright option from its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionContract {
    /// Databento instrument id.
    pub instrument_id: u32,
    /// Venue symbol, e.g. `"NQM4 C18000"`.
    pub raw_symbol: String,
    /// Symbol of the underlying future, e.g. `"NQM4"`.
    pub underlying: String,
    /// Instrument id of the underlying future.
    pub underlying_id: u32,
    /// Product code, e.g. `"NQ"`, `"ES"`, or a weekly's `"EW2"`.
    pub asset: String,
    /// Call or put.
    pub kind: OptionKind,
    /// Strike in 1e-9 fixed point.
    pub strike: i64,
    /// Expiration, nanoseconds since the UNIX epoch.
    pub expiration: u64,
    /// Contract multiplier in 1e-9 fixed point (`unit_of_measure_qty`; 20e9 for NQ).
    pub multiplier: i64,
    /// Price increment rule.
    pub tick: TickRule,
    /// The venue channel that carries this instrument.
    pub channel_id: u16,
    /// `ts_recv` of the definition that produced this contract.
    pub ts_recv: u64,
}

/// One outright future from its definition (the underlying of options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureContract {
    /// Databento instrument id.
    pub instrument_id: u32,
    /// Venue symbol, e.g. `"NQM4"`.
    pub raw_symbol: String,
    /// Product code, e.g. `"NQ"`.
    pub asset: String,
    /// Expiration in ns since the epoch, if defined.
    pub expiration: Option<u64>,
    /// Contract multiplier in 1e-9 fixed point, if defined.
    pub multiplier: Option<i64>,
    /// Price increment, if defined.
    pub tick: Option<TickRule>,
}

/// A non-outright instrument (spread, combination, or a class ifd does not analyse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherInstrument {
    /// Databento instrument id.
    pub instrument_id: u32,
    /// Venue symbol.
    pub raw_symbol: String,
    /// Product code.
    pub asset: String,
    /// Raw instrument class byte (e.g. `'T'` option spread, `'S'` futures spread).
    pub class: char,
}

/// What [`Chain::apply`] did with one definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainUpdate {
    /// A new outright option.
    OptionAdded,
    /// An outright option replaced an earlier definition of the same id.
    OptionReplaced,
    /// A future was added or replaced.
    Future,
    /// A spread or other non-outright instrument was added or replaced.
    Other,
    /// The instrument was removed (security update action `D`).
    Deleted,
    /// The definition was skipped; the reason is counted in [`ChainStats`].
    Skipped,
}

/// Counts of what the chain did with its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainStats {
    /// Definitions seen.
    pub definitions: u64,
    /// Option definitions that replaced an earlier one.
    pub replaced: u64,
    /// Deletes applied (whether or not the id was known).
    pub deleted: u64,
    /// Call/put definitions skipped because the strike was `UNDEF_PRICE`.
    pub skipped_undef_strike: u64,
    /// Call/put definitions skipped because the expiration was undefined.
    pub skipped_undef_expiration: u64,
    /// Call/put definitions skipped because neither `unit_of_measure_qty` nor
    /// `contract_multiplier` gave a positive multiplier.
    pub skipped_no_multiplier: u64,
    /// Definitions whose text fields were not valid UTF-8 (kept with empty strings).
    pub bad_text: u64,
    /// Fallback entries made from symbols by [`Chain::insert_from_symbol`].
    pub from_symbol: u64,
}

/// A CME option symbol split into its parts, e.g. `"NQZ6 C21000"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedOptionSymbol {
    /// Product root, e.g. `"NQ"` or `"EW2"`.
    pub root: String,
    /// CME month code letter (`F` January .. `Z` December).
    pub month_code: char,
    /// Month number 1..=12.
    pub month: u8,
    /// Year digits as written (one digit on Globex, e.g. 6 for 2026).
    pub year_digits: u16,
    /// Call or put.
    pub kind: OptionKind,
    /// Strike in 1e-9 fixed point.
    pub strike: i64,
}

const MONTH_CODES: &[u8; 12] = b"FGHJKMNQUVXZ";

fn symbol_err(symbol: &str, reason: &'static str) -> Error {
    Error::InvalidSymbol {
        symbol: symbol.chars().take(64).collect(),
        reason,
    }
}

/// Parses a decimal number such as `"21000"` or `"5250.5"` into 1e-9 fixed point.
fn parse_fixed(text: &str) -> Option<i64> {
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if int_part.is_empty() || frac_part.len() > 9 {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int: i64 = int_part.parse().ok()?;
    let mut frac: i64 = 0;
    for (i, b) in frac_part.bytes().enumerate() {
        let digit = i64::from(b - b'0');
        frac = frac.checked_add(digit.checked_mul(10_i64.pow(8 - i as u32))?)?;
    }
    int.checked_mul(FIXED_PRICE_SCALE)?.checked_add(frac)
}

/// Parses a CME option symbol: `ROOT` + month code + year digits, a space, `C` or `P`,
/// and the strike (e.g. `"NQZ6 C21000"`, `"EW2F6 C7000"`, `"ESM4 P5250"`).
///
/// # Errors
/// [`Error::InvalidSymbol`] when the text does not have that shape: no space, an empty
/// root, an unknown month code, no year digits, a kind other than `C`/`P`, or a strike
/// that is not a non-negative decimal that fits in 1e-9 fixed point.
pub fn parse_option_symbol(symbol: &str) -> Result<ParsedOptionSymbol> {
    let (contract, option) = symbol
        .trim()
        .split_once(' ')
        .ok_or_else(|| symbol_err(symbol, "no space between contract and strike"))?;
    let option = option.trim_start();
    let bytes = contract.as_bytes();
    let year_len = bytes
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if year_len == 0 || year_len > 2 {
        return Err(symbol_err(symbol, "year must be one or two digits"));
    }
    let month_pos = bytes
        .len()
        .checked_sub(year_len + 1)
        .ok_or_else(|| symbol_err(symbol, "no month code"))?;
    let month_code = bytes[month_pos];
    let month_index = MONTH_CODES
        .iter()
        .position(|&m| m == month_code)
        .ok_or_else(|| symbol_err(symbol, "unknown month code"))?;
    let root = &contract[..month_pos];
    if root.is_empty() || !root.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(symbol_err(
            symbol,
            "root must be non-empty and alphanumeric",
        ));
    }
    let year_digits: u16 = contract[month_pos + 1..]
        .parse()
        .map_err(|_| symbol_err(symbol, "bad year digits"))?;
    let mut option_chars = option.chars();
    let kind = match option_chars.next() {
        Some('C') => OptionKind::Call,
        Some('P') => OptionKind::Put,
        _ => return Err(symbol_err(symbol, "kind must be C or P")),
    };
    let strike =
        parse_fixed(option_chars.as_str()).ok_or_else(|| symbol_err(symbol, "bad strike"))?;
    Ok(ParsedOptionSymbol {
        root: root.to_owned(),
        month_code: char::from(month_code),
        month: month_index as u8 + 1,
        year_digits,
        kind,
        strike,
    })
}

/// The options chain: outright options indexed by expiry, strike and kind, plus the
/// futures and non-outright instruments seen in the same definitions.
#[derive(Debug, Clone)]
pub struct Chain {
    options: IdMap<u32, OptionContract>,
    index: BTreeSet<(u64, i64, OptionKind, u32)>,
    futures: IdMap<u32, FutureContract>,
    others: IdMap<u32, OtherInstrument>,
    from_symbol: IdMap<u32, ParsedOptionSymbol>,
    default_option_tick: TickRule,
    stats: ChainStats,
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

fn text(res: dbn::Result<&str>, bad: &mut bool) -> String {
    match res {
        Ok(s) => s.to_owned(),
        Err(_) => {
            *bad = true;
            String::new()
        }
    }
}

fn fixed_multiplier(def: &InstrumentDefMsg) -> Option<i64> {
    if def.unit_of_measure_qty != UNDEF_PRICE && def.unit_of_measure_qty > 0 {
        return Some(def.unit_of_measure_qty);
    }
    if def.contract_multiplier != i32::MAX && def.contract_multiplier > 0 {
        return i64::from(def.contract_multiplier).checked_mul(FIXED_PRICE_SCALE);
    }
    None
}

fn defined_tick(def: &InstrumentDefMsg) -> Option<TickRule> {
    (def.min_price_increment != UNDEF_PRICE && def.min_price_increment > 0).then_some(
        TickRule::Fixed {
            tick: def.min_price_increment,
        },
    )
}

impl Chain {
    /// An empty chain using [`TickRule::CME_EQUITY_INDEX_OPTION`] for options without a
    /// defined increment.
    #[must_use]
    pub fn new() -> Self {
        Self {
            options: IdMap::default(),
            index: BTreeSet::new(),
            futures: IdMap::default(),
            others: IdMap::default(),
            from_symbol: IdMap::default(),
            default_option_tick: TickRule::CME_EQUITY_INDEX_OPTION,
            stats: ChainStats::default(),
        }
    }

    /// Uses `tick` for options whose definition carries no usable `min_price_increment`.
    #[must_use]
    pub fn with_default_option_tick(mut self, tick: TickRule) -> Self {
        self.default_option_tick = tick;
        self
    }

    /// Applies one definition: adds, replaces or (action `D`) removes its instrument.
    pub fn apply(&mut self, def: &InstrumentDefMsg) -> ChainUpdate {
        self.stats.definitions += 1;
        let instrument_id = def.hd.instrument_id;
        if def.security_update_action as u8 == b'D' {
            self.remove(instrument_id);
            self.stats.deleted += 1;
            return ChainUpdate::Deleted;
        }
        let mut bad = false;
        let class = def.instrument_class as u8;
        let update = match class {
            b'C' | b'P' => self.apply_option(def, class, &mut bad),
            b'F' => {
                self.remove(instrument_id);
                let future = FutureContract {
                    instrument_id,
                    raw_symbol: text(def.raw_symbol(), &mut bad),
                    asset: text(def.asset(), &mut bad),
                    expiration: (def.expiration != UNDEF_TIMESTAMP).then_some(def.expiration),
                    multiplier: fixed_multiplier(def),
                    tick: defined_tick(def),
                };
                self.futures.insert(instrument_id, future);
                ChainUpdate::Future
            }
            _ => {
                self.remove(instrument_id);
                let other = OtherInstrument {
                    instrument_id,
                    raw_symbol: text(def.raw_symbol(), &mut bad),
                    asset: text(def.asset(), &mut bad),
                    class: char::from(class),
                };
                self.others.insert(instrument_id, other);
                ChainUpdate::Other
            }
        };
        if bad {
            self.stats.bad_text += 1;
        }
        update
    }

    fn apply_option(&mut self, def: &InstrumentDefMsg, class: u8, bad: &mut bool) -> ChainUpdate {
        if def.strike_price == UNDEF_PRICE {
            self.stats.skipped_undef_strike += 1;
            return ChainUpdate::Skipped;
        }
        if def.expiration == UNDEF_TIMESTAMP {
            self.stats.skipped_undef_expiration += 1;
            return ChainUpdate::Skipped;
        }
        let Some(multiplier) = fixed_multiplier(def) else {
            self.stats.skipped_no_multiplier += 1;
            return ChainUpdate::Skipped;
        };
        let instrument_id = def.hd.instrument_id;
        let contract = OptionContract {
            instrument_id,
            raw_symbol: text(def.raw_symbol(), bad),
            underlying: text(def.underlying(), bad),
            underlying_id: def.underlying_id,
            asset: text(def.asset(), bad),
            kind: if class == b'C' {
                OptionKind::Call
            } else {
                OptionKind::Put
            },
            strike: def.strike_price,
            expiration: def.expiration,
            multiplier,
            tick: defined_tick(def).unwrap_or(self.default_option_tick),
            channel_id: def.channel_id,
            ts_recv: def.ts_recv,
        };
        let replaced = self.remove(instrument_id);
        self.index.insert((
            contract.expiration,
            contract.strike,
            contract.kind,
            instrument_id,
        ));
        self.options.insert(instrument_id, contract);
        if replaced {
            self.stats.replaced += 1;
            ChainUpdate::OptionReplaced
        } else {
            ChainUpdate::OptionAdded
        }
    }

    /// Removes every entry for `instrument_id`; true when an option definition was removed.
    fn remove(&mut self, instrument_id: u32) -> bool {
        self.futures.remove(&instrument_id);
        self.others.remove(&instrument_id);
        self.from_symbol.remove(&instrument_id);
        match self.options.remove(&instrument_id) {
            Some(old) => {
                self.index
                    .remove(&(old.expiration, old.strike, old.kind, instrument_id));
                true
            }
            None => false,
        }
    }

    /// Records the kind and strike parsed from `symbol` for an instrument whose definition
    /// is missing. A definition already present wins and is left untouched.
    ///
    /// # Errors
    /// [`Error::InvalidSymbol`] when `symbol` is not a CME option symbol.
    pub fn insert_from_symbol(&mut self, instrument_id: u32, symbol: &str) -> Result<()> {
        let parsed = parse_option_symbol(symbol)?;
        if !self.options.contains_key(&instrument_id) {
            self.from_symbol.insert(instrument_id, parsed);
            self.stats.from_symbol += 1;
        }
        Ok(())
    }

    /// The option defined under `instrument_id`.
    #[must_use]
    pub fn get(&self, instrument_id: u32) -> Option<&OptionContract> {
        self.options.get(&instrument_id)
    }

    /// Kind and strike of `instrument_id`, from its definition or else from its symbol.
    #[must_use]
    pub fn kind_and_strike(&self, instrument_id: u32) -> Option<(OptionKind, i64)> {
        self.options
            .get(&instrument_id)
            .map(|c| (c.kind, c.strike))
            .or_else(|| {
                self.from_symbol
                    .get(&instrument_id)
                    .map(|p| (p.kind, p.strike))
            })
    }

    /// The symbol-only fallback entry of `instrument_id`, if any.
    #[must_use]
    pub fn get_from_symbol(&self, instrument_id: u32) -> Option<&ParsedOptionSymbol> {
        self.from_symbol.get(&instrument_id)
    }

    /// The future defined under `instrument_id`.
    #[must_use]
    pub fn future(&self, instrument_id: u32) -> Option<&FutureContract> {
        self.futures.get(&instrument_id)
    }

    /// The spread or other non-outright instrument under `instrument_id`.
    #[must_use]
    pub fn other(&self, instrument_id: u32) -> Option<&OtherInstrument> {
        self.others.get(&instrument_id)
    }

    /// True when `instrument_id` is a known spread or other non-outright instrument.
    #[must_use]
    pub fn is_spread(&self, instrument_id: u32) -> bool {
        self.others.contains_key(&instrument_id)
    }

    /// The option at exactly `(expiration, strike, kind)`; the lowest instrument id when
    /// several products share the key.
    #[must_use]
    pub fn find(&self, expiration: u64, strike: i64, kind: OptionKind) -> Option<&OptionContract> {
        self.index
            .range((expiration, strike, kind, 0)..=(expiration, strike, kind, u32::MAX))
            .next()
            .and_then(|&(_, _, _, id)| self.options.get(&id))
    }

    /// Distinct expirations, ascending.
    pub fn expirations(&self) -> impl Iterator<Item = u64> + '_ {
        let mut last = None;
        self.index.iter().filter_map(move |&(e, ..)| {
            if last == Some(e) {
                None
            } else {
                last = Some(e);
                Some(e)
            }
        })
    }

    /// Options expiring at `expiration`, by strike, then calls before puts.
    pub fn at_expiration(&self, expiration: u64) -> impl Iterator<Item = &OptionContract> + '_ {
        self.index
            .range(
                (expiration, i64::MIN, OptionKind::Call, 0)
                    ..=(expiration, i64::MAX, OptionKind::Put, u32::MAX),
            )
            .filter_map(|&(_, _, _, id)| self.options.get(&id))
    }

    /// Distinct strikes listed at `expiration`, ascending.
    #[must_use]
    pub fn strikes(&self, expiration: u64) -> Vec<i64> {
        let mut out: Vec<i64> = self.at_expiration(expiration).map(|c| c.strike).collect();
        out.dedup();
        out
    }

    /// All outright options, ordered by expiration, strike, kind and instrument id.
    pub fn options(&self) -> impl Iterator<Item = &OptionContract> + '_ {
        self.index
            .iter()
            .filter_map(|&(_, _, _, id)| self.options.get(&id))
    }

    /// Number of outright options.
    #[must_use]
    pub fn len(&self) -> usize {
        self.options.len()
    }

    /// True when the chain holds no outright option.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }

    /// Counts of what the chain did with its input.
    #[must_use]
    pub fn stats(&self) -> ChainStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbn::record::str_to_c_chars;
    use dbn::{rtype, RecordHeader};

    fn def(iid: u32, symbol: &str, class: u8, strike: i64, expiration: u64) -> InstrumentDefMsg {
        InstrumentDefMsg {
            hd: RecordHeader::new::<InstrumentDefMsg>(rtype::INSTRUMENT_DEF, 1, iid, 0),
            raw_symbol: str_to_c_chars(symbol).unwrap(),
            asset: str_to_c_chars("NQ").unwrap(),
            underlying: str_to_c_chars("NQZ6").unwrap(),
            instrument_class: class as std::ffi::c_char,
            strike_price: strike,
            expiration,
            unit_of_measure_qty: 20 * FIXED_PRICE_SCALE,
            contract_multiplier: i32::MAX,
            ..Default::default()
        }
    }

    const K: i64 = FIXED_PRICE_SCALE;

    #[test]
    fn parses_cme_symbols() {
        let p = parse_option_symbol("NQZ6 C21000").unwrap();
        assert_eq!(
            (p.root.as_str(), p.month_code, p.month, p.year_digits),
            ("NQ", 'Z', 12, 6)
        );
        assert_eq!((p.kind, p.strike), (OptionKind::Call, 21_000 * K));
        let p = parse_option_symbol("EW2F6 C7000").unwrap();
        assert_eq!((p.root.as_str(), p.month, p.strike), ("EW2", 1, 7_000 * K));
        let p = parse_option_symbol("ESM4 P5250.5").unwrap();
        assert_eq!((p.kind, p.strike), (OptionKind::Put, 5_250 * K + K / 2));
        for bad in [
            "",
            "NQZ6",
            "NQZ6 X100",
            "NA6 C100",
            "Z6 C100",
            "NQZ C100",
            "NQZ6 C",
            "NQZ6 C1.0000000001",
            "NQZ6 C99999999999999",
            "NQZ6 C-5",
            "NQZ123 C1",
        ] {
            assert!(parse_option_symbol(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn index_replace_delete_and_spreads() {
        let mut chain = Chain::new();
        let exp = 1_700_000_000_000_000_000;
        assert_eq!(
            chain.apply(&def(1, "NQZ6 C21000", b'C', 21_000 * K, exp)),
            ChainUpdate::OptionAdded
        );
        assert_eq!(
            chain.apply(&def(2, "NQZ6 P21000", b'P', 21_000 * K, exp)),
            ChainUpdate::OptionAdded
        );
        assert_eq!(
            chain.apply(&def(3, "NQZ6 C20000", b'C', 20_000 * K, exp + 1)),
            ChainUpdate::OptionAdded
        );
        assert_eq!(
            chain.apply(&def(9, "UD:1V: VT 1", b'T', UNDEF_PRICE, exp)),
            ChainUpdate::Other
        );
        assert_eq!(chain.len(), 3);
        assert!(chain.is_spread(9));
        assert_eq!(chain.expirations().collect::<Vec<_>>(), vec![exp, exp + 1]);
        assert_eq!(chain.strikes(exp), vec![21_000 * K]);
        assert_eq!(
            chain
                .find(exp, 21_000 * K, OptionKind::Put)
                .unwrap()
                .instrument_id,
            2
        );
        assert_eq!(chain.get(1).unwrap().multiplier, 20 * K);
        // Replacement moves the index entry.
        assert_eq!(
            chain.apply(&def(1, "NQZ6 C21500", b'C', 21_500 * K, exp)),
            ChainUpdate::OptionReplaced
        );
        assert!(chain.find(exp, 21_000 * K, OptionKind::Call).is_none());
        assert_eq!(chain.strikes(exp), vec![21_000 * K, 21_500 * K]);
        // Delete.
        let mut del = def(2, "NQZ6 P21000", b'P', 21_000 * K, exp);
        del.security_update_action = b'D' as std::ffi::c_char;
        assert_eq!(chain.apply(&del), ChainUpdate::Deleted);
        assert!(chain.get(2).is_none());
        assert_eq!(chain.len(), 2);
        // Undefined strike is skipped and counted.
        assert_eq!(
            chain.apply(&def(4, "NQZ6 C1", b'C', UNDEF_PRICE, exp)),
            ChainUpdate::Skipped
        );
        let stats = chain.stats();
        assert_eq!(
            (stats.replaced, stats.deleted, stats.skipped_undef_strike),
            (1, 1, 1)
        );
    }

    #[test]
    fn symbol_fallback_yields_to_definition() {
        let mut chain = Chain::new();
        chain.insert_from_symbol(7, "NQZ6 P20500").unwrap();
        assert_eq!(
            chain.kind_and_strike(7),
            Some((OptionKind::Put, 20_500 * K))
        );
        assert!(chain.get(7).is_none());
        chain.apply(&def(7, "NQZ6 P20500", b'P', 20_500 * K, 5));
        assert!(chain.get_from_symbol(7).is_none());
        assert_eq!(chain.get(7).unwrap().expiration, 5);
    }

    #[test]
    fn variable_tick() {
        let t = TickRule::CME_EQUITY_INDEX_OPTION;
        assert_eq!(t.tick_at(4 * K), K / 20);
        assert_eq!(t.tick_at(5 * K), K / 4);
        assert!(t.is_on_tick(4 * K + K / 20));
        assert!(!t.is_on_tick(5 * K + K / 20));
        assert!(t.is_on_tick(5 * K + K / 4));
        assert!(!TickRule::Fixed { tick: 0 }.is_on_tick(0));
    }
}

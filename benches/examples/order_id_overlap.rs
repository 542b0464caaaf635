//! Counts, in DBN files, the records on which keying resting orders per instrument (as
//! ifd's books and, since issue 20, its order life cycles do) and keying them by order
//! id across instruments (the order life cycles before) disagree: an add whose id is
//! resting on another instrument, and a cancel, modify or fill whose id rests on another
//! instrument but not on its own. Zero on a file means both keyings give the same
//! life cycles on it.
//!
//! `cargo run --release -p ifd-benches --example order_id_overlap -- FILE...`
//! (plain or zstd DBN; records other than MBO are skipped).

use std::collections::HashMap;

use dbn::decode::{DecodeRecordRef as _, DynDecoder};
use dbn::MboMsg;

/// Live orders: size by (instrument, order id), and on how many instruments each id
/// rests.
#[derive(Default)]
struct Live {
    size: HashMap<(u32, u64), u32>,
    instruments: HashMap<u64, u32>,
}

impl Live {
    fn rests_on(&self, iid: u32, id: u64) -> bool {
        self.size.contains_key(&(iid, id))
    }

    /// True when `id` rests on an instrument other than `iid`.
    fn rests_elsewhere(&self, iid: u32, id: u64) -> bool {
        let n = self.instruments.get(&id).copied().unwrap_or(0);
        n > u32::from(self.rests_on(iid, id))
    }

    fn set(&mut self, iid: u32, id: u64, size: u32) {
        if size == 0 {
            if self.size.remove(&(iid, id)).is_some() {
                if let Some(n) = self.instruments.get_mut(&id) {
                    *n -= 1;
                    if *n == 0 {
                        self.instruments.remove(&id);
                    }
                }
            }
        } else if self.size.insert((iid, id), size).is_none() {
            *self.instruments.entry(id).or_default() += 1;
        }
    }

    fn clear(&mut self, iid: u32) {
        let ids: Vec<u64> = self
            .size
            .keys()
            .filter(|k| k.0 == iid)
            .map(|k| k.1)
            .collect();
        for id in ids {
            self.set(iid, id, 0);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: order_id_overlap FILE...");
        std::process::exit(2);
    }
    println!(
        "{:<70} {:>9} {:>6} {:>11} {:>13}",
        "file", "mbo", "insts", "add_shared", "ref_elsewhere"
    );
    for path in files {
        let mut decoder = DynDecoder::from_file(&path, dbn::VersionUpgradePolicy::UpgradeToV3)?;
        let mut live = Live::default();
        let (mut mbo, mut add_shared, mut ref_elsewhere) = (0u64, 0u64, 0u64);
        let mut instruments = std::collections::HashSet::new();
        while let Some(rec) = decoder.decode_record_ref()? {
            let Some(m) = rec.get::<MboMsg>() else {
                continue;
            };
            mbo += 1;
            let (iid, id) = (m.hd.instrument_id, m.order_id);
            instruments.insert(iid);
            match m.action as u8 {
                b'A' => {
                    if live.rests_elsewhere(iid, id) {
                        add_shared += 1;
                    }
                    if m.size > 0
                        && m.price != dbn::UNDEF_PRICE
                        && matches!(m.side as u8, b'A' | b'B')
                    {
                        live.set(iid, id, m.size);
                    }
                }
                b'C' | b'M' | b'F' => {
                    if !live.rests_on(iid, id) && live.rests_elsewhere(iid, id) {
                        ref_elsewhere += 1;
                    }
                    if let Some(&size) = live.size.get(&(iid, id)) {
                        match m.action as u8 {
                            b'C' => live.set(iid, id, size.saturating_sub(m.size)),
                            b'M' => live.set(iid, id, m.size),
                            _ => {}
                        }
                    }
                }
                b'R' => live.clear(iid),
                _ => {}
            }
        }
        println!(
            "{path:<70} {mbo:>9} {:>6} {add_shared:>11} {ref_elsewhere:>13}",
            instruments.len()
        );
    }
    Ok(())
}

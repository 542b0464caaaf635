//! The README's embedding example, compiled: one dependency (`ifd-engine`, which
//! re-exports `dbn`), records in, signals out, a malformed record counted and skipped.
//!
//! `embed [FILE]` replays a DBN file; without one it replays a simulated options-only
//! session (as a parent `NQ.OPT` subscription delivers it) with one malformed record
//! spliced in, and checks that the engine counted it and went on.

use anyhow::{ensure, Context, Result};
use ifd_engine::dbn::{self, decode::DecodeRecordRef, RecordRef};
use ifd_engine::{Engine, Signal};

/// The embedding loop of the README: every record goes in, signals come out; a bad
/// record is an error the caller logs, and the stream goes on.
fn run<'a>(
    engine: &mut Engine,
    records: impl Iterator<Item = RecordRef<'a>>,
) -> Result<Vec<Signal>> {
    let mut signals = Vec::new();
    for rec in records {
        if let Err(e) = engine.on_record(&rec, &mut signals) {
            eprintln!("skipped: {e}"); // counted in engine.stats().malformed
        }
    }
    engine.on_session_end(&mut signals);
    Ok(signals)
}

fn main() -> Result<()> {
    ifd_examples::exit_quietly_on_closed_pipe();
    let mut engine = Engine::builder().build()?; // add .baseline(b) for p- and q-values
    let signals = if let Some(path) = std::env::args().nth(1) {
        let file = std::fs::File::open(&path).with_context(|| format!("cannot open {path}"))?;
        let mut decoder = dbn::decode::DynDecoder::inferred_with_buffer(
            std::io::BufReader::new(file),
            dbn::VersionUpgradePolicy::UpgradeToV3,
        )?;
        let mut signals = Vec::new();
        while let Some(rec) = decoder.decode_record_ref()? {
            if let Err(e) = engine.on_record(&rec, &mut signals) {
                eprintln!("skipped: {e}");
            }
        }
        engine.on_session_end(&mut signals);
        signals
    } else {
        let sim = ifd_sim::Simulator::new(ifd_sim::SimConfig::preset(ifd_sim::Preset::Quiet, 7));
        let day = sim.flow_day();
        // A DBN stream whose one record says MBO but is only a header long.
        let mut bytes = Vec::new();
        dbn::encode::DbnMetadataEncoder::new(&mut bytes).encode(&day.metadata)?;
        let whole = dbn::MboMsg {
            hd: dbn::RecordHeader::new::<dbn::MboMsg>(dbn::rtype::MBO, 1, 1, 0),
            ..dbn::MboMsg::default()
        };
        let mut short = RecordRef::from(&whole).as_ref()[..16].to_vec();
        short[0] = 4; // the record's length in 4-byte words: the header alone
        bytes.extend_from_slice(&short);
        let mut decoder = dbn::decode::DbnDecoder::new(&bytes[..])?;
        let bad = decoder
            .decode_record_ref()?
            .context("the stream holds one record")?;
        let records = day
            .options_records()
            .take(5_000)
            .chain(std::iter::once(bad))
            .chain(day.options_records().skip(5_000));
        let signals = run(&mut engine, records)?;
        ensure!(engine.stats().malformed == 1, "the short record is counted");
        signals
    };
    for s in &signals {
        println!("{}", s.to_json_line()?);
    }
    let st = engine.stats();
    eprintln!(
        "{} records, {} signals, {} malformed (skipped and counted)",
        st.records,
        signals.len(),
        st.malformed
    );
    Ok(())
}

//! A fake Databento live gateway on 127.0.0.1 that speaks the real protocol (greeting,
//! CRAM challenge, auth check, subscription lines, `start_session`, DBN metadata and
//! records) and serves one simulated session, honouring `start` by replaying every
//! record with `ts_event >= start`. Each connection follows a scripted [`Fault`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbn::{
    encode::{DbnMetadataEncoder, DbnRecordEncoder, EncodeRecordRef},
    enums::{rtype, SystemCode},
    flags, InstrumentDefMsg, MboMsg, MetadataBuilder, RecordBuf, RecordHeader, RecordRef, SType,
    StatMsg, SymbolMappingMsg, SystemMsg,
};
use ifd_mbo_client::live::Gap;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A 32-character key the gateway accepts.
pub const KEY: &str = "test-key-0123456789abcdefghijklm";
const CHALLENGE: &str = "t7kNhwj4xqR0QYjzFKtBEG2ec2pXJ4FK";
const DATASET: &str = "GLBX.MDP3";
const INSTRUMENTS: [u32; 3] = [101, 102, 103];

/// What one connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Serve everything, then idle until the client leaves.
    ServeAll,
    /// Send `n` records, half of the next one, then reset the connection.
    ResetAfter(usize),
    /// Send `n` records, then go silent (no heartbeats) until the client leaves.
    StallAfter(usize),
    /// Send `n` records, then close cleanly.
    CloseAfter(usize),
    /// Reset right after the CRAM challenge.
    ResetAfterChallenge,
    /// Read the auth line, then reset without answering.
    ResetDuringAuth,
    /// Answer the auth line with `success=0`.
    RejectAuth,
    /// Like `CloseAfter(n)` for the session; the *next* replay silently omits `len`
    /// records starting `back` records before this connection's end (`usize::MAX`:
    /// up to real time), and still sends `ReplayCompleted` (databento-rs #90).
    CloseAfterThenOmit { n: usize, back: usize, len: usize },
    /// Serve the whole replay and `m` real-time records, then go quiet (no close)
    /// until the client leaves.
    ServeLive(usize),
    /// Answer `start_session` with an `ErrorMsg` `ConnectionLimitExceeded`, then close.
    ConnectionLimit,
    /// Answer `start_session` with an `ErrorMsg` `InvalidSubscription` (a symbol or
    /// schema the key may not have), then close: fatal, the client must not retry.
    InvalidSubscription,
}

/// One connection as the gateway saw it.
#[derive(Debug, Clone, Default)]
pub struct ConnLog {
    /// Subscription lines received.
    pub subscriptions: Vec<String>,
    /// Whether the auth line carried the right CRAM response.
    pub auth_ok: bool,
}

#[derive(Debug)]
struct State {
    session: Vec<RecordBuf>,
    /// Index of the next record in real time.
    cursor: usize,
    faults: VecDeque<Fault>,
    log: Vec<ConnLog>,
    /// Index range (start, end) the next replay omits.
    skip: Option<(usize, usize)>,
    /// Records that happen in real time while the client is away.
    outage: usize,
    /// Records left out of replays so far.
    omitted: usize,
}

/// Handle to a running gateway.
pub struct Gateway {
    /// `127.0.0.1:port`.
    pub addr: String,
    state: Arc<Mutex<State>>,
}

impl Gateway {
    /// Starts a gateway serving `session` with one fault per connection (then
    /// `ServeAll`); `outage` records pass in real time after each failed connection.
    pub async fn start(session: Vec<RecordBuf>, faults: Vec<Fault>, outage: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let state = Arc::new(Mutex::new(State {
            session,
            cursor: 0,
            faults: faults.into(),
            log: Vec::new(),
            skip: None,
            outage,
            omitted: 0,
        }));
        let st = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                stream.set_nodelay(true).ok();
                serve(stream, &st).await;
            }
        });
        Self { addr, state }
    }

    /// Records that replays left out so far (the omission fault).
    pub fn omitted(&self) -> usize {
        self.state.lock().expect("lock").omitted
    }

    /// Connections accepted so far, in order.
    pub fn log(&self) -> Vec<ConnLog> {
        self.state.lock().expect("lock").log.clone()
    }
}

fn lock(st: &Arc<Mutex<State>>) -> std::sync::MutexGuard<'_, State> {
    st.lock().expect("gateway state lock")
}

async fn serve(stream: TcpStream, st: &Arc<Mutex<State>>) {
    let fault = {
        let mut s = lock(st);
        s.log.push(ConnLog::default());
        s.faults.pop_front().unwrap_or(Fault::ServeAll)
    };
    let mut stream = BufReader::new(stream);
    let send = |s: &'static str| s.as_bytes();
    if stream
        .get_mut()
        .write_all(send("lsg_version=fake-0.1\n"))
        .await
        .is_err()
    {
        return;
    }
    let challenge = format!("cram={CHALLENGE}\n");
    if stream
        .get_mut()
        .write_all(challenge.as_bytes())
        .await
        .is_err()
    {
        return;
    }
    if fault == Fault::ResetAfterChallenge {
        reset(stream.into_inner());
        return;
    }
    let mut line = String::new();
    if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
        return;
    }
    let auth_ok = check_auth(&line);
    lock(st).log.last_mut().expect("log").auth_ok = auth_ok;
    match fault {
        Fault::ResetDuringAuth => {
            reset(stream.into_inner());
            return;
        }
        Fault::RejectAuth => {
            let _ = stream
                .get_mut()
                .write_all(b"success=0|error=Authentication failed.\n")
                .await;
            return;
        }
        _ if !auth_ok => {
            let _ = stream
                .get_mut()
                .write_all(b"success=0|error=Authentication failed.\n")
                .await;
            return;
        }
        _ => {}
    }
    let session_id = lock(st).log.len();
    let reply = format!("success=1|session_id={session_id}\n");
    if stream.get_mut().write_all(reply.as_bytes()).await.is_err() {
        return;
    }
    // Subscriptions until start_session.
    let mut start: Option<u64> = None;
    let mut snapshot = false;
    let mut replays = 0u32;
    loop {
        line.clear();
        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end().to_owned();
        if l == "start_session" {
            break;
        }
        for kv in l.split('|') {
            match kv.split_once('=') {
                Some(("start", v)) => {
                    start = v.parse().ok();
                    replays += 1;
                }
                Some(("snapshot", "1")) => snapshot = true,
                _ => {}
            }
        }
        lock(st).log.last_mut().expect("log").subscriptions.push(l);
    }
    // Build the byte stream: metadata, control records, replay, then real time.
    let mut bytes = Vec::new();
    // The session start: the gateway's "now", the receive time of the next record.
    let start_ns = {
        let s = lock(st);
        s.session
            .get(s.cursor)
            .or(s.session.last())
            .map_or(0, |r| dbn::Record::raw_index_ts(&rec_ref(r)))
    };
    let meta = MetadataBuilder::new()
        .dataset(DATASET)
        .schema(None)
        .start(start_ns)
        .stype_in(None)
        .stype_out(SType::InstrumentId)
        .build();
    DbnMetadataEncoder::new(&mut bytes)
        .encode(&meta)
        .expect("metadata");
    let mut head = Vec::new();
    for iid in INSTRUMENTS {
        head.push(RecordBuf::from(
            SymbolMappingMsg::new(
                iid,
                0,
                SType::Parent,
                "NQ.OPT",
                SType::RawSymbol,
                &format!("NQZ6 C{iid}"),
                0,
                u64::MAX,
            )
            .expect("mapping"),
        ));
    }
    head.push(RecordBuf::from(SystemMsg::heartbeat(0)));
    let (records, live_from) = {
        let mut s = lock(st);
        let mut out: Vec<(RecordBuf, bool)> = Vec::new();
        if snapshot {
            for (i, iid) in INSTRUMENTS.iter().enumerate() {
                out.push((
                    RecordBuf::from(snapshot_clear(*iid, i + 1 == INSTRUMENTS.len())),
                    false,
                ));
            }
        } else if let Some(start) = start {
            let skip = s.skip.take();
            if let Some((a, b)) = skip {
                s.omitted += b.min(s.cursor).saturating_sub(a);
            }
            for (i, rec) in s.session[..s.cursor].iter().enumerate() {
                let skipped = skip.is_some_and(|(a, b)| i >= a && i < b);
                if !skipped && rec_ref(rec).header().ts_event >= start {
                    out.push((rec.clone(), false));
                }
            }
            for _ in 0..replays {
                let done = SystemMsg::new(0, Some(SystemCode::ReplayCompleted), "replay completed")
                    .expect("sys");
                out.push((RecordBuf::from(done), false));
            }
        }
        let live_from = s.cursor;
        for rec in &s.session[s.cursor..] {
            out.push((rec.clone(), true));
        }
        (out, live_from)
    };
    let mut enc = DbnRecordEncoder::new(&mut bytes);
    for rec in &head {
        enc.encode_record_ref(rec_ref(rec)).expect("encode");
    }
    if matches!(fault, Fault::ConnectionLimit | Fault::InvalidSubscription) {
        let (code, text) = if fault == Fault::ConnectionLimit {
            (
                dbn::enums::ErrorCode::ConnectionLimitExceeded,
                "connection limit exceeded",
            )
        } else {
            (
                dbn::enums::ErrorCode::InvalidSubscription,
                "invalid subscription: NQ.OPT not entitled",
            )
        };
        let err = dbn::ErrorMsg::new(0, Some(code), text, true);
        enc.encode_record_ref(RecordRef::from(&err))
            .expect("encode");
        let mut tcp = stream.into_inner();
        let _ = tcp.write_all(&bytes).await;
        let _ = tcp.shutdown().await;
        drain(tcp).await;
        return;
    }
    let limit = match fault {
        Fault::ResetAfter(n) | Fault::StallAfter(n) | Fault::CloseAfter(n) => Some(n),
        Fault::CloseAfterThenOmit { n, .. } => Some(n),
        _ => None,
    };
    let live_limit = match fault {
        Fault::ServeLive(m) => Some(m),
        _ => None,
    };
    let mut sent_live = 0usize;
    let mut cut = Vec::new();
    for (i, (rec, live)) in records.iter().enumerate() {
        if limit.is_some_and(|n| i >= n) || (*live && live_limit.is_some_and(|m| sent_live >= m)) {
            cut.push(rec_ref(rec).as_ref().to_vec());
            break;
        }
        enc.encode_record_ref(rec_ref(rec)).expect("encode");
        if *live {
            sent_live += 1;
        }
    }
    {
        let mut s = lock(st);
        s.cursor = live_from + sent_live;
        if let Fault::CloseAfterThenOmit { back, len, .. } = fault {
            let a = s.cursor.saturating_sub(back);
            s.skip = Some((a, a.saturating_add(len)));
        }
        if limit.is_some() || live_limit.is_some() {
            s.cursor = packet_boundary(&s.session, s.cursor + s.outage);
        }
    }
    match fault {
        Fault::ResetAfter(_) => {
            if let Some(next) = cut.first() {
                bytes.extend_from_slice(&next[..next.len() / 2]);
            }
            let mut tcp = stream.into_inner();
            let _ = tcp.write_all(&bytes).await;
            let _ = tcp.flush().await;
            // Give the client a moment to read what was sent before the reset.
            tokio::time::sleep(Duration::from_millis(20)).await;
            reset(tcp);
        }
        Fault::CloseAfter(_) | Fault::CloseAfterThenOmit { .. } => {
            let mut tcp = stream.into_inner();
            let _ = tcp.write_all(&bytes).await;
            let _ = tcp.shutdown().await;
            drain(tcp).await;
        }
        _ => {
            // ServeAll or StallAfter: write, then stay silent until the client leaves.
            let mut tcp = stream.into_inner();
            // Two writes with a flush between exercise partial reads.
            let half = bytes.len() / 2;
            let _ = tcp.write_all(&bytes[..half]).await;
            let _ = tcp.flush().await;
            let _ = tcp.write_all(&bytes[half..]).await;
            drain(tcp).await;
        }
    }
}

async fn drain(mut tcp: TcpStream) {
    let mut buf = [0u8; 1024];
    while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {}
}

fn reset(tcp: TcpStream) {
    tcp.set_zero_linger().ok();
    drop(tcp);
}

fn check_auth(line: &str) -> bool {
    let Some(auth) = line
        .trim_end()
        .split('|')
        .find_map(|kv| kv.strip_prefix("auth="))
    else {
        return false;
    };
    let digest = Sha256::digest(format!("{CHALLENGE}|{KEY}").as_bytes());
    let expected = format!("{}-{}", hex::encode(digest), &KEY[KEY.len() - 5..]);
    auth == expected
        && line.contains(&format!("dataset={DATASET}"))
        && line.contains("encoding=dbn")
}

pub fn rec_ref(rec: &RecordBuf) -> RecordRef<'_> {
    rec.as_rec_ref()
}

/// What a run delivered compared with what the gateway served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// Records of the session.
    pub served: usize,
    /// Non-snapshot data records delivered (each a served record, at most once).
    pub delivered: usize,
    /// Served records never delivered (each inside a reported gap).
    pub missing: usize,
    /// Gap events.
    pub gaps: usize,
    /// Served records inside the reported gaps, delivered or not.
    pub in_gaps: usize,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "served {} | delivered {} | missing {} | duplicates 0 | gaps {} covering {} served records",
            self.served, self.delivered, self.missing, self.gaps, self.in_gaps
        )
    }
}

/// The promise of the live source, checked: the delivered data records (snapshot
/// records aside) are served records, each delivered at most once, in `ts_recv` order
/// (served order, except that a replay may complete a packet whose later records were
/// delivered first), and every served record that is missing lies inside a reported
/// gap.
pub fn check_delivery(session: &[RecordBuf], delivered: &[RecordBuf], gaps: &[Gap]) -> Figures {
    let mut present = vec![false; session.len()];
    let mut n = 0;
    let mut last_ts = 0u64;
    for r in delivered {
        if r.get::<MboMsg>()
            .is_some_and(|m| m.flags.raw() & flags::SNAPSHOT != 0)
        {
            continue;
        }
        let i = (0..session.len())
            .find(|&i| !present[i] && session[i] == *r)
            .expect("a delivered record is a served record not delivered before (no duplicate)");
        let ts = dbn::Record::raw_index_ts(&rec_ref(r));
        assert!(
            ts >= last_ts,
            "delivered out of ts_recv order at served record {i}"
        );
        last_ts = ts;
        present[i] = true;
        n += 1;
    }
    let mut missing = 0;
    let mut in_gaps = 0;
    for (i, r) in session.iter().enumerate() {
        let rr = rec_ref(r);
        let inside = gaps
            .iter()
            .any(|g| g.covers(rr.header().publisher_id, dbn::Record::raw_index_ts(&rr)));
        if inside {
            in_gaps += 1;
        }
        if !present[i] {
            missing += 1;
            assert!(
                inside,
                "served record {i} is missing outside every reported gap"
            );
        }
    }
    for g in gaps {
        assert!(g.from_ts_recv <= g.to_ts_recv, "{g:?}");
    }
    Figures {
        served: session.len(),
        delivered: n,
        missing,
        gaps: gaps.len(),
        in_gaps,
    }
}

/// The first index at or after `i` that starts a packet (a new `ts_recv`): real time
/// resumes there, as a gateway sends the records of one packet together.
pub fn packet_boundary(session: &[RecordBuf], i: usize) -> usize {
    let ts = |j: usize| dbn::Record::raw_index_ts(&rec_ref(&session[j]));
    let mut j = i.min(session.len());
    while j > 0 && j < session.len() && ts(j) == ts(j - 1) {
        j += 1;
    }
    j
}

/// One snapshot clear per instrument, the last carrying `F_LAST`: what a snapshot
/// session of the fake gateway sends before real time.
pub fn snapshot_clears() -> Vec<RecordBuf> {
    INSTRUMENTS
        .iter()
        .enumerate()
        .map(|(i, iid)| RecordBuf::from(snapshot_clear(*iid, i + 1 == INSTRUMENTS.len())))
        .collect()
}

fn snapshot_clear(iid: u32, last: bool) -> MboMsg {
    let mut f = flags::SNAPSHOT | flags::BAD_TS_RECV;
    if last {
        f |= flags::LAST;
    }
    MboMsg {
        hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, iid, 1),
        order_id: 0,
        price: dbn::UNDEF_PRICE,
        size: 0,
        flags: f.into(),
        action: b'R' as std::ffi::c_char,
        side: b'N' as std::ffi::c_char,
        ts_recv: 1,
        ..Default::default()
    }
}

/// A simulated session: definitions, then MBO records in `ts_recv` order with groups
/// sharing one `ts_recv` (one packet), `ts_event` a little earlier (sometimes much
/// earlier), and an occasional statistics record. Deterministic in `seed`.
pub fn session(n: usize, seed: u64) -> Vec<RecordBuf> {
    let mut rng = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut next = move || {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        rng >> 33
    };
    let t0: u64 = 1_764_000_000_000_000_000;
    let mut out = Vec::with_capacity(n + 3);
    for (i, iid) in INSTRUMENTS.iter().enumerate() {
        let mut def = InstrumentDefMsg {
            hd: RecordHeader::new::<InstrumentDefMsg>(rtype::INSTRUMENT_DEF, 1, *iid, t0),
            ts_recv: t0 + i as u64,
            strike_price: 21_000_000_000_000 + i64::from(*iid) * 1_000_000_000,
            unit_of_measure_qty: 20_000_000_000,
            ..Default::default()
        };
        def.instrument_class = b'C' as std::ffi::c_char;
        out.push(RecordBuf::from(def));
    }
    let mut ts = t0 + 1_000_000;
    let mut order = 1u64;
    while out.len() < n + INSTRUMENTS.len() {
        ts += 10_000_000; // a packet every 10 ms
        let group = 1 + next() % 3;
        for g in 0..group {
            let iid = INSTRUMENTS[(next() % 3) as usize];
            let late = if next() % 10 == 0 {
                30_000_000
            } else {
                next() % 5_000_000
            };
            let ts_event = ts - late;
            if next() % 25 == 0 {
                let stat = StatMsg {
                    hd: RecordHeader::new::<StatMsg>(rtype::STATISTICS, 1, iid, ts_event),
                    ts_recv: ts,
                    price: 100_000_000_000,
                    stat_type: 4,
                    ..Default::default()
                };
                out.push(RecordBuf::from(stat));
            } else {
                let mut f = 0u8;
                if g + 1 == group {
                    f |= flags::LAST;
                }
                let mbo = MboMsg {
                    hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, iid, ts_event),
                    order_id: order,
                    price: 100_000_000_000 + (next() % 40) as i64 * 250_000_000,
                    size: 1 + (next() % 20) as u32,
                    flags: f.into(),
                    channel_id: 0,
                    action: b"ACMT"[(next() % 4) as usize] as std::ffi::c_char,
                    side: b"BA"[(next() % 2) as usize] as std::ffi::c_char,
                    ts_recv: ts,
                    sequence: order as u32,
                    ..Default::default()
                };
                order += 1;
                out.push(RecordBuf::from(mbo));
            }
        }
    }
    out
}

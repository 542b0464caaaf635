//! Historical client and cache against a real HTTP/1.1 server on 127.0.0.1.

use std::sync::{Arc, Mutex};

use dbn::{
    decode::{DbnDecoder, DecodeRecordRef},
    encode::{DbnEncoder, EncodeRecord},
    enums::rtype,
    MboMsg, MetadataBuilder, RecordHeader, SType, Schema,
};
use ifd_mbo_client::historical::{AllowAll, CostGate, Historical, HistoricalConfig, RangeRequest};
use ifd_mbo_client::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const KEY: &str = "test-key-0123456789abcdefghijklm";

/// How the server answers `timeseries.get_range`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    ServerError,
}

struct Server {
    base_url: String,
    /// Requests per path.
    requests: Arc<Mutex<Vec<String>>>,
    mode: Arc<Mutex<Mode>>,
}

impl Server {
    async fn start(body: Vec<u8>) -> Self {
        Self::start_with_cost(body, "1.25").await
    }

    async fn start_with_cost(body: Vec<u8>, cost: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(Mode::Ok));
        let (req, md) = (Arc::clone(&requests), Arc::clone(&mode));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (req, md, body) = (Arc::clone(&req), Arc::clone(&md), body.clone());
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    // Keep-alive: answer requests until the client closes.
                    loop {
                        let mut line = String::new();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                        let mut len = 0usize;
                        let mut auth = false;
                        loop {
                            let mut h = String::new();
                            if stream.read_line(&mut h).await.unwrap_or(0) == 0 {
                                return;
                            }
                            let lower = h.to_ascii_lowercase();
                            if let Some(v) = lower.strip_prefix("content-length:") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                            if lower.starts_with("authorization: basic ") {
                                auth = true;
                            }
                            if h == "\r\n" {
                                break;
                            }
                        }
                        let mut form = vec![0u8; len];
                        if stream.read_exact(&mut form).await.is_err() {
                            return;
                        }
                        req.lock().expect("lock").push(path.clone());
                        let mode = *md.lock().expect("lock");
                        let (status, ctype, payload): (&str, &str, Vec<u8>) = if !auth {
                            (
                                "401 Unauthorized",
                                "application/json",
                                br#"{"detail":"no key"}"#.to_vec(),
                            )
                        } else if path.ends_with("metadata.get_cost") {
                            ("200 OK", "application/json", cost.as_bytes().to_vec())
                        } else if path.ends_with("timeseries.get_range") && mode == Mode::Ok {
                            ("200 OK", "application/octet-stream", body.clone())
                        } else if path.ends_with("timeseries.get_range") {
                            (
                                "500 Internal Server Error",
                                "application/json",
                                br#"{"detail":"the server broke"}"#.to_vec(),
                            )
                        } else {
                            (
                                "404 Not Found",
                                "application/json",
                                br#"{"detail":"not found"}"#.to_vec(),
                            )
                        };
                        let head = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                            payload.len()
                        );
                        let w = stream.get_mut();
                        if w.write_all(head.as_bytes()).await.is_err()
                            || w.write_all(&payload).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            base_url,
            requests,
            mode,
        }
    }

    fn count(&self, suffix: &str) -> usize {
        self.requests
            .lock()
            .expect("lock")
            .iter()
            .filter(|p| p.ends_with(suffix))
            .count()
    }
}

/// A zstd DBN body of `n` MBO records, as the API sends it.
fn body(n: u64) -> Vec<u8> {
    let meta = MetadataBuilder::new()
        .dataset("GLBX.MDP3")
        .schema(Some(Schema::Mbo))
        .start(1_764_000_000_000_000_000)
        .stype_in(Some(SType::Parent))
        .stype_out(SType::InstrumentId)
        .build();
    let mut out = Vec::new();
    {
        let mut enc = DbnEncoder::with_zstd(&mut out, &meta).expect("encoder");
        for i in 0..n {
            let ts = 1_764_000_000_000_000_000 + i * 1_000;
            let rec = MboMsg {
                hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, 101, ts),
                order_id: i + 1,
                price: 100_000_000_000,
                size: 1,
                action: b'A' as std::ffi::c_char,
                side: b'B' as std::ffi::c_char,
                ts_recv: ts + 10,
                ..Default::default()
            };
            enc.encode_record(&rec).expect("encode");
        }
        enc.flush().expect("flush");
    }
    out
}

fn request() -> RangeRequest {
    RangeRequest {
        dataset: "GLBX.MDP3".into(),
        schema: Schema::Mbo,
        symbols: vec!["NQ.OPT".into()],
        stype_in: SType::Parent,
        start_ns: 1_764_000_000_000_000_000,
        end_ns: 1_764_086_400_000_000_000,
    }
}

fn client(server: &Server, dir: &std::path::Path) -> Historical {
    Historical::new(HistoricalConfig {
        key: Some(KEY.into()),
        base_url: Some(server.base_url.clone()),
        cache_dir: dir.to_path_buf(),
    })
    .expect("client")
}

fn count_records(path: &std::path::Path) -> u64 {
    let mut dec = DbnDecoder::from_zstd_file(path).expect("open cached file");
    let mut n = 0;
    while dec.decode_record_ref().expect("decode").is_some() {
        n += 1;
    }
    n
}

/// Records what the cache asked and was charged.
#[derive(Default)]
struct Ledger {
    quotes: Vec<f64>,
    charges: Vec<f64>,
    released: usize,
    approve: bool,
}

impl CostGate for Ledger {
    fn approve(&mut self, _: &RangeRequest, quoted_usd: f64) -> bool {
        self.quotes.push(quoted_usd);
        self.approve
    }
    fn record(&mut self, _: &RangeRequest, charged_usd: f64, bytes: u64) {
        assert!(bytes > 0, "the cached file is never empty");
        self.charges.push(charged_usd);
    }
    fn release(&mut self, _: &RangeRequest) {
        self.released += 1;
    }
}

#[tokio::test]
async fn range_download_then_cache_hit_sends_no_request() {
    let server = Server::start(body(250)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hist = client(&server, dir.path());
    let mut ledger = Ledger {
        approve: true,
        ..Ledger::default()
    };
    let first = hist.fetch(&request(), &mut ledger).await.expect("download");
    assert!(!first.cache_hit);
    assert_eq!(first.records, Some(250));
    assert_eq!(count_records(&first.path), 250);
    assert_eq!(
        server.count("metadata.get_cost"),
        1,
        "priced before the download"
    );
    assert_eq!(server.count("timeseries.get_range"), 1);

    // A new client on the same cache folder: the same request is never paid twice.
    let mut again = client(&server, dir.path());
    let second = again
        .fetch(&request(), &mut ledger)
        .await
        .expect("cache hit");
    assert!(second.cache_hit);
    assert_eq!(second.path, first.path);
    assert_eq!(
        server.count("timeseries.get_range"),
        1,
        "no request on a hit"
    );
    assert_eq!(server.count("metadata.get_cost"), 1);
    assert_eq!(ledger.quotes, vec![1.25]);
    assert_eq!(ledger.charges, vec![1.25, 0.0]);
    assert_eq!(again.stats().hits, 1);
}

#[tokio::test]
async fn different_request_is_a_different_entry() {
    let server = Server::start(body(10)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hist = client(&server, dir.path());
    hist.fetch(&request(), &mut AllowAll).await.expect("first");
    let mut other = request();
    other.symbols = vec!["ES.OPT".into()];
    assert_ne!(other.cache_key(), request().cache_key());
    let fetched = hist.fetch(&other, &mut AllowAll).await.expect("second");
    assert!(!fetched.cache_hit);
    assert_eq!(server.count("timeseries.get_range"), 2);
}

#[tokio::test]
async fn checksum_mismatch_is_detected_and_downloaded_again() {
    let server = Server::start(body(100)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hist = client(&server, dir.path());
    let first = hist
        .fetch(&request(), &mut AllowAll)
        .await
        .expect("download");
    // Flip one byte of the cached file.
    let mut bytes = std::fs::read(&first.path).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&first.path, &bytes).expect("write");

    assert_eq!(hist.cached(&request()).expect("check"), None);
    assert_eq!(hist.stats().corrupt, 1);
    let again = hist
        .fetch(&request(), &mut AllowAll)
        .await
        .expect("re-download");
    assert!(!again.cache_hit);
    assert_eq!(server.count("timeseries.get_range"), 2);
    assert_eq!(count_records(&again.path), 100);

    // A truncated file is caught the same way.
    let bytes = std::fs::read(&again.path).expect("read");
    std::fs::write(&again.path, &bytes[..bytes.len() - 7]).expect("write");
    let third = hist
        .fetch(&request(), &mut AllowAll)
        .await
        .expect("re-download");
    assert!(!third.cache_hit);
    assert_eq!(hist.stats().corrupt, 2);
    assert_eq!(server.count("timeseries.get_range"), 3);
}

#[tokio::test]
async fn server_error_is_a_typed_error_and_nothing_is_cached() {
    let server = Server::start(body(10)).await;
    *server.mode.lock().expect("lock") = Mode::ServerError;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hist = client(&server, dir.path());
    let mut ledger = Ledger {
        approve: true,
        ..Ledger::default()
    };
    let err = hist.fetch(&request(), &mut ledger).await.expect_err("500");
    assert_eq!(ledger.released, 1, "the approval is released");
    assert!(ledger.charges.is_empty());
    match &err {
        Error::Historical { request, source } => {
            assert_eq!(*request, "timeseries.get_range");
            match source.as_ref() {
                databento::Error::Api(api) => {
                    assert_eq!(api.status_code.as_u16(), 500);
                    assert_eq!(api.message, "the server broke");
                }
                other => panic!("expected an API error, got {other:?}"),
            }
        }
        other => panic!("expected Error::Historical, got {other:?}"),
    }
    assert_eq!(hist.cached(&request()).expect("check"), None);
    // Nothing half-written is left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(
        left.is_empty(),
        "cache folder is empty after a failed download"
    );
}

#[tokio::test]
async fn declined_quote_downloads_nothing() {
    let server = Server::start(body(10)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hist = client(&server, dir.path());
    let mut ledger = Ledger::default(); // approve = false
    let err = hist
        .fetch(&request(), &mut ledger)
        .await
        .expect_err("declined");
    assert!(matches!(err, Error::DownloadDeclined { quoted_usd } if quoted_usd == 1.25));
    assert_eq!(server.count("timeseries.get_range"), 0);
    assert!(ledger.charges.is_empty());
    let cost = hist.cost(&request()).await.expect("cost");
    assert_eq!(cost, 1.25);
}

fn budget(monthly_usd: i64) -> ifd_budget::Budget {
    use ifd_budget::{BudgetConfig, CostModel, Ledger, LivePricing, PriceTable, TradingCalendar};
    let prices = PriceTable::from_unit_prices([("mbo", 1.5)]).expect("prices");
    let live = LivePricing::PerGb {
        usd_per_gb: rust_decimal::Decimal::new(5, 0),
    };
    ifd_budget::Budget::new(
        BudgetConfig::with_monthly(rust_decimal::Decimal::new(monthly_usd, 0)).expect("config"),
        TradingCalendar::cme(),
        CostModel::new(prices, live).expect("model"),
        Ledger::new(),
    )
    .expect("budget")
}

/// 2026-03-04 15:00 UTC, a CME trading day.
const NOW_NS: u64 = 1_772_636_400_000_000_000;

#[tokio::test]
async fn budget_gate_charges_once_and_records_the_cache_hit_at_zero() {
    use ifd_mbo_client::historical::BudgetGate;
    let server = Server::start(body(20)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hist = client(&server, dir.path());
    let mut budget = budget(175);
    {
        let mut gate = BudgetGate::new(&mut budget, NOW_NS);
        hist.fetch(&request(), &mut gate).await.expect("download");
        hist.fetch(&request(), &mut gate).await.expect("hit");
        assert!(gate.errors().is_empty(), "{:?}", gate.errors());
    }
    let charges = budget.ledger().charges();
    assert_eq!(charges.len(), 2);
    assert_eq!(charges[0].dollars, rust_decimal::Decimal::new(125, 2));
    assert_eq!(charges[1].dollars, rust_decimal::Decimal::ZERO);
    assert_eq!(server.count("timeseries.get_range"), 1);
}

#[tokio::test]
async fn budget_gate_refusal_is_kept_and_nothing_is_downloaded() {
    use ifd_mbo_client::historical::BudgetGate;
    // A $500 quote does not fit a $175 month.
    let server = Server::start_with_cost(body(20), "500.0").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hist = client(&server, dir.path());
    let mut budget = budget(175);
    let mut gate = BudgetGate::new(&mut budget, NOW_NS);
    let err = hist
        .fetch(&request(), &mut gate)
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::DownloadDeclined { .. }));
    assert!(
        matches!(gate.errors(), [ifd_budget::Error::WouldExceedMonth { .. }]),
        "{:?}",
        gate.errors()
    );
    assert_eq!(server.count("timeseries.get_range"), 0);
    drop(gate);
    assert!(budget.ledger().charges().is_empty());
}

//! Databento historical downloads with a cache that never pays twice (feature
//! `historical`).
//!
//! [`Historical`] wraps the real [`databento::HistoricalClient`]. A [`RangeRequest`]
//! (dataset, schema, symbols, symbology, time range) is answered from the local cache
//! when a verified copy exists; otherwise the request is priced first with
//! `metadata.get_cost`, put to a [`CostGate`] (the budget's seat), downloaded with
//! `timeseries.get_range`, written atomically as a zstd DBN file with a checksum
//! sidecar, and the charge is reported back to the gate. A cache hit reports a charge of
//! zero.
//!
//! # Cache layout
//!
//! Each entry is `<key>.dbn.zst` plus `<key>.json`, where the key is readable (dataset,
//! schema, symbology, range) and ends with a CRC-32 of the symbol list. The sidecar holds
//! the full request, the file length and its CRC-32; a read checks all three, so a
//! truncated or altered file, or a key collision, is never served: it is removed and
//! downloaded again.
//!
//! ```no_run
//! # async fn demo() -> ifd_mbo_client::Result<()> {
//! use ifd_mbo_client::historical::{AllowAll, Historical, HistoricalConfig, RangeRequest};
//! use dbn::{SType, Schema};
//!
//! let mut hist = Historical::new(HistoricalConfig::new("cache/databento"))?;
//! let req = RangeRequest {
//!     dataset: "GLBX.MDP3".into(),
//!     schema: Schema::Mbo,
//!     symbols: vec!["NQ.OPT".into()],
//!     stype_in: SType::Parent,
//!     start_ns: 1_717_200_000_000_000_000,
//!     end_ns: 1_717_286_400_000_000_000,
//! };
//! println!("quote: {} USD", hist.cost(&req).await?);
//! let fetched = hist.fetch(&req, &mut AllowAll).await?;
//! println!("{:?} records in {}", fetched.records, fetched.path.display());
//! # Ok(()) }
//! ```

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use databento::{
    historical::{metadata::GetCostParams, timeseries::GetRangeParams, DateTimeRange},
    HistoricalClient,
};
use dbn::{
    decode::DbnMetadata,
    encode::{AsyncDbnEncoder, AsyncEncodeRecordRef},
    SType, Schema,
};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::{Error, Result};

/// The environment variable holding the Databento API key.
pub const API_KEY_ENV: &str = "DATABENTO_API_KEY";

/// One `timeseries.get_range` request: everything that decides what is paid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeRequest {
    /// Dataset code, e.g. `GLBX.MDP3`.
    pub dataset: String,
    /// Record schema.
    #[serde(with = "schema_str")]
    pub schema: Schema,
    /// Symbols in the `stype_in` symbology.
    pub symbols: Vec<String>,
    /// Input symbology (e.g. `SType::Parent` for `NQ.OPT`).
    #[serde(with = "stype_str")]
    pub stype_in: SType,
    /// Inclusive start, unix ns.
    pub start_ns: u64,
    /// Exclusive end, unix ns.
    pub end_ns: u64,
}

impl RangeRequest {
    /// The cache key: readable fields plus a CRC-32 of the symbol list.
    #[must_use]
    pub fn cache_key(&self) -> String {
        let mut crc = crc32fast::Hasher::new();
        for s in &self.symbols {
            crc.update(s.as_bytes());
            crc.update(&[0]);
        }
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect()
        };
        format!(
            "{}_{}_{}_{}_{}_{:08x}",
            clean(&self.dataset),
            clean(self.schema.as_str()),
            clean(self.stype_in.as_str()),
            self.start_ns,
            self.end_ns,
            crc.finalize()
        )
    }

    fn range(&self) -> Result<DateTimeRange> {
        let to_dt = |ns: u64, param: &'static str| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).map_err(|e| {
                Error::Config {
                    param,
                    reason: e.to_string(),
                }
            })
        };
        if self.end_ns <= self.start_ns {
            return Err(Error::Config {
                param: "end_ns",
                reason: format!("end {} is not after start {}", self.end_ns, self.start_ns),
            });
        }
        Ok(DateTimeRange::from((
            to_dt(self.start_ns, "start_ns")?,
            to_dt(self.end_ns, "end_ns")?,
        )))
    }
}

/// Where paid requests ask for permission and report their charge: the seat of the
/// budget crate ([`BudgetGate`] wires `ifd_budget::Budget`).
pub trait CostGate {
    /// Whether `request`, quoted at `quoted_usd`, may be downloaded.
    fn approve(&mut self, request: &RangeRequest, quoted_usd: f64) -> bool;
    /// `request` was served: `charged_usd` is its quote, or zero for a cache hit;
    /// `bytes` is the size of the cached file.
    fn record(&mut self, request: &RangeRequest, charged_usd: f64, bytes: u64);
    /// An approved request was not downloaded after all (the download failed).
    fn release(&mut self, request: &RangeRequest) {
        let _ = request;
    }
}

/// A [`CostGate`] that approves everything and records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl CostGate for AllowAll {
    fn approve(&mut self, _: &RangeRequest, _: f64) -> bool {
        true
    }
    fn record(&mut self, _: &RangeRequest, _: f64, _: u64) {}
}

/// A [`CostGate`] backed by an `ifd_budget::Budget` at one instant: approval is
/// `authorize_request` (keyed by [`RangeRequest::cache_key`]), a served request is
/// `settle_request` (zero dollars = cache hit), a failed download is
/// `release_request`. Refusals and ledger errors are kept in [`errors`](Self::errors)
/// rather than dropped.
#[cfg(feature = "ifd-budget")]
#[derive(Debug)]
pub struct BudgetGate<'a> {
    budget: &'a mut ifd_budget::Budget,
    now_ns: u64,
    errors: Vec<ifd_budget::Error>,
}

#[cfg(feature = "ifd-budget")]
impl<'a> BudgetGate<'a> {
    /// A gate charging `budget` at `now_ns` (unix ns, the caller's clock).
    pub fn new(budget: &'a mut ifd_budget::Budget, now_ns: u64) -> Self {
        Self {
            budget,
            now_ns,
            errors: Vec::new(),
        }
    }

    /// Refusals and ledger errors so far (e.g. `WouldExceedMonth`).
    #[must_use]
    pub fn errors(&self) -> &[ifd_budget::Error] {
        &self.errors
    }

    fn keep<T>(&mut self, r: ifd_budget::Result<T>) -> Option<T> {
        r.map_err(|e| self.errors.push(e)).ok()
    }
}

#[cfg(feature = "ifd-budget")]
impl CostGate for BudgetGate<'_> {
    fn approve(&mut self, request: &RangeRequest, quoted_usd: f64) -> bool {
        let key = request.cache_key();
        let r = ifd_budget::utc_from_ns(self.now_ns)
            .and_then(|now| self.budget.authorize_request(&key, quoted_usd, None, now));
        self.keep(r).is_some()
    }

    fn record(&mut self, request: &RangeRequest, charged_usd: f64, bytes: u64) {
        let key = request.cache_key();
        let r = ifd_budget::utc_from_ns(self.now_ns)
            .and_then(|now| self.budget.settle_request(&key, charged_usd, bytes, now));
        let _ = self.keep(r);
    }

    fn release(&mut self, request: &RangeRequest) {
        let r = self.budget.release_request(&request.cache_key());
        let _ = self.keep(r);
    }
}

/// Configuration of [`Historical`].
#[derive(Debug, Clone)]
pub struct HistoricalConfig {
    /// API key; read from [`API_KEY_ENV`] when `None`.
    pub key: Option<String>,
    /// Base URL of the API (`https://hist.databento.com` when `None`); tests point it at
    /// a loopback server.
    pub base_url: Option<String>,
    /// Folder of the cache (created if missing).
    pub cache_dir: PathBuf,
}

impl HistoricalConfig {
    /// Defaults with the cache in `cache_dir`.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            key: None,
            base_url: None,
            cache_dir: cache_dir.into(),
        }
    }
}

/// What [`Historical::fetch`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// The verified zstd DBN file in the cache.
    pub path: PathBuf,
    /// Records in the file (counted on download; `None` on a cache hit).
    pub records: Option<u64>,
    /// Whether the cache answered (nothing was requested or paid).
    pub cache_hit: bool,
    /// The quote paid for this call: zero on a cache hit.
    pub charged_usd: f64,
}

/// Cache counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Requests answered from the cache.
    pub hits: u64,
    /// Requests that had to be downloaded.
    pub misses: u64,
    /// Entries found corrupt (length, checksum or request mismatch) and removed.
    pub corrupt: u64,
    /// Bytes written to the cache.
    pub bytes_written: u64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Sidecar {
    version: u32,
    request: RangeRequest,
    len: u64,
    crc32: u32,
    records: u64,
}

const SIDECAR_VERSION: u32 = 1;

/// Historical client plus download cache.
#[derive(Debug)]
pub struct Historical {
    client: HistoricalClient,
    cache_dir: PathBuf,
    stats: CacheStats,
}

impl Historical {
    /// A client for `config`; creates the cache folder.
    ///
    /// # Errors
    /// [`Error::MissingApiKey`] without a key, [`Error::Config`] for a malformed base
    /// URL, [`Error::Historical`] when the client rejects the key, [`Error::Io`] when the
    /// cache folder cannot be created.
    pub fn new(config: HistoricalConfig) -> Result<Self> {
        let key = match config.key {
            Some(k) => k,
            None => {
                std::env::var(API_KEY_ENV).map_err(|_| Error::MissingApiKey { var: API_KEY_ENV })?
            }
        };
        let builder = HistoricalClient::builder()
            .key(key)
            .map_err(|source| Error::Historical {
                request: "client",
                source: Box::new(source),
            })?;
        let builder = match &config.base_url {
            Some(url) => builder.base_url(url.parse().map_err(|e| Error::Config {
                param: "base_url",
                reason: format!("{url}: {e}"),
            })?),
            None => builder,
        };
        let client = builder.build().map_err(|source| Error::Historical {
            request: "client",
            source: Box::new(source),
        })?;
        fs::create_dir_all(&config.cache_dir).map_err(|source| Error::Io {
            path: config.cache_dir.clone(),
            source,
        })?;
        Ok(Self {
            client,
            cache_dir: config.cache_dir,
            stats: CacheStats::default(),
        })
    }

    /// Cache counters so far.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// The data file an entry for `request` lives in (whether or not it exists).
    #[must_use]
    pub fn cache_path(&self, request: &RangeRequest) -> PathBuf {
        self.cache_dir
            .join(format!("{}.dbn.zst", request.cache_key()))
    }

    fn sidecar_path(&self, request: &RangeRequest) -> PathBuf {
        self.cache_dir.join(format!("{}.json", request.cache_key()))
    }

    /// The pre-flight quote of `request` in US dollars (`metadata.get_cost`). Free of
    /// charge; call it before any download.
    ///
    /// # Errors
    /// [`Error::Historical`] when the API fails or answers with an error status;
    /// [`Error::Config`] for an empty or inverted range.
    pub async fn cost(&mut self, request: &RangeRequest) -> Result<f64> {
        let params = GetCostParams::builder()
            .dataset(&request.dataset)
            .symbols(request.symbols.clone())
            .schema(request.schema)
            .stype_in(request.stype_in)
            .date_time_range(request.range()?)
            .build();
        self.client
            .metadata()
            .get_cost(&params)
            .await
            .map_err(|source| Error::Historical {
                request: "metadata.get_cost",
                source: Box::new(source),
            })
    }

    /// The verified cached file for `request`, if any. A corrupt entry is removed and
    /// counted in [`CacheStats::corrupt`].
    ///
    /// # Errors
    /// [`Error::Io`] when an existing entry cannot be read or removed.
    pub fn cached(&mut self, request: &RangeRequest) -> Result<Option<PathBuf>> {
        let data = self.cache_path(request);
        let side = self.sidecar_path(request);
        let Ok(side_bytes) = fs::read(&side) else {
            return Ok(None);
        };
        let valid = match serde_json::from_slice::<Sidecar>(&side_bytes) {
            Ok(sc) if sc.version == SIDECAR_VERSION && sc.request == *request => {
                match checksum(&data) {
                    Ok((len, crc)) => len == sc.len && crc == sc.crc32,
                    Err(Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        false
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => false,
        };
        if valid {
            return Ok(Some(data));
        }
        self.stats.corrupt = self.stats.corrupt.saturating_add(1);
        for path in [&side, &data] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(Error::Io {
                        path: path.clone(),
                        source,
                    })
                }
            }
        }
        Ok(None)
    }

    /// Serves `request` from the cache, or prices it, asks `gate`, downloads it into
    /// the cache and reports the charge.
    ///
    /// # Errors
    /// [`Error::DownloadDeclined`] when the gate refuses the quote;
    /// [`Error::Historical`] when the API fails (an error status is
    /// `databento::Error::Api`); [`Error::Io`] when the cache cannot be written;
    /// [`Error::Config`] for an empty or inverted range.
    pub async fn fetch(
        &mut self,
        request: &RangeRequest,
        gate: &mut dyn CostGate,
    ) -> Result<Fetched> {
        if let Some(path) = self.cached(request)? {
            self.stats.hits = self.stats.hits.saturating_add(1);
            let bytes = fs::metadata(&path).map_or(0, |m| m.len());
            gate.record(request, 0.0, bytes);
            return Ok(Fetched {
                path,
                records: None,
                cache_hit: true,
                charged_usd: 0.0,
            });
        }
        self.stats.misses = self.stats.misses.saturating_add(1);
        let quote = self.cost(request).await?;
        if !gate.approve(request, quote) {
            return Err(Error::DownloadDeclined { quoted_usd: quote });
        }
        let (path, records) = match self.download(request).await {
            Ok(done) => done,
            Err(e) => {
                gate.release(request);
                return Err(e);
            }
        };
        let bytes = fs::metadata(&path).map_or(0, |m| m.len());
        gate.record(request, quote, bytes);
        Ok(Fetched {
            path,
            records: Some(records),
            cache_hit: false,
            charged_usd: quote,
        })
    }

    async fn download(&mut self, request: &RangeRequest) -> Result<(PathBuf, u64)> {
        let params = GetRangeParams::builder()
            .dataset(&request.dataset)
            .symbols(request.symbols.clone())
            .schema(request.schema)
            .stype_in(request.stype_in)
            .date_time_range(request.range()?)
            .build();
        let api = |source| Error::Historical {
            request: "timeseries.get_range",
            source: Box::new(source),
        };
        let mut decoder = self
            .client
            .timeseries()
            .get_range(&params)
            .await
            .map_err(api)?;
        let data = self.cache_path(request);
        let temp = self.cache_dir.join(format!(
            ".{}.{}.tmp",
            request.cache_key(),
            std::process::id()
        ));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let result = async {
            let file = tokio::fs::File::create(&temp).await.map_err(io(&temp))?;
            let mut encoder = AsyncDbnEncoder::with_zstd(file, decoder.metadata())
                .await
                .map_err(|e| api(databento::Error::from(e)))?;
            let mut records = 0u64;
            while let Some(rec) = decoder
                .decode_record_ref()
                .await
                .map_err(|e| api(databento::Error::from(e)))?
            {
                encoder
                    .encode_record_ref(rec)
                    .await
                    .map_err(|e| api(databento::Error::from(e)))?;
                records += 1;
            }
            encoder.get_mut().shutdown().await.map_err(io(&temp))?;
            let file = encoder.get_mut().get_mut();
            file.flush().await.map_err(io(&temp))?;
            file.sync_all().await.map_err(io(&temp))?;
            Ok::<u64, Error>(records)
        }
        .await;
        let records = match result {
            Ok(n) => n,
            Err(e) => {
                let _ = fs::remove_file(&temp);
                return Err(e);
            }
        };
        let (len, crc32) = checksum(&temp)?;
        fs::rename(&temp, &data).map_err(io(&data))?;
        let sidecar = Sidecar {
            version: SIDECAR_VERSION,
            request: request.clone(),
            len,
            crc32,
            records,
        };
        let bytes = serde_json::to_vec_pretty(&sidecar).map_err(|e| Error::Config {
            param: "request",
            reason: format!("sidecar does not serialise: {e}"),
        })?;
        crate::persist::write_atomic(self.sidecar_path(request), &bytes)?;
        self.stats.bytes_written = self.stats.bytes_written.saturating_add(len);
        Ok((data, records))
    }
}

/// Length and CRC-32 of a file.
fn checksum(path: &Path) -> Result<(u64, u32)> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::open(path).map_err(io)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, hasher.finalize()))
}

mod schema_str {
    use dbn::Schema;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Schema, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Schema, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod stype_str {
    use dbn::SType;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &SType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SType, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

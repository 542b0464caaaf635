//! Integration tests of ifd-mbo-client, through the public API only.
//!
//! Tests that read Databento's sample files find them through `IFD_SAMPLES_DIR` (see
//! `samples` below); they skip with a printed reason when it is unset, and fail when
//! `IFD_REQUIRE_SAMPLES=1` is set and the folder is missing.

mod file;
#[cfg(feature = "live")]
mod gateway;
#[cfg(feature = "historical")]
mod historical;
#[cfg(feature = "live")]
mod live;
#[cfg(feature = "live")]
mod recovery;
mod samples;

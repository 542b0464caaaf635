//! Integration tests of ifd-baseline through its public API.

mod boundary;
mod parallel;
mod persist;
#[cfg(feature = "testing")]
mod props;
mod sim;

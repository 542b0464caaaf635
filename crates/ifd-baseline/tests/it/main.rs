//! Integration tests of ifd-baseline through its public API.

mod boundary;
mod persist;
#[cfg(feature = "testing")]
mod props;
mod sim;

//! Shared helpers for ifd's runnable examples.
//!
//! The example binaries live in `examples/examples/`; run one with
//! `cargo run --release --example NAME`. This library holds only what several of
//! them share, so that each binary reads as a short end-to-end program.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "pixel arithmetic of pictures"
)]

pub mod heatmap;
pub mod pipe;
pub mod truth;

pub use pipe::{exit_quietly_on_closed_pipe, ignore_closed_pipe};

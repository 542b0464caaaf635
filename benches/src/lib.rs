//! Shared fixtures for ifd's criterion benchmarks.
//!
//! Each bench in `benches/benches/` covers one hot path; the inputs they share
//! (simulator days held in memory, decoded record lists) are built here so that every
//! bench measures the same bytes. Figures are recorded in `benches/BENCHMARKS.md`.

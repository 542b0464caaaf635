//! Integration tests of ifd-pressure through its public API.

mod chain;
mod samples;

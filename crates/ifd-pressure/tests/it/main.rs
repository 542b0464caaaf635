//! Integration tests of ifd-pressure through its public API.

mod book;
mod chain;
mod samples;

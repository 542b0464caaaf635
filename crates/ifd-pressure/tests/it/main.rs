//! Integration tests of ifd-pressure through its public API.

mod analytics;
mod book;
mod book_props;
mod chain;
mod flow;
mod midsession;
mod parity;
mod samples;
mod statistics;

//! Integration tests of ifd-rollout through its public API.

mod assign;
mod labels;
mod metrics;
mod outcome;
mod persist;
mod rollout;
mod sequential;
mod threshold;

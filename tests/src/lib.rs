//! placeholder

pub mod fake;

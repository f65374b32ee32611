//! Test support shared by Tether's suites and tools: the fake code host (also a binary, and the
//! benchmark's provider) and the cleanup of a test's Redis namespace.

pub mod fake;
pub mod redis_cleanup;

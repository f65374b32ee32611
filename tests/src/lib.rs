//! Test support shared by Tether's suites and tools: the fake code host (also a binary, and the
//! benchmark's provider), the cleanup of a test's Redis namespace, and `eventually`, the one way
//! a test waits.

mod eventually;
pub mod fake;
pub mod redis_cleanup;
pub mod ws;

pub use eventually::eventually;

//! qsim: will this task-queue workload deadlock?
#![deny(missing_docs)]

pub mod engine;
pub mod error;
pub mod explore;
pub mod report;
pub mod rng;
pub mod scenario;

pub use error::{Error, Result};
pub use scenario::Scenario;

//! Parameter sweeps: run one fleet scenario at many parameter values
//! (points) on many seeds, in parallel, and keep a results file that can be
//! resumed after a crash, cut into shards for a cluster and merged back,
//! and summarized (means with 95% intervals, an objective, the Pareto front
//! of cost against p99).
//!
//! - [`design`]: `--param path=spec` and the grid, random and Latin
//!   hypercube designs.
//! - [`exec`]: running (point, seed) units on a thread pool.
//! - [`metrics`]: the named figures kept from each run.
//! - [`results`]: the JSON-lines results file: records, canonical order,
//!   aggregation, merging, CSV.
//! - [`objective`]: `min cost where p99 < 200ms`, and the Pareto front.

pub mod design;
pub mod exec;
pub mod metrics;
pub mod objective;
pub mod results;

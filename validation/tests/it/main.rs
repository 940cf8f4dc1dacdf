//! Integration tests of the validation crate: the analytic cross-checks, the
//! quick validation set with master seed 1, determinism across thread
//! counts, subset runs agreeing with the full table, that the judge catches
//! wrong values, the load-balancing table against the supermarket model,
//! the station cases through the fleet path, and (only with
//! `FLEETSIM_FULL_VALIDATION=1`) the full tables.

mod analytic;
mod balancing;
mod data_tier;
mod fleet_cases;
mod runs;

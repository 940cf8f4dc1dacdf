//! Integration tests of the validation crate: the analytic cross-checks, the
//! quick validation set with master seed 1, determinism across thread
//! counts, subset runs agreeing with the full table, that the judge catches
//! wrong values, and (only with `FLEETSIM_FULL_VALIDATION=1`) the full
//! standard set.

mod analytic;
mod runs;
mod probe;

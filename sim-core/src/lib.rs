//! Deterministic discrete-event simulation engine for fleetsim.
//!
//! `sim-core` knows nothing about fleets, files, command lines or windows. It
//! provides the pieces every model is built from:
//!
//! - [`SimTime`] / [`SimDuration`]: integer nanoseconds, exact and
//!   reproducible.
//! - [`EventQueue`], [`Simulation`], [`Model`], [`Scheduler`]: the event loop.
//!   Events are plain data (a model's own enum), ordered by (time, insertion
//!   sequence).
//! - [`RngStreams`] / [`StreamKey`]: one independent ChaCha8 stream per
//!   (master seed, stream name), so components never disturb each other's
//!   draws.
//! - [`Distribution`]: validated inter-arrival and service-time distributions
//!   that know their own mean and squared coefficient of variation.
//! - [`confidence`]: Student-t confidence intervals over replications
//!   (validation tables, `compare`, sweeps).
//! - [`stats`]: streaming statistics with memory independent of the number of
//!   requests.
//!
//! # Example
//!
//! ```
//! use sim_core::{Model, Scheduler, SimDuration, SimTime, Simulation};
//!
//! /// Counts ticks that reschedule themselves every second.
//! struct Ticker { ticks: u32 }
//! impl Model for Ticker {
//!     type Event = ();
//!     fn handle(&mut self, _: (), sched: &mut Scheduler<()>) {
//!         self.ticks += 1;
//!         sched.schedule_after(SimDuration::from_secs(1), ());
//!     }
//! }
//!
//! let mut sim = Simulation::new(Ticker { ticks: 0 });
//! sim.scheduler_mut().schedule_at(SimTime::ZERO, ());
//! sim.run_until(SimTime::from_secs(10));
//! assert_eq!(sim.model().ticks, 11); // t = 0, 1, ..., 10
//! ```
//!
//! # Determinism contract
//!
//! A run is a pure function of the model's initial state and its seed:
//! events are totally ordered by (time, sequence), time is an integer, all
//! randomness comes from [`RngStreams`], and the samplers compute logarithms,
//! exponentials and powers with the pure-Rust `libm` crate rather than the
//! platform's math library, so the same seed gives bit-identical runs on every
//! target. Nothing here reads the wall clock, the environment or the file
//! system.

pub mod arrivals;
pub mod confidence;
pub mod dist;
pub mod engine;
pub mod param;
pub mod queue;
pub mod rng;
pub mod stats;
pub mod time;

pub use arrivals::{ArrivalError, ArrivalProcess, RateProfile};
pub use dist::{Distribution, DistributionError, DurationStream};
pub use engine::{Model, NoObserver, Observer, Scheduler, Simulation, StopReason, TraceHasher};
pub use param::ParamError;
pub use queue::{EventId, EventQueue};
pub use rng::{RngStreams, StreamKey, StreamRng};
pub use time::{SimDuration, SimTime};

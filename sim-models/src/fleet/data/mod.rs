//! The data tier the application instances call: database clusters
//! (primary, replicas, replication, failover), shards and caches.
//!
//! `spec` is the file format (`[[databases]]`, `[[caches]]`, class fields),
//! `lower` checks it into `config`; `cache` (LRU / fixed hit ratio) and
//! `shard` (hash, consistent, range, geo) are the pure building blocks;
//! `runtime` holds the state during a run (nodes, replication logs,
//! failover) that `fleet::model` drives from its events.

pub mod cache;
pub mod config;
pub mod lower;
pub mod report;
pub(crate) mod runtime;
pub mod shard;
pub mod spec;

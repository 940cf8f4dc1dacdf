//! The multi-region fleet model: client populations, GeoDNS, regional load
//! balancers and instance groups, driven by a fleet scenario file.

pub mod config;

//! Fuzzes the whole path for small scenarios: any text that loads (as TOML)
//! and needs little work is run, and the run must not panic (debug
//! assertions included) and must conserve requests.
//!
//! Scenarios that pass the lowering's work estimate but are known to run
//! (nearly) forever are skipped: a huge, very short spike (arrivals are
//! thinned against the spike's peak, and a spike shorter than a nanosecond
//! re-draws its arrivals at the same instant) and a diurnal profile with a
//! tiny period (eight thinning segments per period). See
//! `sim-models/tests/fleet_props.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sim_models::fleet::config::LoadConfig;
use sim_models::fleet::load::parse_fleet;
use sim_models::spec::RateSpec;
use sim_models::{FleetScenario, Format, run_fleet};

/// Most work (events, thinning draws, segments) a fuzzed run may need.
const MAX_WORK: f64 = 2e5;

fn no_files(_: &str) -> Result<String, String> {
    Err("no files".into())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = parse_fleet(text, Format::Toml, &[], &no_files) else {
        return;
    };
    let c = &parsed.config;
    let secs = c.run.duration.as_secs_f64();
    let mut work = secs / c.run.series_interval.as_secs_f64().max(1e-9);
    for (p, spec) in c.populations.iter().zip(&parsed.file.populations) {
        let requests = match &p.load {
            LoadConfig::Open(profile) => {
                work += profile.max_rate_between(0.0, secs) * secs;
                profile.expected_count(0.0, secs)
            }
            LoadConfig::Closed { users, think } => {
                f64::from(*users) * secs / think.mean().max(1e-9)
            }
        };
        let attempts = p.client.retry.map_or(1.0, |r| f64::from(r.max_attempts));
        let copies = 1.0 + p.client.hedge.map_or(0.0, |h| f64::from(h.max_extra));
        work += requests * attempts * copies * 6.0;
        if let Some(RateSpec::Diurnal {
            period: Some(period),
            ..
        }) = &spec.rate
        {
            work += 8.0 * secs / period.0.max(1e-300);
        }
    }
    for r in &c.regions {
        let instances: f64 = r.groups.iter().map(|g| f64::from(g.instances)).sum();
        work += 2.0 * instances * secs / r.balancer.health_check.interval.as_secs_f64().max(1e-9);
        if let Some(o) = r.balancer.outlier {
            work += secs / o.interval.as_secs_f64().max(1e-9);
        }
    }
    work +=
        2.0 * c.regions.len() as f64 * secs / c.dns.health_check.interval.as_secs_f64().max(1e-9);
    if !(work <= MAX_WORK) {
        return;
    }
    let scenario = FleetScenario {
        config: parsed.config,
        hash: parsed.hash,
    };
    let report = run_fleet(&scenario, 1, "fuzz", &mut |_| {});
    assert!(report.conservation.holds, "{:?}", report.conservation);
    assert_eq!(report.global.outcomes.total(), report.global.requests);
});

//! The bundled `three-region-active-active.toml` (30,000 requests/s over
//! three regions and seven client populations, P2C balancers with zone
//! awareness, outlier detection, retries with budgets and circuit breakers)
//! through the whole fleet model, timed by criterion. Throughput counts
//! requests created.
//!
//! Criterion runs a 1-minute simulated slice (≈ 1.8 M requests) so that a
//! sample takes about a second; the issue's figure — one simulated hour,
//! ≈ 108 M requests, on one core — is measured with the release binary:
//! `fleetsim run scenarios/three-region-active-active.toml --duration 1h`
//! (see the README's Performance section). The rate per request is the same.
//!
//! A second bench runs the same slice with a Kubernetes HPA on every group,
//! for the autoscaling issue's target: policies run on their own periodic
//! events, so autoscaling should add well under 10 % to the wall time.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use sim_models::{Format, Override};

/// An HPA on CPU at 60 % for one group (its 36 to 46 instances are within
/// the bounds).
const HPA: &str = r#"{ min = 20, max = 100, policy = { type = "hpa", metrics = [{ type = "cpu", target_utilization = 60 }] } }"#;

fn three_region(c: &mut Criterion) {
    bench_three_region(c, "three-region-active-active/1min", false);
    bench_three_region(c, "three-region-active-active+hpa/1min", true);
}

fn bench_three_region(c: &mut Criterion, name: &str, autoscaled: bool) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/three-region-active-active.toml"
    );
    let text = std::fs::read_to_string(path).expect("the bundled scenario");
    let mut overrides = vec![
        Override::new("run.duration", "1min"),
        Override::new("run.warmup", "10s"),
    ];
    if autoscaled {
        for r in 0..3 {
            overrides.push(Override::new(
                format!("regions[{r}].groups[0].autoscaling"),
                HPA,
            ));
        }
    }
    bench_fleet(c, name, &text, &overrides, Duration::from_secs(15));
}

/// Times whole runs of the fleet scenario `text` with `overrides`, ten
/// samples of `measurement` in all; throughput counts requests created.
fn bench_fleet(
    c: &mut Criterion,
    name: &str,
    text: &str,
    overrides: &[Override],
    measurement: Duration,
) {
    let scenario =
        sim_models::load_fleet_scenario(text, Format::Toml, overrides, &|_| Err("no files".into()))
            .expect("the bundled scenario is valid");
    let seed = scenario.default_seed();
    let created = sim_models::run_fleet(&scenario, seed, "bench", &mut |_| {})
        .conservation
        .created;
    let mut group = c.benchmark_group("fleet");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(measurement)
        .throughput(Throughput::Elements(created));
    group.bench_function(name, |b| {
        b.iter_with_large_drop(|| sim_models::run_fleet(&scenario, seed, "bench", &mut |_| {}))
    });
    group.finish();
}

/// The data tier's cost: `scenarios/data/read-replicas-90-10.toml` (20,000
/// requests/s, each one query to a primary with three async replicas,
/// reads on the replicas) for a 20 s slice, against the same scenario with
/// the classes' `database` lines removed (no data tier). The issue's target
/// is under 30 % extra wall time per request.
fn data_tier(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/data/read-replicas-90-10.toml"
    );
    let with = std::fs::read_to_string(path).expect("the bundled scenario");
    let without: String = with
        .lines()
        .filter(|l| !l.starts_with("database = "))
        .map(|l| format!("{l}\n"))
        .collect();
    for (name, text) in [("data-tier/none", without), ("data-tier/one-query", with)] {
        let overrides = [
            Override::new("run.duration", "20s"),
            Override::new("run.warmup", "5s"),
        ];
        bench_fleet(c, name, &text, &overrides, Duration::from_secs(10));
    }
}

criterion_group!(benches, three_region, data_tier);
criterion_main!(benches);

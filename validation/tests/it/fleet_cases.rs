//! The station cases through the full fleet path: the quick set must pass
//! with master seed 1, the cases must mirror their station twins, a subset
//! run must print the full table's rows, the judge must catch wrong values,
//! and the full set runs on request.

use sim_core::SimDuration;
use validation::fleet_cases::*;
use validation::{MetricResult, standard_cases};

fn failures(results: &[MetricResult]) -> Vec<String> {
    results
        .iter()
        .filter(|r| !r.pass)
        .map(|r| format!("{} / {}: {}", r.case, r.metric, r.note))
        .collect()
}

#[test]
fn quick_fleet_cases_pass_with_master_seed_1() {
    let started = std::time::Instant::now();
    let results = run_fleet_cases(&fleet_station_cases(true), 1, &|line| eprintln!("{line}"));
    let table = render_fleet_table(&results);
    println!("{table}");
    eprintln!(
        "quick fleet set: {:.1} s wall",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures(&results).is_empty(),
        "{}\n{table}",
        failures(&results).join("\n")
    );
    // Blocking is measured where the queue is finite.
    assert!(
        results
            .iter()
            .any(|r| r.metric == "blocking" && r.mean > 0.1)
    );
}

#[test]
fn fleet_cases_mirror_their_station_twins() {
    let full = fleet_station_cases(false);
    let stations = standard_cases();
    // Every single-station case, in order (the tandem has no fleet twin).
    let singles: Vec<&str> = stations
        .iter()
        .filter(|c| c.config.stations.len() == 1)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        full.iter().map(|c| c.station.as_str()).collect::<Vec<_>>(),
        singles
    );
    assert_eq!(full.len(), 17);
    for c in &full {
        let twin = stations
            .iter()
            .find(|s| s.name == c.station)
            .expect("a twin");
        let st = &twin.config.stations[0];
        let ty = &c.config.instance_types[0];
        assert_eq!(c.name, format!("fleet {}", twin.name));
        assert_eq!(
            (ty.workers, ty.queue_capacity),
            (st.servers, st.queue_capacity)
        );
        assert_eq!(c.config.regions[0].groups[0].instances, 1);
        assert_eq!(c.config.populations[0].classes[0].demand, st.service);
        assert_eq!(c.config.run.warmup.as_secs_f64(), twin.warmup_s());
        assert_eq!(c.replications, twin.replications);
        assert!(c.measured_s() >= FLEET_WINDOW_FRACTION * twin.measured_s());
        assert!(
            c.metrics
                .iter()
                .all(|m| m.analytic.is_finite() && m.analytic > 0.0)
        );
        let has_blocking = c
            .metrics
            .iter()
            .any(|m| m.measure == FleetMeasure::Blocking);
        assert_eq!(has_blocking, st.queue_capacity.is_some(), "{}", c.name);
    }
    let quick = fleet_station_cases(true);
    assert_eq!(quick.len(), 5);
    let requests =
        |cases: &[FleetCase]| cases.iter().map(FleetCase::expected_requests).sum::<f64>();
    assert!(requests(&quick) < 6e6, "quick: {:.3e}", requests(&quick));
    assert!(requests(&full) < 2e8, "full: {:.3e}", requests(&full));
    assert_eq!(
        fleet_comparisons(),
        full.iter().map(|c| c.metrics.len()).sum::<usize>()
    );
}

/// Five replications of a `1/shrink` window.
fn shrink(cases: Vec<FleetCase>, shrink: f64) -> Vec<FleetCase> {
    cases
        .into_iter()
        .map(|mut c| {
            c.replications = 5;
            let measured = (c.measured_s() / shrink).ceil() as u64;
            c.config.run.duration = c.config.run.warmup + SimDuration::from_secs(measured);
            c
        })
        .collect()
}

#[test]
fn fleet_subset_rows_are_deterministic_and_wrong_values_fail() {
    let subset: Vec<FleetCase> = shrink(fleet_station_cases(false), 400.0)
        .into_iter()
        .filter(|c| c.station == "M/M/2/5 ρ=0.9" || c.station == "M/H2/1 ρ=0.7 SCV=4")
        .collect();
    assert_eq!(subset.len(), 2);
    let part = run_fleet_cases(&subset, 3, &|_| {});
    let again = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool")
        .install(|| run_fleet_cases(&subset, 3, &|_| {}));
    assert_eq!(part, again, "results depend on the thread count");
    assert_ne!(run_fleet_cases(&subset, 4, &|_| {})[0].mean, part[0].mean);
    assert_eq!(
        part[0].confidence,
        validation::stats::bonferroni_level(validation::FAMILY_CONFIDENCE, fleet_comparisons())
    );
    assert!(render_fleet_table(&part).contains("(this run shows"));
    // W = 2 exactly for M/M/1 at ρ = 0.5; claim 2.5. Five replications of a
    // twentieth of the window are also far too few for a 3% half-width.
    let mut wrong: Vec<FleetCase> = shrink(fleet_station_cases(true), 20.0)
        .into_iter()
        .filter(|c| c.station == "M/M/1 ρ=0.5")
        .collect();
    assert_eq!(wrong[0].metrics[0].measure, FleetMeasure::TimeInSystem);
    wrong[0].metrics[0].analytic *= 1.25;
    let results = run_fleet_cases(&wrong, 1, &|_| {});
    assert!(
        !results[0].pass && results[0].note.contains("analytic outside CI"),
        "{results:?}"
    );
    assert!(
        results.iter().any(|r| r.note.contains("half-width")),
        "{results:?}"
    );
    assert!(results.last().expect("a Little row").is_little_row());
    assert!(render_fleet_table(&results).contains("FAIL"));
}

/// The full fleet set. Opt in with `FLEETSIM_FULL_VALIDATION=1`;
/// `FLEETSIM_VALIDATION_SEED` picks the master seed (default 1).
#[test]
fn full_fleet_station_set() {
    if std::env::var("FLEETSIM_FULL_VALIDATION").as_deref() != Ok("1") {
        eprintln!(
            "note: skipping the full fleet station set; run it with \
             FLEETSIM_FULL_VALIDATION=1 cargo test -p validation -- --nocapture full_fleet_station_set"
        );
        return;
    }
    let seed = std::env::var("FLEETSIM_VALIDATION_SEED")
        .map_or(1, |s| s.parse().expect("FLEETSIM_VALIDATION_SEED is a u64"));
    let started = std::time::Instant::now();
    let results = run_fleet_cases(&fleet_station_cases(false), seed, &|line| {
        eprintln!("{line}")
    });
    let table = render_fleet_table(&results);
    println!("master seed {seed}\n{table}");
    eprintln!(
        "full fleet station set: {:.1} s wall",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures(&results).is_empty(),
        "{}\n{table}",
        failures(&results).join("\n")
    );
}

//! Tests of the facade: determinism of whole runs, stopping rules, warm-up,
//! rejection and tandem routing, on small inline scenarios.

use super::*;

fn scenario(text: &str) -> Scenario {
    load_scenario(text, Format::Toml).unwrap_or_else(|e| panic!("{e}"))
}

const TANDEM: &str = r#"
name = "tandem"
[run]
horizon = "2h"
warmup = "10min"
series_interval = "5min"
[[sources]]
name = "users"
to = "a"
interarrival = { type = "exponential", rate = 1.0 }
[[stations]]
name = "a"
servers = 2
service = { type = "erlang", k = 2, mean = "1.5s" }
next = "b"
[[stations]]
name = "b"
servers = 1
queue_capacity = 4
service = { type = "exponential", mean = "700ms" }
"#;

fn json(report: &RunReport) -> String {
    serde_json::to_string(report).unwrap()
}

#[test]
fn same_seed_gives_byte_identical_reports() {
    let s = scenario(TANDEM);
    assert_eq!(json(&run(&s, 5, "x")), json(&run(&s, 5, "x")));
    assert_eq!(trace_hash(&s, 5), trace_hash(&s, 5));
}

#[test]
fn different_seed_gives_different_results() {
    let s = scenario(TANDEM);
    assert_ne!(json(&run(&s, 5, "x")), json(&run(&s, 6, "x")));
    assert_ne!(trace_hash(&s, 5).0, trace_hash(&s, 6).0);
}

#[test]
fn report_carries_reproduction_data() {
    let s = scenario(TANDEM);
    let r = run(&s, 5, "fleetsim run tandem.toml --seed 5");
    assert_eq!(r.seed, 5);
    assert_eq!(r.reproduce, "fleetsim run tandem.toml --seed 5");
    assert_eq!(r.scenario_hash, s.hash);
    assert_eq!(r.fleetsim_version, report::FLEETSIM_VERSION);
    assert_eq!(r.measured_from_s, 600.0);
    assert_eq!(r.measured_to_s, 7200.0);
    assert_eq!(r.series.as_ref().unwrap().len(), 24);
}

#[test]
fn flow_is_conserved_through_the_tandem() {
    let s = scenario(TANDEM);
    let r = run(&s, 9, "x");
    let (a, b) = (&r.stations[0], &r.stations[1]);
    // Every customer finishing at `a` arrives at `b` at the same instant.
    assert_eq!(a.completed, b.arrivals);
    // b's waiting room is small: some rejections, each counted at the source.
    assert!(b.rejected > 0);
    assert_eq!(r.sources[0].rejected, b.rejected);
    assert_eq!(r.sources[0].completed, b.completed);
    assert_eq!(r.end_to_end.count, b.completed);
    assert!(b.mean_in_queue <= 4.0 && b.max_in_queue == 4);
    // End-to-end time is at least the sum of the mean sojourns' order.
    assert!(r.end_to_end.mean_s > a.sojourn.mean_s);
    for st in &r.stations {
        assert!(
            st.littles_law.relative_gap < 0.02,
            "{}: {:?}",
            st.name,
            st.littles_law
        );
    }
}

#[test]
fn customers_rule_stops_after_exactly_n_completions() {
    let text = TANDEM.replace(
        "horizon = \"2h\"\nwarmup = \"10min\"\nseries_interval = \"5min\"",
        "customers = 1000",
    );
    let r = run(&scenario(&text), 1, "x");
    assert_eq!(r.end_to_end.count, 1000);
    assert_eq!(r.measured_from_s, 0.0);
}

#[test]
fn warmup_discards_early_statistics() {
    // With warm-up, the measured window starts later and counts fewer events.
    let with = run(&scenario(TANDEM), 3, "x");
    let without = run(
        &scenario(&TANDEM.replace("warmup = \"10min\"\n", "")),
        3,
        "x",
    );
    assert_eq!(
        with.events,
        without.events + 1,
        "same trajectory, plus the WarmupEnd event"
    );
    assert!(with.events_measured < without.events_measured);
    assert!(with.stations[0].arrivals < without.stations[0].arrivals);
}

#[test]
fn scenario_and_report_types_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Scenario>();
    assert_send_sync::<RunReport>();
}

#[test]
fn progress_reports_do_not_change_the_run() {
    for text in [
        TANDEM.to_string(),
        TANDEM.replace(
            "horizon = \"2h\"\nwarmup = \"10min\"\nseries_interval = \"5min\"",
            "customers = 5000",
        ),
    ] {
        let s = scenario(&text);
        let mut seen = Vec::new();
        let with = run_with_progress(&s, 4, "x", &mut |p| seen.push(p));
        assert_eq!(json(&with), json(&run(&s, 4, "x")));
        assert!(seen.len() >= 100, "{} progress reports", seen.len());
        assert!(
            seen.windows(2)
                .all(|w| w[0].fraction <= w[1].fraction && w[0].events <= w[1].events)
        );
        assert_eq!(seen.last().unwrap().fraction, 1.0);
        assert_eq!(seen.last().unwrap().events, with.events);
    }
}

const DIURNAL: &str = r#"
[run]
horizon = "24h"
series_interval = "1h"
[[sources]]
name = "users"
to = "api"
rate = { profile = "diurnal", mean = 2.0, amplitude = 0.8, period = "24h", peak_at = "12h" }
spikes = [{ start = "3h", duration = "1h", multiplier = 10.0 }]
[[stations]]
name = "api"
servers = 64
service = { type = "exponential", mean = "1s" }
"#;

#[test]
fn rate_profiles_drive_arrivals() {
    let s = scenario(DIURNAL);
    let r = run(&s, 11, "x");
    let series = r.series.as_ref().unwrap();
    // Hour k's completions per second follow the profile's mean rate over
    // that hour (64 workers at 1 s: essentially no queueing): check the
    // night trough, the spike and the noon peak within 5 standard errors.
    let expected = |hour: f64| match &s.config.sources[0].arrivals {
        scenario::Arrivals::Rate(p) => p.expected_count(hour * 3600.0, (hour + 1.0) * 3600.0),
        scenario::Arrivals::Renewal(_) => unreachable!(),
    };
    for hour in [1usize, 3, 12] {
        let want = expected(hour as f64);
        let got = series[hour].throughput_per_s * 3600.0;
        assert!(
            (got - want).abs() < 5.0 * want.sqrt() + 50.0,
            "hour {hour}: {got} vs {want}"
        );
    }
    assert!(
        series[3].throughput_per_s > 5.0 * series[2].throughput_per_s,
        "the ×10 spike shows"
    );
    assert_eq!(json(&r), json(&run(&s, 11, "x")), "deterministic");
}

#[test]
fn arrival_spec_must_be_one_of_interarrival_or_rate() {
    let both = DIURNAL.replace(
        "to = \"api\"\n",
        "to = \"api\"\ninterarrival = { type = \"exponential\", mean = 1 }\n",
    );
    let err = load_scenario(&both, Format::Toml).unwrap_err().to_string();
    assert!(
        err.contains("sources[0]: give exactly one of `interarrival`"),
        "{err}"
    );
    let spikes_on_renewal = DIURNAL.replace(
        "rate = { profile = \"diurnal\", mean = 2.0, amplitude = 0.8, period = \"24h\", peak_at = \"12h\" }",
        "interarrival = { type = \"exponential\", mean = 1 }",
    );
    let err = load_scenario(&spikes_on_renewal, Format::Toml)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sources[0].spikes: spikes multiply a `rate`"),
        "{err}"
    );
    let bad_amplitude = DIURNAL.replace("amplitude = 0.8", "amplitude = 1.5");
    let err = load_scenario(&bad_amplitude, Format::Toml)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sources[0].rate") && err.contains("amplitude"),
        "{err}"
    );
    let zero_gap = TANDEM.replace(
        "interarrival = { type = \"exponential\", rate = 1.0 }",
        "interarrival = { type = \"constant\", value = 0 }",
    );
    let err = load_scenario(&zero_gap, Format::Toml)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sources[0].interarrival: mean inter-arrival time must be positive"),
        "{err}"
    );
}

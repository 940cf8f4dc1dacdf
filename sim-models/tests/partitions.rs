//! Network faults between regions (`partition`, `link`) and random faults
//! (`[[random_faults]]`): a partition loses what crosses it for its window
//! and nothing after; a slow link adds its latency each way; a lossy link
//! drops about its share of messages; random failures come at about the
//! rate the MTBF says; runs stay deterministic; bad entries name the field.

use sim_models::{FleetReport, Format, Override, load_fleet_scenario, run_fleet};

/// Two regions 40 ms apart. Region `a` is out for the whole run, so GeoDNS
/// (1 s checks, one failure, 1 s TTL) sends population `p`, homed in `a`,
/// to `b` within seconds: every request then crosses the `a`–`b` link
/// (one way 10 ms access + 40 ms), and is served in 10 ms. No retries.
const TWO: &str = r#"
name = "two"
[run]
duration = "5min"
warmup = "20s"
series_interval = "10s"

[[instance_types]]
name = "m"
workers = 8

[[regions]]
name = "a"
zones = ["a1"]
outages = [{ start = "0s", end = "5min" }]
[[regions.groups]]
name = "web"
instance_type = "m"
instances = 2

[[regions]]
name = "b"
zones = ["b1", "b2"]
[[regions.groups]]
name = "web"
instance_type = "m"
instances = 4

[[latency]]
between = ["a", "b"]
one_way = "40ms"

[dns]
ttl = "1s"
health_check = { interval = "1s", timeout = "500ms", unhealthy_threshold = 1, healthy_threshold = 1 }

[[populations]]
name = "p"
region = "a"
fallback = ["b"]
access_latency = "10ms"
rate = { profile = "constant", per_second = 200 }
demand = { type = "constant", value = "10ms" }
client = { timeout = "1s" }
"#;

fn load(overrides: &[(&str, String)]) -> Result<sim_models::FleetScenario, String> {
    let overrides: Vec<Override> = overrides
        .iter()
        .map(|(k, v)| Override::new(*k, v.clone()))
        .collect();
    load_fleet_scenario(TWO, Format::Toml, &overrides, &|_| Err("no files".into()))
        .map_err(|e| e.to_string())
}

fn run(faults: &str, seed: u64) -> FleetReport {
    let scenario = load(&[("faults", format!("[{faults}]"))]).expect("valid scenario");
    run_fleet(&scenario, seed, "test", &mut |_| {})
}

/// Errors per series bucket starting in `[from, to)` seconds.
fn errors(r: &FleetReport, from: f64, to: f64) -> u32 {
    (r.series.global.iter())
        .filter(|p| p.t_s >= from && p.t_s < to)
        .map(|p| p.errors)
        .sum()
}

#[test]
fn a_partition_loses_everything_across_it_for_its_window_only() {
    let base = run("", 1);
    assert_eq!(
        base.global.outcomes.timeout, 0,
        "{:?}",
        base.global.outcomes
    );
    let r = run(
        r#"{ kind = "partition", region = "b", peer = "a", at = "2min", duration = "1min" }"#,
        1,
    );
    assert!(r.conservation.holds);
    assert_eq!(r.faults[0].target, "partition a|b");
    // Every request sent during the window times out (1 s later)...
    for p in r
        .series
        .global
        .iter()
        .filter(|p| p.t_s >= 130.0 && p.t_s < 180.0)
    {
        assert_eq!(p.ok_per_s, 0.0, "bucket at {} s served requests", p.t_s);
        assert!(
            p.errors > 1_500,
            "bucket at {} s: {} errors",
            p.t_s,
            p.errors
        );
    }
    // ...none before it, and none once it healed (GeoDNS never saw a
    // problem: a partition between regions is not a region outage).
    assert_eq!(errors(&r, 20.0, 110.0), 0);
    assert_eq!(errors(&r, 190.0, 300.0), 0);
    let lost = r.global.outcomes.timeout as f64;
    // About 60 s × 200/s (the warm-up is over), plus the in-flight edges.
    assert!((11_500.0..12_600.0).contains(&lost), "{lost}");
}

#[test]
fn a_slow_link_adds_its_latency_each_way() {
    let base = run("", 1);
    let slow = run(
        r#"{ kind = "link", region = "a", peer = "b", latency = "100ms", at = "0s", duration = "10min" }"#,
        1,
    );
    let (b, s) = (
        base.global.latency.p50_s.unwrap(),
        slow.global.latency.p50_s.unwrap(),
    );
    // 2 × (10 + 40) ms + 10 ms of service, then 200 ms more.
    assert!((b - 0.110).abs() < 0.003, "base p50 {b}");
    assert!((s - b - 0.200).abs() < 0.003, "slow p50 {s} vs {b}");
    assert_eq!(slow.faults[0].target, "link a|b (+100ms)");
    // Same traffic either way (common random numbers).
    assert_eq!(base.conservation.created, slow.conservation.created);
}

#[test]
fn a_link_that_ends_keeps_messages_in_order() {
    // Latency drops from +300 ms to none mid-run: later messages may not
    // overtake earlier ones (FIFO link), and nothing is lost or doubled.
    let r = run(
        r#"{ kind = "link", region = "a", peer = "b", latency = "300ms", at = "1min", duration = "1min" }"#,
        1,
    );
    assert!(r.conservation.holds);
    assert_eq!(r.global.outcomes.timeout, 0, "{:?}", r.global.outcomes);
    assert!(r.global.latency.max_s < 0.75, "{}", r.global.latency.max_s);
}

#[test]
fn a_lossy_link_drops_about_its_share_each_way() {
    let r = run(
        r#"{ kind = "link", region = "a", peer = "b", loss = 0.5, at = "0s", duration = "10min" }"#,
        1,
    );
    let o = &r.global.outcomes;
    let n = (o.ok + o.timeout) as f64;
    // Request and answer each cross the link: (1 − 0.5)² get through.
    let ok = o.ok as f64 / n;
    let sd = (0.25 * 0.75 / n).sqrt();
    assert!(
        (ok - 0.25).abs() < 4.0 * sd,
        "ok share {ok} (n {n}, sd {sd})"
    );
    assert!(n > 50_000.0, "{n}");
    // Deterministic: same seed, same report.
    let again = run(
        r#"{ kind = "link", region = "a", peer = "b", loss = 0.5, at = "0s", duration = "10min" }"#,
        1,
    );
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
    let other = run(
        r#"{ kind = "link", region = "a", peer = "b", loss = 0.5, at = "0s", duration = "10min" }"#,
        2,
    );
    assert_ne!(other.global.outcomes.ok, r.global.outcomes.ok);
}

#[test]
fn bad_link_faults_name_the_field() {
    for (fault, needle) in [
        (
            r#"{ kind = "partition", region = "a", peer = "mars", at = "1min", duration = "1min" }"#,
            "faults[0].peer: no region is named `mars`",
        ),
        (
            r#"{ kind = "partition", region = "b", peer = "b", at = "1min", duration = "1min" }"#,
            "faults[0].peer: a `partition` fault is between two different regions",
        ),
        (
            r#"{ kind = "partition", region = "a", at = "1min", duration = "1min" }"#,
            "faults[0].peer: a `partition` fault needs `peer`",
        ),
        (
            r#"{ kind = "link", region = "a", peer = "b", loss = 1.5, at = "1min", duration = "1min" }"#,
            "faults[0].loss: must be a probability from 0 to 1, got 1.5",
        ),
        (
            r#"{ kind = "link", region = "a", peer = "b", latency = -0.1, at = "1min", duration = "1min" }"#,
            "faults[0].latency: must be a non-negative finite time",
        ),
        (
            r#"{ kind = "link", region = "a", peer = "b", at = "1min", duration = "1min" }"#,
            "faults[0].latency: a `link` fault needs `latency`, `loss` or both",
        ),
        (
            r#"{ kind = "partition", region = "a", peer = "b", loss = 0.1, at = "1min", duration = "1min" }"#,
            "faults[0].loss: `loss` does not apply to a `partition` fault",
        ),
        (
            r#"{ kind = "zone", region = "b", zone = "b1", peer = "a", at = "1min", duration = "1min" }"#,
            "faults[0].peer: `peer` applies only to `partition` and `link` faults",
        ),
    ] {
        let err = load(&[("faults", format!("[{fault}]"))]).expect_err(fault);
        assert!(err.contains(needle), "{fault}\n{err}");
    }
}

fn run_random(random: &str, seed: u64) -> FleetReport {
    let scenario = load(&[("random_faults", format!("[{random}]"))]).expect("valid scenario");
    run_fleet(&scenario, seed, "test", &mut |_| {})
}

#[test]
fn random_instance_failures_come_at_the_mtbf_rate() {
    // 4 instances × 5 min, MTBF 20 s (up time), repair 1 s: about
    // 4 × 300 / 21 ≈ 57 failures.
    let r = run_random(
        r#"{ kind = "instance", region = "b", group = "web", mtbf = "20s", mttr = { type = "constant", value = "1s" } }"#,
        1,
    );
    assert!(r.conservation.holds);
    let n = r.faults.len() as f64;
    assert!((57.0 - n).abs() < 4.0 * 57f64.sqrt(), "{n} failures");
    assert!(
        r.faults
            .iter()
            .all(|f| f.target.starts_with("instance b/web#")
                && f.target.ends_with("(random)")
                && (f.end_s - f.start_s - 1.0).abs() < 1e-9
                || f.end_s == 300.0)
    );
    assert_eq!(r.incidents.len(), r.faults.len());
    // The timeline is a function of the seed.
    let again = run_random(
        r#"{ kind = "instance", region = "b", group = "web", mtbf = "20s", mttr = { type = "constant", value = "1s" } }"#,
        1,
    );
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
    let other = run_random(
        r#"{ kind = "instance", region = "b", group = "web", mtbf = "20s", mttr = { type = "constant", value = "1s" } }"#,
        2,
    );
    assert_ne!(other.faults, r.faults);
}

#[test]
fn random_zone_failures_take_the_zone_together() {
    let r = run_random(
        r#"{ kind = "zone", region = "b", mtbf = "1min", mttr = { type = "exponential", mean = "10s" } }"#,
        3,
    );
    assert!(!r.faults.is_empty());
    assert!(
        r.faults
            .iter()
            .all(|f| f.target == "zone b/b1 (random)" || f.target == "zone b/b2 (random)"),
        "{:?}",
        r.faults
    );
    assert!(r.conservation.holds);
    // While a zone is down, half the instances crash: requests are lost
    // until health checks eject them.
    assert!(r.global.outcomes.timeout > 0);
}

#[test]
fn bad_random_faults_name_the_field() {
    for (random, needle) in [
        (
            r#"{ kind = "instance", region = "b", group = "web", mtbf = "1ms", mttr = { type = "constant", value = "1s" } }"#,
            "random_faults[0].mtbf: 4 components",
        ),
        (
            r#"{ kind = "instance", region = "b", mtbf = "1h", mttr = { type = "constant", value = "1s" } }"#,
            "random_faults[0].group: an `instance` random fault needs `group`",
        ),
        (
            r#"{ kind = "zone", region = "b", zone = "b9", mtbf = "1h", mttr = { type = "constant", value = "1s" } }"#,
            "random_faults[0].zone: no zone is named `b9`",
        ),
        (
            r#"{ kind = "region", region = "c", mtbf = "1h", mttr = { type = "constant", value = "1s" } }"#,
            "random_faults[0].region: no region is named `c`",
        ),
        (
            r#"{ kind = "region", region = "b", mtbf = "0s", mttr = { type = "constant", value = "1s" } }"#,
            "random_faults[0].mtbf: must be a positive time",
        ),
    ] {
        let err = load(&[("random_faults", format!("[{random}]"))]).expect_err(random);
        assert!(err.contains(needle), "{random}\n{err}");
    }
}

const ASYNC: &str = include_str!("../../scenarios/data/region-failover-async.toml");

fn run_data(faults: &str, more: &[(&str, &str)]) -> FleetReport {
    let mut overrides = vec![Override::new("faults", format!("[{faults}]"))];
    overrides.extend(more.iter().map(|(k, v)| Override::new(*k, *v)));
    let scenario =
        load_fleet_scenario(ASYNC, Format::Toml, &overrides, &|_| Err("no files".into()))
            .expect("valid scenario");
    run_fleet(&scenario, 7, "test", &mut |_| {})
}

/// The US-West standby receives nothing while it is cut off from the
/// US-East primary, catches up after the heal, and the clients (in
/// US-East, like the primary) never notice.
#[test]
fn a_partition_holds_replication_until_it_heals() {
    let lag = |r: &FleetReport| {
        let db = &r.data.as_ref().unwrap().databases[0];
        let node = (db.shards[0].nodes.iter())
            .find(|n| n.region == "us-west")
            .unwrap();
        (node.lag_max_s, node.lag_series_s.clone(), db.failed_queries)
    };
    let base = run_data("", &[]);
    let (max, _, failed) = lag(&base);
    assert!(max < 1.0, "{max}");
    assert_eq!(failed, 0);
    let cut = run_data(
        r#"{ kind = "partition", region = "us-east", peer = "us-west", at = "2min", duration = "1min" }"#,
        &[],
    );
    let (max, series, failed) = lag(&cut);
    assert!((55.0..62.0).contains(&max), "{max}");
    assert!(series.last().unwrap() < &1.0, "{series:?}");
    assert_eq!(failed, 0);
    assert_eq!(cut.global.outcomes.database_error, 0);
}

/// With the primary across the partition, every query to it fails after
/// `connect_timeout` (1 s) while it lasts, as if the node were dead.
#[test]
fn queries_across_a_partition_fail_after_the_connect_timeout() {
    let primary_west = [("databases[0].primary", "us-west")];
    let base = run_data("", &primary_west);
    assert_eq!(base.data.as_ref().unwrap().databases[0].failed_queries, 0);
    let cut = run_data(
        r#"{ kind = "partition", region = "us-east", peer = "us-west", at = "2min", duration = "1min" }"#,
        &primary_west,
    );
    assert!(cut.conservation.holds);
    let failed = cut.data.as_ref().unwrap().databases[0].failed_queries;
    // Each failing query holds its instance's worker for the 1 s timeout:
    // 12 instances × 16 workers fail 192 queries a second for 60 s; the
    // rest of the traffic finds the queues full.
    assert!((11_000..=11_600).contains(&failed), "{failed}");
    // Requests end `database_error`, or (retried) find full queues or time
    // out: about the whole window's 90,000 requests fail.
    let o = &cut.global.outcomes;
    let failures = o.database_error + o.rejected + o.timeout;
    assert!((80_000..100_000).contains(&failures), "{o:?}");
    for p in (cut.series.global.iter()).filter(|p| p.t_s >= 125.0 && p.t_s < 180.0) {
        assert_eq!(p.ok_per_s, 0.0, "bucket at {} s served requests", p.t_s);
    }
    assert_eq!(errors(&cut, 200.0, 480.0), 0);
}

/// Active-active across a partition: each side keeps committing locally;
/// sync between the sides stops, so reads on one side miss the other's
/// writes (stale) and writes to the same keys on both sides conflict.
#[test]
fn active_active_keeps_writing_on_both_sides_of_a_partition() {
    let aa = include_str!("../../scenarios/data/active-active-crdt.toml");
    let run = |faults: &str| {
        let scenario = load_fleet_scenario(
            aa,
            Format::Toml,
            &[Override::new("faults", format!("[{faults}]"))],
            &|_| Err("no files".into()),
        )
        .expect("valid scenario");
        run_fleet(&scenario, 1, "test", &mut |_| {})
    };
    let base = run("");
    let cut = run(
        r#"{ kind = "partition", region = "us-east", peer = "eu-west", at = "2min", duration = "1min" }"#,
    );
    let (b, c) = (
        &base.data.as_ref().unwrap().databases[0],
        &cut.data.as_ref().unwrap().databases[0],
    );
    assert!(cut.conservation.holds);
    assert_eq!(c.failed_queries, 0);
    assert_eq!(c.writes, b.writes, "both sides keep committing");
    assert!(
        c.stale_reads > b.stale_reads * 11 / 10,
        "{} vs {}",
        c.stale_reads,
        b.stale_reads
    );
    assert!(
        c.conflicts > b.conflicts * 11 / 10,
        "{} vs {}",
        c.conflicts,
        b.conflicts
    );
    assert_eq!(cut.global.outcomes.timeout, 0);
}

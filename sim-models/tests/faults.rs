//! Injected faults (`[[faults]]`) act through the model: a crashed zone or
//! instance keeps receiving traffic until health checks eject it, then the
//! rest of the fleet serves; a failed group leaves nothing to serve until
//! it comes back; a slow instance is never ejected and drags the tail; bad
//! fault entries are refused with the field named.

use sim_models::{FleetReport, Format, Override, load_fleet_scenario, run_fleet};

const SCENARIO: &str = include_str!("../../scenarios/single-region.toml");

fn run_with(fault: Option<&str>) -> FleetReport {
    run_with_balancer(fault, "least_outstanding")
}

fn run_with_balancer(fault: Option<&str>, algorithm: &str) -> FleetReport {
    let mut overrides: Vec<Override> = fault
        .map(|f| Override::new("faults", format!("[{f}]")))
        .into_iter()
        .collect();
    overrides.push(Override::new("regions[0].balancer.algorithm", algorithm));
    let scenario = load_fleet_scenario(SCENARIO, Format::Toml, &overrides, &|_| {
        Err("no files".into())
    })
    .expect("valid scenario");
    run_fleet(&scenario, 1, "test", &mut |_| {})
}

/// Errors per series bucket starting in `[from, to)` seconds.
fn errors(r: &FleetReport, from: f64, to: f64) -> u32 {
    (r.series.global.iter())
        .filter(|p| p.t_s >= from && p.t_s < to)
        .map(|p| p.errors)
        .sum()
}

#[test]
fn a_crashed_zone_costs_requests_until_health_checks_eject_it() {
    let base = run_with(None);
    let zone = run_with(Some(
        r#"{ kind = "zone", region = "us-east", zone = "us-east-1a", at = "4min", duration = "3min" }"#,
    ));
    assert_eq!(zone.faults.len(), 1);
    assert_eq!(zone.faults[0].target, "zone us-east/us-east-1a");
    assert_eq!(
        (zone.faults[0].start_s, zone.faults[0].end_s),
        (240.0, 420.0)
    );
    assert!(zone.conservation.holds);
    // Health checks every 30 s, 2 failures to eject: requests sent to the
    // dead zone vanish for up to a minute (plus the 2 s client timeout)...
    assert!(
        errors(&zone, 240.0, 300.0) > 1_000,
        "{}",
        errors(&zone, 240.0, 300.0)
    );
    assert_eq!(errors(&base, 240.0, 300.0), 0);
    // ...then the six instances left serve everything, zone still down.
    assert!(errors(&zone, 300.0, 420.0) <= errors(&base, 300.0, 420.0) + 5);
    assert!(zone.global.availability < base.global.availability);
}

#[test]
fn a_failed_group_leaves_nothing_to_serve_until_it_returns() {
    let r = run_with(Some(
        r#"{ kind = "group", region = "us-east", group = "web", at = "4min", duration = "2min" }"#,
    ));
    for p in r
        .series
        .global
        .iter()
        .filter(|p| p.t_s >= 250.0 && p.t_s < 350.0)
    {
        assert_eq!(p.ok_per_s, 0.0, "bucket at {} s served requests", p.t_s);
    }
    // The balancer fails open when every target is unhealthy, so service
    // resumes as soon as the instances answer again.
    assert_eq!(errors(&r, 370.0, 600.0), 0);
}

#[test]
fn one_crashed_instance_is_found_by_health_checks_too() {
    let r = run_with(Some(
        r#"{ kind = "instance", region = "us-east", group = "web", instance = 2, at = "4min", duration = "3min" }"#,
    ));
    assert_eq!(r.faults[0].target, "instance us-east/web#2");
    assert!(errors(&r, 240.0, 300.0) > 0);
    assert!(errors(&r, 300.0, 420.0) <= 5);
}

/// The largest bucket p99 among buckets starting in `[from, to)`.
fn worst_p99(r: &FleetReport, from: f64, to: f64) -> f32 {
    (r.series.global.iter())
        .filter(|p| p.t_s >= from && p.t_s < to)
        .filter_map(|p| p.p99_s)
        .fold(0.0, f32::max)
}

#[test]
fn a_slow_instance_passes_health_checks_and_drags_the_tail() {
    const SLOW: &str = r#"{ kind = "slow_instance", region = "us-east", group = "web", instance = 0, slowdown = 20.0, at = "4min", duration = "3min" }"#;
    for (algorithm, at_least) in [("least_outstanding", 1.2), ("round_robin", 3.0)] {
        let base = run_with_balancer(None, algorithm);
        let r = run_with_balancer(Some(SLOW), algorithm);
        assert_eq!(r.faults[0].target, "slow instance us-east/web#0");
        assert_eq!(
            r.regions[0].ejections, base.regions[0].ejections,
            "nothing ejects it"
        );
        // What it serves takes twenty times longer, so the fleet's tail
        // grows while it is slow — much more when the balancer keeps giving
        // it its share (round robin) than when it sends work where less is
        // outstanding — and returns to normal afterwards.
        let (during, normal) = (worst_p99(&r, 250.0, 420.0), worst_p99(&base, 250.0, 420.0));
        assert!(
            during > at_least * normal,
            "{algorithm}: p99 {during} vs {normal}"
        );
        assert!(worst_p99(&r, 460.0, 600.0) < 1.2 * worst_p99(&base, 460.0, 600.0));
    }
}

#[test]
fn bad_faults_name_the_field() {
    for (fault, needle) in [
        (
            r#"{ kind = "zone", region = "us-east", zone = "mars-1a", at = "1min", duration = "1min" }"#,
            "faults[0].zone: region `us-east` has no zone `mars-1a`",
        ),
        (
            r#"{ kind = "zone", region = "us-east", at = "1min", duration = "1min" }"#,
            "faults[0].zone: a `zone` fault needs `zone`",
        ),
        (
            r#"{ kind = "region", region = "us-east", group = "web", at = "1min", duration = "1min" }"#,
            "faults[0].group: `group` does not apply to a `region` fault",
        ),
        (
            r#"{ kind = "instance", region = "us-east", group = "web", instance = 9, at = "1min", duration = "1min" }"#,
            "group `web` starts with 9 instances (0 to 8), not 10",
        ),
        (
            r#"{ kind = "group", region = "eu", group = "web", at = "1min", duration = "1min" }"#,
            "faults[0].region: no region is named `eu`",
        ),
        (
            r#"{ kind = "balancer", region = "us-east", at = "1h", duration = "1min" }"#,
            "faults[0].at: the fault starts at 1h",
        ),
        (
            r#"{ kind = "balancer", region = "us-east", at = "1min", duration = "0s" }"#,
            "faults[0].duration",
        ),
        (
            r#"{ kind = "meteor", region = "us-east", at = "1min", duration = "1min" }"#,
            "unknown variant `meteor`",
        ),
        (
            r#"{ kind = "zone", region = "us-east", zone = "us-east-1a", slowdown = 2.0, at = "1min", duration = "1min" }"#,
            "faults[0].slowdown: `slowdown` does not apply to a `zone` fault",
        ),
        (
            r#"{ kind = "slow_instance", region = "us-east", group = "web", instance = 1, at = "1min", duration = "1min" }"#,
            "faults[0].slowdown: a `slow_instance` fault needs `slowdown`",
        ),
        (
            r#"{ kind = "slow_instance", region = "us-east", group = "web", instance = 1, slowdown = 0.5, at = "1min", duration = "1min" }"#,
            "faults[0].slowdown: must be above 1 and at most 1000",
        ),
    ] {
        let err = load_fleet_scenario(
            SCENARIO,
            Format::Toml,
            &[Override::new("faults", format!("[{fault}]"))],
            &|_| Err("no files".into()),
        )
        .expect_err(fault)
        .to_string();
        assert!(err.contains(needle), "{fault}\n{err}");
    }
}

/// The GeoDNS provider down for three minutes: each client keeps its
/// cached answer until it expires (the TTL, 60 s by default, spread over
/// clients), so failures ramp up over the first minute — about half the
/// requests fail in its second half — every request fails once all answers
/// have expired, and none fail once the provider is back. Nothing is sent
/// for a request that could not resolve, so the instances see less load.
#[test]
fn a_dns_outage_cuts_clients_off_as_their_answers_expire() {
    let r = run_with(Some(r#"{ kind = "dns", at = "4min", duration = "3min" }"#));
    assert_eq!(r.faults[0].target, "geodns");
    assert!(r.conservation.holds);
    let dns = r.global.outcomes.dns_failure;
    assert!(dns > 0);
    let share = |from: f64, to: f64| {
        let (mut failed, mut all) = (0.0, 0.0);
        for p in r
            .series
            .global
            .iter()
            .filter(|p| p.t_s >= from && p.t_s < to)
        {
            failed += f64::from(p.errors);
            all += f64::from(p.rate_per_s) * r.series.interval_s;
        }
        failed / all
    };
    assert!(
        share(180.0, 240.0) < 0.001,
        "before: {}",
        share(180.0, 240.0)
    );
    let ramp = share(240.0, 300.0);
    assert!((0.35..0.65).contains(&ramp), "first minute: {ramp}");
    assert!(
        share(300.0, 420.0) > 0.999,
        "after a TTL: {}",
        share(300.0, 420.0)
    );
    assert!(
        share(425.0, 540.0) < 0.001,
        "after: {}",
        share(425.0, 540.0)
    );
    // Refused with a field that does not apply.
    let err = load_fleet_scenario(
        SCENARIO,
        Format::Toml,
        &[Override::new(
            "faults",
            r#"[{ kind = "dns", region = "us-east", at = "1min", duration = "1min" }]"#,
        )],
        &|_| Err("no files".into()),
    )
    .expect_err("region does not apply")
    .to_string();
    assert!(
        err.contains("faults[0].region") && err.contains("dns"),
        "{err}"
    );
}

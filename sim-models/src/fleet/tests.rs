//! End-to-end checks of the fleet model built from code (the scenario-file
//! path has its own tests next to the parser).

use sim_core::{SimDuration, SimTime};

use super::config::*;
use super::metrics::Outcome;
use super::*;

fn run(config: &FleetConfig, seed: u64) -> FleetReport {
    let (model, end, events) = simulate_fleet(config, seed, &mut |_| {});
    build_fleet_report(
        &model,
        end,
        events,
        seed,
        &FleetReportContext {
            scenario_hash: "test".into(),
            reproduce: "test".into(),
        },
    )
}

fn pool(algorithm: Algorithm, n: u32, rho: f64, secs: u64) -> FleetConfig {
    FleetConfig::textbook_pool(
        algorithm,
        n,
        1,
        rho * f64::from(n),
        1.0,
        SimDuration::from_secs(secs),
        SimDuration::from_secs(secs / 10),
    )
}

#[test]
fn random_routing_is_mm1_per_instance() {
    // Random splitting of a Poisson stream gives each instance an M/M/1
    // queue: mean time in system 1/(1 - rho) = 2 at rho = 0.5.
    let r = run(&pool(Algorithm::Random, 10, 0.5, 40_000), 1);
    let mean = r.global.latency.mean_s;
    assert!((mean - 2.0).abs() < 0.1, "mean {mean}");
    assert!(r.conservation.holds);
    assert_eq!(r.global.outcomes.ok, r.global.requests);
}

#[test]
fn least_outstanding_beats_two_choices_beats_random() {
    let mean = |a| run(&pool(a, 20, 0.9, 20_000), 3).global.latency.mean_s;
    let random = mean(Algorithm::Random);
    let p2c = mean(Algorithm::PowerOfChoices { choices: 2 });
    let jsq = mean(Algorithm::LeastOutstanding);
    assert!(
        jsq < p2c && p2c < random,
        "jsq {jsq} p2c {p2c} random {random}"
    );
}

#[test]
fn same_seed_same_bytes_and_conservation() {
    let mut c = pool(Algorithm::PowerOfChoices { choices: 2 }, 8, 0.95, 2_000);
    c.instance_types[0].queue_capacity = Some(2);
    c.populations[0].client.timeout = SimDuration::from_secs(3);
    c.populations[0].client.retry = Some(RetryConfig {
        max_attempts: 3,
        base: SimDuration::from_millis(100),
        cap: SimDuration::from_secs(2),
        jitter: Jitter::Full,
        budget: Some(RetryBudgetConfig {
            ratio: 0.2,
            min_per_second: 1.0,
            window: SimDuration::from_secs(10),
        }),
        on: RetryOn {
            timeout: true,
            rejected: true,
            no_healthy_backend: false,
        },
    });
    c.populations[0].client.hedge = Some(HedgeConfig {
        delay: SimDuration::from_secs(2),
        max_extra: 1,
    });
    c.populations[0].client.circuit_breaker = Some(BreakerConfig {
        failure_threshold: 5,
        success_threshold: 3,
        open_timeout: SimDuration::from_secs(10),
    });
    c.populations[0].client.bulkhead = Some(30);
    let a = serde_json::to_string(&run(&c, 9)).unwrap();
    let b = serde_json::to_string(&run(&c, 9)).unwrap();
    assert_eq!(a, b);
    let r = run(&c, 9);
    assert!(r.conservation.holds, "{:?}", r.conservation);
    let o = r.global.outcomes;
    assert!(o.rejected > 0 && o.timeout > 0, "{o:?}");
    assert!(r.populations[0].retries > 0 && r.populations[0].hedges > 0);
}

#[test]
fn region_outage_fails_over_after_detection_and_ttl() {
    let mut c = pool(Algorithm::LeastOutstanding, 10, 0.3, 1_200);
    c.run.warmup = SimDuration::ZERO;
    let mut second = c.regions[0].clone();
    second.name = "backup".into();
    c.regions.push(second);
    c.inter_region_latency = vec![
        vec![SimDuration::ZERO, SimDuration::from_millis(40)],
        vec![SimDuration::from_millis(40), SimDuration::ZERO],
    ];
    c.populations[0].fallback = vec![1];
    c.populations[0].client.timeout = SimDuration::from_secs(2);
    c.populations[0].classes[0].demand = sim_core::Distribution::exponential(0.1).unwrap();
    c.dns.ttl = SimDuration::from_secs(60);
    c.dns.health_check.interval = SimDuration::from_secs(10);
    c.dns.health_check.unhealthy_threshold = 3;
    c.regions[0].outages = vec![Window {
        start: SimTime::from_secs(300),
        end: SimTime::from_secs(900),
    }];
    let r = run(&c, 5);
    assert!(r.conservation.holds);
    // Detection takes about 3 checks (20-30 s) and the TTL spreads the
    // switch over another 60 s: timeouts for at most ~100 s of traffic.
    let lost = r.global.outcomes.timeout as f64 / 3.0;
    assert!(lost > 20.0 && lost < 100.0, "{lost} s of traffic lost");
    assert!(r.regions[1].scope.outcomes.ok > 0);
    assert!(r.regions[0].dns_unhealthy_s > 500.0);
    // Traffic goes back once the region is healthy again.
    let last = r.series.regions[0].points.last().unwrap();
    assert!(last.ok_per_s > 0.0);
}

#[test]
fn closed_loop_load_falls_as_latency_rises() {
    let mut c = pool(Algorithm::LeastOutstanding, 10, 0.5, 2_000);
    c.populations[0].load = LoadConfig::Closed {
        users: 20,
        think: sim_core::Distribution::exponential(5.0).unwrap(),
    };
    let fast = run(&c, 2).global.throughput_per_s;
    c.populations[0].classes[0].demand = sim_core::Distribution::exponential(2.0).unwrap();
    let slow = run(&c, 2).global.throughput_per_s;
    // 20 users thinking 5 s: about 20 / (5 + W) per second.
    assert!(fast > 2.9 && slow < fast - 0.2, "fast {fast} slow {slow}");
}

#[test]
fn outcome_names_are_stable() {
    let names: Vec<_> = Outcome::ALL.iter().map(|o| o.name()).collect();
    assert_eq!(
        names,
        [
            "ok",
            "timeout",
            "rejected",
            "no_healthy_backend",
            "circuit_open",
            "retry_budget_exhausted",
            "bulkhead_full",
            "dns_failure",
            "database_error",
            "degraded"
        ]
    );
}

#[test]
#[ignore = "a timing probe, run by hand: cargo test --release -p sim-models fleet::tests::speed_probe -- --ignored --nocapture"]
fn speed_probe() {
    let mut c = FleetConfig::textbook_pool(
        Algorithm::PowerOfChoices { choices: 2 },
        100,
        8,
        30_000.0,
        0.02,
        SimDuration::from_secs(60),
        SimDuration::ZERO,
    );
    c.populations[0].access_latency = SimDuration::from_millis(20);
    c.populations[0].client.timeout = SimDuration::from_secs(2);
    let t = std::time::Instant::now();
    let r = run(&c, 1);
    let wall = t.elapsed().as_secs_f64();
    println!(
        "{} requests, {} events in {wall:.2} s: {:.0} ns/request, p99 {:?}",
        r.conservation.created,
        r.events,
        wall * 1e9 / r.conservation.created as f64,
        r.global.latency.p99_s
    );
}

#[test]
fn booting_instances_take_traffic_only_once_healthy() {
    let mut c = pool(Algorithm::RoundRobin, 4, 0.5, 120);
    c.run.warmup = SimDuration::ZERO;
    c.populations[0].classes[0].demand = sim_core::Distribution::exponential(0.1).unwrap();
    c.populations[0].load = LoadConfig::Open(sim_core::RateProfile::constant(10.0).unwrap());
    c.regions[0].balancer.fail_open = false;
    c.regions[0].balancer.health_check.interval = SimDuration::from_secs(5);
    c.regions[0].groups[0].start_booting = true;
    c.regions[0].groups[0].boot = sim_core::Distribution::constant(30.0).unwrap();
    c.regions[0].balancer.slow_start = Some(SlowStartConfig {
        window: SimDuration::from_secs(30),
        aggression: 1.0,
        min_weight: 0.1,
    });
    let r = run(&c, 4);
    let o = r.global.outcomes;
    // Booted at 30 s, healthy at the first check after (a new target needs
    // one pass): about 30-35 s of "no healthy backend", then success.
    let refused_s = o.no_healthy_backend as f64 / 10.0;
    assert!(refused_s > 25.0 && refused_s < 40.0, "{o:?}");
    assert!(o.ok > 700, "{o:?}");
    assert!(r.conservation.holds);
}

#[test]
fn outlier_detection_ejects_instances_that_reject() {
    // Tiny queues at high load: instances reject, get ejected, come back.
    let mut c = pool(Algorithm::Random, 10, 0.97, 600);
    c.instance_types[0].queue_capacity = Some(1);
    c.regions[0].balancer.outlier = Some(OutlierConfig {
        consecutive_errors: 3,
        interval: SimDuration::from_secs(10),
        base_ejection: SimDuration::from_secs(5),
        max_ejection: SimDuration::from_secs(60),
        max_ejection_percent: 20.0,
    });
    let r = run(&c, 6);
    assert!(r.regions[0].ejections > 0);
    assert!(r.conservation.holds);
}

#[test]
fn zone_aware_routing_keeps_traffic_local_until_overloaded() {
    // Zone a has one instance, b three, c two; clients are spread evenly
    // over the zones, so zone a's instance gets a third of the traffic.
    let mut c = pool(Algorithm::PowerOfChoices { choices: 2 }, 6, 0.3, 4_000);
    c.regions[0].zones = vec!["a".into(), "b".into(), "c".into()];
    c.regions[0].groups[0].zones = vec![0, 1, 1, 1, 2, 2];
    let mean = |c: &FleetConfig| run(c, 8).global.latency.mean_s;
    let global = mean(&c);
    c.regions[0].balancer.zone_aware = Some(ZoneAwareConfig {
        spill_utilization: 5.0, // never spills
    });
    let strict = mean(&c);
    c.regions[0].balancer.zone_aware = Some(ZoneAwareConfig {
        spill_utilization: 0.8,
    });
    let spilling = mean(&c);
    // Strictly local: zone a is an M/M/1 at rho = 0.6 (W = 2.5), the others
    // lightly loaded: about 1.5 overall, against about 1.05 region-wide.
    assert!(
        strict > 1.35 && strict > global + 0.3,
        "strict {strict} global {global}"
    );
    // Spilling when the local zone is busy gets most of the difference back.
    assert!(
        spilling < strict - 0.2,
        "spilling {spilling} strict {strict}"
    );
}

/// A policy that sets the desired capacity at given seconds: drives the
/// instance life cycle without any real policy's arithmetic.
#[derive(Debug)]
struct Script(Vec<(u64, u32)>);

impl super::autoscale::Policy for Script {
    fn kind(&self) -> &'static str {
        "script"
    }

    fn tick(
        &mut self,
        view: &super::autoscale::GroupView<'_>,
    ) -> Option<super::autoscale::Decision> {
        let now = view.now.as_nanos() / 1_000_000_000;
        let &(_, want) = self.0.iter().find(|&&(t, _)| t == now)?;
        Some(super::autoscale::Decision {
            desired: Some(want),
            observed: vec![("queued".into(), view.history.last()?.queued as f64)],
            reason: format!("script says {want}"),
            ..Default::default()
        })
    }
}

fn autoscaled(mut c: FleetConfig, min: u32, max: u32) -> FleetConfig {
    c.regions[0].groups[0].autoscaling = Some(super::autoscale::AutoscalingConfig {
        min,
        max,
        policy: None,
        scheduled: None,
        predictive: None,
        instance_warmup: SimDuration::ZERO,
        victim: super::autoscale::Victim::Newest,
        drain_timeout: SimDuration::from_secs(300),
    });
    c
}

fn run_scripted(config: &FleetConfig, script: Vec<(u64, u32)>) -> FleetReport {
    run_scripts(config, vec![script])
}

fn run_scripts(config: &FleetConfig, scripts: Vec<Vec<(u64, u32)>>) -> FleetReport {
    let mut sim = sim_core::Simulation::new(FleetModel::new(config, 1));
    {
        let (model, sched) = sim.parts_mut();
        let policies = scripts
            .into_iter()
            .map(|s| Box::new(Script(s)) as Box<dyn super::autoscale::Policy>)
            .collect();
        model.replace_policies(0, 0, policies);
        model.start(sched);
    }
    let end = SimTime::ZERO + config.run.duration;
    sim.run(end, |_| false, &mut sim_core::NoObserver);
    let events = sim.events_processed();
    let mut model = sim.into_model();
    model.finish_run(end);
    build_fleet_report(
        &model,
        end,
        events,
        1,
        &FleetReportContext {
            scenario_hash: "test".into(),
            reproduce: "test".into(),
        },
    )
}

#[test]
fn scale_out_boots_then_scale_in_drains_and_bills_per_second() {
    // 2 instances; at 10 s ask for 6 (4 launches, 60 s boot); at 400 s ask
    // for 2 again (4 drained: light load, so they leave at once).
    let c = autoscaled(pool(Algorithm::RoundRobin, 2, 0.3, 1_000), 1, 10);
    let r = run_scripted(&c, vec![(10, 6), (400, 2)]);
    let g = &r.regions[0].groups[0];
    let a = g.autoscaling.as_ref().expect("autoscaled");
    assert_eq!(a.policies, vec!["script".to_string()]);
    assert_eq!((a.launches, a.terminations, a.scale_actions), (4, 4, 2));
    assert_eq!(a.final_desired, 2);
    assert_eq!(g.peak_instances, 6);
    assert_eq!(r.autoscaling.scale_actions, 2);
    let log = &r.autoscaling.decisions;
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].action.as_str(), log[0].from, log[0].to),
        ("scale_out", 2, 6)
    );
    assert_eq!(
        (log[1].action.as_str(), log[1].from, log[1].to),
        ("scale_in", 6, 2)
    );
    assert_eq!(log[0].time_s, 10.0);
    assert!(log[0].observed.contains_key("queued"));
    // Billing: 2 × 1000 s, plus 4 × (400 − 10) s; terminated at 400 s
    // because idle instances leave as soon as they are drained.
    let expected_h = (2.0 * 1000.0 + 4.0 * 390.0) / 3600.0;
    assert!(
        (g.instance_hours - expected_h).abs() < 0.01,
        "{} vs {expected_h}",
        g.instance_hours
    );
    assert!((r.cost.instance_hours - expected_h).abs() < 0.01);
    // The new instances booted and served: the series shows 6 alive.
    assert!(r.series.global.iter().any(|p| p.instances == 6));
    assert!(r.conservation.holds);
}

#[test]
fn cancelled_launches_are_billed_the_minimum() {
    // Ask for 5 at 10 s, back to 1 at 20 s: the 4 launches are still
    // booting (60 s), so they are cancelled, each billed 60 s.
    let c = autoscaled(pool(Algorithm::RoundRobin, 1, 0.3, 200), 1, 10);
    let r = run_scripted(&c, vec![(10, 5), (20, 1)]);
    let g = &r.regions[0].groups[0];
    let expected_h = (200.0 + 4.0 * 60.0) / 3600.0;
    assert!(
        (g.instance_hours - expected_h).abs() < 1e-6,
        "{}",
        g.instance_hours
    );
    let a = g.autoscaling.as_ref().unwrap();
    assert_eq!((a.launches, a.terminations), (4, 4));
}

#[test]
fn the_region_quota_refuses_launches_and_says_so() {
    let mut c = autoscaled(pool(Algorithm::RoundRobin, 2, 0.3, 100), 1, 10);
    c.regions[0].instance_quota = Some(3);
    let r = run_scripted(&c, vec![(10, 6)]);
    let a = r.regions[0].groups[0].autoscaling.as_ref().unwrap();
    assert_eq!(a.launches, 1);
    assert!(a.quota_refusals >= 3);
    let refused = r
        .autoscaling
        .decisions
        .iter()
        .find(|d| d.action == "refused")
        .expect("a refusal is logged");
    assert_eq!(refused.policy, "quota");
    assert!(refused.reason.contains("quota (3)"), "{}", refused.reason);
}

#[test]
fn a_drain_past_its_deadline_cuts_what_is_left() {
    // Long requests (mean 50 s) on 4 instances; scale to 1 at 100 s with a
    // 5 s drain timeout: the drained instances still hold requests at the
    // deadline, which are cut; conservation still holds.
    let mut c = autoscaled(
        FleetConfig::textbook_pool(
            Algorithm::RoundRobin,
            4,
            2,
            0.12,
            50.0,
            SimDuration::from_secs(400),
            SimDuration::ZERO,
        ),
        1,
        4,
    );
    c.regions[0].groups[0]
        .autoscaling
        .as_mut()
        .unwrap()
        .drain_timeout = SimDuration::from_secs(5);
    c.populations[0].client.timeout = SimDuration::from_secs(120);
    let r = run_scripted(&c, vec![(100, 1)]);
    let a = r.regions[0].groups[0].autoscaling.as_ref().unwrap();
    assert_eq!(a.terminations, 3);
    assert!(a.drain_cut_requests > 0, "{a:?}");
    assert!(r.conservation.holds);
    assert!(r.global.outcomes.timeout > 0);
}

#[test]
fn autoscaled_runs_are_deterministic() {
    let c = autoscaled(pool(Algorithm::LeastOutstanding, 3, 0.7, 600), 1, 10);
    let script = vec![(30, 8), (200, 2), (300, 5), (450, 1)];
    let a = serde_json::to_string(&run_scripted(&c, script.clone())).unwrap();
    let b = serde_json::to_string(&run_scripted(&c, script)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_change_undone_in_the_same_second_is_one_held_entry() {
    // The first policy wants 2 at 10 s, the second keeps 6 (as predictive
    // scaling holds its forecast against a dynamic scale-in): nothing is
    // drained, no scale action counts, one held entry explains it.
    let c = autoscaled(pool(Algorithm::RoundRobin, 6, 0.3, 100), 1, 10);
    let r = run_scripts(&c, vec![vec![(10, 2)], vec![(10, 6)]]);
    let a = r.regions[0].groups[0].autoscaling.as_ref().unwrap();
    assert_eq!((a.scale_actions, a.launches, a.terminations), (0, 0, 0));
    let log = &r.autoscaling.decisions;
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(
        (log[0].action.as_str(), log[0].from, log[0].to),
        ("held", 6, 6)
    );
    assert!(
        log[0].reason.contains("script 6→2") && log[0].reason.contains("script 2→6"),
        "{}",
        log[0].reason
    );
}

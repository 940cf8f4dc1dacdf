//! Closed-form results of queueing theory that the simulator is checked
//! against: M/M/1, Erlang B and C (M/M/c, M/M/c/c), the M/M/c/K birth–death
//! chain, Pollaczek–Khinchine (M/G/1), tandem Jackson networks and the
//! supermarket model of randomized load balancing.
//!
//! The formulas are those of `policy-semantics.md` §6. Rates are per second
//! and times in seconds. Every function asserts its own stability condition
//! (ρ < 1 where the model needs it): asking for a steady state that does not
//! exist is a bug in the caller, not an input error.

/// Steady-state means of a queue with an unbounded waiting room.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueueMetrics {
    /// Per-worker utilisation ρ = λ E\[S\] / c.
    pub rho: f64,
    /// Probability that an arriving customer has to wait (Erlang C for M/M/c).
    pub p_wait: f64,
    /// Mean waiting time in queue, Wq.
    pub wq: f64,
    /// Mean time in system (wait + service), W.
    pub w: f64,
    /// Mean number waiting, Lq = λ Wq.
    pub lq: f64,
    /// Mean number in system, L = λ W.
    pub l: f64,
}

/// M/M/1 with arrival rate `lambda` and service rate `mu` (requires
/// λ < μ): `W = 1/(μ−λ)`, `Wq = ρ/(μ−λ)`, `Lq = ρ²/(1−ρ)`, `L = ρ/(1−ρ)`.
pub fn mm1(lambda: f64, mu: f64) -> QueueMetrics {
    assert!(
        lambda > 0.0 && mu > 0.0 && lambda < mu,
        "M/M/1 needs 0 < λ < μ (λ={lambda}, μ={mu})"
    );
    let rho = lambda / mu;
    QueueMetrics {
        rho,
        p_wait: rho,
        wq: rho / (mu - lambda),
        w: 1.0 / (mu - lambda),
        lq: rho * rho / (1.0 - rho),
        l: rho / (1.0 - rho),
    }
}

/// Erlang B: the blocking probability of M/M/c/c with offered load `a`
/// Erlangs, by the stable recursion `B(0) = 1`, `B(k) = a B(k−1) / (k + a B(k−1))`.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    assert!(
        a >= 0.0 && a.is_finite(),
        "offered load must be finite and non-negative, got {a}"
    );
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    b
}

/// Erlang B by the direct sum `(aᶜ/c!) / Σ_{k≤c} aᵏ/k!` (the terms built
/// iteratively, rescaled before they overflow). Slower and less robust than
/// [`erlang_b`]; kept as an independent cross-check.
pub fn erlang_b_direct(c: u32, a: f64) -> f64 {
    assert!(
        a >= 0.0 && a.is_finite(),
        "offered load must be finite and non-negative, got {a}"
    );
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..=c {
        term *= a / f64::from(k);
        sum += term;
        if sum > 1e250 {
            term /= sum;
            sum = 1.0;
        }
    }
    term / sum
}

/// Erlang C, the probability of waiting in M/M/c with offered load `a = λ/μ`
/// Erlangs (requires `a < c`), from Erlang B: `C = c B / (c − a (1 − B))`.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    assert!(
        c >= 1 && a > 0.0 && a < f64::from(c),
        "Erlang C needs 0 < a < c (a={a}, c={c})"
    );
    let b = erlang_b(c, a);
    let c = f64::from(c);
    c * b / (c - a * (1.0 - b))
}

/// Erlang C by the textbook sum (the formula of the peer script
/// `erlang_c.py`): `[aᶜ/c! · 1/(1−ρ)] / [Σ_{k<c} aᵏ/k! + aᶜ/c! · 1/(1−ρ)]`.
/// An independent cross-check of [`erlang_c`].
pub fn erlang_c_direct(c: u32, a: f64) -> f64 {
    assert!(
        c >= 1 && a > 0.0 && a < f64::from(c),
        "Erlang C needs 0 < a < c (a={a}, c={c})"
    );
    let rho = a / f64::from(c);
    let mut term = 1.0;
    let mut below = 0.0;
    for k in 0..c {
        below += term;
        term *= a / f64::from(k + 1);
        if below > 1e250 {
            term /= below;
            below = 1.0;
        }
    }
    let top = term / (1.0 - rho);
    top / (below + top)
}

/// M/M/c with arrival rate `lambda`, per-worker service rate `mu` and `c`
/// workers (requires λ < cμ): `P(wait) = C(c, a)`, `Wq = C/(cμ − λ)`,
/// `W = Wq + 1/μ`, `Lq = λ Wq`, `L = λ W`.
pub fn mmc(lambda: f64, mu: f64, c: u32) -> QueueMetrics {
    assert!(
        lambda > 0.0 && mu > 0.0,
        "M/M/c needs positive rates (λ={lambda}, μ={mu})"
    );
    let a = lambda / mu;
    let p_wait = erlang_c(c, a);
    let wq = p_wait / (f64::from(c) * mu - lambda);
    let w = wq + 1.0 / mu;
    QueueMetrics {
        rho: a / f64::from(c),
        p_wait,
        wq,
        w,
        lq: lambda * wq,
        l: lambda * w,
    }
}

/// Steady-state results of M/M/c/K (c workers, at most K customers in the
/// station, K ≥ c), which exist for every load.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossQueueMetrics {
    /// Offered per-worker load λ/(cμ) (may exceed 1).
    pub offered_rho: f64,
    /// Probability that an arrival finds K customers and is turned away
    /// (p_K, by PASTA).
    pub blocking: f64,
    /// Accepted (and completed) customers per second, λ(1 − p_K).
    pub throughput: f64,
    /// Mean number in the station, L = Σ n pₙ.
    pub l: f64,
    /// Mean number waiting, Lq = Σ (n − c)⁺ pₙ.
    pub lq: f64,
    /// Mean time in the station of accepted customers, L / throughput.
    pub w: f64,
    /// Mean wait of accepted customers, Lq / throughput.
    pub wq: f64,
}

/// M/M/c/K by its birth–death chain: `pₙ ∝ aⁿ/n!` for `n ≤ c` and
/// `aᶜ/c! · ρ^(n−c)` for `c < n ≤ K`, with `a = λ/μ`, `ρ = a/c`. `K = c`
/// is the Erlang loss system M/M/c/c.
pub fn mmck(lambda: f64, mu: f64, c: u32, k: u32) -> LossQueueMetrics {
    assert!(
        lambda > 0.0 && mu > 0.0,
        "M/M/c/K needs positive rates (λ={lambda}, μ={mu})"
    );
    assert!(c >= 1 && k >= c, "M/M/c/K needs 1 ≤ c ≤ K (c={c}, K={k})");
    let a = lambda / mu;
    // Unnormalised probabilities, rescaled whenever they grow large.
    let mut p = Vec::with_capacity(k as usize + 1);
    let mut term = 1.0_f64;
    p.push(term);
    for n in 1..=k {
        term *= a / f64::from(n.min(c));
        p.push(term);
        if term > 1e250 {
            for q in &mut p {
                *q /= term;
            }
            term = 1.0;
        }
    }
    let total: f64 = p.iter().sum();
    let (mut l, mut lq) = (0.0, 0.0);
    for (n, q) in p.iter().enumerate() {
        let prob = q / total;
        l += n as f64 * prob;
        lq += n.saturating_sub(c as usize) as f64 * prob;
    }
    let blocking = p[k as usize] / total;
    let throughput = lambda * (1.0 - blocking);
    LossQueueMetrics {
        offered_rho: a / f64::from(c),
        blocking,
        throughput,
        l,
        lq,
        w: l / throughput,
        wq: lq / throughput,
    }
}

/// M/G/1 by Pollaczek–Khinchine, from the arrival rate and the first two
/// moments of the service time (requires ρ = λ E\[S\] < 1):
/// `Wq = λ E[S²] / (2(1−ρ))`, `W = Wq + E[S]`, `P(wait) = ρ`.
pub fn pollaczek_khinchine(lambda: f64, mean_service: f64, second_moment: f64) -> QueueMetrics {
    let rho = lambda * mean_service;
    assert!(
        lambda > 0.0 && mean_service > 0.0 && rho < 1.0,
        "M/G/1 needs 0 < ρ < 1 (ρ={rho})"
    );
    assert!(
        second_moment.is_finite(),
        "P-K needs a finite second moment of the service time"
    );
    let wq = lambda * second_moment / (2.0 * (1.0 - rho));
    let w = wq + mean_service;
    QueueMetrics {
        rho,
        p_wait: rho,
        wq,
        w,
        lq: lambda * wq,
        l: lambda * w,
    }
}

/// Mean end-to-end time through a tandem Jackson network fed by a Poisson
/// stream of rate `lambda`: stations `(c, μ)` in series behave as independent
/// M/M/c queues at rate λ, so `W = Σ Wᵢ`.
pub fn jackson_tandem_w(lambda: f64, stations: &[(u32, f64)]) -> f64 {
    stations.iter().map(|&(c, mu)| mmc(lambda, mu, c).w).sum()
}

/// Mean time in system of Mitzenmacher's supermarket model: N → ∞ FIFO
/// servers of rate 1, Poisson arrivals at rate λN, each job joins the
/// shortest of `d` queues drawn uniformly at random (requires 0 < λ < 1).
/// `T_1 = 1/(1−λ)` (random routing, M/M/1 at every server, exact for any N)
/// and `T_d = Σ_{i≥1} λ^((dⁱ − d)/(d − 1))` for d ≥ 2 (`1 + λ² + λ⁶ + λ¹⁴ +
/// …` for two choices), from the fixed point `s_i = λ^((dⁱ − 1)/(d − 1))`
/// of the fraction of queues with at least i jobs (`policy-semantics.md`
/// §6). The series is summed until its terms drop below 10⁻¹⁷ of the total.
pub fn supermarket_time(d: u32, lambda: f64) -> f64 {
    assert!(
        d >= 1 && lambda > 0.0 && lambda < 1.0,
        "the supermarket model needs d ≥ 1 and 0 < λ < 1 (d={d}, λ={lambda})"
    );
    if d == 1 {
        return 1.0 / (1.0 - lambda);
    }
    let d = f64::from(d);
    let mut total = 0.0;
    // Exponent (dⁱ − d)/(d − 1) = d + d² + … + d^(i−1), built incrementally.
    let mut exponent = 0.0;
    let mut power = 1.0;
    loop {
        let term = lambda.powf(exponent);
        total += term;
        if term < 1e-17 * total {
            return total;
        }
        power *= d;
        exponent += power;
    }
}

/// The relaxation time of M/M/c at utilisation ρ with service rate μ,
/// `1 / (cμ (1 − √ρ)²)` (exact for c = 1, the time constant of the slowest
/// decaying transient; for c > 1 the heavy-traffic value, conservative at
/// light load). Used to size warm-ups.
pub fn relaxation_time(c: u32, mu: f64, rho: f64) -> f64 {
    assert!(
        rho > 0.0 && rho < 1.0 && mu > 0.0,
        "relaxation time needs 0 < ρ < 1 (ρ={rho})"
    );
    let gap = 1.0 - rho.sqrt();
    1.0 / (f64::from(c) * mu * gap * gap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs())
    }

    #[test]
    fn erlang_c_two_formulas_agree() {
        for c in [1, 2, 4, 16, 50, 200] {
            for rho in [0.1, 0.5, 0.7, 0.9, 0.95, 0.99] {
                let a = rho * f64::from(c);
                let (x, y) = (erlang_c(c, a), erlang_c_direct(c, a));
                assert!(close(x, y, 1e-12), "c={c} ρ={rho}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn erlang_b_recursion_equals_direct_sum() {
        for c in [1, 2, 4, 10, 50, 300] {
            for a in [0.5, 4.0, 8.0, 30.0, 250.0] {
                let (x, y) = (erlang_b(c, a), erlang_b_direct(c, a));
                assert!(close(x, y, 1e-12), "c={c} a={a}: {x} vs {y}");
            }
        }
        // Textbook value: 10 lines, 8 Erlangs.
        assert!((erlang_b(10, 8.0) - 0.121_661).abs() < 1e-6);
    }

    #[test]
    fn mmc_with_one_worker_is_mm1() {
        for rho in [0.2, 0.5, 0.9, 0.95] {
            let (x, y) = (mmc(rho, 1.0, 1), mm1(rho, 1.0));
            for (p, q) in [
                (x.p_wait, y.p_wait),
                (x.wq, y.wq),
                (x.w, y.w),
                (x.lq, y.lq),
                (x.l, y.l),
            ] {
                assert!(close(p, q, 1e-12), "ρ={rho}: {x:?} vs {y:?}");
            }
        }
    }

    #[test]
    fn pk_with_exponential_service_is_mm1() {
        for (lambda, mean) in [(0.5, 1.0), (0.9, 1.0), (2.0, 0.25)] {
            let x = pollaczek_khinchine(lambda, mean, 2.0 * mean * mean);
            let y = mm1(lambda, 1.0 / mean);
            for (p, q) in [(x.wq, y.wq), (x.w, y.w), (x.lq, y.lq), (x.l, y.l)] {
                assert!(close(p, q, 1e-12), "λ={lambda}: {x:?} vs {y:?}");
            }
        }
        // M/D/1 waits half as long as M/M/1.
        let md1 = pollaczek_khinchine(0.8, 1.0, 1.0);
        assert!(close(md1.wq, mm1(0.8, 1.0).wq / 2.0, 1e-12));
    }

    #[test]
    fn mmck_with_huge_k_approaches_mmc() {
        for (c, rho) in [(1, 0.5), (2, 0.7), (4, 0.9), (16, 0.9)] {
            let lambda = rho * f64::from(c);
            let x = mmck(lambda, 1.0, c, 5_000);
            let y = mmc(lambda, 1.0, c);
            assert!(x.blocking < 1e-100);
            for (p, q) in [(x.l, y.l), (x.lq, y.lq), (x.w, y.w), (x.wq, y.wq)] {
                assert!(close(p, q, 1e-9), "c={c} ρ={rho}: {x:?} vs {y:?}");
            }
        }
    }

    #[test]
    fn mmcc_blocking_is_erlang_b_and_mm1k_matches_closed_form() {
        for (c, a) in [(1, 0.5), (4, 4.0), (10, 8.0), (100, 120.0)] {
            let x = mmck(a, 1.0, c, c);
            assert!(close(x.blocking, erlang_b(c, a), 1e-12), "c={c} a={a}");
            assert!(close(x.l, a * (1.0 - x.blocking), 1e-12), "carried load");
        }
        // M/M/1/K: p_K = (1−ρ)ρᴷ/(1−ρᴷ⁺¹), and it survives ρ > 1 and a large K.
        for (rho, k) in [(0.9_f64, 5_u32), (1.2, 5), (3.0, 1_000)] {
            let x = mmck(rho, 1.0, 1, k);
            let exact = if k < 100 {
                (1.0 - rho) * rho.powi(k as i32) / (1.0 - rho.powi(k as i32 + 1))
            } else {
                1.0 - 1.0 / rho
            };
            assert!(
                close(x.blocking, exact, 1e-12),
                "ρ={rho} K={k}: {} vs {exact}",
                x.blocking
            );
        }
    }

    #[test]
    fn matches_the_peer_erlang_c_script() {
        // python3 erlang_c.py 3.6 1 4  ->  P_wait=0.787753 Wq=1.969383 W=2.969383
        let m = mmc(3.6, 1.0, 4);
        assert_eq!(format!("{:.6}", m.p_wait), "0.787753");
        assert_eq!(format!("{:.6}", m.wq), "1.969383");
        assert_eq!(format!("{:.6}", m.w), "2.969383");
    }

    #[test]
    fn tandem_sums_station_sojourns() {
        let w = jackson_tandem_w(0.6, &[(1, 1.0), (2, 0.4), (1, 0.75)]);
        let parts = mm1(0.6, 1.0).w + mmc(0.6, 0.4, 2).w + mm1(0.6, 0.75).w;
        assert!(close(w, parts, 1e-12));
        assert!(close(mm1(0.6, 0.75).w, 1.0 / 0.15, 1e-12));
    }

    #[test]
    fn supermarket_model_values() {
        // d = 1 is M/M/1; d = 2 is 1 + λ² + λ⁶ + λ¹⁴ + …
        for lambda in [0.5, 0.9, 0.99] {
            assert!(close(
                supermarket_time(1, lambda),
                mm1(lambda, 1.0).w,
                1e-12
            ));
            let direct: f64 = (1..40)
                .map(|i| lambda.powi((1_i32 << i.min(30)) - 2))
                .take_while(|t| *t > 0.0)
                .sum();
            assert!(
                close(supermarket_time(2, lambda), direct, 1e-12),
                "λ={lambda}"
            );
        }
        // policy-semantics.md §6: 2.614 at λ = 0.9.
        assert_eq!(format!("{:.3}", supermarket_time(2, 0.9)), "2.614");
        // d = 3: exponents (3ⁱ − 3)/2 = 0, 3, 12, 39, …
        let l: f64 = 0.8;
        let direct = 1.0 + l.powi(3) + l.powi(12) + l.powi(39) + l.powi(120);
        assert!(close(supermarket_time(3, l), direct, 1e-12));
        // More choices never hurt.
        assert!(supermarket_time(3, 0.95) < supermarket_time(2, 0.95));
        assert!(supermarket_time(2, 0.95) < supermarket_time(1, 0.95));
    }
}

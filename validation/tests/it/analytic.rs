//! Cross-checks of the closed forms through the public API.

use validation::analytic::*;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs())
}

#[test]
fn peer_script_mm4_values_to_six_digits() {
    // /work/shared/bench/peers/erlang_c.py 3.6 1 4: P_wait=0.787753 Wq=1.969383
    let m = mmc(3.6, 1.0, 4);
    assert_eq!(format!("{:.6}", m.p_wait), "0.787753");
    assert_eq!(format!("{:.6}", m.wq), "1.969383");
    assert_eq!(format!("{:.6}", erlang_c_direct(4, 3.6)), "0.787753");
}

#[test]
fn erlang_formulas_agree_with_each_other() {
    for c in [1, 2, 4, 16, 100] {
        for rho in [0.3, 0.7, 0.9, 0.95] {
            let a = rho * f64::from(c);
            assert!(
                close(erlang_c(c, a), erlang_c_direct(c, a), 1e-12),
                "C c={c} ρ={rho}"
            );
            assert!(
                close(erlang_b(c, a), erlang_b_direct(c, a), 1e-12),
                "B c={c} ρ={rho}"
            );
            assert!(
                close(mmck(a, 1.0, c, c).blocking, erlang_b(c, a), 1e-12),
                "M/M/c/c c={c} ρ={rho}"
            );
        }
    }
}

#[test]
fn special_cases_reduce_to_mm1_and_mmc() {
    for rho in [0.5, 0.8, 0.9] {
        let base = mm1(rho, 1.0);
        let one = mmc(rho, 1.0, 1);
        let pk = pollaczek_khinchine(rho, 1.0, 2.0);
        for (x, y) in [
            (one.w, base.w),
            (one.lq, base.lq),
            (pk.w, base.w),
            (pk.lq, base.lq),
            (one.p_wait, rho),
        ] {
            assert!(close(x, y, 1e-12), "ρ={rho}: {x} vs {y}");
        }
    }
    for (c, rho) in [(2, 0.7), (4, 0.9), (16, 0.9)] {
        let lambda = rho * f64::from(c);
        let (big, inf) = (mmck(lambda, 1.0, c, 10_000), mmc(lambda, 1.0, c));
        assert!(
            close(big.l, inf.l, 1e-9) && close(big.wq, inf.wq, 1e-9),
            "c={c} ρ={rho}"
        );
    }
}

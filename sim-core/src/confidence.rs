//! Confidence intervals from independent replications: sample mean, sample
//! standard deviation and two-sided Student-t intervals (quantiles from
//! `statrs`), plus the Bonferroni adjustment that makes a table of intervals
//! one simultaneous statement.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The arithmetic mean (NaN for an empty slice).
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The sample standard deviation with the n − 1 divisor, computed in two
/// passes (zero for fewer than two values).
pub fn sample_sd(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (xs.len() - 1) as f64).sqrt()
}

/// The `p`-quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(df: f64, p: f64) -> f64 {
    assert!(
        df > 0.0 && p > 0.0 && p < 1.0,
        "t quantile needs df > 0 and 0 < p < 1 (df={df}, p={p})"
    );
    StudentsT::new(0.0, 1.0, df)
        .expect("standard t with positive df is valid")
        .inverse_cdf(p)
}

/// The per-interval confidence level that makes `comparisons` intervals hold
/// simultaneously with probability at least `family` (Bonferroni):
/// `1 − (1 − family) / comparisons`.
pub fn bonferroni_level(family: f64, comparisons: usize) -> f64 {
    assert!(
        comparisons >= 1 && family > 0.0 && family < 1.0,
        "bonferroni_level needs m ≥ 1 and 0 < family < 1"
    );
    1.0 - (1.0 - family) / comparisons as f64
}

/// A two-sided confidence interval `mean ± half_width` for the mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConfidenceInterval {
    /// Sample mean.
    pub mean: f64,
    /// Half the interval's width.
    pub half_width: f64,
    /// Confidence level, e.g. 0.95.
    pub confidence: f64,
    /// Number of observations.
    pub n: usize,
}

impl ConfidenceInterval {
    /// Whether `value` lies inside the closed interval.
    pub fn contains(&self, value: f64) -> bool {
        (value - self.mean).abs() <= self.half_width
    }
}

/// The Student-t interval `x̄ ± t(1 − α/2, n−1) · s/√n` at level `confidence`
/// for i.i.d. observations `xs` (at least two).
pub fn student_t_interval(xs: &[f64], confidence: f64) -> ConfidenceInterval {
    assert!(
        xs.len() >= 2,
        "a t interval needs at least two observations, got {}",
        xs.len()
    );
    assert!(
        confidence > 0.0 && confidence < 1.0,
        "confidence must be in (0, 1), got {confidence}"
    );
    let n = xs.len();
    let t = t_quantile((n - 1) as f64, 1.0 - (1.0 - confidence) / 2.0);
    ConfidenceInterval {
        mean: mean(xs),
        half_width: t * sample_sd(xs) / (n as f64).sqrt(),
        confidence,
        n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sd() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&xs), 5.0);
        assert!((sample_sd(&xs) - (32.0_f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(sample_sd(&[3.0]), 0.0);
    }

    #[test]
    fn t_quantiles_match_tables() {
        for (df, p, want) in [
            (9.0, 0.975, 2.262_157),
            (19.0, 0.975, 2.093_024),
            (19.0, 0.9995, 3.883_406),
            (29.0, 0.995, 2.756_386),
            (1.0, 0.975, 12.706_205),
        ] {
            let got = t_quantile(df, p);
            assert!(
                (got - want).abs() < 1e-5,
                "t({df}, {p}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn interval_and_bonferroni() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        let ci = student_t_interval(&xs, 0.95);
        assert_eq!(ci.mean, 5.5);
        assert!((ci.half_width - 2.262_157 * sample_sd(&xs) / 10f64.sqrt()).abs() < 1e-5);
        assert!(ci.contains(7.6) && !ci.contains(7.7));
        assert!((bonferroni_level(0.95, 40) - 0.99875).abs() < 1e-15);
        assert_eq!(bonferroni_level(0.95, 1), 0.95);
        let wide = student_t_interval(&xs, bonferroni_level(0.95, 40));
        assert!(wide.half_width > ci.half_width);
    }
}

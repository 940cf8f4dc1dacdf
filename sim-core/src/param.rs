//! The error type shared by `sim-core`'s validated constructors
//! (distributions and arrival-rate profiles), and the checks that build it.
//!
//! Both families check the same kinds of parameter (positive, non-negative,
//! finite, bounded), so they share one error type and one set of checks:
//! a message reads the same wherever a parameter is rejected.

/// Why a distribution or an arrival-rate profile could not be built.
/// Messages name the parameter and the reason.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// A parameter that must be strictly positive and finite was not.
    #[error("{param} must be positive and finite, got {value}")]
    NotPositive {
        /// The parameter's name, e.g. `"mean"`.
        param: &'static str,
        /// The value given.
        value: f64,
    },
    /// A parameter that must be zero or more and finite was not.
    #[error("{param} must be non-negative and finite, got {value}")]
    NotNonNegative {
        /// The parameter's name, e.g. `"low"`.
        param: &'static str,
        /// The value given.
        value: f64,
    },
    /// A parameter that must be finite was NaN or infinite.
    #[error("{param} must be finite, got {value}")]
    NotFinite {
        /// The parameter's name, e.g. `"mu"`.
        param: &'static str,
        /// The value given.
        value: f64,
    },
    /// A lower bound was not below its upper bound.
    #[error(
        "{low_param} must be less than {high_param}, got {low_param}={low} and {high_param}={high}"
    )]
    EmptyRange {
        /// The lower bound's name.
        low_param: &'static str,
        /// The upper bound's name.
        high_param: &'static str,
        /// The lower bound given.
        low: f64,
        /// The upper bound given.
        high: f64,
    },
    /// A parameter was above its largest allowed value.
    #[error("{param} must be at most {max}, got {value}")]
    TooLarge {
        /// The parameter's name, e.g. `"amplitude"`.
        param: &'static str,
        /// The largest value accepted.
        max: f64,
        /// The value given.
        value: f64,
    },
    /// One `(time_s, rate)` point of a piecewise-linear or trace profile was
    /// invalid, e.g. `points[3]: times must increase, got 10 after 12`.
    #[error("points[{index}]: {reason}")]
    Point {
        /// The point's index in the list given.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Any other invalid parameter, with the reason spelled out.
    #[error("invalid {param}: {reason}")]
    Invalid {
        /// The parameter's name, e.g. `"scv"`.
        param: &'static str,
        /// What is wrong and what would be accepted.
        reason: String,
    },
}

/// Checks `value > 0` and finite.
pub(crate) fn positive(param: &'static str, value: f64) -> Result<f64, ParamError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ParamError::NotPositive { param, value })
    }
}

/// Checks `value >= 0` and finite; turns -0.0 into +0.0 so no sample is ever
/// negative zero.
pub(crate) fn non_negative(param: &'static str, value: f64) -> Result<f64, ParamError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value + 0.0)
    } else {
        Err(ParamError::NotNonNegative { param, value })
    }
}

/// Checks that `value` is finite.
pub(crate) fn finite(param: &'static str, value: f64) -> Result<f64, ParamError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ParamError::NotFinite { param, value })
    }
}

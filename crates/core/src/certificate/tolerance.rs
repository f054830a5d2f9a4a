//! Tolerances of the certificate bounds.
//!
//! A bound on spec row j over a piece is certified when it is <= rtol·(1 + Y) + 64·ε·M: Y is the
//! magnitude of the terms of the original network's spec row (|P_j e − q_j| + Σ_i |(P_j F)_i|·
//! max|x_i| over the piece's bounding box), the scale of the outputs themselves; M is the same
//! magnitude for the piece's full row, patches included, whose float64 construction (slacks
//! scaled by γ = 1/r, which cancel) rounds at ε·M.

use crate::program::ReluProgram;

/// Rounding allowance, in units of f64::EPSILON times the magnitude of a piece row's terms, for
/// the float64 arithmetic that builds the pieces' affine maps (support slacks scaled by 1/r can
/// be large and cancel).
pub const MAP_ROUNDING: f64 = 64.0;

/// |c0| + Σ_i |c_i|·max(|lo_i|, |hi_i|): the magnitude of the terms of c·x + c0 over [lo, hi].
fn magnitude(c: &[f64], c0: f64, lo: &[f64], hi: &[f64]) -> f64 {
    let mut mag = c0.abs();
    for i in 0..c.len() {
        mag += c[i].abs() * lo[i].abs().max(hi[i].abs());
    }
    mag
}

/// The tolerance of a bound on the piece row `row·x + row0` whose part from the original network
/// is `base·x + base0`, over the piece's bounding box [lo, hi].
pub(super) fn row_tolerance(
    rtol: f64,
    row: &[f64],
    row0: f64,
    base: &[f64],
    base0: f64,
    lo: &[f64],
    hi: &[f64],
) -> f64 {
    rtol * (1.0 + magnitude(base, base0, lo, hi)) + MAP_ROUNDING * f64::EPSILON * magnitude(row, row0, lo, hi)
}

/// Decision slack per neuron, so that the whole error budget Σ_k S_jk err_k stays below 1 % of
/// the smallest rtol part of the tolerance over the region's box (no splitting off slivers
/// thinner than that). `base` holds the spec rows on the unpatched region (`SpecRows`), `sens`
/// the sensitivities `neurons × rows`.
pub(super) fn set_decision_slack(
    program: &mut ReluProgram,
    sens: &[f64],
    base: &[f64],
    rows: usize,
    rtol: f64,
    lo: &[f64],
    hi: &[f64],
) {
    let n = lo.len();
    let mut floor = f64::INFINITY;
    for j in 0..rows {
        let bj = &base[j * (n + 1)..(j + 1) * (n + 1)];
        floor = floor.min(rtol * (1.0 + magnitude(&bj[..n], bj[n], lo, hi)));
    }
    let nn = program.neurons.len();
    for (k, neuron) in program.neurons.iter_mut().enumerate() {
        let s_max = (0..rows).map(|j| sens[k * rows + j]).fold(0.0f64, f64::max);
        neuron.slack = if s_max > 0.0 && floor.is_finite() { 0.01 * floor / (s_max * nn as f64) } else { 0.0 };
    }
}

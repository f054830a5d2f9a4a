//! Sound bounds of a network over an input box (issue 10; `AREA-AT-SCALE.md` §1).
//!
//! | module | what |
//! |---|---|
//! | [`net_view`] | the one adapter through which bounds read a network (`y += A x`, `x += Aᵀ y`, `y += |A| x`) |
//! | [`rounding`] | rigorous floating-point error terms (γ_n, outward rounding) |
//! | [`interval`] | interval arithmetic: every pre-activation, the outputs, a spec row |
//! | [`lp_relax`] | the LP (triangle) relaxation over a box, joint over several rows, in the core simplex |
//! | [`symbolic`] | symbolic linear bounds (forward DeepPoly-style pass, CROWN back-substitution of spec rows) |
//!
//! Every bound here is sound for the real-arithmetic network whose parameters are the stored
//! f64 values, over every real input of the box: rounding is accounted for where it happens
//! (each module documents its error terms).
//!
//! API (small on purpose):
//! * [`interval_bounds`]`(net, lower, upper)` → per-operator pre-activation intervals
//!   ([`IntervalBounds`]; `output_lower`/`output_upper` for the outputs);
//! * [`interval_row_upper`]`(net, lower, upper, c, q)` → an upper bound of `c·f(x) − q`;
//! * [`SymbolicBounds::compute`]`(net, lower, upper, options)` → tighter pre-activation bounds, then
//!   [`SymbolicBounds::row_upper`]`(net, c, q)` → a [`RowBound`]: an upper bound of `c·f(x) − q`
//!   and a linear function of x above it on the box;
//! * [`spec_row_upper_bound`]`(net, lower, upper, c, q)` → the best of these in one call.

pub mod interval;
pub mod lp_relax;
pub mod net_view;
pub mod rounding;
pub mod symbolic;

#[cfg(test)]
mod tests;

pub use interval::{interval_bounds, interval_row_upper, row_upper_from_box, IntervalBounds};
pub use lp_relax::LpRelaxation;
pub use net_view::NetView;
pub use symbolic::{BoundOptions, LowerSlope, RowBound, SymbolicBounds};

use crate::error::Result;

/// A sound upper bound of `c·f(x) − q` over the box [lower, upper]: the smallest of interval
/// arithmetic and the symbolic bounds (forward pass and back-substitution of the row).
pub fn spec_row_upper_bound(net: &NetView, lower: &[f64], upper: &[f64], c: &[f64], q: f64) -> Result<f64> {
    let ib = interval_bounds(net, lower, upper)?;
    let sb = SymbolicBounds::compute_with(net, lower, upper, BoundOptions::default(), &ib)?;
    Ok(sb.row_upper(net, c, q)?.upper.min(row_upper_from_box(c, q, &ib.output_lower(), &ib.output_upper())))
}

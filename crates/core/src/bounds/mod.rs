//! Sound bounds of a network over an input box (issue 10; `AREA-AT-SCALE.md` §1).
//!
//! | module | what |
//! |---|---|
//! | [`net_view`] | the one adapter through which bounds read a network (`y += A x`, `x += Aᵀ y`, `y += |A| x`) |
//! | [`rounding`] | rigorous floating-point error terms (γ_n, outward rounding) |
//! | [`interval`] | interval arithmetic: every pre-activation, the outputs, a spec row |
//!
//! Every bound here is sound for the real-arithmetic network whose parameters are the stored
//! f64 values, over every real input of the box: rounding is accounted for where it happens
//! (each module documents its error terms).
//!
//! API (small on purpose):
//! * [`interval_bounds`]`(net, lower, upper)` → per-operator pre-activation intervals
//!   ([`IntervalBounds`]; `output_lower`/`output_upper` for the outputs);
//! * [`interval_row_upper`]`(net, lower, upper, c, q)` → an upper bound of `c·f(x) − q`.

pub mod interval;
pub mod net_view;
pub mod rounding;

#[cfg(test)]
mod tests;

pub use interval::{interval_bounds, interval_row_upper, row_upper_from_box, IntervalBounds};
pub use net_view::NetView;

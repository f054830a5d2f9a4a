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
//! * [`spec_row_upper_bound`]`(net, lower, upper, c, q)` → the best of interval and symbolic in one call;
//! * [`row_bounds`]`(net, lower, upper, c, q, method, options)` → a [`RowBounds`] by a [`RowMethod`]
//!   (interval, symbolic, the LP relaxation, or the smallest of them all).

pub mod interval;
pub mod lp_relax;
pub mod net_view;
pub mod rounding;
pub mod symbolic;

#[cfg(test)]
pub(crate) mod graph_tests;
#[cfg(test)]
mod tests;

pub use interval::{interval_bounds, interval_row_upper, row_upper_from_box, IntervalBounds};
pub use lp_relax::LpRelaxation;
pub use net_view::NetView;
pub use symbolic::{BoundOptions, LowerSlope, RowBound, SymbolicBounds, SymbolicPass};

use crate::error::Result;

/// Which bound of a spec row [`row_bounds`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowMethod {
    /// Interval arithmetic alone.
    Interval,
    /// Symbolic bounds (back-substitution of the row), with interval arithmetic.
    Symbolic,
    /// The LP (triangle) relaxation with the symbolic pre-activation bounds, with interval arithmetic.
    Lp,
    /// The smallest of interval, symbolic and LP: every one is sound, so their minimum is.
    Best,
}

/// Bounds of one spec row `c·f(x) − q` over a box ([`row_bounds`]).
#[derive(Debug, Clone)]
pub struct RowBounds {
    /// The sound upper bound of the method asked for.
    pub upper: f64,
    /// Interval arithmetic's bound.
    pub interval: f64,
    /// The symbolic bound (NaN when not computed: `Interval`).
    pub symbolic: f64,
    /// The LP relaxation's bound (NaN when not computed: `Interval`, `Symbolic`; +∞ when its LP failed).
    pub lp: f64,
    /// `c·f(x) − q <= slope·x + offset` on the box (the symbolic linear function; zero slope and
    /// offset = `interval` for `Interval`).
    pub slope: Vec<f64>,
    pub offset: f64,
}

/// Bounds of `c·f(x) − q` over the box [lower, upper] by `method` (symbolic options `opts`).
/// The LP relaxation is built on the symbolic pre-activation bounds, so it is never looser than
/// back-substitution in real arithmetic (its triangle contains every linear relaxation the
/// symbolic pass uses); `Best` takes the minimum anyway, so rounding margins cannot make it looser.
pub fn row_bounds(
    net: &NetView,
    lower: &[f64],
    upper: &[f64],
    c: &[f64],
    q: f64,
    method: RowMethod,
    opts: BoundOptions,
) -> Result<RowBounds> {
    let ib = interval_bounds(net, lower, upper)?;
    let by_box = row_upper_from_box(c, q, &ib.output_lower(), &ib.output_upper());
    if method == RowMethod::Interval {
        let n = net.n_in();
        return Ok(RowBounds {
            upper: by_box,
            interval: by_box,
            symbolic: f64::NAN,
            lp: f64::NAN,
            slope: vec![0.0; n],
            offset: by_box,
        });
    }
    let sb = SymbolicBounds::compute_with(net, lower, upper, opts, &ib)?;
    let rb = sb.row_upper(net, c, q)?;
    let symbolic = rb.upper;
    let lp = if method == RowMethod::Symbolic {
        f64::NAN
    } else {
        LpRelaxation::build(net, lower, upper, &sb.lower, &sb.upper)?.row_upper(c, q)?
    };
    let best = match method {
        RowMethod::Symbolic => symbolic.min(by_box),
        RowMethod::Lp => lp.min(by_box),
        _ => symbolic.min(lp).min(by_box),
    };
    Ok(RowBounds { upper: best, interval: by_box, symbolic, lp, slope: rb.slope, offset: rb.offset })
}

/// Upper bounds of several spec rows `c_i·f(x) − q_i` over one box (`c` stacked row by row, `q.len()`
/// rows): the same values as [`row_bounds`]`(…).upper` row by row, with the interval pass, the
/// symbolic pass and the LP relaxation computed once for all rows (the costly parts: a union
/// safe set's pieces have several rows each, all bounded on the same box).
pub fn rows_upper(
    net: &NetView,
    lower: &[f64],
    upper: &[f64],
    c: &[f64],
    q: &[f64],
    method: RowMethod,
    opts: BoundOptions,
) -> Result<Vec<f64>> {
    let k = net.n_out();
    if c.len() != q.len() * k {
        return Err(crate::error::Error::Invalid(format!(
            "{} row coefficients for {} rows of {} outputs",
            c.len(),
            q.len(),
            k
        )));
    }
    let ib = interval_bounds(net, lower, upper)?;
    let (olo, ohi) = (ib.output_lower(), ib.output_upper());
    let by_box: Vec<f64> =
        q.iter().enumerate().map(|(i, &qi)| row_upper_from_box(&c[i * k..(i + 1) * k], qi, &olo, &ohi)).collect();
    if method == RowMethod::Interval {
        return Ok(by_box);
    }
    let sb = SymbolicBounds::compute_with(net, lower, upper, opts, &ib)?;
    let lp = if method == RowMethod::Symbolic {
        None
    } else {
        Some(LpRelaxation::build(net, lower, upper, &sb.lower, &sb.upper)?)
    };
    let mut out = Vec::with_capacity(q.len());
    for (i, &qi) in q.iter().enumerate() {
        let ci = &c[i * k..(i + 1) * k];
        let symbolic = sb.row_upper(net, ci, qi)?.upper;
        let v = match (&lp, method) {
            (None, _) => symbolic.min(by_box[i]),
            (Some(r), RowMethod::Lp) => r.row_upper(ci, qi)?.min(by_box[i]),
            (Some(r), _) => symbolic.min(r.row_upper(ci, qi)?).min(by_box[i]),
        };
        out.push(v);
    }
    Ok(out)
}

/// A sound upper bound of `c·f(x) − q` over the box [lower, upper]: the smallest of interval
/// arithmetic and the symbolic bounds (forward pass and back-substitution of the row).
pub fn spec_row_upper_bound(net: &NetView, lower: &[f64], upper: &[f64], c: &[f64], q: f64) -> Result<f64> {
    let ib = interval_bounds(net, lower, upper)?;
    let sb = SymbolicBounds::compute_with(net, lower, upper, BoundOptions::default(), &ib)?;
    Ok(sb.row_upper(net, c, q)?.upper.min(row_upper_from_box(c, q, &ib.output_lower(), &ib.output_upper())))
}

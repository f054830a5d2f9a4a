//! Interval arithmetic (IBP): sound bounds of every pre-activation and of the outputs over a box.
//!
//! Intervals travel in centre/radius form: `z = A h + b` with h ∈ [m − r, m + r] lies in
//! [A m + b − |A| r, A m + b + |A| r] (in real arithmetic; `|A| r` is the adapter's third
//! product); a node with several terms `Σ_t ±A_t v_t + b` sums the centres and the radii of its
//! terms (each term's enclosure holds for every input of the box, so their sum does). Rounding, per operator and output k (`rounding.rs`):
//!
//! * the centre `fl(A m + b)_k` is off by at most γ_{n+1}·(|A| |m| + |b|)_k (n = terms of a row);
//! * the radius `fl(|A| r)_k` by at most γ_n·(|A| r)_k;
//!
//! both are added to the radius (rounded up). Endpoints are then formed with outward rounding
//! (`sub_down`, `add_up`), and after a ReLU the new centre is any f64 between the endpoints with
//! the radius rounded up to reach both. Every interval is therefore a sound enclosure of the
//! real-arithmetic pre-activations of every input of the box.

use super::net_view::NetView;
use super::rounding::{add_up, err_bound, sub_down, sub_up};
use crate::error::{invalid, Result};
use crate::region::check_box;

/// Bounds of the pre-activations z_l of every operator over a box.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalBounds {
    /// `lower[l][i] <= z_l[i] <= upper[l][i]` for every input of the box (real arithmetic).
    pub lower: Vec<Vec<f64>>,
    pub upper: Vec<Vec<f64>>,
    /// Whether the last operator is followed by a ReLU (then the outputs are ReLU(z_last)).
    pub relu_out: bool,
}

impl IntervalBounds {
    /// Lower bounds of the network's outputs.
    pub fn output_lower(&self) -> Vec<f64> {
        let l = self.lower.last().expect("a network has an operator");
        if self.relu_out {
            l.iter().map(|v| v.max(0.0)).collect()
        } else {
            l.clone()
        }
    }

    /// Upper bounds of the network's outputs.
    pub fn output_upper(&self) -> Vec<f64> {
        let u = self.upper.last().expect("a network has an operator");
        if self.relu_out {
            u.iter().map(|v| v.max(0.0)).collect()
        } else {
            u.clone()
        }
    }

    /// Number of ReLU neurons whose sign is not fixed on the box (l < 0 < u).
    pub fn unstable(&self, net: &NetView) -> usize {
        let mut count = 0;
        for l in 0..self.lower.len() {
            if net.relu(l) {
                count += (0..self.lower[l].len()).filter(|&i| self.lower[l][i] < 0.0 && self.upper[l][i] > 0.0).count();
            }
        }
        count
    }
}

/// Centre and radius of a box, the radius rounded up so that [m − r, m + r] ⊇ [lower, upper].
pub(crate) fn centre_radius(lower: &[f64], upper: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let m: Vec<f64> = lower.iter().zip(upper).map(|(&l, &u)| 0.5 * l + 0.5 * u).collect();
    let r = lower.iter().zip(upper).zip(&m).map(|((&l, &u), &c)| sub_up(u, c).max(sub_up(c, l)).max(0.0)).collect();
    (m, r)
}

/// Sound interval bounds of every pre-activation of `net` over the box [lower, upper].
pub fn interval_bounds(net: &NetView, lower: &[f64], upper: &[f64]) -> Result<IntervalBounds> {
    check_box(net.n_in(), lower, upper)?;
    let (m0, r0) = centre_radius(lower, upper);
    let layers = net.layers();
    // Centre and radius of every value still read (value maps; released after the last reader).
    let mut ms: Vec<Vec<f64>> = vec![Vec::new(); layers + 1];
    let mut rs: Vec<Vec<f64>> = vec![Vec::new(); layers + 1];
    ms[0] = m0;
    rs[0] = r0;
    let last = net.last_uses();
    let mut lo_all = Vec::with_capacity(layers);
    let mut hi_all = Vec::with_capacity(layers);
    for l in 0..layers {
        let (zm, zr) = affine(net, l, &ms, &rs);
        let lo: Vec<f64> = zm.iter().zip(&zr).map(|(&c, &d)| sub_down(c, d)).collect();
        let hi: Vec<f64> = zm.iter().zip(&zr).map(|(&c, &d)| add_up(c, d)).collect();
        if net.relu(l) {
            let lo_h: Vec<f64> = lo.iter().map(|v| v.max(0.0)).collect();
            let hi_h: Vec<f64> = hi.iter().map(|v| v.max(0.0)).collect();
            let (cm, cr) = centre_radius(&lo_h, &hi_h);
            ms[l + 1] = cm;
            rs[l + 1] = cr;
        } else {
            ms[l + 1] = zm;
            rs[l + 1] = zr;
        }
        for t in net.terms(l) {
            if last[t.from] == l {
                ms[t.from] = Vec::new();
                rs[t.from] = Vec::new();
            }
        }
        lo_all.push(lo);
        hi_all.push(hi);
    }
    if lo_all.iter().chain(hi_all.iter()).flatten().any(|v| v.is_nan()) {
        return invalid(
            "bounds: the interval bounds overflowed (NaN); the box or the weights are too large".to_string(),
        );
    }
    Ok(IntervalBounds { lower: lo_all, upper: hi_all, relu_out: net.relu(layers - 1) })
}

/// Centre and radius of z_l = Σ_t ±A_t v_{from_t} + b_l for every value v in [m_v − r_v, m_v + r_v]
/// (value maps `ms`, `rs`), radius including the rounding of both: one entry of the centre is
/// a sum of N + 1 rounded terms (N = the node's row terms over all its terms, whatever order
/// the terms are added in), one entry of the radius of N (module documentation).
pub(crate) fn affine(net: &NetView, l: usize, ms: &[Vec<f64>], rs: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let w = net.width(l);
    let terms = net.row_terms(l);
    let b = net.bias(l);
    let mut zm = b.to_vec();
    net.node_add(l, ms, &mut zm);
    let mut mag = b.iter().map(|v| v.abs()).collect::<Vec<f64>>();
    for t in net.terms(l) {
        let abs_m: Vec<f64> = ms[t.from].iter().map(|v| v.abs()).collect();
        t.op.abs_forward_add(&abs_m, &mut mag);
    }
    let mut zr = vec![0.0; w];
    net.node_abs_add(l, rs, &mut zr);
    for k in 0..w {
        let centre_err = err_bound(terms + 1, mag[k]);
        let radius_err = err_bound(terms, zr[k]);
        zr[k] = add_up(add_up(zr[k], centre_err), radius_err);
    }
    (zm, zr)
}

/// A sound upper bound of `c·y − q` from output bounds [lo, hi] (interval arithmetic on the row).
pub fn row_upper_from_box(c: &[f64], q: f64, lo: &[f64], hi: &[f64]) -> f64 {
    let mut s = -q;
    let mut mag = q.abs();
    for k in 0..c.len() {
        if c[k] == 0.0 {
            continue;
        }
        let t = if c[k] > 0.0 { c[k] * hi[k] } else { c[k] * lo[k] };
        s += t;
        mag += t.abs();
    }
    add_up(s, err_bound(c.len() + 1, mag))
}

/// A sound upper bound of `c·f(x) − q` over the box [lower, upper] by interval arithmetic alone
/// (the cheapest bound; [`super::symbolic`] gives tighter ones).
pub fn interval_row_upper(net: &NetView, lower: &[f64], upper: &[f64], c: &[f64], q: f64) -> Result<f64> {
    if c.len() != net.n_out() {
        return invalid(format!(
            "bounds: the spec row has {} entries, the network has {} outputs",
            c.len(),
            net.n_out()
        ));
    }
    let ib = interval_bounds(net, lower, upper)?;
    Ok(row_upper_from_box(c, q, &ib.output_lower(), &ib.output_upper()))
}

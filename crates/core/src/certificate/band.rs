//! Where a patch's band {x : a_i·x <= b_i + r for all i} (outside it g = 0 exactly) can reach:
//! a box test without LP, an LP test against a polytope, and a bounding box of the band.

use crate::error::{lp_context, Error, Result};
use crate::patch::PatchNetwork;
use crate::polytope::{bounded_polytope, TIGHT_BOX_MAX_INPUTS};

/// A bounding box of a patch's band inside the input box (certified LP bounds).
#[derive(Debug, Clone, PartialEq)]
pub struct BandBox {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

impl BandBox {
    /// False when the band box provably misses the box [lo, hi].
    pub fn meets(&self, lo: &[f64], hi: &[f64]) -> bool {
        !(0..lo.len()).any(|j| self.upper[j] < lo[j] || hi[j] < self.lower[j])
    }
}

/// A bounding box of the band of `p` inside [lower, upper], from certified LP bounds; None when
/// the LP cannot tell (then no box filter is applied). Above [`TIGHT_BOX_MAX_INPUTS`] inputs the
/// box would be the input box itself (see [`bounded_polytope`]): no LP, only the box test
/// [`patch_reaches_box`] on [lower, upper], decided once here instead of at every region (whose
/// box is that box then): an empty box when it proves the band misses, else the box itself.
pub fn band_box(p: &PatchNetwork, lower: &[f64], upper: &[f64]) -> Result<Option<BandBox>> {
    let s = &p.support;
    if s.n_in > TIGHT_BOX_MAX_INPUTS {
        return Ok(Some(if patch_reaches_box(p, lower, upper) {
            BandBox { lower: lower.to_vec(), upper: upper.to_vec() }
        } else {
            BandBox { lower: vec![f64::INFINITY; s.n_in], upper: vec![f64::NEG_INFINITY; s.n_in] }
        }));
    }
    let b: Vec<f64> = s.b.iter().map(|v| v + s.radius).collect();
    match bounded_polytope(s.n_in, &s.dense_rows(), &b, lower, upper) {
        Ok(bp) => Ok(Some(BandBox { lower: bp.lower, upper: bp.upper })),
        Err(Error::Lp(_)) | Err(Error::Empty(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Can the band of `p` reach the box [lo, hi]? False only when some support row has
/// a_i·x − b_i >= r on the whole box (then g = 0 there exactly).
pub fn patch_reaches_box(p: &PatchNetwork, lo: &[f64], hi: &[f64]) -> bool {
    let s = &p.support;
    let n = s.n_in;
    for i in 0..s.rows() {
        let row = s.row(i);
        let (mut mn, mut mag) = (-s.b[i], s.b[i].abs());
        for j in 0..n {
            let (lo_j, hi_j) = (row[j] * lo[j], row[j] * hi[j]);
            mn += lo_j.min(hi_j);
            mag += lo_j.abs().max(hi_j.abs());
        }
        if mn - 4.0 * (n + 2) as f64 * f64::EPSILON * mag >= s.radius {
            return false;
        }
    }
    true
}

/// Does the band {a_s x <= b_s} (`b_s` already relaxed by the radius `radius`; rows of one patch
/// support, or the part of them that cuts the set) reach the set {a x <= b} ∩ [lo, hi]? Decided by
/// an LP: the maximum over the set of t = min_i (b_s,i − a_s,i·x). When its certified upper bound
/// is <= 0, every point of the set has some a_s,i·x − b_i >= r, so g = 0 there exactly (a row
/// left out only raises the maximum). No band row: it reaches (the set is not empty here).
#[allow(clippy::too_many_arguments)]
pub(super) fn band_reaches(
    n: usize,
    a_s: &[f64],
    b_s: &[f64],
    radius: f64,
    a: &[f64],
    b: &[f64],
    lo: &[f64],
    hi: &[f64],
) -> Result<bool> {
    if b_s.is_empty() {
        return Ok(true);
    }
    let nv = n + 1;
    let mut g = Vec::with_capacity((b.len() + b_s.len()) * nv);
    let mut h = Vec::with_capacity(b.len() + b_s.len());
    for i in 0..b.len() {
        g.extend_from_slice(&a[i * n..(i + 1) * n]);
        g.push(0.0);
        h.push(b[i]);
    }
    let mut span: f64 = 1.0;
    for i in 0..b_s.len() {
        let row = &a_s[i * n..(i + 1) * n];
        g.extend_from_slice(row);
        g.push(1.0);
        h.push(b_s[i]);
        let mut mag = b_s[i].abs() + radius;
        for j in 0..n {
            mag += row[j].abs() * lo[j].abs().max(hi[j].abs());
        }
        span = span.max(mag);
    }
    let mut l = lo.to_vec();
    let mut u = hi.to_vec();
    l.push(-2.0 * span);
    u.push(2.0 * span);
    let poly = crate::lp::Polytope::new(nv, &g, &h, &l, &u)?;
    let mut c = vec![0.0; nv];
    c[n] = 1.0;
    // A cold dual simplex that stops as soon as its certified bound on t is <= 0.
    let bound = match crate::lp::Simplex::new(poly)
        .maximize_unless_below(&c, 0.0)
        .map_err(lp_context(|| "certificate: does a patch band reach the region".to_string()))?
    {
        Err(bound) => bound,
        Ok(sol) => sol.upper,
    };
    Ok(bound > 0.0)
}

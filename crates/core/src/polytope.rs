//! Bounded polytopes {x : a x <= b} ∩ [lower, upper]: tight bounding boxes, Chebyshev centres and
//! interval bounds of affine functions over a box.

use crate::error::Result;
use crate::linalg::norm2;
use crate::lp::{Polytope, Simplex};

/// The tight bounding box of {a x <= b} ∩ [lower, upper] (certified LP bounds, clamped to the
/// box; the box itself above [`TIGHT_BOX_MAX_INPUTS`] inputs), the rows that box does not imply, and a simplex over (kept rows, bounding box) — the
/// same set.
pub struct BoxedPolytope {
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub simplex: Simplex,
    /// LPs solved to build it.
    pub lps: usize,
}

/// Interval of c·x + c0 over the box [lo, hi], a bound on its own rounding, and the magnitude
/// |c0| + Σ |c_j| max(|lo_j|, |hi_j|) of the terms.
pub(crate) fn interval_mag(c: &[f64], c0: f64, lo: &[f64], hi: &[f64]) -> (f64, f64, f64, f64) {
    let (mut mx, mut mn, mut mag) = (c0, c0, c0.abs());
    for j in 0..c.len() {
        let (p, q) = (c[j] * lo[j], c[j] * hi[j]);
        mx += p.max(q);
        mn += p.min(q);
        mag += p.abs().max(q.abs());
    }
    (mx, mn, 4.0 * (c.len() + 2) as f64 * f64::EPSILON * mag, mag)
}

/// Interval of c·x + c0 over the box [lo, hi] and a bound on its own rounding.
pub(crate) fn interval(c: &[f64], c0: f64, lo: &[f64], hi: &[f64]) -> (f64, f64, f64) {
    let (mx, mn, guard, _) = interval_mag(c, c0, lo, hi);
    (mx, mn, guard)
}

/// Above this many inputs [`bounded_polytope`] keeps the given box instead of tightening it by
/// 2n LPs: for images (784 or 3,072 inputs) those LPs cost far more than the LPs the box prepares,
/// and any box containing the set is sound for its users (a looser one only filters less).
pub const TIGHT_BOX_MAX_INPUTS: usize = 64;

/// Prepares {a x <= b} ∩ [lower, upper] for repeated LPs (see [`BoxedPolytope`]); `Error::Empty`
/// when the set is proven empty, `Error::Lp` when the LP fails. Above [`TIGHT_BOX_MAX_INPUTS`]
/// inputs the bounding box is the given box (one LP still decides emptiness).
pub fn bounded_polytope(n: usize, a: &[f64], b: &[f64], lower: &[f64], upper: &[f64]) -> Result<BoxedPolytope> {
    bounded_polytope_with(n, a, b, lower, upper, true)
}

/// [`bounded_polytope`]; with `decide_empty` false and above [`TIGHT_BOX_MAX_INPUTS`] inputs
/// (no tightening), without the emptiness LP (`lps` 0): for callers whose every conclusion holds
/// on an empty set too (weak-duality bounds), which then pay no LP they do not need.
pub fn bounded_polytope_with(
    n: usize,
    a: &[f64],
    b: &[f64],
    lower: &[f64],
    upper: &[f64],
    decide_empty: bool,
) -> Result<BoxedPolytope> {
    let tighten = if n <= TIGHT_BOX_MAX_INPUTS { n } else { 0 };
    if tighten == 0 {
        // The box stays: drop the rows it implies first, so that the emptiness LP runs on the
        // very simplex that is kept (and its basis with it).
        let (ka, kb) = rows_not_implied(n, a, b, lower, upper);
        let mut simplex = Simplex::new(Polytope::new(n, &ka, &kb, lower, upper)?);
        if decide_empty && n > 0 {
            let mut c = vec![0.0; n];
            c[0] = 1.0;
            simplex.maximize(&c)?;
        }
        let lps = usize::from(decide_empty);
        return Ok(BoxedPolytope { a: ka, b: kb, lower: lower.to_vec(), upper: upper.to_vec(), simplex, lps });
    }
    let p = Polytope::new(n, a, b, lower, upper)?;
    let mut sx = Simplex::new(p);
    let mut lo = lower.to_vec();
    let mut hi = upper.to_vec();
    let mut c = vec![0.0; n];
    for j in 0..tighten {
        c[j] = 1.0;
        let u = sx.maximize(&c)?.upper;
        c[j] = -1.0;
        let l = -sx.maximize(&c)?.upper;
        c[j] = 0.0;
        hi[j] = u.min(upper[j]);
        lo[j] = l.max(lower[j]);
        if lo[j] > hi[j] {
            // A flat set (rounding put the bounds in the wrong order): keep a degenerate interval.
            let mid = 0.5 * (lo[j] + hi[j]);
            lo[j] = mid;
            hi[j] = mid;
        }
    }
    let (ka, kb) = rows_not_implied(n, a, b, &lo, &hi);
    let simplex = if kb.len() < b.len() || lo.as_slice() != lower || hi.as_slice() != upper {
        Simplex::new(Polytope { n, m: kb.len(), g: &ka, h: &kb, lower: &lo, upper: &hi })
    } else {
        sx
    };
    Ok(BoxedPolytope { a: ka, b: kb, lower: lo, upper: hi, simplex, lps: 2 * tighten })
}

/// The rows of {a x <= b} that the box [lo, hi] does not imply (interval bound with a rounding
/// guard), row-major with their right-hand sides.
fn rows_not_implied(n: usize, a: &[f64], b: &[f64], lo: &[f64], hi: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let m = b.len();
    let mut ka = Vec::with_capacity(a.len());
    let mut kb = Vec::with_capacity(m);
    for i in 0..m {
        let row = &a[i * n..(i + 1) * n];
        let (mx, _, guard) = interval(row, -b[i], lo, hi);
        if mx + guard > 0.0 {
            ka.extend_from_slice(row);
            kb.push(b[i]);
        }
    }
    (ka, kb)
}

/// Largest ball inside {a x <= b} ∩ [lower, upper] (rows normalised): (centre, radius). The radius
/// is the LP witness value reduced by the witness's infeasibility, so the ball provably fits up to
/// rounding; it is negative when the set has no interior.
pub fn chebyshev(n: usize, a: &[f64], b: &[f64], lower: &[f64], upper: &[f64]) -> Result<(Vec<f64>, f64)> {
    let m = b.len();
    let nv = n + 1;
    let mut g = Vec::with_capacity((m + 2 * n) * nv);
    let mut h = Vec::with_capacity(m + 2 * n);
    for i in 0..m {
        let row = &a[i * n..(i + 1) * n];
        g.extend_from_slice(row);
        g.push(norm2(row));
        h.push(b[i]);
    }
    let mut width: f64 = 0.0;
    for j in 0..n {
        for &s in &[1.0, -1.0] {
            let mut row = vec![0.0; nv];
            row[j] = s;
            row[n] = 1.0;
            g.extend(row);
            h.push(if s > 0.0 { upper[j] } else { -lower[j] });
        }
        width = width.max(upper[j] - lower[j]);
    }
    let mut lo = lower.to_vec();
    let mut hi = upper.to_vec();
    lo.push(-(width + 1.0));
    hi.push(width + 1.0);
    let p = Polytope::new(nv, &g, &h, &lo, &hi)?;
    let mut c = vec![0.0; nv];
    c[n] = 1.0;
    let sol = crate::lp::maximize(p, &c)?;
    let radius = sol.x[n] - sol.infeasibility;
    Ok((sol.x[..n].to_vec(), radius))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounding_box_drops_implied_rows_and_chebyshev_fits_a_triangle() {
        // Triangle x >= 0, y >= 0, x + y <= 1 inside [-1, 2]²; the row x <= 5 is implied.
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let a = [-1.0, 0.0, 0.0, -1.0, s, s, 1.0, 0.0];
        let b = [0.0, 0.0, s, 5.0];
        let bp = bounded_polytope(2, &a, &b, &[-1.0, -1.0], &[2.0, 2.0]).unwrap();
        for j in 0..2 {
            assert!(bp.lower[j].abs() < 1e-12 && (bp.upper[j] - 1.0).abs() < 1e-12, "{:?} {:?}", bp.lower, bp.upper);
        }
        // The row x <= 5 is implied by the tight box; the faces it touches are kept.
        assert_eq!(bp.b, vec![0.0, 0.0, s]);
        let (centre, radius) = chebyshev(2, &a, &b, &[-1.0, -1.0], &[2.0, 2.0]).unwrap();
        let want = 1.0 / (2.0 + std::f64::consts::SQRT_2);
        assert!((radius - want).abs() < 1e-9, "{}", radius);
        assert!((centre[0] - want).abs() < 1e-9 && (centre[1] - want).abs() < 1e-9);
        // An empty set is an LP error.
        assert!(matches!(bounded_polytope(1, &[1.0], &[-2.0], &[-1.0], &[1.0]), Err(crate::Error::Empty(_))));
    }
}

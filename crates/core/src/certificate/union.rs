//! A union safe set on one affine piece, exactly (AREA-AT-SCALE §5).
//!
//! On a piece Q where every spec row is affine, g_j(x) = c_j·x + c0_j, the union's violation at x
//! is min_p max_{j∈p} g_j(x) (x is safe when some piece p has all its rows <= 0). Since
//! min_p max_j a_pj = max_σ min_p a_pσ(p) over the choices σ of one row per piece,
//!
//!   max_{x∈Q} min_p max_{j∈p} g_j(x) = max_σ max { t : t <= g_σ(p)(x) ∀p, x ∈ Q },
//!
//! one LP per choice. The choices are searched depth first, piece by piece: a partial choice's
//! LP bounds every completion (fewer constraints on t), so a branch is closed as soon as its
//! bound is within the tolerance. With single-row pieces (the negation of "output k is maximal")
//! there is exactly one choice: one LP, and a region whose points are safe through different
//! pieces is certified.

use super::safe_set::SafeSet;
use crate::error::{Error, Result};
use crate::lp::{maximize, Polytope};
use crate::polytope::interval;

/// The union's bound on one piece.
pub(super) struct UnionBound {
    /// Proven upper bound of the union's violation on the piece (decision budgets and rounding
    /// of the rows included): the largest over the closed branches.
    pub bound: f64,
    /// The best LP point and the union violation of the nominal maps there.
    pub x: Vec<f64>,
    pub value: f64,
    pub lps: usize,
    /// The LP budget ran out: `bound` is not proven (infinite).
    pub limited: bool,
}

/// `maps`: the stacked rows on the piece, `rows × (n + 1)` (x part, then the constant); `extra`:
/// per row, what is added to its LP bound (budgets, rounding); `(a, b, lo, hi)`: the piece.
#[allow(clippy::too_many_arguments)]
pub(super) fn union_bound(
    n: usize,
    a: &[f64],
    b: &[f64],
    lo: &[f64],
    hi: &[f64],
    maps: &[f64],
    extra: &[f64],
    safe: &SafeSet,
    tol: f64,
    max_lps: usize,
) -> Result<UnionBound> {
    let w = n + 1;
    let rows = safe.rows();
    // Interval bounds of each row over the piece's box: free upper bounds and t's range.
    let mut imax = vec![0.0; rows];
    let mut imin = vec![0.0; rows];
    for j in 0..rows {
        let (mx, mn, guard) = interval(&maps[j * w..j * w + n], maps[j * w + n], lo, hi);
        imax[j] = mx + guard;
        imin[j] = mn - guard;
    }
    let mut out =
        UnionBound { bound: f64::NEG_INFINITY, x: Vec::new(), value: f64::NEG_INFINITY, lps: 0, limited: false };
    let mut chosen: Vec<usize> = Vec::new();
    dfs(n, a, b, lo, hi, maps, extra, safe, tol, max_lps, &imax, &imin, &mut chosen, &mut out)?;
    if out.limited {
        out.bound = f64::INFINITY;
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn dfs(
    n: usize,
    a: &[f64],
    b: &[f64],
    lo: &[f64],
    hi: &[f64],
    maps: &[f64],
    extra: &[f64],
    safe: &SafeSet,
    tol: f64,
    max_lps: usize,
    imax: &[f64],
    imin: &[f64],
    chosen: &mut Vec<usize>,
    out: &mut UnionBound,
) -> Result<()> {
    let depth = chosen.len();
    for j in safe.piece_rows(depth) {
        if out.limited {
            return Ok(());
        }
        chosen.push(j);
        let slack = chosen.iter().map(|&r| extra[r]).fold(0.0, f64::max);
        // Free bound: t <= g_j <= imax_j (and every earlier choice's imax).
        let free = chosen.iter().map(|&r| imax[r]).fold(f64::INFINITY, f64::min) + slack;
        if free <= tol {
            out.bound = out.bound.max(free);
        } else if out.lps >= max_lps {
            out.limited = true;
        } else {
            let (bound, x) = solve(n, a, b, lo, hi, maps, chosen, imax, imin)?;
            out.lps += 1;
            let proven = bound + slack;
            let leaf = chosen.len() == safe.pieces.len();
            if proven <= tol || leaf {
                out.bound = out.bound.max(proven);
                let v = safe.combine(&nominal(n, maps, &x, safe.rows()));
                if v > out.value || out.x.is_empty() {
                    out.value = v;
                    out.x = x;
                }
            } else {
                dfs(n, a, b, lo, hi, maps, extra, safe, tol, max_lps, imax, imin, chosen, out)?;
            }
        }
        chosen.pop();
    }
    Ok(())
}

/// Every row's nominal value at x.
fn nominal(n: usize, maps: &[f64], x: &[f64], rows: usize) -> Vec<f64> {
    let w = n + 1;
    (0..rows).map(|j| maps[j * w + n] + (0..n).map(|i| maps[j * w + i] * x[i]).sum::<f64>()).collect()
}

/// max { t : t <= g_r(x) for r in `chosen`, x in the piece }: (weak-duality bound, point).
#[allow(clippy::too_many_arguments)]
fn solve(
    n: usize,
    a: &[f64],
    b: &[f64],
    lo: &[f64],
    hi: &[f64],
    maps: &[f64],
    chosen: &[usize],
    imax: &[f64],
    imin: &[f64],
) -> Result<(f64, Vec<f64>)> {
    let w = n + 1;
    let nv = n + 1;
    let m = b.len() + chosen.len();
    let mut g = Vec::with_capacity(m * nv);
    let mut h = Vec::with_capacity(m);
    for i in 0..b.len() {
        g.extend_from_slice(&a[i * n..(i + 1) * n]);
        g.push(0.0);
        h.push(b[i]);
    }
    for &r in chosen {
        // t − c_r·x <= c0_r
        g.extend(maps[r * w..r * w + n].iter().map(|v| -v));
        g.push(1.0);
        h.push(maps[r * w + n]);
    }
    let mut l = lo.to_vec();
    let mut u = hi.to_vec();
    // Every t below min_r imin_r is feasible for every x; none above min_r imax_r is.
    let t_lo = chosen.iter().map(|&r| imin[r]).fold(f64::INFINITY, f64::min);
    let t_hi = chosen.iter().map(|&r| imax[r]).fold(f64::INFINITY, f64::min);
    let span = 1.0 + (t_hi - t_lo).abs();
    l.push(t_lo - span);
    u.push(t_hi.max(t_lo) + span);
    let mut c = vec![0.0; nv];
    c[n] = 1.0;
    let sol = maximize(Polytope::new(nv, &g, &h, &l, &u)?, &c).map_err(|e| match e {
        Error::Lp(msg) => Error::Lp(format!("certificate: union of the safe set's pieces on a piece: {}", msg)),
        other => other,
    })?;
    Ok((sol.upper, sol.x[..n].to_vec()))
}

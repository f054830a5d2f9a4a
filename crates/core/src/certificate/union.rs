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
//!
//! The bound is made rigorous and tight in two steps. The LP in (x, t) finds the weights: its
//! multipliers μ_r >= 0 on the rows t <= g_r sum to 1 (the objective is t), and for any such μ,
//! min_r g_r(x) <= Σ_r μ_r g_r(x) at every x. So max_Q Σ_r μ_r g_r — one LP over the piece alone,
//! on the piece's own well-conditioned warm simplex, with its certified dual bound — bounds the
//! union's violation. (The (x, t) LP mixes rows of very different scales — the patches' γ = 1/r
//! slopes — which loosens its own dual bound by its feasibility tolerance times those slopes.)

use super::safe_set::SafeSet;
use crate::bounds::rounding::{add_up, err_bound, sub_down, sub_up};
use crate::error::{Error, Result};
use crate::linalg::dot;
use crate::lp::{maximize, Polytope, Simplex};
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

/// The piece and its rows: `(a, b, lo, hi)` the piece, `simplex` a simplex over it; `maps` the
/// stacked rows on it, `rows × (n + 1)` (x part, then the constant); `extra` per row what is added
/// to its LP bound (budgets, rounding).
pub(super) struct UnionSearch<'a> {
    pub n: usize,
    pub a: &'a [f64],
    pub b: &'a [f64],
    pub lo: &'a [f64],
    pub hi: &'a [f64],
    pub simplex: &'a mut Simplex,
    pub maps: &'a [f64],
    pub extra: &'a [f64],
    pub safe: &'a SafeSet,
    pub tol: f64,
    pub max_lps: usize,
}

impl<'a> UnionSearch<'a> {
    pub(super) fn run(mut self) -> Result<UnionBound> {
        let (n, w) = (self.n, self.n + 1);
        let rows = self.safe.rows();
        // Interval bounds of each row over the piece's box: free upper bounds and t's range.
        let mut imax = vec![0.0; rows];
        let mut imin = vec![0.0; rows];
        for j in 0..rows {
            let (mx, mn, guard) = interval(&self.maps[j * w..j * w + n], self.maps[j * w + n], self.lo, self.hi);
            imax[j] = mx + guard;
            imin[j] = mn - guard;
        }
        let mut out =
            UnionBound { bound: f64::NEG_INFINITY, x: Vec::new(), value: f64::NEG_INFINITY, lps: 0, limited: false };
        let mut chosen: Vec<usize> = Vec::new();
        self.dfs(&imax, &imin, &mut chosen, &mut out)?;
        if out.limited {
            out.bound = f64::INFINITY;
        }
        Ok(out)
    }

    fn dfs(&mut self, imax: &[f64], imin: &[f64], chosen: &mut Vec<usize>, out: &mut UnionBound) -> Result<()> {
        let depth = chosen.len();
        for j in self.safe.piece_rows(depth) {
            if out.limited {
                return Ok(());
            }
            chosen.push(j);
            let slack = chosen.iter().map(|&r| self.extra[r]).fold(0.0, f64::max);
            // Free bound: t <= g_j <= imax_j (and every earlier choice's imax).
            let free = chosen.iter().map(|&r| imax[r]).fold(f64::INFINITY, f64::min) + slack;
            if free <= self.tol {
                out.bound = out.bound.max(free);
            } else if out.lps + 26 > self.max_lps {
                out.limited = true;
            } else {
                let (bound, x, lps) = self.bound(chosen, imax, imin, self.tol - slack)?;
                out.lps += lps;
                let proven = bound + slack;
                let leaf = chosen.len() == self.safe.pieces.len();
                if proven <= self.tol || leaf {
                    out.bound = out.bound.max(proven);
                    let v = self.safe.combine(&self.nominal(&x));
                    if v > out.value || out.x.is_empty() {
                        out.value = v;
                        out.x = x;
                    }
                } else {
                    self.dfs(imax, imin, chosen, out)?;
                }
            }
            chosen.pop();
        }
        Ok(())
    }

    /// Every row's nominal value at x.
    fn nominal(&self, x: &[f64]) -> Vec<f64> {
        let (n, w) = (self.n, self.n + 1);
        (0..self.safe.rows()).map(|j| self.maps[j * w + n] + dot(&self.maps[j * w..j * w + n], x)).collect()
    }

    /// An upper bound of max_Q min_{r ∈ chosen} g_r and a point of the piece where the minimum
    /// is largest among those seen (see the module documentation). `target`: the bound the caller
    /// needs (stop once below it, or once a point proves it unreachable). Returns (bound, point,
    /// LPs solved).
    fn bound(&mut self, chosen: &[usize], imax: &[f64], imin: &[f64], target: f64) -> Result<(f64, Vec<f64>, usize)> {
        let (loose, x_loose, duals) = self.solve_xt(chosen, imax, imin)?;
        let mut lps = 1;
        let k = chosen.len();
        let mut mu: Vec<f64> = duals.iter().map(|v| v.max(0.0)).collect();
        if mu.len() != k || !(mu.iter().sum::<f64>() > 0.0) {
            mu = vec![1.0; k];
        }
        // Kelley's cutting planes on F(μ) = max_Q Σ μ_r g_r (convex in μ; its minimum over the
        // simplex is the union's maximum, by LP duality): every evaluation is one LP on the
        // piece's own simplex, and gives an upper bound (F itself) and a point (a lower bound).
        let mut best = loose;
        let mut cuts: Vec<Vec<f64>> = Vec::new();
        // Points of the piece itself (the (x, t) LP's may lie outside it by its tolerance, where
        // the maps mean nothing): the largest minimum seen is a lower bound.
        let mut seen = (f64::NEG_INFINITY, Vec::new());
        for _ in 0..12 {
            let total: f64 = mu.iter().sum();
            let weights: Vec<f64> = mu.iter().map(|m| m / total).collect();
            let (ub, x) = match self.combined(chosen, &weights) {
                Some(r) => r?,
                None => break,
            };
            lps += 1;
            best = best.min(ub);
            let values: Vec<f64> = chosen.iter().map(|&r| self.row_value(r, &x)).collect();
            let here = values.iter().cloned().fold(f64::INFINITY, f64::min);
            if here > seen.0 {
                seen = (here, x);
            }
            if best <= target || seen.0 > target || best - seen.0 <= 1e-12 * (1.0 + seen.0.abs()) {
                break;
            }
            cuts.push(values);
            match master(&cuts) {
                Some(next) => {
                    lps += 1;
                    mu = next;
                }
                None => break,
            }
        }
        // The witness: the best point of the piece when it is as bad as the (x, t) LP's point,
        // else that point (the caller checks witnesses against the region and the network).
        let at_loose = chosen.iter().map(|&r| self.row_value(r, &x_loose)).fold(f64::INFINITY, f64::min);
        let witness =
            if seen.1.is_empty() || at_loose > seen.0 + 1e-9 * (1.0 + seen.0.abs()) { x_loose } else { seen.1 };
        Ok((best, witness, lps))
    }

    /// g_r at x (the nominal row).
    fn row_value(&self, r: usize, x: &[f64]) -> f64 {
        let (n, w) = (self.n, self.n + 1);
        self.maps[r * w + n] + dot(&self.maps[r * w..r * w + n], x)
    }

    /// max over the piece of Σ_r m_r g_r (weights summing to 1): a rigorous upper bound of
    /// min_r g_r over the piece, and the maximiser; None when the LP breaks down.
    fn combined(&mut self, chosen: &[usize], weights: &[f64]) -> Option<Result<(f64, Vec<f64>)>> {
        let (n, w) = (self.n, self.n + 1);
        let mut c = vec![0.0; n];
        let mut c0 = 0.0;
        // Σ m_r |terms of g_r| (the combination's rounding) plus max_r |terms of g_r| (the
        // weights' sum is 1 only up to rounding, which scales min_r g_r by 1 ± that).
        let (mut mag, mut mag_max) = (0.0, 0.0f64);
        for (i, &r) in chosen.iter().enumerate() {
            let m = weights[i];
            for k in 0..n {
                c[k] += m * self.maps[r * w + k];
            }
            c0 += m * self.maps[r * w + n];
            let terms = self.maps[r * w + n].abs()
                + (0..n).map(|k| self.maps[r * w + k].abs() * self.lo[k].abs().max(self.hi[k].abs())).sum::<f64>();
            mag += m * terms;
            mag_max = mag_max.max(terms);
        }
        let sol = match self.simplex.maximize(&c) {
            Ok(sol) => sol,
            Err(Error::Lp(_)) | Err(Error::Empty(_)) => return None,
            Err(e) => return Some(Err(e)),
        };
        let ub = add_up(sol.upper + c0, err_bound(chosen.len() * (n + 2) + 2, mag + mag_max + (sol.upper + c0).abs()));
        Some(Ok((ub, sol.x)))
    }

    /// max { t : t <= g_r(x) for r in `chosen`, x in the piece }: (weak-duality bound, point, the
    /// multipliers of the rows t <= g_r).
    fn solve_xt(&self, chosen: &[usize], imax: &[f64], imin: &[f64]) -> Result<(f64, Vec<f64>, Vec<f64>)> {
        let (n, w) = (self.n, self.n + 1);
        let (a, b, lo, hi) = (self.a, self.b, self.lo, self.hi);
        let nv = n + 1;
        let m = b.len() + chosen.len();
        // In coordinates centred on the piece's box (y = x − x0): right-hand sides of the size of
        // the piece and of the rows' values, not of their terms. Rounded outwards (the set only
        // grows: the bound stays sound).
        let x0: Vec<f64> = (0..n).map(|j| 0.5 * lo[j] + 0.5 * hi[j]).collect();
        let shifted = |row: &[f64], rhs: f64| -> f64 {
            let mag = rhs.abs() + row.iter().zip(&x0).map(|(c, x)| (c * x).abs()).sum::<f64>();
            add_up(rhs - dot(row, &x0), err_bound(n + 1, mag))
        };
        let mut g = Vec::with_capacity(m * nv);
        let mut h = Vec::with_capacity(m);
        for i in 0..b.len() {
            let row = &a[i * n..(i + 1) * n];
            g.extend_from_slice(row);
            g.push(0.0);
            h.push(shifted(row, b[i]));
        }
        for &r in chosen {
            // t − c_r·x <= c0_r, i.e. t − c_r·y <= c0_r + c_r·x0
            let neg: Vec<f64> = self.maps[r * w..r * w + n].iter().map(|v| -v).collect();
            g.extend_from_slice(&neg);
            g.push(1.0);
            h.push(shifted(&neg, self.maps[r * w + n]));
        }
        let mut l: Vec<f64> = (0..n).map(|j| sub_down(lo[j], x0[j])).collect();
        let mut u: Vec<f64> = (0..n).map(|j| sub_up(hi[j], x0[j])).collect();
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
        let x = (0..n).map(|j| (sol.x[j] + x0[j]).max(lo[j]).min(hi[j])).collect();
        let duals = if sol.duals.len() == m { sol.duals[b.len()..].to_vec() } else { Vec::new() };
        Ok((sol.upper, x, duals))
    }
}

/// The master problem of the cutting planes: weights μ in the simplex minimising
/// max_k Σ_r μ_r v_kr over the cuts' row values v_k (variables μ and s: min s, s >= Σ μ v_k).
fn master(cuts: &[Vec<f64>]) -> Option<Vec<f64>> {
    let k = cuts[0].len();
    let nv = k + 1;
    let mut g = Vec::with_capacity((cuts.len() + 2) * nv);
    let mut h = Vec::with_capacity(cuts.len() + 2);
    let mut big: f64 = 1.0;
    for v in cuts {
        g.extend_from_slice(v);
        g.push(-1.0);
        h.push(0.0);
        big = big.max(v.iter().fold(0.0f64, |m, x| m.max(x.abs())));
    }
    for sign in [1.0, -1.0] {
        g.extend(std::iter::repeat(sign).take(k));
        g.push(0.0);
        h.push(sign);
    }
    let mut lower = vec![0.0; nv];
    let mut upper = vec![1.0; nv];
    lower[k] = -2.0 * big;
    upper[k] = 2.0 * big;
    let mut c = vec![0.0; nv];
    c[k] = -1.0;
    let sol = maximize(Polytope::new(nv, &g, &h, &lower, &upper).ok()?, &c).ok()?;
    let mu: Vec<f64> = sol.x[..k].iter().map(|v| v.max(0.0)).collect();
    if mu.iter().sum::<f64>() > 0.0 {
        Some(mu)
    } else {
        None
    }
}

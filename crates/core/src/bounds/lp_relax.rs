//! The LP relaxation of a network over a box (the "triangle" relaxation), solved by the core
//! simplex: the tightest bound obtainable from single-neuron relaxations with the given
//! pre-activation bounds, and joint over several rows (a disjunct of an unsafe set).
//!
//! Variables: the inputs x (the box as their bounds) and one variable h_i ∈ [0, u_i] per
//! unstable ReLU (l_i < 0 < u_i). Every other neuron is an affine expression of the variables
//! allocated before it (stable active: h = z; inactive: h = 0), built through the adapter's
//! `y += A x` column by column. An unstable neuron adds the rows `h_i >= z_i` and
//! `h_i <= s_i z_i + t_i` (its upper line, `symbolic::relax_upper`).
//!
//! **Soundness.** Each expression carries a scalar error ε: |true value − expression| <= ε for
//! every x of the box and the true values of the variables (rounding of the expression's
//! coefficients, γ_{n+1}(|A| mag + |b|) per operator with mag_i = Σ_v |coef_iv| max|v| + |c_i|,
//! plus |A| ε of the operator's inputs). Every row is then written so that the true values
//! satisfy it — ε is added to its right-hand side, and so is the rounding of forming `s_i·coef`
//! (u per coefficient, u Σ |s coef| max|v| in value), all rounded up — so the LP's feasible set
//! contains every true (x, h), and the simplex's certified dual bound (weak duality, with its own
//! rounding margin) bounds the true optimum.

use super::net_view::NetView;
use super::rounding::{add_up, err_bound, next_up};
use super::symbolic::relax_upper;
use crate::error::{invalid, Error, Result};
use crate::lp::{Polytope, Simplex};

/// The relaxation of one box: rows over the variables, their bounds, and the outputs as
/// expressions (`(nv + 1) × outputs`, column-major, last column the constants) with errors.
pub struct LpRelaxation {
    nv: usize,
    g: Vec<f64>,
    h: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    out: Vec<f64>,
    out_err: Vec<f64>,
    n_out: usize,
    /// max |v| per variable (for the rounding terms of the objective rows).
    vmax: Vec<f64>,
    n_in: usize,
}

impl LpRelaxation {
    /// Builds the relaxation of `net` over [lower, upper] with sound pre-activation bounds
    /// `pre_lower[l][i] <= z_l[i] <= pre_upper[l][i]` on the box.
    pub fn build(
        net: &NetView,
        lower: &[f64],
        upper: &[f64],
        pre_lower: &[Vec<f64>],
        pre_upper: &[Vec<f64>],
    ) -> Result<LpRelaxation> {
        let n = net.n_in();
        if lower.len() != n || upper.len() != n || pre_lower.len() != net.layers() || pre_upper.len() != net.layers() {
            return invalid("bounds: the LP relaxation got bounds of the wrong shape".to_string());
        }
        let unstable: usize = (0..net.layers())
            .filter(|&l| net.relu(l))
            .map(|l| (0..net.width(l)).filter(|&i| pre_lower[l][i] < 0.0 && pre_upper[l][i] > 0.0).count())
            .sum();
        let nv = n + unstable;
        let mut vlo = lower.to_vec();
        let mut vhi = upper.to_vec();
        let mut vmax: Vec<f64> = lower.iter().zip(upper).map(|(a, b)| a.abs().max(b.abs())).collect();
        vlo.resize(nv, 0.0);
        vhi.resize(nv, 0.0);
        vmax.resize(nv, 0.0);
        // Post-activation expressions of every value still read (value maps), column-major
        // (nv + 1) × width, and their errors.
        let layers = net.layers();
        let last = net.last_uses();
        let mut posts: Vec<Vec<f64>> = vec![Vec::new(); layers + 1];
        let mut epss: Vec<Vec<f64>> = vec![Vec::new(); layers + 1];
        posts[0] = vec![0.0; (nv + 1) * n];
        for j in 0..n {
            posts[0][j * n + j] = 1.0;
        }
        epss[0] = vec![0.0; n];
        let mut next_var = n;
        let (mut g, mut h) = (Vec::new(), Vec::new());
        for l in 0..layers {
            let wo = net.width(l);
            let terms = net.row_terms(l);
            let b = net.bias(l);
            let mut z = vec![0.0; (nv + 1) * wo];
            for v in (0..next_var).chain(std::iter::once(nv)) {
                let col = &mut z[v * wo..(v + 1) * wo];
                if v == nv {
                    col.copy_from_slice(b);
                }
                for t in net.terms(l) {
                    let w = net.value_width(t.from);
                    t.op.forward_add(&posts[t.from][v * w..(v + 1) * w], col, t.negate);
                }
            }
            let mut ze = vec![0.0; wo];
            net.node_abs_add(l, &epss, &mut ze);
            let mut em: Vec<f64> = b.iter().map(|v| v.abs()).collect();
            // Magnitudes once per value read (a max pooling node reads one value in many terms).
            let mut mags: Vec<(usize, Vec<f64>)> = Vec::new();
            for t in net.terms(l) {
                if !mags.iter().any(|m| m.0 == t.from) {
                    let (post, w) = (&posts[t.from], net.value_width(t.from));
                    let mut mag: Vec<f64> = post[nv * w..(nv + 1) * w].iter().map(|v| v.abs()).collect();
                    for v in 0..next_var {
                        for i in 0..w {
                            mag[i] += post[v * w + i].abs() * vmax[v];
                        }
                    }
                    mags.push((t.from, mag));
                }
            }
            for t in net.terms(l) {
                let (_, mag) = mags.iter().find(|m| m.0 == t.from).expect("computed above");
                t.op.abs_forward_add(mag, &mut em);
            }
            for k in 0..wo {
                ze[k] = add_up(next_up(ze[k]), err_bound(terms + 1, em[k]));
            }
            for t in net.terms(l) {
                if last[t.from] == l {
                    posts[t.from] = Vec::new();
                    epss[t.from] = Vec::new();
                }
            }
            if !net.relu(l) {
                posts[l + 1] = z;
                epss[l + 1] = ze;
                continue;
            }
            let mut np = vec![0.0; (nv + 1) * wo];
            let mut ne = vec![0.0; wo];
            for k in 0..wo {
                let (zl, zu) = (pre_lower[l][k], pre_upper[l][k]);
                if zu <= 0.0 {
                    continue;
                }
                if zl >= 0.0 {
                    for v in 0..=nv {
                        np[v * wo + k] = z[v * wo + k];
                    }
                    ne[k] = ze[k];
                    continue;
                }
                // Unstable: a new variable h_k ∈ [0, u] with h >= z and h <= s z + t.
                let var = next_var;
                next_var += 1;
                vlo[var] = 0.0;
                vhi[var] = zu;
                vmax[var] = zu;
                let (s, t) = relax_upper(zl, zu);
                let (mut row_lo, mut row_up) = (vec![0.0; nv], vec![0.0; nv]);
                let mut scaled = 0.0;
                for v in 0..var {
                    let c = z[v * wo + k];
                    row_lo[v] = c;
                    row_up[v] = -(s * c);
                    scaled += (s * c).abs() * vmax[v];
                }
                let c0 = z[nv * wo + k];
                // z − h <= 0, with z <= expr + ε:  expr − h <= ε  ⟺  coef·v − h <= −c0 + ε.
                row_lo[var] = -1.0;
                g.extend_from_slice(&row_lo);
                h.push(add_up(-c0, ze[k]));
                // h − s z <= t, with z >= expr − ε: h − s·coef·v <= s c0 + s ε + t (+ rounding).
                row_up[var] = 1.0;
                g.extend_from_slice(&row_up);
                let rhs = add_up(add_up(add_up(s * c0, err_bound(1, (s * c0).abs())), next_up(s * ze[k])), t);
                h.push(add_up(rhs, err_bound(1, scaled)));
                np[var * wo + k] = 1.0;
            }
            posts[l + 1] = np;
            epss[l + 1] = ne;
        }
        debug_assert_eq!(next_var, nv);
        let (post, eps, w) =
            (std::mem::take(&mut posts[layers]), std::mem::take(&mut epss[layers]), net.width(layers - 1));
        if g.iter().chain(h.iter()).chain(post.iter()).any(|v| !v.is_finite()) {
            return invalid("bounds: the LP relaxation overflowed".to_string());
        }
        Ok(LpRelaxation { nv, g, h, lower: vlo, upper: vhi, out: post, out_err: eps, n_out: w, vmax, n_in: n })
    }

    /// Number of LP variables (inputs + unstable ReLUs).
    pub fn variables(&self) -> usize {
        self.nv
    }

    /// A certified lower bound of min over the box of max_r (a_r·f(x) − b_r) (`a` row-major
    /// `rows × outputs`), and the inputs of the LP's minimiser. −∞ when the LP fails.
    pub fn min_max_rows(&self, a: &[f64], b: &[f64]) -> Result<(f64, Vec<f64>)> {
        let (nv, k) = (self.nv, self.n_out);
        let rows = b.len();
        if rows == 0 || a.len() != rows * k {
            return invalid("bounds: min_max_rows needs rows of the output size".to_string());
        }
        let n_all = nv + 1;
        let m = self.h.len() + rows;
        let mut g = Vec::with_capacity(m * n_all);
        for i in 0..self.h.len() {
            g.extend_from_slice(&self.g[i * nv..(i + 1) * nv]);
            g.push(0.0);
        }
        let mut h = self.h.clone();
        let (mut tlo, mut thi) = (f64::INFINITY, f64::NEG_INFINITY);
        for r in 0..rows {
            let ar = &a[r * k..(r + 1) * k];
            // a_r·y − b_r >= a_r·expr − b_r − err;  row:  a_r·expr − t <= b_r − a_r·c + err.
            let mut coef = vec![0.0; nv];
            let mut c0 = 0.0;
            let (mut err, mut mag) = (0.0, b[r].abs());
            for o in 0..k {
                if ar[o] == 0.0 {
                    continue;
                }
                for v in 0..nv {
                    coef[v] += ar[o] * self.out[v * k + o];
                }
                c0 += ar[o] * self.out[nv * k + o];
                err += ar[o].abs() * self.out_err[o];
                let mut mo = self.out[nv * k + o].abs();
                for v in 0..nv {
                    mo += self.out[v * k + o].abs() * self.vmax[v];
                }
                mag += ar[o].abs() * mo;
            }
            let slack = add_up(next_up(err), err_bound(2 * k + 2, mag));
            let (mut lo_v, mut hi_v) = (c0 - b[r], c0 - b[r]);
            for v in 0..nv {
                let (p, q) = (coef[v] * self.lower[v], coef[v] * self.upper[v]);
                lo_v += p.min(q);
                hi_v += p.max(q);
            }
            tlo = tlo.min(lo_v - slack);
            thi = thi.max(hi_v + slack);
            g.extend_from_slice(&coef);
            g.push(-1.0);
            h.push(add_up(b[r] - c0, slack));
        }
        if !(tlo.is_finite() && thi.is_finite()) {
            return Ok((f64::NEG_INFINITY, Vec::new()));
        }
        let pad = 1.0 + 1e-6 * (tlo.abs() + thi.abs());
        let mut lo = self.lower.clone();
        let mut hi = self.upper.clone();
        lo.push(tlo - pad);
        hi.push(thi + pad);
        let p = Polytope::new(n_all, &g, &h, &lo, &hi)?;
        let mut c = vec![0.0; n_all];
        c[nv] = -1.0;
        match Simplex::new(p).maximize(&c) {
            Ok(sol) => Ok((-sol.upper, sol.x[..self.n_in].to_vec())),
            Err(Error::Lp(_)) | Err(Error::Empty(_)) => Ok((f64::NEG_INFINITY, Vec::new())),
            Err(e) => Err(e),
        }
    }
}

impl LpRelaxation {
    /// A sound upper bound of `c·f(x) − q` over the box: max (c·f − q) = −min (−c·f + q), and
    /// [`min_max_rows`](Self::min_max_rows) of the one row (−c, −q) is a certified lower bound of
    /// that minimum (negation is exact). +∞ when the LP fails (no bound, never a wrong one).
    pub fn row_upper(&self, c: &[f64], q: f64) -> Result<f64> {
        let a: Vec<f64> = c.iter().map(|v| -v).collect();
        let (lb, _) = self.min_max_rows(&a, &[-q])?;
        Ok(if lb.is_finite() { -lb } else { f64::INFINITY })
    }
}

//! A dense bounded-variable simplex for the LPs of this project:
//!
//!   maximise c·x  subject to  G x <= h,  lower <= x <= upper   (every bound finite).
//!
//! Every "max over a linear region" has exactly this shape: the neuron half-spaces are the rows,
//! the input box is the variable bounds. Because all structural variables are boxed, the all-slack
//! basis with each variable at the bound its cost prefers is always dual feasible, so a cold solve
//! is a dual simplex with no phase 1. Further objectives over the same region re-use the optimal
//! basis of the previous one (it stays primal feasible) and run the primal simplex.
//!
//! The tableau is the condensed (Tucker) form: one row per basic variable, one column per
//! nonbasic variable, so a pivot costs O(rows × columns) and the box never becomes rows.
//!
//! Results are certified rather than trusted: `lower` is c·x at the returned point (feasible to the
//! reported tolerance), `upper` is a weak-duality bound h·λ + Σ max(r_j l_j, r_j u_j) with
//! λ >= 0 and r = c − Gᵀλ, valid for *any* λ >= 0. Callers that need a sound bound (a patch must
//! hold on the whole region) use `upper`; callers that need a witness (a lower bound on the
//! minimal patch) use `lower`.

use crate::error::{Error, Result};
use crate::linalg::{axpy, dot};

/// Outcome of one maximisation.
#[derive(Debug, Clone)]
pub struct LpSolution {
    /// c·x at `x`, a point of the region (up to `infeasibility`).
    pub lower: f64,
    /// A weak-duality upper bound on the true maximum.
    pub upper: f64,
    /// The part of `upper` that only covers rounding in its own computation (a worst-case
    /// bound); `upper − margin` is the dual objective as computed.
    pub margin: f64,
    /// The maximiser.
    pub x: Vec<f64>,
    /// Row multipliers λ >= 0 (one per row of G) proving `upper`.
    pub duals: Vec<f64>,
    /// max_i (G_i x − h_i)⁺ at `x`.
    pub infeasibility: f64,
    pub pivots: usize,
}

/// The constraint set `G x <= h, lower <= x <= upper`, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Polytope<'a> {
    pub n: usize,
    pub m: usize,
    pub g: &'a [f64],
    pub h: &'a [f64],
    pub lower: &'a [f64],
    pub upper: &'a [f64],
}

impl<'a> Polytope<'a> {
    pub fn new(n: usize, g: &'a [f64], h: &'a [f64], lower: &'a [f64], upper: &'a [f64]) -> Result<Polytope<'a>> {
        if n == 0 || g.len() % n != 0 || g.len() / n != h.len() || lower.len() != n || upper.len() != n {
            return Err(Error::Invalid(format!(
                "lp: inconsistent sizes (n = {}, G has {} values, h {}, lower {}, upper {})",
                n, g.len(), h.len(), lower.len(), upper.len()
            )));
        }
        for j in 0..n {
            if !(lower[j].is_finite() && upper[j].is_finite() && lower[j] <= upper[j]) {
                return Err(Error::Invalid(format!("lp: bounds of variable {} are [{}, {}]; both must be finite with lower <= upper", j, lower[j], upper[j])));
            }
        }
        if let Some(i) = g.iter().chain(h.iter()).position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!("lp: constraint data entry {} is not finite", i)));
        }
        Ok(Polytope { n, m: h.len(), g, h, lower, upper })
    }

    /// Largest violation max_i (G_i x − h_i)⁺ together with the box.
    pub fn violation(&self, x: &[f64]) -> f64 {
        let mut v: f64 = 0.0;
        for i in 0..self.m {
            v = v.max(dot(&self.g[i * self.n..(i + 1) * self.n], x) - self.h[i]);
        }
        for j in 0..self.n {
            v = v.max(self.lower[j] - x[j]).max(x[j] - self.upper[j]);
        }
        v
    }
}

const PIVOT_TOL: f64 = 1e-9;
const DUAL_TOL: f64 = 1e-10;
const REFRESH_EVERY: usize = 64;

/// Owned copy of a polytope (a simplex outlives the buffers it was built from).
#[derive(Debug, Clone)]
struct OwnedPolytope {
    n: usize,
    m: usize,
    g: Vec<f64>,
    h: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl OwnedPolytope {
    fn view(&self) -> Polytope<'_> {
        Polytope { n: self.n, m: self.m, g: &self.g, h: &self.h, lower: &self.lower, upper: &self.upper }
    }
}

/// Simplex state over one polytope; keep it to solve several objectives with warm starts.
pub struct Simplex {
    p: OwnedPolytope,
    /// tab[i*n + k]: coefficient of nonbasic column k in the expression of basic row i.
    tab: Vec<f64>,
    /// Constant term of each basic row (basic_i = t0_i + Σ_k tab_ik · nonbasic_k).
    t0: Vec<f64>,
    /// Variable in each row / column: 0..n structural, n..n+m slack of row (v − n).
    basic: Vec<usize>,
    nonbasic: Vec<usize>,
    /// Current value of each nonbasic column (always one of its bounds).
    nb_val: Vec<f64>,
    /// Current value of each basic row.
    beta: Vec<f64>,
    /// Reduced costs of the current objective, per nonbasic column.
    d: Vec<f64>,
    cost: Vec<f64>,
    feas_tol: f64,
    pub pivots: usize,
    fresh: bool,
}

impl Simplex {
    pub fn new(p: Polytope) -> Simplex {
        let (n, m) = (p.n, p.m);
        let mut tab = vec![0.0; m * n];
        for i in 0..m {
            for k in 0..n {
                tab[i * n + k] = -p.g[i * n + k];
            }
        }
        let scale = p.h.iter().chain(p.lower.iter()).chain(p.upper.iter()).fold(1.0f64, |a, v| a.max(v.abs()));
        Simplex {
            p: OwnedPolytope { n, m, g: p.g.to_vec(), h: p.h.to_vec(), lower: p.lower.to_vec(), upper: p.upper.to_vec() },
            tab,
            t0: p.h.to_vec(),
            basic: (0..m).map(|i| n + i).collect(),
            nonbasic: (0..n).collect(),
            nb_val: p.lower.to_vec(),
            beta: vec![0.0; m],
            d: vec![0.0; n],
            cost: vec![0.0; n],
            feas_tol: 1e-9 * scale,
            pivots: 0,
            fresh: true,
        }
    }

    fn lb(&self, v: usize) -> f64 {
        if v < self.p.n { self.p.lower[v] } else { 0.0 }
    }

    fn ub(&self, v: usize) -> f64 {
        if v < self.p.n { self.p.upper[v] } else { f64::INFINITY }
    }

    fn var_cost(&self, v: usize) -> f64 {
        if v < self.p.n { self.cost[v] } else { 0.0 }
    }

    /// Recompute basic values from the constants and the nonbasic values (limits drift).
    fn refresh_beta(&mut self) {
        let n = self.p.n;
        for i in 0..self.p.m {
            self.beta[i] = self.t0[i] + dot(&self.tab[i * n..(i + 1) * n], &self.nb_val);
        }
    }

    fn reduced_costs(&mut self) {
        let n = self.p.n;
        for k in 0..n {
            self.d[k] = self.var_cost(self.nonbasic[k]);
        }
        for i in 0..self.p.m {
            let cb = self.var_cost(self.basic[i]);
            if cb != 0.0 {
                let row = &self.tab[i * n..(i + 1) * n];
                axpy(cb, row, &mut self.d);
            }
        }
    }

    /// Exchange basic row r with nonbasic column k; the leaving variable takes value `leave_val`.
    fn pivot(&mut self, r: usize, k: usize, leave_val: f64) {
        let n = self.p.n;
        let m = self.p.m;
        let p = self.tab[r * n + k];
        let delta = (leave_val - self.beta[r]) / p;
        // Basic values move with the entering variable.
        for i in 0..m {
            if i != r {
                self.beta[i] += self.tab[i * n + k] * delta;
            }
        }
        let entering = self.nonbasic[k];
        let leaving = self.basic[r];
        self.beta[r] = self.nb_val[k] + delta;
        // New row r expresses the entering variable.
        let mut row: Vec<f64> = self.tab[r * n..(r + 1) * n].iter().map(|v| -v / p).collect();
        row[k] = 1.0 / p;
        let t0r = -self.t0[r] / p;
        for i in 0..m {
            if i == r {
                continue;
            }
            let coef = self.tab[i * n + k];
            if coef != 0.0 {
                let ti = &mut self.tab[i * n..(i + 1) * n];
                ti[k] = 0.0;
                axpy(coef, &row, ti);
                self.t0[i] += coef * t0r;
            }
        }
        let dk = self.d[k];
        if dk != 0.0 {
            self.d[k] = 0.0;
            axpy(dk, &row, &mut self.d);
        }
        self.tab[r * n..(r + 1) * n].copy_from_slice(&row);
        self.t0[r] = t0r;
        self.basic[r] = entering;
        self.nonbasic[k] = leaving;
        self.nb_val[k] = leave_val;
        self.pivots += 1;
        if self.pivots % REFRESH_EVERY == 0 {
            self.refresh_beta();
        }
    }

    fn iteration_limit(&self) -> usize {
        20 * (self.p.m + self.p.n) + 1000
    }

    /// Dual simplex from a dual-feasible basis until primal feasible.
    fn dual_simplex(&mut self) -> Result<()> {
        let n = self.p.n;
        let limit = self.pivots + self.iteration_limit();
        loop {
            // Leaving row: largest bound violation.
            let mut r = usize::MAX;
            let mut worst = 0.0;
            let mut to_upper = false;
            for i in 0..self.p.m {
                let v = self.basic[i];
                let lo = self.lb(v) - self.feas_tol * (1.0 + self.lb(v).abs().min(1e300));
                let below = lo - self.beta[i];
                if below > worst {
                    worst = below;
                    r = i;
                    to_upper = false;
                }
                let ubv = self.ub(v);
                if ubv.is_finite() {
                    let above = self.beta[i] - (ubv + self.feas_tol * (1.0 + ubv.abs()));
                    if above > worst {
                        worst = above;
                        r = i;
                        to_upper = true;
                    }
                }
            }
            if r == usize::MAX {
                return Ok(());
            }
            if self.pivots >= limit {
                return Err(Error::Lp(format!("lp: dual simplex reached its iteration limit ({} pivots, {} rows, {} variables)", self.pivots, self.p.m, n)));
            }
            // Entering column: keeps dual feasibility (two-pass Harris ratio test).
            let increase = !to_upper;
            let mut bound = f64::INFINITY;
            let mut cand = false;
            for k in 0..n {
                let a = self.tab[r * n + k];
                if a.abs() <= PIVOT_TOL {
                    continue;
                }
                let at_lower = self.nb_val[k] == self.lb(self.nonbasic[k]);
                let can_up = at_lower;
                let moves_right = (a > 0.0) == can_up; // moving this variable in its free direction raises row r
                if moves_right != increase {
                    continue;
                }
                if self.nonbasic[k] >= n && !at_lower {
                    continue;
                }
                cand = true;
                bound = bound.min((self.d[k].abs() + DUAL_TOL) / a.abs());
            }
            if !cand {
                return Err(Error::Lp(format!(
                    "lp: the region is empty (row {} cannot reach its bound); the constraints are infeasible",
                    r
                )));
            }
            let mut best = usize::MAX;
            let mut best_a = 0.0;
            for k in 0..n {
                let a = self.tab[r * n + k];
                if a.abs() <= PIVOT_TOL {
                    continue;
                }
                let at_lower = self.nb_val[k] == self.lb(self.nonbasic[k]);
                let moves_right = (a > 0.0) == at_lower;
                if moves_right != increase || (self.nonbasic[k] >= n && !at_lower) {
                    continue;
                }
                if self.d[k].abs() / a.abs() <= bound && a.abs() > best_a {
                    best_a = a.abs();
                    best = k;
                }
            }
            let leave_val = if to_upper { self.ub(self.basic[r]) } else { self.lb(self.basic[r]) };
            self.pivot(r, best, leave_val);
            // Harris may leave tiny wrong-signed reduced costs: move boxed variables to the bound
            // their cost prefers so the basis stays dual feasible.
            self.fix_dual_signs();
        }
    }

    /// Put every nonbasic structural variable at the bound its reduced cost prefers.
    fn fix_dual_signs(&mut self) {
        let n = self.p.n;
        for k in 0..n {
            let v = self.nonbasic[k];
            if v >= n {
                continue;
            }
            // Reduced costs within DUAL_TOL of zero count as zero: flipping on rounding noise
            // would move whole box edges back and forth.
            let want = if self.d[k] > DUAL_TOL { self.p.upper[v] } else if self.d[k] < -DUAL_TOL { self.p.lower[v] } else { self.nb_val[k] };
            if want != self.nb_val[k] {
                let delta = want - self.nb_val[k];
                for i in 0..self.p.m {
                    self.beta[i] += self.tab[i * n + k] * delta;
                }
                self.nb_val[k] = want;
            }
        }
    }

    /// Primal simplex from a primal-feasible basis.
    fn primal_simplex(&mut self) -> Result<()> {
        let n = self.p.n;
        let m = self.p.m;
        let limit = self.pivots + self.iteration_limit();
        let mut degenerate_run = 0usize;
        loop {
            // Entering column: Dantzig, or Bland (smallest variable index) while degenerate.
            let bland = degenerate_run > 50;
            let mut k = usize::MAX;
            let mut best = 0.0;
            for c in 0..n {
                let v = self.nonbasic[c];
                let at_lower = self.nb_val[c] == self.lb(v);
                let gain = if at_lower { self.d[c] } else if v < n { -self.d[c] } else { 0.0 };
                if gain > DUAL_TOL * (1.0 + self.cost_scale()) {
                    if bland {
                        if k == usize::MAX || v < self.nonbasic[k] {
                            k = c;
                        }
                    } else if gain > best {
                        best = gain;
                        k = c;
                    }
                }
            }
            if k == usize::MAX {
                return Ok(());
            }
            if self.pivots >= limit {
                return Err(Error::Lp(format!("lp: primal simplex reached its iteration limit ({} pivots, {} rows, {} variables)", self.pivots, m, n)));
            }
            let v = self.nonbasic[k];
            let sigma = if self.nb_val[k] == self.lb(v) { 1.0 } else { -1.0 };
            // Harris pass 1: largest step with every basic variable within bound + tolerance.
            let mut theta_max = f64::INFINITY;
            for i in 0..m {
                let a = self.tab[i * n + k] * sigma;
                let b = self.basic[i];
                if a > PIVOT_TOL {
                    let ubv = self.ub(b);
                    if ubv.is_finite() {
                        theta_max = theta_max.min((ubv + self.feas_tol - self.beta[i]) / a);
                    }
                } else if a < -PIVOT_TOL {
                    theta_max = theta_max.min((self.beta[i] - (self.lb(b) - self.feas_tol)) / -a);
                }
            }
            let range = self.ub(v) - self.lb(v);
            if range <= theta_max {
                // Bound flip: no basis change.
                let delta = sigma * range;
                for i in 0..m {
                    self.beta[i] += self.tab[i * n + k] * delta;
                }
                self.nb_val[k] = if sigma > 0.0 { self.ub(v) } else { self.lb(v) };
                degenerate_run = 0;
                continue;
            }
            if !theta_max.is_finite() {
                return Err(Error::Lp("lp: the objective is unbounded, which a boxed problem cannot be; numerical failure".to_string()));
            }
            // Pass 2: among rows that block within theta_max, the largest pivot.
            let mut r = usize::MAX;
            let mut best_a = 0.0;
            let mut r_theta = 0.0;
            let mut r_upper = false;
            for i in 0..m {
                let a = self.tab[i * n + k] * sigma;
                let b = self.basic[i];
                let (theta, up) = if a > PIVOT_TOL && self.ub(b).is_finite() {
                    ((self.ub(b) - self.beta[i]) / a, true)
                } else if a < -PIVOT_TOL {
                    ((self.beta[i] - self.lb(b)) / -a, false)
                } else {
                    continue;
                };
                if theta <= theta_max && a.abs() > best_a {
                    best_a = a.abs();
                    r = i;
                    r_theta = theta;
                    r_upper = up;
                }
            }
            if r == usize::MAX {
                return Err(Error::Lp("lp: primal ratio test found no blocking row; numerical failure".to_string()));
            }
            degenerate_run = if r_theta.max(0.0) * best_a <= self.feas_tol { degenerate_run + 1 } else { 0 };
            let leave_val = if r_upper { self.ub(self.basic[r]) } else { self.lb(self.basic[r]) };
            self.pivot(r, k, leave_val);
        }
    }

    fn cost_scale(&self) -> f64 {
        self.cost.iter().fold(0.0f64, |a, v| a.max(v.abs()))
    }

    fn primal_feasible(&self) -> bool {
        (0..self.p.m).all(|i| {
            let v = self.basic[i];
            self.beta[i] >= self.lb(v) - self.feas_tol * 10.0 && self.beta[i] <= self.ub(v) + self.feas_tol * 10.0
        })
    }

    /// Maximise c·x over the polytope. The first call solves cold (dual simplex); later calls
    /// start from the previous optimal basis (primal simplex).
    pub fn maximize(&mut self, c: &[f64]) -> Result<LpSolution> {
        let n = self.p.n;
        if c.len() != n {
            return Err(Error::Invalid(format!("lp: objective has {} entries, the problem has {} variables", c.len(), n)));
        }
        if let Some(j) = c.iter().position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!("lp: objective entry {} is {}", j, c[j])));
        }
        self.cost.copy_from_slice(c);
        self.reduced_costs();
        if self.fresh {
            self.fresh = false;
            self.fix_dual_signs();
            self.refresh_beta();
            self.dual_simplex()?;
            self.refresh_beta();
        }
        self.refresh_beta();
        if !self.primal_feasible() {
            self.fix_dual_signs();
            self.dual_simplex()?;
        }
        self.primal_simplex()?;
        self.refresh_beta();
        if !self.primal_feasible() {
            // Drift: restore feasibility from the current (optimal, dual-feasible) basis.
            self.reduced_costs();
            self.fix_dual_signs();
            self.dual_simplex()?;
            self.primal_simplex()?;
        }
        Ok(self.extract())
    }

    fn extract(&mut self) -> LpSolution {
        let (n, m) = (self.p.n, self.p.m);
        let mut x = vec![0.0; n];
        for k in 0..n {
            if self.nonbasic[k] < n {
                x[self.nonbasic[k]] = self.nb_val[k];
            }
        }
        for i in 0..m {
            if self.basic[i] < n {
                x[self.basic[i]] = self.beta[i];
            }
        }
        for j in 0..n {
            x[j] = x[j].max(self.p.lower[j]).min(self.p.upper[j]);
        }
        let mut duals = vec![0.0; m];
        for k in 0..n {
            let v = self.nonbasic[k];
            if v >= n {
                duals[v - n] = (-self.d[k]).max(0.0);
            }
        }
        let p = self.p.view();
        let (upper, margin) = dual_bound(&p, &self.cost, &duals);
        let lower = dot(&self.cost, &x);
        let infeasibility = p.violation(&x);
        LpSolution { lower, upper, margin, x, duals, infeasibility, pivots: self.pivots }
    }
}

/// Weak-duality bound for max c·x over the polytope from any λ >= 0, with a margin for the
/// rounding of this very computation (so the bound is safe in floating point). Returns
/// (bound including the margin, margin).
pub fn dual_bound(p: &Polytope, c: &[f64], duals: &[f64]) -> (f64, f64) {
    let n = p.n;
    let mut r = c.to_vec();
    let mut total = 0.0;
    let mut magnitude = 0.0;
    for i in 0..p.m {
        let l = duals[i];
        if l > 0.0 {
            axpy(-l, &p.g[i * n..(i + 1) * n], &mut r);
            total += l * p.h[i];
            magnitude += (l * p.h[i]).abs() + l * p.g[i * n..(i + 1) * n].iter().fold(0.0, |a, v| a + v.abs()) * p.lower.iter().chain(p.upper.iter()).fold(0.0f64, |a, v| a.max(v.abs()));
        }
    }
    for j in 0..n {
        let t = (r[j] * p.lower[j]).max(r[j] * p.upper[j]);
        total += t;
        magnitude += t.abs() + c[j].abs() * p.lower[j].abs().max(p.upper[j].abs());
    }
    let margin = magnitude * (4.0 * (p.m + n + 2) as f64) * f64::EPSILON;
    (total + margin, margin)
}

/// One-shot convenience: maximise c·x over the polytope.
pub fn maximize(p: Polytope, c: &[f64]) -> Result<LpSolution> {
    Simplex::new(p).maximize(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::Rng;

    /// Brute force in 2-D: the maximum is at a vertex; enumerate intersections of constraint pairs.
    fn brute_2d(g: &[f64], h: &[f64], lo: &[f64], hi: &[f64], c: &[f64]) -> Option<f64> {
        let mut rows: Vec<([f64; 2], f64)> = (0..h.len()).map(|i| ([g[2 * i], g[2 * i + 1]], h[i])).collect();
        rows.push(([1.0, 0.0], hi[0]));
        rows.push(([-1.0, 0.0], -lo[0]));
        rows.push(([0.0, 1.0], hi[1]));
        rows.push(([0.0, -1.0], -lo[1]));
        let mut best: Option<f64> = None;
        for a in 0..rows.len() {
            for b in a + 1..rows.len() {
                let (r1, r2) = (rows[a], rows[b]);
                let det = r1.0[0] * r2.0[1] - r1.0[1] * r2.0[0];
                if det.abs() < 1e-12 {
                    continue;
                }
                let x = (r1.1 * r2.0[1] - r1.0[1] * r2.1) / det;
                let y = (r1.0[0] * r2.1 - r1.1 * r2.0[0]) / det;
                if rows.iter().all(|r| r.0[0] * x + r.0[1] * y <= r.1 + 1e-9) {
                    let v = c[0] * x + c[1] * y;
                    best = Some(best.map_or(v, |b: f64| b.max(v)));
                }
            }
        }
        best
    }

    #[test]
    fn random_2d_lps_match_vertex_enumeration() {
        let mut rng = Rng(7);
        let mut solved = 0;
        for _ in 0..400 {
            let m = 1 + (rng.next_u64() % 12) as usize;
            let g: Vec<f64> = (0..2 * m).map(|_| rng.normal()).collect();
            let h: Vec<f64> = (0..m).map(|_| rng.range(-0.5, 2.0)).collect();
            let lo = [-3.0, -2.0];
            let hi = [2.5, 4.0];
            let c = [rng.normal(), rng.normal()];
            let p = Polytope::new(2, &g, &h, &lo, &hi).unwrap();
            let brute = brute_2d(&g, &h, &lo, &hi, &c);
            match (maximize(p, &c), brute) {
                (Ok(s), Some(b)) => {
                    assert!((s.lower - b).abs() < 1e-7 * (1.0 + b.abs()), "lower {} vs {}", s.lower, b);
                    assert!(s.upper >= b - 1e-9 && s.upper - b < 1e-7 * (1.0 + b.abs()), "upper {} vs {}", s.upper, b);
                    assert!(s.infeasibility < 1e-8);
                    solved += 1;
                }
                (Err(Error::Lp(_)), None) => {}
                (r, b) => panic!("disagree: {:?} vs {:?}", r.map(|s| s.lower), b),
            }
        }
        assert!(solved > 100);
    }

    #[test]
    fn warm_started_objectives_agree_with_cold_solves() {
        let mut rng = Rng(11);
        for _ in 0..30 {
            let (n, m) = (6, 40);
            // Rows through a ball around the origin keep the region non-empty.
            let mut g = vec![0.0; m * n];
            let mut h = vec![0.0; m];
            for i in 0..m {
                let row: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                let nr = row.iter().map(|v| v * v).sum::<f64>().sqrt();
                for j in 0..n {
                    g[i * n + j] = row[j] / nr;
                }
                h[i] = rng.range(0.1, 1.0);
            }
            let lo = vec![-1.0; n];
            let hi = vec![1.0; n];
            let p = Polytope::new(n, &g, &h, &lo, &hi).unwrap();
            let mut warm = Simplex::new(p);
            for _ in 0..5 {
                let c: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                let a = warm.maximize(&c).unwrap();
                let b = maximize(p, &c).unwrap();
                assert!((a.lower - b.lower).abs() < 1e-8, "{} vs {}", a.lower, b.lower);
                assert!(a.upper >= a.lower - 1e-12 && a.upper - a.lower < 1e-8);
                assert!(a.infeasibility < 1e-9);
            }
        }
    }

    #[test]
    fn infeasible_region_is_an_error() {
        let g = [1.0, -1.0];
        let h = [-1.0, -1.0]; // x <= -1 and x >= 1
        let p = Polytope::new(1, &g, &h, &[-5.0], &[5.0]).unwrap();
        let e = maximize(p, &[1.0]).unwrap_err();
        assert!(e.to_string().contains("empty"), "{}", e);
    }

    #[test]
    fn rejects_unbounded_box() {
        assert!(Polytope::new(1, &[], &[], &[f64::NEG_INFINITY], &[1.0]).is_err());
    }
}

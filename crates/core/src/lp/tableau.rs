//! The fallback implementation: a condensed (Tucker) tableau over a working set of rows, its
//! state, the pivot, and rows joining the set.
//!
//! Tableau row r expresses basic variable `basic[r]` as t0_r + Σ_k tab_rk · (nonbasic column k).
//! The n columns are always the nonbasic variables (structurals at a bound, or slacks of tight
//! working-set rows at 0), so the size is |working set| × n whatever the number of rows of the
//! polytope.

use super::{Method, Simplex, REFRESH_EVERY};
use crate::linalg::{axpy, dot};

impl Simplex {
    pub(super) fn lb(&self, v: usize) -> f64 {
        if v < self.p.n {
            self.p.lower[v]
        } else {
            0.0
        }
    }

    pub(super) fn ub(&self, v: usize) -> f64 {
        if v < self.p.n {
            self.p.upper[v]
        } else {
            f64::INFINITY
        }
    }

    pub(super) fn var_cost(&self, v: usize) -> f64 {
        if v < self.p.n {
            self.cost[v]
        } else {
            0.0
        }
    }

    pub(super) fn rows(&self) -> usize {
        self.basic.len()
    }

    /// Empty working set (plus the seed rows, or every row for Bland's method), every structural
    /// nonbasic at the bound its cost prefers: dual feasible for the current cost.
    pub(super) fn cold_start(&mut self) {
        let n = self.p.n;
        self.tab.clear();
        self.t0.clear();
        self.basic.clear();
        self.beta.clear();
        self.dual_w.clear();
        self.nonbasic = (0..n).collect();
        self.nb_val.copy_from_slice(&self.p.lower);
        self.in_set.iter_mut().for_each(|s| *s = false);
        self.primal_w.iter_mut().for_each(|w| *w = 1.0);
        self.perturbed = false;
        self.reduced_costs();
        self.fix_dual_signs();
        let x = self.point();
        if self.method == Method::Bland {
            for i in 0..self.p.m {
                self.add_row(i, &x);
            }
        }
    }

    /// The structural part of the current basic solution (not clamped to the box).
    pub(super) fn point(&self) -> Vec<f64> {
        let n = self.p.n;
        let mut x = vec![0.0; n];
        for k in 0..n {
            if self.nonbasic[k] < n {
                x[self.nonbasic[k]] = self.nb_val[k];
            }
        }
        for r in 0..self.rows() {
            if self.basic[r] < n {
                x[self.basic[r]] = self.beta[r];
            }
        }
        x
    }

    /// Row i joins the working set with its slack basic: s_i = h_i − G_i x, with the basic
    /// structurals substituted by their tableau rows. The reduced costs do not change (a slack
    /// costs nothing), so a dual feasible basis stays dual feasible. `x` is the current point.
    pub(super) fn add_row(&mut self, i: usize, x: &[f64]) {
        let n = self.p.n;
        let g = &self.p.g[i * n..(i + 1) * n];
        let mut row = vec![0.0; n];
        for k in 0..n {
            let v = self.nonbasic[k];
            if v < n {
                row[k] = -g[v];
            }
        }
        let mut t0 = self.p.h[i];
        for r in 0..self.basic.len() {
            let v = self.basic[r];
            if v < n && g[v] != 0.0 {
                axpy(-g[v], &self.tab[r * n..(r + 1) * n], &mut row);
                t0 -= g[v] * self.t0[r];
            }
        }
        let beta = self.p.h[i] - dot(g, x);
        self.tab.extend_from_slice(&row);
        self.t0.push(t0);
        self.basic.push(n + i);
        self.beta.push(beta);
        self.dual_w.push(1.0);
        self.in_set[i] = true;
        self.stats.max_working_rows = self.stats.max_working_rows.max(self.basic.len());
    }

    /// Recompute basic values from the constants and the nonbasic values (limits drift).
    pub(super) fn refresh_beta(&mut self) {
        let n = self.p.n;
        for r in 0..self.rows() {
            self.beta[r] = self.t0[r] + dot(&self.tab[r * n..(r + 1) * n], &self.nb_val);
        }
    }

    pub(super) fn reduced_costs(&mut self) {
        let n = self.p.n;
        for k in 0..n {
            self.d[k] = self.var_cost(self.nonbasic[k]);
        }
        for r in 0..self.rows() {
            let cb = self.var_cost(self.basic[r]);
            if cb != 0.0 {
                axpy(cb, &self.tab[r * n..(r + 1) * n], &mut self.d);
            }
        }
    }

    /// Exchange tableau row r with nonbasic column k; the leaving variable takes value `leave_val`.
    pub(super) fn pivot(&mut self, r: usize, k: usize, leave_val: f64) {
        let n = self.p.n;
        let m = self.rows();
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
        // Devex updates (before the tableau changes: they read row r and column k).
        let wr = self.dual_w[r];
        for i in 0..m {
            if i != r {
                let ratio = self.tab[i * n + k] / p;
                let cand = ratio * ratio * wr;
                if cand > self.dual_w[i] {
                    self.dual_w[i] = cand;
                }
            }
        }
        self.dual_w[r] = (wr / (p * p)).max(1.0);
        let wk = self.primal_w[k];
        for j in 0..n {
            if j != k {
                let ratio = self.tab[r * n + j] / p;
                let cand = ratio * ratio * wk;
                if cand > self.primal_w[j] {
                    self.primal_w[j] = cand;
                }
            }
        }
        self.primal_w[k] = (wk / (p * p)).max(1.0);
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

    /// Move nonbasic column k to `target` (a bound flip), updating the basic values.
    pub(super) fn flip(&mut self, k: usize, target: f64) {
        let n = self.p.n;
        let delta = target - self.nb_val[k];
        for i in 0..self.rows() {
            self.beta[i] += self.tab[i * n + k] * delta;
        }
        self.nb_val[k] = target;
    }

    pub(super) fn cost_scale(&self) -> f64 {
        self.cost.iter().fold(0.0f64, |a, v| a.max(v.abs()))
    }

    pub(super) fn primal_feasible(&self) -> bool {
        (0..self.rows()).all(|i| {
            let v = self.basic[i];
            self.beta[i] >= self.lb(v) - self.feas_tol * 10.0 && self.beta[i] <= self.ub(v) + self.feas_tol * 10.0
        })
    }

    /// Shift the reduced costs by small distinct amounts in the direction that keeps the basis
    /// dual feasible. Dual degeneracy (many zero reduced costs) makes the dual simplex stall or
    /// cycle on region LPs; the true costs are restored once the working-set LP is solved, and
    /// the primal simplex removes the few dual infeasibilities this leaves. Deterministic (a
    /// golden-ratio sequence), so results are reproducible.
    pub(super) fn perturb_costs(&mut self) {
        let n = self.p.n;
        let (size, step) = match self.method {
            Method::Revised => (1e-6, 0.618_033_988_749_894_9),
            Method::RowGeneration => (1e-5, 0.414_213_562_373_095_1),
            Method::Bland => return,
        };
        // Relative to the costs, but well above the dual tolerance (an absolute 1e-10) even
        // when every cost is tiny: a perturbation near the tolerance breaks no ties, and the
        // dual simplex cycled on such deep-network LPs.
        let base = (size * self.cost_scale()).max(100.0 * super::DUAL_TOL);
        for k in 0..n {
            let u = ((k as f64 + 1.0) * step).fract();
            let xi = base * (1.0 + u);
            let v = self.nonbasic[k];
            let at_upper = v < n && self.nb_val[k] == self.p.upper[v] && self.p.upper[v] != self.p.lower[v];
            if at_upper {
                self.d[k] += xi;
            } else {
                self.d[k] -= xi;
            }
        }
        self.perturbed = true;
    }

    /// Put every nonbasic structural variable at the bound its reduced cost prefers.
    pub(super) fn fix_dual_signs(&mut self) -> usize {
        let n = self.p.n;
        let mut moved = 0;
        for k in 0..n {
            let v = self.nonbasic[k];
            if v >= n {
                continue;
            }
            // Reduced costs within DUAL_TOL of zero count as zero: flipping on rounding noise
            // would move whole box edges back and forth.
            let want = if self.d[k] > super::DUAL_TOL {
                self.p.upper[v]
            } else if self.d[k] < -super::DUAL_TOL {
                self.p.lower[v]
            } else {
                self.nb_val[k]
            };
            if want != self.nb_val[k] {
                self.flip(k, want);
                moved += 1;
            }
        }
        moved
    }

    /// c·x at the current basic solution (feasible or not).
    pub(super) fn basic_objective(&self) -> f64 {
        let n = self.p.n;
        if self.method == Method::Revised {
            return dot(&self.cost, &self.rv.x);
        }
        let mut z = 0.0;
        for k in 0..n {
            if self.nonbasic[k] < n {
                z += self.cost[self.nonbasic[k]] * self.nb_val[k];
            }
        }
        for r in 0..self.rows() {
            if self.basic[r] < n {
                z += self.cost[self.basic[r]] * self.beta[r];
            }
        }
        z
    }

    /// Weak-duality bound for the current cost from the current basis' multipliers (zero on
    /// rows outside the working set, so it holds for the whole polytope).
    /// The row multipliers of the current basis (its nonbasic slacks' reduced costs), clipped at 0.
    pub(super) fn basis_duals(&self) -> Vec<f64> {
        let n = self.p.n;
        let mut duals = vec![0.0; self.p.m];
        for k in 0..n {
            let v = self.nonbasic[k];
            if v >= n {
                duals[v - n] = (-self.d[k]).max(0.0);
            }
        }
        duals
    }
}

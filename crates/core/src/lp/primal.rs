//! The primal simplex on the working set, from a primal feasible basis until optimal.

use super::{Failure, Method, Simplex, DUAL_TOL, PIVOT_TOL};

impl Simplex {
    /// How much the objective gains per unit move of nonbasic column `c` away from its bound
    /// (<= 0: not an entering candidate). A fixed variable (lower = upper) cannot move whatever
    /// its reduced cost: as a candidate its zero-length flip would repeat forever.
    pub(super) fn entering_gain(&self, c: usize) -> f64 {
        let n = self.p.n;
        let v = self.nonbasic[c];
        if self.lb(v) == self.ub(v) {
            0.0
        } else if self.nb_val[c] == self.lb(v) {
            self.d[c]
        } else if v < n {
            -self.d[c]
        } else {
            0.0
        }
    }

    /// Primal simplex from a primal-feasible basis (of the working-set LP).
    ///
    /// Entering column: primal Devex (gain² / weight, approximating steepest edge), or Bland
    /// (smallest variable index) while degenerate and throughout with Bland's method. Ratio test:
    /// Harris' two passes (largest pivot among the rows that block within the tolerance).
    pub(super) fn primal_simplex(&mut self) -> std::result::Result<(), Failure> {
        let n = self.p.n;
        let mut degenerate_run = 0usize;
        let mut flips = 0usize;
        self.primal_w.iter_mut().for_each(|w| *w = 1.0);
        self.best_progress = f64::NAN;
        loop {
            let m = self.rows();
            let bland = self.method == Method::Bland || degenerate_run > 50;
            let mut k = usize::MAX;
            let mut best = 0.0;
            let gain_tol = DUAL_TOL * (1.0 + self.cost_scale());
            for c in 0..n {
                let v = self.nonbasic[c];
                let gain = self.entering_gain(c);
                if gain > gain_tol {
                    if bland {
                        if k == usize::MAX || v < self.nonbasic[k] {
                            k = c;
                        }
                    } else if gain * gain / self.primal_w[c] > best {
                        best = gain * gain / self.primal_w[c];
                        k = c;
                    }
                }
            }
            if k == usize::MAX {
                return Ok(());
            }
            self.check_budget(1.0)?;
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
                // Bound flip: no basis change. Each flip raises the objective by gain·range > 0
                // and leaves the reduced costs alone, so a column flips at most once between
                // pivots; the count makes that a guarantee rather than an argument.
                flips += 1;
                if flips > 2 * n + 2 {
                    return Err(Failure::Numerical(format!("{} bound flips without a pivot", flips)));
                }
                let target = if sigma > 0.0 { self.ub(v) } else { self.lb(v) };
                self.flip(k, target);
                degenerate_run = 0;
                continue;
            }
            flips = 0;
            if !theta_max.is_finite() {
                return Err(Failure::Numerical(
                    "the objective is unbounded, which a boxed problem cannot be".to_string(),
                ));
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
                return Err(Failure::Numerical("the primal ratio test found no blocking row".to_string()));
            }
            degenerate_run = if r_theta.max(0.0) * best_a <= self.feas_tol { degenerate_run + 1 } else { 0 };
            let leave_val = if r_upper { self.ub(self.basic[r]) } else { self.lb(self.basic[r]) };
            self.pivot(r, k, leave_val);
            self.stats.primal_pivots += 1;
        }
    }
}

//! The dual simplex pieces shared by both implementations (revised and condensed tableau): the
//! bound-flipping ratio test and the verified proof of an empty region; and the dual simplex of
//! the condensed tableau.

use super::{dual_bound, Failure, Method, Simplex, DUAL_TOL, PIVOT_TOL};

/// Result of the dual ratio test on a pivot row.
pub(super) enum Ratio {
    /// Column `enter` enters the basis after the columns in `flips` move to their other bound.
    Enter { enter: usize, flips: Vec<usize> },
    /// The leaving row cannot reach its bound: the region looks empty.
    Empty(&'static str),
}

impl Simplex {
    /// Bound-flipping ("long step") dual ratio test on pivot row `alpha` (one entry per nonbasic
    /// column), for a leaving variable that must `increase` (else decrease) by `infeas`.
    ///
    /// Candidates are the nonbasic columns whose move in their free direction pushes the leaving
    /// variable towards its violated bound; their breakpoint is |d_k| / |α_k|. Boxed candidates
    /// whose breakpoints are passed flip to their other bound as long as the leaving variable
    /// stays infeasible, which lets one iteration make the progress of many on boxed problems
    /// such as a region inside [0, 1]^784. Among breakpoints tied with the stopping one, the
    /// largest pivot enters (Harris-style); with Bland's method the first breakpoint, smallest
    /// variable index among ties, and no flips.
    pub(super) fn dual_ratio(&self, alpha: &[f64], increase: bool, infeas: f64) -> Ratio {
        let mut cands = std::mem::take(&mut *self.cands.borrow_mut());
        let r = self.dual_ratio_in(alpha, increase, infeas, &mut cands);
        *self.cands.borrow_mut() = cands;
        r
    }

    fn dual_ratio_in(&self, alpha: &[f64], increase: bool, infeas: f64, cands: &mut Vec<(u64, u32)>) -> Ratio {
        let n = self.p.n;
        // Candidates as (ratio bits, column): ratios are >= 0, where the bits of an f64 order
        // like the value, so plain integer sorting orders by ratio, then column. The scan is
        // branch-free (a candidate is written always and kept when it qualifies): about half of
        // the columns qualify, in no predictable pattern.
        cands.clear();
        cands.resize(n, (0, 0));
        let mut len = 0;
        for k in 0..n {
            let a = alpha[k];
            let v = self.nonbasic[k];
            // A nonbasic slack sits at its lower bound 0 and can only grow.
            let at_lower = self.nb_val[k] == self.var_lower[v];
            // A fixed variable (lower = upper) cannot move: entering, it would leave again at
            // once, and Bland's rule could cycle through it.
            let movable = v >= n || self.p.upper[v] > self.p.lower[v];
            let qualifies = movable & (a.abs() > PIVOT_TOL) & (((a > 0.0) == at_lower) == increase);
            // A reduced cost of the wrong sign (within tolerance) counts as zero.
            let dk = if at_lower { -self.d[k] } else { self.d[k] };
            let dk = if dk > 0.0 { dk } else { 0.0 };
            cands[len] = ((dk / a.abs()).to_bits(), k as u32);
            len += qualifies as usize;
        }
        cands.truncate(len);
        if cands.is_empty() {
            return Ratio::Empty("cannot reach its bound");
        }
        let ratio = |c: (u64, u32)| f64::from_bits(c.0);
        let size = |c: (u64, u32)| alpha[c.1 as usize].abs();
        let tie = |c: (u64, u32)| DUAL_TOL / if size(c) > 1.0 { size(c) } else { 1.0 };
        if self.method == Method::Bland {
            let min_ratio = cands.iter().fold(f64::INFINITY, |a, &c| a.min(ratio(c)));
            let q = cands
                .iter()
                .filter(|&&c| ratio(c) <= min_ratio + tie(c))
                .min_by_key(|c| self.nonbasic[c.1 as usize])
                .map(|c| c.1 as usize)
                .unwrap();
            return Ratio::Enter { enter: q, flips: Vec::new() };
        }
        // Breakpoints in increasing order, sorted lazily a block at a time: the walk usually
        // stops after a few of several hundred candidates.
        let mut sorted = 0;
        let sort_upto = |cands: &mut Vec<(u64, u32)>, sorted: &mut usize, idx: usize| {
            while idx >= *sorted && *sorted < cands.len() {
                let rest = &mut cands[*sorted..];
                let block = 32.min(rest.len());
                if block < rest.len() {
                    rest.select_nth_unstable(block - 1);
                }
                rest[..block].sort_unstable();
                *sorted += block;
            }
        };
        // Walk the breakpoints: flipping a boxed variable consumes |α|·range of the
        // infeasibility; the first one that cannot be flipped enters the basis.
        let mut slope = infeas;
        let mut stop = cands.len();
        let mut idx = 0;
        while idx < cands.len() {
            sort_upto(cands, &mut sorted, idx);
            let k = cands[idx].1 as usize;
            let v = self.nonbasic[k];
            let range = self.ub(v) - self.lb(v);
            let a = alpha[k].abs();
            if range.is_finite() && slope - a * range > self.feas_tol {
                slope -= a * range;
                idx += 1;
            } else {
                stop = idx;
                break;
            }
        }
        if stop == cands.len() {
            return Ratio::Empty("stays infeasible with every variable at its best bound");
        }
        // Among breakpoints tied (within DUAL_TOL in ratio) with the stopping one, the largest
        // pivot, for stability (Harris-style).
        let stop_ratio = ratio(cands[stop]);
        let mut q = stop;
        let mut idx = stop;
        while idx < cands.len() {
            sort_upto(cands, &mut sorted, idx);
            if ratio(cands[idx]) > stop_ratio + tie(cands[idx]) {
                break;
            }
            if size(cands[idx]) > size(cands[q]) {
                q = idx;
            }
            idx += 1;
        }
        // The passed breakpoints flip (all before `stop`; a tied candidate chosen instead of
        // `stop` leaves `stop` unflipped, which keeps its dual sign within the tie tolerance).
        Ratio::Enter { enter: cands[q].1 as usize, flips: cands[..stop].iter().map(|c| c.1 as usize).collect() }
    }

    /// The leaving variable `var` (pivot row `alpha`) cannot reach its violated bound: the region
    /// looks empty. The row gives row multipliers y >= 0 (its coefficients on the tight rows'
    /// slacks, plus 1 on its own row when it is a slack) such that no point of the box satisfies
    /// Σ y_i (G_i x <= h_i). That is verified on the original data: the dual bound of the zero
    /// objective with these multipliers is negative, which no non-empty region allows.
    /// Unverified, it is a numerical failure (the next method decides).
    pub(super) fn empty(&self, var: usize, alpha: &[f64], to_upper: bool, why: &str) -> Failure {
        let n = self.p.n;
        let mut y = vec![0.0; self.p.m];
        if var >= n {
            y[var - n] = 1.0;
        }
        // Raising a slack must not help the leaving variable reach its bound; its coefficient
        // then has the sign that makes it a valid multiplier.
        let sign = if to_upper { 1.0 } else { -1.0 };
        for k in 0..n {
            let u = self.nonbasic[k];
            if u >= n {
                y[u - n] += (sign * alpha[k]).max(0.0);
            }
        }
        let zero = vec![0.0; n];
        let (bound, _) = dual_bound(&self.p.view(), &zero, &y);
        let what = if var >= n { format!("row {}", var - n) } else { format!("the bound of variable {}", var) };
        if bound < 0.0 {
            Failure::Empty(format!(
                "lp: the region is empty ({} {}; a combination of {} rows is violated everywhere on the box by {:e}); the constraints are infeasible",
                what,
                why,
                y.iter().filter(|&&t| t > 0.0).count(),
                -bound
            ))
        } else {
            Failure::Numerical(format!(
                "the region looked empty ({} {}) but the Farkas certificate does not verify",
                what, why
            ))
        }
    }

    /// Dual simplex of the condensed tableau, from a dual-feasible basis until the working-set
    /// LP is primal feasible. Pricing: dual Devex (largest infeasibility² / weight,
    /// approximating dual steepest edge ‖e_rᵀB⁻¹‖²); with Bland's method the infeasible basic
    /// variable of smallest index.
    pub(super) fn dual_simplex(&mut self) -> std::result::Result<(), Failure> {
        let n = self.p.n;
        let bland = self.method == Method::Bland;
        self.best_progress = f64::NAN;
        loop {
            let mut r = usize::MAX;
            let mut best_score = 0.0;
            let mut to_upper = false;
            let mut infeas = 0.0;
            for i in 0..self.rows() {
                let v = self.basic[i];
                let lbv = self.lb(v);
                let below = (lbv - self.feas_tol * (1.0 + lbv.abs())) - self.beta[i];
                let ubv = self.ub(v);
                let above =
                    if ubv.is_finite() { self.beta[i] - (ubv + self.feas_tol * (1.0 + ubv.abs())) } else { -1.0 };
                let (amount, up) = if below > 0.0 {
                    (lbv - self.beta[i], false)
                } else if above > 0.0 {
                    (self.beta[i] - ubv, true)
                } else {
                    continue;
                };
                let better = if bland {
                    r == usize::MAX || v < self.basic[r]
                } else {
                    amount * amount / self.dual_w[i] > best_score
                };
                if better {
                    best_score = amount * amount / self.dual_w[i];
                    r = i;
                    to_upper = up;
                    infeas = amount;
                }
            }
            if r == usize::MAX {
                return Ok(());
            }
            if self.early_stop() {
                return Ok(());
            }
            self.check_budget(-1.0)?;
            let alpha = self.tab[r * n..(r + 1) * n].to_vec();
            let (enter, flips) = match self.dual_ratio(&alpha, !to_upper, infeas) {
                Ratio::Enter { enter, flips } => (enter, flips),
                Ratio::Empty(why) => return Err(self.empty(self.basic[r], &alpha, to_upper, why)),
            };
            for k in flips {
                let v = self.nonbasic[k];
                let target = if self.nb_val[k] == self.lb(v) { self.ub(v) } else { self.lb(v) };
                self.flip(k, target);
            }
            let leave_val = if to_upper { self.ub(self.basic[r]) } else { self.lb(self.basic[r]) };
            self.pivot(r, enter, leave_val);
            self.fix_dual_signs();
        }
    }

    /// With a stop threshold set: true when the current basis certifies a bound below it. The
    /// objective of a dual feasible basic solution is the dual objective; once it is below the
    /// threshold, the basis' multipliers are checked by a weak-duality bound.
    pub(super) fn early_stop(&mut self) -> bool {
        if let Some(threshold) = self.stop_below {
            if self.pivots % 8 == 0 && self.basic_objective() <= threshold {
                let duals = self.basis_duals();
                let bound = dual_bound(&self.p.view(), &self.cost, &duals).0;
                if bound <= threshold {
                    self.stopped_at = Some(bound);
                    self.stop_duals = duals;
                    return true;
                }
            }
        }
        false
    }

    /// Budget and stall control of the current method, before each pivot. The objective of the
    /// basic solution falls in the dual simplex (`sense` −1) and rises in the primal (+1); a long
    /// run of pivots without net progress is a stall (cycling among degenerate bases), handed to
    /// the next method long before the pivot budget would end it.
    pub(super) fn check_budget(&mut self, sense: f64) -> std::result::Result<(), Failure> {
        if self.pivots >= self.budget_end {
            return Err(Failure::Limit(format!("pivot limit reached ({} tight rows)", self.tight_count())));
        }
        let z = sense * self.basic_objective();
        if z > self.best_progress + 1e-11 * (1.0 + self.best_progress.abs()) || self.best_progress.is_nan() {
            self.best_progress = z;
            self.last_progress = self.pivots;
        } else if self.pivots - self.last_progress > self.stall_window() {
            return Err(Failure::Limit(format!(
                "stalled: {} pivots without progress of the objective ({} tight rows)",
                self.pivots - self.last_progress,
                self.tight_count()
            )));
        }
        Ok(())
    }

    fn stall_window(&self) -> usize {
        (self.p.m + self.p.n).max(1000)
    }
}

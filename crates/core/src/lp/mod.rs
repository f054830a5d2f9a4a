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
    /// Devex reference weights: dual (per basic row) and primal (per nonbasic column). They
    /// approximate steepest-edge norms at O(rows + columns) per pivot.
    dual_w: Vec<f64>,
    primal_w: Vec<f64>,
    /// When set, the dual simplex stops as soon as a certified bound <= this value is found.
    stop_below: Option<f64>,
    /// The certified bound that triggered the stop.
    stopped_at: Option<f64>,
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
            dual_w: vec![1.0; m],
            primal_w: vec![1.0; n],
            stop_below: None,
            stopped_at: None,
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

    fn iteration_limit(&self) -> usize {
        20 * (self.p.m + self.p.n) + 1000
    }

    /// Dual simplex from a dual-feasible basis until primal feasible.
    ///
    /// Pricing: dual Devex (largest infeasibility² / weight, approximating dual steepest edge
    /// ‖e_rᵀB⁻¹‖²). Ratio test: bound flipping ("long step"): boxed nonbasic variables whose
    /// breakpoints are passed are flipped to their other bound as long as the leaving row stays
    /// infeasible, which lets one iteration make the progress of many on boxed problems such as
    /// a region inside [0, 1]^784.
    fn dual_simplex(&mut self) -> Result<()> {
        let n = self.p.n;
        let limit = self.pivots + self.iteration_limit();
        let mut cands: Vec<(f64, usize, f64)> = Vec::with_capacity(n);
        self.dual_w.iter_mut().for_each(|w| *w = 1.0);
        loop {
            let mut r = usize::MAX;
            let mut best_score = 0.0;
            let mut to_upper = false;
            let mut infeas = 0.0;
            for i in 0..self.p.m {
                let v = self.basic[i];
                let lbv = self.lb(v);
                let below = (lbv - self.feas_tol * (1.0 + lbv.abs())) - self.beta[i];
                let ubv = self.ub(v);
                let above = if ubv.is_finite() { self.beta[i] - (ubv + self.feas_tol * (1.0 + ubv.abs())) } else { -1.0 };
                let (amount, up) = if below > 0.0 {
                    (lbv - self.beta[i], false)
                } else if above > 0.0 {
                    (self.beta[i] - ubv, true)
                } else {
                    continue;
                };
                let score = amount * amount / self.dual_w[i];
                if score > best_score {
                    best_score = score;
                    r = i;
                    to_upper = up;
                    infeas = amount;
                }
            }
            if r == usize::MAX {
                return Ok(());
            }
            if let Some(threshold) = self.stop_below {
                // The objective of the current (dual feasible) basic solution is the dual
                // objective: once it is below the threshold, certify with the basis' multipliers.
                if self.pivots % 8 == 0 && self.basic_objective() <= threshold {
                    let bound = self.certified_bound();
                    if bound <= threshold {
                        self.stopped_at = Some(bound);
                        return Ok(());
                    }
                }
            }
            if self.pivots >= limit {
                return Err(Error::Lp(format!("lp: dual simplex reached its iteration limit ({} pivots, {} rows, {} variables)", self.pivots, self.p.m, n)));
            }
            // Candidates: nonbasic columns whose move in their free direction pushes row r
            // towards its violated bound; their breakpoint is |d_k| / |α_k|.
            let increase = !to_upper;
            cands.clear();
            for k in 0..n {
                let a = self.tab[r * n + k];
                if a.abs() <= PIVOT_TOL {
                    continue;
                }
                let v = self.nonbasic[k];
                let at_lower = self.nb_val[k] == self.lb(v);
                if v >= n && !at_lower {
                    continue;
                }
                if ((a > 0.0) == at_lower) != increase {
                    continue;
                }
                // A reduced cost of the wrong sign (within tolerance) counts as zero.
                let dk = if at_lower { (-self.d[k]).max(0.0) } else { self.d[k].max(0.0) };
                cands.push((dk / a.abs(), k, a.abs()));
            }
            if cands.is_empty() {
                return Err(Error::Lp(format!("lp: the region is empty (row {} cannot reach its bound); the constraints are infeasible", r)));
            }
            cands.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(std::cmp::Ordering::Equal));
            // Walk the breakpoints: flipping a boxed variable consumes |α|·range of the
            // infeasibility; the first one that cannot be flipped enters the basis.
            let mut slope = infeas;
            let mut stop = cands.len();
            for (idx, &(_, k, a)) in cands.iter().enumerate() {
                let v = self.nonbasic[k];
                let range = self.ub(v) - self.lb(v);
                if range.is_finite() && slope - a * range > self.feas_tol {
                    slope -= a * range;
                } else {
                    stop = idx;
                    break;
                }
            }
            if stop == cands.len() {
                return Err(Error::Lp(format!(
                    "lp: the region is empty (row {} stays infeasible with every variable at its best bound); the constraints are infeasible",
                    r
                )));
            }
            // Among breakpoints tied (within DUAL_TOL in ratio) with the stopping one, take the
            // largest pivot for stability (Harris-style).
            let stop_ratio = cands[stop].0;
            let mut q = stop;
            for idx in stop..cands.len() {
                if cands[idx].0 > stop_ratio + DUAL_TOL / cands[idx].2.max(1.0) {
                    break;
                }
                if cands[idx].2 > cands[q].2 {
                    q = idx;
                }
            }
            // Flip the passed breakpoints (all before `stop`; a tied candidate chosen instead of
            // `stop` leaves `stop` unflipped, which keeps its dual sign within the tie tolerance).
            for idx in 0..stop {
                let k = cands[idx].1;
                let v = self.nonbasic[k];
                let target = if self.nb_val[k] == self.lb(v) { self.ub(v) } else { self.lb(v) };
                let delta = target - self.nb_val[k];
                for i in 0..self.p.m {
                    self.beta[i] += self.tab[i * n + k] * delta;
                }
                self.nb_val[k] = target;
            }
            let enter = cands[q].1;
            let leave_val = if to_upper { self.ub(self.basic[r]) } else { self.lb(self.basic[r]) };
            self.pivot(r, enter, leave_val);
            self.fix_dual_signs();
        }
    }

    fn reset_to_slack_basis(&mut self) {
        let (n, m) = (self.p.n, self.p.m);
        for i in 0..m {
            for k in 0..n {
                self.tab[i * n + k] = -self.p.g[i * n + k];
            }
        }
        self.t0.copy_from_slice(&self.p.h);
        self.basic = (0..m).map(|i| n + i).collect();
        self.nonbasic = (0..n).collect();
        self.nb_val.copy_from_slice(&self.p.lower);
    }

    fn perturb_costs(&mut self) {
        let n = self.p.n;
        let scale = self.cost_scale().max(1e-12);
        for k in 0..n {
            // Golden-ratio sequence: distinct, deterministic amounts in [1, 2) × 1e-7 × scale.
            let u = ((k as f64 + 1.0) * 0.618_033_988_749_894_9).fract();
            let xi = 1e-7 * scale * (1.0 + u);
            let v = self.nonbasic[k];
            let at_upper = v < n && self.nb_val[k] == self.p.upper[v] && self.p.upper[v] != self.p.lower[v];
            if at_upper {
                self.d[k] += xi;
            } else {
                self.d[k] -= xi;
            }
        }
    }

    /// Put every nonbasic structural variable at the bound its reduced cost prefers.
    fn fix_dual_signs(&mut self) -> usize {
        let n = self.p.n;
        let mut moved = 0;
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
                moved += 1;
            }
        }
        moved
    }

    /// Primal simplex from a primal-feasible basis.
    fn primal_simplex(&mut self) -> Result<()> {
        let n = self.p.n;
        let m = self.p.m;
        let limit = self.pivots + self.iteration_limit();
        let mut degenerate_run = 0usize;
        self.primal_w.iter_mut().for_each(|w| *w = 1.0);
        loop {
            // Entering column: primal Devex (gain² / weight, approximating steepest edge), or
            // Bland (smallest variable index) while degenerate.
            let bland = degenerate_run > 50;
            let mut k = usize::MAX;
            let mut best = 0.0;
            let gain_tol = DUAL_TOL * (1.0 + self.cost_scale());
            for c in 0..n {
                let v = self.nonbasic[c];
                let at_lower = self.nb_val[c] == self.lb(v);
                let gain = if at_lower { self.d[c] } else if v < n { -self.d[c] } else { 0.0 };
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
            // Dual degeneracy (many zero reduced costs) makes the dual simplex stall or cycle on
            // region LPs. Perturb the costs slightly, in the direction that keeps the start dual
            // feasible; the true costs are restored below and the primal simplex removes the
            // few dual infeasibilities this leaves. Deterministic, so results are reproducible.
            self.perturb_costs();
            self.refresh_beta();
            self.dual_simplex()?;
            if self.stopped_at.is_some() {
                // Stopped early with a certified bound: the basis is not optimal; the caller
                // only wants the bound. Mark the state as fresh-unusable for warm starts.
                self.fresh = true;
                self.reset_to_slack_basis();
                return Ok(LpSolution { lower: f64::NEG_INFINITY, upper: self.stopped_at.unwrap(), margin: 0.0, x: Vec::new(), duals: Vec::new(), infeasibility: 0.0, pivots: self.pivots });
            }
            self.refresh_beta();
            self.reduced_costs();
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

    /// c·x at the current basic solution (feasible or not).
    fn basic_objective(&self) -> f64 {
        let n = self.p.n;
        let mut z = 0.0;
        for k in 0..n {
            if self.nonbasic[k] < n {
                z += self.cost[self.nonbasic[k]] * self.nb_val[k];
            }
        }
        for i in 0..self.p.m {
            if self.basic[i] < n {
                z += self.cost[self.basic[i]] * self.beta[i];
            }
        }
        z
    }

    /// Weak-duality bound for the current cost from the current basis' multipliers.
    fn certified_bound(&self) -> f64 {
        let n = self.p.n;
        let mut duals = vec![0.0; self.p.m];
        for k in 0..n {
            let v = self.nonbasic[k];
            if v >= n {
                duals[v - n] = (-self.d[k]).max(0.0);
            }
        }
        dual_bound(&self.p.view(), &self.cost, &duals).0
    }

    /// Either a certified upper bound <= `threshold` on max c·x (found by a cold dual simplex
    /// that stops early: its objective only decreases), or the full solution when the maximum
    /// is above the threshold. Only on a fresh simplex.
    pub fn maximize_unless_below(&mut self, c: &[f64], threshold: f64) -> Result<std::result::Result<LpSolution, f64>> {
        if !self.fresh {
            return Ok(Ok(self.maximize(c)?));
        }
        self.stop_below = Some(threshold);
        self.stopped_at = None;
        let res = self.maximize(c);
        self.stop_below = None;
        let sol = res?;
        Ok(match self.stopped_at.take() {
            Some(b) => Err(b),
            None => Ok(sol),
        })
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

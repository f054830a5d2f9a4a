//! The primary method: a revised bounded simplex whose basis is factorised through its kernel
//! K = G[T, S] (tight rows × basic structurals, see [`kernel`](super::kernel)).
//!
//! State: the structural values x (nonbasic ones at a bound) and the slacks s = h − G x of
//! *every* row, kept current by sparse updates, so pricing sees all rows at O(m) per iteration
//! and no row has to be in a tableau to be chosen. An iteration computes only what it needs:
//!
//! * the pivot row of the leaving variable over the n nonbasic columns, O(k·n): for a basic
//!   structural x_S[p] it is −ρ G[T, ·] with ρ = M[p, ·]; for the slack of row i it is
//!   −G_i + ρ G[T, ·] with ρ = G[i, S] M;
//! * the column of the entering variable, O(k² + m·k): w = M G[T, e] moves x_S by −w, and the
//!   slacks by −G (Δx) through a column-major copy of G;
//! * an O(k²) update of M (one row or column of K replaced, or K growing or shrinking by one).
//!
//! So an iteration costs O(k·(n + m)) where the condensed tableau costs O(m·n); k is the number
//! of tight rows, a few dozen at the optimum of a region LP. Values and M are recomputed from the
//! data every [`REFACTOR_EVERY`] updates (and before a solution is returned), so rounding does
//! not accumulate; a pivot whose row and column disagree beyond 1e-7 relative triggers the same
//! refactorisation.

use super::kernel::Kernel;
use super::{Failure, Method, Simplex, DUAL_TOL, PIVOT_TOL};
use crate::linalg::{axpy, axpy2, dot, max_scaled_square};
use std::sync::Arc;

pub(super) const NONE: usize = usize::MAX;
const REFACTOR_EVERY: usize = 64;

/// A basic variable: a structural by its position in S, or the slack of a row outside T.
#[derive(Clone, Copy, Debug)]
pub(super) enum Basic {
    Structural(usize),
    Slack(usize),
}

/// State of the revised method (kept beside the shared column data of [`Simplex`]).
pub(super) struct Revised {
    pub kernel: Kernel,
    /// S: basic structurals, by position.
    pub s_set: Vec<usize>,
    /// T: tight rows (slack nonbasic at 0), by position.
    pub t_set: Vec<usize>,
    /// Position of each variable in S (structural) or T (slack of row i at index n + i), or
    /// NONE.
    pub pos: Vec<usize>,
    /// Structural values (all of them) and the slack of every row (0 on T).
    pub x: Vec<f64>,
    pub slack: Vec<f64>,
    /// Dual Devex weights of the basic variables, by variable.
    pub weight: Vec<f64>,
    /// max_i (G_i x − h_i)⁺ over all rows at the last refactorisation (the same arithmetic as
    /// [`Polytope::violation`](super::Polytope::violation)).
    pub violation: f64,
    /// Column-major copy of G (gt[j·m + i] = G[i][j]), shared with the siblings, fetched on
    /// the first pivot.
    pub gt: Arc<Vec<f64>>,
    /// Scratch: pivot row, ρ, w = M b, b, slack direction, accumulator.
    alpha: Vec<f64>,
    rho: Vec<f64>,
    w: Vec<f64>,
    b: Vec<f64>,
    ds: Vec<f64>,
    acc: Vec<f64>,
}

/// A basis of the revised method, detached from its simplex: the tight rows, the basic
/// structurals and M = G[T, S]⁻¹ (k × k, row p over T positions).
pub(super) struct BasisHint {
    t_set: Vec<usize>,
    s_set: Vec<usize>,
    minv: Vec<f64>,
}

impl BasisHint {
    /// Row multipliers for objective c from this basis: y = c_Sᵀ M on the tight rows, clipped at
    /// 0 (any λ >= 0 gives a valid weak-duality bound; this one is tight when the basis is
    /// optimal for c).
    pub fn multipliers(&self, c: &[f64], duals: &mut [f64]) {
        let k = self.t_set.len();
        let mut y = vec![0.0; k];
        for p in 0..k {
            let cp = c[self.s_set[p]];
            if cp != 0.0 {
                axpy(cp, &self.minv[p * k..(p + 1) * k], &mut y);
            }
        }
        for q in 0..k {
            duals[self.t_set[q]] = y[q].max(0.0);
        }
    }
}

impl Revised {
    pub fn hint(&self) -> BasisHint {
        let k = self.t_set.len();
        let mut minv = Vec::with_capacity(k * k);
        for p in 0..k {
            minv.extend_from_slice(self.kernel.row(p));
        }
        BasisHint { t_set: self.t_set.clone(), s_set: self.s_set.clone(), minv }
    }

    pub fn new(n: usize, m: usize) -> Revised {
        Revised {
            kernel: Kernel::new(),
            s_set: Vec::new(),
            t_set: Vec::new(),
            pos: vec![NONE; n + m],
            x: vec![0.0; n],
            slack: vec![0.0; m],
            weight: vec![1.0; n + m],
            violation: f64::INFINITY,
            gt: Arc::new(Vec::new()),
            alpha: vec![0.0; n],
            rho: Vec::new(),
            w: Vec::new(),
            b: Vec::new(),
            ds: vec![0.0; m],
            acc: vec![0.0; n],
        }
    }
}

impl Simplex {
    /// Cold start: no tight rows, every structural nonbasic at the bound its reduced cost
    /// prefers (dual feasible), the slacks of all rows at that box vertex.
    pub(super) fn revised_cold_start(&mut self) {
        let (n, m) = (self.p.n, self.p.m);
        let rv = &mut self.rv;
        rv.kernel.clear();
        rv.s_set.clear();
        rv.t_set.clear();
        rv.pos.iter_mut().for_each(|v| *v = NONE);
        rv.weight.iter_mut().for_each(|v| *v = 1.0);
        self.nonbasic = (0..n).collect();
        self.primal_w.iter_mut().for_each(|w| *w = 1.0);
        self.perturbed = false;
        self.d.copy_from_slice(&self.cost);
        for j in 0..n {
            self.nb_val[j] = if self.d[j] > DUAL_TOL { self.p.upper[j] } else { self.p.lower[j] };
        }
        self.rv.x.copy_from_slice(&self.nb_val);
        for i in 0..m {
            self.rv.slack[i] = self.p.h[i] - dot(&self.p.g[i * n..(i + 1) * n], &self.rv.x);
        }
    }

    fn ensure_transpose(&mut self) {
        if self.rv.gt.len() != self.p.n * self.p.m {
            self.rv.gt = self.p.transpose();
        }
    }

    /// Recompute M from G[T, S], then x_S from the nonbasic values and every slack from x.
    pub(super) fn revised_refactor(&mut self) -> std::result::Result<(), Failure> {
        let (n, m) = (self.p.n, self.p.m);
        let k = self.rv.t_set.len();
        let mut kmat = vec![0.0; k * k];
        for q in 0..k {
            let row = &self.p.g[self.rv.t_set[q] * n..(self.rv.t_set[q] + 1) * n];
            for p in 0..k {
                kmat[q * k + p] = row[self.rv.s_set[p]];
            }
        }
        if !self.rv.kernel.factor(&kmat, k) {
            return Err(Failure::Numerical(format!("the basis kernel ({} tight rows) became singular", k)));
        }
        for &j in &self.rv.s_set {
            self.rv.x[j] = 0.0;
        }
        // Rows are dotted over their windows (the same bits, see `row_windows`) when x is
        // finite; it always is but for a failure that the checks below then report as before.
        let windows = if self.rv.x.iter().all(|v| v.is_finite()) { Some(self.p.row_windows()) } else { None };
        let row_dot = |i: usize, x: &[f64]| match &windows {
            Some(w) => {
                let (lo, hi) = (w[i].0 as usize, w[i].1 as usize);
                dot(&self.p.g[i * n + lo..i * n + hi], &x[lo..hi])
            }
            None => dot(&self.p.g[i * n..(i + 1) * n], x),
        };
        let mut rhs = vec![0.0; k];
        for q in 0..k {
            let t = self.rv.t_set[q];
            rhs[q] = self.p.h[t] - row_dot(t, &self.rv.x);
        }
        let mut xs = vec![0.0; k];
        self.rv.kernel.times(&rhs, &mut xs);
        for p in 0..k {
            self.rv.x[self.rv.s_set[p]] = xs[p];
        }
        let windows = if windows.is_some() && self.rv.x.iter().all(|v| v.is_finite()) { windows } else { None };
        let mut violation: f64 = 0.0;
        for i in 0..m {
            let d = match &windows {
                Some(w) => {
                    let (lo, hi) = (w[i].0 as usize, w[i].1 as usize);
                    dot(&self.p.g[i * n + lo..i * n + hi], &self.rv.x[lo..hi])
                }
                None => dot(&self.p.g[i * n..(i + 1) * n], &self.rv.x),
            };
            self.rv.slack[i] = self.p.h[i] - d;
            violation = violation.max(-self.rv.slack[i]);
        }
        self.rv.violation = violation;
        for &t in &self.rv.t_set {
            self.rv.slack[t] = 0.0;
        }
        Ok(())
    }

    /// Reduced costs from scratch: y = c_Sᵀ M (the multipliers of the tight rows), then
    /// d_j = c_j − y·G[T, j] for nonbasic structurals and −y_q for the slack of T[q].
    pub(super) fn revised_reduced_costs(&mut self) {
        let n = self.p.n;
        let k = self.rv.t_set.len();
        let cs: Vec<f64> = self.rv.s_set.iter().map(|&j| self.cost[j]).collect();
        let mut y = vec![0.0; k];
        self.rv.kernel.left_times(&cs, &mut y);
        let mut acc = self.cost.clone();
        for q in 0..k {
            if y[q] != 0.0 {
                let t = self.rv.t_set[q];
                axpy(-y[q], &self.p.g[t * n..(t + 1) * n], &mut acc);
            }
        }
        for c in 0..n {
            let v = self.nonbasic[c];
            self.d[c] = if v < n { acc[v] } else { -y[self.rv.pos[v]] };
        }
    }

    pub(super) fn revised_feasible(&self, slackness: f64) -> bool {
        let n = self.p.n;
        let tol = self.feas_tol * slackness;
        self.rv.s_set.iter().all(|&j| {
            self.rv.x[j] >= self.p.lower[j] - tol * (1.0 + self.p.lower[j].abs())
                && self.rv.x[j] <= self.p.upper[j] + tol * (1.0 + self.p.upper[j].abs())
        }) && (0..self.p.m).all(|i| self.rv.pos[n + i] != NONE || self.rv.slack[i] >= -tol)
    }

    /// The basic variable to leave in the dual simplex: dual Devex pricing over the basic
    /// structurals and the slacks of all rows (or Bland's smallest index). With the direction:
    /// true when it must decrease to its upper bound, and the infeasibility.
    fn revised_leaving(&self) -> Option<(Basic, bool, f64)> {
        let n = self.p.n;
        let bland = self.method == Method::Bland;
        let mut best: Option<(Basic, bool, f64)> = None;
        let mut best_score = 0.0;
        let mut best_var = NONE;
        for (p, &j) in self.rv.s_set.iter().enumerate() {
            let (l, u, v) = (self.p.lower[j], self.p.upper[j], self.rv.x[j]);
            let (amount, up) = if v < l - self.feas_tol * (1.0 + l.abs()) {
                (l - v, false)
            } else if v > u + self.feas_tol * (1.0 + u.abs()) {
                (v - u, true)
            } else {
                continue;
            };
            let score = amount * amount / self.rv.weight[j];
            if (bland && j < best_var) || (!bland && score > best_score) {
                best = Some((Basic::Structural(p), up, amount));
                best_score = score;
                best_var = j;
            }
        }
        for i in 0..self.p.m {
            let s = self.rv.slack[i];
            if s >= -self.feas_tol || self.rv.pos[n + i] != NONE {
                continue;
            }
            let score = s * s / self.rv.weight[n + i];
            if (bland && n + i < best_var) || (!bland && score > best_score) {
                best = Some((Basic::Slack(i), false, -s));
                best_score = score;
                best_var = n + i;
            }
        }
        best
    }

    fn var_of(&self, b: Basic) -> usize {
        match b {
            Basic::Structural(p) => self.rv.s_set[p],
            Basic::Slack(i) => self.p.n + i,
        }
    }

    fn value_of(&self, b: Basic) -> f64 {
        match b {
            Basic::Structural(p) => self.rv.x[self.rv.s_set[p]],
            Basic::Slack(i) => self.rv.slack[i],
        }
    }

    /// Pivot row of basic variable `b` over the nonbasic columns into `rv.alpha` (and ρ).
    fn pivot_row(&mut self, b: Basic) {
        let n = self.p.n;
        let k = self.rv.t_set.len();
        let rv = &mut self.rv;
        rv.rho.resize(k.max(rv.rho.len()), 0.0);
        let slack_sign;
        match b {
            Basic::Structural(p) => {
                rv.rho[..k].copy_from_slice(rv.kernel.row(p));
                rv.acc.iter_mut().for_each(|v| *v = 0.0);
                for q in 0..k {
                    if rv.rho[q] != 0.0 {
                        let t = rv.t_set[q];
                        axpy(-rv.rho[q], &self.p.g[t * n..(t + 1) * n], &mut rv.acc);
                    }
                }
                slack_sign = -1.0;
            }
            Basic::Slack(i) => {
                let gi = &self.p.g[i * n..(i + 1) * n];
                let c: Vec<f64> = rv.s_set.iter().map(|&j| gi[j]).collect();
                rv.kernel.left_times(&c, &mut rv.rho);
                for j in 0..n {
                    rv.acc[j] = -gi[j];
                }
                for q in 0..k {
                    if rv.rho[q] != 0.0 {
                        let t = rv.t_set[q];
                        axpy(rv.rho[q], &self.p.g[t * n..(t + 1) * n], &mut rv.acc);
                    }
                }
                slack_sign = 1.0;
            }
        }
        for c in 0..n {
            let v = self.nonbasic[c];
            rv.alpha[c] = if v < n { rv.acc[v] } else { slack_sign * rv.rho[rv.pos[v]] };
        }
    }

    /// Column of the variable in nonbasic column `c`: per unit increase, x_S moves by −w
    /// (`rv.w`) and the slacks by `rv.ds` (0 on T, 1 on the entering slack itself).
    fn direction(&mut self, c: usize) {
        self.ensure_transpose();
        let (n, m) = (self.p.n, self.p.m);
        let k = self.rv.t_set.len();
        let v = self.nonbasic[c];
        let rv = &mut self.rv;
        rv.w.resize(k.max(rv.w.len()), 0.0);
        rv.b.resize(k.max(rv.b.len()), 0.0);
        if v < n {
            let col = &rv.gt[v * m..(v + 1) * m];
            for q in 0..k {
                rv.b[q] = col[rv.t_set[q]];
            }
            rv.kernel.times(&rv.b, &mut rv.w);
            for i in 0..m {
                rv.ds[i] = -rv.gt[v * m + i];
            }
        } else {
            let q0 = rv.pos[v];
            for p in 0..k {
                rv.w[p] = rv.kernel.at(p, q0);
            }
            rv.ds.iter_mut().for_each(|x| *x = 0.0);
        }
        for p in 0..k {
            if rv.w[p] != 0.0 {
                let j = rv.s_set[p];
                axpy(rv.w[p], &rv.gt[j * m..(j + 1) * m], &mut rv.ds);
            }
        }
        for &t in &rv.t_set {
            rv.ds[t] = 0.0;
        }
        if v >= n {
            rv.ds[v - n] = 1.0;
        }
    }

    /// Component of basic variable `b` in the current direction.
    fn direction_of(&self, b: Basic) -> f64 {
        match b {
            Basic::Structural(p) => -self.rv.w[p],
            Basic::Slack(i) => self.rv.ds[i],
        }
    }

    /// Moves nonbasic columns to new values (bound flips), updating x_S and all slacks.
    fn revised_move(&mut self, moves: &[(usize, f64)]) {
        if moves.is_empty() {
            return;
        }
        self.ensure_transpose();
        let (n, m) = (self.p.n, self.p.m);
        let k = self.rv.t_set.len();
        let rv = &mut self.rv;
        rv.b.resize(k.max(rv.b.len()), 0.0);
        rv.w.resize(k.max(rv.w.len()), 0.0);
        rv.b[..k].iter_mut().for_each(|v| *v = 0.0);
        for &(c, target) in moves {
            let v = self.nonbasic[c];
            debug_assert!(v < n);
            let delta = target - self.nb_val[c];
            self.nb_val[c] = target;
            rv.x[v] = target;
            let col = &rv.gt[v * m..(v + 1) * m];
            for q in 0..k {
                rv.b[q] += delta * col[rv.t_set[q]];
            }
            axpy(-delta, col, &mut rv.slack);
        }
        rv.kernel.times(&rv.b, &mut rv.w);
        for p in 0..k {
            if rv.w[p] != 0.0 {
                let j = rv.s_set[p];
                rv.x[j] -= rv.w[p];
                axpy(rv.w[p], &rv.gt[j * m..(j + 1) * m], &mut rv.slack);
            }
        }
        for &t in &rv.t_set {
            rv.slack[t] = 0.0;
        }
    }

    /// Nonbasic structurals to the bound their reduced cost prefers.
    pub(super) fn revised_fix_signs(&mut self) {
        let n = self.p.n;
        let mut moves = Vec::new();
        for c in 0..n {
            let v = self.nonbasic[c];
            if v >= n {
                continue;
            }
            let want = if self.d[c] > DUAL_TOL {
                self.p.upper[v]
            } else if self.d[c] < -DUAL_TOL {
                self.p.lower[v]
            } else {
                self.nb_val[c]
            };
            if want != self.nb_val[c] {
                moves.push((c, want));
            }
        }
        self.revised_move(&moves);
    }

    /// A primal simplex pivot: values move along the column (`direction`) until `leave` reaches
    /// `target`, then the basis changes. Returns false, changing nothing, when the pivot row and
    /// column disagree (the caller refactors).
    fn revised_pivot(&mut self, leave: Basic, c: usize, target: f64) -> bool {
        let n = self.p.n;
        let a_col = self.direction_of(leave);
        let a_row = self.rv.alpha[c];
        if !((a_col - a_row).abs() <= 1e-7 * a_row.abs().max(1.0)) || a_row.abs() <= PIVOT_TOL {
            return false;
        }
        let entering = self.nonbasic[c];
        let theta = (target - self.value_of(leave)) / a_col;
        let k = self.rv.t_set.len();
        let rv = &mut self.rv;
        if entering < n {
            rv.x[entering] += theta;
        }
        for p in 0..k {
            rv.x[rv.s_set[p]] -= theta * rv.w[p];
        }
        axpy(theta, &rv.ds, &mut rv.slack);
        self.revised_change(leave, c, target, a_col, a_row, true);
        true
    }

    /// The basis change after the values moved: Devex weights (primal ones from the row in the
    /// primal simplex, dual ones from the column in the dual), reduced costs from the row, the
    /// kernel and the sets.
    fn revised_change(&mut self, leave: Basic, c: usize, target: f64, a_col: f64, a_row: f64, primal: bool) {
        let n = self.p.n;
        let k = self.rv.t_set.len();
        let entering = self.nonbasic[c];
        let leaving = self.var_of(leave);
        if primal {
            // Primal Devex weights of the columns, from the row.
            let wk = self.primal_w[c];
            let inv = 1.0 / a_row;
            max_scaled_square(inv, wk, &self.rv.alpha, &mut self.primal_w);
            self.primal_w[c] = (wk * inv * inv).max(1.0);
        } else {
            // Dual Devex weights of the basic variables, from the column.
            let wr = self.rv.weight[leaving];
            let inv = 1.0 / a_col;
            for p in 0..k {
                let j = self.rv.s_set[p];
                let ratio = self.rv.w[p] * inv;
                let cand = ratio * ratio * wr;
                if cand > self.rv.weight[j] {
                    self.rv.weight[j] = cand;
                }
            }
            max_scaled_square(inv, wr, &self.rv.ds, &mut self.rv.weight[n..]);
            self.rv.weight[entering] = (wr * inv * inv).max(1.0);
        }
        // Reduced costs from the row: d −= (d_q / α_q) α, and the leaving variable's own.
        let dq = self.d[c];
        axpy(-dq / a_row, &self.rv.alpha, &mut self.d);
        self.d[c] = dq / a_row;
        // The kernel and the sets.
        let rv = &mut self.rv;
        match leave {
            Basic::Structural(p) => {
                rv.x[leaving] = target;
                if entering < n {
                    rv.kernel.replace_column(p, &rv.w);
                    rv.s_set[p] = entering;
                    rv.pos[entering] = p;
                } else {
                    let q0 = rv.pos[entering];
                    rv.kernel.shrink(p, q0);
                    rv.s_set.swap_remove(p);
                    if p < rv.s_set.len() {
                        rv.pos[rv.s_set[p]] = p;
                    }
                    rv.t_set.swap_remove(q0);
                    if q0 < rv.t_set.len() {
                        rv.pos[n + rv.t_set[q0]] = q0;
                    }
                    rv.pos[entering] = NONE;
                }
                rv.pos[leaving] = NONE;
            }
            Basic::Slack(i) => {
                rv.slack[i] = 0.0;
                if entering < n {
                    let sigma = self.p.g[i * n + entering] - dot(&rv.rho[..k], &rv.b[..k]);
                    rv.kernel.grow(&rv.w, &rv.rho, sigma);
                    rv.s_set.push(entering);
                    rv.pos[entering] = k;
                    rv.t_set.push(i);
                    rv.pos[leaving] = k;
                } else {
                    let q0 = rv.pos[entering];
                    rv.kernel.replace_row(q0, &rv.rho);
                    rv.t_set[q0] = i;
                    rv.pos[leaving] = q0;
                    rv.pos[entering] = NONE;
                }
            }
        }
        self.nonbasic[c] = leaving;
        self.nb_val[c] = target;
        self.pivots += 1;
    }

    /// One dual simplex iteration after the ratio test: the columns `flips` move to their other
    /// bound and the variable of column `c` enters while `leave` goes to `target`. The flips and
    /// the step share one pass over the columns of G that change (the flipped ones, the entering
    /// one, and S, which also yields the entering column for the Devex weights). Returns false,
    /// changing nothing, when the pivot row and column disagree.
    fn revised_dual_step(&mut self, leave: Basic, target: f64, c: usize, flips: &[usize]) -> bool {
        self.ensure_transpose();
        let (n, m) = (self.p.n, self.p.m);
        let k = self.rv.t_set.len();
        let e = self.nonbasic[c];
        // The flips: Δx on the flipped columns and its image on T.
        let mut moves: Vec<(usize, f64)> = Vec::with_capacity(flips.len());
        let mut b_flip = vec![0.0; k];
        let mut moved = 0.0;
        for &f in flips {
            let v = self.nonbasic[f];
            let to = if self.nb_val[f] == self.lb(v) { self.ub(v) } else { self.lb(v) };
            let delta = to - self.nb_val[f];
            moved += self.rv.alpha[f] * delta;
            let col = &self.rv.gt[v * m..(v + 1) * m];
            for q in 0..k {
                b_flip[q] += delta * col[self.rv.t_set[q]];
            }
            moves.push((f, delta));
        }
        let mut w_flip = vec![0.0; k];
        self.rv.kernel.times(&b_flip, &mut w_flip);
        // The entering column: x_S moves by −w per unit.
        self.rv.w.resize(k.max(self.rv.w.len()), 0.0);
        self.rv.b.resize(k.max(self.rv.b.len()), 0.0);
        if e < n {
            let col = &self.rv.gt[e * m..(e + 1) * m];
            for q in 0..k {
                self.rv.b[q] = col[self.rv.t_set[q]];
            }
            self.rv.kernel.times(&self.rv.b, &mut self.rv.w);
        } else {
            let q0 = self.rv.pos[e];
            for p in 0..k {
                self.rv.w[p] = self.rv.kernel.at(p, q0);
            }
        }
        // The leaving variable's component in the column, checked against the row.
        let a_col = match leave {
            Basic::Structural(p) => -self.rv.w[p],
            Basic::Slack(i) => {
                let gi = &self.p.g[i * n..(i + 1) * n];
                let mut a = if e < n { -gi[e] } else { 0.0 };
                for p in 0..k {
                    a += self.rv.w[p] * gi[self.rv.s_set[p]];
                }
                a
            }
        };
        let a_row = self.rv.alpha[c];
        if !((a_col - a_row).abs() <= 1e-7 * a_row.abs().max(1.0)) || a_row.abs() <= PIVOT_TOL {
            return false;
        }
        let theta = (target - (self.value_of(leave) + moved)) / a_col;
        // One pass: the entering column into ds, all changes into the slacks.
        let rv = &mut self.rv;
        let (gt, ds, slack, x) = (&rv.gt, &mut rv.ds[..m], &mut rv.slack[..m], &mut rv.x);
        ds.iter_mut().for_each(|v| *v = 0.0);
        if e < n {
            axpy2(-1.0, -theta, &gt[e * m..(e + 1) * m], ds, slack);
        }
        for &(f, delta) in &moves {
            let v = self.nonbasic[f];
            axpy(-delta, &gt[v * m..(v + 1) * m], slack);
            self.nb_val[f] += delta;
            x[v] = self.nb_val[f];
        }
        for p in 0..k {
            let (a, bsum) = (rv.w[p], w_flip[p] + theta * rv.w[p]);
            if a == 0.0 && bsum == 0.0 {
                continue;
            }
            let j = rv.s_set[p];
            axpy2(a, bsum, &gt[j * m..(j + 1) * m], ds, slack);
            x[j] -= bsum;
        }
        for &t in &rv.t_set {
            rv.ds[t] = 0.0;
            rv.slack[t] = 0.0;
        }
        if e < n {
            rv.x[e] += theta;
        } else {
            rv.ds[e - n] = 1.0;
            rv.slack[e - n] = theta;
        }
        self.revised_change(leave, c, target, a_col, a_row, false);
        true
    }

    /// Refactor when due; a failed pivot check forces it.
    fn revised_maybe_refactor(&mut self, force: bool) -> std::result::Result<(), Failure> {
        if force || self.rv.kernel.updates >= REFACTOR_EVERY {
            self.revised_refactor()?;
            if !self.perturbed {
                self.revised_reduced_costs();
            }
        }
        Ok(())
    }

    /// Dual simplex from a dual feasible basis until every row and bound holds.
    pub(super) fn revised_dual(&mut self) -> std::result::Result<(), Failure> {
        self.rv.weight.iter_mut().for_each(|w| *w = 1.0);
        self.best_progress = f64::NAN;
        let mut rejected = 0usize;
        loop {
            let (leave, to_upper, infeas) = match self.revised_leaving() {
                None => return Ok(()),
                Some(l) => l,
            };
            if self.early_stop() {
                return Ok(());
            }
            self.check_budget(-1.0)?;
            self.pivot_row(leave);
            let alpha = std::mem::take(&mut self.rv.alpha);
            let ratio = self.dual_ratio(&alpha, !to_upper, infeas);
            self.rv.alpha = alpha;
            let (enter, flips) = match ratio {
                super::dual::Ratio::Enter { enter, flips } => (enter, flips),
                super::dual::Ratio::Empty(why) => {
                    let var = self.var_of(leave);
                    return Err(self.empty(var, &self.rv.alpha, to_upper, why));
                }
            };
            let leave_var = self.var_of(leave);
            let target = if to_upper { self.ub(leave_var) } else { self.lb(leave_var) };
            if !self.revised_dual_step(leave, target, enter, &flips) {
                rejected += 1;
                if rejected > 20 {
                    return Err(Failure::Numerical(
                        "pivot row and column keep disagreeing after refactorisation".to_string(),
                    ));
                }
                self.revised_maybe_refactor(true)?;
                continue;
            }
            rejected = 0;
            // No dual sign check per pivot: the ratio test keeps every reduced cost on its side
            // up to the tie tolerance (the check at the start of the phase found nothing to move
            // after any pivot on the MNIST and mnistfc LPs), and a wrong sign within it counts
            // as zero there; the primal simplex that ends the solve restores optimality anyway.
            self.revised_maybe_refactor(false)?;
        }
    }

    /// Primal simplex from a primal feasible basis until optimal (Devex, Bland while
    /// degenerate; Harris' two-pass ratio test over the basic structurals and all slacks).
    pub(super) fn revised_primal(&mut self) -> std::result::Result<(), Failure> {
        let (n, m) = (self.p.n, self.p.m);
        let mut degenerate_run = 0usize;
        let mut rejected = 0usize;
        let mut flips = 0usize;
        self.primal_w.iter_mut().for_each(|w| *w = 1.0);
        self.best_progress = f64::NAN;
        loop {
            let bland = self.method == Method::Bland || degenerate_run > 50;
            let gain_tol = DUAL_TOL * (1.0 + self.cost_scale());
            let mut c = NONE;
            let mut best = 0.0;
            for col in 0..n {
                let v = self.nonbasic[col];
                let gain = self.entering_gain(col);
                if gain > gain_tol {
                    if bland {
                        if c == NONE || v < self.nonbasic[c] {
                            c = col;
                        }
                    } else if gain * gain / self.primal_w[col] > best {
                        best = gain * gain / self.primal_w[col];
                        c = col;
                    }
                }
            }
            if c == NONE {
                return Ok(());
            }
            self.check_budget(1.0)?;
            let v = self.nonbasic[c];
            let sigma = if self.nb_val[c] == self.lb(v) { 1.0 } else { -1.0 };
            self.direction(c);
            let k = self.rv.t_set.len();
            // Harris pass 1: largest step with every basic variable within bound + tolerance.
            let mut theta_max = f64::INFINITY;
            for p in 0..k {
                let a = -self.rv.w[p] * sigma;
                let j = self.rv.s_set[p];
                let xj = self.rv.x[j];
                if a > PIVOT_TOL {
                    theta_max = theta_max.min((self.p.upper[j] + self.feas_tol - xj) / a);
                } else if a < -PIVOT_TOL {
                    theta_max = theta_max.min((xj - (self.p.lower[j] - self.feas_tol)) / -a);
                }
            }
            for i in 0..m {
                let a = self.rv.ds[i] * sigma;
                if a < -PIVOT_TOL && self.rv.pos[n + i] == NONE {
                    theta_max = theta_max.min((self.rv.slack[i] + self.feas_tol) / -a);
                }
            }
            let range = self.ub(v) - self.lb(v);
            if range <= theta_max {
                // A bound flip; at most one per column between pivots (see `primal_simplex`).
                flips += 1;
                if flips > 2 * n + 2 {
                    return Err(Failure::Numerical(format!("{} bound flips without a pivot", flips)));
                }
                let target = if sigma > 0.0 { self.ub(v) } else { self.lb(v) };
                self.revised_move(&[(c, target)]);
                degenerate_run = 0;
                continue;
            }
            flips = 0;
            if !theta_max.is_finite() {
                return Err(Failure::Numerical(
                    "the objective is unbounded, which a boxed problem cannot be".to_string(),
                ));
            }
            // Pass 2: among variables that block within theta_max, the largest pivot.
            let mut leave: Option<(Basic, f64, f64)> = None;
            let mut best_a = 0.0;
            for p in 0..k {
                let a = -self.rv.w[p] * sigma;
                let j = self.rv.s_set[p];
                let (theta, bound) = if a > PIVOT_TOL {
                    ((self.p.upper[j] - self.rv.x[j]) / a, self.p.upper[j])
                } else if a < -PIVOT_TOL {
                    ((self.rv.x[j] - self.p.lower[j]) / -a, self.p.lower[j])
                } else {
                    continue;
                };
                if theta <= theta_max && a.abs() > best_a {
                    best_a = a.abs();
                    leave = Some((Basic::Structural(p), bound, theta));
                }
            }
            for i in 0..m {
                let a = self.rv.ds[i] * sigma;
                if a < -PIVOT_TOL && self.rv.pos[n + i] == NONE {
                    let theta = self.rv.slack[i] / -a;
                    if theta <= theta_max && a.abs() > best_a {
                        best_a = a.abs();
                        leave = Some((Basic::Slack(i), 0.0, theta));
                    }
                }
            }
            let (leave, target, theta) = match leave {
                Some(l) => l,
                None => return Err(Failure::Numerical("the primal ratio test found no blocking variable".to_string())),
            };
            degenerate_run = if theta.max(0.0) * best_a <= self.feas_tol { degenerate_run + 1 } else { 0 };
            self.pivot_row(leave);
            if self.revised_pivot(leave, c, target) {
                self.stats.primal_pivots += 1;
                rejected = 0;
            } else {
                rejected += 1;
                if rejected > 20 {
                    return Err(Failure::Numerical(
                        "pivot row and column keep disagreeing after refactorisation".to_string(),
                    ));
                }
                self.revised_maybe_refactor(true)?;
                continue;
            }
            self.revised_maybe_refactor(false)?;
        }
    }

    /// Solve to optimality from the current state: the dual simplex while a row or bound is
    /// violated (the basis is dual feasible then), then the true costs and the primal simplex;
    /// values and reduced costs are recomputed from the data before the answer is accepted.
    pub(super) fn revised_optimise(&mut self) -> std::result::Result<(), Failure> {
        for _ in 0..100 {
            if !self.revised_feasible(1.0) {
                if !self.perturbed {
                    self.perturb_costs();
                }
                self.revised_fix_signs();
                self.revised_dual()?;
                if self.stopped_at.is_some() {
                    return Ok(());
                }
            }
            if self.perturbed {
                self.perturbed = false;
                self.revised_reduced_costs();
            }
            self.revised_primal()?;
            self.revised_refactor()?;
            self.revised_reduced_costs();
            if self.revised_feasible(10.0) && self.dual_feasible() {
                return Ok(());
            }
        }
        Err(Failure::Numerical("no stable optimum after 100 refactorisations".to_string()))
    }

    /// No nonbasic column can improve the objective beyond the tolerance.
    fn dual_feasible(&self) -> bool {
        let n = self.p.n;
        let gain_tol = DUAL_TOL * (1.0 + self.cost_scale());
        (0..n).all(|c| self.entering_gain(c) <= gain_tol)
    }
}

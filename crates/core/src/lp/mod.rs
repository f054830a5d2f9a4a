//! A bounded-variable simplex for the LPs of this project:
//!
//!   maximise c·x  subject to  G x <= h,  lower <= x <= upper   (every bound finite).
//!
//! Every "max over a linear region" has exactly this shape: the neuron half-spaces are the rows,
//! the input box is the variable bounds. At MNIST scale a region has 512–1,536 dense rows over
//! 784 inputs, but at an optimum only a few dozen rows are tight (the box holds most
//! coordinates); the work per iteration scales with those.
//!
//! **Primary method** (module `revised`): a revised bounded simplex whose basis is factorised
//! through its kernel K = G[T, S], the tight rows T against the basic inputs S (|T| = |S| = k),
//! kept as an explicit inverse (module `kernel`). The slacks of all rows are kept current by
//! sparse column updates, so pricing sees every row at O(m) and an iteration costs
//! O(k·(n + m)) where a dense tableau costs O(m·n). Because every variable is boxed, a cold solve
//! starts from the box vertex the objective prefers, which is dual feasible: a dual simplex with
//! no phase 1 (Devex pricing, bound-flipping ratio test, a deterministic cost perturbation
//! against dual degeneracy). Further objectives over the same polytope start from the previous
//! optimal basis (primal simplex; Devex, Bland's rule on degenerate runs), and
//! [`Simplex::sibling`] hands that basis to fresh solves, whose early stop may then need no
//! simplex at all.
//!
//! **Never fail at depth.** If the primary method exhausts its pivot budget, stalls (a long run
//! of pivots without progress of the objective: cycling among degenerate bases) or meets a
//! numerical contradiction, the solve restarts inside the core with another implementation: row
//! generation on a condensed tableau (modules `tableau`, `rows`: only a working set of rows in the
//! tableau, the most violated other rows joining as the point moves), with a larger
//! perturbation; then a dual simplex on *all* rows with Bland's rule (finite in exact
//! arithmetic). Only when every method fails is the result an [`Error::Lp`] naming the sizes, the
//! pivots and each method's reason. A region that is empty is a definite answer only with a
//! verified Farkas certificate (a combination of rows that no point of the box satisfies), and
//! only then is the result [`Error::Empty`]; an unverified one counts as a numerical failure and
//! goes to the next method. Callers read only `Error::Empty` as "empty": `Error::Lp` is a failure. [`LpLimits`] and
//! [`force_limits`] shrink the budgets so tests can drive every path.
//!
//! Results are certified rather than trusted, for *all* rows: `lower` is c·x at the returned
//! point, whose largest violation of any row or bound is reported as `infeasibility`; `upper` is
//! a weak-duality bound h·λ + Σ max(r_j l_j, r_j u_j) with λ >= 0 (zero on rows that are not
//! tight) and r = c − Gᵀλ, valid for *any* λ >= 0, plus a margin for its own rounding. Callers
//! that need a sound bound (a patch must hold on the whole region) use `upper`; callers that need
//! a witness (a lower bound on the minimal patch) use `lower`.

mod dual;
mod kernel;
mod primal;
mod revised;
mod rows;
mod tableau;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::linalg::{axpy, dot};
use std::sync::{Arc, Mutex};

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
    /// max_i (G_i x − h_i)⁺ at `x`, over every row and bound.
    pub infeasibility: f64,
    /// Pivots of this simplex so far (all objectives, all methods).
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
                n,
                g.len(),
                h.len(),
                lower.len(),
                upper.len()
            )));
        }
        for j in 0..n {
            if !(lower[j].is_finite() && upper[j].is_finite() && lower[j] <= upper[j]) {
                return Err(Error::Invalid(format!(
                    "lp: bounds of variable {} are [{}, {}]; both must be finite with lower <= upper",
                    j, lower[j], upper[j]
                )));
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

/// Pivot budgets of one solve, per method. `None` means the default, 20·(m + n) + 1000 pivots
/// (twice that for Bland's rule, which is slow by design).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LpLimits {
    /// The revised simplex, the primary method.
    pub revised: Option<usize>,
    /// Row generation on a condensed tableau, the first fallback.
    pub row_generation: Option<usize>,
    /// Bland's rule on all rows, the last fallback.
    pub bland: Option<usize>,
}

impl LpLimits {
    /// The same budget for every method (0: every method fails at once).
    pub fn all(pivots: usize) -> LpLimits {
        LpLimits { revised: Some(pivots), row_generation: Some(pivots), bland: Some(pivots) }
    }
}

// clippy 1.63 reads the `const { … }` initialiser that stable clippy asks for as an interior-mutable
// const; the allow must sit on a module (it is ignored on a macro invocation).
#[allow(clippy::declare_interior_mutable_const)]
mod forced {
    use super::LpLimits;
    use std::cell::Cell;

    thread_local! {
        pub(super) static FORCED_LIMITS: Cell<Option<LpLimits>> = const { Cell::new(None) };
    }
}
use forced::FORCED_LIMITS;

/// Overrides the pivot budgets of every simplex created afterwards on this thread (`None`
/// restores the defaults). Meant for tests of the fallback and failure paths, here and in the
/// orchestration (through the wasm boundary, which runs on one thread).
pub fn force_limits(limits: Option<LpLimits>) {
    FORCED_LIMITS.with(|f| f.set(limits));
}

/// What a solve did: for profiles, benchmarks and tests of the fallback path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LpStats {
    /// Rows in the working set now.
    pub working_rows: usize,
    /// Largest working set so far.
    pub max_working_rows: usize,
    /// Separation rounds that added rows, and the rows they added.
    pub rounds: usize,
    pub rows_added: usize,
    /// Pivots of the primal simplex (the rest are dual).
    pub primal_pivots: usize,
    /// Restarts with a fallback method, and the reasons of the methods that gave up.
    pub fallbacks: usize,
    pub reasons: Vec<String>,
}

/// The solution methods, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// Revised simplex on the basis kernel (tight rows × basic structurals), every row priced
    /// through its maintained slack; Devex; cost perturbation 1e-6 relative.
    Revised,
    /// Condensed tableau over a working set of rows (row generation), from scratch; Devex;
    /// perturbation 1e-5 relative with another sequence.
    RowGeneration,
    /// Condensed tableau of all rows, Bland's rule in both simplex methods, no perturbation.
    Bland,
}

impl Method {
    fn describe(self) -> &'static str {
        match self {
            Method::Revised => "revised simplex",
            Method::RowGeneration => "row generation on a condensed tableau",
            Method::Bland => "dual simplex on all rows with Bland's rule",
        }
    }
}

const METHODS: [Method; 3] = [Method::Revised, Method::RowGeneration, Method::Bland];

/// Why one method stopped without an optimum.
#[derive(Debug)]
enum Failure {
    /// The region is empty, proven by a verified Farkas certificate.
    Empty(String),
    /// Pivot budget exhausted.
    Limit(String),
    /// A numerical contradiction (unverifiable emptiness, no blocking row, drift).
    Numerical(String),
}

const PIVOT_TOL: f64 = 1e-9;
const DUAL_TOL: f64 = 1e-10;
const REFRESH_EVERY: usize = 64;

/// Owned copy of a polytope (a simplex outlives the buffers it was built from), shared by a
/// simplex and its siblings.
#[derive(Debug)]
struct OwnedPolytope {
    n: usize,
    m: usize,
    g: Vec<f64>,
    h: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    /// Column-major copy of G (gt[j·m + i] = G[i][j]) for the revised method's column updates,
    /// made on first use.
    transposed: Mutex<Option<Arc<Vec<f64>>>>,
    /// Per row, columns `[lo, hi)` outside which it is zero (`lo` even, `hi` even or n), made on
    /// first use (see [`row_windows`](OwnedPolytope::row_windows)).
    windows: Mutex<Option<RowWindows>>,
}

type RowWindows = Arc<Vec<(u32, u32)>>;

impl OwnedPolytope {
    fn view(&self) -> Polytope<'_> {
        Polytope { n: self.n, m: self.m, g: &self.g, h: &self.h, lower: &self.lower, upper: &self.upper }
    }

    fn transpose(&self) -> Arc<Vec<f64>> {
        let mut slot = self.transposed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = slot.as_ref() {
            return Arc::clone(t);
        }
        let (n, m) = (self.n, self.m);
        // Blocked, so that both sides stay in cache.
        const B: usize = 32;
        let mut gt = vec![0.0; n * m];
        for i0 in (0..m).step_by(B) {
            for j0 in (0..n).step_by(B) {
                for i in i0..(i0 + B).min(m) {
                    let row = &self.g[i * n..(i + 1) * n];
                    for j in j0..(j0 + B).min(n) {
                        gt[j * m + i] = row[j];
                    }
                }
            }
        }
        let t = Arc::new(gt);
        *slot = Some(Arc::clone(&t));
        t
    }

    /// Each row's window of non-zeros, widened to even bounds: [`dot`] over the window then sums
    /// the same products in the same two lanes as over the whole row, and the products it leaves
    /// out are g_ij·x_j = ±0 (x finite), which change no lane (a lane starts at +0 and is never
    /// −0), so the dot is the same to the bit. A region of a convolutional network has rows over
    /// a few image rows (about 32 of 784 columns for the MNIST conv net).
    fn row_windows(&self) -> RowWindows {
        let mut slot = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = slot.as_ref() {
            return Arc::clone(w);
        }
        let n = self.n;
        let w: Vec<(u32, u32)> = (0..self.m)
            .map(|i| {
                let row = &self.g[i * n..(i + 1) * n];
                match row.iter().position(|v| *v != 0.0) {
                    None => (0, 0),
                    Some(first) => {
                        let last = row.iter().rposition(|v| *v != 0.0).unwrap_or(first);
                        ((first & !1) as u32, ((last + 2) & !1).min(n) as u32)
                    }
                }
            })
            .collect();
        let w = Arc::new(w);
        *slot = Some(Arc::clone(&w));
        w
    }
}

/// Simplex state over one polytope; keep it to solve several objectives with warm starts.
///
/// Variables: 0..n are the structural x_j, n + i is the slack h_i − G_i x of row i (>= 0).
pub struct Simplex {
    /// The polytope, shared with the simplices made by [`Simplex::sibling`].
    p: Arc<OwnedPolytope>,
    /// tab[r*n + k]: coefficient of nonbasic column k in the expression of tableau row r.
    tab: Vec<f64>,
    /// Constant term of each tableau row (basic_r = t0_r + Σ_k tab_rk · nonbasic_k).
    t0: Vec<f64>,
    /// Basic variable of each tableau row (a structural or the slack of a working-set row).
    basic: Vec<usize>,
    /// Variable of each of the n nonbasic columns.
    nonbasic: Vec<usize>,
    /// Current value of each nonbasic column (always one of its bounds).
    nb_val: Vec<f64>,
    /// Current value of each basic row.
    beta: Vec<f64>,
    /// Reduced costs of the current (possibly perturbed) objective, per nonbasic column.
    d: Vec<f64>,
    cost: Vec<f64>,
    /// Whether `d` carries the anti-degeneracy perturbation.
    perturbed: bool,
    /// Row i of the polytope is in the working set.
    in_set: Vec<bool>,
    /// Row norms, computed on first use (negative: not yet).
    norms: Vec<f64>,
    /// Devex reference weights: dual (per tableau row) and primal (per nonbasic column). They
    /// approximate steepest-edge norms at O(rows + columns) per pivot.
    dual_w: Vec<f64>,
    primal_w: Vec<f64>,
    /// When set, the dual simplex stops as soon as a certified bound <= this value is found.
    stop_below: Option<f64>,
    /// The certified bound that triggered the stop, and the row multipliers that proved it.
    stopped_at: Option<f64>,
    stop_duals: Vec<f64>,
    feas_tol: f64,
    pub pivots: usize,
    fresh: bool,
    method: Method,
    /// Pivot count at which the current method gives up, and the stall watch: the last pivot
    /// that improved the objective of the current phase, and that objective (NaN: none yet).
    budget_end: usize,
    last_progress: usize,
    best_progress: f64,
    limits: Option<LpLimits>,
    stats: LpStats,
    /// State of the revised method.
    rv: revised::Revised,
    /// Lower bound of every variable (0 for the slacks), for branch-free scans.
    var_lower: Vec<f64>,
    /// Scratch of the dual ratio test.
    cands: std::cell::RefCell<Vec<(u64, u32)>>,
    /// The optimal basis of the simplex this one is a sibling of, if it had one: its
    /// multipliers may already bound a further objective (see `maximize_unless_below`).
    hint: Option<revised::BasisHint>,
}

impl Simplex {
    pub fn new(p: Polytope) -> Simplex {
        let owned = OwnedPolytope {
            n: p.n,
            m: p.m,
            g: p.g.to_vec(),
            h: p.h.to_vec(),
            lower: p.lower.to_vec(),
            upper: p.upper.to_vec(),
            transposed: Mutex::new(None),
            windows: Mutex::new(None),
        };
        Simplex::over(Arc::new(owned))
    }

    /// A fresh simplex over the same polytope, without copying it (for independent cold solves
    /// such as [`Simplex::maximize_unless_below`] on further objectives).
    pub fn sibling(&self) -> Simplex {
        let mut s = Simplex::over(Arc::clone(&self.p));
        s.limits = self.limits;
        if !self.fresh && self.method == Method::Revised {
            s.hint = Some(self.rv.hint());
        }
        s
    }

    fn over(p: Arc<OwnedPolytope>) -> Simplex {
        let (n, m) = (p.n, p.m);
        let scale = p.h.iter().chain(p.lower.iter()).chain(p.upper.iter()).fold(1.0f64, |a, v| a.max(v.abs()));
        let nb_val = p.lower.clone();
        let var_lower = p.lower.iter().cloned().chain(std::iter::repeat(0.0).take(m)).collect();
        Simplex {
            var_lower,
            p,
            tab: Vec::new(),
            t0: Vec::new(),
            basic: Vec::new(),
            nonbasic: (0..n).collect(),
            nb_val,
            beta: Vec::new(),
            d: vec![0.0; n],
            cost: vec![0.0; n],
            perturbed: false,
            in_set: vec![false; m],
            norms: vec![-1.0; m],
            dual_w: Vec::new(),
            primal_w: vec![1.0; n],
            stop_below: None,
            stopped_at: None,
            stop_duals: Vec::new(),
            feas_tol: 1e-9 * scale,
            pivots: 0,
            fresh: true,
            method: Method::Revised,
            budget_end: 0,
            last_progress: 0,
            best_progress: f64::NAN,
            limits: None,
            stats: LpStats::default(),
            rv: revised::Revised::new(n, m),
            cands: std::cell::RefCell::new(Vec::new()),
            hint: None,
        }
    }

    /// Sets the pivot budgets of this simplex (they take precedence over [`force_limits`]).
    pub fn set_limits(&mut self, limits: LpLimits) {
        self.limits = Some(limits);
    }

    /// Rows tight at the current basis (their slack is nonbasic): at an optimum, the rows whose
    /// multipliers may be positive.
    pub fn tight_rows(&self) -> Vec<usize> {
        let n = self.p.n;
        let mut rows: Vec<usize> = self.nonbasic.iter().filter(|&&v| v >= n).map(|&v| v - n).collect();
        rows.sort_unstable();
        rows
    }

    pub(super) fn tight_count(&self) -> usize {
        self.nonbasic.iter().filter(|&&v| v >= self.p.n).count()
    }

    /// Statistics of this simplex (working set, separation rounds, fallbacks).
    pub fn stats(&self) -> LpStats {
        let mut s = self.stats.clone();
        s.working_rows = if self.method == Method::Revised { self.tight_count() } else { self.basic.len() };
        s
    }

    fn budget(&self, method: Method) -> usize {
        let limits = self.limits.or_else(|| FORCED_LIMITS.with(|f| f.get())).unwrap_or_default();
        let default = 20 * (self.p.m + self.p.n) + 1000;
        match method {
            Method::Revised => limits.revised.unwrap_or(default),
            Method::RowGeneration => limits.row_generation.unwrap_or(default),
            Method::Bland => limits.bland.unwrap_or(2 * default),
        }
    }

    /// Maximise c·x over the polytope. The first call solves cold (dual simplex); later calls
    /// start from the previous optimal basis (primal simplex).
    pub fn maximize(&mut self, c: &[f64]) -> Result<LpSolution> {
        let n = self.p.n;
        if c.len() != n {
            return Err(Error::Invalid(format!(
                "lp: objective has {} entries, the problem has {} variables",
                c.len(),
                n
            )));
        }
        if let Some(j) = c.iter().position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!("lp: objective entry {} is {}", j, c[j])));
        }
        self.cost.copy_from_slice(c);
        self.stopped_at = None;
        if let (Some(threshold), true) = (self.stop_below, self.fresh) {
            // The box alone (all multipliers zero) may already prove the bound, and so may the
            // multipliers that the optimal basis of the sibling's objective gives this one; both
            // cost O(k·n), with no simplex started.
            let mut duals = vec![0.0; self.p.m];
            let (mut bound, _) = dual_bound(&self.p.view(), c, &duals);
            if bound > threshold {
                if let Some(hint) = &self.hint {
                    hint.multipliers(c, &mut duals);
                    bound = bound.min(dual_bound(&self.p.view(), c, &duals).0);
                }
            }
            if bound <= threshold {
                self.stopped_at = Some(bound);
                self.stop_duals = duals;
                return Ok(LpSolution {
                    lower: f64::NEG_INFINITY,
                    upper: bound,
                    margin: 0.0,
                    x: Vec::new(),
                    duals: Vec::new(),
                    infeasibility: 0.0,
                    pivots: self.pivots,
                });
            }
        }
        let start = self.pivots;
        let mut reasons: Vec<String> = Vec::new();
        for (attempt, &method) in METHODS.iter().enumerate() {
            if attempt > 0 {
                self.stats.fallbacks += 1;
            }
            self.method = method;
            if self.fresh || attempt > 0 {
                if method == Method::Revised {
                    self.revised_cold_start();
                } else {
                    self.cold_start();
                }
            } else {
                self.perturbed = false;
                self.revised_reduced_costs();
            }
            // Only a basis of the revised method is kept for the next objective.
            self.fresh = method != Method::Revised;
            let before = self.pivots;
            self.budget_end = before + self.budget(method);
            self.last_progress = before;
            let outcome = if method == Method::Revised { self.revised_optimise() } else { self.optimise() };
            let failure = match outcome {
                Ok(()) => {
                    if let Some(bound) = self.stopped_at {
                        // Stopped early with a certified bound: the basis is not optimal, so the
                        // next objective starts cold.
                        self.fresh = true;
                        return Ok(LpSolution {
                            lower: f64::NEG_INFINITY,
                            upper: bound,
                            margin: 0.0,
                            x: Vec::new(),
                            duals: Vec::new(),
                            infeasibility: 0.0,
                            pivots: self.pivots,
                        });
                    }
                    let sol = self.extract();
                    match self.accept(&sol) {
                        None => return Ok(sol),
                        Some(why) => why,
                    }
                }
                Err(Failure::Empty(msg)) => {
                    self.fresh = true;
                    return Err(Error::Empty(msg));
                }
                Err(Failure::Limit(msg)) | Err(Failure::Numerical(msg)) => msg,
            };
            let msg = format!("{}: {} after {} pivots", method.describe(), failure, self.pivots - before);
            self.stats.reasons.push(msg.clone());
            reasons.push(msg);
        }
        self.fresh = true;
        Err(Error::Lp(format!(
            "lp: no certified maximum ({} rows, {} variables, {} pivots in {} methods): {}",
            self.p.m,
            n,
            self.pivots - start,
            METHODS.len(),
            reasons.join("; ")
        )))
    }

    /// Why a solution that the simplex returned cannot be trusted as an optimum, if it cannot:
    /// a point outside the region or a duality gap far beyond rounding.
    fn accept(&self, sol: &LpSolution) -> Option<String> {
        let scale = 1.0 + sol.lower.abs().max(sol.upper.abs());
        if !(sol.infeasibility <= 1e3 * self.feas_tol) {
            return Some(format!("the final point violates a row by {:e}", sol.infeasibility));
        }
        if !(sol.upper - sol.lower <= 1e-6 * scale + 2.0 * sol.margin) || !(sol.upper >= sol.lower - 1e-6 * scale) {
            return Some(format!("duality gap {:e} (lower {}, upper {})", sol.upper - sol.lower, sol.lower, sol.upper));
        }
        None
    }

    /// Either a certified upper bound <= `threshold` on max c·x (found by a cold dual simplex
    /// that stops early: its objective only decreases), or the full solution when the maximum
    /// is above the threshold. Only on a fresh simplex.
    pub fn maximize_unless_below(&mut self, c: &[f64], threshold: f64) -> Result<std::result::Result<LpSolution, f64>> {
        self.stop_duals.clear();
        if !self.fresh {
            return Ok(Ok(self.maximize(c)?));
        }
        self.stop_below = Some(threshold);
        let res = self.maximize(c);
        self.stop_below = None;
        let sol = res?;
        Ok(match self.stopped_at.take() {
            Some(b) => Err(b),
            None => Ok(sol),
        })
    }

    /// The row multipliers (>= 0, one per row) whose weak-duality bound proved the last early
    /// stop of [`Simplex::maximize_unless_below`]; empty when it did not stop early.
    pub fn stopped_duals(&self) -> &[f64] {
        &self.stop_duals
    }

    /// Solve to optimality over every row from the current state: a dual simplex while the
    /// working-set LP is infeasible (the basis is dual feasible then), separation of violated
    /// rows, then the true costs and a primal simplex, until no row is violated.
    fn optimise(&mut self) -> std::result::Result<(), Failure> {
        let max_rounds = 4 * self.p.m + 100;
        for _ in 0..max_rounds {
            self.refresh_beta();
            if !self.primal_feasible() {
                if !self.perturbed {
                    self.perturb_costs();
                }
                self.fix_dual_signs();
                self.dual_simplex()?;
                if self.stopped_at.is_some() {
                    return Ok(());
                }
                self.refresh_beta();
            }
            if self.separate() > 0 {
                continue;
            }
            if self.perturbed {
                self.perturbed = false;
                self.reduced_costs();
            }
            self.primal_simplex()?;
            self.refresh_beta();
            if self.primal_feasible() && self.separate() == 0 {
                return Ok(());
            }
        }
        Err(Failure::Numerical(format!("no progress after {} separation rounds", max_rounds)))
    }

    fn extract(&mut self) -> LpSolution {
        let (n, m) = (self.p.n, self.p.m);
        let mut x = if self.method == Method::Revised { self.rv.x.clone() } else { self.point() };
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
        // The revised method's last refactorisation measured the rows at this very point unless
        // clamping to the box moved it.
        let infeasibility =
            if self.method == Method::Revised && x == self.rv.x { self.rv.violation } else { p.violation(&x) };
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
    let box_size = p.lower.iter().chain(p.upper.iter()).fold(0.0f64, |a, v| a.max(v.abs()));
    for i in 0..p.m {
        let l = duals[i];
        if l > 0.0 {
            axpy(-l, &p.g[i * n..(i + 1) * n], &mut r);
            total += l * p.h[i];
            magnitude +=
                (l * p.h[i]).abs() + l * p.g[i * n..(i + 1) * n].iter().fold(0.0, |a, v| a + v.abs()) * box_size;
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

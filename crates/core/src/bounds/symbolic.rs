//! Symbolic linear bounds (DeepPoly / CROWN style) over a box, with rigorous rounding terms.
//!
//! **Forward pass (intermediate bounds).** Every pre-activation and ReLU output is enclosed
//! between two linear functions of the input x, kept in centre/gap form
//! `h ∈ [M(x) − G(x), M(x) + G(x)]` (G >= 0 on the box). An operator maps them exactly with
//! the adapter's products: `z = A h + b ∈ [A M + b − |A| G, A M + b + |A| G]`, since
//! `|A δ| <= |A| |δ| <= |A| G` pointwise. Concretising over the box gives each neuron's bounds
//! [l, u] (intersected with interval arithmetic, both being sound). An unstable ReLU (l < 0 < u)
//! is relaxed by the upper line `s z + t` (s = u/(u − l), t rounded up so that the line lies
//! above ReLU at z = l and z = u, hence on all of [l, u] by convexity) and the lower line `α z`
//! with α ∈ [0, 1] (`LowerSlope`): `h ∈ [α L(x), s U(x) + t]` with L = M − G, U = M + G.
//!
//! **Backward pass (a spec row).** An output row `c·y − q` is bounded by back-substitution from
//! the output (one pass per row): a coefficient λ_i on a ReLU output takes the upper line when
//! λ_i >= 0 and the lower line when λ_i < 0, then `λ_{l−1} = A_lᵀ μ_l`, the biases go to the
//! constant. The result is a linear function `slope·x + offset` >= `c·f(x) − q` on the box;
//! its maximum over the box is the bound. `slope` (times the box widths) says which inputs the
//! bound depends on most (branch and bound splits there).
//!
//! **Rounding** (`rounding.rs`; each term is added where the rounding happens):
//! * forward, per operator and output k: centre columns `A M_j + b` err <= γ_{n+1}(|A| mag_M + |b|)_k,
//!   gap columns `|A| G_j` err <= γ_n (|A| mag_G)_k, where mag_F[i] = Σ_j |F_ij| max|x_j| + |F_i0|
//!   bounds each function's terms on the box; both go into the gap's constant;
//! * forward, per relaxed neuron: the few products and sums forming `s U + t`, `α L` and the new
//!   centre and gap are off by at most 16u (mag_M + mag_G + |t|), added to the gap's constant;
//! * concretisation: a linear function's maximum `a0 + Σ (a_j c_j + |a_j| r_j)` is rounded with
//!   γ_{2n+1} of its terms' magnitudes, and the box radius r is rounded up;
//! * backward, per operator: `μ = λ·slope` (rounded) changes the value by at most u Σ |μ_i| max|z_i|;
//!   `A_lᵀ μ` errs by γ_m (|A_l|ᵀ |μ|) per coefficient, i.e. by γ_m |μ|·(|A_l| max|h_{l−1}|) in
//!   value; the constant, one long sum of products, errs by γ_N Σ |terms|.

use super::interval::{centre_radius, interval_bounds, row_upper_from_box, IntervalBounds};
use super::net_view::NetView;
use super::rounding::{add_up, err_bound, mul_down, mul_up, sub_down, sub_up};
use crate::error::{invalid, Result};
use crate::region::check_box;

/// How the lower line α z of an unstable ReLU is chosen (DeepPoly's heuristic by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowerSlope {
    /// α = 1 when u >= −l, else 0 (the smaller-area triangle; DeepPoly, CROWN-adaptive).
    Adaptive,
    /// α = u/(u − l), parallel to the upper line (Neurify's symbolic relaxation).
    Parallel,
    /// α = 0.
    Zero,
}

/// Pre-activation bounds (lower, upper per operator) proven on a box containing the current one.
pub type OuterBounds<'a> = (&'a [Vec<f64>], &'a [Vec<f64>]);

/// Options of the symbolic bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundOptions {
    pub slope: LowerSlope,
    /// Tighten every ReLU the forward pass leaves unstable by back-substitution through the
    /// operators below it (DeepPoly's intermediate bounds): two backward passes per such neuron.
    pub back_substitute: bool,
    /// Also back-substitute with the parallel lower line (`LowerSlope::Parallel`) and keep the
    /// tighter of the two bounds, for intermediate bounds and spec rows (twice the passes).
    pub both_slopes: bool,
}

impl Default for BoundOptions {
    fn default() -> Self {
        BoundOptions { slope: LowerSlope::Adaptive, back_substitute: true, both_slopes: true }
    }
}

/// Sound symbolic bounds of a network over a box (see the module documentation).
#[derive(Debug, Clone)]
pub struct SymbolicBounds {
    pub lower_box: Vec<f64>,
    pub upper_box: Vec<f64>,
    /// Box centre and radius (rounded up) and max |x_j| over the box.
    centre: Vec<f64>,
    radius: Vec<f64>,
    xmax: Vec<f64>,
    /// Bounds of every pre-activation z_l (symbolic ∩ interval).
    pub lower: Vec<Vec<f64>>,
    pub upper: Vec<Vec<f64>>,
    both_slopes: bool,
    /// |A_l| max|h_{l−1}| per operator (rounding terms of the backward pass).
    wmax: Vec<Vec<f64>>,
    /// The last operator's pre-activation as centre and gap functions, column-major
    /// (`(n + 1) × width`, column n the constant).
    out_m: Vec<f64>,
    out_g: Vec<f64>,
    slope: LowerSlope,
    relu_out: bool,
}

/// Where a [`SymbolicPass`] stands within its current operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Mapping column `col` of the centre and gap functions through the operator.
    Columns,
    /// Concretising neuron `col` of the operator's pre-activation.
    Concretise,
    /// Back-substituting neuron `col` of the operator's pre-activation.
    Neurons,
    /// Every operator done.
    Done,
}

/// [`SymbolicBounds::compute_within`] in bounded steps: the same operations in the same order
/// (hence bit for bit the same bounds), cut between units of work (one column of the forward
/// functions mapped through one operator, one neuron back-substituted) so that a caller without
/// a clock can check its deadline between [`SymbolicPass::advance`] calls however large the
/// network is. A unit costs at most four backward passes through the network (one neuron) or a
/// few passes over one operator's `(n + 1) × width` functions (a concretisation).
#[derive(Debug, Clone)]
pub struct SymbolicPass {
    opts: BoundOptions,
    lower_box: Vec<f64>,
    upper_box: Vec<f64>,
    centre: Vec<f64>,
    radius: Vec<f64>,
    xmax: Vec<f64>,
    /// Products of one application of each operator (width × row terms, an upper bound).
    cost: Vec<usize>,
    l: usize,
    stage: Stage,
    col: usize,
    /// Centre and gap functions of every value still read (value maps, column-major
    /// `(n + 1) × width`; released after their last reader).
    vm: Vec<Vec<f64>>,
    vg: Vec<Vec<f64>>,
    last: Vec<usize>,
    nm: Vec<f64>,
    ng: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    lo_all: Vec<Vec<f64>>,
    hi_all: Vec<Vec<f64>>,
    hmax: Vec<Vec<f64>>,
    wmax: Vec<Vec<f64>>,
    out_m: Vec<f64>,
    out_g: Vec<f64>,
}

impl SymbolicPass {
    /// Checks the box and sets up the input functions (h_{−1} = x: M = identity, G = 0).
    pub fn new(net: &NetView, lower: &[f64], upper: &[f64], opts: BoundOptions) -> Result<SymbolicPass> {
        check_box(net.n_in(), lower, upper)?;
        let n = net.n_in();
        let (centre, radius) = centre_radius(lower, upper);
        let xmax: Vec<f64> = lower.iter().zip(upper).map(|(a, b)| a.abs().max(b.abs())).collect();
        let mut m = vec![0.0; (n + 1) * n];
        for j in 0..n {
            m[j * n + j] = 1.0;
        }
        let layers = net.layers();
        let cost = (0..layers).map(|l| net.width(l).saturating_mul(net.row_terms(l).max(1))).collect();
        let mut vm = vec![Vec::new(); layers + 1];
        let mut vg = vec![Vec::new(); layers + 1];
        vm[0] = m;
        vg[0] = vec![0.0; (n + 1) * n];
        let mut pass = SymbolicPass {
            opts,
            lower_box: lower.to_vec(),
            upper_box: upper.to_vec(),
            centre,
            radius,
            xmax,
            cost,
            l: 0,
            stage: if layers == 0 { Stage::Done } else { Stage::Columns },
            col: 0,
            vm,
            vg,
            last: net.last_uses(),
            nm: Vec::new(),
            ng: Vec::new(),
            lo: Vec::new(),
            hi: Vec::new(),
            lo_all: Vec::new(),
            hi_all: Vec::new(),
            hmax: Vec::new(),
            wmax: Vec::new(),
            out_m: Vec::new(),
            out_g: Vec::new(),
        };
        pass.begin_layer(net);
        Ok(pass)
    }

    pub fn done(&self) -> bool {
        self.stage == Stage::Done
    }

    fn begin_layer(&mut self, net: &NetView) {
        if self.stage == Stage::Done {
            return;
        }
        let (n, wo) = (self.centre.len(), net.width(self.l));
        self.nm = vec![0.0; (n + 1) * wo];
        self.ng = vec![0.0; (n + 1) * wo];
        self.col = 0;
        self.stage = Stage::Columns;
    }

    /// Works until at least `budget` products (multiply-adds, about) are spent or the pass is
    /// done (always at least one unit); returns the products spent. `ib` and `outer` must be the
    /// same at every call (those [`SymbolicBounds::compute_within`] takes).
    pub fn advance(&mut self, net: &NetView, ib: &IntervalBounds, outer: Option<OuterBounds>, budget: usize) -> usize {
        let mut spent = 0usize;
        let n = self.centre.len();
        while self.stage != Stage::Done && spent < budget.max(1) {
            let l = self.l;
            let wo = net.width(l);
            // Passes over the operator's (n + 1) × width functions (concretisation, relaxation).
            let table = wo.saturating_mul(n + 1).saturating_mul(4);
            match self.stage {
                Stage::Columns if self.col <= n => {
                    let j = self.col;
                    let col = &mut self.nm[j * wo..(j + 1) * wo];
                    if j == n {
                        col.copy_from_slice(net.bias(l));
                    }
                    // Column j of Σ_t ±A_t M_{from_t} + b and of Σ_t |A_t| G_{from_t}.
                    for t in net.terms(l) {
                        let w = net.value_width(t.from);
                        t.op.forward_add(&self.vm[t.from][j * w..(j + 1) * w], col, t.negate);
                    }
                    let gcol = &mut self.ng[j * wo..(j + 1) * wo];
                    for t in net.terms(l) {
                        let w = net.value_width(t.from);
                        t.op.abs_forward_add(&self.vg[t.from][j * w..(j + 1) * w], gcol);
                    }
                    self.col += 1;
                    spent = spent.saturating_add(self.cost[l].saturating_mul(2));
                }
                Stage::Columns => {
                    self.rounding_terms(net);
                    let read: usize = net.terms(l).iter().map(|t| net.value_width(t.from)).sum();
                    let before = read.saturating_mul(n + 1).saturating_mul(2);
                    spent = spent.saturating_add(before).saturating_add(self.cost[l].saturating_mul(3));
                    self.col = 0;
                    self.stage = Stage::Concretise;
                }
                Stage::Concretise if self.col < wo => {
                    // A slice of neurons per unit: each reads its row of the column-major functions.
                    let end = (self.col + 64).min(wo);
                    self.concretise(net, ib, outer, self.col..end);
                    spent = spent.saturating_add((end - self.col).saturating_mul(n + 1).saturating_mul(6));
                    self.col = end;
                }
                Stage::Concretise => {
                    self.col = 0;
                    if self.opts.back_substitute && l > 0 && net.relu(l) {
                        self.stage = Stage::Neurons;
                    } else {
                        self.end_layer(net);
                        spent = spent.saturating_add(table);
                    }
                }
                Stage::Neurons if self.col < wo => {
                    let k = self.col;
                    let passes = self.back_substitute(net, k);
                    let below: usize = self.cost[..=l].iter().fold(0usize, |a, &c| a.saturating_add(c));
                    spent = spent.saturating_add(passes.saturating_mul(below)).saturating_add(1);
                    self.col += 1;
                }
                Stage::Neurons => {
                    self.end_layer(net);
                    spent = spent.saturating_add(table);
                }
                Stage::Done => {}
            }
        }
        spent
    }

    /// Concretises operator l's functions for the neurons `ks` (after [`SymbolicPass::rounding_terms`]):
    /// z_k ∈ [min (M − G), max (M + G)], intersected with interval arithmetic (and `outer`).
    fn concretise(
        &mut self,
        net: &NetView,
        ib: &IntervalBounds,
        outer: Option<OuterBounds>,
        ks: std::ops::Range<usize>,
    ) {
        let (l, n) = (self.l, self.centre.len());
        let wo = net.width(l);
        let (nm, ng) = (&self.nm, &self.ng);
        let (centre, radius) = (&self.centre, &self.radius);
        let (lo, hi) = (&mut self.lo, &mut self.hi);
        let mut a = vec![0.0; n];
        for k in ks {
            for j in 0..n {
                a[j] = nm[j * wo + k] + ng[j * wo + k];
            }
            // The sum M + G of each coefficient rounds: its error (u per coefficient) is
            // covered by bounding with the magnitudes of both parts.
            let up = max_over(&a, nm[n * wo + k] + ng[n * wo + k], centre, radius);
            let e_up = coef_sum_err(nm, ng, wo, k, n, &self.xmax);
            for j in 0..n {
                a[j] = -(nm[j * wo + k] - ng[j * wo + k]);
            }
            let dn = max_over(&a, -(nm[n * wo + k] - ng[n * wo + k]), centre, radius);
            hi[k] = add_up(up, e_up).min(ib.upper[l][k]);
            lo[k] = sub_down(-dn, e_up).max(ib.lower[l][k]);
            if let Some((ol, ou)) = outer {
                hi[k] = hi[k].min(ou[l][k]);
                lo[k] = lo[k].max(ol[l][k]);
            }
            if lo[k] > hi[k] {
                // Both are sound, so the true value lies in both: only rounding of two
                // bounds of a constant can cross them. Keep the interval bounds.
                lo[k] = ib.lower[l][k];
                hi[k] = ib.upper[l][k];
            }
        }
    }

    /// The rounding terms of mapping operator l (into the gap's constants, and `wmax`), before
    /// its concretisation.
    fn rounding_terms(&mut self, net: &NetView) {
        let (l, n) = (self.l, self.centre.len());
        let wo = net.width(l);
        let terms = net.row_terms(l);
        let b = net.bias(l);
        let ng = &mut self.ng;
        // Magnitudes of the read functions' terms on the box (rounding terms): one entry of
        // the new functions sums N = row_terms(l) products over all the node's terms (+ bias).
        let mut em: Vec<f64> = b.iter().map(|v| v.abs()).collect();
        let mut eg = vec![0.0; wo];
        let mut wl = vec![0.0; wo];
        // Magnitudes once per value read (a max pooling node reads one value in many terms).
        let mut mags: Vec<(usize, Vec<f64>, Vec<f64>)> = Vec::new();
        for t in net.terms(l) {
            if !mags.iter().any(|m| m.0 == t.from) {
                let w = net.value_width(t.from);
                let mag_m = magnitudes(&self.vm[t.from], w, n, &self.xmax);
                let mag_g = magnitudes(&self.vg[t.from], w, n, &self.xmax);
                mags.push((t.from, mag_m, mag_g));
            }
        }
        for t in net.terms(l) {
            let (_, mag_m, mag_g) = mags.iter().find(|m| m.0 == t.from).expect("computed above");
            t.op.abs_forward_add(mag_m, &mut em);
            t.op.abs_forward_add(mag_g, &mut eg);
            let hmax = if t.from == 0 { &self.xmax } else { &self.hmax[t.from - 1] };
            t.op.abs_forward_add(hmax, &mut wl);
        }
        self.wmax.push(wl);
        for k in 0..wo {
            let e = add_up(err_bound(terms + 1, em[k]), err_bound(terms, eg[k]));
            ng[n * wo + k] = add_up(ng[n * wo + k], e);
        }
        self.lo = vec![0.0; wo];
        self.hi = vec![0.0; wo];
    }

    /// Tightens neuron k of operator l, if unstable, by back-substitution through the operators
    /// below it; returns the backward passes run.
    fn back_substitute(&mut self, net: &NetView, k: usize) -> usize {
        let (l, slope) = (self.l, self.opts.slope);
        let (lo, hi) = (&mut self.lo, &mut self.hi);
        if !(lo[k] < 0.0 && hi[k] > 0.0) {
            return 0;
        }
        let back = Backward { lower: &self.lo_all, upper: &self.hi_all, wmax: &self.wmax, slope };
        let (bl, bu) = back.neuron(net, l, k, &self.centre, &self.radius);
        lo[k] = lo[k].max(bl);
        hi[k] = hi[k].min(bu);
        let both = self.opts.both_slopes && slope != LowerSlope::Parallel;
        if both && lo[k] < 0.0 && hi[k] > 0.0 {
            let back2 = Backward { slope: LowerSlope::Parallel, ..back };
            let (bl, bu) = back2.neuron(net, l, k, &self.centre, &self.radius);
            lo[k] = lo[k].max(bl);
            hi[k] = hi[k].min(bu);
            return 4;
        }
        2
    }

    /// Relaxes operator l's ReLU (if any) and moves to the next operator.
    fn end_layer(&mut self, net: &NetView) {
        let (l, n) = (self.l, self.centre.len());
        let wo = net.width(l);
        let layers = net.layers();
        let (lo, hi) = (std::mem::take(&mut self.lo), std::mem::take(&mut self.hi));
        let mut nm = std::mem::take(&mut self.nm);
        let mut ng = std::mem::take(&mut self.ng);
        if net.relu(l) {
            let mag_nm = magnitudes(&nm, wo, n, &self.xmax);
            let mag_ng = magnitudes(&ng, wo, n, &self.xmax);
            for k in 0..wo {
                let (zl, zu) = (lo[k], hi[k]);
                if zu <= 0.0 {
                    for j in 0..=n {
                        nm[j * wo + k] = 0.0;
                        ng[j * wo + k] = 0.0;
                    }
                } else if zl < 0.0 {
                    let (s, t) = relax_upper(zl, zu);
                    let alpha = lower_slope(self.opts.slope, zl, zu);
                    for j in 0..=n {
                        let (mj, gj) = (nm[j * wo + k], ng[j * wo + k]);
                        let uh = s * (mj + gj) + if j == n { t } else { 0.0 };
                        let lh = alpha * (mj - gj);
                        nm[j * wo + k] = 0.5 * (uh + lh);
                        ng[j * wo + k] = 0.5 * (uh - lh);
                    }
                    let e = err_bound(16, mag_nm[k] + mag_ng[k] + t);
                    ng[n * wo + k] = add_up(ng[n * wo + k], e);
                }
            }
            self.hmax.push(hi.iter().map(|v| v.max(0.0)).collect());
        } else {
            self.hmax.push(lo.iter().zip(&hi).map(|(a, b)| a.abs().max(b.abs())).collect());
        }
        if l + 1 == layers {
            self.out_m = nm.clone();
            self.out_g = ng.clone();
        }
        self.vm[l + 1] = nm;
        self.vg[l + 1] = ng;
        for t in net.terms(l) {
            if self.last[t.from] == l {
                self.vm[t.from] = Vec::new();
                self.vg[t.from] = Vec::new();
            }
        }
        self.lo_all.push(lo);
        self.hi_all.push(hi);
        self.l += 1;
        if self.l == layers {
            self.stage = Stage::Done;
        } else {
            self.begin_layer(net);
        }
    }

    /// The bounds of a finished pass.
    pub fn finish(self, net: &NetView) -> Result<SymbolicBounds> {
        assert!(self.done(), "SymbolicPass::finish before the pass is done");
        if self.lo_all.iter().chain(self.hi_all.iter()).flatten().any(|v| v.is_nan()) {
            return invalid(
                "bounds: the symbolic bounds overflowed (NaN); the box or the weights are too large".to_string(),
            );
        }
        let layers = net.layers();
        Ok(SymbolicBounds {
            lower_box: self.lower_box,
            upper_box: self.upper_box,
            centre: self.centre,
            radius: self.radius,
            xmax: self.xmax,
            lower: self.lo_all,
            upper: self.hi_all,
            wmax: self.wmax,
            both_slopes: self.opts.both_slopes,
            out_m: self.out_m,
            out_g: self.out_g,
            slope: self.opts.slope,
            relu_out: net.relu(layers - 1),
        })
    }
}

/// Bounds of a spec row over the box: `upper` >= `c·f(x) − q` for every x of the box, and the
/// linear function of the back-substitution, `c·f(x) − q <= slope·x + offset` for every x of
/// the box (real arithmetic; `upper` is the smaller of its maximum and the forward bound).
#[derive(Debug, Clone, PartialEq)]
pub struct RowBound {
    pub upper: f64,
    pub slope: Vec<f64>,
    pub offset: f64,
}

/// The upper line `s z + t` of ReLU on [l, u] (l < 0 < u), t rounded up: valid at both ends.
pub(crate) fn relax_upper(l: f64, u: f64) -> (f64, f64) {
    let s = (u / (u - l)).clamp(0.0, 1.0);
    let t = mul_up(s, -l).max(sub_up(u, mul_down(s, u))).max(0.0);
    (s, t)
}

pub(crate) fn lower_slope(kind: LowerSlope, l: f64, u: f64) -> f64 {
    match kind {
        LowerSlope::Adaptive => {
            if u >= -l {
                1.0
            } else {
                0.0
            }
        }
        LowerSlope::Parallel => (u / (u - l)).clamp(0.0, 1.0),
        LowerSlope::Zero => 0.0,
    }
}

/// max over the box of a·x + a0 (a over x), rounded up.
fn max_over(a: &[f64], a0: f64, centre: &[f64], radius: &[f64]) -> f64 {
    let (mut v, mut mag) = (a0, a0.abs());
    for j in 0..a.len() {
        let (p, q) = (a[j] * centre[j], a[j].abs() * radius[j]);
        v += p + q;
        mag += p.abs() + q;
    }
    add_up(v, err_bound(2 * a.len() + 1, mag))
}

impl SymbolicBounds {
    /// Forward symbolic pass over the box [lower, upper].
    pub fn compute(net: &NetView, lower: &[f64], upper: &[f64], opts: BoundOptions) -> Result<SymbolicBounds> {
        let ib = interval_bounds(net, lower, upper)?;
        Self::compute_with(net, lower, upper, opts, &ib)
    }

    /// [`SymbolicBounds::compute`] given the box's interval bounds.
    pub fn compute_with(
        net: &NetView,
        lower: &[f64],
        upper: &[f64],
        opts: BoundOptions,
        ib: &IntervalBounds,
    ) -> Result<SymbolicBounds> {
        Self::compute_within(net, lower, upper, opts, ib, None)
    }

    /// [`SymbolicBounds::compute_with`], also intersecting every pre-activation with `outer`,
    /// bounds proven on a box that contains this one (a parent in branch and bound): they hold
    /// here too, tighten the relaxations, and spare the back-substitution of every neuron they
    /// already prove stable.
    pub fn compute_within(
        net: &NetView,
        lower: &[f64],
        upper: &[f64],
        opts: BoundOptions,
        ib: &IntervalBounds,
        outer: Option<OuterBounds>,
    ) -> Result<SymbolicBounds> {
        let mut pass = SymbolicPass::new(net, lower, upper, opts)?;
        while !pass.done() {
            pass.advance(net, ib, outer, usize::MAX);
        }
        pass.finish(net)
    }

    /// Number of ReLU neurons whose sign the bounds do not fix (l < 0 < u).
    pub fn unstable(&self, net: &NetView) -> usize {
        (0..self.lower.len())
            .filter(|&l| net.relu(l))
            .map(|l| (0..self.lower[l].len()).filter(|&i| self.lower[l][i] < 0.0 && self.upper[l][i] > 0.0).count())
            .sum()
    }

    /// Output bounds (after the last ReLU, if any).
    pub fn output_bounds(&self) -> (Vec<f64>, Vec<f64>) {
        let (l, u) = (self.lower.last().unwrap(), self.upper.last().unwrap());
        if self.relu_out {
            (l.iter().map(|v| v.max(0.0)).collect(), u.iter().map(|v| v.max(0.0)).collect())
        } else {
            (l.clone(), u.clone())
        }
    }

    /// Cheap bound of `c·f(x) − q` from the forward pass alone (the output functions, or the
    /// output intervals): O(outputs × inputs).
    pub fn row_upper_forward(&self, c: &[f64], q: f64) -> f64 {
        let (ol, ou) = self.output_bounds();
        let by_box = row_upper_from_box(c, q, &ol, &ou);
        if self.relu_out {
            return by_box;
        }
        let n = self.centre.len();
        let k = c.len();
        // c·M + |c|·G per coefficient; the products and sums of each coefficient round with
        // γ_{2k} of their magnitudes, i.e. γ_{2k} Σ_k |c_k| (mag_M + mag_G)_k in value.
        let mut a = vec![0.0; n];
        let mut a0 = -q;
        for o in 0..k {
            let co = c[o];
            if co == 0.0 {
                continue;
            }
            for j in 0..n {
                a[j] += co * self.out_m[j * k + o] + co.abs() * self.out_g[j * k + o];
            }
            a0 += co * self.out_m[n * k + o] + co.abs() * self.out_g[n * k + o];
        }
        let mm = magnitudes(&self.out_m, k, n, &self.xmax);
        let mg = magnitudes(&self.out_g, k, n, &self.xmax);
        let mag: f64 = (0..k).map(|o| c[o].abs() * (mm[o] + mg[o])).sum::<f64>() + q.abs();
        let v = add_up(max_over(&a, a0, &self.centre, &self.radius), err_bound(2 * k + 2, mag));
        v.min(by_box)
    }

    /// Back-substitution of the row `c·y − q` from the output (CROWN): a linear upper bound on
    /// the box and its maximum (see the module documentation for every rounding term).
    pub fn row_upper(&self, net: &NetView, c: &[f64], q: f64) -> Result<RowBound> {
        if c.len() != net.n_out() {
            return invalid(format!(
                "bounds: the spec row has {} entries, the network has {} outputs",
                c.len(),
                net.n_out()
            ));
        }
        let layers = net.layers();
        let back = Backward { lower: &self.lower, upper: &self.upper, wmax: &self.wmax, slope: self.slope };
        let (mut lam, mut offset) = back.run(net, layers, output_block(net, c), -q);
        let mut upper = max_over(&lam, offset, &self.centre, &self.radius);
        if self.both_slopes && self.slope != LowerSlope::Parallel {
            let back = Backward { slope: LowerSlope::Parallel, ..back };
            let (lam2, offset2) = back.run(net, layers, output_block(net, c), -q);
            let upper2 = max_over(&lam2, offset2, &self.centre, &self.radius);
            if upper2 < upper {
                lam = lam2;
                offset = offset2;
                upper = upper2;
            }
        }
        if upper.is_nan() {
            return invalid("bounds: the row bound overflowed (NaN)".to_string());
        }
        Ok(RowBound { upper: upper.min(self.row_upper_forward(c, q)), slope: lam, offset })
    }
    /// [`SymbolicBounds::row_upper`] with the lower slopes α of the unstable ReLUs optimised
    /// for this row (α-CROWN style, the pre-activation bounds kept): up to `steps` projected
    /// gradient steps on α ∈ [0, 1], from the better of the adaptive and the parallel slopes.
    ///
    /// **Soundness does not depend on the optimiser.** Every α ∈ [0, 1] gives a lower line
    /// `α z <= max(0, z)`, so every back-substitution with any α is a sound bound (with the
    /// same rounding terms as the default one); the gradient only chooses among sound bounds,
    /// and the smallest one computed (never above the default) is returned.
    ///
    /// The gradient: the bound is `max_x F_α(x)`, F linear in x and multilinear in α; at the
    /// maximising vertex x*, ∂F/∂α_i = λ_i z_i(x*) where λ_i is the back-substituted coefficient
    /// of the neuron's output (negative where the lower line is used) and z_i(x*) its
    /// pre-activation in the relaxed network (a forward pass with the lines in use). Steps are
    /// scaled by the largest |gradient| and halved whenever they do not lower the bound, so
    /// the result is deterministic and never worse than the start.
    pub fn row_upper_optimised(&self, net: &NetView, c: &[f64], q: f64, steps: usize) -> Result<RowBound> {
        let base = self.row_upper(net, c, q)?;
        if steps == 0 {
            return Ok(base);
        }
        let layers = net.layers();
        let back = Backward { lower: &self.lower, upper: &self.upper, wmax: &self.wmax, slope: self.slope };
        let unstable = |l: usize, i: usize| net.relu(l) && self.lower[l][i] < 0.0 && self.upper[l][i] > 0.0;
        let start =
            |kind: LowerSlope| -> Vec<Vec<f64>> {
                (0..layers)
                    .map(|l| {
                        (0..net.width(l))
                            .map(|i| {
                                if unstable(l, i) {
                                    lower_slope(kind, self.lower[l][i], self.upper[l][i])
                                } else {
                                    0.0
                                }
                            })
                            .collect()
                    })
                    .collect()
            };
        if self.unstable(net) == 0 {
            return Ok(base);
        }
        let mut record = vec![Vec::new(); layers];
        let last = net.last_uses();
        let eval = |alpha: &[Vec<f64>], record: &mut Vec<Vec<f64>>| -> (f64, Vec<f64>, f64) {
            let (lam, offset) = back.run_with(net, layers, output_block(net, c), -q, Some(alpha), Some(record));
            (max_over(&lam, offset, &self.centre, &self.radius), lam, offset)
        };
        let mut alpha = start(LowerSlope::Adaptive);
        let (mut best, mut lam, mut offset) = eval(&alpha, &mut record);
        let mut best_record = record.clone();
        let parallel = start(LowerSlope::Parallel);
        let (b2, l2, o2) = eval(&parallel, &mut record);
        if b2 < best {
            best = b2;
            lam = l2;
            offset = o2;
            alpha = parallel;
            best_record = record.clone();
        }
        let mut eta = 1.0;
        for _ in 0..steps {
            if !best.is_finite() {
                break;
            }
            // The relaxed network at the maximising vertex of the current bound (values as a
            // value map, released after their last reader).
            let x_star: Vec<f64> = (0..lam.len())
                .map(|j| self.centre[j] + if lam[j] >= 0.0 { self.radius[j] } else { -self.radius[j] })
                .collect();
            let mut hs: Vec<Vec<f64>> = vec![Vec::new(); layers + 1];
            hs[0] = x_star;
            let mut grad: Vec<Vec<f64>> = Vec::with_capacity(layers);
            let mut gmax = 0.0f64;
            for l in 0..layers {
                let mut z = net.bias(l).to_vec();
                net.node_add(l, &hs, &mut z);
                let mut gl = vec![0.0; z.len()];
                if net.relu(l) {
                    for i in 0..z.len() {
                        let (zl, zu) = (self.lower[l][i], self.upper[l][i]);
                        let zi = z[i];
                        if zu <= 0.0 {
                            z[i] = 0.0;
                        } else if zl < 0.0 {
                            let li = best_record[l][i];
                            if li >= 0.0 {
                                let (s, t) = relax_upper(zl, zu);
                                z[i] = s * zi + t;
                            } else {
                                gl[i] = li * zi;
                                gmax = gmax.max(gl[i].abs());
                                z[i] = alpha[l][i] * zi;
                            }
                        }
                    }
                }
                grad.push(gl);
                hs[l + 1] = z;
                for t in net.terms(l) {
                    if last[t.from] == l {
                        hs[t.from] = Vec::new();
                    }
                }
            }
            if !(gmax > 0.0 && gmax.is_finite()) {
                break;
            }
            // A few tries along the gradient, halving the step, until the bound drops.
            let mut improved = false;
            while eta > 1.0 / 64.0 {
                let trial: Vec<Vec<f64>> = alpha
                    .iter()
                    .zip(&grad)
                    .map(|(a, g)| a.iter().zip(g).map(|(ai, gi)| (ai - eta * gi / gmax).clamp(0.0, 1.0)).collect())
                    .collect();
                let (b, l, o) = eval(&trial, &mut record);
                if b < best {
                    best = b;
                    lam = l;
                    offset = o;
                    alpha = trial;
                    best_record = record.clone();
                    improved = true;
                    break;
                }
                eta *= 0.5;
            }
            if !improved {
                break;
            }
        }
        if !(best < base.upper) {
            return Ok(base);
        }
        Ok(RowBound { upper: best.min(self.row_upper_forward(c, q)), slope: lam, offset })
    }
}

/// Back-substitution through the operators below a starting point, with the bounds known so far.
struct Backward<'a> {
    lower: &'a [Vec<f64>],
    upper: &'a [Vec<f64>],
    wmax: &'a [Vec<f64>],
    slope: LowerSlope,
}

impl<'a> Backward<'a> {
    /// Given `Σ_v λ_v·v + k0` over the values below node `from` (`blocks` a value map of
    /// coefficient blocks, empty for a zero block; for from = layers, `blocks[layers]` is the
    /// coefficient of the network output), a linear function of x above it on the box:
    /// (slope over x, offset) with every rounding term in the offset (module documentation).
    fn run(&self, net: &NetView, from: usize, blocks: Vec<Vec<f64>>, k0: f64) -> (Vec<f64>, f64) {
        self.run_with(net, from, blocks, k0, None, None)
    }

    /// [`Backward::run`] with the lower slope of every unstable ReLU taken from `alpha` (per
    /// operator and neuron, each in [0, 1]) instead of `self.slope`, and the coefficient of every
    /// ReLU output (before its relaxation) copied to `record[l]` (the gradient of the slopes).
    /// Sound for every α ∈ [0, 1]: α z <= max(0, z) for every real z, and the product λ α is
    /// rounded like any other (its error is in `relax_mag`).
    ///
    /// Nodes are visited in reverse order: node l's block (that of value l + 1) is then
    /// complete, every node reading it having been visited. It is relaxed at node l's ReLU
    /// with node l's pre-activation bounds (one relaxation per neuron, whatever the number of
    /// readers: a linear function of one value), its bias goes to the constant, and `±A_tᵀ μ`
    /// is added to the block of each term's value. A node whose block is zero (no reader on the
    /// way to the start) adds nothing.
    fn run_with(
        &self,
        net: &NetView,
        from: usize,
        mut blocks: Vec<Vec<f64>>,
        k0: f64,
        alpha: Option<&[Vec<f64>]>,
        mut record: Option<&mut Vec<Vec<f64>>>,
    ) -> (Vec<f64>, f64) {
        let mut k_val = k0;
        let mut k_mag = k0.abs();
        let mut k_terms = 1usize;
        let mut err = 0.0f64;
        for l in (0..from).rev() {
            let w = net.width(l);
            let mut mu = std::mem::take(&mut blocks[l + 1]);
            if mu.is_empty() {
                if let Some(rec) = record.as_mut() {
                    rec[l] = vec![0.0; w];
                }
                continue;
            }
            if let Some(rec) = record.as_mut() {
                rec[l] = mu.clone();
            }
            if net.relu(l) {
                let mut relax_mag = 0.0;
                for i in 0..w {
                    let (zl, zu) = (self.lower[l][i], self.upper[l][i]);
                    if zu <= 0.0 {
                        mu[i] = 0.0;
                    } else if zl < 0.0 {
                        let li = mu[i];
                        if li >= 0.0 {
                            let (s, t) = relax_upper(zl, zu);
                            mu[i] = li * s;
                            let term = li * t;
                            k_val += term;
                            k_mag += term.abs();
                            k_terms += 1;
                        } else {
                            let a = match alpha {
                                Some(a) => a[l][i].clamp(0.0, 1.0),
                                None => lower_slope(self.slope, zl, zu),
                            };
                            mu[i] = li * a;
                        }
                        relax_mag += mu[i].abs() * zl.abs().max(zu);
                    }
                }
                err = add_up(err, err_bound(1, relax_mag));
            }
            let b = net.bias(l);
            for i in 0..w {
                if mu[i] != 0.0 {
                    let term = mu[i] * b[i];
                    k_val += term;
                    k_mag += term.abs();
                }
            }
            k_terms += w;
            net.node_t_add(l, &mu, &mut blocks);
            // An entry of a block sums at most col_terms(l) products over all its readers.
            let spread: f64 = mu.iter().zip(&self.wmax[l]).map(|(a, b)| a.abs() * b).sum();
            err = add_up(err, err_bound(net.col_terms(l), spread));
        }
        err = add_up(err, err_bound(k_terms, k_mag));
        let mut lam = std::mem::take(&mut blocks[0]);
        if lam.is_empty() {
            lam = vec![0.0; net.n_in()];
        }
        (lam, add_up(k_val, err))
    }

    /// Bounds of entry i of z_l (pre-activation) by back-substitution through operators < l.
    fn neuron(&self, net: &NetView, l: usize, i: usize, centre: &[f64], radius: &[f64]) -> (f64, f64) {
        let mut bounds = [0.0; 2];
        for (s, sign) in [1.0f64, -1.0].iter().enumerate() {
            let mut e = vec![0.0; net.width(l)];
            e[i] = *sign;
            let mut blocks = vec![Vec::new(); net.values()];
            net.node_t_add(l, &e, &mut blocks);
            // Node l itself: its row (exact data, negated exactly) and its bias.
            let spread = self.wmax[l][i];
            let k0 = sign * net.bias(l)[i];
            let (slope, offset) = self.run(net, l, blocks, k0);
            let offset = add_up(offset, err_bound(net.start_terms(l), spread));
            bounds[s] = max_over(&slope, offset, centre, radius);
        }
        (-bounds[1], bounds[0])
    }
}

/// The value map of a back-substitution from the output: coefficient c on the output value.
fn output_block(net: &NetView, c: &[f64]) -> Vec<Vec<f64>> {
    let mut blocks = vec![Vec::new(); net.values()];
    blocks[net.layers()] = c.to_vec();
    blocks
}

/// Per function (row k of a column-major `(n + 1) × w` array): Σ_j |F_kj| max|x_j| + |F_k0|.
fn magnitudes(f: &[f64], w: usize, n: usize, xmax: &[f64]) -> Vec<f64> {
    let mut mag: Vec<f64> = f[n * w..(n + 1) * w].iter().map(|v| v.abs()).collect();
    for j in 0..n {
        for k in 0..w {
            mag[k] += f[j * w + k].abs() * xmax[j];
        }
    }
    mag
}

/// Rounding of forming M ± G coefficient by coefficient for function k: u per coefficient, in
/// value at most u (mag_M + mag_G)_k.
fn coef_sum_err(m: &[f64], g: &[f64], w: usize, k: usize, n: usize, xmax: &[f64]) -> f64 {
    let mut mag = m[n * w + k].abs() + g[n * w + k].abs();
    for j in 0..n {
        mag += (m[j * w + k].abs() + g[j * w + k].abs()) * xmax[j];
    }
    err_bound(2, mag)
}

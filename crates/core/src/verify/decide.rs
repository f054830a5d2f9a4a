//! The decision of one box by sound bounds, cheapest first (`AREA-AT-SCALE.md` §1).
//!
//! The box is safe when no disjunct `{y : A y <= b}` of the unsafe set meets f(box). A disjunct
//! is proven unmet when, over the box,
//! 1. some row has a lower bound of `A_r f(x) − b_r` above 0 — by interval arithmetic, then
//!    the symbolic forward pass, then back-substitution of the row (CROWN); or
//! 2. the rows' linear lower bounds `L_r(x) <= A_r f(x) − b_r` (from back-substitution) satisfy
//!    `min_x max_r L_r(x) > 0`: a tiny LP over the box (the inputs and one variable), whose
//!    certified dual bound is a proven positive lower bound of a non-negative combination of
//!    the rows — tighter than any single row when different rows hold in different parts; the
//!    LP's multipliers then give one combined row, back-substituted on its own (tighter still);
//! 3. when few ReLUs are unstable (`lp_max_unstable`: the LP then has few variables and mostly
//!    succeeds — measured on ACAS Xu: 76 % of the attempts below 10 unstable ReLUs, 12 % at
//!    30–40, none above 60), the LP relaxation of the whole network over the box
//!    (`bounds::lp_relax`), joint over the disjunct's rows — when building it is cheap enough
//!    for one step ([`LP_RELAX_MAX_PRODUCTS`]).
//!
//! An undecided box reports the unstable ReLU count and a split score per input ("smear", as in
//! ReluVal): the box width times an upper bound of |∂(row·y)/∂x_j| over the box (the row closest
//! to a proof, back-propagated through |A| and every ReLU that is not provably inactive), summed
//! over the undecided disjuncts. The slope of the relaxed bound would miss the looseness of the
//! unstable ReLUs; the gradient bound includes them, and shrinks with the width, so every input
//! the row depends on is eventually split.

use super::property::{Disjunct, Property};
use crate::bounds::symbolic::OuterBounds;
use crate::bounds::{
    interval_bounds, row_upper_from_box, BoundOptions, IntervalBounds, LpRelaxation, NetView, SymbolicBounds,
    SymbolicPass,
};
use crate::error::{Error, Result};
use crate::lp::{Polytope, Simplex};

/// How a box (or part of it) was proven safe; also the index of the volume statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// The box misses the input polytope (LP).
    Empty = 0,
    /// Interval arithmetic.
    Interval = 1,
    /// Symbolic linear bounds of single rows (forward pass or back-substitution).
    Symbolic = 2,
    /// The rows' symbolic bounds combined by an LP over the box.
    SymbolicLp = 3,
    /// The LP (triangle) relaxation of the network over the box, joint over the rows.
    LpRelaxation = 4,
    /// Exact decision of every linear region of the box by LP.
    Regions = 5,
}

pub const METHODS: usize = 6;

/// The outcome of bounding one box.
pub enum BoxDecision {
    /// Every disjunct is unmet; `margin` is a proven lower bound of the property margin.
    Safe { method: Method, margin: f64 },
    /// `hint`: the minimiser of the LP relaxation of an undecided disjunct (a promising start for
    /// the counterexample search), when one was solved.
    /// `bound`: the best proven lower bound of the margin of the undecided disjuncts (< 0;
    /// branch and bound explores the most negative first when looking for counterexamples).
    Open { unstable: usize, smear: Vec<f64>, bounds: Box<SymbolicBounds>, hint: Option<Vec<f64>>, bound: f64 },
}

/// Work units spent (for the step budgets of the caller).
pub const BOX_WORK: usize = 10;

/// Lower bound of `row·y − b` on the box from the symbolic bounds: forward first, then the
/// back-substitution (returning its linear lower function `−slope·x − offset`).
/// A linear function `slope·x + offset` of the inputs.
type Line = (Vec<f64>, f64);

fn row_lower(net: &NetView, sb: &SymbolicBounds, row: &[f64], b: f64) -> Result<(f64, Option<Line>)> {
    let neg: Vec<f64> = row.iter().map(|v| -v).collect();
    let fwd = -sb.row_upper_forward(&neg, -b);
    if fwd > 0.0 {
        return Ok((fwd, None));
    }
    let rb = sb.row_upper(net, &neg, -b)?;
    Ok((-rb.upper, Some((rb.slope, rb.offset))))
}

/// `min_x max_r L_r(x)` over the box, a certified lower bound, with L_r(x) = −(s_r·x + o_r).
fn joint_lower(lower: &[f64], upper: &[f64], lines: &[Line]) -> Result<(f64, Vec<f64>)> {
    let n = lower.len();
    let nv = n + 1;
    let mut g = Vec::with_capacity(lines.len() * nv);
    let mut h = Vec::with_capacity(lines.len());
    let (mut tlo, mut thi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (s, o) in lines {
        // L_r(x) <= t  ⟺  −s·x − t <= o.
        g.extend(s.iter().map(|v| -v));
        g.push(-1.0);
        h.push(*o);
        let (mut lo_v, mut hi_v) = (-o, -o);
        for j in 0..n {
            let (a, b) = (-s[j] * lower[j], -s[j] * upper[j]);
            lo_v += a.min(b);
            hi_v += a.max(b);
        }
        tlo = tlo.min(lo_v);
        thi = thi.max(hi_v);
    }
    if !(tlo.is_finite() && thi.is_finite()) {
        return Ok((f64::NEG_INFINITY, Vec::new()));
    }
    // t ranges over an enclosure of max_r L_r on the box (widened against rounding).
    let pad = 1.0 + 1e-6 * (tlo.abs() + thi.abs());
    let mut lo = lower.to_vec();
    let mut hi = upper.to_vec();
    lo.push(tlo - pad);
    hi.push(thi + pad);
    let p = Polytope::new(nv, &g, &h, &lo, &hi)?;
    let mut c = vec![0.0; nv];
    c[n] = -1.0;
    match Simplex::new(p).maximize(&c) {
        Ok(sol) => Ok((-sol.upper, sol.duals)),
        // No certified optimum: no proof (the caller splits or enumerates instead).
        Err(Error::Lp(_)) | Err(Error::Empty(_)) => Ok((f64::NEG_INFINITY, Vec::new())),
        Err(e) => Err(e),
    }
}

/// An upper bound of |∂(c·y)/∂x_j| over the box, per input (not a proof: a split heuristic).
fn gradient_bound(net: &NetView, sb: &SymbolicBounds, c: &[f64]) -> Vec<f64> {
    // |A|ᵀ products node by node in reverse order, summing over the readers of each value.
    let mut blocks: Vec<Vec<f64>> = vec![Vec::new(); net.values()];
    blocks[net.layers()] = c.iter().map(|v| v.abs()).collect();
    for l in (0..net.layers()).rev() {
        let mut lam = std::mem::take(&mut blocks[l + 1]);
        if lam.is_empty() {
            continue;
        }
        if net.relu(l) {
            for (i, li) in lam.iter_mut().enumerate() {
                if sb.upper[l][i] <= 0.0 {
                    *li = 0.0;
                }
            }
        }
        net.node_abs_t_add(l, &lam, &mut blocks);
    }
    let lam = std::mem::take(&mut blocks[0]);
    if lam.is_empty() {
        vec![0.0; net.n_in()]
    } else {
        lam
    }
}

/// Whether the disjunct is proven unmet on the box from its output interval alone.
fn unmet_by_interval(d: &Disjunct, k: usize, ol: &[f64], ou: &[f64]) -> Option<f64> {
    let mut best = f64::NEG_INFINITY;
    for r in 0..d.rows() {
        let neg: Vec<f64> = d.row(r, k).iter().map(|v| -v).collect();
        best = best.max(-row_upper_from_box(&neg, -d.b[r], ol, ou));
    }
    if best > 0.0 {
        Some(best)
    } else {
        None
    }
}

/// Products (multiply-adds, about) of the symbolic bounds per work unit: a unit is then about
/// a box bound of a small network, so that the step budgets of the caller slice a large
/// network's bounds into steps of about the same duration.
pub const PRODUCTS_PER_WORK: usize = 1 << 16;

/// Multiply-adds of one forward pass (about: the cost of a network evaluation, for the step
/// budgets).
pub fn forward_products(net: &NetView) -> usize {
    (0..net.layers()).map(|l| net.width(l) * net.row_terms(l).max(1)).sum::<usize>().max(1)
}

/// The LP relaxation is built as one column per variable (inputs and unstable ReLUs) through the
/// whole network (`LpRelaxation::build`), in one piece: it is tried only when that costs at most
/// this many multiply-adds (about half a second), so that a step never holds for long and its
/// memory, (variables × the widest layer) values, stays small. Reached by the MNIST networks of
/// VNN-COMP (784 inputs and 48 unstable ReLUs through 256x6: 4.4e8), not by the CIFAR CNNs
/// (3,072 inputs through about 6e6 products per pass), where boxes are split instead.
pub const LP_RELAX_MAX_PRODUCTS: usize = 1 << 29;

/// Multiply-adds of building the LP relaxation with `unstable` unstable ReLUs.
fn relaxation_products(net: &NetView, unstable: usize) -> usize {
    let widths: usize = (0..net.layers()).map(|l| net.width(l)).sum();
    (net.n_in() + unstable + 1).saturating_mul(forward_products(net) + widths)
}

/// A box's bounds in progress: its interval bounds, the disjuncts they leave open, and the
/// symbolic pass, advanced in bounded steps ([`BoxBounding::advance`]) before
/// [`BoxBounding::decide`].
#[derive(Debug, Clone)]
pub struct BoxBounding {
    ib: IntervalBounds,
    pass: SymbolicPass,
    margin: f64,
    open: Vec<usize>,
}

impl BoxBounding {
    /// Interval bounds and the start of the symbolic pass; `work` grows by [`BOX_WORK`].
    pub fn start(
        net: &NetView,
        prop: &Property,
        lower: &[f64],
        upper: &[f64],
        bounds: BoundOptions,
        work: &mut usize,
    ) -> Result<BoxBounding> {
        let k = prop.n_out;
        *work += BOX_WORK;
        let ib = interval_bounds(net, lower, upper)?;
        let (ol, ou) = (ib.output_lower(), ib.output_upper());
        let mut margin = f64::INFINITY;
        let mut open: Vec<usize> = Vec::new();
        for (t, d) in prop.unsafe_set.iter().enumerate() {
            match unmet_by_interval(d, k, &ol, &ou) {
                Some(m) => margin = margin.min(m),
                None => open.push(t),
            }
        }
        let pass = SymbolicPass::new(net, lower, upper, bounds)?;
        Ok(BoxBounding { ib, pass, margin, open })
    }

    /// Advances the symbolic pass by about `budget` work units (at least one unit of the pass);
    /// returns the work spent. `outer` as in [`SymbolicBounds::compute_within`], the same at
    /// every call.
    pub fn advance(&mut self, net: &NetView, outer: Option<OuterBounds>, budget: usize) -> usize {
        let products = self.pass.advance(net, &self.ib, outer, budget.saturating_mul(PRODUCTS_PER_WORK));
        products / PRODUCTS_PER_WORK + (products % PRODUCTS_PER_WORK != 0) as usize
    }

    /// Done when the symbolic pass is, or at once when interval arithmetic already decided every
    /// disjunct (the decision is then `Interval`, which the pass could not change; a large
    /// graph's pass can take a minute).
    pub fn done(&self) -> bool {
        self.open.is_empty() || self.pass.done()
    }

    /// Decides the box once the pass is done; `work` grows by the units spent.
    pub fn decide(
        self,
        net: &NetView,
        prop: &Property,
        lower: &[f64],
        upper: &[f64],
        lp_max_unstable: usize,
        slope_steps: usize,
        work: &mut usize,
    ) -> Result<BoxDecision> {
        let BoxBounding { pass, margin, open, .. } = self;
        if open.is_empty() {
            return Ok(BoxDecision::Safe { method: Method::Interval, margin });
        }
        let sb = pass.finish(net)?;
        decide_bounded(net, prop, lower, upper, lp_max_unstable, slope_steps, sb, margin, open, work)
    }
}

/// Decides one box by bounds; `work` grows by the units spent. The same as
/// [`BoxBounding::start`], [`BoxBounding::advance`] to the end, and [`BoxBounding::decide`].
#[allow(clippy::too_many_arguments)]
pub fn decide_box(
    net: &NetView,
    prop: &Property,
    lower: &[f64],
    upper: &[f64],
    bounds: BoundOptions,
    lp_max_unstable: usize,
    slope_steps: usize,
    outer: Option<OuterBounds>,
    work: &mut usize,
) -> Result<BoxDecision> {
    let mut b = BoxBounding::start(net, prop, lower, upper, bounds, work)?;
    while !b.done() {
        *work += b.advance(net, outer, usize::MAX);
    }
    b.decide(net, prop, lower, upper, lp_max_unstable, slope_steps, work)
}

/// The rest of [`decide_box`], given the symbolic bounds and what interval arithmetic decided.
#[allow(clippy::too_many_arguments)]
fn decide_bounded(
    net: &NetView,
    prop: &Property,
    lower: &[f64],
    upper: &[f64],
    lp_max_unstable: usize,
    slope_steps: usize,
    sb: SymbolicBounds,
    mut margin: f64,
    open: Vec<usize>,
    work: &mut usize,
) -> Result<BoxDecision> {
    let k = prop.n_out;
    let n = prop.n_in;
    if open.is_empty() {
        return Ok(BoxDecision::Safe { method: Method::Interval, margin });
    }
    let unstable = sb.unstable(net);
    let mut method = Method::Symbolic;
    let mut smear = vec![0.0; n];
    let mut undecided = false;
    let mut relaxation: Option<LpRelaxation> = None;
    let mut hint: Option<Vec<f64>> = None;
    let mut open_bound = f64::INFINITY;
    for &t in &open {
        let d = &prop.unsafe_set[t];
        let mut best = f64::NEG_INFINITY;
        let mut best_row = 0;
        let mut lines = Vec::with_capacity(d.rows());
        for r in 0..d.rows() {
            let (lb, line) = row_lower(net, &sb, d.row(r, k), d.b[r])?;
            *work += 1;
            if lb > best {
                best = lb;
                best_row = r;
            }
            if lb > 0.0 {
                break;
            }
            if let Some(line) = line {
                lines.push(line);
            }
        }
        if best > 0.0 {
            margin = margin.min(best);
            continue;
        }
        // The row the optimised slopes work on: the LP's combination of the rows, else the best row.
        let mut focus: Option<(Vec<f64>, f64)> = None;
        let mut focus_slope: Option<Vec<f64>> = None;
        if d.rows() >= 2 && lines.len() == d.rows() {
            *work += 2;
            let (joint, duals) = joint_lower(lower, upper, &lines)?;
            if joint > 0.0 {
                margin = margin.min(joint);
                method = method.max(Method::SymbolicLp);
                continue;
            }
            // The LP's multipliers weigh the rows; Σ λ_r (A_r y − b_r) > 0 on the box proves the
            // disjunct unmet too (λ >= 0), and its own back-substitution relaxes every ReLU for
            // the combined coefficients, which is tighter than combining the rows' bounds.
            let total: f64 = duals.iter().filter(|v| **v > 0.0).sum();
            if total > 0.0 {
                let mut c = vec![0.0; k];
                let mut q = 0.0;
                for (r, &l) in duals.iter().enumerate() {
                    if l > 0.0 {
                        let w = l / total;
                        for o in 0..k {
                            c[o] += w * d.row(r, k)[o];
                        }
                        q += w * d.b[r];
                    }
                }
                *work += 1;
                let (lb, _) = row_lower(net, &sb, &c, q)?;
                best = best.max(lb).max(joint);
                if lb > 0.0 {
                    margin = margin.min(lb);
                    method = method.max(Method::SymbolicLp);
                    continue;
                }
                focus = Some((c, q));
            }
        }
        if slope_steps > 0 && unstable > 0 {
            // Optimised lower slopes (α-CROWN style) on one row: sound for every slope the
            // optimiser picks (`SymbolicBounds::row_upper_optimised`), and far cheaper than the
            // LP relaxation below, which they often make unnecessary.
            let combined = focus.is_some();
            let (c, q) = focus.unwrap_or_else(|| (d.row(best_row, k).to_vec(), d.b[best_row]));
            let neg: Vec<f64> = c.iter().map(|v| -v).collect();
            *work += 1 + slope_steps / 2;
            let rb = sb.row_upper_optimised(net, &neg, -q, slope_steps)?;
            let lb = -rb.upper;
            if combined {
                focus_slope = Some(rb.slope);
            }
            best = best.max(lb);
            if lb > 0.0 {
                margin = margin.min(lb);
                method = method.max(if combined { Method::SymbolicLp } else { Method::Symbolic });
                continue;
            }
        }
        if unstable <= lp_max_unstable && relaxation_products(net, unstable) <= LP_RELAX_MAX_PRODUCTS {
            if relaxation.is_none() {
                *work += relaxation_products(net, unstable) / PRODUCTS_PER_WORK;
                relaxation = Some(LpRelaxation::build(net, lower, upper, &sb.lower, &sb.upper)?);
            }
            let lp = relaxation.as_ref().expect("built above");
            *work += 4 + lp.variables() / 4;
            let (value, x) = lp.min_max_rows(&d.a, &d.b)?;
            best = best.max(value);
            if value > 0.0 {
                margin = margin.min(value);
                method = method.max(Method::LpRelaxation);
                continue;
            }
            if hint.is_none() && x.len() == n {
                hint = Some(x);
            }
        }
        undecided = true;
        open_bound = open_bound.min(best);
        // The score mixes two views of where splitting helps, each normalised to sum 1 over the
        // inputs: the gradient bound (which sees the loose ReLUs) and, for a disjunct of several
        // rows, the slope of the optimised bound of their LP combination (which inputs that bound
        // still varies with), at half weight. Measured on the 186 ACAS Xu instances (boxes of the
        // instances that hold): φ2 −30 % (N3,3 32,393 → 19,073; N4,2 11,033 → 10,773), φ1 −4 %,
        // φ3 +15 % (all below 300 boxes), φ4 equal. Not universal: on random 5-16-16-16-5
        // networks with tight φ2-like properties it took 33 % more boxes (an ACAS choice, to be
        // revisited with a look-ahead split).
        let grad = gradient_bound(net, &sb, d.row(best_row, k));
        let width = |j: usize| upper[j] - lower[j];
        let gs: f64 = (0..n).map(|j| grad[j] * width(j)).sum();
        let fs = focus_slope.as_ref().map_or(0.0, |sl| (0..n).map(|j| sl[j].abs() * width(j)).sum());
        for j in 0..n {
            let g = grad[j] * width(j);
            smear[j] += match &focus_slope {
                Some(sl) if fs > 0.0 && gs > 0.0 => g / gs + 0.5 * sl[j].abs() * width(j) / fs,
                _ if gs > 0.0 => g / gs,
                _ => g,
            };
        }
    }
    if !undecided {
        return Ok(BoxDecision::Safe { method, margin });
    }
    if smear.iter().all(|&v| v == 0.0) {
        // No slope information (e.g. the row's forward bound was used): split the widest side.
        for j in 0..n {
            smear[j] = upper[j] - lower[j];
        }
    }
    Ok(BoxDecision::Open { unstable, smear, bounds: Box::new(sb), hint, bound: open_bound })
}

//! Exact enumeration of the affine pieces of a ReLU program over an input polytope, and of the
//! linear regions of a network inside a box or H-polytope (area repair, METHOD.md §1).
//!
//! A [`ReluProgram`] is a list of neurons in topological order; each neuron's pre-activation is
//! affine in the input x and in the outputs of earlier neurons. A network is one (neurons layer
//! by layer), and so is the part of a repaired network that matters on one linear region (its
//! affine map plus the patch networks whose bands reach it; see `certificate.rs`). On a cell on
//! which the states of neurons 0..k−1 are fixed, every earlier output is affine in x, so neuron
//! k's pre-activation z_k is affine in x too.
//!
//! The [`Explorer`] walks the neurons in order, depth first. For neuron k on a cell it decides
//! the sign of z_k: first on the cell's bounding box (interval arithmetic, free), then by two
//! warm-started LPs (max and min of z_k over the cell). When the sign is not constant the cell
//! splits along the neuron's hyperplane into two cells with one more (normalised) row each.
//! A finished cell — every state fixed, the program affine on it — is a [`Piece`].
//!
//! Decisions are certified, never guessed: neuron k counts as inactive when the weak-duality
//! upper bound U of z_k over the cell is <= eps·‖∇z_k‖ + 4·(rounding margin of that bound) +
//! 1e-12·(magnitude of z_k's terms), i.e. the cell reaches at most `eps` input units (plus
//! rounding) across the hyperplane; active when
//! the certified lower bound L >= −(same). The error of that choice, err_k = max(0, U) (resp.
//! max(0, −L)) in pre-activation units, is kept with the piece: a user of the pieces bounds
//! |program(x) − piece map(x)| <= Σ_k S_k err_k with S_k a Lipschitz bound of the outputs in
//! neuron k's output (ReLUs are 1-Lipschitz), as the certificates do; region enumeration uses
//! eps > 0 so that slivers thinner than eps are not separate regions.
//!
//! Memory is bounded by the depth of the search: a split pushes two cells and the stack never
//! holds more than (neurons + 1) cells, each with its rows and the affine maps of its decided
//! neurons. Pieces are handed out one at a time.

use crate::error::{invalid, Error, Result};
use crate::linalg::{axpy, norm2};
use crate::lp::{Polytope, Simplex};
use crate::network::Network;
use crate::region::check_box;

/// One neuron of a [`ReluProgram`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramNeuron {
    /// Weights on the program input x (length n_in), or empty for none.
    pub c: Vec<f64>,
    pub c0: f64,
    /// Weights on the outputs of earlier neurons: (neuron index, weight).
    pub inputs: Vec<(usize, f64)>,
    /// Contribution of this neuron's output to the program outputs: (output index, weight).
    pub outputs: Vec<(usize, f64)>,
    /// false: a linear neuron (identity), which needs no decision.
    pub relu: bool,
    /// Earlier ReLU neurons that switch this one off: when any of them is inactive on a cell,
    /// this neuron is set inactive without a decision. Only sound when the program's outputs do
    /// not depend on this neuron in that case (patch networks: once one support row has
    /// γ s_i + 1 <= 0 the support g is 0 whatever the other rows do; see `certificate.rs`).
    pub gate: Vec<usize>,
    /// State known from outside the LPs (a proof by construction, e.g. a patch row that is one of
    /// the region's own rows): used without a decision, error 0.
    pub known: Option<u8>,
    /// Extra decision slack in pre-activation units: a cell reaching at most this far across
    /// the hyperplane is not split (the reach is charged as the decision's error).
    pub slack: f64,
}

/// y(x) = F x + e + Σ_k post_k · out_k, with post_k = ReLU(z_k) (or z_k for linear neurons).
#[derive(Debug, Clone, PartialEq)]
pub struct ReluProgram {
    pub n_in: usize,
    pub n_out: usize,
    pub neurons: Vec<ProgramNeuron>,
    /// Direct affine part of the outputs: `n_out × n_in` row-major, and the offset.
    pub f: Vec<f64>,
    pub e: Vec<f64>,
}

impl ReluProgram {
    /// The network as a program: hidden neurons layer by layer, in pattern order for ReLU layers.
    pub fn from_network(net: &Network) -> ReluProgram {
        let n = net.n_in();
        let k = net.n_out();
        let mut neurons: Vec<ProgramNeuron> = Vec::with_capacity(net.layers.iter().map(|l| l.n_out).sum());
        let mut prev: Option<Vec<usize>> = None;
        let mut f = vec![0.0; k * n];
        let mut e = vec![0.0; k];
        let layers = net.layers.len();
        for (li, layer) in net.layers.iter().enumerate() {
            let last = li + 1 == layers;
            let (ni, no) = (layer.n_in, layer.n_out);
            if last && !layer.relu {
                e.copy_from_slice(&layer.b);
                match &prev {
                    None => f.copy_from_slice(&layer.w),
                    Some(idx) => {
                        for o in 0..no {
                            for j in 0..ni {
                                let w = layer.w[o * ni + j];
                                if w != 0.0 {
                                    neurons[idx[j]].outputs.push((o, w));
                                }
                            }
                        }
                    }
                }
                break;
            }
            let mut cur = Vec::with_capacity(no);
            for o in 0..no {
                let wrow = &layer.w[o * ni..(o + 1) * ni];
                let (c, inputs) = match &prev {
                    None => (wrow.to_vec(), Vec::new()),
                    Some(idx) => (Vec::new(), (0..ni).filter(|&j| wrow[j] != 0.0).map(|j| (idx[j], wrow[j])).collect()),
                };
                neurons.push(ProgramNeuron { c, c0: layer.b[o], inputs, outputs: Vec::new(), relu: layer.relu, gate: Vec::new(), known: None, slack: 0.0 });
                cur.push(neurons.len() - 1);
            }
            if last {
                for (o, &id) in cur.iter().enumerate() {
                    neurons[id].outputs.push((o, 1.0));
                }
            }
            prev = Some(cur);
        }
        ReluProgram { n_in: n, n_out: k, neurons, f, e }
    }

    /// Lipschitz bounds of the linear output functionals w_j·y (`w` is `rows × n_out`) in the
    /// output of each neuron, holding x fixed: S[k·rows + j] = |w_j·out_k| + Σ_{l reads k} |w_lk| S_l,j.
    pub fn sensitivities(&self, w: &[f64], rows: usize) -> Vec<f64> {
        self.sensitivities_with(w, rows, &|_, _| None)
    }

    /// [`ReluProgram::sensitivities`] with some neurons' bounds given (`fixed(k, j)`, a proven
    /// Lipschitz bound of row j w.r.t. neuron k's output): used as is for that neuron and
    /// propagated to its inputs, instead of the sum over its consumers.
    pub fn sensitivities_with(&self, w: &[f64], rows: usize, fixed: &dyn Fn(usize, usize) -> Option<f64>) -> Vec<f64> {
        let nn = self.neurons.len();
        let mut s = vec![0.0; nn * rows];
        for (k, neuron) in self.neurons.iter().enumerate() {
            for j in 0..rows {
                let v: f64 = neuron.outputs.iter().map(|&(o, wt)| w[j * self.n_out + o] * wt).sum();
                s[k * rows + j] = v.abs();
            }
        }
        for l in (0..nn).rev() {
            for j in 0..rows {
                if let Some(v) = fixed(l, j) {
                    s[l * rows + j] = v;
                }
            }
            for &(k, wt) in &self.neurons[l].inputs {
                for j in 0..rows {
                    s[k * rows + j] += wt.abs() * s[l * rows + j];
                }
            }
        }
        s
    }
}

/// Options of the [`Explorer`].
#[derive(Debug, Clone, Copy)]
pub struct ExploreOptions {
    /// Decision slack in input units: a cell that reaches at most `eps` across a neuron's
    /// hyperplane is not split by it (0 = split whenever the LP bounds allow).
    pub eps: f64,
    /// Decision slack relative to the magnitude of the pre-activation's terms (see
    /// [`DECISION_RTOL`]; 0 = only the LP's own rounding margin).
    pub rtol: f64,
}

/// A finished cell: every neuron state fixed, the program affine on it.
pub struct Piece {
    /// Per neuron: 1 active (or linear), 0 inactive.
    pub states: Vec<u8>,
    /// Affine map of each neuron's output on the piece, `(n_in + 1)` values per neuron (x part,
    /// then the constant); zero for inactive neurons.
    pub maps: Vec<f64>,
    /// Per neuron: error bound of the decision in pre-activation units (0 when exact).
    pub err: Vec<f64>,
    /// Rows of the piece not implied by its bounding box (normalised), and that box.
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// A warm simplex over the piece, for further LPs.
    pub simplex: Simplex,
    /// Share of the root cell (an estimate of the explored fraction, for progress).
    pub weight: f64,
}

struct Cell {
    a: Vec<f64>,
    b: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    /// The cell's bounded polytope when it was already built (children of a split).
    built: Option<BoxedPolytope>,
    states: Vec<u8>,
    maps: Vec<f64>,
    err: Vec<f64>,
    weight: f64,
}

/// The tight bounding box of {a x <= b} ∩ [lower, upper] (certified LP bounds, clamped to the
/// box), the rows that box does not imply, and a simplex over (kept rows, bounding box) — the
/// same set. Returns `Error::Lp` when the set is empty.
pub struct BoxedPolytope {
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub simplex: Simplex,
    pub lps: usize,
}

/// Interval of c·x + c0 over the box [lo, hi], a bound on its own rounding, and the magnitude
/// |c0| + Σ |c_j| max(|lo_j|, |hi_j|) of the terms.
fn interval_mag(c: &[f64], c0: f64, lo: &[f64], hi: &[f64]) -> (f64, f64, f64, f64) {
    let (mut mx, mut mn, mut mag) = (c0, c0, c0.abs());
    for j in 0..c.len() {
        let (p, q) = (c[j] * lo[j], c[j] * hi[j]);
        mx += p.max(q);
        mn += p.min(q);
        mag += p.abs().max(q.abs());
    }
    (mx, mn, 4.0 * (c.len() + 2) as f64 * f64::EPSILON * mag, mag)
}

fn interval(c: &[f64], c0: f64, lo: &[f64], hi: &[f64]) -> (f64, f64, f64) {
    let (mx, mn, guard, _) = interval_mag(c, c0, lo, hi);
    (mx, mn, guard)
}

/// Relative slack of sign decisions beyond the LP's own rounding margin: warm-started dual
/// bounds can be loose by a few ulps of the terms. Any slack is sound (the decision error is the
/// certified bound itself, carried as `err`); this one only avoids splitting off faces.
pub const DECISION_RTOL: f64 = 1e-12;

pub fn bounded_polytope(n: usize, a: &[f64], b: &[f64], lower: &[f64], upper: &[f64]) -> Result<BoxedPolytope> {
    let p = Polytope::new(n, a, b, lower, upper)?;
    let mut sx = Simplex::new(p);
    let mut lo = lower.to_vec();
    let mut hi = upper.to_vec();
    let mut c = vec![0.0; n];
    for j in 0..n {
        c[j] = 1.0;
        let u = sx.maximize(&c)?.upper;
        c[j] = -1.0;
        let l = -sx.maximize(&c)?.upper;
        c[j] = 0.0;
        hi[j] = u.min(upper[j]);
        lo[j] = l.max(lower[j]);
        if lo[j] > hi[j] {
            // A flat set (rounding put the bounds in the wrong order): keep a degenerate interval.
            let mid = 0.5 * (lo[j] + hi[j]);
            lo[j] = mid;
            hi[j] = mid;
        }
    }
    let m = b.len();
    let mut ka = Vec::with_capacity(a.len());
    let mut kb = Vec::with_capacity(m);
    for i in 0..m {
        let row = &a[i * n..(i + 1) * n];
        let (mx, _, guard) = interval(row, -b[i], &lo, &hi);
        if mx + guard > 0.0 {
            ka.extend_from_slice(row);
            kb.push(b[i]);
        }
    }
    let simplex = if kb.len() < m || lo.as_slice() != lower || hi.as_slice() != upper {
        Simplex::new(Polytope { n, m: kb.len(), g: &ka, h: &kb, lower: &lo, upper: &hi })
    } else {
        sx
    };
    Ok(BoxedPolytope { a: ka, b: kb, lower: lo, upper: hi, simplex, lps: 2 * n })
}

enum Decision {
    Active(f64),
    Inactive(f64),
    Split { upper: f64, lower: f64 },
}

fn decide(sx: &mut Simplex, lo: &[f64], hi: &[f64], z: &[f64], z0: f64, eps: f64, rtol: f64, extra: f64, lps: &mut usize) -> Result<Decision> {
    let nr = norm2(z);
    if nr == 0.0 {
        return Ok(if z0 >= 0.0 { Decision::Active(0.0) } else { Decision::Inactive(0.0) });
    }
    let (imax, imin, guard, mag) = interval_mag(z, z0, lo, hi);
    let slack = eps * nr + rtol * mag + extra;
    if imax + guard <= 0.0 {
        return Ok(Decision::Inactive(0.0));
    }
    if imin - guard >= 0.0 {
        return Ok(Decision::Active(0.0));
    }
    let su = sx.maximize(z)?;
    *lps += 1;
    let u = (su.upper + z0).min(imax + guard);
    if u <= slack + 4.0 * su.margin {
        return Ok(Decision::Inactive(u.max(0.0)));
    }
    let neg: Vec<f64> = z.iter().map(|v| -v).collect();
    let sl = sx.maximize(&neg)?;
    *lps += 1;
    let l = (z0 - sl.upper).max(imin - guard);
    if l >= -(slack + 4.0 * sl.margin) {
        return Ok(Decision::Active((-l).max(0.0)));
    }
    Ok(Decision::Split { upper: u, lower: l })
}

/// Depth-first exploration of the pieces of a program over a polytope.
pub struct Explorer {
    pub program: ReluProgram,
    opts: ExploreOptions,
    stack: Vec<Cell>,
    /// LPs solved so far.
    pub lps: usize,
    /// Cells split so far.
    pub splits: usize,
    /// Cells the LP found empty (no point within its feasibility tolerance) or could not solve
    /// (slivers at the limit of that tolerance): skipped, and counted here for the caller to report.
    pub empty: usize,
    /// Weight of the pieces handed out (the root has weight 1).
    pub explored: f64,
}

impl Explorer {
    /// Explores {x : a x <= b} ∩ [lower, upper]; `a` rows should be normalised (‖a_i‖ = 1).
    pub fn new(program: ReluProgram, a: Vec<f64>, b: Vec<f64>, lower: Vec<f64>, upper: Vec<f64>, opts: ExploreOptions) -> Result<Explorer> {
        let n = program.n_in;
        check_box(n, &lower, &upper)?;
        if a.len() != b.len() * n {
            return invalid(format!("explorer: {} coefficients for {} rows of {} inputs", a.len(), b.len(), n));
        }
        if !(opts.eps.is_finite() && opts.eps >= 0.0 && opts.rtol.is_finite() && opts.rtol >= 0.0) {
            return invalid(format!("explorer: eps {} and rtol {} must be finite and >= 0", opts.eps, opts.rtol));
        }
        let root = Cell { a, b, lower, upper, built: None, states: Vec::new(), maps: Vec::new(), err: Vec::new(), weight: 1.0 };
        Ok(Explorer { program, opts, stack: vec![root], lps: 0, splits: 0, empty: 0, explored: 0.0 })
    }

    /// Explores a polytope already prepared by [`bounded_polytope`] (its simplex is reused).
    pub fn from_polytope(program: ReluProgram, bp: BoxedPolytope, opts: ExploreOptions) -> Result<Explorer> {
        let mut ex = Explorer::new(program, Vec::new(), Vec::new(), bp.lower.clone(), bp.upper.clone(), opts)?;
        let root = &mut ex.stack[0];
        root.a = bp.a.clone();
        root.b = bp.b.clone();
        root.built = Some(bp);
        Ok(ex)
    }

    /// Cells waiting on the stack.
    pub fn pending(&self) -> usize {
        self.stack.len()
    }

    /// The next piece, or None when the polytope is exhausted.
    pub fn next_piece(&mut self) -> Result<Option<Piece>> {
        let n = self.program.n_in;
        let w = n + 1;
        let nn = self.program.neurons.len();
        let mut z = vec![0.0; w];
        while let Some(mut cell) = self.stack.pop() {
            let bp = match cell.built.take() {
                Some(bp) => bp,
                None => match bounded_polytope(n, &cell.a, &cell.b, &cell.lower, &cell.upper) {
                    Ok(bp) => {
                        self.lps += bp.lps;
                        bp
                    }
                    Err(Error::Lp(_)) => {
                        // Only the root can get here (children are built when they are split
                        // off): the whole set is empty up to the LP's feasibility tolerance.
                        self.empty += 1;
                        self.explored += cell.weight;
                        continue;
                    }
                    Err(e) => return Err(e),
                },
            };
            let BoxedPolytope { a, b, lower, upper, mut simplex, .. } = bp;
            let mut split = false;
            while cell.states.len() < nn {
                let k = cell.states.len();
                let neuron = &self.program.neurons[k];
                if neuron.gate.iter().any(|&l| cell.states[l] == 0) {
                    cell.states.push(0);
                    cell.err.push(0.0);
                    cell.maps.extend(std::iter::repeat(0.0).take(w));
                    continue;
                }
                z.iter_mut().for_each(|v| *v = 0.0);
                if !neuron.c.is_empty() {
                    z[..n].copy_from_slice(&neuron.c);
                }
                z[n] = neuron.c0;
                for &(l, wt) in &neuron.inputs {
                    if cell.states[l] != 0 {
                        axpy(wt, &cell.maps[l * w..(l + 1) * w], &mut z);
                    }
                }
                let (state, err) = if !neuron.relu {
                    (1u8, 0.0)
                } else if let Some(s) = neuron.known {
                    (s, 0.0)
                } else {
                    let d = match decide(&mut simplex, &lower, &upper, &z[..n], z[n], self.opts.eps, self.opts.rtol, neuron.slack, &mut self.lps) {
                        Ok(d) => d,
                        Err(Error::Lp(_)) => {
                            // The LP breaks down on this cell (a sliver at the limit of its
                            // feasibility tolerance): count it as empty, which users report.
                            self.empty += 1;
                            self.explored += cell.weight;
                            split = true;
                            break;
                        }
                        Err(e) => return Err(e),
                    };
                    match d {
                        Decision::Active(e) => (1, e),
                        Decision::Inactive(e) => (0, e),
                        Decision::Split { upper: u, lower: l } => {
                            // Build both halves now: a half the LP finds empty is no split, and the
                            // other side takes the neuron's state with the certified bound as error.
                            let nr = norm2(&z[..n]);
                            let mut halves: Vec<Option<(Vec<f64>, Vec<f64>, BoxedPolytope)>> = Vec::with_capacity(2);
                            for &active in &[false, true] {
                                let s = if active { -1.0 } else { 1.0 };
                                let mut ca = a.clone();
                                ca.extend(z[..n].iter().map(|v| s * v / nr));
                                let mut cb = b.clone();
                                cb.push(-s * z[n] / nr);
                                match bounded_polytope(n, &ca, &cb, &lower, &upper) {
                                    Ok(bp) => {
                                        self.lps += bp.lps;
                                        halves.push(Some((ca, cb, bp)));
                                    }
                                    Err(Error::Lp(_)) => halves.push(None),
                                    Err(e) => return Err(e),
                                }
                            }
                            match (halves[0].is_some(), halves[1].is_some()) {
                                (true, false) => (0, u.max(0.0)),
                                (false, true) => (1, (-l).max(0.0)),
                                (false, false) => {
                                    return Err(Error::Lp(format!("sign of neuron {} on a cell: both halves of the cell are empty to the LP", k)));
                                }
                                (true, true) => {
                                    for (idx, half) in halves.into_iter().enumerate() {
                                        let active = idx == 1;
                                        let (ca, cb, bp) = half.unwrap();
                                        let mut states = cell.states.clone();
                                        states.push(active as u8);
                                        let mut maps = cell.maps.clone();
                                        if active {
                                            maps.extend_from_slice(&z);
                                        } else {
                                            maps.extend(std::iter::repeat(0.0).take(w));
                                        }
                                        let mut err = cell.err.clone();
                                        err.push(0.0);
                                        let share = if active { u / (u - l) } else { -l / (u - l) };
                                        self.stack.push(Cell {
                                            a: ca,
                                            b: cb,
                                            lower: lower.clone(),
                                            upper: upper.clone(),
                                            built: Some(bp),
                                            states,
                                            maps,
                                            err,
                                            weight: cell.weight * share,
                                        });
                                    }
                                    self.splits += 1;
                                    split = true;
                                    break;
                                }
                            }
                        }
                    }
                };
                cell.states.push(state);
                cell.err.push(err);
                if state != 0 {
                    cell.maps.extend_from_slice(&z);
                } else {
                    cell.maps.extend(std::iter::repeat(0.0).take(w));
                }
            }
            if split {
                continue;
            }
            self.explored += cell.weight;
            return Ok(Some(Piece { states: cell.states, maps: cell.maps, err: cell.err, a, b, lower, upper, simplex, weight: cell.weight }));
        }
        Ok(None)
    }
}


/// Largest ball inside {a x <= b} ∩ [lower, upper] (rows normalised): (centre, radius). The radius
/// is the LP witness value reduced by the witness's infeasibility, so the ball provably fits up to
/// rounding; it is negative when the set has no interior.
pub fn chebyshev(n: usize, a: &[f64], b: &[f64], lower: &[f64], upper: &[f64]) -> Result<(Vec<f64>, f64)> {
    let m = b.len();
    let nv = n + 1;
    let mut g = Vec::with_capacity((m + 2 * n) * nv);
    let mut h = Vec::with_capacity(m + 2 * n);
    for i in 0..m {
        let row = &a[i * n..(i + 1) * n];
        g.extend_from_slice(row);
        g.push(norm2(row));
        h.push(b[i]);
    }
    let mut width: f64 = 0.0;
    for j in 0..n {
        for &s in &[1.0, -1.0] {
            let mut row = vec![0.0; nv];
            row[j] = s;
            row[n] = 1.0;
            g.extend(row);
            h.push(if s > 0.0 { upper[j] } else { -lower[j] });
        }
        width = width.max(upper[j] - lower[j]);
    }
    let mut lo = lower.to_vec();
    let mut hi = upper.to_vec();
    lo.push(-(width + 1.0));
    hi.push(width + 1.0);
    let p = Polytope::new(nv, &g, &h, &lo, &hi)?;
    let mut c = vec![0.0; nv];
    c[n] = 1.0;
    let sol = crate::lp::maximize(p, &c)?;
    let radius = sol.x[n] - sol.infeasibility;
    Ok((sol.x[..n].to_vec(), radius))
}

/// Options of [`RegionEnumerator`].
#[derive(Debug, Clone, Copy)]
pub struct EnumerateOptions {
    /// Decision slack (input units), see [`ExploreOptions::eps`].
    pub eps: f64,
    /// Regions whose largest inscribed ball has a radius <= this are not counted (empty or
    /// lower-dimensional up to rounding). Must be >= eps, so that every counted region's centre
    /// lies strictly inside the region of its pattern.
    pub min_radius: f64,
    /// Stop with [`Step::Limit`] rather than store more regions than this.
    pub max_regions: usize,
}

/// Result of one [`RegionEnumerator::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The budget ran out; call again.
    More,
    /// Every region has been found.
    Done,
    /// The region count passed `max_regions`; nothing more is stored.
    Limit,
}

/// Every linear region of a network inside a box, optionally intersected with an H-polytope.
pub struct RegionEnumerator {
    explorer: Explorer,
    opts: EnumerateOptions,
    n_in: usize,
    /// Program neuron index of each pattern position.
    relu_neurons: Vec<usize>,
    /// Activation patterns, `hidden` bytes per region.
    pub patterns: Vec<u8>,
    /// Chebyshev centre (n_in values) and radius of each region.
    pub centres: Vec<f64>,
    pub radii: Vec<f64>,
    /// Cells dropped as thinner than `min_radius`.
    pub thin: usize,
    state: Step,
}

impl RegionEnumerator {
    /// `a`, `b`: an optional input polytope {x : a x <= b} (row-major `m × n_in`, any scaling).
    pub fn new(net: &Network, lower: &[f64], upper: &[f64], a: &[f64], b: &[f64], opts: EnumerateOptions) -> Result<RegionEnumerator> {
        let n = net.n_in();
        check_box(n, lower, upper)?;
        let (na, nb, _) = crate::region::normalise_rows(n, a, b)?;
        if !(opts.min_radius.is_finite() && opts.min_radius >= opts.eps) {
            return invalid(format!("enumeration: minimum radius {} must be finite and >= eps ({})", opts.min_radius, opts.eps));
        }
        if opts.max_regions == 0 {
            return invalid("enumeration: the region limit must be at least 1".to_string());
        }
        let program = ReluProgram::from_network(net);
        let relu_neurons = (0..program.neurons.len()).filter(|&k| program.neurons[k].relu).collect();
        let explorer = Explorer::new(program, na, nb, lower.to_vec(), upper.to_vec(), ExploreOptions { eps: opts.eps, rtol: DECISION_RTOL })?;
        Ok(RegionEnumerator { explorer, opts, n_in: n, relu_neurons, patterns: Vec::new(), centres: Vec::new(), radii: Vec::new(), thin: 0, state: Step::More })
    }

    pub fn count(&self) -> usize {
        self.radii.len()
    }

    pub fn hidden(&self) -> usize {
        self.relu_neurons.len()
    }

    pub fn lps(&self) -> usize {
        self.explorer.lps
    }

    pub fn pending(&self) -> usize {
        self.explorer.pending()
    }

    /// Cells the LP found empty (skipped).
    pub fn empty(&self) -> usize {
        self.explorer.empty
    }

    /// Estimated explored share of the input set, in [0, 1].
    pub fn progress(&self) -> f64 {
        self.explorer.explored.min(1.0)
    }

    /// Works until about `max_lps` more LPs have been solved, or the enumeration ends.
    pub fn step(&mut self, max_lps: usize) -> Result<Step> {
        if self.state != Step::More {
            return Ok(self.state);
        }
        let start = self.explorer.lps;
        while self.explorer.lps - start < max_lps.max(1) {
            let piece = match self.explorer.next_piece()? {
                Some(p) => p,
                None => {
                    self.state = Step::Done;
                    return Ok(Step::Done);
                }
            };
            let (centre, radius) = chebyshev(self.n_in, &piece.a, &piece.b, &piece.lower, &piece.upper)?;
            self.explorer.lps += 1;
            if radius <= self.opts.min_radius {
                self.thin += 1;
                continue;
            }
            if self.count() >= self.opts.max_regions {
                self.state = Step::Limit;
                return Ok(Step::Limit);
            }
            self.patterns.extend(self.relu_neurons.iter().map(|&k| piece.states[k]));
            self.centres.extend_from_slice(&centre);
            self.radii.push(radius);
        }
        Ok(Step::More)
    }

    /// Runs to the end (or the limit).
    pub fn run(&mut self) -> Result<Step> {
        loop {
            match self.step(1 << 20)? {
                Step::More => continue,
                s => return Ok(s),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::dot;
    use crate::network::tests::{random_network, Rng};
    use crate::region::LinearRegion;
    use std::collections::HashMap;

    fn opts() -> EnumerateOptions {
        EnumerateOptions { eps: 1e-9, min_radius: 1e-9, max_regions: 100_000 }
    }

    #[test]
    fn program_of_a_network_computes_the_network() {
        let mut rng = Rng(2);
        let net = random_network(&mut rng, &[3, 7, 6, 4]);
        let p = ReluProgram::from_network(&net);
        assert_eq!(p.neurons.len(), 13);
        for _ in 0..50 {
            let x: Vec<f64> = (0..3).map(|_| rng.range(-2.0, 2.0)).collect();
            let mut post = vec![0.0; p.neurons.len()];
            let mut y = p.e.clone();
            for o in 0..p.n_out {
                y[o] += dot(&p.f[o * 3..(o + 1) * 3], &x);
            }
            for (k, nr) in p.neurons.iter().enumerate() {
                let mut z = nr.c0 + if nr.c.is_empty() { 0.0 } else { dot(&nr.c, &x) };
                for &(l, w) in &nr.inputs {
                    z += w * post[l];
                }
                post[k] = if nr.relu { z.max(0.0) } else { z };
                for &(o, w) in &nr.outputs {
                    y[o] += w * post[k];
                }
            }
            let mut want = vec![0.0; 4];
            net.forward(&x, &mut want);
            for o in 0..4 {
                assert!((y[o] - want[o]).abs() < 1e-12 * (1.0 + want[o].abs()));
            }
        }
    }

    #[test]
    fn regions_cover_the_box_and_have_consistent_patterns() {
        let mut rng = Rng(31);
        for trial in 0..6 {
            let net = random_network(&mut rng, &[2, 8, 8, 3]);
            let lo = [-1.0, -1.5];
            let hi = [1.5, 1.0];
            let mut en = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
            assert_eq!(en.run().unwrap(), Step::Done);
            let h = en.hidden();
            let count = en.count();
            assert!(count > 1, "trial {}", trial);
            assert!((en.progress() - 1.0).abs() < 1e-9, "progress {}", en.progress());
            let mut index = HashMap::new();
            for r in 0..count {
                let pat = en.patterns[r * h..(r + 1) * h].to_vec();
                // The centre lies strictly inside: the forward pass gives the same pattern.
                let c = &en.centres[r * 2..(r + 1) * 2];
                assert_eq!(net.pattern(c), pat, "trial {} region {}", trial, r);
                assert!(en.radii[r] > 1e-9);
                assert!(index.insert(pat, r).is_none(), "duplicate pattern");
            }
            // Every sampled point's pattern is one of the regions (a missed region of any
            // noticeable area would be hit).
            for _ in 0..4000 {
                let x = [rng.range(lo[0], hi[0]), rng.range(lo[1], hi[1])];
                assert!(index.contains_key(&net.pattern(&x)), "trial {}: point {:?} in no enumerated region", trial, x);
            }
            // Areas add up to the box (Monte Carlo per region is too noisy; use the regions'
            // H-representations: every sample lies in exactly one region's closure set).
            for _ in 0..500 {
                let x = [rng.range(lo[0], hi[0]), rng.range(lo[1], hi[1])];
                let mut inside = 0;
                for r in 0..count {
                    let reg = LinearRegion::of_pattern(&net, en.patterns[r * h..(r + 1) * h].to_vec(), &lo, &hi).unwrap();
                    if reg.violation(&x) <= 1e-12 {
                        inside += 1;
                    }
                }
                assert!(inside >= 1, "point {:?} in no region", x);
            }
        }
    }

    #[test]
    fn h_polytope_restricts_the_regions() {
        let mut rng = Rng(8);
        let net = random_network(&mut rng, &[2, 10, 3]);
        let lo = [-1.0, -1.0];
        let hi = [1.0, 1.0];
        let mut all = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
        all.run().unwrap();
        // Triangle x0 >= -1, x1 >= -1, x0 + x1 <= 0 (the last row unnormalised).
        let mut tri = RegionEnumerator::new(&net, &lo, &hi, &[3.0, 3.0], &[0.0], opts()).unwrap();
        tri.run().unwrap();
        assert!(tri.count() <= all.count() && tri.count() >= 1);
        let h = tri.hidden();
        for r in 0..tri.count() {
            let c = &tri.centres[r * 2..(r + 1) * 2];
            assert!(c[0] + c[1] < 0.0);
            let pat = &tri.patterns[r * h..(r + 1) * h];
            assert!((0..all.count()).any(|q| &all.patterns[q * h..(q + 1) * h] == pat));
        }
        for _ in 0..3000 {
            let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
            if x[0] + x[1] < -1e-6 {
                let p = net.pattern(&x);
                assert!((0..tri.count()).any(|q| tri.patterns[q * h..(q + 1) * h] == p[..]));
            }
        }
    }

    #[test]
    fn linear_hidden_layers_relu_outputs_and_no_hidden_layer() {
        let mut rng = Rng(21);
        let lo = [-1.0, -1.0];
        let hi = [1.0, 1.0];
        // 2 -> 6 (relu) -> 4 (linear) -> 5 (relu) -> 3 (relu output).
        let mut net = random_network(&mut rng, &[2, 6, 4, 5, 3]);
        net.layers[1].relu = false;
        net.layers[3].relu = true;
        let net = Network::new(net.layers.clone()).unwrap();
        assert_eq!(net.hidden_count(), 14);
        let mut en = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
        assert_eq!(en.run().unwrap(), Step::Done);
        let h = en.hidden();
        assert_eq!(h, 14);
        let pats: Vec<Vec<u8>> = (0..en.count()).map(|r| en.patterns[r * h..(r + 1) * h].to_vec()).collect();
        for (r, p) in pats.iter().enumerate() {
            assert_eq!(&net.pattern(&en.centres[r * 2..(r + 1) * 2]), p);
            // The program's map agrees with the region's affine map at the centre.
            let reg = LinearRegion::of_pattern(&net, p.clone(), &lo, &hi).unwrap();
            let c = &en.centres[r * 2..(r + 1) * 2];
            let (mut y, mut ya) = (vec![0.0; 3], vec![0.0; 3]);
            net.forward(c, &mut y);
            reg.affine(c, &mut ya);
            for o in 0..3 {
                assert!((y[o] - ya[o]).abs() < 1e-12 * (1.0 + y[o].abs()));
            }
        }
        for _ in 0..2000 {
            let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
            assert!(pats.contains(&net.pattern(&x)));
        }
        // No hidden layer: one region, the box.
        let lin = random_network(&mut rng, &[2, 3]);
        let mut en = RegionEnumerator::new(&lin, &lo, &hi, &[], &[], opts()).unwrap();
        assert_eq!(en.run().unwrap(), Step::Done);
        assert_eq!(en.count(), 1);
        assert!((en.radii[0] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_region_limit_stops_the_enumeration() {
        let mut rng = Rng(5);
        let net = random_network(&mut rng, &[2, 12, 12, 2]);
        let mut o = opts();
        o.max_regions = 3;
        let mut en = RegionEnumerator::new(&net, &[-1.0, -1.0], &[1.0, 1.0], &[], &[], o).unwrap();
        assert_eq!(en.run().unwrap(), Step::Limit);
        assert_eq!(en.count(), 3);
        assert!(en.pending() <= net.hidden_count() + 1);
        o.max_regions = 0;
        assert!(RegionEnumerator::new(&net, &[-1.0, -1.0], &[1.0, 1.0], &[], &[], o).is_err());
    }

    #[test]
    fn stepping_with_small_budgets_gives_the_same_regions() {
        let mut rng = Rng(12);
        let net = random_network(&mut rng, &[3, 6, 6, 2]);
        let lo = [-1.0; 3];
        let hi = [1.0; 3];
        let mut a = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
        a.run().unwrap();
        let mut b = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
        let mut steps = 0;
        let mut last = 0.0;
        while b.step(5).unwrap() == Step::More {
            assert!(b.progress() >= last);
            last = b.progress();
            steps += 1;
        }
        assert!(steps > 3);
        assert_eq!(a.patterns, b.patterns);
        assert_eq!(a.count(), b.count());
    }

    #[test]
    fn sensitivities_bound_the_effect_of_a_neuron() {
        let mut rng = Rng(44);
        let net = random_network(&mut rng, &[2, 5, 5, 3]);
        let p = ReluProgram::from_network(&net);
        let w = [1.0, -1.0, 0.0];
        let s = p.sensitivities(&w, 1);
        // Perturb the output of neuron k by delta and propagate: the change of w·y is <= S_k delta.
        for k in 0..p.neurons.len() {
            for _ in 0..20 {
                let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
                let eval = |bump: f64| {
                    let mut post = vec![0.0; p.neurons.len()];
                    let mut y = p.e.clone();
                    for (q, nr) in p.neurons.iter().enumerate() {
                        let mut z = nr.c0 + if nr.c.is_empty() { 0.0 } else { dot(&nr.c, &x) };
                        for &(l, wt) in &nr.inputs {
                            z += wt * post[l];
                        }
                        post[q] = z.max(0.0) + if q == k { bump } else { 0.0 };
                        for &(o, wt) in &nr.outputs {
                            y[o] += wt * post[q];
                        }
                    }
                    y[0] - y[1]
                };
                let d = (eval(0.3) - eval(0.0)).abs();
                assert!(d <= s[k] * 0.3 + 1e-12, "neuron {}: change {} > bound {}", k, d, s[k] * 0.3);
            }
        }
    }
}

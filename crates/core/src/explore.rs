//! Exact exploration of the affine pieces of a [`ReluProgram`] over an input polytope.
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
//! neuron k's output (ReLUs are 1-Lipschitz). Region enumeration hands the errors on with each
//! region (`enumerate.rs`) and the certificates charge them (`certificate/`): a sliver that is
//! not split off is never assumed away. When the LP breaks down on a cell (a sliver at the limit
//! of its feasibility tolerance), the sign is decided on the cell's bounding box and the interval
//! reach is the error; no cell is ever dropped, so the pieces cover the root set.
//!
//! Memory is bounded by the depth of the search: a split pushes two cells and the stack never
//! holds more than (neurons + 1) cells, each with its rows and the affine maps of its decided
//! neurons. Pieces are handed out one at a time.

use crate::error::{invalid, Error, Result};
use crate::linalg::{axpy, norm2};
use crate::lp::Simplex;
use crate::polytope::{bounded_polytope, interval_mag, BoxedPolytope};
use crate::program::{ProgramNeuron, ReluProgram};
use crate::region::check_box;

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

/// Relative slack of sign decisions beyond the LP's own rounding margin: warm-started dual
/// bounds can be loose by a few ulps of the terms. Any slack is sound (the decision error is the
/// certified bound itself, carried as `err`); this one only avoids splitting off faces.
pub const DECISION_RTOL: f64 = 1e-12;

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

/// The set of a cell on the search stack.
enum CellSet {
    /// Rows and box, not prepared yet (the root).
    Rows { a: Vec<f64>, b: Vec<f64>, lower: Vec<f64>, upper: Vec<f64> },
    /// Prepared by [`bounded_polytope`] (the root given prepared, and both halves of a split,
    /// which are built when they are split off).
    Built(Box<BoxedPolytope>),
}

struct Cell {
    set: CellSet,
    /// States, output maps and decision errors of the neurons decided so far (see [`Piece`]).
    states: Vec<u8>,
    maps: Vec<f64>,
    err: Vec<f64>,
    weight: f64,
}

impl Cell {
    /// z = the pre-activation of `neuron` on the cell, `n_in + 1` values (x part, constant).
    fn pre_activation(&self, neuron: &ProgramNeuron, z: &mut [f64]) {
        let w = z.len();
        let n = w - 1;
        z.iter_mut().for_each(|v| *v = 0.0);
        if !neuron.c.is_empty() {
            z[..n].copy_from_slice(&neuron.c);
        }
        z[n] = neuron.c0;
        for &(l, wt) in &neuron.inputs {
            if self.states[l] != 0 {
                axpy(wt, &self.maps[l * w..(l + 1) * w], z);
            }
        }
    }

    /// Fixes the next neuron: its output map is its pre-activation `z` when active, 0 when not.
    fn push(&mut self, state: u8, err: f64, z: &[f64]) {
        self.states.push(state);
        self.err.push(err);
        if state != 0 {
            self.maps.extend_from_slice(z);
        } else {
            self.maps.extend(std::iter::repeat(0.0).take(z.len()));
        }
    }
}

enum Decision {
    Active(f64),
    Inactive(f64),
    Split { upper: f64, lower: f64 },
}

/// The sign of z·x + z0 on a cell (box [lo, hi], simplex over the cell), with its error bound.
#[allow(clippy::too_many_arguments)]
fn decide(
    sx: &mut Simplex,
    lo: &[f64],
    hi: &[f64],
    z: &[f64],
    z0: f64,
    eps: f64,
    rtol: f64,
    extra: f64,
    lps: &mut usize,
) -> Result<Decision> {
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

/// The state of z·x + z0 on a box when no LP can decide it: the side of the box's interval
/// midpoint, with the interval reach across the hyperplane (rounding included) as its error.
fn forced_decision(lo: &[f64], hi: &[f64], z: &[f64], z0: f64) -> (u8, f64) {
    let (imax, imin, guard, _) = interval_mag(z, z0, lo, hi);
    if imax + imin >= 0.0 {
        (1, (guard - imin).max(0.0))
    } else {
        (0, (imax + guard).max(0.0))
    }
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
    /// Root sets the LP found empty (no point within its feasibility tolerance): nothing to
    /// explore. (An empty half of a split is no split: the other half keeps the whole cell.)
    pub empty: usize,
    /// Decisions the LP could not make (slivers at the limit of its tolerance), made on the
    /// cell's bounding box instead with the interval reach as their error.
    pub forced: usize,
    /// Weight of the pieces handed out (the root has weight 1).
    pub explored: f64,
}

impl Explorer {
    /// Explores {x : a x <= b} ∩ [lower, upper]; `a` rows should be normalised (‖a_i‖ = 1).
    pub fn new(
        program: ReluProgram,
        a: Vec<f64>,
        b: Vec<f64>,
        lower: Vec<f64>,
        upper: Vec<f64>,
        opts: ExploreOptions,
    ) -> Result<Explorer> {
        let n = program.n_in;
        check_box(n, &lower, &upper)?;
        if a.len() != b.len() * n {
            return invalid(format!("explorer: {} coefficients for {} rows of {} inputs", a.len(), b.len(), n));
        }
        Explorer::with_root(program, CellSet::Rows { a, b, lower, upper }, opts)
    }

    /// Explores a polytope already prepared by [`bounded_polytope`] (its simplex is reused).
    pub fn from_polytope(program: ReluProgram, bp: BoxedPolytope, opts: ExploreOptions) -> Result<Explorer> {
        check_box(program.n_in, &bp.lower, &bp.upper)?;
        Explorer::with_root(program, CellSet::Built(Box::new(bp)), opts)
    }

    fn with_root(program: ReluProgram, set: CellSet, opts: ExploreOptions) -> Result<Explorer> {
        if !(opts.eps.is_finite() && opts.eps >= 0.0 && opts.rtol.is_finite() && opts.rtol >= 0.0) {
            return invalid(format!("explorer: eps {} and rtol {} must be finite and >= 0", opts.eps, opts.rtol));
        }
        let root = Cell { set, states: Vec::new(), maps: Vec::new(), err: Vec::new(), weight: 1.0 };
        Ok(Explorer { program, opts, stack: vec![root], lps: 0, splits: 0, empty: 0, forced: 0, explored: 0.0 })
    }

    /// Cells waiting on the stack.
    pub fn pending(&self) -> usize {
        self.stack.len()
    }

    /// The next piece, or None when the polytope is exhausted.
    pub fn next_piece(&mut self) -> Result<Option<Piece>> {
        let n = self.program.n_in;
        while let Some(mut cell) = self.stack.pop() {
            let bp = match std::mem::replace(
                &mut cell.set,
                CellSet::Rows { a: vec![], b: vec![], lower: vec![], upper: vec![] },
            ) {
                CellSet::Built(bp) => *bp,
                CellSet::Rows { a, b, lower, upper } => match bounded_polytope(n, &a, &b, &lower, &upper) {
                    Ok(bp) => {
                        self.lps += bp.lps;
                        bp
                    }
                    Err(Error::Empty(_)) => {
                        // Only the root can get here (children are built when they are split
                        // off): the whole set is empty up to the LP's feasibility tolerance.
                        self.empty += 1;
                        self.explored += cell.weight;
                        continue;
                    }
                    Err(e) => return Err(e),
                },
            };
            if let Some(piece) = self.finish(cell, bp)? {
                return Ok(Some(piece));
            }
        }
        Ok(None)
    }

    /// Decides the cell's remaining neurons: the piece, or None when the cell was split (both
    /// halves are on the stack). No cell is dropped: every point of the root set lies in a piece
    /// (up to the decision errors, which the piece carries).
    fn finish(&mut self, mut cell: Cell, mut bp: BoxedPolytope) -> Result<Option<Piece>> {
        let n = self.program.n_in;
        let nn = self.program.neurons.len();
        let mut z = vec![0.0; n + 1];
        while cell.states.len() < nn {
            let k = cell.states.len();
            let neuron = &self.program.neurons[k];
            if neuron.gate.iter().any(|&l| cell.states[l] == 0) {
                cell.push(0, 0.0, &z);
                continue;
            }
            cell.pre_activation(neuron, &mut z);
            let (relu, known, slack) = (neuron.relu, neuron.known, neuron.slack);
            let (state, err) = if !relu {
                (1u8, 0.0)
            } else if let Some(s) = known {
                (s, 0.0)
            } else {
                let (eps, rtol) = (self.opts.eps, self.opts.rtol);
                let decision =
                    decide(&mut bp.simplex, &bp.lower, &bp.upper, &z[..n], z[n], eps, rtol, slack, &mut self.lps);
                match decision {
                    Ok(Decision::Active(e)) => (1, e),
                    Ok(Decision::Inactive(e)) => (0, e),
                    Ok(Decision::Split { upper, lower }) => match self.split(&cell, &bp, &z, upper, lower)? {
                        Some(decided) => decided,
                        None => return Ok(None),
                    },
                    Err(Error::Empty(_)) => {
                        // The cell is proven empty (a Farkas certificate, verified): count it as
                        // empty, which users report. A solver failure (`Error::Lp`) is not
                        // emptiness: the cell's points still count (below).
                        self.empty += 1;
                        self.explored += cell.weight;
                        return Ok(None);
                    }
                    Err(Error::Lp(_)) => {
                        // The LP breaks down on this cell (a sliver at the limit of its
                        // feasibility tolerance). Its points still count: the sign is decided on
                        // the cell's bounding box, with the interval reach across the hyperplane
                        // as the decision's error (sound, possibly large; users see it in the
                        // error budget and in `forced`).
                        self.forced += 1;
                        forced_decision(&bp.lower, &bp.upper, &z[..n], z[n])
                    }
                    Err(e) => return Err(e),
                }
            };
            cell.push(state, err, &z);
        }
        self.explored += cell.weight;
        let BoxedPolytope { a, b, lower, upper, simplex, .. } = bp;
        Ok(Some(Piece {
            states: cell.states,
            maps: cell.maps,
            err: cell.err,
            a,
            b,
            lower,
            upper,
            simplex,
            weight: cell.weight,
        }))
    }

    /// Splits `cell` (prepared as `bp`) along the next neuron's hyperplane z·(x, 1) = 0, whose
    /// maximum over the cell is `u` and minimum `l`. Both halves are built now: a half the LP finds
    /// empty is no split, and the other side's state is returned with the certified bound as its
    /// error (over the whole cell). Otherwise both halves go on the stack (the active one on top)
    /// and None is returned.
    fn split(&mut self, cell: &Cell, bp: &BoxedPolytope, z: &[f64], u: f64, l: f64) -> Result<Option<(u8, f64)>> {
        let n = z.len() - 1;
        let nr = norm2(&z[..n]);
        let mut halves: Vec<Option<BoxedPolytope>> = Vec::with_capacity(2);
        for &active in &[false, true] {
            let s = if active { -1.0 } else { 1.0 };
            let mut ca = bp.a.clone();
            ca.extend(z[..n].iter().map(|v| s * v / nr));
            let mut cb = bp.b.clone();
            cb.push(-s * z[n] / nr);
            match bounded_polytope(n, &ca, &cb, &bp.lower, &bp.upper) {
                Ok(half) => {
                    self.lps += half.lps;
                    halves.push(Some(half));
                }
                Err(Error::Empty(_)) => halves.push(None),
                Err(e) => return Err(e),
            }
        }
        match (halves[0].is_some(), halves[1].is_some()) {
            (true, false) => return Ok(Some((0, u.max(0.0)))),
            (false, true) => return Ok(Some((1, (-l).max(0.0)))),
            (false, false) => {
                // Both halves too thin for the LP: decided on the bounding box, error charged.
                self.forced += 1;
                return Ok(Some(forced_decision(&bp.lower, &bp.upper, &z[..n], z[n])));
            }
            (true, true) => {}
        }
        for (idx, half) in halves.into_iter().enumerate() {
            let active = idx == 1;
            let share = if active { u / (u - l) } else { -l / (u - l) };
            let mut child = Cell {
                set: CellSet::Built(Box::new(half.expect("both halves were built"))),
                states: cell.states.clone(),
                maps: cell.maps.clone(),
                err: cell.err.clone(),
                weight: cell.weight * share,
            };
            child.push(active as u8, 0.0, z);
            self.stack.push(child);
        }
        self.splits += 1;
        Ok(None)
    }
}

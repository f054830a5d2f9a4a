//! The exact decision of a small box: its linear regions, enumerated by the core's explorer
//! (`explore.rs`, the engine of region enumeration) restricted to the box, each decided by LP.
//!
//! Neurons the box's symbolic bounds prove stable are given to the explorer as known states
//! (no LP decides them). On each piece the output is recomputed here by a **pattern pass** that
//! is rigorous on its own: the affine map of every neuron is propagated through the adapter
//! with the piece's states, and a scalar error G per neuron collects (i) the rounding of the map
//! (γ terms as in `bounds/symbolic.rs`) and (ii) the slack of each state: a neuron whose sign is
//! not fixed by interval arithmetic on the piece's bounding box is bounded by a certified LP over
//! the piece (max of z for an inactive neuron, min for an active one), and the excess δ >= 0
//! enters as `h ∈ [0, δ]` (inactive) or `h ∈ [z, z + δ]` (active). So for every x of the piece,
//! `y(x) ∈ [M(x) − G, M(x) + G]` in real arithmetic, whatever rounding the explorer's own maps
//! and hyperplanes had. A disjunct `{A y <= b}` is unmet on the piece when
//! `min_x max_r (A_r M(x) − b_r − |A_r| G) > 0` (one LP per row, or one joint LP); otherwise the
//! LP's minimiser is checked by a forward pass, and a violating point is a counterexample.

use super::attack::{margin_at, Candidate};
use super::property::Property;
use crate::bounds::rounding::{add_up, err_bound, next_up, sub_down};
use crate::bounds::{NetView, SymbolicBounds};
use crate::error::{Error, Result};
use crate::explore::{ExploreOptions, Explorer, Piece, DECISION_RTOL};
use crate::lp::{Polytope, Simplex};

/// State of a leaf after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafState {
    Running,
    Done,
    /// More pieces than the cap: the caller splits the box instead.
    TooMany,
}

/// An exact decision in progress.
pub struct LeafJob {
    explorer: Explorer,
    /// Program neuron index of entry 0 of each operator.
    first: Vec<usize>,
    max_pieces: usize,
    collect: bool,
    pub pieces: usize,
    pub violating: usize,
    pub unresolved: usize,
    pub lps: usize,
    pub cex: Option<Candidate>,
    /// Smallest proven margin over the safe pieces.
    pub min_margin: f64,
    /// Activation patterns of the violating pieces (hidden ReLU neurons in order), when collected.
    pub violating_patterns: Vec<u8>,
    pub state: LeafState,
}

impl LeafJob {
    pub fn new(
        view: &NetView,
        prop: &Property,
        lower: &[f64],
        upper: &[f64],
        sb: &SymbolicBounds,
        max_pieces: usize,
        collect: bool,
    ) -> Result<LeafJob> {
        let mut program = view.program();
        let first: Vec<usize> = (0..view.layers()).map(|l| view.first_neuron(l)).collect();
        for l in 0..view.layers() {
            if !view.relu(l) || first[l] >= program.neurons.len() {
                continue;
            }
            for i in 0..view.width(l) {
                let neuron = &mut program.neurons[first[l] + i];
                if sb.lower[l][i] >= 0.0 {
                    neuron.known = Some(1);
                } else if sb.upper[l][i] <= 0.0 {
                    neuron.known = Some(0);
                }
            }
        }
        let scale = lower.iter().chain(upper).fold(1.0f64, |a, v| a.max(v.abs()));
        let opts = ExploreOptions { eps: 1e-12 * scale, rtol: DECISION_RTOL };
        let explorer = Explorer::new(program, prop.a.clone(), prop.b.clone(), lower.to_vec(), upper.to_vec(), opts)?;
        Ok(LeafJob {
            explorer,
            first,
            max_pieces,
            collect,
            pieces: 0,
            violating: 0,
            unresolved: 0,
            lps: 0,
            cex: None,
            min_margin: f64::INFINITY,
            violating_patterns: Vec::new(),
            state: LeafState::Running,
        })
    }

    /// LPs of the explorer and of the decisions.
    pub fn total_lps(&self) -> usize {
        self.lps + self.explorer.lps
    }

    /// Cells the explorer skipped (empty to its LP, or an LP breakdown): the leaf is then not
    /// decided exactly.
    pub fn skipped(&self) -> usize {
        self.explorer.empty
    }

    /// Decides pieces until `budget` work units are spent, the leaf is done, or (with
    /// `stop_at_violation`) a counterexample is found.
    pub fn step(&mut self, view: &NetView, prop: &Property, budget: usize, stop_at_violation: bool) -> Result<usize> {
        let mut work = 0;
        while work < budget.max(1) && self.state == LeafState::Running {
            let before = self.explorer.lps;
            let piece = self.explorer.next_piece()?;
            work += 2 * (self.explorer.lps - before);
            let mut piece = match piece {
                Some(p) => p,
                None => {
                    self.state = LeafState::Done;
                    break;
                }
            };
            self.pieces += 1;
            if self.pieces > self.max_pieces {
                self.state = LeafState::TooMany;
                break;
            }
            let lps_before = self.lps;
            let verdict = self.decide_piece(view, prop, &mut piece)?;
            work += 3 + 2 * (self.lps - lps_before);
            match verdict {
                PieceVerdict::Safe(m) => self.min_margin = self.min_margin.min(m),
                PieceVerdict::Violated(c) => {
                    self.violating += 1;
                    if self.collect {
                        for l in 0..view.layers() {
                            if view.relu(l) {
                                let f = self.first[l];
                                self.violating_patterns.extend_from_slice(&piece.states[f..f + view.width(l)]);
                            }
                        }
                    }
                    if self.cex.as_ref().map_or(true, |b| c.margin < b.margin) {
                        self.cex = Some(c);
                    }
                    if stop_at_violation {
                        self.state = LeafState::Done;
                    }
                }
                PieceVerdict::Unresolved => self.unresolved += 1,
            }
        }
        Ok(work)
    }

    /// The output of the network on the piece as `M(x) ± G` (module documentation), M
    /// column-major `(n + 1) × outputs`.
    fn pattern_pass(&mut self, view: &NetView, piece: &mut Piece) -> Result<(Vec<f64>, Vec<f64>)> {
        let n = view.n_in();
        let (plo, phi) = (piece.lower.clone(), piece.upper.clone());
        let xmax: Vec<f64> = plo.iter().zip(&phi).map(|(a, b)| a.abs().max(b.abs())).collect();
        // M and g of every value still read (value maps over the graph's values).
        let layers = view.layers();
        let last = view.last_uses();
        let mut ms: Vec<Vec<f64>> = vec![Vec::new(); layers + 1];
        let mut gs: Vec<Vec<f64>> = vec![Vec::new(); layers + 1];
        ms[0] = vec![0.0; (n + 1) * n];
        for j in 0..n {
            ms[0][j * n + j] = 1.0;
        }
        gs[0] = vec![0.0; n];
        let mut c = vec![0.0; n];
        for l in 0..layers {
            let wo = view.width(l);
            let terms = view.row_terms(l);
            let b = view.bias(l);
            let mut nm = vec![0.0; (n + 1) * wo];
            for j in 0..=n {
                let col = &mut nm[j * wo..(j + 1) * wo];
                if j == n {
                    col.copy_from_slice(b);
                }
                for t in view.terms(l) {
                    let w = view.value_width(t.from);
                    t.op.forward_add(&ms[t.from][j * w..(j + 1) * w], col, t.negate);
                }
            }
            let mut ng = vec![0.0; wo];
            view.node_abs_add(l, &gs, &mut ng);
            let mut em: Vec<f64> = b.iter().map(|v| v.abs()).collect();
            let mut mags: Vec<(usize, Vec<f64>)> = Vec::new();
            for t in view.terms(l) {
                if !mags.iter().any(|m| m.0 == t.from) {
                    mags.push((t.from, magnitudes(&ms[t.from], view.value_width(t.from), n, &xmax)));
                }
            }
            for t in view.terms(l) {
                let (_, mag) = mags.iter().find(|m| m.0 == t.from).expect("computed above");
                t.op.abs_forward_add(mag, &mut em);
            }
            for k in 0..wo {
                let e = add_up(err_bound(terms + 1, em[k]), err_bound(terms, ng[k]));
                ng[k] = add_up(ng[k], e);
            }
            if view.relu(l) {
                let f = self.first[l];
                for k in 0..wo {
                    for j in 0..n {
                        c[j] = nm[j * wo + k];
                    }
                    let z0 = nm[n * wo + k];
                    let (bmax, bmin) = box_range(&c, z0, &plo, &phi);
                    let active = piece.states[f + k] != 0;
                    let delta = if active {
                        if sub_down(bmin, ng[k]) >= 0.0 {
                            0.0
                        } else {
                            let neg: Vec<f64> = c.iter().map(|v| -v).collect();
                            let lo = match piece.simplex.maximize(&neg) {
                                Ok(sol) => {
                                    self.lps += 1;
                                    sub_down(z0, add_up(sol.upper, err_bound(2, sol.upper.abs() + z0.abs())))
                                }
                                Err(Error::Lp(_)) | Err(Error::Empty(_)) => bmin,
                                Err(e) => return Err(e),
                            };
                            (-sub_down(lo.max(bmin), ng[k])).max(0.0)
                        }
                    } else if add_up(bmax, ng[k]) <= 0.0 {
                        0.0
                    } else {
                        let hi = match piece.simplex.maximize(&c) {
                            Ok(sol) => {
                                self.lps += 1;
                                add_up(add_up(sol.upper, z0), err_bound(2, sol.upper.abs() + z0.abs()))
                            }
                            Err(Error::Lp(_)) | Err(Error::Empty(_)) => bmax,
                            Err(e) => return Err(e),
                        };
                        add_up(hi.min(bmax), ng[k]).max(0.0)
                    };
                    if active {
                        if delta > 0.0 {
                            let half = next_up(0.5 * delta);
                            let c0 = nm[n * wo + k];
                            nm[n * wo + k] = c0 + half;
                            ng[k] = add_up(add_up(ng[k], half), err_bound(1, c0.abs() + half));
                        }
                    } else {
                        for j in 0..=n {
                            nm[j * wo + k] = 0.0;
                        }
                        // δ = 0: h is exactly 0 on the piece.
                        let half = if delta > 0.0 { next_up(0.5 * delta) } else { 0.0 };
                        nm[n * wo + k] = half;
                        ng[k] = half;
                    }
                }
            }
            ms[l + 1] = nm;
            gs[l + 1] = ng;
            for t in view.terms(l) {
                if last[t.from] == l {
                    ms[t.from] = Vec::new();
                    gs[t.from] = Vec::new();
                }
            }
        }
        Ok((std::mem::take(&mut ms[layers]), std::mem::take(&mut gs[layers])))
    }

    fn decide_piece(&mut self, view: &NetView, prop: &Property, piece: &mut Piece) -> Result<PieceVerdict> {
        let n = view.n_in();
        let k = view.n_out();
        let (m, g) = self.pattern_pass(view, piece)?;
        let xmax: Vec<f64> = piece.lower.iter().zip(&piece.upper).map(|(a, b)| a.abs().max(b.abs())).collect();
        let mag_y = magnitudes(&m, k, n, &xmax);
        let mut margin = f64::INFINITY;
        let mut candidate: Option<Vec<f64>> = None;
        for d in &prop.unsafe_set {
            // Sound lower functions ĝ_r(x) = a_r·x + c_r of each row on the piece.
            let mut lines: Vec<(Vec<f64>, f64)> = Vec::with_capacity(d.rows());
            let mut proven = f64::NEG_INFINITY;
            for r in 0..d.rows() {
                let row = d.row(r, k);
                let mut a = vec![0.0; n];
                let mut c0 = -d.b[r];
                let (mut eps, mut mag) = (0.0, d.b[r].abs());
                for o in 0..k {
                    if row[o] == 0.0 {
                        continue;
                    }
                    for j in 0..n {
                        a[j] += row[o] * m[j * k + o];
                    }
                    c0 += row[o] * m[n * k + o];
                    eps += row[o].abs() * g[o];
                    mag += row[o].abs() * mag_y[o];
                }
                let c = sub_down(c0, add_up(next_up(eps), err_bound(2 * k + 2, mag)));
                let (_, bmin) = box_range(&a, c, &piece.lower, &piece.upper);
                proven = proven.max(bmin);
                lines.push((a, c));
            }
            if proven > 0.0 {
                margin = margin.min(proven);
                continue;
            }
            let (value, x) = self.min_max(piece, prop, &lines)?;
            if value > 0.0 {
                margin = margin.min(value);
                continue;
            }
            if candidate.is_none() {
                candidate = x;
            }
            margin = f64::NEG_INFINITY;
        }
        if margin > 0.0 {
            return Ok(PieceVerdict::Safe(margin));
        }
        if let Some(mut x) = candidate {
            // Counterexamples lie in the property's box (the leaf may be widened, see bab.rs).
            for j in 0..n {
                x[j] = x[j].max(prop.lower[j]).min(prop.upper[j]);
            }
            let mut y = vec![0.0; k];
            let mv = margin_at(view, prop, &x, &mut y);
            if mv <= 0.0 {
                return Ok(PieceVerdict::Violated(Candidate { x, margin: mv }));
            }
        }
        Ok(PieceVerdict::Unresolved)
    }

    /// A certified lower bound of min over the piece of max_r (a_r·x + c_r), and the LP's
    /// minimiser (a candidate counterexample) when it is not positive.
    fn min_max(
        &mut self,
        piece: &mut Piece,
        prop: &Property,
        lines: &[(Vec<f64>, f64)],
    ) -> Result<(f64, Option<Vec<f64>>)> {
        let n = piece.lower.len();
        if lines.len() == 1 {
            let (a, c) = &lines[0];
            let neg: Vec<f64> = a.iter().map(|v| -v).collect();
            return match piece.simplex.maximize(&neg) {
                Ok(sol) => {
                    self.lps += 1;
                    let v = sub_down(*c, add_up(sol.upper, err_bound(2, sol.upper.abs() + c.abs())));
                    Ok((v, Some(sol.x)))
                }
                Err(Error::Lp(_)) | Err(Error::Empty(_)) => Ok((f64::NEG_INFINITY, None)),
                Err(e) => Err(e),
            };
        }
        // min t s.t. a_r·x + c_r <= t, x in the piece (its rows and bounding box).
        let nv = n + 1;
        let rows = piece.b.len() + lines.len();
        let mut gm = Vec::with_capacity(rows * nv);
        let mut h = Vec::with_capacity(rows);
        for i in 0..piece.b.len() {
            gm.extend_from_slice(&piece.a[i * n..(i + 1) * n]);
            gm.push(0.0);
            h.push(piece.b[i]);
        }
        let (mut tlo, mut thi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (a, c) in lines {
            gm.extend_from_slice(a);
            gm.push(-1.0);
            h.push(-c);
            let (mx, mn) = box_range(a, *c, &piece.lower, &piece.upper);
            tlo = tlo.min(mn);
            thi = thi.max(mx);
        }
        let _ = prop;
        if !(tlo.is_finite() && thi.is_finite()) {
            return Ok((f64::NEG_INFINITY, None));
        }
        let pad = 1.0 + 1e-6 * (tlo.abs() + thi.abs());
        let mut lo = piece.lower.clone();
        let mut hi = piece.upper.clone();
        lo.push(tlo - pad);
        hi.push(thi + pad);
        let p = Polytope::new(nv, &gm, &h, &lo, &hi)?;
        let mut obj = vec![0.0; nv];
        obj[n] = -1.0;
        match Simplex::new(p).maximize(&obj) {
            Ok(sol) => {
                self.lps += 1;
                Ok((-sol.upper, Some(sol.x[..n].to_vec())))
            }
            Err(Error::Lp(_)) | Err(Error::Empty(_)) => Ok((f64::NEG_INFINITY, None)),
            Err(e) => Err(e),
        }
    }
}

enum PieceVerdict {
    Safe(f64),
    Violated(Candidate),
    Unresolved,
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

/// (max, min) of a·x + c over the box [lo, hi], rounded outward.
fn box_range(a: &[f64], c: f64, lo: &[f64], hi: &[f64]) -> (f64, f64) {
    let (mut mx, mut mn, mut mag) = (c, c, c.abs());
    for j in 0..a.len() {
        let (p, q) = (a[j] * lo[j], a[j] * hi[j]);
        mx += p.max(q);
        mn += p.min(q);
        mag += p.abs().max(q.abs());
    }
    let e = err_bound(a.len() + 1, mag);
    (add_up(mx, e), sub_down(mn, e))
}

/// Whether the box may meet the property's input rows: false only when an LP proves the
/// intersection empty (the certified maximum of the smallest row slack is negative: a point of
/// the set would give a slack >= 0). Always true without rows.
pub fn box_meets_input_set(prop: &Property, lower: &[f64], upper: &[f64]) -> Result<bool> {
    let n = prop.n_in;
    let m = prop.b.len();
    if m == 0 {
        return Ok(true);
    }
    // max s  s.t.  a_i·x + s <= b_i,  x in the box,  s in [−S, S] with S above every slack.
    let mut big = 1.0f64;
    let mut g = Vec::with_capacity(m * (n + 1));
    for i in 0..m {
        let row = &prop.a[i * n..(i + 1) * n];
        let (mx, mn) = box_range(row, -prop.b[i], lower, upper);
        big = big.max(mx.abs()).max(mn.abs());
        g.extend_from_slice(row);
        g.push(1.0);
    }
    let mut lo = lower.to_vec();
    let mut hi = upper.to_vec();
    lo.push(-2.0 * big);
    hi.push(2.0 * big);
    let p = Polytope::new(n + 1, &g, &prop.b, &lo, &hi)?;
    let mut c = vec![0.0; n + 1];
    c[n] = 1.0;
    match Simplex::new(p).maximize(&c) {
        Ok(sol) => Ok(sol.upper >= 0.0),
        Err(Error::Lp(_)) | Err(Error::Empty(_)) => Ok(true),
        Err(e) => Err(e),
    }
}

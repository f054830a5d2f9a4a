//! Linear regions: the set of inputs sharing one activation pattern, intersected with the input
//! box, and the local affine map `f(x) = F x + e` of the network on it.
//!
//! Both come from one propagation of affine maps through the network's graph
//! (`network/linearise.rs`, which also states the memory): a hidden neuron's pre-activation is
//! affine in x on the region (`z_i(x) = Z_i·x + z0_i`), which is exactly its half-space (z_i >= 0
//! if active, z_i <= 0 if not), and later nodes see `Z_i` when the neuron is active and 0 when it
//! is not. Rows are normalised (‖a_i‖₂ = 1) so that slacks are Euclidean
//! distances to the hyperplanes, which is what gives the locality radius its meaning.

use crate::error::{invalid, Error, Result};
use crate::implied_rows::{implied_rows_of, ImpliedCounts};
use crate::linalg::{axpy, dot, norm2};
use crate::lp::{LpSolution, Polytope, Simplex};
use crate::network::linearise::linearise;
use crate::network::Network;

#[derive(Debug, Clone)]
pub struct LinearRegion {
    pub n_in: usize,
    pub n_out: usize,
    /// One byte per hidden neuron: 1 active (z >= 0), 0 inactive.
    pub pattern: Vec<u8>,
    /// Neuron half-spaces `a_i·x <= b_i`, row-major `rows × n_in`, each ‖a_i‖₂ = 1.
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    /// Hidden-neuron index (position in the pattern) of each row; [`INPUT_ROW`] for rows of an
    /// extra input set added with [`LinearRegion::intersect`].
    pub neuron: Vec<u32>,
    /// The input box: part of the region, handled as variable bounds by the LPs.
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// Local affine map, `n_out × n_in` row-major, and offset.
    pub f: Vec<f64>,
    pub e: Vec<f64>,
    /// Hidden neurons whose pre-activation is constant on the whole input space once the
    /// pattern is fixed (they add no half-space).
    pub constant_neurons: usize,
    /// The point the region was built from, if any (a point of the region).
    pub anchor: Option<Vec<f64>>,
    /// Euclidean norm each row had before normalisation: for a neuron row, ‖Z_i‖ of its
    /// pre-activation z_i(x) = Z_i·x + z0_i, so that a_i·x − b_i = ∓ z_i(x) / norm_i (− when
    /// active). Lets exporters recompute a row from the network's own pre-activations.
    pub norm: Vec<f64>,
    /// Neuron rows left out because the box or a few other rows over the same inputs imply them
    /// (graph networks only, see `implied_rows.rs`): the region is the same set up to
    /// [`IMPLIED_TOL`], with fewer rows for its LPs, supports and certificates.
    pub implied: ImpliedCounts,
}

/// Tolerance (slack units: rows are normalised) under which a row counts as implied by others.
pub const IMPLIED_TOL: f64 = 1e-9;

/// Marks rows that come from an input set rather than from a hidden neuron.
pub const INPUT_ROW: u32 = u32::MAX;

pub(crate) fn check_box(n: usize, lower: &[f64], upper: &[f64]) -> Result<()> {
    if lower.len() != n || upper.len() != n {
        return invalid(format!(
            "input box: expected {} lower and upper bounds, got {} and {}",
            n,
            lower.len(),
            upper.len()
        ));
    }
    for j in 0..n {
        if !(lower[j].is_finite() && upper[j].is_finite()) {
            return invalid(format!(
                "input box: bounds of input {} are [{}, {}]; a linear region needs a finite box",
                j, lower[j], upper[j]
            ));
        }
        if lower[j] > upper[j] {
            return invalid(format!(
                "input box: lower bound {} of input {} exceeds its upper bound {}",
                lower[j], j, upper[j]
            ));
        }
    }
    Ok(())
}

/// Rows `A x <= b` of an input set, normalised (‖a_i‖₂ = 1), with the norm each row had. Rows
/// that are all zero are dropped when they hold (0 <= b) and rejected when they cannot.
pub fn normalise_rows(n: usize, a: &[f64], b: &[f64]) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    if a.len() != b.len() * n {
        return invalid(format!("input set: {} coefficients for {} rows of {} inputs", a.len(), b.len(), n));
    }
    let mut na = Vec::with_capacity(a.len());
    let mut nb = Vec::with_capacity(b.len());
    let mut norms = Vec::with_capacity(b.len());
    for i in 0..b.len() {
        let row = &a[i * n..(i + 1) * n];
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return invalid(format!("input set: row {} coefficient {} is {}", i, j, row[j]));
        }
        if !b[i].is_finite() {
            return invalid(format!("input set: right-hand side {} is {}", i, b[i]));
        }
        let nr = norm2(row);
        if nr == 0.0 {
            if b[i] < 0.0 {
                return invalid(format!("input set: row {} reads 0 <= {}, so the set is empty", i, -b[i]));
            }
            continue;
        }
        na.extend(row.iter().map(|v| v / nr));
        nb.push(b[i] / nr);
        norms.push(nr);
    }
    Ok((na, nb, norms))
}

/// The entries of `v` whose row is not dropped.
fn kept_of<T: Copy>(v: &[T], dropped: &[bool]) -> Vec<T> {
    v.iter().zip(dropped).filter(|(_, d)| !**d).map(|(x, _)| *x).collect()
}

impl LinearRegion {
    /// The linear region of `x0` inside the box `[lower, upper]`.
    pub fn of_point(net: &Network, x0: &[f64], lower: &[f64], upper: &[f64]) -> Result<LinearRegion> {
        let n = net.n_in();
        if x0.len() != n {
            return invalid(format!("point: has {} coordinates, the network has {} inputs", x0.len(), n));
        }
        if let Some(j) = x0.iter().position(|v| !v.is_finite()) {
            return invalid(format!("point: coordinate {} is {}", j, x0[j]));
        }
        check_box(n, lower, upper)?;
        for j in 0..n {
            if x0[j] < lower[j] || x0[j] > upper[j] {
                return invalid(format!(
                    "point: coordinate {} = {} lies outside the input box [{}, {}]",
                    j, x0[j], lower[j], upper[j]
                ));
            }
        }
        let pattern = net.pattern(x0);
        let mut r = Self::of_pattern(net, pattern, lower, upper)?;
        r.anchor = Some(x0.to_vec());
        Ok(r)
    }

    /// The (possibly empty) set of box inputs with activation pattern `pattern`.
    pub fn of_pattern(net: &Network, pattern: Vec<u8>, lower: &[f64], upper: &[f64]) -> Result<LinearRegion> {
        let n = net.n_in();
        check_box(n, lower, upper)?;
        if pattern.len() != net.hidden_count() {
            return invalid(format!(
                "pattern: has {} entries, the network has {} hidden neurons",
                pattern.len(),
                net.hidden_count()
            ));
        }
        let mut lin = linearise(net, &pattern)?;
        let mut implied = ImpliedCounts::default();
        // Graph networks (convolutions) have many rows over a few inputs each, most of them
        // implied by their neighbours: only the others are kept, made dense from the
        // linearisation's windowed rows. Dense chains keep every row, as they always did.
        let a;
        if net.dense_layers().is_none() {
            let (dropped, counts) = implied_rows_of(&lin.rows, &lin.b, lower, upper, IMPLIED_TOL);
            a = lin.rows.dense_of((0..lin.b.len()).filter(|&i| !dropped[i]));
            lin.b = kept_of(&lin.b, &dropped);
            lin.neuron = kept_of(&lin.neuron, &dropped);
            lin.norm = kept_of(&lin.norm, &dropped);
            implied = counts;
        } else {
            a = lin.rows.to_dense();
        }
        Ok(LinearRegion {
            n_in: n,
            n_out: net.n_out(),
            pattern,
            a,
            b: lin.b,
            neuron: lin.neuron,
            lower: lower.to_vec(),
            upper: upper.to_vec(),
            f: lin.f,
            e: lin.e,
            constant_neurons: lin.constant_neurons,
            anchor: None,
            norm: lin.norm,
            implied,
        })
    }

    /// A superset of the region of `pattern`: only the rows of the hidden neurons listed in
    /// `keep` (pattern positions; neurons without a row, i.e. constant on the input space, are
    /// skipped), the box, and the local affine map — no implied-row test. Every row kept is a row
    /// of the region, so the set contains the region whatever `keep` says; it *is* the region
    /// when `keep` names every row that the others do not imply. The certificate uses it with the
    /// repair's list of kept rows as an untrusted hint (`certificate/certifier.rs`): a proof over
    /// a superset holds on the region, and a refusal is decided again on the region itself.
    pub fn of_pattern_rows(
        net: &Network,
        pattern: Vec<u8>,
        lower: &[f64],
        upper: &[f64],
        keep: &[u32],
    ) -> Result<LinearRegion> {
        let n = net.n_in();
        check_box(n, lower, upper)?;
        let hidden = net.hidden_count();
        if pattern.len() != hidden {
            return invalid(format!(
                "pattern: has {} entries, the network has {} hidden neurons",
                pattern.len(),
                hidden
            ));
        }
        let mut wanted = vec![false; hidden];
        for &k in keep {
            match wanted.get_mut(k as usize) {
                Some(w) => *w = true,
                None => return invalid(format!("kept rows: neuron {} of a network with {} hidden neurons", k, hidden)),
            }
        }
        let lin = linearise(net, &pattern)?;
        let dropped: Vec<bool> = lin.neuron.iter().map(|&k| !wanted[k as usize]).collect();
        let a = lin.rows.dense_of((0..lin.b.len()).filter(|&i| !dropped[i]));
        Ok(LinearRegion {
            n_in: n,
            n_out: net.n_out(),
            pattern,
            a,
            b: kept_of(&lin.b, &dropped),
            neuron: kept_of(&lin.neuron, &dropped),
            lower: lower.to_vec(),
            upper: upper.to_vec(),
            f: lin.f,
            e: lin.e,
            constant_neurons: lin.constant_neurons,
            anchor: None,
            norm: kept_of(&lin.norm, &dropped),
            // Rows left out by the hint are not proven implied: none is counted as such.
            implied: ImpliedCounts::default(),
        })
    }

    /// Intersects the region with an input polytope `{x : A x <= b}` (row-major `m × n_in`):
    /// the rows are normalised and appended, marked [`INPUT_ROW`]. Used for area repair over an
    /// H-polytope and for specs whose input set is not a box.
    pub fn intersect(&mut self, a: &[f64], b: &[f64]) -> Result<()> {
        let (na, nb, norms) = normalise_rows(self.n_in, a, b)?;
        self.a.extend(na);
        self.b.extend(nb);
        self.neuron.extend(std::iter::repeat(INPUT_ROW).take(norms.len()));
        self.norm.extend(norms);
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.b.len()
    }

    pub fn polytope(&self) -> Polytope<'_> {
        Polytope { n: self.n_in, m: self.b.len(), g: &self.a, h: &self.b, lower: &self.lower, upper: &self.upper }
    }

    /// `F x + e` at x.
    pub fn affine(&self, x: &[f64], out: &mut [f64]) {
        for i in 0..self.n_out {
            out[i] = dot(&self.f[i * self.n_in..(i + 1) * self.n_in], x) + self.e[i];
        }
    }

    /// Largest violation over the neuron rows and the box (0 inside the region).
    pub fn violation(&self, x: &[f64]) -> f64 {
        self.polytope().violation(x)
    }

    /// A simplex over this region, for several objectives with warm starts.
    pub fn simplex(&self) -> Simplex {
        Simplex::new(self.polytope())
    }

    /// max over the region of `w·(F x + e)`, i.e. of a linear function of the outputs.
    pub fn max_output(&self, sx: &mut Simplex, w: &[f64]) -> Result<(LpSolution, f64)> {
        if w.len() != self.n_out {
            return invalid(format!("objective: has {} entries, the network has {} outputs", w.len(), self.n_out));
        }
        let mut c = vec![0.0; self.n_in];
        for i in 0..self.n_out {
            if w[i] != 0.0 {
                axpy(w[i], &self.f[i * self.n_in..(i + 1) * self.n_in], &mut c);
            }
        }
        let constant = dot(w, &self.e);
        Ok((sx.maximize(&c)?, constant))
    }

    /// Indices of rows that are not implied by the other rows and the box (up to `tol`).
    ///
    /// A row whose hyperplane misses the region by more than `tol` is redundant (if some point
    /// of the region without it violated it, the segment to a region point would cross the
    /// hyperplane inside the region), and all such rows can be dropped at once. They are found
    /// cheaply: first against the region's bounding box (2n warm-started LPs), then by the
    /// maximum of the row over the region (warm-started). Only rows that touch the region get the
    /// exact test, an LP without the row over the rows still kept.
    pub fn irredundant_rows(&self, tol: f64) -> Result<Vec<usize>> {
        let n = self.n_in;
        let m = self.rows();
        let with_context = |i: usize, e: Error| match e {
            Error::Lp(msg) => Error::Lp(format!("redundancy test of row {}: {}", i, msg)),
            other => other,
        };
        let mut sx = self.simplex();
        let mut lo = vec![0.0; n];
        let mut hi = vec![0.0; n];
        for j in 0..n {
            let mut c = vec![0.0; n];
            c[j] = 1.0;
            hi[j] = sx.maximize(&c)?.upper;
            c[j] = -1.0;
            lo[j] = -sx.maximize(&c)?.upper;
        }
        let mut touching = Vec::new();
        for i in 0..m {
            let row = &self.a[i * n..(i + 1) * n];
            let boxmax: f64 = (0..n).map(|j| (row[j] * lo[j]).max(row[j] * hi[j])).sum();
            if boxmax < self.b[i] - tol {
                continue;
            }
            let sol = sx.maximize(row).map_err(|e| with_context(i, e))?;
            if sol.upper >= self.b[i] - tol {
                touching.push(i);
            }
        }
        let mut active: Vec<bool> = vec![false; m];
        for &i in &touching {
            active[i] = true;
        }
        let mut keep = Vec::new();
        for &i in &touching {
            let mut g = Vec::new();
            let mut h = Vec::new();
            for k in 0..m {
                if k != i && active[k] {
                    g.extend_from_slice(&self.a[k * n..(k + 1) * n]);
                    h.push(self.b[k]);
                }
            }
            let p = Polytope { n, m: h.len(), g: &g, h: &h, lower: &self.lower, upper: &self.upper };
            let sol = Simplex::new(p).maximize(&self.a[i * n..(i + 1) * n]).map_err(|e| with_context(i, e))?;
            // Certified upper bound: a row is only dropped when provably implied.
            if sol.upper <= self.b[i] + tol {
                active[i] = false;
            } else {
                keep.push(i);
            }
        }
        Ok(keep)
    }

    /// Rows of the support network: the irredundant rows (neuron and input-set rows; the box
    /// counts as given), followed, with `with_box`, by the box faces that the rows do not already
    /// imply (upper faces `x_j <= u_j`, lower `−x_j <= −l_j`). Without `with_box` the caller gates
    /// the box separately (one box indicator shared by every patch).
    pub fn support_rows(&self, tol: f64, with_box: bool) -> Result<(Vec<f64>, Vec<f64>)> {
        let (a, b, _) = self.support_rows_indexed(Some(tol), with_box)?;
        Ok((a, b))
    }

    /// The support rows (pruned with `Some(tol)`, all rows with `None`) and, for each, the index
    /// of the region row it copies, or −1 − j for the box faces of input j (upper, then lower).
    pub fn support_rows_indexed(&self, tol: Option<f64>, with_box: bool) -> Result<(Vec<f64>, Vec<f64>, Vec<i64>)> {
        let n = self.n_in;
        if tol.is_none() {
            let (a, b) = self.all_rows(with_box);
            let mut idx: Vec<i64> = (0..self.rows() as i64).collect();
            if with_box {
                for j in 0..n as i64 {
                    idx.push(-1 - j);
                    idx.push(-1 - j);
                }
            }
            return Ok((a, b, idx));
        }
        let keep = self.irredundant_rows(tol.unwrap())?;
        let tol = tol.unwrap();
        let mut idx: Vec<i64> = keep.iter().map(|&i| i as i64).collect();
        let mut a: Vec<f64> = Vec::with_capacity((keep.len() + 2 * n) * n);
        let mut b: Vec<f64> = Vec::with_capacity(keep.len() + 2 * n);
        for &i in &keep {
            a.extend_from_slice(&self.a[i * n..(i + 1) * n]);
            b.push(self.b[i]);
        }
        if !with_box {
            return Ok((a, b, idx));
        }
        let kept_a = a.clone();
        let kept_b = b.clone();
        for j in 0..n {
            for &upper_face in &[true, false] {
                // Loosen this one face by the box width and see whether the neuron rows stop x_j
                // before it anyway.
                let width = self.upper[j] - self.lower[j];
                let mut lo = self.lower.clone();
                let mut hi = self.upper.clone();
                let mut c = vec![0.0; n];
                if upper_face {
                    hi[j] += width + 1.0;
                    c[j] = 1.0;
                } else {
                    lo[j] -= width + 1.0;
                    c[j] = -1.0;
                }
                let p = Polytope { n, m: kept_b.len(), g: &kept_a, h: &kept_b, lower: &lo, upper: &hi };
                let sol = Simplex::new(p).maximize(&c)?;
                let face = if upper_face { self.upper[j] } else { -self.lower[j] };
                if sol.upper > face + tol {
                    let mut row = vec![0.0; n];
                    row[j] = c[j];
                    a.extend(row);
                    b.push(face);
                    idx.push(-1 - j as i64);
                }
            }
        }
        Ok((a, b, idx))
    }

    /// Rows of the region without pruning: every row, then (with `with_box`) every box face.
    pub fn all_rows(&self, with_box: bool) -> (Vec<f64>, Vec<f64>) {
        let n = self.n_in;
        let mut a = self.a.clone();
        let mut b = self.b.clone();
        for j in 0..if with_box { n } else { 0 } {
            let mut row = vec![0.0; n];
            row[j] = 1.0;
            a.extend(&row);
            b.push(self.upper[j]);
            row[j] = -1.0;
            a.extend(&row);
            b.push(-self.lower[j]);
        }
        (a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{random_network, Rng};

    fn random_point_in_region(
        rng: &mut Rng,
        net: &Network,
        r: &LinearRegion,
        x0: &[f64],
        scale: f64,
    ) -> Option<Vec<f64>> {
        for _ in 0..200 {
            let x: Vec<f64> = x0.iter().map(|v| v + rng.normal() * scale).collect();
            if x.iter().zip(r.lower.iter().zip(r.upper.iter())).all(|(v, (l, u))| v >= l && v <= u)
                && net.pattern(&x) == r.pattern
            {
                return Some(x);
            }
        }
        None
    }

    #[test]
    fn affine_map_matches_forward_pass_inside_the_region() {
        let mut rng = Rng(3);
        for trial in 0..20 {
            let net = random_network(&mut rng, &[4, 12, 10, 8, 3]);
            let lower = vec![-2.0; 4];
            let upper = vec![2.0; 4];
            let x0: Vec<f64> = (0..4).map(|_| rng.range(-1.5, 1.5)).collect();
            let r = LinearRegion::of_point(&net, &x0, &lower, &upper).unwrap();
            assert_eq!(r.rows() + r.constant_neurons, net.hidden_count());
            assert!(r.violation(&x0) < 1e-12, "trial {}: x0 violates its own region by {}", trial, r.violation(&x0));
            let mut hits = 0;
            for _ in 0..50 {
                if let Some(x) = random_point_in_region(&mut rng, &net, &r, &x0, 0.05) {
                    let mut y = vec![0.0; 3];
                    let mut ya = vec![0.0; 3];
                    net.forward(&x, &mut y);
                    r.affine(&x, &mut ya);
                    for i in 0..3 {
                        assert!((y[i] - ya[i]).abs() < 1e-12 * (1.0 + y[i].abs()), "{} vs {}", y[i], ya[i]);
                    }
                    assert!(r.violation(&x) < 1e-12);
                    hits += 1;
                }
            }
            assert!(hits > 0);
        }
    }

    #[test]
    fn regions_of_a_graph_network_agree_with_its_forward_pass() {
        // Convolutions, pooling, residual terms, max lowered to ReLUs, a transposed convolution:
        // the rows and the affine map come from the same propagation as for dense chains.
        let mut rng = Rng(77);
        for trial in 0..6 {
            let net = crate::network::tests::random_graph(&mut rng);
            let n = net.n_in();
            let (lower, upper) = (vec![-3.0; n], vec![3.0; n]);
            let x0: Vec<f64> = (0..n).map(|_| rng.normal() * 0.5).collect();
            let r = LinearRegion::of_point(&net, &x0, &lower, &upper).unwrap();
            assert_eq!(r.rows() + r.constant_neurons + r.implied.total(), net.hidden_count());
            assert!(r.violation(&x0) < 1e-12);
            // F against central differences, with a step inside the region.
            let slack =
                (0..r.rows()).map(|i| r.b[i] - dot(&r.a[i * n..(i + 1) * n], &x0)).fold(f64::INFINITY, f64::min);
            let h = (slack * 0.25).min(1e-3);
            assert!(h > 0.0);
            for j in 0..n {
                let (mut xp, mut xm) = (x0.clone(), x0.clone());
                xp[j] += h;
                xm[j] -= h;
                let (mut yp, mut ym) = (vec![0.0; 3], vec![0.0; 3]);
                net.forward(&xp, &mut yp);
                net.forward(&xm, &mut ym);
                for o in 0..3 {
                    let fd = (yp[o] - ym[o]) / (2.0 * h);
                    let fo = r.f[o * n + j];
                    assert!(
                        (fd - fo).abs() < 1e-6 * (1.0 + fo.abs()),
                        "trial {}: F[{}][{}] = {} vs {}",
                        trial,
                        o,
                        j,
                        fo,
                        fd
                    );
                }
            }
            // The H-representation against forward passes: same pattern <=> every row holds.
            let (mut inside, mut outside) = (0, 0);
            for q in 0..400 {
                let scale = [1e-4, 1e-3, 1e-2, 0.1][q % 4];
                let x: Vec<f64> = x0.iter().map(|v| (v + rng.normal() * scale).clamp(-3.0, 3.0)).collect();
                let worst =
                    (0..r.rows()).map(|i| dot(&r.a[i * n..(i + 1) * n], &x) - r.b[i]).fold(f64::NEG_INFINITY, f64::max);
                if net.pattern(&x) == r.pattern {
                    assert!(worst <= 1e-9, "trial {}: a point of the pattern violates a row by {}", trial, worst);
                    let (mut y, mut ya) = (vec![0.0; 3], vec![0.0; 3]);
                    net.forward(&x, &mut y);
                    r.affine(&x, &mut ya);
                    for o in 0..3 {
                        assert!((y[o] - ya[o]).abs() < 1e-9 * (1.0 + y[o].abs()));
                    }
                    inside += 1;
                } else {
                    assert!(
                        worst >= -1e-9,
                        "trial {}: a point of another pattern satisfies every row ({})",
                        trial,
                        worst
                    );
                    outside += 1;
                }
            }
            assert!(inside > 20 && outside > 20, "trial {}: {} inside, {} outside", trial, inside, outside);
        }
    }

    #[test]
    fn affine_map_matches_finite_differences() {
        let mut rng = Rng(5);
        for _ in 0..20 {
            let net = random_network(&mut rng, &[3, 16, 16, 5]);
            let x0: Vec<f64> = (0..3).map(|_| rng.range(-1.0, 1.0)).collect();
            let r = LinearRegion::of_point(&net, &x0, &[-3.0; 3], &[3.0; 3]).unwrap();
            // Step small enough to stay in the region: below the smallest slack at x0.
            let slack =
                (0..r.rows()).map(|i| r.b[i] - dot(&r.a[i * 3..(i + 1) * 3], &x0)).fold(f64::INFINITY, f64::min);
            let hstep = (slack * 0.25).min(1e-3);
            assert!(hstep > 0.0);
            for j in 0..3 {
                let mut xp = x0.clone();
                let mut xm = x0.clone();
                xp[j] += hstep;
                xm[j] -= hstep;
                let (mut yp, mut ym) = (vec![0.0; 5], vec![0.0; 5]);
                net.forward(&xp, &mut yp);
                net.forward(&xm, &mut ym);
                for i in 0..5 {
                    let fd = (yp[i] - ym[i]) / (2.0 * hstep);
                    let fij = r.f[i * 3 + j];
                    assert!(
                        (fd - fij).abs() < 1e-6 * (1.0 + fij.abs()),
                        "F[{}][{}] = {} but finite difference {}",
                        i,
                        j,
                        fij,
                        fd
                    );
                }
            }
            // Rows of F differ from each other (the reference's aliasing bug makes them equal).
            assert!((0..3).any(|j| r.f[j] != r.f[3 + j]));
        }
    }

    #[test]
    fn region_lp_agrees_with_sampling_and_redundancy_keeps_the_set() {
        let mut rng = Rng(9);
        let net = random_network(&mut rng, &[2, 10, 10, 2]);
        let x0 = [0.3, -0.2];
        let r = LinearRegion::of_point(&net, &x0, &[-1.0, -1.0], &[1.0, 1.0]).unwrap();
        let mut sx = r.simplex();
        let (sol, k) = r.max_output(&mut sx, &[1.0, -1.0]).unwrap();
        // No sampled point of the region beats the LP optimum; the optimum is attained.
        let mut best = f64::NEG_INFINITY;
        for _ in 0..20000 {
            let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
            if net.pattern(&x) == r.pattern {
                let mut y = [0.0; 2];
                net.forward(&x, &mut y);
                best = best.max(y[0] - y[1]);
            }
        }
        assert!(best <= sol.upper + k + 1e-9);
        assert!(sol.lower + k >= best - 1e-9);
        let keep = r.irredundant_rows(1e-9).unwrap();
        assert!(keep.len() <= r.rows());
        for _ in 0..20000 {
            let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
            let inside_all = (0..r.rows()).all(|i| dot(&r.a[i * 2..i * 2 + 2], &x) <= r.b[i]);
            let inside_kept = keep.iter().all(|&i| dot(&r.a[i * 2..i * 2 + 2], &x) <= r.b[i]);
            // Sets agree up to the tolerance band.
            if inside_kept && !inside_all {
                let v =
                    (0..r.rows()).map(|i| dot(&r.a[i * 2..i * 2 + 2], &x) - r.b[i]).fold(f64::NEG_INFINITY, f64::max);
                assert!(v <= 1e-9, "kept rows admit a point {:?} violating the region by {}", x, v);
            }
        }
    }

    #[test]
    fn row_norms_recover_the_pre_activations() {
        let mut rng = Rng(41);
        let net = random_network(&mut rng, &[4, 9, 7, 3]);
        let x0 = [0.2, -0.1, 0.3, 0.05];
        let r = LinearRegion::of_point(&net, &x0, &[-1.0; 4], &[1.0; 4]).unwrap();
        let mut z = Vec::new();
        let mut out = vec![0.0; 3];
        net.forward_visit(&x0, &mut out, |_, pre| z.extend_from_slice(pre));
        assert_eq!(r.norm.len(), r.rows());
        for i in 0..r.rows() {
            let k = r.neuron[i] as usize;
            let active = r.pattern[k] != 0;
            let v = dot(&r.a[i * 4..(i + 1) * 4], &x0) - r.b[i];
            let want = if active { -z[k] } else { z[k] } / r.norm[i];
            assert!((v - want).abs() < 1e-12 * (1.0 + want.abs()), "row {}: {} vs {}", i, v, want);
        }
        let (_, _, idx) = r.support_rows_indexed(Some(1e-9), true).unwrap();
        assert!(idx.iter().all(|&i| i < r.rows() as i64));
        let (_, b_all, idx_all) = r.support_rows_indexed(None, false).unwrap();
        assert_eq!(idx_all, (0..b_all.len() as i64).collect::<Vec<_>>());
    }

    #[test]
    fn intersecting_with_an_input_set_restricts_the_lp() {
        let mut rng = Rng(17);
        let net = random_network(&mut rng, &[2, 6, 2]);
        let mut r = LinearRegion::of_point(&net, &[0.0, 0.0], &[-1.0, -1.0], &[1.0, 1.0]).unwrap();
        let before = r.rows();
        // x0 + x1 <= 0.1, written unnormalised.
        r.intersect(&[2.0, 2.0], &[0.2]).unwrap();
        assert_eq!(r.rows(), before + 1);
        assert_eq!(r.neuron[before], INPUT_ROW);
        assert!((norm2(&r.a[before * 2..before * 2 + 2]) - 1.0).abs() < 1e-15);
        let sol = r.simplex().maximize(&[1.0, 1.0]).unwrap();
        assert!(sol.upper <= 0.1 + 1e-9);
        assert!(r.intersect(&[0.0, 0.0], &[-1.0]).is_err());
        assert!(r.intersect(&[1.0], &[0.0]).is_err());
    }

    #[test]
    fn rejects_points_outside_the_box_and_wrong_sizes() {
        let mut rng = Rng(1);
        let net = random_network(&mut rng, &[2, 3, 1]);
        let e = LinearRegion::of_point(&net, &[5.0, 0.0], &[-1.0, -1.0], &[1.0, 1.0]).unwrap_err();
        assert!(e.to_string().contains("coordinate 0 = 5 lies outside"), "{}", e);
        let e = LinearRegion::of_point(&net, &[0.0], &[-1.0, -1.0], &[1.0, 1.0]).unwrap_err();
        assert!(e.to_string().contains("has 1 coordinates"), "{}", e);
        let e = LinearRegion::of_point(&net, &[0.0, f64::NAN], &[-1.0, -1.0], &[1.0, 1.0]).unwrap_err();
        assert!(e.to_string().contains("is NaN"), "{}", e);
    }
}

//! The minimal patch of one linear region by the lower-bound / constant-patch path (METHOD.md §3).

use crate::error::{invalid, lp_context, Error, Result};
use crate::linalg::{axpy, dot};
use crate::lp::{dual_bound, LpSolution};
use crate::patch::ConstantPatch;
use crate::region::LinearRegion;
use crate::spec::Spec;

/// How minimality of a patch was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The region already satisfies the spec: the minimal patch is zero.
    NotNeeded,
    /// The constant patch reaches the lower bound t_LB, so no affine patch is smaller.
    ConstantPatch,
    /// The constant patch is infeasible or above t_LB: the full LP must decide.
    NeedsFullLp,
}

/// Result of the fast path of METHOD.md §3 on one region.
#[derive(Debug, Clone, PartialEq)]
pub struct MinimalPatch {
    pub proof: Proof,
    /// t_LB = max_j (max over A of v_j) / ‖P_j‖₁, from feasible witnesses (a true lower bound).
    pub lower_bound: f64,
    /// The smallest constant patch on the region (zero when not needed), None when no constant
    /// patch satisfies the spec on it.
    pub constant: Option<ConstantPatch>,
    /// Per spec row j: max over the region of v_j(x) = P_j f(x) − q_j, as a certified interval
    /// (rows bounded without an LP of their own have the anchor's value as lower end).
    pub worst_lower: Vec<f64>,
    pub worst_upper: Vec<f64>,
    /// A point of the region attaining worst_lower, per row (row-major rows × n_in).
    pub witnesses: Vec<f64>,
    /// Per spec row, the row multipliers (>= 0, one per region row, row-major rows × region
    /// rows) whose weak-duality bound gave `worst_upper` (all 0 for a row bounded otherwise).
    /// Handed on to the certificate as an untrusted hint: any λ >= 0 bounds the row's maximum
    /// over any set the same rows contain, so the certificate checks a bound instead of
    /// solving an LP (`certificate/certifier.rs`).
    pub duals: Vec<f64>,
    /// max_j (P_j d + worst_upper_j): <= 0 (up to rounding) means the patch is sound on A
    /// (+inf without a constant patch).
    pub residual: f64,
    /// Rounding slack of the certified LP bounds (patch-norm units): `proof` tolerates a gap of
    /// 1e-9 relative plus twice this.
    pub rounding: f64,
    pub lps: usize,
    pub pivots: usize,
}

impl MinimalPatch {
    /// Norm of the constant patch (= max_i |d_i|), +inf when none is feasible.
    pub fn norm(&self) -> f64 {
        self.constant.as_ref().map_or(f64::INFINITY, ConstantPatch::norm)
    }
}

/// Relative tolerance under which the constant patch counts as reaching t_LB.
pub const MINIMALITY_RTOL: f64 = 1e-9;

/// The minimal patch of `region` for `spec` by the lower-bound / constant-patch path.
pub fn minimal_patch(region: &LinearRegion, spec: &Spec) -> Result<MinimalPatch> {
    minimal_patch_with(region, spec, false)
}

/// [`minimal_patch`], optionally solving every spec row exactly (`exact_rows`) instead of
/// bounding the rows that cannot decide the norm; the report of worst violations per row is
/// exact then, and the patch is the same.
pub fn minimal_patch_with(region: &LinearRegion, spec: &Spec, exact_rows: bool) -> Result<MinimalPatch> {
    if spec.k != region.n_out {
        return invalid(format!("spec: has {} outputs, the network has {}", spec.k, region.n_out));
    }
    let rows = spec.rows();
    let mut sx = region.simplex();
    let mut worst_lower = vec![f64::NEG_INFINITY; rows];
    let mut worst_upper = vec![f64::NEG_INFINITY; rows];
    let mut witnesses = vec![0.0; rows * region.n_in];
    let m = region.rows();
    let mut duals = vec![0.0; rows * m];
    let mut lower_bound: f64 = 0.0;
    // Rounding slack of the certified bounds, in units of the patch norm: the part of the gap
    // between the norm and `lower_bound` that floating point cannot resolve.
    let mut rounding: f64 = 0.0;
    let mut lps = 0;
    let mut pivots = 0;
    // For label specs the patch norm is max_j v_j / 2, so a row whose certified upper bound is
    // already below the largest solved maximum needs no LP of its own: its bound keeps the patch
    // sound and cannot change the norm. Rows are taken in decreasing order of their value at
    // the anchor point (usually the worst first), and bounded from the current basis.
    // In low dimension warm-started LPs are cheaper than the cold bounding runs: bound only
    // when the region LPs are large.
    let skippable =
        !exact_rows && spec.label_target().is_some() && region.anchor.is_some() && region.n_in * region.rows() > 4096;
    let mut order: Vec<usize> = (0..rows).collect();
    let mut at_anchor = vec![f64::NEG_INFINITY; rows];
    if let Some(x0) = &region.anchor {
        let mut y = vec![0.0; region.n_out];
        region.affine(x0, &mut y);
        for j in 0..rows {
            at_anchor[j] = dot(spec.row(j), &y) - spec.q[j];
        }
        order.sort_by(|&a, &b| at_anchor[b].partial_cmp(&at_anchor[a]).unwrap_or(std::cmp::Ordering::Equal));
    }
    let mut best_upper = f64::NEG_INFINITY;
    for (pos, &j) in order.iter().enumerate() {
        let l1: f64 = spec.row(j).iter().map(|v| v.abs()).sum();
        if skippable && pos > 0 {
            // A cold dual simplex whose objective only decreases: stop as soon as this row is
            // certified not to exceed the largest maximum found so far.
            let mut c = vec![0.0; region.n_in];
            for i in 0..region.n_out {
                let w = spec.row(j)[i];
                if w != 0.0 {
                    axpy(w, &region.f[i * region.n_in..(i + 1) * region.n_in], &mut c);
                }
            }
            let constant = dot(spec.row(j), &region.e) - spec.q[j];
            let mut cold = sx.sibling();
            let outcome = cold
                .maximize_unless_below(&c, best_upper - constant)
                .map_err(lp_context(|| format!("bound of spec row {} over the region", j)))?;
            pivots += cold.pivots;
            match outcome {
                Err(bound) => {
                    worst_upper[j] = bound + constant;
                    if cold.stopped_duals().len() == m {
                        duals[j * m..(j + 1) * m].copy_from_slice(cold.stopped_duals());
                    }
                    worst_lower[j] = at_anchor[j];
                    // `skippable` implies an anchor.
                    if let Some(x0) = &region.anchor {
                        witnesses[j * region.n_in..(j + 1) * region.n_in].copy_from_slice(x0);
                    }
                }
                Ok(sol) => {
                    lps += 1;
                    if sol.duals.len() == m {
                        duals[j * m..(j + 1) * m].copy_from_slice(&sol.duals);
                    }
                    worst_lower[j] = sol.lower + constant;
                    worst_upper[j] = sol.upper + constant;
                    best_upper = best_upper.max(worst_upper[j]);
                    witnesses[j * region.n_in..(j + 1) * region.n_in].copy_from_slice(&sol.x);
                    if l1 > 0.0 {
                        lower_bound = lower_bound.max(worst_lower[j] / l1);
                        rounding = rounding.max(sol.margin / l1);
                    }
                }
            }
            continue;
        }
        let (sol, constant) = region
            .max_output(&mut sx, spec.row(j))
            .map_err(lp_context(|| format!("max of spec row {} over the region", j)))?;
        lps += 1;
        if sol.duals.len() == m {
            duals[j * m..(j + 1) * m].copy_from_slice(&sol.duals);
        }
        worst_lower[j] = sol.lower + constant - spec.q[j];
        worst_upper[j] = sol.upper + constant - spec.q[j];
        best_upper = best_upper.max(worst_upper[j]);
        witnesses[j * region.n_in..(j + 1) * region.n_in].copy_from_slice(&sol.x);
        if l1 > 0.0 {
            lower_bound = lower_bound.max(worst_lower[j] / l1);
            rounding = rounding.max(sol.margin / l1);
        }
    }
    pivots += sx.pivots;
    finish(spec, RowBounds { worst_lower, worst_upper, witnesses, duals, lower_bound, rounding }, lps, pivots)
}

/// Certified per-row bounds of a region's worst violations, and what minimality needs of them.
struct RowBounds {
    worst_lower: Vec<f64>,
    worst_upper: Vec<f64>,
    witnesses: Vec<f64>,
    /// The multipliers of each row's bound (rows × region rows; see [`MinimalPatch::duals`]).
    duals: Vec<f64>,
    /// t_LB = max_j worst_lower_j / ‖P_j‖₁.
    lower_bound: f64,
    /// Rounding slack of the certified bounds, in patch-norm units.
    rounding: f64,
}

/// The patch and its proof from certified row bounds (the same for every way of getting them).
fn finish(spec: &Spec, r: RowBounds, lps: usize, pivots: usize) -> Result<MinimalPatch> {
    let rows = spec.rows();
    let RowBounds { worst_lower, worst_upper, witnesses, duals, lower_bound, rounding } = r;
    if worst_upper.iter().all(|&v| v <= 0.0) {
        return Ok(MinimalPatch {
            proof: Proof::NotNeeded,
            lower_bound: 0.0,
            constant: Some(ConstantPatch { d: vec![0.0; spec.k] }),
            worst_lower,
            worst_upper,
            witnesses,
            duals,
            residual: 0.0,
            rounding,
            lps,
            pivots,
        });
    }
    let constant = constant_patch_for(spec, &worst_upper)?;
    let residual = match &constant {
        Some(p) => (0..rows).map(|j| dot(spec.row(j), &p.d) + worst_upper[j]).fold(f64::NEG_INFINITY, f64::max),
        None => f64::INFINITY,
    };
    let norm = constant.as_ref().map_or(f64::INFINITY, ConstantPatch::norm);
    // Proven minimal when the constant patch reaches t_LB up to a relative 1e-9 plus what the
    // rounding of the certified LP bounds can account for (both are reported to the caller).
    let proven = norm.is_finite() && norm <= lower_bound * (1.0 + MINIMALITY_RTOL) + 2.0 * rounding;
    Ok(MinimalPatch {
        proof: if proven { Proof::ConstantPatch } else { Proof::NeedsFullLp },
        lower_bound,
        constant,
        worst_lower,
        worst_upper,
        witnesses,
        duals,
        residual,
        rounding,
        lps,
        pivots,
    })
}

/// Certifies an answer to max c·x over `region` that another solver gave (the orchestration's
/// fallback when the core simplex fails): `x` a maximiser, `y` its row multipliers in that
/// solver's sign convention (one per region row). Nothing of it is trusted:
///
/// * `upper` is the weak-duality bound of λ = max(0, −y) or of λ = max(0, y), whichever is
///   smaller — valid for any λ >= 0, so a wrong sign convention only loosens it;
/// * `lower` is c·x at `x` clamped to the box when the rows hold there up to 1e-9 relative (of
///   the row data), else c·x at the region's anchor (a point of the region), else −∞;
/// * `infeasibility` is the violation at the witness returned in `x`.
pub fn certify_answer(region: &LinearRegion, c: &[f64], x: &[f64], y: &[f64]) -> Result<LpSolution> {
    let (n, m) = (region.n_in, region.rows());
    if c.len() != n || x.len() != n || y.len() != m {
        return invalid(format!(
            "certify answer: objective {}, point {} and {} multipliers for a region of {} inputs and {} rows",
            c.len(),
            x.len(),
            y.len(),
            n,
            m
        ));
    }
    if let Some(v) = c.iter().chain(x).chain(y).find(|v| !v.is_finite()) {
        return invalid(format!("certify answer: value {} is not finite", v));
    }
    let p = region.polytope();
    let mut best: Option<(f64, f64, Vec<f64>)> = None;
    for sign in [-1.0, 1.0] {
        let lambda: Vec<f64> = y.iter().map(|v| (sign * v).max(0.0)).collect();
        let (upper, margin) = dual_bound(&p, c, &lambda);
        if best.as_ref().map_or(true, |b| upper < b.0) {
            best = Some((upper, margin, lambda));
        }
    }
    let (upper, margin, duals) = best.expect("two candidates");
    let clamped: Vec<f64> = (0..n).map(|j| x[j].max(region.lower[j]).min(region.upper[j])).collect();
    let scale = region.b.iter().chain(&region.lower).chain(&region.upper).fold(1.0f64, |a, v| a.max(v.abs()));
    let violation = p.violation(&clamped);
    let (witness, infeasibility) = if violation <= 1e-9 * scale {
        (clamped, violation)
    } else if let Some(a) = &region.anchor {
        (a.clone(), p.violation(a))
    } else {
        (clamped, violation)
    };
    let lower = if infeasibility <= 1e-9 * scale { dot(c, &witness) } else { f64::NEG_INFINITY };
    Ok(LpSolution { lower, upper, margin, x: witness, duals, infeasibility, pivots: 0 })
}

/// The minimal patch of `region` for `spec` from another solver's answers to the spec rows' LPs
/// (`xs`: one maximiser per row, `rows × n_in`; `ys`: their row multipliers, `rows × region
/// rows`), each certified by [`certify_answer`]; then exactly as [`minimal_patch_with`] with
/// every row exact. A row whose bounds are further apart than 1e-6 relative is an `Error::Lp`
/// (the answer was not an optimum), so a patch from this path is proven like one from the core.
pub fn minimal_patch_from_answers(region: &LinearRegion, spec: &Spec, xs: &[f64], ys: &[f64]) -> Result<MinimalPatch> {
    if spec.k != region.n_out {
        return invalid(format!("spec: has {} outputs, the network has {}", spec.k, region.n_out));
    }
    let (n, m, rows) = (region.n_in, region.rows(), spec.rows());
    if xs.len() != rows * n || ys.len() != rows * m {
        return invalid(format!(
            "minimal patch from answers: {} point values and {} multipliers for {} spec rows ({} inputs, {} region rows)",
            xs.len(),
            ys.len(),
            rows,
            n,
            m
        ));
    }
    let mut r = RowBounds {
        worst_lower: vec![0.0; rows],
        worst_upper: vec![0.0; rows],
        witnesses: vec![0.0; rows * n],
        duals: vec![0.0; rows * m],
        lower_bound: 0.0,
        rounding: 0.0,
    };
    for j in 0..rows {
        let mut c = vec![0.0; n];
        for i in 0..region.n_out {
            let w = spec.row(j)[i];
            if w != 0.0 {
                axpy(w, &region.f[i * n..(i + 1) * n], &mut c);
            }
        }
        let constant = dot(spec.row(j), &region.e) - spec.q[j];
        let sol = certify_answer(region, &c, &xs[j * n..(j + 1) * n], &ys[j * m..(j + 1) * m])?;
        let scale = 1.0 + sol.upper.abs().max(if sol.lower.is_finite() { sol.lower.abs() } else { 0.0 });
        if !(sol.upper - sol.lower <= 1e-6 * scale + 2.0 * sol.margin) {
            return Err(Error::Lp(format!(
                "spec row {}: the answer is not a certified optimum (value {} at the point, bound {} from the multipliers)",
                j, sol.lower, sol.upper
            )));
        }
        r.worst_lower[j] = sol.lower + constant;
        r.worst_upper[j] = sol.upper + constant;
        r.witnesses[j * n..(j + 1) * n].copy_from_slice(&sol.x);
        if sol.duals.len() == m {
            r.duals[j * m..(j + 1) * m].copy_from_slice(&sol.duals);
        }
        let l1: f64 = spec.row(j).iter().map(|v| v.abs()).sum();
        if l1 > 0.0 {
            r.lower_bound = r.lower_bound.max(r.worst_lower[j] / l1);
            r.rounding = r.rounding.max(sol.margin / l1);
        }
    }
    finish(spec, r, rows, 0)
}

/// The minimal constant patch for given worst violations v_j = max P_j f − q_j over a set
/// (several regions' maxima combined by the caller): min ‖d‖_∞ s.t. P d <= −v. Closed form for
/// label specs; None when no constant patch exists.
pub fn constant_patch_for(spec: &Spec, v: &[f64]) -> Result<Option<ConstantPatch>> {
    if v.len() != spec.rows() || v.iter().any(|x| x.is_nan()) {
        return invalid(format!("constant patch: {} violations for {} spec rows", v.len(), spec.rows()));
    }
    if v.iter().all(|&x| x <= 0.0) {
        return Ok(Some(ConstantPatch { d: vec![0.0; spec.k] }));
    }
    match spec.label_target() {
        // Closed form for label specs: d = t·(e_y − Σ_{j≠y} e_j), t = max_j v_j / 2 (exact in
        // floating point: halving is exact and P_j d = −2t).
        Some(y) => {
            let t = v.iter().cloned().fold(0.0f64, f64::max) / 2.0;
            Ok(Some(ConstantPatch { d: (0..spec.k).map(|i| if i == y { t } else { -t }).collect() }))
        }
        None => constant_patch_lp(spec, v),
    }
}

/// min ‖d‖_∞ s.t. P d <= −v (v = certified worst violations), as a boxed LP in (d, t).
/// None when no constant patch exists.
///
/// The simplex's feasibility tolerance is relative to the variable bounds, so the LP is solved
/// with bounds as tight as possible: first |d| <= B for B = 10², 10⁴, 10⁶ × (1 + max |v|) until
/// the optimum t* is well inside, then again with |d_i| <= t*(1 + 10⁻⁹) (widened a little if t*
/// itself was not accurate). Every answer is checked: each row's residual P_j d + v_j must be
/// <= 10⁻¹²·(1 + max |v|). No answer passing that check means no constant patch (the caller then
/// takes the full LP, or another refinement).
fn constant_patch_lp(spec: &Spec, v: &[f64]) -> Result<Option<ConstantPatch>> {
    let rows = spec.rows();
    let scale = 1.0 + v.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let residual = |d: &[f64]| (0..rows).map(|j| dot(spec.row(j), d) + v[j]).fold(f64::NEG_INFINITY, f64::max);
    let tol = 1e-12 * scale;
    for big in [1e2 * scale, 1e4 * scale, 1e6 * scale] {
        let first = match constant_patch_lp_bounded(spec, v, big)? {
            Some(p) if p.norm() < 0.5 * big => p,
            _ => continue,
        };
        for (rel, abs) in [(1e-9, 1e-12), (1e-6, 1e-9), (1e-3, 1e-6)] {
            let bound = first.norm() * (1.0 + rel) + abs * scale;
            if let Some(cand) = constant_patch_lp_bounded(spec, v, bound)? {
                if residual(&cand.d) <= tol {
                    return Ok(Some(cand));
                }
            }
        }
        if residual(&first.d) <= tol {
            return Ok(Some(first));
        }
    }
    Ok(None)
}

/// min t s.t. P d <= −v, −t <= d_i <= t, |d_i| <= bound. None when infeasible.
fn constant_patch_lp_bounded(spec: &Spec, v: &[f64], bound: f64) -> Result<Option<ConstantPatch>> {
    let k = spec.k;
    let rows = spec.rows();
    let n = k + 1;
    let mut g = Vec::with_capacity((rows + 2 * k) * n);
    let mut h = Vec::with_capacity(rows + 2 * k);
    for j in 0..rows {
        g.extend_from_slice(spec.row(j));
        g.push(0.0);
        h.push(-v[j]);
    }
    for i in 0..k {
        for s in [1.0, -1.0] {
            let mut row = vec![0.0; n];
            row[i] = s;
            row[k] = -1.0;
            g.extend(row);
            h.push(0.0);
        }
    }
    let mut lower = vec![-bound; n];
    let upper = vec![bound; n];
    lower[k] = 0.0;
    let mut c = vec![0.0; n];
    c[k] = -1.0;
    let p = crate::lp::Polytope::new(n, &g, &h, &lower, &upper)?;
    match crate::lp::maximize(p, &c) {
        Ok(sol) => Ok(Some(ConstantPatch { d: sol.x[..k].to_vec() })),
        // Infeasible at this bound, or no answer: either way no constant patch is claimed (the
        // caller tries wider bounds, then the full LP, which is checked independently).
        Err(Error::Empty(_)) | Err(Error::Lp(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{random_network, Rng};

    #[test]
    fn label_spec_constant_patch_is_proven_minimal_and_sound() {
        let mut rng = Rng(21);
        let mut checked = 0;
        for _ in 0..40 {
            let net = random_network(&mut rng, &[3, 10, 10, 4]);
            let x0: Vec<f64> = (0..3).map(|_| rng.range(-1.0, 1.0)).collect();
            let r = LinearRegion::of_point(&net, &x0, &[-2.0; 3], &[2.0; 3]).unwrap();
            let mut y = vec![0.0; 4];
            net.forward(&x0, &mut y);
            // Pick a label that is wrong at x0.
            let best = (0..4).fold(0, |b, i| if y[i] > y[b] { i } else { b });
            let label = (best + 1) % 4;
            let spec = Spec::label(4, label, 0.0).unwrap();
            let mp = minimal_patch(&r, &spec).unwrap();
            assert_eq!(mp.proof, Proof::ConstantPatch);
            assert!(mp.norm() >= mp.lower_bound);
            assert!(mp.residual <= 1e-12, "residual {}", mp.residual);
            // Worst violations are attained at the witnesses (within LP tolerance).
            for j in 0..spec.rows() {
                let w = &mp.witnesses[j * 3..(j + 1) * 3];
                let mut yw = vec![0.0; 4];
                r.affine(w, &mut yw);
                let v = dot(spec.row(j), &yw) - spec.q[j];
                assert!((v - mp.worst_lower[j]).abs() < 1e-9 * (1.0 + v.abs()));
            }
            checked += 1;
        }
        assert_eq!(checked, 40);
    }

    #[test]
    fn bounded_rows_give_the_same_patch_as_exact_rows_and_valid_bounds() {
        let mut rng = Rng(33);
        let mut pruned_any = false;
        for _ in 0..25 {
            let net = random_network(&mut rng, &[40, 60, 60, 8]);
            let x0: Vec<f64> = (0..40).map(|_| rng.range(0.2, 0.8)).collect();
            let r = LinearRegion::of_point(&net, &x0, &[0.0; 40], &[1.0; 40]).unwrap();
            let mut y = vec![0.0; 8];
            net.forward(&x0, &mut y);
            let best = (0..8).fold(0, |b, i| if y[i] > y[b] { i } else { b });
            let spec = Spec::label(8, (best + 3) % 8, 0.0).unwrap();
            let fast = minimal_patch(&r, &spec).unwrap();
            let exact = minimal_patch_with(&r, &spec, true).unwrap();
            assert_eq!(exact.lps, spec.rows());
            pruned_any |= fast.lps < spec.rows();
            assert_eq!(fast.proof, exact.proof);
            assert!(
                (fast.norm() - exact.norm()).abs() <= 1e-9 * (1.0 + exact.norm()),
                "{} vs {}",
                fast.norm(),
                exact.norm()
            );
            assert!((fast.lower_bound - exact.lower_bound).abs() <= 1e-9 * (1.0 + exact.norm()));
            for j in 0..spec.rows() {
                // Every bound is a valid upper bound on the exact maximum, and the patch holds.
                assert!(
                    fast.worst_upper[j] >= exact.worst_lower[j] - 1e-9,
                    "row {}: bound {} below maximum {}",
                    j,
                    fast.worst_upper[j],
                    exact.worst_lower[j]
                );
                assert!(fast.worst_lower[j] <= exact.worst_upper[j] + 1e-9);
            }
            assert!(fast.residual <= 1e-12);
        }
        assert!(pruned_any, "no row was ever bounded without its own LP");
    }

    #[test]
    fn general_polytope_spec_uses_the_constant_patch_lp() {
        // Output box around a point: constant patch feasible only when F is (nearly) constant.
        let mut rng = Rng(4);
        let net = random_network(&mut rng, &[2, 6, 2]);
        let r = LinearRegion::of_point(&net, &[0.1, 0.2], &[-1.0; 2], &[1.0; 2]).unwrap();
        let rows = vec![1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0];
        let wide = Spec::new(2, rows.clone(), vec![100.0, 100.0, 100.0, 100.0]).unwrap();
        assert_eq!(minimal_patch(&r, &wide).unwrap().proof, Proof::NotNeeded);
        let narrow = Spec::new(2, rows, vec![0.01, 0.01, 0.01, 0.01]).unwrap();
        let mp = minimal_patch(&r, &narrow).unwrap();
        assert_eq!(mp.proof, Proof::NeedsFullLp);
    }

    #[test]
    fn constant_patches_for_polytope_specs_satisfy_every_row() {
        // Random polytope specs in 3 outputs and random worst violations: every patch returned
        // satisfies P d <= −v to 1e-12 (relative), and no patch of norm t(1 − 1e-6) exists.
        let mut rng = Rng(5);
        let mut feasible = 0;
        for _ in 0..300 {
            let rows = 3 + (rng.range(0.0, 4.0)) as usize;
            let p: Vec<f64> = (0..rows * 3).map(|_| rng.range(-1.0, 1.0)).collect();
            let spec = Spec::new(3, p, vec![0.0; rows]).unwrap();
            let v: Vec<f64> =
                (0..rows).map(|_| rng.range(-0.05, 0.05) * 10f64.powi(rng.range(0.0, 4.0) as i32 - 2)).collect();
            let scale = 1.0 + v.iter().fold(0.0f64, |a, x| a.max(x.abs()));
            if let Some(cp) = constant_patch_for(&spec, &v).unwrap() {
                let (d, t) = (&cp.d, cp.norm());
                feasible += 1;
                for j in 0..rows {
                    assert!(
                        dot(spec.row(j), d) + v[j] <= 1e-12 * scale,
                        "row {} misses by {}",
                        j,
                        dot(spec.row(j), d) + v[j]
                    );
                }
                if t > 1e-6 {
                    // Whatever the LP returns with |d| <= t(1 − 1e-6) misses some row by more
                    // than rounding.
                    let bound = t * (1.0 - 1e-6) - 1e-9 * scale;
                    if let Some(small) = constant_patch_lp_bounded(&spec, &v, bound).unwrap() {
                        let miss =
                            (0..rows).map(|j| dot(spec.row(j), &small.d) + v[j]).fold(f64::NEG_INFINITY, f64::max);
                        assert!(
                            miss > 1e-12 * scale,
                            "a patch of norm {} < {} exists (miss {})",
                            small.norm(),
                            t,
                            miss
                        );
                    }
                }
            }
        }
        assert!(feasible > 100, "{}", feasible);
    }

    /// The core simplex's own answers to every spec row of a region, as another solver would
    /// give them: maximisers and row multipliers (negated: a minimiser's sign convention).
    fn answers(r: &LinearRegion, spec: &Spec) -> (Vec<f64>, Vec<f64>) {
        let (n, m) = (r.n_in, r.rows());
        let mut xs = vec![0.0; spec.rows() * n];
        let mut ys = vec![0.0; spec.rows() * m];
        for j in 0..spec.rows() {
            let mut sx = r.simplex();
            let (sol, _) = r.max_output(&mut sx, spec.row(j)).unwrap();
            xs[j * n..(j + 1) * n].copy_from_slice(&sol.x);
            for i in 0..m {
                ys[j * m + i] = -sol.duals[i];
            }
        }
        (xs, ys)
    }

    #[test]
    fn answers_of_another_solver_give_the_same_proven_patch_and_tampered_ones_are_refused() {
        let mut rng = Rng(44);
        for t in 0..20 {
            let net = random_network(&mut rng, &[6, 16, 16, 4]);
            let x0: Vec<f64> = (0..6).map(|_| rng.range(-0.8, 0.8)).collect();
            let r = LinearRegion::of_point(&net, &x0, &[-1.0; 6], &[1.0; 6]).unwrap();
            let mut y = vec![0.0; 4];
            net.forward(&x0, &mut y);
            let best = (0..4).fold(0, |b, i| if y[i] > y[b] { i } else { b });
            let spec = Spec::label(4, (best + 1 + t % 3) % 4, 0.0).unwrap();
            let exact = minimal_patch_with(&r, &spec, true).unwrap();
            let (xs, ys) = answers(&r, &spec);
            let from = minimal_patch_from_answers(&r, &spec, &xs, &ys).unwrap();
            assert_eq!(from.proof, exact.proof, "case {}", t);
            assert!((from.norm() - exact.norm()).abs() <= 1e-9 * (1.0 + exact.norm()), "case {}", t);
            // Either sign convention of the multipliers certifies the same bounds.
            let flipped: Vec<f64> = ys.iter().map(|v| -v).collect();
            let again = minimal_patch_from_answers(&r, &spec, &xs, &flipped).unwrap();
            assert_eq!(again.worst_upper, from.worst_upper);
            for j in 0..spec.rows() {
                assert!(from.worst_upper[j] >= exact.worst_lower[j] - 1e-9, "case {} row {}", t, j);
            }
            // No multipliers: the box bound is far above the point's value, which is refused
            // rather than turned into a patch that is not proven.
            let zeros = vec![0.0; ys.len()];
            match minimal_patch_from_answers(&r, &spec, &xs, &zeros) {
                Err(Error::Lp(msg)) => assert!(msg.contains("not a certified optimum"), "{}", msg),
                Ok(mp) => {
                    // Only possible where the box alone bounds every row tightly.
                    assert_eq!(mp.proof, exact.proof);
                    assert!((mp.norm() - exact.norm()).abs() <= 1e-6 * (1.0 + exact.norm()));
                }
                Err(e) => panic!("{:?}", e),
            }
            // A point outside the region is replaced by the anchor, whose value is a lower bound
            // only: the gap to the certified bound refuses the answer unless the anchor is optimal.
            let far: Vec<f64> = xs.iter().map(|v| v + 5.0).collect();
            if let Ok(mp) = minimal_patch_from_answers(&r, &spec, &far, &ys) {
                assert!((mp.norm() - exact.norm()).abs() <= 1e-6 * (1.0 + exact.norm()));
            }
        }
    }

    #[test]
    fn a_certified_answer_bounds_the_true_maximum_from_both_sides() {
        let mut rng = Rng(45);
        let net = random_network(&mut rng, &[5, 12, 3]);
        let x0 = [0.1, -0.2, 0.3, 0.0, 0.2];
        let r = LinearRegion::of_point(&net, &x0, &[-1.0; 5], &[1.0; 5]).unwrap();
        for _ in 0..30 {
            let c: Vec<f64> = (0..5).map(|_| rng.normal()).collect();
            let sol = r.simplex().maximize(&c).unwrap();
            let y: Vec<f64> = sol.duals.iter().map(|v| -v).collect();
            let cert = certify_answer(&r, &c, &sol.x, &y).unwrap();
            assert!(cert.upper >= sol.lower - 1e-12 && cert.lower <= sol.upper + 1e-12);
            assert!(cert.upper - cert.lower <= 1e-9 * (1.0 + sol.upper.abs()));
            // Halved multipliers still give a valid (looser or equal) bound.
            let half: Vec<f64> = y.iter().map(|v| 0.5 * v).collect();
            assert!(certify_answer(&r, &c, &sol.x, &half).unwrap().upper >= sol.lower - 1e-12);
        }
    }
}

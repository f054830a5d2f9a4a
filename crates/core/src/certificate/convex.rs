//! The convexity tier for chains of constant patches (METHOD.md §4).
//!
//! On a region where every patch whose band reaches it is a constant chain patch, the output at x
//! is f(x) + Σ_i λ_i d_i with λ convex weights (Σ <= 1, the rest on "no patch") carried only by
//! patches whose band covers x, and every band lies in {A_i x <= b_i + r_i}. When the region's
//! own patch k covers it (its rows are region rows and the box gate is 1 on the region, both
//! checked) every patch before k has weight 0 and the weights of k and later patches sum to 1.
//! So P_j f̂(x) − q_j <= max over the candidates c of max over R ∩ band_c of P_j (F x + e + d_c) − q_j:
//! one LP per candidate and row, no splitting.
//!
//! When the region is relaxed (decision errors handed on by the enumeration) the own patch's
//! support is only >= 1 − δ on it, so up to δ of the weight may sit on "no patch" or on earlier
//! patches (the set E); the output's value is then a mix of the candidates' (weight >= 1 − δ) and
//! E's, which exceeds the candidates' bound by at most δ·(max_{c∈E} P_j d_c − min_{c>=k} P_j d_c)⁺
//! (f cancels), added to the bound.
//!
//! A union safe set: a convex mix of outputs lying in *different* pieces can leave the union, so
//! the tier only certifies with one piece p that every candidate satisfies (every row of p);
//! otherwise the exact pieces decide. A bound that fails here is not final either: the caller
//! certifies the region again by pieces when that is affordable.

use super::band::BandBox;
use super::chain::{own_chain_patch, tiling_cells};
use super::dual_hint::HintedRows;
use super::frame::{band_of, Frame};
use super::options::CertifyOptions;
use super::region_certificate::RegionCertificate;
use super::safe_set::SafeSet;
use super::target::Target;
use super::tolerance::row_rounding;
use crate::error::{Error, Result};
use crate::gate::BoxGate;
use crate::linalg::dot;
use crate::lp::{Polytope, Simplex};
use crate::patch::PatchNetwork;

pub(super) enum Convex {
    /// The convex bound (certified or not). Its first `exact_patches` patches are the candidates
    /// whose bound failed.
    Bound(RegionCertificate),
    /// Some relevant patch is affine (summed): these patches reach the region, and only the
    /// exact pieces can decide.
    NeedsPieces(Vec<usize>),
    NotApplicable,
}

pub(super) fn certify_convex(
    target: &Target,
    patches: &[PatchNetwork],
    box_gate: Option<&BoxGate>,
    band_boxes: &[Option<BandBox>],
    safe: &SafeSet,
    preferred: Option<usize>,
    opts: &CertifyOptions,
) -> Result<Convex> {
    let region = &target.region;
    let n = region.n_in;
    let k = region.n_out;
    if safe.k != k || patches.iter().any(|p| p.n_in() != n || p.n_out() != k) {
        return Ok(Convex::NotApplicable);
    }
    let mut frame = Frame::new(target, safe, box_gate, opts)?;
    let rows = safe.rows();
    let spec = &safe.all;
    // The own patch (or cells) stands for the region only where the box gate is 1 on all of it.
    let (own, delta) = match own_chain_patch(patches, &frame.own_rows).filter(|_| frame.in_gate) {
        Some((o, d)) => (Some(o), d),
        None => (None, 0.0),
    };
    // Without one covering patch, cells that tile the region play its part (their union has
    // g = 1 everywhere on it).
    let cells = if own.is_none() && frame.in_gate {
        tiling_cells(patches, &frame.own_rows, n, &frame.bp.lower, &frame.bp.upper)
    } else {
        Vec::new()
    };
    let first_own = own.or_else(|| cells.first().cloned());
    let mut later: Vec<usize> = Vec::new();
    let mut affine = false;
    // A later chain patch with P_j·d_i <= P_j·d_own on every row (<= 0 without an own patch;
    // <= the smallest over the cells with cells) cannot raise the bound of the own candidate (of
    // "no patch", of the cell whose support is 1 at x) anywhere in the region: it is left out,
    // with no LP (label specs in increasing order: every later patch).
    let reference: Vec<f64> = (0..rows)
        .map(|j| match own {
            Some(o) => dot(spec.row(j), patches[o].map.d()),
            None if !cells.is_empty() => {
                cells.iter().map(|&c| dot(spec.row(j), patches[c].map.d())).fold(f64::INFINITY, f64::min)
            }
            None => 0.0,
        })
        .collect();
    let dominated = |d: &[f64]| (0..rows).all(|j| dot(spec.row(j), d) <= reference[j]);
    let mut bounded: Vec<usize> = Vec::new();
    for (i, p) in patches.iter().enumerate() {
        let constant = p.map.constant();
        if Some(i) == own || (constant.is_some() && first_own.map_or(false, |o| i < o)) {
            continue;
        }
        if cells.contains(&i) {
            later.push(i);
            continue;
        }
        if !frame.may_reach(p, band_of(band_boxes, i)) {
            continue;
        }
        if constant.map_or(false, |c| dominated(&c.d)) {
            bounded.push(i);
            continue;
        }
        if !frame.reaches(p)? {
            continue;
        }
        affine |= constant.is_none();
        later.push(i);
    }
    if affine {
        return Ok(Convex::NeedsPieces(own.iter().chain(later.iter()).cloned().collect()));
    }
    // The leak of a relaxed own patch (module documentation), per row.
    let leak: Vec<f64> = match own.filter(|_| delta > 0.0) {
        None => vec![0.0; rows],
        Some(o) => (0..rows)
            .map(|j| {
                let pd = |i: usize| dot(spec.row(j), patches[i].map.d());
                let e_max = (0..o).filter(|&i| patches[i].map.is_constant()).map(pd).fold(0.0f64, f64::max);
                let m_min =
                    (o..patches.len()).filter(|&i| patches[i].map.is_constant()).map(pd).fold(f64::INFINITY, f64::min);
                (delta * (e_max - m_min)).max(0.0) * (1.0 + 1e-9)
            })
            .collect(),
    };
    let zero = vec![0.0; k];
    // Candidates: the own patch on the whole region (or no patch, unless cells tile it), then
    // each later patch (and cell) on the region's part of its relaxed support.
    let mut candidates: Vec<(Option<usize>, &[f64])> = Vec::new();
    if cells.is_empty() {
        candidates.push((own, own.map_or(&zero[..], |o| patches[o].map.d())));
    }
    candidates.extend(later.iter().map(|&i| (Some(i), patches[i].map.d())));
    // bounds[c·rows + j]: the proven bound of row j under candidate c; also its LP point.
    let mut bounds = vec![f64::NEG_INFINITY; candidates.len() * rows];
    let mut values = vec![f64::NEG_INFINITY; candidates.len() * rows];
    let mut points: Vec<Vec<f64>> = vec![Vec::new(); candidates.len() * rows];
    let mut tols = vec![0.0; candidates.len() * rows];
    let mut lps = 0;
    // The repair's multipliers (untrusted, `dual_hint.rs`), for the candidates bounded on the
    // region itself.
    let hinted = target.duals.as_ref().map(|h| (h, HintedRows::new(region, h)));
    for (ci, &(which, d)) in candidates.iter().enumerate() {
        // The own candidate (or "no patch") is bounded on the region itself: its prepared simplex,
        // warm from the frame's LPs. A later patch on the region ∩ its band: the band rows the
        // region does not already imply (`Frame::band_rows`), one buffer per candidate, freed
        // before the next.
        let band_sx = match which.filter(|&i| Some(i) != own) {
            Some(i) => {
                let (ba, bb) = frame.band_rows(&patches[i]);
                let bp = &frame.bp;
                let mut a = Vec::with_capacity(bp.a.len() + ba.len());
                a.extend_from_slice(&bp.a);
                a.extend_from_slice(&ba);
                drop(ba);
                let mut b = bp.b.clone();
                b.extend_from_slice(&bb);
                Some(Simplex::new(Polytope::new(n, &a, &b, &bp.lower, &bp.upper)?))
            }
            None => None,
        };
        // Per row: the constant with d, the row's rounding (the region map's is in frame.extra;
        // this one is the sum with d's row) and its tolerance — independent of the LP.
        let mut consts = Vec::with_capacity(rows);
        for j in 0..rows {
            let bj = &frame.base[j * (n + 1)..(j + 1) * (n + 1)];
            let constant = bj[n] + dot(spec.row(j), d);
            let rounding = row_rounding(&bj[..n], constant, n + k + 2, &frame.bp.lower, &frame.bp.upper);
            let t = frame.tolerance(opts, j, frame.rounding[j] + rounding);
            consts.push((constant, frame.extra[j] + rounding + leak[j], t));
        }
        let sx = match band_sx.as_ref() {
            Some(sx) => sx,
            None => &frame.bp.simplex,
        };
        let base = &frame.base;
        for (j, &(constant, added, t)) in consts.iter().enumerate() {
            let bj = &base[j * (n + 1)..(j + 1) * (n + 1)];
            // Each row by a cold dual simplex on the same polytope (no copy), which stops as soon
            // as its certified bound is below what the row's tolerance allows (a margin of a few
            // ulps keeps the sum with the constants below it): rows with slack cost a few pivots,
            // and only a tight or violated row is solved to its maximum (with its witness).
            let allowed = t - constant - added;
            let threshold = allowed - 8.0 * f64::EPSILON * (allowed.abs() + constant.abs() + added.abs());
            tols[ci * rows + j] = t;
            if let (None, Some((hint, at))) = (&band_sx, &hinted) {
                let (lo, hi) = (&frame.bp.lower, &frame.bp.upper);
                if let Some(bound) = at.bound(region, hint, j, &bj[..n], lo, hi).filter(|&b| b <= threshold) {
                    bounds[ci * rows + j] = bound + constant + added;
                    continue;
                }
            }
            lps += 1;
            match sx.sibling().maximize_unless_below(&bj[..n], threshold) {
                Ok(Err(bound)) => bounds[ci * rows + j] = bound + constant + added,
                Ok(Ok(sol)) => {
                    bounds[ci * rows + j] = sol.upper + constant + added;
                    values[ci * rows + j] = sol.lower + constant;
                    points[ci * rows + j] = sol.x;
                }
                Err(Error::Lp(_)) | Err(Error::Empty(_)) => return Ok(Convex::NotApplicable),
                Err(e) => return Err(e),
            }
        }
    }
    // The piece to certify with: the preferred one if every candidate satisfies it, else the
    // first that every candidate satisfies, else (not certified) the one closest to it.
    let excess = |p: usize| -> f64 {
        let mut worst = f64::NEG_INFINITY;
        for ci in 0..candidates.len() {
            for j in safe.piece_rows(p) {
                worst = worst.max(bounds[ci * rows + j] - tols[ci * rows + j]);
            }
        }
        worst
    };
    let order: Vec<usize> =
        preferred.into_iter().chain(0..safe.pieces.len()).filter(|&p| p < safe.pieces.len()).collect();
    let mut piece = order[0];
    let mut best = excess(piece);
    for &p in &order[1..] {
        if best <= 0.0 {
            break;
        }
        let e = excess(p);
        if e < best {
            best = e;
            piece = p;
        }
    }
    let mut cert = RegionCertificate::open(own.iter().chain(later.iter()).chain(bounded.iter()).cloned().collect(), 0);
    cert.pieces = candidates.len();
    cert.lps = lps + frame.lps;
    cert.spec_piece = if safe.is_union() { Some(piece) } else { None };
    for ci in 0..candidates.len() {
        for j in safe.piece_rows(piece) {
            let t = ci * rows + j;
            cert.record(j, bounds[t], values[t], &points[t], tols[t]);
        }
    }
    cert.note_scale(&frame.scale, frame.rounding.iter().cloned().fold(0.0, f64::max));
    cert.error_budget = cert.error_budget.max(target.budget.iter().cloned().fold(0.0, f64::max));
    cert.decide();
    // Patches: first the candidates whose bound fails (`exact_patches` of them), then the rest.
    let failing: Vec<usize> = (0..candidates.len())
        .filter(|&ci| safe.piece_rows(piece).any(|j| bounds[ci * rows + j] > tols[ci * rows + j]))
        .filter_map(|ci| candidates[ci].0)
        .collect();
    let rest: Vec<usize> = cert.patches.iter().cloned().filter(|p| !failing.contains(p)).collect();
    cert.exact_patches = failing.len();
    cert.patches = failing.into_iter().chain(rest).collect();
    Ok(Convex::Bound(cert))
}

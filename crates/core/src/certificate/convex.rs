//! The convexity tier for chains of constant patches (METHOD.md §4).
//!
//! On a region where every patch whose band reaches it is a constant chain patch, the output at x
//! is f(x) + Σ_i λ_i d_i with λ convex weights (Σ = 1 with an own patch, <= 1 with the rest on
//! "no patch") carried only by the own patch and the later patches whose band covers x, and
//! every band lies in {A_i x <= b_i + r_i}. So P_j f̂(x) − q_j <= max over those candidates c of
//! max over R ∩ band_c of P_j (F x + e + d_c) − q_j: one LP per candidate and row, no splitting.
//! A bound that fails here is not final: the caller certifies the region again by pieces when
//! that is affordable.

use super::band::BandBox;
use super::chain::{own_chain_patch, tiling_cells};
use super::frame::{band_of, Frame};
use super::options::CertifyOptions;
use super::region_certificate::RegionCertificate;
use super::tolerance::row_tolerance;
use crate::error::{Error, Result};
use crate::linalg::dot;
use crate::lp::{Polytope, Simplex};
use crate::patch::PatchNetwork;
use crate::region::LinearRegion;
use crate::spec::Spec;

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
    region: &LinearRegion,
    patches: &[PatchNetwork],
    band_boxes: &[Option<BandBox>],
    spec: &Spec,
    opts: &CertifyOptions,
) -> Result<Convex> {
    let n = region.n_in;
    let k = region.n_out;
    if spec.k != k || patches.iter().any(|p| p.n_in() != n || p.n_out() != k) {
        return Ok(Convex::NotApplicable);
    }
    let mut frame = Frame::new(region, spec)?;
    let own = own_chain_patch(patches, &frame.own_rows);
    // Without one covering patch, cells that tile the region play its part (their union has
    // g = 1 everywhere on it).
    let cells = if own.is_none() {
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
    let reference: Vec<f64> = (0..spec.rows())
        .map(|j| match own {
            Some(o) => dot(spec.row(j), patches[o].map.d()),
            None if !cells.is_empty() => {
                cells.iter().map(|&c| dot(spec.row(j), patches[c].map.d())).fold(f64::INFINITY, f64::min)
            }
            None => 0.0,
        })
        .collect();
    let dominated = |d: &[f64]| (0..spec.rows()).all(|j| dot(spec.row(j), d) <= reference[j]);
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
    let rows = spec.rows();
    let mut cert = RegionCertificate::open(own.iter().chain(later.iter()).chain(bounded.iter()).cloned().collect(), 0);
    let zero = vec![0.0; k];
    // Candidates: the own patch on the whole region (or no patch, unless cells tile it), then
    // each later patch (and cell) on the region's part of its relaxed support.
    let mut candidates: Vec<(Option<usize>, &[f64])> = Vec::new();
    if cells.is_empty() {
        candidates.push((own, own.map_or(&zero[..], |o| patches[o].map.d())));
    }
    candidates.extend(later.iter().map(|&i| (Some(i), patches[i].map.d())));
    let bp = &frame.bp;
    let base = &frame.base;
    let mut bounds = vec![f64::NEG_INFINITY; candidates.len()];
    for (ci, &(which, d)) in candidates.iter().enumerate() {
        let (mut a, mut b) = (bp.a.clone(), bp.b.clone());
        if let Some(i) = which.filter(|&i| Some(i) != own) {
            let s = &patches[i].support;
            a.extend_from_slice(&s.a);
            b.extend(s.b.iter().map(|v| v + s.radius));
        }
        let mut sx = Simplex::new(Polytope::new(n, &a, &b, &bp.lower, &bp.upper)?);
        cert.pieces += 1;
        for j in 0..rows {
            let bj = &base[j * (n + 1)..(j + 1) * (n + 1)];
            let constant = bj[n] + dot(spec.row(j), d);
            let sol = match sx.maximize(&bj[..n]) {
                Ok(sol) => sol,
                Err(Error::Lp(_)) | Err(Error::Empty(_)) => return Ok(Convex::NotApplicable),
                Err(e) => return Err(e),
            };
            cert.lps += 1;
            let bound = sol.upper + constant;
            bounds[ci] = bounds[ci].max(bound);
            let tolerance = row_tolerance(opts.rtol, &bj[..n], constant, &bj[..n], bj[n], &bp.lower, &bp.upper);
            cert.record(j, bound, sol.lower + constant, &sol.x, tolerance);
        }
    }
    cert.lps += frame.lps;
    cert.certified = cert.max_violation <= cert.tolerance;
    // Patches: first the candidates whose bound fails (`exact_patches` of them), then the rest.
    let tolerance = cert.tolerance;
    let failing: Vec<usize> =
        (0..candidates.len()).filter(|&ci| bounds[ci] > tolerance).filter_map(|ci| candidates[ci].0).collect();
    let rest: Vec<usize> = cert.patches.iter().cloned().filter(|p| !failing.contains(p)).collect();
    cert.exact_patches = failing.len();
    cert.patches = failing.into_iter().chain(rest).collect();
    Ok(Convex::Bound(cert))
}

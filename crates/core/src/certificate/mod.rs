//! Certificates of a finished repaired network (METHOD.md §5): an independent proof that the
//! safe set holds on a whole linear region of the original network, patches included, from the
//! saved parameters alone (weights, patches, gate, radii, supports, composition, order).
//!
//! On a region A the original network is affine, f(x) = F x + e (from the activation pattern,
//! not from anything the repair computed). Every patch network is a small ReLU network of x:
//!
//!   u_i = ReLU(γ s_i + 1),  v_i = ReLU(γ s_i),  s_i = b_i − a_i·x,  γ = 1/r
//!   g   = ReLU(Σ_i (u_i − v_i) − m + 1)          (with a box gate B: ReLU(Σ_i (u_i − v_i) + B − m))
//!   constant patch:  h = d·g
//!   affine patch:    h_o = ReLU(p_o + H_o g) − ReLU(p_o − H_o g) − H_o g,  p = C x + d
//!
//! So f̂ = f + Σ_B h_B restricted to A is a [`crate::ReluProgram`] (`builder.rs`). Patches whose
//! band cannot reach A (some support row has s_i <= −r on all of A's bounding box, so g_B = 0
//! there exactly) are left out (`band.rs`, `frame.rs`). Two tiers bound the spec rows:
//!
//! * the exact pieces (`pieces.rs`): the explorer splits A into pieces on which every remaining
//!   ReLU (box gate included) has a fixed state (LP decisions, see `explore.rs`), and on each
//!   piece every spec row P_j y − q_j is maximised by LP — for a union safe set, the union's
//!   violation, exactly (`union.rs`);
//! * the convexity bound of a chain of constant patches (`convex.rs`, METHOD.md §4): one LP per
//!   candidate patch and row, no splitting; it relies on the region's own patch (or cells that
//!   tile it) having support 1 on all of it, which is proven from the rows and the gate box,
//!   never assumed. When it fails and few patches reach the region, the exact pieces decide.
//!
//! Every bound adds the decision budgets and rounding (`tolerance.rs`), and a region handed on by
//! the enumeration with decision errors is certified relaxed (`target.rs`), so that no point of
//! the area is left out. A region is certified when every bound is <= its row's tolerance.

mod band;
mod builder;
mod certifier;
mod chain;
mod convex;
mod dual_hint;
mod frame;
mod options;
mod pieces;
mod region_certificate;
mod rows;
mod safe_set;
mod target;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hint;
#[cfg(test)]
mod tests_soundness;
mod tolerance;
mod union;

pub use band::{band_box, patch_reaches_box, BandBox};
pub use certifier::Certifier;
pub use options::CertifyOptions;
pub use region_certificate::{Reason, RegionCertificate};
pub use safe_set::{contradicting_rows, SafeSet};
pub use target::{DualHint, Target};

use crate::error::{Error, Result};
use crate::gate::BoxGate;
use crate::patch::PatchNetwork;
use crate::region::LinearRegion;
use crate::spec::Spec;
use convex::{certify_convex, Convex};
use pieces::certify_pieces;

/// In a chain, regions whose convex bound fails are certified by pieces only when at most this
/// many patches reach them (else the splitting is too costly and the convex result stands).
const EXACT_AFTER_CONVEX_PATCHES: usize = 6;
/// Piece budget of those exact certificates in a chain (the refinement then acts on the suspects).
const CHAIN_PIECE_BUDGET: usize = 1000;

/// Certifies `spec` on the linear region `region` of the original network for the repaired
/// network f + Σ patches (sum composition, no box gate, the region's map taken as exact).
pub fn certify_region(
    region: &LinearRegion,
    patches: &[PatchNetwork],
    spec: &Spec,
    opts: &CertifyOptions,
) -> Result<RegionCertificate> {
    let safe = SafeSet::convex(spec.clone());
    certify_target(&Target::exact(region.clone(), safe.rows()), patches, None, &[], &safe, None, opts)
}

/// [`certify_region`] for a [`Target`] (a region, possibly relaxed, with its budgets), patches
/// gated by a shared box indicator (`box_gate`, see [`BoxGate`]), with precomputed
/// [`band_box`]es of the patches (one per patch, or empty), a safe set that may be a union
/// (`preferred`: the piece tried first).
///
/// When the region fails with helpful patches bounded by 0, it is certified again with every
/// patch modelled exactly: that can only lower the bounds (neighbouring bands may be what makes
/// the spec hold) and its witness is a point of the real network.
pub fn certify_target(
    target: &Target,
    patches: &[PatchNetwork],
    box_gate: Option<&BoxGate>,
    band_boxes: &[Option<BandBox>],
    safe: &SafeSet,
    preferred: Option<usize>,
    opts: &CertifyOptions,
) -> Result<RegionCertificate> {
    opts.check()?;
    let pieces = |o: &CertifyOptions| certify_pieces(target, patches, box_gate, band_boxes, safe, o);
    if opts.chain && opts.bound_helpful {
        let small = CertifyOptions { max_pieces: opts.max_pieces.min(CHAIN_PIECE_BUDGET), ..*opts };
        match certify_convex(target, patches, box_gate, band_boxes, safe, preferred, opts)? {
            Convex::Bound(c) => {
                // `pieces` counts the candidates: the patches that reach the region.
                if c.certified || c.pieces > EXACT_AFTER_CONVEX_PATCHES {
                    return Ok(c);
                }
                // The convex bound is loose where the real weights avoid a bad patch (or where a
                // union's pieces hold at different points): decide by the exact pieces (which
                // also give a witness of the real network), within a small piece budget; past it
                // the convex result stands (its first `exact_patches` patches are the
                // candidates whose bound failed).
                return match pieces(&small) {
                    Err(Error::PieceLimit { .. }) => Ok(c),
                    other => other,
                };
            }
            Convex::NeedsPieces(relevant) => {
                // Affine patches reach the region: only the pieces can decide. With many patches,
                // or past the budget, the region is reported not certified (no bound), every
                // relevant patch a suspect for refinement.
                if relevant.len() <= EXACT_AFTER_CONVEX_PATCHES {
                    match pieces(&small) {
                        Err(Error::PieceLimit { .. }) => {}
                        other => return other,
                    }
                }
                return Ok(RegionCertificate::undecided(relevant, small.max_pieces, Reason::PieceLimit));
            }
            Convex::NotApplicable => {}
        }
    }
    let first = pieces(opts)?;
    if first.certified || !opts.bound_helpful || first.exact_patches == first.patches.len() {
        return Ok(first);
    }
    match pieces(&CertifyOptions { bound_helpful: false, ..*opts }) {
        Ok(mut second) => {
            second.lps += first.lps;
            Ok(second)
        }
        // Too many pieces when modelled exactly: the bounded result stands.
        Err(Error::PieceLimit { .. }) => Ok(first),
        Err(e) => Err(e),
    }
}

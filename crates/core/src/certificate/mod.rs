//! Certificates of a finished repaired network (METHOD.md §5): an independent proof that the
//! spec holds on a whole linear region of the original network, patches included.
//!
//! On a region A the original network is affine, f(x) = F x + e (from the activation pattern,
//! not from anything the repair computed). Every patch network is a small ReLU network of x:
//!
//!   u_i = ReLU(γ s_i + 1),  v_i = ReLU(γ s_i),  s_i = b_i − a_i·x,  γ = 1/r
//!   g   = ReLU(Σ_i (u_i − v_i) − m + 1)
//!   constant patch:  h = d·g
//!   affine patch:    h_o = ReLU(p_o + H_o g) − ReLU(p_o − H_o g) − H_o g,  p = C x + d
//!
//! So f̂ = f + Σ_B h_B restricted to A is a [`crate::ReluProgram`] (`builder.rs`). Patches whose
//! band cannot reach A (some support row has s_i <= −r on all of A's bounding box, so g_B = 0
//! there exactly) are left out (`band.rs`, `frame.rs`). Two tiers bound the spec rows:
//!
//! * the exact pieces (`pieces.rs`): the explorer splits A into pieces on which every remaining
//!   ReLU has a fixed state (LP decisions, see `explore.rs`), and on each piece every spec row
//!   P_j y − q_j is maximised by LP. The certified (weak-duality) upper bound, plus the decision
//!   error budget Σ_k S_jk err_k (S: Lipschitz bounds, err: how far a piece reaches across a
//!   hyperplane it was not split by, rounding only), is the proven bound on the violation over
//!   the piece;
//! * the convexity bound of a chain of constant patches (`convex.rs`, METHOD.md §4): one LP per
//!   candidate patch and row, no splitting; when it fails and few patches reach the region, the
//!   exact pieces decide.
//!
//! A region is certified when every bound is <= its tolerance (`tolerance.rs`).

mod band;
mod builder;
mod chain;
mod convex;
mod frame;
mod options;
mod pieces;
mod region_certificate;
mod rows;
#[cfg(test)]
mod tests;
mod tolerance;

pub use band::{band_box, patch_reaches_box, BandBox};
pub use options::CertifyOptions;
pub use region_certificate::RegionCertificate;
pub use tolerance::MAP_ROUNDING;

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
/// network f + Σ patches.
pub fn certify_region(
    region: &LinearRegion,
    patches: &[PatchNetwork],
    spec: &Spec,
    opts: &CertifyOptions,
) -> Result<RegionCertificate> {
    certify_region_with(region, patches, None, &[], spec, opts)
}

/// [`certify_region`] for patches gated by a shared box indicator (`box_gate`, see
/// [`BoxGate`]), with precomputed [`band_box`]es of the patches (one per patch, or empty): a
/// patch whose band box misses the region's bounding box is not relevant, without an LP.
///
/// When the region fails with helpful patches bounded by 0, it is certified again with every
/// patch modelled exactly: that can only lower the bounds (neighbouring bands may be what makes
/// the spec hold) and its witness is a point of the real network.
pub fn certify_region_with(
    region: &LinearRegion,
    patches: &[PatchNetwork],
    box_gate: Option<&BoxGate>,
    band_boxes: &[Option<BandBox>],
    spec: &Spec,
    opts: &CertifyOptions,
) -> Result<RegionCertificate> {
    opts.check()?;
    let pieces = |o: &CertifyOptions| certify_pieces(region, patches, box_gate, band_boxes, spec, o);
    if opts.chain && opts.bound_helpful {
        let small = CertifyOptions { max_pieces: opts.max_pieces.min(CHAIN_PIECE_BUDGET), ..*opts };
        match certify_convex(region, patches, band_boxes, spec, opts)? {
            Convex::Bound(c) => {
                // `pieces` counts the candidates: the patches that reach the region.
                if c.certified || c.pieces > EXACT_AFTER_CONVEX_PATCHES {
                    return Ok(c);
                }
                // The convex bound is loose where the real weights avoid a bad patch: decide by
                // the exact pieces (which also give a witness of the real network), within a small
                // piece budget; past it the convex result stands (its first `exact_patches`
                // patches are the candidates whose bound failed).
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
                return Ok(RegionCertificate::undecided(relevant, small.max_pieces));
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

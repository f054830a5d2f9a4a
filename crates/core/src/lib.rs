//! relu-repair-core: the numeric core of relu-repair (REASSURE, Fu & Li, ICLR 2022).
//!
//! Knows nothing about JavaScript or WebAssembly; `relu-repair-wasm` translates.
//! See `docs/METHOD.md` of the project for the mathematics. One concept per module:
//!
//! | module | concept |
//! |---|---|
//! | [`network`] | piecewise-linear networks as graphs of structured linear operators and ReLUs (dense chains one case), forward pass, activation patterns, their affine maps |
//! | [`bounds`] | sound bounds over a box (interval, symbolic, LP relaxation; rounding accounted) |
//! | [`region`] | a linear region (pattern ∩ box) and its local affine map |
//! | [`implied_rows`] | rows of a region implied by the box or a few other rows (local redundancy) |
//! | [`spec`] | output specifications Φ_out = {P y <= q} |
//! | [`minimal`] | the minimal patch of one region (lower bound, constant patch) |
//! | [`patch`] | patch networks: support network and constant / affine map |
//! | [`gate`] | the shared input-box indicator |
//! | [`repaired`] | the repaired network f̂ = f + patches (sum or chain) |
//! | [`reach`] | which patch bands can reach which points and regions (point-wise repair at scale) |
//! | [`polytope`] | bounded polytopes: tight boxes, Chebyshev centres |
//! | [`program`] | ReLU programs (networks and patched regions as neuron lists) |
//! | [`explore`] | the pieces of a program over a polytope (certified sign decisions) |
//! | [`enumerate`] | every linear region of a network in an area |
//! | [`certificate`] | the certificate of a repaired network on one region |
//! | [`verify`] | VNN-LIB properties by branch and bound over the input box |
//! | [`lp`] | the bounded-variable simplex |
//! | [`linalg`] | dense kernels (bit-identical SIMD and scalar) |
//! | [`error`] | one error type, one variant per kind of failure |

#![allow(
    // Index loops mirror the formulas (rows j, inputs i, outputs o over flat row-major arrays).
    clippy::needless_range_loop,
    // The numeric kernels take (matrix, rows, box, …) as plain slices, as their formulas do.
    clippy::too_many_arguments,
    // `!(a > b)` on floats is deliberate: it is also true when either is NaN.
    clippy::neg_cmp_op_on_partial_ord
)]

pub mod bounds;
pub mod certificate;
pub mod enumerate;
pub mod error;
pub mod explore;
pub mod gate;
pub mod implied_rows;
pub mod linalg;
pub mod lp;
pub mod minimal;
pub mod network;
pub mod patch;
pub mod polytope;
pub mod program;
pub mod reach;
pub mod region;
pub mod repaired;
pub mod spec;
pub mod verify;
pub mod window_rows;

pub use certificate::{
    band_box, certify_region, certify_target, contradicting_rows, BandBox, Certifier, CertifyOptions, Reason,
    RegionCertificate, SafeSet, Target,
};
pub use enumerate::{EnumerateOptions, RegionEnumerator, Step};
pub use error::{Error, Result};
pub use explore::{ExploreOptions, Explorer, Piece};
pub use gate::BoxGate;
pub use lp::{LpSolution, Polytope, Simplex};
pub use minimal::{constant_patch_for, minimal_patch, minimal_patch_with, MinimalPatch, Proof};
pub use network::{AvgPool, Conv, Dense, Gather, Graph, Layer, Network, Node, Op, Term, Window};
pub use patch::{slack_excess, AffinePatch, ConstantPatch, PatchMap, PatchNetwork, Support};
pub use polytope::{bounded_polytope, chebyshev, BoxedPolytope};
pub use program::{ProgramNeuron, ReluProgram};
pub use region::{LinearRegion, INPUT_ROW};
pub use repaired::RepairedNetwork;
pub use spec::Spec;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

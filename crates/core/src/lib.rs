//! relu-repair-core: the numeric core of relu-repair (REASSURE, Fu & Li, ICLR 2022).
//!
//! Knows nothing about JavaScript or WebAssembly; `relu-repair-wasm` translates.
//! See `docs/METHOD.md` of the project for the mathematics.

pub mod certificate;
pub mod enumerate;
pub mod error;
pub mod linalg;
pub mod lp;
pub mod network;
pub mod patch;
pub mod region;
pub mod repaired;

pub use certificate::{band_box, certify_region, certify_region_with, CertifyOptions, RegionCertificate};
pub use enumerate::{EnumerateOptions, Explorer, RegionEnumerator, ReluProgram, Step};
pub use error::{Error, Result};
pub use lp::{LpSolution, Polytope, Simplex};
pub use network::{Layer, Network};
pub use patch::{constant_patch_for, minimal_patch, MinimalPatch, PatchNetwork, Proof, Spec};
pub use region::{LinearRegion, INPUT_ROW};
pub use repaired::RepairedNetwork;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

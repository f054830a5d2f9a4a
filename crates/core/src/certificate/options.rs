//! Options of a region certificate.

use crate::error::{invalid, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CertifyOptions {
    /// Relative tolerance: without `tolerance`, row j is certified when its proven bound (rounding
    /// included) is <= rtol·(1 + V_j), V_j the scale of the row's values (see `tolerance.rs`).
    pub rtol: f64,
    /// Absolute tolerance: certified when every proven bound is <= this (overrides `rtol`).
    pub tolerance: Option<f64>,
    /// Decision slack in input units (0: split on every hyperplane the LP bounds cannot rule out).
    pub eps: f64,
    /// Give up with [`crate::Error::PieceLimit`] when one region needs more pieces than this.
    pub max_pieces: usize,
    /// Bound constant patches with P_j·d <= 0 on every row by 0 instead of modelling them
    /// (sound; far fewer pieces). `false` models every patch whose band reaches the region.
    pub bound_helpful: bool,
    /// The constant patches are composed as a chain in patch order (`RepairedNetwork::chain`).
    pub chain: bool,
}

impl Default for CertifyOptions {
    fn default() -> Self {
        CertifyOptions { rtol: 1e-9, tolerance: None, eps: 0.0, max_pieces: 100_000, bound_helpful: true, chain: false }
    }
}

impl CertifyOptions {
    pub(super) fn check(&self) -> Result<()> {
        if !(self.rtol.is_finite() && self.rtol >= 0.0) {
            return invalid(format!("certificate: relative tolerance {} must be finite and >= 0", self.rtol));
        }
        if let Some(t) = self.tolerance {
            if !(t.is_finite() && t >= 0.0) {
                return invalid(format!("certificate: tolerance {} must be finite and >= 0", t));
            }
        }
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return invalid(format!("certificate: eps {} must be finite and >= 0", self.eps));
        }
        Ok(())
    }
}

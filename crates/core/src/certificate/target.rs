//! What a certificate is about: a linear region of the original network, possibly relaxed by the
//! decision errors the enumeration handed on with it (`enumerate.rs`), with the price of those
//! errors and of the region map's rounding.
//!
//! The enumeration's piece P of pattern π may reach across a hyperplane it was not split by, by
//! at most err_k in pre-activation units (`explore.rs`). So P lies in the region's polytope with
//! neuron k's row relaxed by err_k/‖Z_k‖, and on P the network differs from π's affine map by at
//! most Σ_k S_jk err_k on spec row j. Certifying the relaxed region with that budget covers every
//! point of P as well as the exact region of π.

use crate::network::Network;
use crate::region::{LinearRegion, INPUT_ROW};

pub struct Target<'a> {
    /// The region, rows relaxed.
    pub region: LinearRegion,
    /// The unrelaxed right-hand sides (the ones a patch's support copies).
    pub original_b: Vec<f64>,
    /// Per region row: how far it is relaxed (0 for exact rows).
    pub relax: Vec<f64>,
    /// Per stacked spec row: the budget Σ_k S_jk err_k of the region's own decisions.
    pub budget: Vec<f64>,
    /// The original network, for the rounding of the region map (None: the map is taken as
    /// exact, as in unit tests of the tiers).
    pub network: Option<&'a Network>,
    /// Untrusted row multipliers for the spec rows' bounds over the region (see [`DualHint`]).
    pub duals: Option<DualHint<'a>>,
}

/// The repair's LP multipliers as an untrusted hint (METHOD.md §5.2): for stacked spec row j and
/// hinted neuron `neurons[t]`, `duals[j·L + t]` (L = neurons.len()) multiplies that neuron's row.
/// Whatever the numbers, the certificate only uses them through a weak-duality bound on rows it
/// computed itself (`certificate::hinted_bound`): entries that are not finite and > 0, or name
/// a neuron without a row in the region, count as 0.
#[derive(Clone, Copy)]
pub struct DualHint<'a> {
    pub neurons: &'a [u32],
    pub duals: &'a [f64],
}

impl<'a> Target<'a> {
    /// The region exactly, its map taken as exact.
    pub fn exact(region: LinearRegion, rows: usize) -> Target<'a> {
        let m = region.rows();
        Target {
            original_b: region.b.clone(),
            relax: vec![0.0; m],
            budget: vec![0.0; rows],
            region,
            network: None,
            duals: None,
        }
    }

    /// The region with its decision errors `slack` (per hidden neuron, pre-activation units):
    /// `sens[k·rows + j]` bounds spec row j's change per unit change of program neuron k's
    /// output, `relu[p]` is the program neuron of pattern position p.
    pub fn relaxed(
        network: &'a Network,
        mut region: LinearRegion,
        slack: &[f64],
        sens: &[f64],
        relu: &[usize],
        rows: usize,
    ) -> Target<'a> {
        let original_b = region.b.clone();
        let mut relax = vec![0.0; region.rows()];
        let mut budget = vec![0.0; rows];
        for (p, &err) in slack.iter().enumerate() {
            if !(err > 0.0) {
                continue;
            }
            for j in 0..rows {
                budget[j] += sens[relu[p] * rows + j] * err * (1.0 + 1e-9);
            }
        }
        for i in 0..region.rows() {
            let p = region.neuron[i];
            if p == INPUT_ROW {
                continue;
            }
            let err = slack.get(p as usize).cloned().unwrap_or(0.0);
            if err > 0.0 {
                relax[i] = err / region.norm[i] * (1.0 + 1e-9);
                region.b[i] = crate::bounds::rounding::add_up(region.b[i], relax[i]);
            }
        }
        Target { region, original_b, relax, budget, network: Some(network), duals: None }
    }

    pub fn relaxed_rows(&self) -> usize {
        self.relax.iter().filter(|&&r| r > 0.0).count()
    }
}

//! The ReLU program of the repaired network on one region: the region's affine map plus the
//! patch networks modelled exactly, as neurons of x (see the module docs of `certificate`).

use std::collections::HashMap;

use super::rows::{RowSet, RowSide};
use crate::gate::BoxGate;
use crate::linalg::dot;
use crate::patch::{ConstantPatch, PatchMap, PatchNetwork, Support};
use crate::program::{ProgramNeuron, ReluProgram};
use crate::region::LinearRegion;
use crate::spec::Spec;

pub(super) struct ProgramBuilder<'a> {
    neurons: Vec<ProgramNeuron>,
    own_rows: &'a RowSet,
    /// The neuron of the shared box indicator B, once added.
    gate: Option<usize>,
}

impl<'a> ProgramBuilder<'a> {
    pub(super) fn new(own_rows: &'a RowSet) -> ProgramBuilder<'a> {
        ProgramBuilder { neurons: Vec::new(), own_rows, gate: None }
    }

    /// Adds the shared box indicator
    /// B(x) = ReLU(Σ_j [clamp(γ(u_j − x_j) + 1) + clamp(γ(x_j − l_j) + 1)] − 2n + 1)
    /// (the support form with the 2n box faces as rows): every patch added after it is gated by it.
    pub(super) fn box_gate(&mut self, gate: &BoxGate) {
        let (a, b) = gate.faces();
        let n = gate.lower.len();
        // The same neurons as a constant patch with no outputs: its g is B.
        let support = Support::from_dense(n, a, b, gate.radius);
        let as_patch = PatchNetwork { support, map: PatchMap::Constant(ConstantPatch { d: Vec::new() }) };
        self.gate = Some(self.patch(&as_patch, true));
    }

    /// Appends the patch network `p` as ReLU neurons of x: first the u_i, then the v_i, then g
    /// (and the clamp pairs of an affine patch). Everything after the u's is gated by them:
    /// where some u_i = ReLU(γ s_i + 1) is 0, Σ_i (u_i − v_i) <= m − 1 (each term is a clamp to
    /// [0, 1] and this one is <= u_i = 0), so g = 0 and the patch adds exactly 0 whatever the
    /// other rows do. Where u_i is only decided 0 up to err (it is <= err), g <= err and the patch
    /// adds at most S_g·err, which the error budget S_u·err (S_u = S_g) already covers.
    ///
    /// With `emit` false a constant patch's g gets no outputs (a chain weight neuron carries d).
    /// Returns the index of g.
    pub(super) fn patch(&mut self, p: &PatchNetwork, emit: bool) -> usize {
        let s = &p.support;
        let neurons = &mut self.neurons;
        let gamma = 1.0 / s.radius;
        // Rows that are one of the region's own rows have s_i >= 0 on it: u_i − v_i = 1 exactly, so
        // they add 1 to the support sum and need no neurons. Rows that are the negation of one have
        // s_i <= 0: v_i = 0 exactly, only u_i remains. Known by construction, not by LP.
        let mut ones = 0usize;
        let mut live: Vec<(usize, bool)> = Vec::new();
        for i in 0..s.rows() {
            let side = self.own_rows.side(s.row(i), s.b[i]);
            if side == RowSide::Own(0.0) {
                ones += 1;
            } else if side == RowSide::Opposite {
                live.push((i, false));
            } else {
                // Other rows, and rows the region is relaxed across (no longer known to hold).
                live.push((i, true));
            }
        }
        let m = s.rows();
        let first = neurons.len();
        let mut gate: Vec<usize> = (first..first + live.len()).collect();
        // With a shared box gate B, g = ReLU(Σ_i (u_i − v_i) + B − m): B = 0 switches it off too.
        gate.extend(self.gate);
        let slope = |i: usize| -> Vec<f64> { s.row(i).iter().map(|v| -gamma * v).collect() };
        for &(i, _) in &live {
            neurons.push(ProgramNeuron {
                c: slope(i),
                c0: gamma * s.b[i] + 1.0,
                relu: true,
                ..ProgramNeuron::default()
            });
        }
        let mut inputs: Vec<(usize, f64)> = (0..live.len()).map(|t| (first + t, 1.0)).collect();
        for &(i, with_v) in &live {
            if with_v {
                inputs.push((neurons.len(), -1.0));
                neurons.push(ProgramNeuron {
                    c: slope(i),
                    c0: gamma * s.b[i],
                    relu: true,
                    gate: gate.clone(),
                    ..ProgramNeuron::default()
                });
            }
        }
        let g = neurons.len();
        // Σ over the rows of (u_i − v_i) − m + 1 (or + B − m with a box gate), the known rows
        // contributing exactly 1 each.
        let c0 = match self.gate {
            Some(b) => {
                inputs.push((b, 1.0));
                (ones as f64) - (m as f64)
            }
            None => (ones as f64) - (m as f64) + 1.0,
        };
        neurons.push(ProgramNeuron { c0, inputs, relu: true, gate: gate.clone(), ..ProgramNeuron::default() });
        match &p.map {
            PatchMap::Constant(cp) => {
                if emit {
                    neurons[g].outputs = nonzero_outputs(&cp.d);
                }
            }
            PatchMap::Affine(ap) => {
                let n = s.n_in;
                for o in 0..ap.d.len() {
                    let c = ap.c[o * n..(o + 1) * n].to_vec();
                    let h = ap.h[o];
                    let clamp = |c: Vec<f64>, weight: f64| ProgramNeuron {
                        c,
                        c0: ap.d[o],
                        inputs: vec![(g, weight * h)],
                        outputs: vec![(o, weight)],
                        relu: true,
                        gate: gate.clone(),
                        ..ProgramNeuron::default()
                    };
                    neurons.push(clamp(c.clone(), 1.0));
                    neurons.push(clamp(c, -1.0));
                    if h != 0.0 {
                        neurons[g].outputs.push((o, -h));
                    }
                }
            }
        }
        g
    }

    /// The chain weights w_i = ReLU(g_i − Σ_{l > i} w_l) of the constant patches `chain`
    /// ((patch index, its g neuron) in patch order), from the last one back; each carries its
    /// patch's d. Returns (w neuron, patch index) from the last patch back.
    pub(super) fn chain(&mut self, chain: &[(usize, usize)], patches: &[PatchNetwork]) -> Vec<(usize, usize)> {
        let neurons = &mut self.neurons;
        let mut later_w: Vec<usize> = Vec::new();
        let mut chain_w: Vec<(usize, usize)> = Vec::new();
        for &(i, g) in chain.iter().rev() {
            chain_w.push((neurons.len(), i));
            let mut inputs = vec![(g, 1.0)];
            inputs.extend(later_w.iter().map(|&w| (w, -1.0)));
            let mut gate = neurons[g].gate.clone();
            gate.push(g);
            later_w.push(neurons.len());
            neurons.push(ProgramNeuron {
                inputs,
                outputs: nonzero_outputs(patches[i].map.d()),
                relu: true,
                gate,
                ..ProgramNeuron::default()
            });
        }
        chain_w
    }

    pub(super) fn finish(self, region: &LinearRegion) -> ReluProgram {
        ReluProgram {
            n_in: region.n_in,
            n_out: region.n_out,
            neurons: self.neurons,
            f: region.f.clone(),
            e: region.e.clone(),
        }
    }
}

/// (output, d_o) for every non-zero entry of d.
fn nonzero_outputs(d: &[f64]) -> Vec<(usize, f64)> {
    (0..d.len()).filter(|&o| d[o] != 0.0).map(|o| (o, d[o])).collect()
}

/// Lipschitz bounds of the spec rows in the chain weights (w neuron → one bound per row).
///
/// The weights w_i are increments of a running maximum, which is 1-Lipschitz: an error δ in
/// w_i (or g_i) moves P_j out by at most (|P_j d_i| + max over earlier chain patches l of
/// |P_j d_l|)·δ — the change of U_i reaches the earlier weights only by shifting at most δ of
/// weight among them. The plain sum over consumers would double at every link.
pub(super) fn chain_sensitivities(
    chain_w: &[(usize, usize)],
    patches: &[PatchNetwork],
    spec: &Spec,
) -> HashMap<usize, Vec<f64>> {
    let rows = spec.rows();
    let mut sens = HashMap::new();
    let mut earlier_max = vec![0.0f64; rows];
    for &(wn, i) in chain_w.iter().rev() {
        let c: Vec<f64> = (0..rows).map(|j| dot(spec.row(j), patches[i].map.d()).abs()).collect();
        sens.insert(wn, (0..rows).map(|j| c[j] + earlier_max[j]).collect());
        for j in 0..rows {
            earlier_max[j] = earlier_max[j].max(c[j]);
        }
    }
    sens
}

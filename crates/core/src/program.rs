//! ReLU programs: a list of neurons in topological order, each pre-activation affine in the input
//! x and in the outputs of earlier neurons. A network is one (neurons layer by layer), and so is
//! the part of a repaired network that matters on one linear region (its affine map plus the patch
//! networks whose bands reach it; see `certificate/builder.rs`). On a cell on which the states of
//! neurons 0..k−1 are fixed, every earlier output is affine in x, so neuron k's pre-activation z_k
//! is affine in x too (see `explore.rs`).

use crate::network::Network;

/// One neuron of a [`ReluProgram`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProgramNeuron {
    /// Weights on the program input x (length n_in), or empty for none.
    pub c: Vec<f64>,
    pub c0: f64,
    /// Weights on the outputs of earlier neurons: (neuron index, weight).
    pub inputs: Vec<(usize, f64)>,
    /// Contribution of this neuron's output to the program outputs: (output index, weight).
    pub outputs: Vec<(usize, f64)>,
    /// false: a linear neuron (identity), which needs no decision.
    pub relu: bool,
    /// Earlier ReLU neurons that switch this one off: when any of them is inactive on a cell,
    /// this neuron is set inactive without a decision. Only sound when the program's outputs do
    /// not depend on this neuron in that case (patch networks: once one support row has
    /// γ s_i + 1 <= 0 the support g is 0 whatever the other rows do; see `certificate/builder.rs`).
    pub gate: Vec<usize>,
    /// State known from outside the LPs (a proof by construction, e.g. a patch row that is one of
    /// the region's own rows): used without a decision, error 0.
    pub known: Option<u8>,
    /// Extra decision slack in pre-activation units: a cell reaching at most this far across
    /// the hyperplane is not split (the reach is charged as the decision's error).
    pub slack: f64,
}

/// y(x) = F x + e + Σ_k post_k · out_k, with post_k = ReLU(z_k) (or z_k for linear neurons).
#[derive(Debug, Clone, PartialEq)]
pub struct ReluProgram {
    pub n_in: usize,
    pub n_out: usize,
    pub neurons: Vec<ProgramNeuron>,
    /// Direct affine part of the outputs: `n_out × n_in` row-major, and the offset.
    pub f: Vec<f64>,
    pub e: Vec<f64>,
}

impl ReluProgram {
    /// The network as a program: hidden neurons layer by layer, in pattern order for ReLU layers.
    pub fn from_network(net: &Network) -> ReluProgram {
        let n = net.n_in();
        let k = net.n_out();
        let mut neurons: Vec<ProgramNeuron> = Vec::with_capacity(net.layers.iter().map(|l| l.n_out).sum());
        let mut prev: Option<Vec<usize>> = None;
        let mut f = vec![0.0; k * n];
        let mut e = vec![0.0; k];
        let layers = net.layers.len();
        for (li, layer) in net.layers.iter().enumerate() {
            let last = li + 1 == layers;
            let (ni, no) = (layer.n_in, layer.n_out);
            if last && !layer.relu {
                e.copy_from_slice(&layer.b);
                match &prev {
                    None => f.copy_from_slice(&layer.w),
                    Some(idx) => {
                        for o in 0..no {
                            for j in 0..ni {
                                let w = layer.w[o * ni + j];
                                if w != 0.0 {
                                    neurons[idx[j]].outputs.push((o, w));
                                }
                            }
                        }
                    }
                }
                break;
            }
            let mut cur = Vec::with_capacity(no);
            for o in 0..no {
                let wrow = &layer.w[o * ni..(o + 1) * ni];
                let (c, inputs) = match &prev {
                    None => (wrow.to_vec(), Vec::new()),
                    Some(idx) => (Vec::new(), (0..ni).filter(|&j| wrow[j] != 0.0).map(|j| (idx[j], wrow[j])).collect()),
                };
                neurons.push(ProgramNeuron { c, c0: layer.b[o], inputs, relu: layer.relu, ..ProgramNeuron::default() });
                cur.push(neurons.len() - 1);
            }
            if last {
                for (o, &id) in cur.iter().enumerate() {
                    neurons[id].outputs.push((o, 1.0));
                }
            }
            prev = Some(cur);
        }
        ReluProgram { n_in: n, n_out: k, neurons, f, e }
    }

    /// Lipschitz bounds of the linear output functionals w_j·y (`w` is `rows × n_out`) in the
    /// output of each neuron, holding x fixed: S[k·rows + j] = |w_j·out_k| + Σ_{l reads k} |w_lk| S_l,j.
    pub fn sensitivities(&self, w: &[f64], rows: usize) -> Vec<f64> {
        self.sensitivities_with(w, rows, &|_, _| None)
    }

    /// [`ReluProgram::sensitivities`] with some neurons' bounds given (`fixed(k, j)`, a proven
    /// Lipschitz bound of row j w.r.t. neuron k's output): used as is for that neuron and
    /// propagated to its inputs, instead of the sum over its consumers.
    pub fn sensitivities_with(&self, w: &[f64], rows: usize, fixed: &dyn Fn(usize, usize) -> Option<f64>) -> Vec<f64> {
        let nn = self.neurons.len();
        let mut s = vec![0.0; nn * rows];
        for (k, neuron) in self.neurons.iter().enumerate() {
            for j in 0..rows {
                let v: f64 = neuron.outputs.iter().map(|&(o, wt)| w[j * self.n_out + o] * wt).sum();
                s[k * rows + j] = v.abs();
            }
        }
        for l in (0..nn).rev() {
            for j in 0..rows {
                if let Some(v) = fixed(l, j) {
                    s[l * rows + j] = v;
                }
            }
            for &(k, wt) in &self.neurons[l].inputs {
                for j in 0..rows {
                    s[k * rows + j] += wt.abs() * s[l * rows + j];
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::dot;
    use crate::network::tests::{random_network, Rng};

    /// The program's outputs at x, with `bump` added to the output of neuron `bumped`.
    fn run(p: &ReluProgram, x: &[f64], bumped: usize, bump: f64) -> Vec<f64> {
        let mut post = vec![0.0; p.neurons.len()];
        let mut y = p.e.clone();
        for o in 0..p.n_out {
            y[o] += dot(&p.f[o * p.n_in..(o + 1) * p.n_in], x);
        }
        for (k, nr) in p.neurons.iter().enumerate() {
            let mut z = nr.c0 + if nr.c.is_empty() { 0.0 } else { dot(&nr.c, x) };
            for &(l, w) in &nr.inputs {
                z += w * post[l];
            }
            post[k] = if nr.relu { z.max(0.0) } else { z } + if k == bumped { bump } else { 0.0 };
            for &(o, w) in &nr.outputs {
                y[o] += w * post[k];
            }
        }
        y
    }

    #[test]
    fn program_of_a_network_computes_the_network() {
        let mut rng = Rng(2);
        let net = random_network(&mut rng, &[3, 7, 6, 4]);
        let p = ReluProgram::from_network(&net);
        assert_eq!(p.neurons.len(), 13);
        for _ in 0..50 {
            let x: Vec<f64> = (0..3).map(|_| rng.range(-2.0, 2.0)).collect();
            let y = run(&p, &x, usize::MAX, 0.0);
            let mut want = vec![0.0; 4];
            net.forward(&x, &mut want);
            for o in 0..4 {
                assert!((y[o] - want[o]).abs() < 1e-12 * (1.0 + want[o].abs()));
            }
        }
    }

    #[test]
    fn sensitivities_bound_the_effect_of_a_neuron() {
        let mut rng = Rng(44);
        let net = random_network(&mut rng, &[2, 5, 5, 3]);
        let p = ReluProgram::from_network(&net);
        let w = [1.0, -1.0, 0.0];
        let s = p.sensitivities(&w, 1);
        // Perturb the output of neuron k by delta and propagate: the change of w·y is <= S_k delta.
        for k in 0..p.neurons.len() {
            for _ in 0..20 {
                let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
                let eval = |bump: f64| {
                    let y = run(&p, &x, k, bump);
                    y[0] - y[1]
                };
                let d = (eval(0.3) - eval(0.0)).abs();
                assert!(d <= s[k] * 0.3 + 1e-12, "neuron {}: change {} > bound {}", k, d, s[k] * 0.3);
            }
        }
    }
}

//! ReLU programs: a list of neurons in topological order, each pre-activation affine in the input
//! x and in the outputs of earlier neurons. A network is one (neurons node by node), and so is
//! the part of a repaired network that matters on one linear region (its affine map plus the patch
//! networks whose bands reach it; see `certificate/builder.rs`). On a cell on which the states of
//! neurons 0..k−1 are fixed, every earlier output is affine in x, so neuron k's pre-activation z_k
//! is affine in x too (see `explore.rs`).

use crate::network::{Network, Node, Op};

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
    /// The network as a program: its neurons in node order, element order. Every ReLU element is
    /// a ReLU neuron (in pattern order); a linear node that is not the output is folded into its
    /// readers when every term is an index map or a scaling (one entry per row: max lowering,
    /// concatenation, padding), else it becomes linear neurons (a dense chain's linear hidden
    /// layers, materialised pools). Each neuron reads the input (a dense `c`, when it does) and
    /// earlier neurons sparsely: one input per structural entry of its operators. The output
    /// node's terms become the neurons' `outputs` and `f`, `e`. For a dense chain this is the
    /// program of its layers, as the dense-layer code built it.
    pub fn from_network(net: &Network) -> ReluProgram {
        let g = net.graph();
        let n = g.n_in;
        let k_out = net.n_out();
        let last = net.last_uses();
        let out = g.nodes.len() - 1;
        let mut neurons: Vec<ProgramNeuron> = Vec::new();
        let mut values: Vec<ValueExpr> = Vec::with_capacity(g.nodes.len() + 1);
        values.push(ValueExpr::Input);
        let mut f = vec![0.0; k_out * n];
        let mut e = vec![0.0; k_out];
        for (k, node) in g.nodes.iter().enumerate() {
            let m = node.size();
            if k == out && !node.relu {
                for o in 0..m {
                    let row = element(node, o, &values, n);
                    e[o] = row.c0;
                    if let Some(c) = row.c {
                        f[o * n..(o + 1) * n].copy_from_slice(&c);
                    }
                    for (l, w) in row.inputs {
                        neurons[l].outputs.push((o, w));
                    }
                }
                break;
            }
            let fold = !node.relu && node.terms.iter().all(|t| t.op.is_selection());
            let value = if fold {
                ValueExpr::Folded((0..m).map(|i| element(node, i, &values, n).into_expr()).collect())
            } else {
                let mut idx = Vec::with_capacity(m);
                for i in 0..m {
                    let row = element(node, i, &values, n);
                    neurons.push(ProgramNeuron {
                        c: row.c.unwrap_or_default(),
                        c0: row.c0,
                        inputs: row.inputs,
                        relu: node.relu,
                        ..ProgramNeuron::default()
                    });
                    idx.push(neurons.len() - 1);
                }
                if k == out {
                    for (o, &id) in idx.iter().enumerate() {
                        neurons[id].outputs.push((o, 1.0));
                    }
                }
                ValueExpr::Neurons(idx)
            };
            values.push(value);
            for t in &node.terms {
                if t.from > 0 && last[t.from] == k {
                    values[t.from] = ValueExpr::Released;
                }
            }
        }
        ReluProgram { n_in: n, n_out: k_out, neurons, f, e }
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

/// A graph value as seen by the program: the input, neurons (one per element), or affine
/// expressions in x and earlier neurons (a folded linear node).
enum ValueExpr {
    Input,
    Neurons(Vec<usize>),
    Folded(Vec<Expr>),
    Released,
}

/// One element of a folded value: Σ x_j a_j + Σ post_l w_l + c0.
struct Expr {
    x: Vec<(usize, f64)>,
    neurons: Vec<(usize, f64)>,
    c0: f64,
}

/// One element of a node as a neuron's pre-activation: a dense input part (when it reads the
/// input), sparse neuron inputs (merged, in neuron order) and a constant.
struct Row {
    c: Option<Vec<f64>>,
    inputs: Vec<(usize, f64)>,
    c0: f64,
}

impl Row {
    fn into_expr(self) -> Expr {
        let x = match self.c {
            Some(c) => c.iter().enumerate().filter(|(_, &v)| v != 0.0).map(|(j, &v)| (j, v)).collect(),
            None => Vec::new(),
        };
        Expr { x, neurons: self.inputs, c0: self.c0 }
    }
}

/// Element i of `node`: bias + Σ_t ±(A_t row i)·(value of t's source). A dense row reading the
/// input is copied (as the dense-layer code did); zero weights add nothing.
fn element(node: &Node, i: usize, values: &[ValueExpr], n: usize) -> Row {
    let mut c: Option<Vec<f64>> = None;
    let mut inputs: Vec<(usize, f64)> = Vec::new();
    let mut c0 = node.bias[i];
    for (t, term) in node.terms.iter().enumerate() {
        let s = if term.negate { -1.0 } else { 1.0 };
        match &values[term.from] {
            ValueExpr::Input => match &term.op {
                Op::Dense(d) if t == 0 && !term.negate => c = Some(d.w[i * d.n_in..(i + 1) * d.n_in].to_vec()),
                op => {
                    let cv = c.get_or_insert_with(|| vec![0.0; n]);
                    op.for_each_in_row(i, |j, w| {
                        if w != 0.0 {
                            cv[j] += s * w;
                        }
                    });
                }
            },
            ValueExpr::Neurons(idx) => term.op.for_each_in_row(i, |j, w| {
                if w != 0.0 {
                    inputs.push((idx[j], s * w));
                }
            }),
            ValueExpr::Folded(exprs) => term.op.for_each_in_row(i, |j, w| {
                if w == 0.0 {
                    return;
                }
                let ex = &exprs[j];
                let sw = s * w;
                if !ex.x.is_empty() {
                    let cv = c.get_or_insert_with(|| vec![0.0; n]);
                    for &(xj, a) in &ex.x {
                        cv[xj] += sw * a;
                    }
                }
                inputs.extend(ex.neurons.iter().map(|&(l, a)| (l, sw * a)));
                if ex.c0 != 0.0 {
                    c0 += sw * ex.c0;
                }
            }),
            ValueExpr::Released => unreachable!("a value is released only after its last reader"),
        }
    }
    // One input per neuron, in neuron order (a dense row's inputs already are).
    inputs.sort_by_key(|&(l, _)| l);
    let mut merged: Vec<(usize, f64)> = Vec::with_capacity(inputs.len());
    for (l, w) in inputs {
        match merged.last_mut() {
            Some(last) if last.0 == l => last.1 += w,
            _ => merged.push((l, w)),
        }
    }
    Row { c, inputs: merged, c0 }
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
    fn program_of_a_graph_computes_the_graph() {
        let mut rng = Rng(8);
        for _ in 0..4 {
            let net = crate::network::tests::random_graph(&mut rng);
            let p = ReluProgram::from_network(&net);
            let relu = p.neurons.iter().filter(|nr| nr.relu).count();
            assert_eq!(relu, net.hidden_count());
            // The folded max node has no neurons; the pooling node is linear neurons.
            assert_eq!(p.neurons.len(), net.hidden_count() + 36);
            for _ in 0..20 {
                let x: Vec<f64> = (0..net.n_in()).map(|_| rng.normal()).collect();
                let y = run(&p, &x, usize::MAX, 0.0);
                let mut want = vec![0.0; 3];
                net.forward(&x, &mut want);
                for o in 0..3 {
                    assert!((y[o] - want[o]).abs() < 1e-10 * (1.0 + want[o].abs()), "{} vs {}", y[o], want[o]);
                }
                // Pattern order: the program's ReLU neurons in order are the pattern's bits.
                let mut post = vec![0.0; p.neurons.len()];
                let mut bits = Vec::new();
                for (k, nr) in p.neurons.iter().enumerate() {
                    let mut z = nr.c0 + if nr.c.is_empty() { 0.0 } else { dot(&nr.c, &x) };
                    for &(l, w) in &nr.inputs {
                        z += w * post[l];
                    }
                    if nr.relu {
                        bits.push(if z >= 0.0 { 1u8 } else { 0 });
                    }
                    post[k] = if nr.relu { z.max(0.0) } else { z };
                }
                let pat = net.pattern(&x);
                assert_eq!(bits, pat);
            }
        }
    }

    /// 2 inputs: a ReLU layer, a residual ReLU node, the max of its element pairs (lowered to
    /// ReLUs), a concatenation of that max with the first layer, a dense output.
    fn small_residual_graph(rng: &mut Rng) -> Network {
        use crate::network::{Dense, Gather, Graph, Term};
        let dense = |rng: &mut Rng, n_in: usize, n_out: usize| {
            Op::Dense(Dense { n_in, n_out, w: (0..n_in * n_out).map(|_| rng.normal()).collect() })
        };
        let t = |from: usize, op: Op, negate: bool| Term { from, op, negate };
        let gather = |n_in: usize, index: Vec<u32>| Op::Gather(Gather { n_in, index });
        let bias = |rng: &mut Rng, n: usize| (0..n).map(|_| rng.normal() * 0.3).collect::<Vec<f64>>();
        let nodes = vec![
            Node { terms: vec![t(0, dense(rng, 2, 6), false)], bias: bias(rng, 6), relu: true },
            Node {
                terms: vec![t(1, dense(rng, 6, 6), false), t(1, Op::Identity(6), false)],
                bias: bias(rng, 6),
                relu: true,
            },
            Node {
                terms: vec![t(2, gather(6, vec![1, 3, 5]), false), t(2, gather(6, vec![0, 2, 4]), true)],
                bias: vec![0.0; 3],
                relu: true,
            },
            Node {
                terms: vec![t(2, gather(6, vec![0, 2, 4]), false), t(3, Op::Identity(3), false)],
                bias: vec![0.0; 3],
                relu: false,
            },
            Node {
                terms: vec![
                    t(4, gather(3, vec![0, 1, 2, u32::MAX, u32::MAX, u32::MAX, u32::MAX, u32::MAX, u32::MAX]), false),
                    t(1, gather(6, vec![u32::MAX, u32::MAX, u32::MAX, 0, 1, 2, 3, 4, 5]), false),
                ],
                bias: vec![0.0; 9],
                relu: false,
            },
            Node { terms: vec![t(5, dense(rng, 9, 2), false)], bias: bias(rng, 2), relu: false },
        ];
        Network::from_graph(Graph { n_in: 2, nodes }).unwrap()
    }

    #[test]
    fn regions_of_a_graph_are_enumerated() {
        use crate::enumerate::{EnumerateOptions, RegionEnumerator, Step};
        use crate::region::LinearRegion;
        let mut rng = Rng(31);
        let net = small_residual_graph(&mut rng);
        let p = ReluProgram::from_network(&net);
        // Both linear nodes (max and concatenation) are folded away.
        assert_eq!(p.neurons.len(), net.hidden_count());
        let (lo, hi) = ([-2.0, -2.0], [2.0, 2.0]);
        let opts = EnumerateOptions { eps: 1e-9, min_radius: 1e-9, max_regions: 10_000 };
        let mut en = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts).unwrap();
        assert_eq!(en.run().unwrap(), Step::Done);
        let h = net.hidden_count();
        assert!(en.count() > 5);
        let pats: Vec<Vec<u8>> = (0..en.count()).map(|r| en.patterns[r * h..(r + 1) * h].to_vec()).collect();
        for (r, pat) in pats.iter().enumerate() {
            let c = &en.centres[r * 2..(r + 1) * 2];
            assert_eq!(&net.pattern(c), pat);
            let reg = LinearRegion::of_pattern(&net, pat.clone(), &lo, &hi).unwrap();
            assert!(reg.violation(c) <= 0.0);
        }
        for _ in 0..3000 {
            let x = [rng.range(-2.0, 2.0), rng.range(-2.0, 2.0)];
            assert!(pats.contains(&net.pattern(&x)), "{:?} lies in no enumerated region", x);
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

//! Piecewise-linear networks as graphs (`graph.rs`) of structured linear operators (`op.rs`:
//! dense, sparse, convolution, average pooling, scaling, index maps) and ReLUs. A chain of dense
//! layers (`layer.rs`) is one such graph; for it every result is bit for bit that of the dense-layer
//! code this module replaced, and [`Network::dense_layers`] gives the layers back — unless a layer
//! is stored sparse (`sparse.rs`: forward passes keep the dense bits; it is then a graph network).
//!
//! | module | concept |
//! |---|---|
//! | `graph` | nodes `v = relu?(Σ ±A v_src + bias)`, their checks and value lifetimes |
//! | `op` | the operators and their kernels (forward, transpose, |A|, rows, Jacobian blocks) |
//! | `sparse` | mostly-zero dense weights stored by rows (CSR), with the dense operator's bits |
//! | `conv`, `pool`, `window` | convolution (and its transpose), average pooling, their windows |
//! | `layer` | dense layers and chains |
//! | `linearise` | the affine maps of an activation pattern (rows of a linear region, F x + e) |

mod conv;
mod graph;
mod layer;
pub mod linearise;
mod op;
#[cfg(test)]
mod operator_tests;
mod pool;
#[cfg(test)]
mod reference;
mod sparse;
#[cfg(test)]
mod sparse_tests;
mod window;

pub use conv::Conv;
pub use graph::{Graph, Node, Term};
pub use layer::{Layer, LayerRef};
pub use op::{Dense, Gather, Op};
pub use pool::AvgPool;
pub use sparse::{Sparse, SPARSE_DENSITY, SPARSE_MIN_ENTRIES};
pub use window::Window;

use crate::error::Result;

/// A piecewise-linear network. Every element of a ReLU node is a hidden neuron: one bit of the
/// activation pattern and one half-space of a linear region.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    graph: Graph,
    /// The layers, when the graph is a dense chain.
    dense: Option<Vec<Layer>>,
    /// Last node reading each value (see [`Graph::last_uses`]).
    last_use: Vec<usize>,
    hidden: usize,
}

impl Network {
    /// The chain of dense layers `layers`. Layers that are mostly zero are stored sparse
    /// ([`Op::of_weights`]); the network is then a chain of operators, not a dense chain, and
    /// keeps no dense copy of its layers.
    pub fn new(layers: Vec<Layer>) -> Result<Network> {
        let refs: Vec<LayerRef> = layers.iter().map(Layer::as_ref).collect();
        layer::check_layers(&refs)?;
        let graph = layer::chain_graph(&refs);
        drop(refs);
        let dense = if graph.is_dense_chain() { Some(layers) } else { None };
        Ok(Network::checked(graph, dense))
    }

    /// As [`Network::new`], from borrowed parameters: weights stored sparse are never copied
    /// densely.
    pub fn from_layer_refs(layers: &[LayerRef]) -> Result<Network> {
        layer::check_layers(layers)?;
        let graph = layer::chain_graph(layers);
        let dense = layer::chain_layers(&graph);
        Ok(Network::checked(graph, dense))
    }

    /// A network from its graph (checked), its mostly-zero dense operators stored sparse
    /// ([`Op::stored`]); a dense chain also gets its layers.
    pub fn from_graph(mut graph: Graph) -> Result<Network> {
        graph.check()?;
        for node in graph.nodes.iter_mut() {
            for t in node.terms.iter_mut() {
                if let Op::Dense(_) = t.op {
                    t.op = std::mem::replace(&mut t.op, Op::Identity(0)).stored();
                }
            }
        }
        let dense = layer::chain_layers(&graph);
        Ok(Network::checked(graph, dense))
    }

    fn checked(graph: Graph, dense: Option<Vec<Layer>>) -> Network {
        let last_use = graph.last_uses();
        let hidden = graph.hidden_count();
        Network { graph, dense, last_use, hidden }
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The dense layers, when the network is a chain of them (None for any other graph, and for
    /// a chain with a layer stored sparse).
    pub fn dense_layers(&self) -> Option<&[Layer]> {
        self.dense.as_deref()
    }

    pub fn n_in(&self) -> usize {
        self.graph.n_in
    }

    pub fn n_out(&self) -> usize {
        self.graph.n_out()
    }

    /// Number of hidden (ReLU) neurons = length of an activation pattern.
    pub fn hidden_count(&self) -> usize {
        self.hidden
    }

    /// The largest value (input or node output).
    pub fn max_width(&self) -> usize {
        self.graph.nodes.iter().map(|n| n.size()).fold(self.graph.n_in, usize::max)
    }

    /// For every value, the last node that reads it (see [`Graph::last_uses`]).
    pub fn last_uses(&self) -> &[usize] {
        &self.last_use
    }

    /// Forward pass of one input. `visit(k, z)` sees the pre-activations of every ReLU node k
    /// (node order) before the ReLU is applied; it is how patterns are read off the very same
    /// arithmetic as `forward`. A node's value is its bias plus each term in order (for a dense
    /// layer: bias + one dot product per row, as the dense code computed dot + bias). Values are
    /// released after their last reader.
    pub fn forward_visit<F: FnMut(usize, &[f64])>(&self, x: &[f64], out: &mut [f64], mut visit: F) {
        let g = &self.graph;
        let mut values: Vec<Option<Vec<f64>>> = vec![None; g.nodes.len() + 1];
        for (k, node) in g.nodes.iter().enumerate() {
            let mut y = node.bias.clone();
            for t in &node.terms {
                let src: &[f64] = if t.from == 0 { x } else { values[t.from].as_deref().expect("a live value") };
                t.op.forward_add(src, &mut y, t.negate);
            }
            if node.relu {
                visit(k, &y);
                for v in y.iter_mut() {
                    // z >= 0 counts as active everywhere in the project; max keeps -0.0 as is.
                    if *v < 0.0 {
                        *v = 0.0;
                    }
                }
            }
            values[k + 1] = Some(y);
            for t in &node.terms {
                if t.from > 0 && self.last_use[t.from] == k {
                    values[t.from] = None;
                }
            }
        }
        let y = values[g.nodes.len()].as_deref().expect("the output");
        out[..y.len()].copy_from_slice(y);
    }

    pub fn forward(&self, x: &[f64], out: &mut [f64]) {
        self.forward_visit(x, out, |_, _| {});
    }

    /// Batched forward pass: `xs` is `n × n_in` row-major, `out` is `n × n_out`.
    pub fn forward_batch(&self, xs: &[f64], n: usize, out: &mut [f64]) {
        let (ni, no) = (self.n_in(), self.n_out());
        for p in 0..n {
            self.forward(&xs[p * ni..(p + 1) * ni], &mut out[p * no..(p + 1) * no]);
        }
    }

    /// Activation pattern of `x`: one entry per hidden neuron, 1 when its pre-activation is >= 0.
    pub fn pattern(&self, x: &[f64]) -> Vec<u8> {
        let mut pat = Vec::with_capacity(self.hidden_count());
        let mut out = vec![0.0; self.n_out()];
        self.forward_visit(x, &mut out, |_, z| {
            for &v in z {
                pat.push(if v >= 0.0 { 1 } else { 0 });
            }
        });
        pat
    }

    /// Activation patterns of `n` inputs (`n × n_in` row-major), `n × hidden` bytes.
    pub fn patterns_batch(&self, xs: &[f64], n: usize, out: &mut [u8]) {
        let (ni, h) = (self.n_in(), self.hidden_count());
        let mut y = vec![0.0; self.n_out()];
        for p in 0..n {
            let mut pos = p * h;
            self.forward_visit(&xs[p * ni..(p + 1) * ni], &mut y, |_, z| {
                for &v in z {
                    out[pos] = if v >= 0.0 { 1 } else { 0 };
                    pos += 1;
                }
            });
        }
    }

    /// Pre-activations of every hidden neuron at x, in pattern order.
    pub fn pre_activations(&self, x: &[f64]) -> Vec<f64> {
        let mut z = Vec::with_capacity(self.hidden_count());
        let mut out = vec![0.0; self.n_out()];
        self.forward_visit(x, &mut out, |_, pre| z.extend_from_slice(pre));
        z
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Small deterministic pseudo-random generator for tests (xorshift64*).
    pub struct Rng(pub u64);
    impl Rng {
        pub fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545F4914F6CDD1D)
        }
        pub fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
        pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * self.uniform()
        }
        pub fn normal(&mut self) -> f64 {
            let u1 = self.uniform().max(1e-300);
            let u2 = self.uniform();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

    pub fn random_network(rng: &mut Rng, sizes: &[usize]) -> Network {
        let mut layers = Vec::new();
        for l in 0..sizes.len() - 1 {
            let (ni, no) = (sizes[l], sizes[l + 1]);
            let scale = 1.0 / (ni as f64).sqrt();
            layers.push(Layer {
                n_in: ni,
                n_out: no,
                w: (0..ni * no).map(|_| rng.normal() * scale).collect(),
                b: (0..no).map(|_| rng.normal() * 0.1).collect(),
                relu: l + 2 < sizes.len(),
            });
        }
        Network::new(layers).unwrap()
    }

    fn normals(rng: &mut Rng, n: usize, scale: f64) -> Vec<f64> {
        (0..n).map(|_| rng.normal() * scale).collect()
    }

    /// A small graph with every operator kind and every way of combining values: a grouped,
    /// padded, strided convolution; average pooling (either divisor rule) materialised as a
    /// linear node; a residual ReLU node reading the same value through a convolution, the
    /// identity and a negated scaling; max lowered to ReLUs (max(a, b) = a + ReLU(b − a), with a
    /// folded linear node); a transposed convolution plus an index map of the input with zero
    /// fill; a dense output that also subtracts a skip connection. Input [2, 5, 5].
    pub fn random_graph(rng: &mut Rng) -> Network {
        let win = |k: usize, s: usize, p: [usize; 4], d: usize| Window {
            kernel: [k, k],
            stride: [s, s],
            pads: p,
            dilation: [d, d],
        };
        let term = |from: usize, op: Op, negate: bool| Term { from, op, negate };
        let mut nodes = Vec::new();
        // v1 = relu(conv(x)): [2,5,5] -> [4,5,5], 2 groups, kernel 3, dilation 2, pads 2.
        let c1 = Conv {
            image: [2, 5, 5],
            features: [4, 5, 5],
            window: win(3, 1, [2, 2, 2, 2], 2),
            groups: 2,
            transposed: false,
            w: normals(rng, 4 * 9, 0.5),
        };
        nodes.push(Node { terms: vec![term(0, Op::Conv(c1), false)], bias: normals(rng, 100, 0.1), relu: true });
        // v2 = avgpool(v1): [4,5,5] -> [4,3,3], kernel 2, stride 2, pads after.
        let pool = AvgPool {
            channels: 4,
            image: [5, 5],
            output: [3, 3],
            window: win(2, 2, [0, 0, 1, 1], 1),
            count_include_pad: rng.next_u64() % 2 == 0,
        };
        nodes.push(Node { terms: vec![term(1, Op::AvgPool(pool), false)], bias: normals(rng, 36, 0.1), relu: false });
        // v3 = relu(conv(v2) + v2 − s ⊙ v2), [4,3,3], stride 1 kernel 3 pads 1.
        let c3 = Conv {
            image: [4, 3, 3],
            features: [4, 3, 3],
            window: win(3, 1, [1, 1, 1, 1], 1),
            groups: 1,
            transposed: false,
            w: normals(rng, 4 * 4 * 9, 0.3),
        };
        nodes.push(Node {
            terms: vec![
                term(2, Op::Conv(c3), false),
                term(2, Op::Identity(36), false),
                term(2, Op::Scale(normals(rng, 36, 0.5)), true),
            ],
            bias: normals(rng, 36, 0.1),
            relu: true,
        });
        // max of element pairs of v3: t = relu(odd − even), m = even + t.
        let even = Gather { n_in: 36, index: (0..18).map(|i| 2 * i as u32).collect() };
        let odd = Gather { n_in: 36, index: (0..18).map(|i| 2 * i as u32 + 1).collect() };
        nodes.push(Node {
            terms: vec![term(3, Op::Gather(odd), false), term(3, Op::Gather(even.clone()), true)],
            bias: vec![0.0; 18],
            relu: true,
        });
        nodes.push(Node {
            terms: vec![term(3, Op::Gather(even), false), term(4, Op::Identity(18), false)],
            bias: vec![0.0; 18],
            relu: false,
        });
        // v6 = relu(convTranspose(v5 as [2,3,3]) + gather(x)): [3,6,6].
        let ct = Conv {
            image: [3, 6, 6],
            features: [2, 3, 3],
            window: win(2, 2, [0, 0, 0, 0], 1),
            groups: 1,
            transposed: true,
            w: normals(rng, 2 * 3 * 4, 0.5),
        };
        let pick = Gather {
            n_in: 50,
            index: (0..108)
                .map(|_| if rng.next_u64() % 4 == 0 { Gather::ZERO } else { (rng.next_u64() % 50) as u32 })
                .collect(),
        };
        nodes.push(Node {
            terms: vec![term(5, Op::Conv(ct), false), term(0, Op::Gather(pick), false)],
            bias: normals(rng, 108, 0.1),
            relu: true,
        });
        // y = W v6 − V v1 + b: 3 outputs.
        nodes.push(Node {
            terms: vec![
                term(6, Op::Dense(Dense { n_in: 108, n_out: 3, w: normals(rng, 324, 0.1) }), false),
                term(1, Op::Dense(Dense { n_in: 100, n_out: 3, w: normals(rng, 300, 0.1) }), true),
            ],
            bias: normals(rng, 3, 0.1),
            relu: false,
        });
        Network::from_graph(Graph { n_in: 50, nodes }).unwrap()
    }

    #[test]
    fn graphs_are_checked_and_chains_recognised() {
        let mut rng = Rng(3);
        let chain = random_network(&mut rng, &[3, 4, 2]);
        let again = Network::from_graph(chain.graph().clone()).unwrap();
        assert_eq!(again, chain);
        assert_eq!(again.dense_layers().unwrap().len(), 2);
        let g = random_graph(&mut rng);
        assert!(g.dense_layers().is_none());
        assert_eq!(g.hidden_count(), 100 + 36 + 18 + 108);
        assert_eq!(g.last_uses(), &[5, 6, 2, 4, 4, 5, 6, 7][..]);
        let err = |graph: &Graph| Network::from_graph(graph.clone()).unwrap_err().to_string();
        let mut bad = g.graph().clone();
        bad.nodes[2].terms[0].from = 4;
        assert_eq!(
            err(&bad),
            "network: node 2 term 0 (conv) reads value 4, which is not computed before it (values 0..=2 are)"
        );
        let mut bad = g.graph().clone();
        bad.nodes[2].terms[1].op = Op::Identity(35);
        assert_eq!(err(&bad), "network: node 2 term 1 (identity) takes 35 inputs, value 2 has 36");
        let mut bad = g.graph().clone();
        bad.nodes[6].bias.push(0.0);
        assert!(err(&bad).contains("node 6 term 0 (dense) gives 3 outputs, the node has 4"));
        let mut bad = g.graph().clone();
        bad.nodes[1].bias[7] = f64::NAN;
        assert_eq!(err(&bad), "network: node 1 bias 7 is NaN");
        let mut bad = g.graph().clone();
        bad.nodes[3].terms.clear();
        assert!(err(&bad).contains("node 3 has no terms"));
        // Patterns in batches are the patterns one by one; pre-activations are in pattern order.
        let xs: Vec<f64> = (0..3 * 50).map(|_| rng.normal()).collect();
        let mut pats = vec![0u8; 3 * g.hidden_count()];
        g.patterns_batch(&xs, 3, &mut pats);
        for p in 0..3 {
            let x = &xs[p * 50..(p + 1) * 50];
            assert_eq!(&pats[p * g.hidden_count()..(p + 1) * g.hidden_count()], &g.pattern(x)[..]);
            let z = g.pre_activations(x);
            assert_eq!(z.iter().map(|&v| (v >= 0.0) as u8).collect::<Vec<_>>(), g.pattern(x));
        }
    }

    #[test]
    fn the_memory_of_a_region_is_stated() {
        use crate::network::linearise::region_cost;
        // The shape of cifar_base_kw: two strided convolutions, two dense layers.
        let conv = |c_in: usize, c_out: usize, hw: usize| {
            Op::Conv(Conv {
                image: [c_in, hw, hw],
                features: [c_out, hw / 2, hw / 2],
                window: Window { kernel: [4, 4], stride: [2, 2], pads: [1; 4], dilation: [1, 1] },
                groups: 1,
                transposed: false,
                w: vec![0.01; c_out * c_in * 16],
            })
        };
        let t = |from, op| Term { from, op, negate: false };
        let dense = |n_in, n_out| Op::Dense(Dense { n_in, n_out, w: vec![0.01; n_in * n_out] });
        let net = Network::from_graph(Graph {
            n_in: 3072,
            nodes: vec![
                Node { terms: vec![t(0, conv(3, 8, 32))], bias: vec![0.0; 2048], relu: true },
                Node { terms: vec![t(1, conv(8, 16, 16))], bias: vec![0.0; 1024], relu: true },
                Node { terms: vec![t(2, dense(1024, 100))], bias: vec![0.0; 100], relu: true },
                Node { terms: vec![t(3, dense(100, 10))], bias: vec![0.0; 10], relu: false },
            ],
        })
        .unwrap();
        let cost = region_cost(&net);
        assert_eq!(cost.row_bytes, 3172 * 3072 * 8);
        assert_eq!(cost.jacobian_bytes, 0);
        assert_eq!(cost.output_bytes, 10 * 3072 * 8);
        // A linear node that is not the output keeps its Jacobian until its last reader.
        let mut g = net.graph().clone();
        g.nodes[1].relu = false;
        assert_eq!(region_cost(&Network::from_graph(g).unwrap()).jacobian_bytes, 1024 * 3072 * 8);
    }

    #[test]
    fn rejects_bad_shapes_and_nan() {
        let l = |ni, no, w: Vec<f64>, b: Vec<f64>| Layer { n_in: ni, n_out: no, w, b, relu: false };
        assert!(Network::new(vec![]).is_err());
        let e = Network::new(vec![l(2, 1, vec![1.0], vec![0.0])]).unwrap_err();
        assert!(e.to_string().contains("weights have 1 values, expected 1x2"), "{}", e);
        let e = Network::new(vec![l(1, 1, vec![f64::NAN], vec![0.0])]).unwrap_err();
        assert!(e.to_string().contains("is NaN"), "{}", e);
        let e =
            Network::new(vec![l(1, 2, vec![1.0, 1.0], vec![0.0, 0.0]), l(3, 1, vec![1.0; 3], vec![0.0])]).unwrap_err();
        assert!(e.to_string().contains("expects 3 inputs"), "{}", e);
    }

    #[test]
    fn forward_and_pattern() {
        // y = relu(x1 - x2) + relu(-x1) ; two hidden neurons.
        let net = Network::new(vec![
            Layer { n_in: 2, n_out: 2, w: vec![1.0, -1.0, -1.0, 0.0], b: vec![0.0, 0.0], relu: true },
            Layer { n_in: 2, n_out: 1, w: vec![1.0, 1.0], b: vec![0.5], relu: false },
        ])
        .unwrap();
        let mut y = [0.0];
        net.forward(&[3.0, 1.0], &mut y);
        assert_eq!(y[0], 2.5);
        assert_eq!(net.pattern(&[3.0, 1.0]), vec![1, 0]);
        // Exactly zero pre-activation counts as active.
        assert_eq!(net.pattern(&[0.0, 0.0]), vec![1, 1]);
    }
}

//! The one place where the bounds and branch and bound read a network.
//!
//! Everything in `bounds/` and `verify/` sees a network as a chain of operators
//! `z_l = A_l h_{l−1} + b_l`, `h_l = ReLU(z_l)` (or `h_l = z_l` for a layer without ReLU), with
//! `h_{−1} = x`, and touches `A_l` only through three products: `y += A x`, `x += Aᵀ y` and
//! `y += |A| x`, plus the number of terms each output of a product sums (for the rounding terms
//! γ_n of `rounding.rs`). `A_l` is the one structured operator of node l of the network's graph
//! (`crate::network::Op`: dense, convolution, pooling, scaling, index maps), so any chain of
//! operators is covered; graphs with residual adds or concatenations need a general
//! back-substitution order in `symbolic.rs` and are refused here for now. (Branch and bound also uses `x += |A|ᵀ y`, for
//! gradient bounds.)

use crate::error::{invalid, Result};
use crate::network::{Network, Op};
use crate::program::ReluProgram;

/// A network as a chain of linear operators with ReLUs (see the module documentation).
#[derive(Debug, Clone)]
pub struct NetView {
    net: Network,
    /// Per operator: the operator (the one term of its node), whether it is subtracted, and the
    /// largest number of products a row (resp. a column) of it sums.
    ops: Vec<(Op, bool)>,
    row_terms: Vec<usize>,
    col_terms: Vec<usize>,
}

impl NetView {
    /// The view of a network whose graph is a chain: every node has exactly one term, reading the
    /// value just before it (dense chains, and convolutional chains without branches). Graphs with
    /// residual or concatenated branches need a general back-substitution order: refused.
    pub fn new(net: &Network) -> Result<NetView> {
        let g = net.graph();
        let mut ops = Vec::with_capacity(g.nodes.len());
        let (mut row_terms, mut col_terms) = (Vec::new(), Vec::new());
        for (k, node) in g.nodes.iter().enumerate() {
            if node.terms.len() != 1 || node.terms[0].from != k {
                return invalid(format!(
                    "bounds: node {} of the network is not a link of a chain (it reads {} value(s)); bounds are computed for chains of operators only",
                    k,
                    node.terms.len()
                ));
            }
            let op = &node.terms[0].op;
            let mut col = vec![0usize; op.n_in()];
            let mut rows = 0usize;
            for i in 0..op.n_out() {
                let mut c = 0usize;
                op.for_each_in_row(i, |j, _| {
                    c += 1;
                    col[j] += 1;
                });
                rows = rows.max(c);
            }
            row_terms.push(rows.max(1));
            col_terms.push(col.into_iter().max().unwrap_or(0).max(1));
            ops.push((op.clone(), node.terms[0].negate));
        }
        Ok(NetView { net: net.clone(), ops, row_terms, col_terms })
    }

    /// The network itself (forward passes and activation patterns share its arithmetic).
    pub fn network(&self) -> &Network {
        &self.net
    }

    pub fn n_in(&self) -> usize {
        self.net.n_in()
    }

    pub fn n_out(&self) -> usize {
        self.net.n_out()
    }

    /// Number of operators (nodes of the chain).
    pub fn layers(&self) -> usize {
        self.ops.len()
    }

    /// Length of z_l (and h_l).
    pub fn width(&self, l: usize) -> usize {
        self.ops[l].0.n_out()
    }

    /// Length of the operator's input h_{l−1} (x for l = 0).
    pub fn input_width(&self, l: usize) -> usize {
        self.ops[l].0.n_in()
    }

    pub fn relu(&self, l: usize) -> bool {
        self.net.graph().nodes[l].relu
    }

    pub fn bias(&self, l: usize) -> &[f64] {
        &self.net.graph().nodes[l].bias
    }

    /// Largest number of products one entry of `A_l x` sums.
    pub fn row_terms(&self, l: usize) -> usize {
        self.row_terms[l]
    }

    /// Largest number of products one entry of `A_lᵀ y` sums.
    pub fn col_terms(&self, l: usize) -> usize {
        self.col_terms[l]
    }

    /// y += A_l x.
    pub fn mul_add(&self, l: usize, x: &[f64], y: &mut [f64]) {
        let (op, negate) = &self.ops[l];
        op.forward_add(x, y, *negate);
    }

    /// x += A_lᵀ y.
    pub fn mul_t_add(&self, l: usize, y: &[f64], x: &mut [f64]) {
        let (op, negate) = &self.ops[l];
        op.transpose_add(y, x, *negate);
    }

    /// y += |A_l| x.
    pub fn abs_mul_add(&self, l: usize, x: &[f64], y: &mut [f64]) {
        self.ops[l].0.abs_forward_add(x, y);
    }

    /// x += |A_l|ᵀ y.
    pub fn abs_mul_t_add(&self, l: usize, y: &[f64], x: &mut [f64]) {
        let op = &self.ops[l].0;
        for (i, &yi) in y.iter().enumerate().take(op.n_out()) {
            if yi != 0.0 {
                op.for_each_in_row(i, |j, a| x[j] += a.abs() * yi);
            }
        }
    }

    /// The network as a ReLU program (exact exploration of its linear regions), neurons in
    /// operator order: program neuron `first_neuron(l) + i` is entry i of z_l.
    pub fn program(&self) -> ReluProgram {
        ReluProgram::from_network(&self.net)
    }

    /// Index of the first program neuron of operator l (see [`NetView::program`]).
    pub fn first_neuron(&self, l: usize) -> usize {
        self.ops[..l].iter().map(|(op, _)| op.n_out()).sum()
    }

    /// The network's output at x (the network's own forward pass).
    pub fn forward(&self, x: &[f64], out: &mut [f64]) {
        self.net.forward(x, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{random_network, Rng};

    #[test]
    fn products_agree_with_the_weights() {
        let mut rng = Rng(3);
        let net = random_network(&mut rng, &[3, 4, 2]);
        let v = NetView::new(&net).unwrap();
        let x = [0.5, -1.0, 2.0];
        let mut y = vec![1.0; 4];
        v.mul_add(0, &x, &mut y);
        let mut ya = vec![0.0; 4];
        v.abs_mul_add(0, &x, &mut ya);
        let yt = [1.0, -2.0, 0.5, 3.0];
        let mut xt = vec![0.0; 3];
        v.mul_t_add(0, &yt, &mut xt);
        let mut xa = vec![0.0; 3];
        v.abs_mul_t_add(0, &yt, &mut xa);
        let w = &net.dense_layers().unwrap()[0].w;
        for i in 0..4 {
            let want: f64 = 1.0 + (0..3).map(|j| w[i * 3 + j] * x[j]).sum::<f64>();
            assert!((y[i] - want).abs() < 1e-14);
            let want_abs: f64 = (0..3).map(|j| w[i * 3 + j].abs() * x[j]).sum();
            assert!((ya[i] - want_abs).abs() < 1e-14);
        }
        for j in 0..3 {
            let want: f64 = (0..4).map(|i| w[i * 3 + j] * yt[i]).sum();
            assert!((xt[j] - want).abs() < 1e-14);
            let want_abs: f64 = (0..4).map(|i| w[i * 3 + j].abs() * yt[i]).sum();
            assert!((xa[j] - want_abs).abs() < 1e-14);
        }
        assert_eq!(v.first_neuron(1), 4);
        // The program holds the hidden neurons; a linear last operator is its direct affine part.
        assert_eq!(v.program().neurons.len(), 4);
    }
}

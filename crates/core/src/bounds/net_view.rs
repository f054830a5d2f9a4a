//! The one place where the bounds and branch and bound read a network.
//!
//! Everything in `bounds/` and `verify/` sees a network as its graph (`crate::network::graph`):
//! node l computes the pre-activation `z_l = Σ_t ±A_t v_{from_t} + b_l` and the value
//! `v_{l+1} = ReLU(z_l)` (or `z_l` for a node without ReLU), value 0 being the input x and the
//! last node's value the output. A chain (node l reads only value l, with one term) is the case
//! `z_l = A_l h_{l−1} + b_l` of the earlier chain-only view, and every pass below does exactly
//! the same operations on it (bit for bit the same bounds). The operators `A_t` are touched only
//! through products (`y += A x`, `x += Aᵀ y`, `y += |A| x`, `x += |A|ᵀ y`) and the number of
//! terms each output of a product sums (for the rounding terms γ_n of `rounding.rs`).
//!
//! Values are held in *value maps*: `Vec<Vec<f64>>` indexed by value (0 the input, l + 1 node
//! l), an empty vector standing for a value not held (forward: released; backward: a zero
//! coefficient block). Back-substitution walks the nodes in reverse order (a reverse
//! topological order): when node l is reached every reader of value l + 1 has added its
//! `±A_tᵀ μ` to that value's block, so the block is complete.

use crate::error::Result;
use crate::network::{Network, Op};
use crate::program::ReluProgram;

/// One term `±A v_from` of a node, with its product counts.
#[derive(Debug, Clone)]
pub struct ViewTerm {
    pub from: usize,
    pub op: Op,
    pub negate: bool,
    /// Largest number of products one entry of `A x` (resp. `Aᵀ y`) sums.
    pub row_terms: usize,
    pub col_terms: usize,
}

/// A network's graph as the bounds read it (see the module documentation).
#[derive(Debug, Clone)]
pub struct NetView {
    net: Network,
    nodes: Vec<Vec<ViewTerm>>,
    /// Per node: products one entry of the pre-activation sums over all its terms.
    row_terms: Vec<usize>,
    /// Per node: a bound on the products one entry of any value's coefficient block sums over
    /// all the readers of that value, for the values this node reads (see [`NetView::col_terms`]).
    col_terms: Vec<usize>,
    /// Per node: the products one entry of the blocks it reads can sum when a back-substitution
    /// starts at this node (see [`NetView::start_terms`]).
    start_terms: Vec<usize>,
    /// Per node: index of its first program neuron (usize::MAX for a node without neurons).
    first: Vec<usize>,
    chain: bool,
}

impl NetView {
    /// The view of a network (any graph of the project's form).
    pub fn new(net: &Network) -> Result<NetView> {
        let g = net.graph();
        let mut nodes = Vec::with_capacity(g.nodes.len());
        let mut row_terms = Vec::with_capacity(g.nodes.len());
        let mut colsum = vec![0usize; g.nodes.len() + 1];
        for node in g.nodes.iter() {
            let mut terms = Vec::with_capacity(node.terms.len());
            let mut node_rows = 0usize;
            for t in &node.terms {
                let op = &t.op;
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
                let (rows, cols) = (rows.max(1), col.into_iter().max().unwrap_or(0).max(1));
                node_rows += rows;
                colsum[t.from] += cols;
                terms.push(ViewTerm {
                    from: t.from,
                    op: op.clone(),
                    negate: t.negate,
                    row_terms: rows,
                    col_terms: cols,
                });
            }
            row_terms.push(node_rows);
            nodes.push(terms);
        }
        let chain = g.nodes.iter().enumerate().all(|(k, n)| n.terms.len() == 1 && n.terms[0].from == k);
        let col_terms: Vec<usize> =
            nodes.iter().map(|ts| ts.iter().map(|t| colsum[t.from]).max().unwrap_or(1).max(1)).collect();
        // Starting at node l (a neuron's bounds), an entry of the block of a value v node l reads
        // holds node l's row entries in that column and, in a graph, the products the other
        // readers of v below l add: at most colsum(v) <= col_terms(l) products in all (node l is
        // one of v's readers). A chain keeps the chain-only view's count, row_terms(l).
        let start_terms: Vec<usize> =
            (0..nodes.len()).map(|l| if chain { row_terms[l] } else { row_terms[l].max(col_terms[l]) }).collect();
        // Program neurons (`ReluProgram::from_network`): none for a linear output node and for a
        // linear node of selections only (folded); width(l) for every other node.
        let out = g.nodes.len() - 1;
        let mut first = Vec::with_capacity(g.nodes.len());
        let mut next = 0usize;
        for (k, node) in g.nodes.iter().enumerate() {
            let folded = !node.relu && (k == out || node.terms.iter().all(|t| t.op.is_selection()));
            if folded {
                first.push(usize::MAX);
            } else {
                first.push(next);
                next += node.size();
            }
        }
        Ok(NetView { net: net.clone(), nodes, row_terms, col_terms, start_terms, first, chain })
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

    /// Whether the graph is a chain (node l reads value l only, with one term).
    pub fn is_chain(&self) -> bool {
        self.chain
    }

    /// Number of nodes (operators).
    pub fn layers(&self) -> usize {
        self.nodes.len()
    }

    /// Number of values (the input and one per node).
    pub fn values(&self) -> usize {
        self.nodes.len() + 1
    }

    /// Length of z_l (and of value l + 1).
    pub fn width(&self, l: usize) -> usize {
        self.net.graph().nodes[l].size()
    }

    /// Length of value v (0 the input).
    pub fn value_width(&self, v: usize) -> usize {
        if v == 0 {
            self.n_in()
        } else {
            self.width(v - 1)
        }
    }

    /// The terms of node l.
    pub fn terms(&self, l: usize) -> &[ViewTerm] {
        &self.nodes[l]
    }

    /// For every value, the last node that reads it (the output value: never released).
    pub fn last_uses(&self) -> Vec<usize> {
        self.net.graph().last_uses()
    }

    /// Length of the operator's input h_{l−1} in a chain (x for l = 0): the width of the first
    /// value node l reads.
    pub fn input_width(&self, l: usize) -> usize {
        self.value_width(self.nodes[l][0].from)
    }

    pub fn relu(&self, l: usize) -> bool {
        self.net.graph().nodes[l].relu
    }

    pub fn bias(&self, l: usize) -> &[f64] {
        &self.net.graph().nodes[l].bias
    }

    /// Largest number of products one entry of z_l sums (over all of node l's terms).
    pub fn row_terms(&self, l: usize) -> usize {
        self.row_terms[l]
    }

    /// A bound on the products one entry of the coefficient block of any value node l reads sums
    /// over a back-substitution: the column counts of every term reading that value, added (in a
    /// chain: the column count of node l's operator).
    pub fn col_terms(&self, l: usize) -> usize {
        self.col_terms[l]
    }

    /// The product count of the rounding term of a back-substitution starting at entry i of z_l
    /// (node l's row, then the other readers of the values it reads; [`NetView::row_terms`] in
    /// a chain).
    pub fn start_terms(&self, l: usize) -> usize {
        self.start_terms[l]
    }

    fn chain_term(&self, l: usize) -> &ViewTerm {
        let t = &self.nodes[l];
        assert!(t.len() == 1 && t[0].from == l, "NetView: node {} is not a link of a chain", l);
        &t[0]
    }

    /// y += A_l x (a chain's node l; panics on a node with several terms or skipping values).
    pub fn mul_add(&self, l: usize, x: &[f64], y: &mut [f64]) {
        let t = self.chain_term(l);
        t.op.forward_add(x, y, t.negate);
    }

    /// x += A_lᵀ y (a chain's node l).
    pub fn mul_t_add(&self, l: usize, y: &[f64], x: &mut [f64]) {
        let t = self.chain_term(l);
        t.op.transpose_add(y, x, t.negate);
    }

    /// y += |A_l| x (a chain's node l).
    pub fn abs_mul_add(&self, l: usize, x: &[f64], y: &mut [f64]) {
        self.chain_term(l).op.abs_forward_add(x, y);
    }

    /// y += Σ_t ±A_t v_{from_t} over node l's terms, in term order (`vals` a value map holding
    /// every value node l reads).
    pub fn node_add(&self, l: usize, vals: &[Vec<f64>], y: &mut [f64]) {
        for t in &self.nodes[l] {
            t.op.forward_add(&vals[t.from], y, t.negate);
        }
    }

    /// y += Σ_t |A_t| v_{from_t} over node l's terms.
    pub fn node_abs_add(&self, l: usize, vals: &[Vec<f64>], y: &mut [f64]) {
        for t in &self.nodes[l] {
            t.op.abs_forward_add(&vals[t.from], y);
        }
    }

    /// blocks[from_t] += ±A_tᵀ mu for each of node l's terms (an empty block is first set to 0).
    pub fn node_t_add(&self, l: usize, mu: &[f64], blocks: &mut [Vec<f64>]) {
        for t in &self.nodes[l] {
            let b = &mut blocks[t.from];
            if b.is_empty() {
                *b = vec![0.0; t.op.n_in()];
            }
            t.op.transpose_add(mu, b, t.negate);
        }
    }

    /// blocks[from_t] += |A_t|ᵀ mu for each of node l's terms (an empty block is first set to 0).
    pub fn node_abs_t_add(&self, l: usize, mu: &[f64], blocks: &mut [Vec<f64>]) {
        for t in &self.nodes[l] {
            let b = &mut blocks[t.from];
            if b.is_empty() {
                *b = vec![0.0; t.op.n_in()];
            }
            for (i, &yi) in mu.iter().enumerate().take(t.op.n_out()) {
                if yi != 0.0 {
                    t.op.for_each_in_row(i, |j, a| b[j] += a.abs() * yi);
                }
            }
        }
    }

    /// The network as a ReLU program (exact exploration of its linear regions): program neuron
    /// `first_neuron(l) + i` is entry i of z_l.
    pub fn program(&self) -> ReluProgram {
        ReluProgram::from_network(&self.net)
    }

    /// Index of the first program neuron of node l (see [`NetView::program`]); `usize::MAX` for
    /// a node the program folds away (a linear output node, a linear node of index maps only).
    pub fn first_neuron(&self, l: usize) -> usize {
        self.first[l]
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
        let mut blocks = vec![Vec::new(); 3];
        v.node_abs_t_add(0, &yt, &mut blocks);
        let xa = &blocks[0];
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
        // The program holds the hidden neurons; a linear last operator is its direct affine part
        // (no program neurons).
        assert_eq!((v.first_neuron(0), v.first_neuron(1)), (0, usize::MAX));
        assert_eq!(v.program().neurons.len(), 4);
    }
}

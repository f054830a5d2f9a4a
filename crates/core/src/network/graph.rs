//! The graph of a piecewise-linear network: a list of nodes in topological order, each
//!
//!   v_k = relu?( Σ_t ±A_t v_{src_t} + bias_k ),
//!
//! where value 0 is the input and value k + 1 is node k's output; the last node is the network's
//! output. Residual connections are terms from older values; a concatenation is a node whose
//! terms place each part with an index map; max, min and clip are lowered to ReLU nodes by the
//! readers (max(a, b) = a + ReLU(b − a)). The activation pattern has one bit per element of every
//! ReLU node, in node order and element order; an element counts as active when its
//! pre-activation is >= 0, everywhere in the project.

use crate::error::{invalid, Result};
use crate::network::op::Op;

/// One summand `±A v_from` of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// The value read: 0 the input, k + 1 the output of node k (an earlier node).
    pub from: usize,
    pub op: Op,
    /// Subtract instead of add.
    pub negate: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub terms: Vec<Term>,
    /// One value per output element; its length is the node's size.
    pub bias: Vec<f64>,
    pub relu: bool,
}

impl Node {
    pub fn size(&self) -> usize {
        self.bias.len()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub n_in: usize,
    pub nodes: Vec<Node>,
}

impl Graph {
    /// Checks the graph: at least one node, every term reads an earlier value of the size its
    /// operator takes and writes the node's size, every parameter finite.
    pub fn check(&self) -> Result<()> {
        if self.n_in == 0 {
            return invalid("network: the input is empty".to_string());
        }
        if self.nodes.is_empty() {
            return invalid("network: it has no nodes".to_string());
        }
        for (k, node) in self.nodes.iter().enumerate() {
            if node.size() == 0 {
                return invalid(format!("network: node {} is empty", k));
            }
            if node.terms.is_empty() {
                return invalid(format!("network: node {} has no terms (it would not depend on the input)", k));
            }
            if let Some(i) = node.bias.iter().position(|v| !v.is_finite()) {
                return invalid(format!("network: node {} bias {} is {}", k, i, node.bias[i]));
            }
            for (t, term) in node.terms.iter().enumerate() {
                let what = format!("network: node {} term {} ({})", k, t, term.op.kind());
                if term.from > k {
                    return invalid(format!(
                        "{} reads value {}, which is not computed before it (values 0..={} are)",
                        what, term.from, k
                    ));
                }
                term.op.check(&what)?;
                let src = self.value_size(term.from);
                if term.op.n_in() != src {
                    return invalid(format!(
                        "{} takes {} inputs, value {} has {}",
                        what,
                        term.op.n_in(),
                        term.from,
                        src
                    ));
                }
                if term.op.n_out() != node.size() {
                    return invalid(format!(
                        "{} gives {} outputs, the node has {}",
                        what,
                        term.op.n_out(),
                        node.size()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Size of value v (0 the input, k + 1 node k).
    pub fn value_size(&self, v: usize) -> usize {
        if v == 0 {
            self.n_in
        } else {
            self.nodes[v - 1].size()
        }
    }

    pub fn n_out(&self) -> usize {
        self.nodes[self.nodes.len() - 1].size()
    }

    /// ReLU elements: the length of an activation pattern.
    pub fn hidden_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.relu).map(|n| n.size()).sum()
    }

    /// For every value, the last node that reads it (the output value: the number of nodes, so
    /// it is never released; a value nothing reads: its own node).
    pub fn last_uses(&self) -> Vec<usize> {
        let mut last: Vec<usize> = (0..=self.nodes.len()).map(|v| v.saturating_sub(1)).collect();
        for (k, node) in self.nodes.iter().enumerate() {
            for t in &node.terms {
                last[t.from] = last[t.from].max(k);
            }
        }
        last[self.nodes.len()] = self.nodes.len();
        last
    }

    /// Whether the graph is a chain of dense layers: node k reads only value k, with one dense
    /// term added.
    pub fn is_dense_chain(&self) -> bool {
        self.nodes.iter().enumerate().all(|(k, node)| {
            node.terms.len() == 1
                && node.terms[0].from == k
                && !node.terms[0].negate
                && matches!(node.terms[0].op, Op::Dense(_))
        })
    }
}

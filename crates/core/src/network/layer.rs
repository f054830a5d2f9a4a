//! Dense layers: the network shape of `.nnet`, TF.js and dense ONNX models, and the graph of a
//! chain (node l reads node l − 1 through one dense operator).

use crate::error::{invalid, Result};
use crate::network::graph::{Graph, Node, Term};
use crate::network::op::Op;

/// One affine layer `y = W x + b` (W row-major, `n_out × n_in`), optionally followed by ReLU.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub n_in: usize,
    pub n_out: usize,
    pub w: Vec<f64>,
    pub b: Vec<f64>,
    pub relu: bool,
}

/// A layer's parameters borrowed (e.g. from a parameter buffer), so that a network can be built
/// without a dense copy of weights it stores sparse.
#[derive(Debug, Clone, Copy)]
pub struct LayerRef<'a> {
    pub n_in: usize,
    pub n_out: usize,
    pub w: &'a [f64],
    pub b: &'a [f64],
    pub relu: bool,
}

impl Layer {
    pub fn as_ref(&self) -> LayerRef<'_> {
        LayerRef { n_in: self.n_in, n_out: self.n_out, w: &self.w, b: &self.b, relu: self.relu }
    }
}

/// Checks a chain of layers, with messages that name the layer.
pub(crate) fn check_layers(layers: &[LayerRef]) -> Result<()> {
    if layers.is_empty() {
        return invalid("network: it has no layers".to_string());
    }
    for (l, layer) in layers.iter().enumerate() {
        if layer.n_in == 0 || layer.n_out == 0 {
            return invalid(format!("network: layer {} has an empty dimension ({}x{})", l, layer.n_out, layer.n_in));
        }
        if layer.w.len() != layer.n_in * layer.n_out {
            return invalid(format!(
                "network: layer {} weights have {} values, expected {}x{} = {}",
                l,
                layer.w.len(),
                layer.n_out,
                layer.n_in,
                layer.n_in * layer.n_out
            ));
        }
        if layer.b.len() != layer.n_out {
            return invalid(format!(
                "network: layer {} bias has {} values, expected {}",
                l,
                layer.b.len(),
                layer.n_out
            ));
        }
        if l > 0 && layers[l - 1].n_out != layer.n_in {
            return invalid(format!(
                "network: layer {} expects {} inputs but layer {} has {} outputs",
                l,
                layer.n_in,
                l - 1,
                layers[l - 1].n_out
            ));
        }
        if let Some(i) = layer.w.iter().position(|v| !v.is_finite()) {
            return invalid(format!(
                "network: layer {} weight {} (row {}, column {}) is {}",
                l,
                i,
                i / layer.n_in,
                i % layer.n_in,
                layer.w[i]
            ));
        }
        if let Some(i) = layer.b.iter().position(|v| !v.is_finite()) {
            return invalid(format!("network: layer {} bias {} is {}", l, i, layer.b[i]));
        }
    }
    Ok(())
}

/// The graph of a chain of (checked) layers, mostly-zero weights stored sparse
/// ([`Op::of_weights`]).
pub(crate) fn chain_graph(layers: &[LayerRef]) -> Graph {
    let nodes = layers
        .iter()
        .enumerate()
        .map(|(l, layer)| Node {
            terms: vec![Term { from: l, op: Op::of_weights(layer.n_in, layer.n_out, layer.w), negate: false }],
            bias: layer.b.to_vec(),
            relu: layer.relu,
        })
        .collect();
    Graph { n_in: layers[0].n_in, nodes }
}

/// The layers of a graph that is a dense chain (see [`Graph::is_dense_chain`]).
pub(crate) fn chain_layers(g: &Graph) -> Option<Vec<Layer>> {
    if !g.is_dense_chain() {
        return None;
    }
    let layers = g
        .nodes
        .iter()
        .map(|node| match &node.terms[0].op {
            Op::Dense(d) => {
                Layer { n_in: d.n_in, n_out: d.n_out, w: d.w.clone(), b: node.bias.clone(), relu: node.relu }
            }
            _ => unreachable!("a dense chain has dense terms"),
        })
        .collect();
    Some(layers)
}

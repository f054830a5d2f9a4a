//! The one place where the bounds and branch and bound read a network.
//!
//! Everything in `bounds/` and `verify/` sees a network as a chain of operators
//! `z_l = A_l h_{l−1} + b_l`, `h_l = ReLU(z_l)` (or `h_l = z_l` for a layer without ReLU), with
//! `h_{−1} = x`, and touches `A_l` only through three products: `y += A x`, `x += Aᵀ y` and
//! `y += |A| x`, plus the number of terms each output of a product sums (for the rounding terms
//! γ_n of `rounding.rs`). Today `A_l` is the dense weight matrix of `Network::layers`; a graph
//! network gives every structured operator (convolution, …) the same three products, and only
//! this file changes. (Graphs with residual adds will also need a general back-substitution
//! order in `symbolic.rs`; dense chains — ACAS Xu, MNIST MLPs — are chains.)

use crate::linalg::{axpy, dot};
use crate::network::Network;
use crate::program::ReluProgram;

/// A network as a chain of linear operators with ReLUs (see the module documentation).
#[derive(Debug, Clone)]
pub struct NetView {
    net: Network,
    /// |A_l| for each layer, row-major like the weights.
    abs_w: Vec<Vec<f64>>,
}

impl NetView {
    pub fn new(net: &Network) -> NetView {
        let abs_w = net.layers.iter().map(|l| l.w.iter().map(|v| v.abs()).collect()).collect();
        NetView { net: net.clone(), abs_w }
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

    /// Number of operators (layers).
    pub fn layers(&self) -> usize {
        self.net.layers.len()
    }

    /// Length of z_l (and h_l).
    pub fn width(&self, l: usize) -> usize {
        self.net.layers[l].n_out
    }

    /// Length of the operator's input h_{l−1} (x for l = 0).
    pub fn input_width(&self, l: usize) -> usize {
        self.net.layers[l].n_in
    }

    pub fn relu(&self, l: usize) -> bool {
        self.net.layers[l].relu
    }

    pub fn bias(&self, l: usize) -> &[f64] {
        &self.net.layers[l].b
    }

    /// Largest number of products one entry of `A_l x` sums.
    pub fn row_terms(&self, l: usize) -> usize {
        self.net.layers[l].n_in
    }

    /// Largest number of products one entry of `A_lᵀ y` sums.
    pub fn col_terms(&self, l: usize) -> usize {
        self.net.layers[l].n_out
    }

    /// y += A_l x.
    pub fn mul_add(&self, l: usize, x: &[f64], y: &mut [f64]) {
        let layer = &self.net.layers[l];
        let ni = layer.n_in;
        for i in 0..layer.n_out {
            y[i] += dot(&layer.w[i * ni..(i + 1) * ni], x);
        }
    }

    /// x += A_lᵀ y.
    pub fn mul_t_add(&self, l: usize, y: &[f64], x: &mut [f64]) {
        let layer = &self.net.layers[l];
        let ni = layer.n_in;
        for i in 0..layer.n_out {
            if y[i] != 0.0 {
                axpy(y[i], &layer.w[i * ni..(i + 1) * ni], x);
            }
        }
    }

    /// y += |A_l| x.
    pub fn abs_mul_add(&self, l: usize, x: &[f64], y: &mut [f64]) {
        let layer = &self.net.layers[l];
        let ni = layer.n_in;
        let aw = &self.abs_w[l];
        for i in 0..layer.n_out {
            y[i] += dot(&aw[i * ni..(i + 1) * ni], x);
        }
    }

    /// The network as a ReLU program (exact exploration of its linear regions), neurons in
    /// operator order: program neuron `first_neuron(l) + i` is entry i of z_l.
    pub fn program(&self) -> ReluProgram {
        ReluProgram::from_network(&self.net)
    }

    /// Index of the first program neuron of operator l (see [`NetView::program`]).
    pub fn first_neuron(&self, l: usize) -> usize {
        self.net.layers[..l].iter().map(|layer| layer.n_out).sum()
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
        let v = NetView::new(&net);
        let x = [0.5, -1.0, 2.0];
        let mut y = vec![1.0; 4];
        v.mul_add(0, &x, &mut y);
        let mut ya = vec![0.0; 4];
        v.abs_mul_add(0, &x, &mut ya);
        let yt = [1.0, -2.0, 0.5, 3.0];
        let mut xt = vec![0.0; 3];
        v.mul_t_add(0, &yt, &mut xt);
        let w = &net.layers[0].w;
        for i in 0..4 {
            let want: f64 = 1.0 + (0..3).map(|j| w[i * 3 + j] * x[j]).sum::<f64>();
            assert!((y[i] - want).abs() < 1e-14);
            let want_abs: f64 = (0..3).map(|j| w[i * 3 + j].abs() * x[j]).sum();
            assert!((ya[i] - want_abs).abs() < 1e-14);
        }
        for j in 0..3 {
            let want: f64 = (0..4).map(|i| w[i * 3 + j] * yt[i]).sum();
            assert!((xt[j] - want).abs() < 1e-14);
        }
        assert_eq!(v.first_neuron(1), 4);
        // The program holds the hidden neurons; a linear last operator is its direct affine part.
        assert_eq!(v.program().neurons.len(), 4);
    }
}

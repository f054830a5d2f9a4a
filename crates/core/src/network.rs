//! Dense piecewise-linear networks: affine layers, each optionally followed by a ReLU.

use crate::error::{invalid, Result};
use crate::linalg::dot;

/// One affine layer `y = W x + b` (W row-major, `n_out × n_in`), optionally followed by ReLU.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub n_in: usize,
    pub n_out: usize,
    pub w: Vec<f64>,
    pub b: Vec<f64>,
    pub relu: bool,
}

/// A feed-forward ReLU network. Every neuron of a layer with `relu = true` is a hidden neuron that
/// contributes one bit to the activation pattern and one half-space to a linear region.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub layers: Vec<Layer>,
}

impl Network {
    pub fn new(layers: Vec<Layer>) -> Result<Network> {
        if layers.is_empty() {
            return invalid("network: it has no layers".to_string());
        }
        for (l, layer) in layers.iter().enumerate() {
            if layer.n_in == 0 || layer.n_out == 0 {
                return invalid(format!(
                    "network: layer {} has an empty dimension ({}x{})",
                    l, layer.n_out, layer.n_in
                ));
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
        Ok(Network { layers })
    }

    pub fn n_in(&self) -> usize {
        self.layers[0].n_in
    }

    pub fn n_out(&self) -> usize {
        self.layers[self.layers.len() - 1].n_out
    }

    /// Number of hidden (ReLU) neurons = length of an activation pattern.
    pub fn hidden_count(&self) -> usize {
        self.layers.iter().filter(|l| l.relu).map(|l| l.n_out).sum()
    }

    pub fn max_width(&self) -> usize {
        self.layers.iter().map(|l| l.n_out.max(l.n_in)).max().unwrap_or(0)
    }

    /// Forward pass of one input. `visit` sees every ReLU layer's pre-activations before the ReLU
    /// is applied; it is how patterns are read off the very same arithmetic as `forward`.
    pub fn forward_visit<F: FnMut(usize, &[f64])>(&self, x: &[f64], out: &mut [f64], mut visit: F) {
        let width = self.max_width();
        let mut cur = x.to_vec();
        let mut next = vec![0.0; width];
        for (l, layer) in self.layers.iter().enumerate() {
            next.resize(layer.n_out, 0.0);
            for i in 0..layer.n_out {
                next[i] = dot(&layer.w[i * layer.n_in..(i + 1) * layer.n_in], &cur) + layer.b[i];
            }
            if layer.relu {
                visit(l, &next[..layer.n_out]);
                for v in next.iter_mut() {
                    // z >= 0 counts as active everywhere in the project; max keeps -0.0 as is.
                    if *v < 0.0 {
                        *v = 0.0;
                    }
                }
            }
            std::mem::swap(&mut cur, &mut next);
        }
        out[..cur.len()].copy_from_slice(&cur);
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

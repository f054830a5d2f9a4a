//! The repaired network f̂ = f + Σ_A h_A, evaluated in batches.

use std::sync::Arc;

use crate::error::{invalid, Result};
use crate::gate::BoxGate;
use crate::network::Network;
use crate::patch::{PatchMap, PatchNetwork, RowTable};

#[derive(Debug, Clone)]
pub struct RepairedNetwork {
    pub original: Network,
    pub patches: Vec<PatchNetwork>,
    /// When set, the input box is one shared group of every patch's support (patches then
    /// carry no box rows of their own).
    pub box_gate: Option<BoxGate>,
    /// Composition of the constant patches (METHOD.md §4). `false`: the sum f + Σ d_i g_i.
    /// `true`: a chain in patch order, f + Σ_i d_i w_i with w_i = ReLU(g_i − U_{i+1}),
    /// U_i = U_{i+1} + w_i = max_{l >= i} g_l, U_{n+1} = 0 — at every x a convex combination of
    /// the patches whose band covers x (weights Σ w_i = max_i g_i <= 1, the rest on "no patch"),
    /// exactly d_k on the region of the last patch k whose support is 1 there. Affine patches
    /// are always added as a sum.
    pub chain: bool,
    /// Rows shared by the supports that read them (the first-layer rows, [`RowTable`]), once.
    pub table: Option<Arc<RowTable>>,
}

impl RepairedNetwork {
    pub fn new(original: Network) -> RepairedNetwork {
        RepairedNetwork { original, patches: Vec::new(), box_gate: None, chain: false, table: None }
    }

    /// The table of the first `neurons` hidden neurons' rows ([`RowTable::first_layer`]), built
    /// on first use; patches added later may read their rows from it.
    pub fn share_rows(&mut self, neurons: usize) -> Result<Arc<RowTable>> {
        let n = self.original.n_in();
        if let Some(t) = &self.table {
            if t.len() == 2 * neurons && t.n_in == n {
                return Ok(t.clone());
            }
            if self.patches.iter().any(|p| p.support.is_shared()) {
                return invalid("shared rows: the table is in use by patches; it cannot change size".to_string());
            }
        }
        let t = Arc::new(RowTable::first_layer(&self.original, neurons)?);
        self.table = Some(t.clone());
        Ok(t)
    }

    /// The same network with every support stored densely (for readers that need all rows of a
    /// patch at once; the function is the same bit for bit).
    pub fn to_dense(&self) -> RepairedNetwork {
        let mut out = self.clone();
        out.table = None;
        for p in &mut out.patches {
            if p.support.is_shared() {
                p.support = p.support.to_dense();
            }
        }
        out
    }

    pub fn add_patch(&mut self, p: PatchNetwork) -> Result<()> {
        if p.n_in() != self.original.n_in() || p.n_out() != self.original.n_out() {
            return invalid(format!(
                "patch: maps {} inputs to {} outputs, the network has {} and {}",
                p.n_in(),
                p.n_out(),
                self.original.n_in(),
                self.original.n_out()
            ));
        }
        self.patches.push(p);
        Ok(())
    }

    pub fn set_box_gate(&mut self, gate: BoxGate) -> Result<()> {
        if gate.lower.len() != self.original.n_in() {
            return invalid(format!("box gate: {} bounds for {} inputs", gate.lower.len(), self.original.n_in()));
        }
        self.box_gate = Some(gate);
        Ok(())
    }

    fn gate(&self, x: &[f64]) -> f64 {
        match &self.box_gate {
            Some(b) => b.value(x),
            None => 1.0,
        }
    }

    /// f̂(x): the original forward pass, then every patch whose support is non-zero at x.
    /// Where all supports vanish the result is the original output, bit for bit.
    pub fn forward(&self, x: &[f64], out: &mut [f64]) {
        self.original.forward(x, out);
        let gate = self.gate(x);
        if gate == 0.0 {
            return;
        }
        if !self.chain {
            for p in &self.patches {
                p.add_gated(x, gate, out);
            }
            return;
        }
        for p in self.patches.iter().filter(|p| !p.map.is_constant()) {
            p.add_gated(x, gate, out);
        }
        let mut u = 0.0;
        for p in self.patches.iter().rev() {
            if let PatchMap::Constant(c) = &p.map {
                let w = chain_step(p.support.value_gated(x, gate), &mut u);
                if w > 0.0 {
                    for (yj, dj) in out.iter_mut().zip(&c.d) {
                        *yj += dj * w;
                    }
                }
            }
        }
    }

    /// The chain weights w_i of the constant patches at x (0 for affine patches and in sum
    /// composition, where the weight of a patch is its support).
    pub fn chain_weights(&self, x: &[f64], out: &mut [f64]) {
        let gate = self.gate(x);
        let mut u = 0.0;
        for (i, p) in self.patches.iter().enumerate().rev() {
            let g = p.support.value_gated(x, gate);
            out[i] = if self.chain && p.map.is_constant() { chain_step(g, &mut u) } else { g };
        }
    }

    pub fn forward_batch(&self, xs: &[f64], n: usize, out: &mut [f64]) {
        let (ni, no) = (self.original.n_in(), self.original.n_out());
        for i in 0..n {
            self.forward(&xs[i * ni..(i + 1) * ni], &mut out[i * no..(i + 1) * no]);
        }
    }

    /// Support values g_A(x) of every patch: `n × patches` row-major.
    pub fn supports(&self, xs: &[f64], n: usize, out: &mut [f64]) {
        let ni = self.original.n_in();
        let np = self.patches.len();
        for i in 0..n {
            let x = &xs[i * ni..(i + 1) * ni];
            let gate = self.gate(x);
            for (j, p) in self.patches.iter().enumerate() {
                out[i * np + j] = p.support.value_gated(x, gate);
            }
        }
    }
}

/// One link of the chain: w = ReLU(g − U), then U ← U + w (= max(U, g)).
fn chain_step(g: f64, u: &mut f64) -> f64 {
    let w = g - *u;
    if w > 0.0 {
        *u += w;
        w
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::BoxGate;
    use crate::minimal::minimal_patch;
    use crate::network::tests::{random_network, Rng};
    use crate::patch::Support;
    use crate::region::LinearRegion;
    use crate::spec::Spec;

    #[test]
    fn repaired_network_fixes_region_and_is_bitwise_unchanged_far_away() {
        let mut rng = Rng(99);
        let net = random_network(&mut rng, &[2, 12, 12, 3]);
        let lo = [-1.0, -1.0];
        let hi = [1.0, 1.0];
        let x0 = [0.2, -0.4];
        let r = LinearRegion::of_point(&net, &x0, &lo, &hi).unwrap();
        let mut y = [0.0; 3];
        net.forward(&x0, &mut y);
        let best = (0..3).fold(0, |b, i| if y[i] > y[b] { i } else { b });
        let label = (best + 1) % 3;
        let spec = Spec::label(3, label, 0.0).unwrap();
        let mp = minimal_patch(&r, &spec).unwrap();
        let keep = r.irredundant_rows(1e-9).unwrap();
        let mut a: Vec<f64> = keep.iter().flat_map(|&i| r.a[i * 2..i * 2 + 2].to_vec()).collect();
        let mut b: Vec<f64> = keep.iter().map(|&i| r.b[i]).collect();
        for j in 0..2 {
            let mut up = vec![0.0; 2];
            up[j] = 1.0;
            a.extend(&up);
            b.push(hi[j]);
            up[j] = -1.0;
            a.extend(&up);
            b.push(-lo[j]);
        }
        let radius = 0.05;
        let d = mp.constant.expect("a constant patch").d;
        let patch = PatchNetwork::constant(Support::new(2, a.clone(), b.clone(), radius).unwrap(), d).unwrap();
        let mut rep = RepairedNetwork::new(net.clone());
        rep.add_patch(patch).unwrap();
        let (mut inside, mut far) = (0, 0);
        for _ in 0..20000 {
            let x = [rng.range(-1.5, 1.5), rng.range(-1.5, 1.5)];
            let mut yo = [0.0; 3];
            let mut yr = [0.0; 3];
            net.forward(&x, &mut yo);
            rep.forward(&x, &mut yr);
            if net.pattern(&x) == r.pattern
                && x.iter().zip(lo.iter().zip(hi.iter())).all(|(v, (l, h))| v >= l && v <= h)
            {
                inside += 1;
                assert!(spec.violation(&yr) <= 1e-9, "spec fails inside the repaired region");
            }
            let excess: f64 = (0..b.len()).map(|i| (a[i * 2] * x[0] + a[i * 2 + 1] * x[1] - b[i]).max(0.0)).sum();
            if excess >= radius {
                far += 1;
                for j in 0..3 {
                    assert_eq!(yo[j].to_bits(), yr[j].to_bits());
                }
            }
        }
        assert!(inside > 0 && far > 0);
    }

    #[test]
    fn shared_box_gate_equals_box_rows_in_every_support() {
        let mut rng = Rng(8);
        let net = random_network(&mut rng, &[3, 10, 10, 2]);
        let lo = [-1.0, -1.0, -1.0];
        let hi = [1.0, 1.0, 1.0];
        let r = LinearRegion::of_point(&net, &[0.1, 0.2, -0.3], &lo, &hi).unwrap();
        let (a_box, b_box) = r.all_rows(true);
        let (a, b) = r.all_rows(false);
        assert_eq!(b_box.len(), b.len() + 6);
        let radius = 0.3;
        let with_rows = Support::new(3, a_box, b_box, radius).unwrap();
        let without = Support::new(3, a, b, radius).unwrap();
        let gate = BoxGate::new(lo.to_vec(), hi.to_vec(), radius).unwrap();
        let mut nonzero = 0;
        for _ in 0..20000 {
            let x = [rng.range(-1.6, 1.6), rng.range(-1.6, 1.6), rng.range(-1.6, 1.6)];
            let g1 = with_rows.value(&x);
            let g2 = without.value_gated(&x, gate.value(&x));
            assert!((g1 - g2).abs() < 1e-12, "{} vs {} at {:?}", g1, g2, x);
            if g1 > 0.0 {
                nonzero += 1;
            }
        }
        assert!(nonzero > 100);
    }

    /// One support, two storages: the rows a region gives a patch, stored densely or read from
    /// the network's first-layer table (deeper rows kept as own rows), evaluate bit for bit the
    /// same — support values, repaired outputs (sum and chain) — on random networks and points.
    #[test]
    fn shared_rows_evaluate_bit_for_bit_as_dense_rows() {
        let mut rng = Rng(2024);
        let mut checked = 0usize;
        let mut nonzero = 0usize;
        for trial in 0..12 {
            let n = 2 + trial % 7;
            let (h1, h2) = (3 + trial % 5, 2 + trial % 4);
            let net = random_network(&mut rng, &[n, h1, h2, 3]);
            let lo = vec![-1.0; n];
            let hi = vec![1.0; n];
            let mut dense_net = RepairedNetwork::new(net.clone());
            let mut shared_net = RepairedNetwork::new(net.clone());
            let table = shared_net.share_rows(h1).unwrap();
            let mut anchors = Vec::new();
            for _ in 0..3 {
                let x0: Vec<f64> = (0..n).map(|_| rng.range(-0.9, 0.9)).collect();
                let r = LinearRegion::of_point(&net, &x0, &lo, &hi).unwrap();
                let m = r.b.len();
                let (mut slot, mut own) = (Vec::new(), Vec::new());
                let mut owned = 0u32;
                for i in 0..m {
                    let k = r.neuron[i] as usize;
                    if k < h1 {
                        slot.push((2 * k + r.pattern[k] as usize) as u32);
                    } else {
                        slot.push(table.len() as u32 + owned);
                        owned += 1;
                        own.extend_from_slice(&r.a[i * n..(i + 1) * n]);
                    }
                }
                let radius = rng.range(0.05, 0.6);
                let dense = Support::new(n, r.a.clone(), r.b.clone(), radius).unwrap();
                let shared = Support::shared(table.clone(), slot, own, r.b.clone(), radius).unwrap();
                assert!(shared.is_shared() && !dense.is_shared());
                for i in 0..m {
                    let (a, b) = (dense.row(i), shared.row(i));
                    assert!(a.iter().zip(b).all(|(u, v)| u.to_bits() == v.to_bits()), "row {} differs", i);
                }
                assert_eq!(shared.dense_rows().as_ref(), dense.dense_rows().as_ref());
                assert_eq!(shared.to_dense(), dense);
                let d: Vec<f64> = (0..3).map(|_| rng.range(-2.0, 2.0)).collect();
                dense_net.add_patch(PatchNetwork::constant(dense.clone(), d.clone()).unwrap()).unwrap();
                shared_net.add_patch(PatchNetwork::constant(shared.clone(), d).unwrap()).unwrap();
                anchors.push((x0, dense, shared));
            }
            for (x0, dense, shared) in &anchors {
                for _ in 0..300 {
                    let s = rng.range(0.0, 1.5);
                    let x: Vec<f64> = x0.iter().map(|v| v + s * rng.range(-1.0, 1.0)).collect();
                    let gate = rng.range(0.0, 1.0);
                    let (g1, g2) = (dense.value_gated(&x, gate), shared.value_gated(&x, gate));
                    assert_eq!(g1.to_bits(), g2.to_bits(), "support at {:?}", x);
                    if g1 > 0.0 {
                        nonzero += 1;
                    }
                    for chain in [false, true] {
                        dense_net.chain = chain;
                        shared_net.chain = chain;
                        let (mut y1, mut y2) = ([0.0; 3], [0.0; 3]);
                        dense_net.forward(&x, &mut y1);
                        shared_net.forward(&x, &mut y2);
                        assert!(y1.iter().zip(&y2).all(|(u, v)| u.to_bits() == v.to_bits()), "{:?} vs {:?}", y1, y2);
                    }
                    checked += 1;
                }
            }
            let back = shared_net.to_dense();
            assert!(back.patches.iter().all(|p| !p.support.is_shared()) && back.table.is_none());
            assert_eq!(back.patches, dense_net.patches);
        }
        assert!(
            checked == 12 * 3 * 300 && nonzero > checked / 10,
            "{} of {} points inside a support",
            nonzero,
            checked
        );
    }

    #[test]
    fn shared_supports_reject_bad_slots() {
        let mut rng = Rng(5);
        let net = random_network(&mut rng, &[2, 4, 2]);
        let mut rep = RepairedNetwork::new(net);
        let t = rep.share_rows(4).unwrap();
        assert_eq!(t.len(), 8);
        let e = Support::shared(t.clone(), vec![0, 9], vec![1.0, 0.0], vec![0.0, 0.0], 0.1).unwrap_err();
        assert!(e.to_string().contains("row slot 1 is 9, past 8 table and 1 own rows"), "{}", e);
        let e = Support::shared(t.clone(), vec![0], vec![], vec![0.0, 1.0], 0.1).unwrap_err();
        assert!(e.to_string().contains("1 row slots for 2 rows"), "{}", e);
        let e = Support::shared(t, vec![8], vec![f64::NAN, 0.0], vec![0.0], 0.1).unwrap_err();
        assert_eq!(e.to_string(), "patch: parameter 1 is not finite");
        assert!(rep.share_rows(5).unwrap_err().to_string().contains("5 neurons, the network has 4 hidden"));
    }
}

//! Tolerances and rounding of the certificate bounds.
//!
//! A certificate proves, for every spec row j and every point x of what it covers,
//!
//!   P_j f̂(x) − q_j  <=  LP bound + decision budget + rounding  <=  T_j.
//!
//! * **LP bound**: the simplex's weak-duality upper bound over the piece, with its own rounding
//!   margin (`lp.rs`), for the piece row *as computed*.
//! * **Decision budget**: Σ_k S_jk err_k over the neurons whose sign was decided without a split
//!   (explorer decisions on patch neurons, and the region's own decisions handed on by the
//!   enumeration), S the Lipschitz bounds of the row in the neurons' outputs.
//! * **Rounding**: what separates the computed row from the real-arithmetic row the parameters
//!   define. The region's affine map F x + e is propagated node by node in f64 through the
//!   network's graph (`LinearRegion::of_pattern`): with m_k = Σ_t |A_t| D m_{src} + |b_k| (m_0 =
//!   |x|max over the region's box; D the pattern), each node adds at most γ_{t+1}·m_k to its error
//!   (t products per entry), which later nodes carry with |A| D, so |computed − exact| <= Σ γ m
//!   per output ([`map_rounding`]). The same bound covers points whose true pattern differs from the region's
//!   only by a neuron whose pre-activation is within rounding of 0 (its output is that small),
//!   so it is counted twice. On top of that each piece row is a sum of `ops` rounded terms of
//!   total magnitude M, which rounds by at most γ_ops·M ([`row_rounding`]). All of it is added to
//!   the bound (rounded up), never hidden in the tolerance.
//! * **Tolerance** T_j: the absolute tolerance asked for (`--tolerance`), or by default
//!   rtol·(1 + V_j) with V_j = max |P_j f(x) − q_j| over the region's box (interval arithmetic):
//!   the scale of the row's *values*, not of its terms, so that a network with large
//!   intermediate terms and small outputs is not certified loosely.

use crate::bounds::rounding::{err_bound, gamma};
use crate::network::Network;
use crate::program::ReluProgram;

use super::options::CertifyOptions;

/// |c0| + Σ_i |c_i|·max(|lo_i|, |hi_i|): the magnitude of the terms of c·x + c0 over [lo, hi].
pub(super) fn magnitude(c: &[f64], c0: f64, lo: &[f64], hi: &[f64]) -> f64 {
    let mut mag = c0.abs();
    for i in 0..c.len() {
        mag += c[i].abs() * lo[i].abs().max(hi[i].abs());
    }
    mag
}

/// max |c·x + c0| over the box [lo, hi] (interval arithmetic, rounded up generously).
pub(super) fn value_scale(c: &[f64], c0: f64, lo: &[f64], hi: &[f64]) -> f64 {
    let (mut mx, mut mn) = (c0, c0);
    for i in 0..c.len() {
        let (p, q) = (c[i] * lo[i], c[i] * hi[i]);
        mx += p.max(q);
        mn += p.min(q);
    }
    mx.abs().max(mn.abs()) + err_bound(c.len() + 2, magnitude(c, c0, lo, hi))
}

/// The tolerance T_j of a row whose unpatched form is `base·x + base0` over the region's box.
pub(super) fn row_tolerance(opts: &CertifyOptions, base: &[f64], base0: f64, lo: &[f64], hi: &[f64]) -> f64 {
    match opts.tolerance {
        Some(t) => t,
        None => opts.rtol * (1.0 + value_scale(base, base0, lo, hi)),
    }
}

/// Rounding of a piece row `row·x + row0` built from `ops` rounded operations per coefficient,
/// over [lo, hi].
pub(super) fn row_rounding(row: &[f64], row0: f64, ops: usize, lo: &[f64], hi: &[f64]) -> f64 {
    err_bound(ops, magnitude(row, row0, lo, hi))
}

/// Per output o: a bound on |(F̂ x + ê)_o − (F x + e)_o| over the box [lo, hi] for the region of
/// `pattern` (see the module documentation), and the magnitude m_L,o of its terms.
///
/// The region's map is propagated node by node through the network's graph
/// (`network/linearise.rs`): an entry of node k sums, over its terms, the structural entries of
/// one row of each operator times the source values' maps, plus the bias. With m the magnitude of
/// each value's map over the box and e its accumulated error, a node entry has magnitude
/// |b_i| + Σ |a_ij| m_j and error Σ |a_ij| e_j + γ_{t+1}·(that magnitude), t the number of
/// products summed; a node that only reads the input through one term is the operator's rows
/// themselves (copied, exact: no own rounding). ReLU elements inactive in the pattern are 0.
pub(super) fn map_rounding(net: &Network, pattern: &[u8], lo: &[f64], hi: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let g = net.graph();
    let mut mags: Vec<Vec<f64>> = Vec::with_capacity(g.nodes.len() + 1);
    let mut errs: Vec<Vec<f64>> = Vec::with_capacity(g.nodes.len() + 1);
    mags.push(lo.iter().zip(hi).map(|(l, h)| l.abs().max(h.abs())).collect());
    errs.push(vec![0.0; lo.len()]);
    let mut offset = 0usize;
    for node in &g.nodes {
        let size = node.size();
        let copied = node.terms.len() == 1 && node.terms[0].from == 0;
        let mut m2: Vec<f64> = node.bias.iter().map(|b| b.abs()).collect();
        let mut e2 = vec![0.0; size];
        let mut count = vec![0usize; size];
        for term in &node.terms {
            let (m, e) = (&mags[term.from], &errs[term.from]);
            for i in 0..size {
                let (mut mi, mut ei, mut ci) = (0.0, 0.0, 0usize);
                term.op.for_each_in_row(i, |j, a| {
                    mi += a.abs() * m[j];
                    ei += a.abs() * e[j];
                    ci += 1;
                });
                m2[i] += mi;
                e2[i] += ei;
                count[i] += ci;
            }
        }
        for i in 0..size {
            let own = if copied { 0.0 } else { gamma(count[i] + 1) * m2[i] };
            m2[i] *= 1.0 + 1e-9;
            e2[i] = (e2[i] + own) * (1.0 + 1e-9);
        }
        if node.relu {
            for i in 0..size {
                if pattern.get(offset + i).map_or(true, |&s| s == 0) {
                    m2[i] = 0.0;
                    e2[i] = 0.0;
                }
            }
            offset += size;
        }
        mags.push(m2);
        errs.push(e2);
    }
    let (e, m) = (errs.pop().unwrap_or_default(), mags.pop().unwrap_or_default());
    (e, m)
}

/// The rounding of spec row `pj·y − qj` on the region map: its outputs' errors `err` and
/// magnitudes `mag` (from [`map_rounding`]), counted twice (see the module documentation), and
/// the rounding of the row's own combination of the outputs.
pub(super) fn spec_row_rounding(pj: &[f64], qj: f64, err: &[f64], mag: &[f64]) -> f64 {
    let (mut e, mut m) = (0.0, qj.abs());
    for o in 0..pj.len() {
        e += pj[o].abs() * err[o];
        m += pj[o].abs() * mag[o];
    }
    2.0 * e * (1.0 + 1e-9) + err_bound(pj.len() + 1, m)
}

/// Decision slack per neuron, so that the whole error budget Σ_k S_jk err_k stays below 1 % of
/// the room each row's tolerance leaves after its rounding and region budget (`extra`): slivers
/// thinner than that are not split off, and what they cost is charged. `sens` holds the
/// sensitivities `neurons × rows`.
pub(super) fn set_decision_slack(program: &mut ReluProgram, sens: &[f64], tol: &[f64], extra: &[f64], rows: usize) {
    let floor = (0..rows).map(|j| (tol[j] - extra[j]).max(0.0)).fold(f64::INFINITY, f64::min);
    let nn = program.neurons.len();
    for (k, neuron) in program.neurons.iter_mut().enumerate() {
        let s_max = (0..rows).map(|j| sens[k * rows + j]).fold(0.0f64, f64::max);
        neuron.slack = if s_max > 0.0 && floor.is_finite() { 0.01 * floor / (s_max * nn as f64) } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{random_network, Rng};
    use crate::region::LinearRegion;

    /// The region map of a deep network with large weights, recomputed in exact dyadic arithmetic
    /// (i128 numerators on a common power-of-two scale), lies within `map_rounding` of the f64 map.
    #[test]
    fn map_rounding_covers_the_f64_map_of_a_region() {
        let mut rng = Rng(77);
        for trial in 0..20 {
            let mut layers = random_network(&mut rng, &[2, 6, 6, 6, 2]).dense_layers().unwrap().to_vec();
            // Weights k/64 in [-8, 8], biases k/64: products stay exact in i128 after scaling.
            for l in layers.iter_mut() {
                for w in l.w.iter_mut().chain(l.b.iter_mut()) {
                    *w = ((*w * 300.0).round() / 64.0).clamp(-40.0, 40.0);
                }
            }
            let net = Network::new(layers).unwrap();
            let lo = [-3.0, -3.0];
            let hi = [3.0, 3.0];
            let x = [rng.range(-3.0, 3.0), rng.range(-3.0, 3.0)];
            let region = LinearRegion::of_point(&net, &x, &lo, &hi).unwrap();
            let (err, _) = map_rounding(&net, &region.pattern, &lo, &hi);
            // Exact value of the region's map at the corner points (dyadic inputs): the network
            // with the pattern's states, in integers scaled by 64 per layer.
            for corner in [[-3.0, -3.0], [3.0, -3.0], [0.5, 2.25]] {
                let mut v: Vec<i128> = corner.iter().map(|c| (c * 4.0) as i128).collect(); // scale 4
                let mut scale: i128 = 4;
                let mut offset = 0;
                for layer in net.dense_layers().unwrap() {
                    let mut out = vec![0i128; layer.n_out];
                    for i in 0..layer.n_out {
                        let mut s: i128 = (layer.b[i] * 64.0) as i128 * scale;
                        for j in 0..layer.n_in {
                            s += (layer.w[i * layer.n_in + j] * 64.0) as i128 * v[j];
                        }
                        out[i] = s;
                    }
                    scale *= 64;
                    if layer.relu {
                        for i in 0..layer.n_out {
                            if region.pattern[offset + i] == 0 {
                                out[i] = 0;
                            }
                        }
                        offset += layer.n_out;
                    }
                    v = out;
                }
                let mut y = [0.0; 2];
                region.affine(&corner, &mut y);
                for o in 0..2 {
                    let exact = v[o] as f64 / scale as f64; // the division rounds once: negligible
                    assert!(
                        (y[o] - exact).abs() <= err[o] + 1e-300 + exact.abs() * 2.0 * f64::EPSILON,
                        "trial {} output {}: |{} - {}| > {}",
                        trial,
                        o,
                        y[o],
                        exact,
                        err[o]
                    );
                }
            }
        }
    }
}

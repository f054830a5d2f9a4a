//! Bounds on graphs (issue 12's residual, concatenated and max networks): soundness against
//! sampled points, and the chain case bit for bit the same as the chain-only code it replaced.

use super::*;
use crate::network::tests::{random_network, Rng};
use crate::network::{Conv, Network, Op, Window};
use crate::network::{Graph, Node, Term};

/// FNV-1a over the bits of every bound of a run (a change of any bit changes it).
struct Digest(u64);
impl Digest {
    fn add(&mut self, v: f64) {
        for b in v.to_bits().to_le_bytes() {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }
    fn all(&mut self, vs: &[f64]) {
        for &v in vs {
            self.add(v);
        }
    }
}

/// A chain of convolutions and a dense head: [2,6,6] → conv 3×3 stride 2 pad 1 (ReLU) →
/// conv 3×3 pad 1 (ReLU) → dense 3.
fn conv_chain(rng: &mut Rng) -> Network {
    let win = |s: usize| Window { kernel: [3, 3], stride: [s, s], pads: [1, 1, 1, 1], dilation: [1, 1] };
    let mut normals = |n: usize, s: f64| -> Vec<f64> { (0..n).map(|_| rng.normal() * s).collect() };
    let c1 = Conv {
        image: [2, 6, 6],
        features: [3, 3, 3],
        window: win(2),
        groups: 1,
        transposed: false,
        w: normals(3 * 2 * 9, 0.4),
    };
    let c2 = Conv {
        image: [3, 3, 3],
        features: [2, 3, 3],
        window: win(1),
        groups: 1,
        transposed: false,
        w: normals(2 * 3 * 9, 0.4),
    };
    let d = crate::network::Dense { n_in: 18, n_out: 3, w: normals(54, 0.3) };
    let nodes = vec![
        Node { terms: vec![Term { from: 0, op: Op::Conv(c1), negate: false }], bias: normals(27, 0.1), relu: true },
        Node { terms: vec![Term { from: 1, op: Op::Conv(c2), negate: false }], bias: normals(18, 0.1), relu: true },
        Node { terms: vec![Term { from: 2, op: Op::Dense(d), negate: false }], bias: normals(3, 0.1), relu: false },
    ];
    Network::from_graph(Graph { n_in: 72, nodes }).unwrap()
}

/// Every bound the module computes on a few chains and boxes, digested.
fn chain_digest() -> u64 {
    let mut rng = Rng(20261206);
    let mut d = Digest(0xcbf2_9ce4_8422_2325);
    for trial in 0..12 {
        let net = match trial % 4 {
            0 => random_network(&mut rng, &[3, 8, 8, 3]),
            1 => random_network(&mut rng, &[5, 12, 10, 12, 4]),
            2 => random_network(&mut rng, &[4, 16, 2]),
            _ => conv_chain(&mut rng),
        };
        let view = NetView::new(&net).unwrap();
        let n = net.n_in();
        let lo: Vec<f64> = (0..n).map(|_| rng.range(-1.0, 0.5)).collect();
        let hi: Vec<f64> = lo.iter().map(|&l| l + rng.range(0.0, 0.6)).collect();
        let ib = interval_bounds(&view, &lo, &hi).unwrap();
        for l in 0..ib.lower.len() {
            d.all(&ib.lower[l]);
            d.all(&ib.upper[l]);
        }
        let k = net.n_out();
        let c: Vec<f64> = (0..k).map(|_| rng.range(-1.0, 1.0)).collect();
        for slope in [LowerSlope::Adaptive, LowerSlope::Parallel, LowerSlope::Zero] {
            for (bs, both) in [(true, true), (true, false), (false, false)] {
                let opts = BoundOptions { slope, back_substitute: bs, both_slopes: both };
                let sb = SymbolicBounds::compute_with(&view, &lo, &hi, opts, &ib).unwrap();
                for l in 0..sb.lower.len() {
                    d.all(&sb.lower[l]);
                    d.all(&sb.upper[l]);
                }
                let rb = sb.row_upper(&view, &c, 0.25).unwrap();
                d.add(rb.upper);
                d.add(rb.offset);
                d.all(&rb.slope);
                d.add(sb.row_upper_forward(&c, 0.25));
                let ro = sb.row_upper_optimised(&view, &c, 0.25, 6).unwrap();
                d.add(ro.upper);
                d.add(ro.offset);
                d.all(&ro.slope);
                let lp = LpRelaxation::build(&view, &lo, &hi, &sb.lower, &sb.upper).unwrap();
                d.add(lp.row_upper(&c, 0.25).unwrap());
            }
        }
        d.add(row_bounds(&view, &lo, &hi, &c, -0.5, RowMethod::Best, BoundOptions::default()).unwrap().upper);
    }
    d.0
}

/// The digest the chain-only code (main at 7b1c46e, before graphs were bounded) gives on the
/// same networks and boxes: the graph code does exactly the same operations on a chain.
const CHAIN_DIGEST_BEFORE_GRAPHS: u64 = 0xd490_2915_1c5a_bd67;

#[test]
fn chain_bounds_are_bit_for_bit_those_of_the_chain_only_code() {
    assert_eq!(chain_digest(), CHAIN_DIGEST_BEFORE_GRAPHS);
}

fn dense(rng: &mut Rng, n_in: usize, n_out: usize) -> Op {
    let s = 1.0 / (n_in as f64).sqrt();
    Op::Dense(crate::network::Dense { n_in, n_out, w: (0..n_in * n_out).map(|_| rng.normal() * s).collect() })
}

fn gather(n_in: usize, index: Vec<u32>) -> Op {
    Op::Gather(crate::network::Gather { n_in, index })
}

/// A small random graph of the project's form: dense ReLU nodes reading one or two earlier
/// values (residual connections, some subtracted, identity skips where the widths agree),
/// concatenations (index maps with zero fill), and max of element pairs lowered to ReLUs
/// (max(a, b) = a + ReLU(b − a)); a dense output reading the last value and an older one.
pub(crate) fn small_graph(rng: &mut Rng) -> Network {
    let n_in = 2 + (rng.next_u64() % 3) as usize;
    let mut widths = vec![n_in];
    let mut nodes: Vec<Node> = Vec::new();
    let count = 3 + (rng.next_u64() % 4) as usize;
    let bias = |rng: &mut Rng, w: usize| -> Vec<f64> { (0..w).map(|_| rng.normal() * 0.2).collect() };
    for _ in 0..count {
        let nv = widths.len();
        let last = nv - 1;
        let older = (rng.next_u64() % nv as u64) as usize;
        match rng.next_u64() % 4 {
            0 | 1 => {
                // Dense ReLU node, with a residual term from an older value.
                let w = 3 + (rng.next_u64() % 4) as usize;
                let mut terms = vec![Term { from: last, op: dense(rng, widths[last], w), negate: false }];
                if widths[older] == w && rng.next_u64() % 2 == 0 {
                    terms.push(Term { from: older, op: Op::Identity(w), negate: false });
                } else {
                    let negate = rng.next_u64() % 2 == 0;
                    terms.push(Term { from: older, op: dense(rng, widths[older], w), negate });
                }
                nodes.push(Node { terms, bias: bias(rng, w), relu: true });
                widths.push(w);
            }
            2 => {
                // Concatenation of the last value and an older one, one zero-filled slot.
                let (a, b) = (widths[last], widths[older]);
                let w = a + b + 1;
                let ia: Vec<u32> = (0..w).map(|i| if i < a { i as u32 } else { u32::MAX }).collect();
                let ib: Vec<u32> =
                    (0..w).map(|i| if i >= a && i < a + b { (i - a) as u32 } else { u32::MAX }).collect();
                nodes.push(Node {
                    terms: vec![
                        Term { from: last, op: gather(a, ia), negate: false },
                        Term { from: older, op: gather(b, ib), negate: false },
                    ],
                    bias: vec![0.0; w],
                    relu: false,
                });
                widths.push(w);
            }
            _ => {
                // Max of element pairs of the last value (after a dense ReLU node when it is
                // too narrow): t = ReLU(odd − even), m = even + t.
                let mut src = last;
                if widths[src] < 2 {
                    nodes.push(Node {
                        terms: vec![Term { from: src, op: dense(rng, widths[src], 4), negate: false }],
                        bias: bias(rng, 4),
                        relu: true,
                    });
                    widths.push(4);
                    src = widths.len() - 1;
                }
                let h = widths[src] / 2;
                let even = gather(widths[src], (0..h).map(|i| 2 * i as u32).collect());
                let odd = gather(widths[src], (0..h).map(|i| 2 * i as u32 + 1).collect());
                nodes.push(Node {
                    terms: vec![
                        Term { from: src, op: odd, negate: false },
                        Term { from: src, op: even.clone(), negate: true },
                    ],
                    bias: vec![0.0; h],
                    relu: true,
                });
                widths.push(h);
                let t = widths.len() - 1;
                nodes.push(Node {
                    terms: vec![
                        Term { from: src, op: even, negate: false },
                        Term { from: t, op: Op::Identity(h), negate: false },
                    ],
                    bias: vec![0.0; h],
                    relu: false,
                });
                widths.push(h);
            }
        }
    }
    let nv = widths.len();
    let last = nv - 1;
    let older = (rng.next_u64() % nv as u64) as usize;
    let k = 2 + (rng.next_u64() % 2) as usize;
    let mut terms = vec![Term { from: last, op: dense(rng, widths[last], k), negate: false }];
    if older != last {
        terms.push(Term { from: older, op: dense(rng, widths[older], k), negate: true });
    }
    nodes.push(Node { terms, bias: bias(rng, k), relu: false });
    Network::from_graph(Graph { n_in, nodes }).unwrap()
}

/// Every node's pre-activation at x, computed from the operators' rows (`for_each_in_row`, not
/// the products the bounds use), and the output.
pub(crate) fn all_pre_activations(net: &Network, x: &[f64]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let g = net.graph();
    let mut vals: Vec<Vec<f64>> = vec![x.to_vec()];
    let mut pre = Vec::new();
    for node in &g.nodes {
        let mut z = node.bias.clone();
        for t in &node.terms {
            let src = &vals[t.from];
            for (i, zi) in z.iter_mut().enumerate() {
                let mut s = 0.0;
                t.op.for_each_in_row(i, |j, a| s += a * src[j]);
                *zi += if t.negate { -s } else { s };
            }
        }
        let v = if node.relu { z.iter().map(|&v| v.max(0.0)).collect() } else { z.clone() };
        pre.push(z);
        vals.push(v);
    }
    (pre, vals.pop().unwrap())
}

fn point(rng: &mut Rng, lo: &[f64], hi: &[f64]) -> Vec<f64> {
    lo.iter()
        .zip(hi)
        .map(|(&l, &h)| match rng.next_u64() % 6 {
            0 => l,
            1 => h,
            _ => rng.range(l, h),
        })
        .collect()
}

/// Sampled pre-activations and outputs inside every bound of a box: interval, symbolic (every
/// slope option), back-substituted rows (and their linear functions), optimised slopes, the
/// LP relaxation. `trials` random graphs plus `random_graph` (conv, pooling, transposed conv).
#[test]
fn graph_bounds_contain_every_sampled_point() {
    let mut rng = Rng(99);
    let (mut checked, mut nontrivial) = (0usize, 0usize);
    for trial in 0..41 {
        let net = if trial == 40 { crate::network::tests::random_graph(&mut rng) } else { small_graph(&mut rng) };
        let view = NetView::new(&net).unwrap();
        assert_eq!(
            view.is_chain(),
            net.graph().nodes.iter().enumerate().all(|(k, n)| n.terms.len() == 1 && n.terms[0].from == k)
        );
        let n = net.n_in();
        let width = [0.05, 0.5, 2.0][trial % 3];
        let lo: Vec<f64> = (0..n).map(|_| rng.range(-1.0, 1.0)).collect();
        let hi: Vec<f64> = lo.iter().map(|&l| l + rng.range(0.0, width)).collect();
        let ib = interval_bounds(&view, &lo, &hi).unwrap();
        let k = net.n_out();
        let c: Vec<f64> = (0..k).map(|_| rng.range(-1.0, 1.0)).collect();
        let mut sbs = Vec::new();
        for (slope, bs, both) in
            [(LowerSlope::Adaptive, true, true), (LowerSlope::Zero, true, false), (LowerSlope::Parallel, false, false)]
        {
            sbs.push(
                SymbolicBounds::compute_with(
                    &view,
                    &lo,
                    &hi,
                    BoundOptions { slope, back_substitute: bs, both_slopes: both },
                    &ib,
                )
                .unwrap(),
            );
        }
        // The bounded-steps pass gives the same bounds as the one-call pass.
        let mut pass = SymbolicPass::new(&view, &lo, &hi, BoundOptions::default()).unwrap();
        while !pass.done() {
            pass.advance(&view, &ib, None, 7);
        }
        let stepped = pass.finish(&view).unwrap();
        assert_eq!((&stepped.lower, &stepped.upper), (&sbs[0].lower, &sbs[0].upper));
        let rows: Vec<(RowBound, RowBound, f64)> = sbs
            .iter()
            .map(|sb| {
                let lp =
                    LpRelaxation::build(&view, &lo, &hi, &sb.lower, &sb.upper).unwrap().row_upper(&c, 0.1).unwrap();
                (sb.row_upper(&view, &c, 0.1).unwrap(), sb.row_upper_optimised(&view, &c, 0.1, 5).unwrap(), lp)
            })
            .collect();
        // Symbolic bounds are at least as tight as interval arithmetic (they are intersected).
        for l in 0..ib.lower.len() {
            for i in 0..ib.lower[l].len() {
                assert!(sbs[0].lower[l][i] >= ib.lower[l][i] && sbs[0].upper[l][i] <= ib.upper[l][i]);
                if sbs[0].upper[l][i] < ib.upper[l][i] {
                    nontrivial += 1;
                }
            }
        }
        for s in 0..300 {
            let x = point(&mut rng, &lo, &hi);
            let (pre, y) = all_pre_activations(&net, &x);
            let mut yn = vec![0.0; k];
            net.forward(&x, &mut yn);
            for o in 0..k {
                assert!((yn[o] - y[o]).abs() <= 1e-9 * (1.0 + y[o].abs()), "trial {} forward disagrees", trial);
            }
            for l in 0..pre.len() {
                for i in 0..pre[l].len() {
                    let z = pre[l][i];
                    assert!(
                        ib.lower[l][i] <= z && z <= ib.upper[l][i],
                        "trial {} interval node {} entry {}",
                        trial,
                        l,
                        i
                    );
                    for (m, sb) in sbs.iter().enumerate() {
                        assert!(
                            sb.lower[l][i] <= z && z <= sb.upper[l][i],
                            "trial {} symbolic {} node {} entry {}: {} not in [{}, {}]",
                            trial,
                            m,
                            l,
                            i,
                            z,
                            sb.lower[l][i],
                            sb.upper[l][i]
                        );
                    }
                }
            }
            let (ol, ou) =
                ib.output_lower().into_iter().zip(ib.output_upper()).fold((vec![], vec![]), |mut a, (l, u)| {
                    a.0.push(l);
                    a.1.push(u);
                    a
                });
            for o in 0..k {
                assert!(ol[o] <= y[o] && y[o] <= ou[o], "trial {} output {}", trial, o);
            }
            let v: f64 = c.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>() - 0.1;
            let tol = 1e-9 * (1.0 + v.abs());
            for (m, (rb, ro, lp)) in rows.iter().enumerate() {
                assert!(
                    v <= rb.upper + tol && v <= ro.upper + tol && v <= lp + tol,
                    "trial {} row {} sample {}: {} above {} / {} / {}",
                    trial,
                    m,
                    s,
                    v,
                    rb.upper,
                    ro.upper,
                    lp
                );
                for f in [rb, ro] {
                    let lin: f64 = f.slope.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>() + f.offset;
                    assert!(v <= lin + tol, "trial {} row {}: the linear function is below at a sample", trial, m);
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 41 * 300);
    assert!(nontrivial > 100, "symbolic bounds tighter than interval arithmetic on {} entries only", nontrivial);
}

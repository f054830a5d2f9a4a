//! The affine maps of one activation pattern: every value of the graph is affine in x once the
//! pattern fixes which ReLU elements pass their pre-activation, v(x) = J x + c. Propagated node by
//! node, J_node = Σ ±A_t J_src (row by row, from the operators' row entries) and
//! c_node = bias + Σ ±A_t c_src. A ReLU element's pre-activation z_i(x) = Z_i·x + z0_i gives the
//! region's half-space (z_i >= 0 active, <= 0 inactive); the output's map is the region's F x + e.
//!
//! Memory. The rows of the region are the only large object: one row of n_in values per ReLU
//! element whose pre-activation is not constant. A ReLU node's Jacobian *is* its rows (stored
//! unnormalised in the region's row buffer while later nodes read them, normalised in place at the
//! end), so no copy is made; inactive elements are zero rows and are skipped. Only linear nodes
//! that are not the output keep a Jacobian of their own (size × n_in), released after their last
//! reader. Peak = rows × n_in × 8 B + the largest set of live linear Jacobians + F
//! ([`RegionCost`]). For the CIFAR-10 conv net `cifar_base_kw` (3 × 32 × 32 inputs; ReLU nodes of
//! 2,048, 1,024 and 100 elements; no linear node but the output) that is at most
//! 3,172 × 3,072 × 8 B = 78 MB of rows plus 10 × 3,072 × 8 B for F.
//!
//! Bit-identity with the dense-layer code: a dense row is copied from the weights when it reads
//! the input, otherwise accumulated with one `axpy` per live, non-zero weight in column order; the
//! offset is bias + dot; rows are normalised as `s·v / ‖v‖`. Skipping a zero row instead of adding
//! w·0 changes no bit: an accumulator that starts at +0 and only ever has products added is never
//! −0, and x + (±0) = x for every such x.

use crate::error::{invalid, Result};
use crate::linalg::{axpy, norm2};
use crate::network::op::Op;
use crate::network::Network;
use crate::window_rows::WindowRows;

/// The rows and affine map of one activation pattern (see [`linearise`]).
#[derive(Debug, Clone)]
pub struct Linearisation {
    /// Half-spaces `a_i·x <= b_i`, each ‖a_i‖₂ = 1, one per ReLU element with a non-constant
    /// pre-activation, in pattern order; stored over their windows (a convolution's row reads a
    /// few rows of the image).
    pub rows: WindowRows,
    pub b: Vec<f64>,
    /// Pattern position of each row.
    pub neuron: Vec<u32>,
    /// ‖Z_i‖ of each row's pre-activation before normalisation.
    pub norm: Vec<f64>,
    /// ReLU elements whose pre-activation is constant (no row).
    pub constant_neurons: usize,
    /// The output's map F x + e, `n_out × n_in` row-major.
    pub f: Vec<f64>,
    pub e: Vec<f64>,
}

/// What linearising costs: the bound on the rows, and the largest working set besides them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionCost {
    /// ReLU elements (an upper bound on the rows), times n_in × 8 bytes.
    pub row_bytes: usize,
    /// The largest total of linear nodes' Jacobians alive at once (bytes).
    pub jacobian_bytes: usize,
    /// F (bytes).
    pub output_bytes: usize,
}

impl RegionCost {
    pub fn total(&self) -> usize {
        self.row_bytes.saturating_add(self.jacobian_bytes).saturating_add(self.output_bytes)
    }
}

const DEAD: u32 = u32::MAX;

/// The affine map of a value on the region.
enum Jacobian {
    /// The input itself.
    Input,
    /// A ReLU node: element → row of the row buffer holding its pre-activation (live only when
    /// active with a non-zero row), or [`DEAD`].
    Rows(Vec<u32>),
    /// A linear node's own Jacobian, size × n_in (zero outside its rows' windows), and the
    /// windows.
    Own(Vec<f64>, Vec<Win>),
    Released,
}

/// The cost of linearising `net` (memory only; see the module documentation).
pub fn region_cost(net: &Network) -> RegionCost {
    let g = net.graph();
    let n = g.n_in;
    let last = net.last_uses();
    let out = g.nodes.len() - 1;
    let mut live = vec![0usize; g.nodes.len() + 1];
    let (mut now, mut peak) = (0usize, 0usize);
    for (k, node) in g.nodes.iter().enumerate() {
        if !node.relu && k != out {
            live[k + 1] = node.size() * n * 8;
            now += live[k + 1];
            peak = peak.max(now);
        }
        for t in &node.terms {
            if last[t.from] == k {
                now -= live[t.from];
                live[t.from] = 0;
            }
        }
    }
    RegionCost {
        row_bytes: net.hidden_count().saturating_mul(n).saturating_mul(8),
        jacobian_bytes: peak,
        output_bytes: net.n_out() * n * 8,
    }
}

/// The columns `[lo, hi)` outside which a row is exactly +0 (bits), with `lo` even and `hi` even
/// or n, so that [`norm2`]'s two accumulators see the same entries in the same lanes over the
/// window as over the whole row. The empty window is (0, 0).
type Win = (u32, u32);

fn widen(w: &mut Win, lo: usize, hi: usize) {
    if lo < hi {
        if w.0 >= w.1 {
            *w = (lo as u32, hi as u32);
        } else {
            *w = (w.0.min(lo as u32), w.1.max(hi as u32));
        }
    }
}

fn aligned(w: Win, n: usize) -> (usize, usize) {
    if w.0 >= w.1 {
        (0, 0)
    } else {
        ((w.0 as usize) & !1, ((w.1 as usize + 1) & !1).min(n))
    }
}

/// Row i of `Σ ±A_t J_src` into `row`, whose entries outside the returned window are left as they
/// were (they stand for +0: the caller either zeroed them or never reads them). `rows` holds the
/// rows of earlier ReLU nodes (unnormalised, over their windows); a linear node's Jacobian has the
/// windows of its rows beside it.
///
/// The same sums as accumulating over whole rows from +0 (the dense-layer code), bit for bit:
/// an `axpy` term s·w·src_j with src_j = +0 outside the source's window adds s·w·(+0) = ±0 (w is
/// finite), and x + (±0) = x unless x = −0. The accumulator is never −0 where such a term is
/// skipped: it starts at +0 and only has products added, except after the copy of a dense
/// layer's weights (which may hold −0); then a skipped +0 term is applied explicitly (−0 → +0).
fn fill_row(
    node: &crate::network::Node,
    i: usize,
    jac: &[Jacobian],
    rows: &WindowRows,
    n: usize,
    row: &mut [f64],
) -> Win {
    // The window: the union of the contributing sources' windows.
    let mut win: Win = (0, 0);
    for (t, term) in node.terms.iter().enumerate() {
        match &jac[term.from] {
            Jacobian::Input => match &term.op {
                Op::Dense(_) if t == 0 && !term.negate => widen(&mut win, 0, n),
                op => op.for_each_in_row(i, |j, w| {
                    if w != 0.0 {
                        widen(&mut win, j, j + 1)
                    }
                }),
            },
            Jacobian::Rows(map) => term.op.for_each_in_row(i, |j, w| {
                let r = map[j];
                if w != 0.0 && r != DEAD {
                    let (lo, hi) = rows.window(r as usize);
                    widen(&mut win, lo, hi);
                }
            }),
            Jacobian::Own(_, ow) => term.op.for_each_in_row(i, |j, w| {
                if w != 0.0 {
                    let (lo, hi) = aligned(ow[j], n);
                    widen(&mut win, lo, hi);
                }
            }),
            Jacobian::Released => unreachable!("a value is released only after its last reader"),
        }
    }
    let (lo, hi) = aligned(win, n);
    row[lo..hi].iter_mut().for_each(|v| *v = 0.0);
    // Set once the row holds copied weights that may be −0 (then skipped +0 terms are applied).
    let mut copied = false;
    let skipped_plus_zero = |row: &mut [f64], a: usize, b: usize, sw: f64| {
        if sw > 0.0 {
            let (a, b) = (a.clamp(lo, hi), b.clamp(lo, hi));
            let (head, tail) = row[lo..hi].split_at_mut(a - lo);
            for v in head.iter_mut().chain(tail[b - a..].iter_mut()) {
                if *v == 0.0 {
                    *v = 0.0;
                }
            }
        }
    };
    for (t, term) in node.terms.iter().enumerate() {
        let s = if term.negate { -1.0 } else { 1.0 };
        match &jac[term.from] {
            Jacobian::Input => match &term.op {
                // The dense code copied the weights of a layer reading the input (keeping −0).
                Op::Dense(d) if t == 0 && !term.negate => {
                    row.copy_from_slice(&d.w[i * d.n_in..(i + 1) * d.n_in]);
                    copied = true;
                }
                op => op.for_each_in_row(i, |j, w| {
                    if w != 0.0 {
                        row[j] += s * w;
                    }
                }),
            },
            Jacobian::Rows(map) => term.op.for_each_in_row(i, |j, w| {
                let r = map[j];
                if w != 0.0 && r != DEAD {
                    let r = r as usize;
                    let (a, b) = rows.window(r);
                    axpy(s * w, rows.values(r), &mut row[a..b]);
                    if copied {
                        skipped_plus_zero(row, a, b, s * w);
                    }
                }
            }),
            Jacobian::Own(jm, ow) => term.op.for_each_in_row(i, |j, w| {
                if w != 0.0 {
                    let (a, b) = aligned(ow[j], n);
                    axpy(s * w, &jm[j * n + a..j * n + b], &mut row[a..b]);
                    if copied {
                        skipped_plus_zero(row, a, b, s * w);
                    }
                }
            }),
            Jacobian::Released => unreachable!("a value is released only after its last reader"),
        }
    }
    (lo as u32, hi as u32)
}

/// The rows and affine map of `pattern` (one 0/1 byte per hidden neuron; the caller checks its
/// length). Fails only when the rows would not fit in memory.
///
/// Rows are accumulated over their windows only (see [`fill_row`]): a convolution's row reads a
/// few rows of the image, so neither the row buffer is zeroed nor the sources' zeros scanned; the
/// final normalisation writes every entry of every row, the zeros outside a window as s·(+0)/‖Z‖
/// exactly as before.
pub fn linearise(net: &Network, pattern: &[u8]) -> Result<Linearisation> {
    let g = net.graph();
    let n = g.n_in;
    let last = net.last_uses();
    let cost = region_cost(net);
    if cost.total() > isize::MAX as usize / 2 {
        return invalid(format!(
            "linear region: needs about {} MB ({} hidden neurons × {} inputs × 8 B of rows, {} MB of intermediate maps), more than this address space holds",
            cost.total() >> 20,
            net.hidden_count(),
            n,
            cost.jacobian_bytes >> 20
        ));
    }
    let out = g.nodes.len() - 1;
    // Rows are appended in pattern order (a ReLU output node's rows are copies of F's rows),
    // each over its window; `scratch` is the dense row being accumulated (only its window is
    // ever zeroed, written or read).
    let mut rows = WindowRows::new(n);
    let mut scratch = vec![0.0; n];
    let mut z0s: Vec<f64> = Vec::new();
    let mut neuron: Vec<u32> = Vec::new();
    let mut norms: Vec<f64> = Vec::new();
    let mut active_of_row: Vec<bool> = Vec::new();
    let mut jac: Vec<Jacobian> = Vec::with_capacity(g.nodes.len() + 1);
    jac.push(Jacobian::Input);
    let mut offsets: Vec<Option<Vec<f64>>> = vec![None; g.nodes.len() + 1];
    let mut constant_neurons = 0;
    let mut position = 0usize;
    let mut f = Vec::new();
    let mut e = Vec::new();
    for (k, node) in g.nodes.iter().enumerate() {
        let m = node.size();
        // Offset: bias + Σ ±A c_src (the input's offset is 0 and is not added).
        let mut z0 = node.bias.clone();
        for t in &node.terms {
            if let Some(c) = &offsets[t.from] {
                t.op.forward_add(c, &mut z0, t.negate);
            }
        }
        if k == out {
            f = vec![0.0; m * n];
            for i in 0..m {
                let row = &mut f[i * n..(i + 1) * n];
                let (lo, hi) = fill_row(node, i, &jac, &rows, n, row);
                let window = &row[lo as usize..hi as usize];
                if node.relu {
                    let nr = norm2(window);
                    if nr > 0.0 {
                        rows.push(lo as usize, window, 0.0);
                        neuron.push((position + i) as u32);
                        norms.push(nr);
                        z0s.push(z0[i]);
                        active_of_row.push(pattern[position + i] != 0);
                    } else {
                        constant_neurons += 1;
                    }
                    if pattern[position + i] == 0 {
                        row.iter_mut().for_each(|v| *v = 0.0);
                        z0[i] = 0.0;
                    }
                }
            }
            e = z0;
            break;
        }
        if node.relu {
            let mut map = vec![DEAD; m];
            for i in 0..m {
                let (lo, hi) = fill_row(node, i, &jac, &rows, n, &mut scratch);
                let window = &scratch[lo as usize..hi as usize];
                let nr = norm2(window);
                let active = pattern[position + i] != 0;
                if nr > 0.0 {
                    if active {
                        map[i] = rows.len() as u32;
                    }
                    rows.push(lo as usize, window, 0.0);
                    neuron.push((position + i) as u32);
                    norms.push(nr);
                    z0s.push(z0[i]);
                    active_of_row.push(active);
                } else {
                    constant_neurons += 1;
                }
                if !active {
                    z0[i] = 0.0;
                }
            }
            position += m;
            jac.push(Jacobian::Rows(map));
        } else {
            let mut own = vec![0.0; m * n];
            let mut own_wins = Vec::with_capacity(m);
            for i in 0..m {
                own_wins.push(fill_row(node, i, &jac, &rows, n, &mut own[i * n..(i + 1) * n]));
            }
            jac.push(Jacobian::Own(own, own_wins));
        }
        offsets[k + 1] = Some(z0);
        for t in &node.terms {
            if t.from > 0 && last[t.from] == k {
                jac[t.from] = Jacobian::Released;
                offsets[t.from] = None;
            }
        }
    }
    // Normalise: active: −Z_i·x <= z0_i ; inactive: Z_i·x <= −z0_i. The entries outside a row's
    // window are +0 and become s·(+0)/‖Z_i‖, as the whole-row code made them.
    let mut b = Vec::with_capacity(norms.len());
    for r in 0..rows.len() {
        let (nr, s) = (norms[r], if active_of_row[r] { -1.0 } else { 1.0 });
        let (values, zero) = rows.values_mut(r);
        values.iter_mut().for_each(|v| *v = s * *v / nr);
        *zero = s * 0.0 / nr;
        b.push(-s * z0s[r] / nr);
    }
    Ok(Linearisation { rows, b, neuron, norm: norms, constant_neurons, f, e })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{random_graph, random_network, Rng};
    use crate::network::{Dense, Gather, Graph, Node, Term};

    /// The whole-row algorithm the windowed one replaced: every row accumulated from +0 over all
    /// n columns, every source row scanned in full (a ReLU element that is inactive, or constant,
    /// contributes nothing, as there).
    /// Rows, offsets, neurons, F and e.
    type Reference = (Vec<f64>, Vec<f64>, Vec<u32>, Vec<f64>, Vec<f64>);

    fn dense_reference(net: &Network, pattern: &[u8]) -> Reference {
        let g = net.graph();
        let n = g.n_in;
        let mut vals: Vec<Option<(Vec<f64>, Vec<f64>)>> = vec![None; g.nodes.len() + 1];
        let mut live: Vec<Vec<bool>> = vec![Vec::new(); g.nodes.len() + 1];
        let (mut a, mut b, mut neuron, mut f, mut e) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut position = 0;
        for (k, node) in g.nodes.iter().enumerate() {
            let m = node.size();
            let mut z0 = node.bias.clone();
            for t in &node.terms {
                if let Some((_, c)) = &vals[t.from] {
                    t.op.forward_add(c, &mut z0, t.negate);
                }
            }
            let mut jm = vec![0.0; m * n];
            let mut alive = vec![false; if node.relu { m } else { 0 }];
            for i in 0..m {
                let row = &mut jm[i * n..(i + 1) * n];
                for (t, term) in node.terms.iter().enumerate() {
                    let s = if term.negate { -1.0 } else { 1.0 };
                    match &vals[term.from] {
                        None => match &term.op {
                            Op::Dense(d) if t == 0 && !term.negate => row.copy_from_slice(&d.w[i * n..(i + 1) * n]),
                            op => op.for_each_in_row(i, |j, w| {
                                if w != 0.0 {
                                    row[j] += s * w;
                                }
                            }),
                        },
                        Some((src, _)) => term.op.for_each_in_row(i, |j, w| {
                            if w != 0.0 && (live[term.from].is_empty() || live[term.from][j]) {
                                axpy(s * w, &src[j * n..(j + 1) * n], row);
                            }
                        }),
                    }
                }
                if node.relu {
                    let nr = norm2(row);
                    let active = pattern[position + i] != 0;
                    if nr > 0.0 {
                        let sg = if active { -1.0 } else { 1.0 };
                        a.extend(row.iter().map(|v| sg * *v / nr));
                        b.push(-sg * z0[i] / nr);
                        neuron.push((position + i) as u32);
                    }
                    alive[i] = active && nr > 0.0;
                    if !active {
                        row.iter_mut().for_each(|v| *v = 0.0);
                        z0[i] = 0.0;
                    }
                }
            }
            if node.relu {
                position += m;
            }
            if k + 1 == g.nodes.len() {
                f = jm.clone();
                e = z0.clone();
            }
            vals[k + 1] = Some((jm, z0));
            live[k + 1] = alive;
        }
        (a, b, neuron, f, e)
    }

    fn same_bits(x: &[f64], y: &[f64], what: &str) {
        assert_eq!(x.len(), y.len(), "{}: lengths", what);
        for (i, (p, q)) in x.iter().zip(y).enumerate() {
            assert_eq!(p.to_bits(), q.to_bits(), "{}[{}]: {} vs {}", what, i, p, q);
        }
    }

    fn check(net: &Network, pattern: &[u8], what: &str) {
        let lin = linearise(net, pattern).unwrap();
        let (a, b, neuron, f, e) = dense_reference(net, pattern);
        same_bits(&lin.rows.to_dense(), &a, &format!("{} rows", what));
        same_bits(&lin.b, &b, &format!("{} offsets", what));
        assert_eq!(lin.neuron, neuron, "{} neurons", what);
        same_bits(&lin.f, &f, &format!("{} F", what));
        same_bits(&lin.e, &e, &format!("{} e", what));
    }

    /// Windows and the skipped zero terms change no bit of the rows,
    /// offsets or output map, on graphs with every operator, on dense chains, and on a graph whose
    /// dense first layer holds −0 weights and adds further terms (the one case where a skipped
    /// +0 term is applied explicitly).
    #[test]
    fn windowed_rows_equal_whole_rows_bit_for_bit() {
        let mut rng = Rng(41);
        for trial in 0..6 {
            let net = random_graph(&mut rng);
            let x: Vec<f64> = (0..net.n_in()).map(|_| rng.normal()).collect();
            check(&net, &net.pattern(&x), &format!("graph {}", trial));
            let random: Vec<u8> = (0..net.hidden_count()).map(|_| (rng.next_u64() % 2) as u8).collect();
            check(&net, &random, &format!("graph {} random pattern", trial));
        }
        let chain = random_network(&mut rng, &[7, 9, 8, 3]);
        let x: Vec<f64> = (0..7).map(|_| rng.normal()).collect();
        check(&chain, &chain.pattern(&x), "chain");
        // Node 1 reads one pixel per row (narrow windows); node 2 copies dense weights with −0
        // entries and adds node 1's rows (and subtracts a scaling of them) over those windows.
        let n = 6;
        let mut w: Vec<f64> = (0..4 * n).map(|_| rng.normal()).collect();
        for v in w.iter_mut().step_by(3) {
            *v = -0.0;
        }
        let term = |from: usize, op: Op, negate: bool| Term { from, op, negate };
        let nodes = vec![
            Node {
                terms: vec![term(0, Op::Gather(Gather { n_in: n, index: vec![1, 4, 5, 0] }), true)],
                bias: vec![0.1; 4],
                relu: true,
            },
            Node {
                terms: vec![
                    term(0, Op::Dense(Dense { n_in: n, n_out: 4, w }), false),
                    term(1, Op::Identity(4), false),
                    term(1, Op::Scale(vec![-1.0, 2.0, -0.5, 3.0]), true),
                ],
                bias: vec![0.0; 4],
                relu: true,
            },
            Node {
                terms: vec![term(
                    2,
                    Op::Dense(Dense { n_in: 4, n_out: 2, w: vec![1.0, -2.0, 0.5, 0.0, -1.0, 1.0, 2.0, 3.0] }),
                    false,
                )],
                bias: vec![0.0; 2],
                relu: false,
            },
        ];
        let net = Network::from_graph(Graph { n_in: n, nodes }).unwrap();
        for p in 0..16u32 {
            let pattern: Vec<u8> = (0..8).map(|i| ((p * 7 + i) % 3 != 0) as u8).collect();
            check(&net, &pattern, &format!("negative zeros {}", p));
        }
    }
}

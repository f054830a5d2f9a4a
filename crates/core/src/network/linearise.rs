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

/// The rows and affine map of one activation pattern (see [`linearise`]).
#[derive(Debug, Clone)]
pub struct Linearisation {
    /// Half-spaces `a_i·x <= b_i`, row-major, each ‖a_i‖₂ = 1, one per ReLU element with a
    /// non-constant pre-activation, in pattern order.
    pub a: Vec<f64>,
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
    /// A linear node's own Jacobian, size × n_in.
    Own(Vec<f64>),
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

// clippy 1.63 reads the `const { … }` initialiser that stable clippy asks for as an interior-mutable
// const; the allow must sit on a module (as in `lp`).
#[allow(clippy::declare_interior_mutable_const)]
mod spare {
    use std::cell::RefCell;

    thread_local! {
        static SPARE: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn take() -> Vec<f64> {
        SPARE.with(|s| std::mem::take(&mut *s.borrow_mut()))
    }

    pub(super) fn give(buf: Vec<f64>) {
        SPARE.with(|s| {
            let mut s = s.borrow_mut();
            if buf.capacity() > s.capacity() {
                *s = buf;
            }
        });
    }
}

/// Gives the row buffer of a [`Linearisation`] back once its rows were copied elsewhere (e.g.
/// the rows a region keeps): the next [`linearise`] on this thread reuses it. A region of a
/// convolutional network reserves one row per ReLU element (146 MB for the MNIST conv net) and
/// keeps a small part of them; allocating that bound afresh for every region fragments the
/// WebAssembly heap, which never shrinks (measured: 2.3 GB of linear memory after certifying 20
/// MNIST conv-net regions).
pub fn recycle(mut rows: Vec<f64>) {
    rows.clear();
    spare::give(rows);
}

/// Accumulates row i of `Σ ±A_t J_src` into `row` (which is zero). `rows` holds the rows of
/// earlier ReLU nodes (unnormalised).
fn fill_row(node: &crate::network::Node, i: usize, jac: &[Jacobian], rows: &[f64], n: usize, row: &mut [f64]) {
    for (t, term) in node.terms.iter().enumerate() {
        let s = if term.negate { -1.0 } else { 1.0 };
        match &jac[term.from] {
            Jacobian::Input => match &term.op {
                // The dense code copied the weights of a layer reading the input (keeping −0).
                Op::Dense(d) if t == 0 && !term.negate => row.copy_from_slice(&d.w[i * d.n_in..(i + 1) * d.n_in]),
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
                    axpy(s * w, &rows[r * n..(r + 1) * n], row);
                }
            }),
            Jacobian::Own(jm) => term.op.for_each_in_row(i, |j, w| {
                if w != 0.0 {
                    axpy(s * w, &jm[j * n..(j + 1) * n], row);
                }
            }),
            Jacobian::Released => unreachable!("a value is released only after its last reader"),
        }
    }
}

/// The rows and affine map of `pattern` (one 0/1 byte per hidden neuron; the caller checks its
/// length). Fails only when the rows would not fit in memory.
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
    // Rows are appended in pattern order (a ReLU output node's rows are copies of F's rows);
    // reserving the bound avoids the transient copies of a growing buffer. The buffer is the
    // spare one a caller gave back (see [`recycle`]) when it is large enough.
    let mut rows: Vec<f64> = spare::take();
    rows.clear();
    rows.reserve(net.hidden_count() * n);
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
                fill_row(node, i, &jac, &rows, n, row);
                if node.relu {
                    let nr = norm2(row);
                    if nr > 0.0 {
                        rows.extend_from_slice(row);
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
                let start = rows.len();
                rows.resize(start + n, 0.0);
                let (done, tail) = rows.split_at_mut(start);
                fill_row(node, i, &jac, done, n, tail);
                let nr = norm2(tail);
                let active = pattern[position + i] != 0;
                if nr > 0.0 {
                    if active {
                        map[i] = (start / n) as u32;
                    }
                    neuron.push((position + i) as u32);
                    norms.push(nr);
                    z0s.push(z0[i]);
                    active_of_row.push(active);
                } else {
                    rows.truncate(start);
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
            for i in 0..m {
                fill_row(node, i, &jac, &rows, n, &mut own[i * n..(i + 1) * n]);
            }
            jac.push(Jacobian::Own(own));
        }
        offsets[k + 1] = Some(z0);
        for t in &node.terms {
            if t.from > 0 && last[t.from] == k {
                jac[t.from] = Jacobian::Released;
                offsets[t.from] = None;
            }
        }
    }
    // Normalise in place: active: −Z_i·x <= z0_i ; inactive: Z_i·x <= −z0_i.
    let mut b = Vec::with_capacity(norms.len());
    for (r, row) in rows.chunks_mut(n.max(1)).enumerate().take(norms.len()) {
        let (nr, s) = (norms[r], if active_of_row[r] { -1.0 } else { 1.0 });
        row.iter_mut().for_each(|v| *v = s * *v / nr);
        b.push(-s * z0s[r] / nr);
    }
    Ok(Linearisation { a: rows, b, neuron, norm: norms, constant_neurons, f, e })
}

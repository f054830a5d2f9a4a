//! Structured linear operators: the `A` of a graph term `A v_src`. Each is applied from its own
//! parameters (a kernel, a window, an index list), never as a dense matrix unless it is one.
//!
//! Every operator offers the same kernels: `y += ±A x` (forward), `x += ±Aᵀ y` (transpose, for
//! back-substitution), `y += |A| x` (interval arithmetic), the entries of one row (the sparse
//! structure the region propagation and ReLU programs use), and `J_out += ±A J_in` on row-major
//! Jacobian blocks.
//!
//! The dense operator keeps the arithmetic of the dense layers it replaces: a row is one [`dot`]
//! (the same two-accumulator order in every build), added to the value's bias. Dense weights that
//! are mostly zero are stored as [`Sparse`] instead ([`Op::of_weights`], [`Op::stored`]: the one
//! place where that is decided), with the same bits (see `sparse.rs`).

use crate::error::{invalid, Result};
use crate::linalg::{axpy, dot};
use crate::network::conv::Conv;
use crate::network::pool::AvgPool;
use crate::network::sparse::Sparse;

/// `y = W x`, W row-major `n_out × n_in`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub n_in: usize,
    pub n_out: usize,
    pub w: Vec<f64>,
}

/// `y_i = x_{index_i}`, or 0 where `index_i` is [`Gather::ZERO`]: flatten, reshape, transpose,
/// squeeze, pad (zero fill), slice and the placement of a concatenation are all index maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gather {
    pub n_in: usize,
    pub index: Vec<u32>,
}

impl Gather {
    pub const ZERO: u32 = u32::MAX;
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Dense(Dense),
    /// Dense weights of which at most [`crate::network::SPARSE_DENSITY`] are non-zero, stored by
    /// rows without the zeros.
    Sparse(Sparse),
    Conv(Conv),
    AvgPool(AvgPool),
    /// `y_i = s_i x_i` (batch normalisation, constant scaling).
    Scale(Vec<f64>),
    Gather(Gather),
    /// `y = x` of this size.
    Identity(usize),
}

impl Op {
    /// The operator `y = W x` of dense row-major weights `w` (`n_out × n_in`; the caller checked
    /// the length): [`Sparse`] when few enough of them are non-zero ([`Sparse::pays`]), else
    /// [`Dense`]. Networks are built through it or [`Op::stored`], so a mostly-zero matrix is
    /// never held densely in the core.
    pub fn of_weights(n_in: usize, n_out: usize, w: &[f64]) -> Op {
        let nnz = w.iter().filter(|&&v| v != 0.0).count();
        if Sparse::pays(nnz, n_in, n_out) {
            Op::Sparse(Sparse::from_dense(n_in, n_out, w))
        } else {
            Op::Dense(Dense { n_in, n_out, w: w.to_vec() })
        }
    }

    /// The operator as networks store it: a dense operator that is mostly zero becomes
    /// [`Sparse`] (as in [`Op::of_weights`]); any other operator is returned as it is.
    pub fn stored(self) -> Op {
        match self {
            Op::Dense(d) if d.w.len() == d.n_in * d.n_out && d.w.iter().all(|v| v.is_finite()) => {
                let nnz = d.w.iter().filter(|&&v| v != 0.0).count();
                if Sparse::pays(nnz, d.n_in, d.n_out) {
                    Op::Sparse(Sparse::from_dense(d.n_in, d.n_out, &d.w))
                } else {
                    Op::Dense(d)
                }
            }
            op => op,
        }
    }

    pub fn n_in(&self) -> usize {
        match self {
            Op::Dense(d) => d.n_in,
            Op::Sparse(d) => d.n_in,
            Op::Conv(c) => c.n_in(),
            Op::AvgPool(p) => p.n_in(),
            Op::Scale(s) => s.len(),
            Op::Gather(g) => g.n_in,
            Op::Identity(n) => *n,
        }
    }

    pub fn n_out(&self) -> usize {
        match self {
            Op::Dense(d) => d.n_out,
            Op::Sparse(d) => d.n_out,
            Op::Conv(c) => c.n_out(),
            Op::AvgPool(p) => p.n_out(),
            Op::Scale(s) => s.len(),
            Op::Gather(g) => g.index.len(),
            Op::Identity(n) => *n,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Op::Dense(_) => "dense",
            Op::Sparse(_) => "sparse",
            Op::Conv(c) if c.transposed => "convTranspose",
            Op::Conv(_) => "conv",
            Op::AvgPool(_) => "avgPool",
            Op::Scale(_) => "scale",
            Op::Gather(_) => "gather",
            Op::Identity(_) => "identity",
        }
    }

    /// Internal consistency (sizes, finite parameters, indices in range); `what` names the
    /// operator in messages.
    pub(crate) fn check(&self, what: &str) -> Result<()> {
        let finite = |v: &[f64], name: &str| match v.iter().position(|x| !x.is_finite()) {
            Some(i) => invalid(format!("{}: {} {} is {}", what, name, i, v[i])),
            None => Ok(()),
        };
        if self.n_in() == 0 || self.n_out() == 0 {
            return invalid(format!("{}: has an empty dimension ({}x{})", what, self.n_out(), self.n_in()));
        }
        match self {
            Op::Dense(d) => {
                if d.w.len() != d.n_in * d.n_out {
                    return invalid(format!(
                        "{}: weights have {} values, expected {}x{} = {}",
                        what,
                        d.w.len(),
                        d.n_out,
                        d.n_in,
                        d.n_in * d.n_out
                    ));
                }
                finite(&d.w, "weight")
            }
            Op::Sparse(d) => d.check(what),
            Op::Conv(c) => {
                c.check(what)?;
                finite(&c.w, "weight")
            }
            Op::AvgPool(p) => p.check(what),
            Op::Scale(s) => finite(s, "scale"),
            Op::Gather(g) => match g.index.iter().position(|&i| i != Gather::ZERO && i as usize >= g.n_in) {
                Some(i) => invalid(format!("{}: index {} is {}, beyond its {} inputs", what, i, g.index[i], g.n_in)),
                None => Ok(()),
            },
            Op::Identity(_) => Ok(()),
        }
    }

    /// y += A x (`negate`: y −= A x). A dense row adds one [`dot`] to y_i.
    pub fn forward_add(&self, x: &[f64], y: &mut [f64], negate: bool) {
        let s = if negate { -1.0 } else { 1.0 };
        match self {
            Op::Dense(d) => {
                for (i, yi) in y.iter_mut().enumerate().take(d.n_out) {
                    let v = dot(&d.w[i * d.n_in..(i + 1) * d.n_in], x);
                    if negate {
                        *yi -= v;
                    } else {
                        *yi += v;
                    }
                }
            }
            Op::Sparse(d) => d.forward_add(x, y, negate),
            Op::Conv(c) => c.forward_add(x, y, s),
            Op::AvgPool(p) => p.forward_add(x, y, s),
            Op::Scale(v) => {
                for i in 0..v.len() {
                    y[i] += s * v[i] * x[i];
                }
            }
            Op::Gather(g) => {
                for (yi, &k) in y.iter_mut().zip(&g.index) {
                    if k != Gather::ZERO {
                        *yi += s * x[k as usize];
                    }
                }
            }
            Op::Identity(n) => {
                for i in 0..*n {
                    y[i] += s * x[i];
                }
            }
        }
    }

    /// x += Aᵀ y (`negate`: x −= Aᵀ y).
    pub fn transpose_add(&self, y: &[f64], x: &mut [f64], negate: bool) {
        let s = if negate { -1.0 } else { 1.0 };
        match self {
            Op::Dense(d) => {
                for i in 0..d.n_out {
                    if y[i] != 0.0 {
                        axpy(s * y[i], &d.w[i * d.n_in..(i + 1) * d.n_in], x);
                    }
                }
            }
            Op::Sparse(d) => d.transpose_add(y, x, s),
            Op::Conv(c) => c.transpose_add(y, x, s),
            Op::AvgPool(p) => p.transpose_add(y, x, s),
            Op::Scale(_) | Op::Identity(_) => self.forward_add(y, x, negate),
            Op::Gather(g) => {
                for (&yi, &k) in y.iter().zip(&g.index) {
                    if k != Gather::ZERO {
                        x[k as usize] += s * yi;
                    }
                }
            }
        }
    }

    /// y += |A| x (interval arithmetic: the radius of A·[c − r, c + r] is |A| r).
    pub fn abs_forward_add(&self, x: &[f64], y: &mut [f64]) {
        match self {
            Op::Dense(d) => {
                for (i, yi) in y.iter_mut().enumerate().take(d.n_out) {
                    let row = &d.w[i * d.n_in..(i + 1) * d.n_in];
                    *yi += row.iter().zip(x).map(|(w, v)| w.abs() * v).sum::<f64>();
                }
            }
            Op::Sparse(d) => d.abs_forward_add(x, y),
            Op::Conv(c) => c.abs_forward_add(x, y),
            Op::AvgPool(p) => p.forward_add(x, y, 1.0),
            Op::Scale(v) => {
                for i in 0..v.len() {
                    y[i] += v[i].abs() * x[i];
                }
            }
            Op::Gather(_) | Op::Identity(_) => self.forward_add(x, y, false),
        }
    }

    /// `f(j, a_ij)` for the structural entries of row i, in column order (a dense row: every
    /// column; a sparse one: its non-zeros).
    #[inline]
    pub fn for_each_in_row<F: FnMut(usize, f64)>(&self, i: usize, mut f: F) {
        match self {
            Op::Dense(d) => {
                for (j, &w) in d.w[i * d.n_in..(i + 1) * d.n_in].iter().enumerate() {
                    f(j, w);
                }
            }
            Op::Sparse(d) => d.for_each_in_row(i, f),
            Op::Conv(c) => c.for_each_in_row(i, f),
            Op::AvgPool(p) => p.gather_row(i, f),
            Op::Scale(v) => f(i, v[i]),
            Op::Gather(g) => {
                if g.index[i] != Gather::ZERO {
                    f(g.index[i] as usize, 1.0)
                }
            }
            Op::Identity(_) => f(i, 1.0),
        }
    }

    /// `f(i, a_ij)` for the structural entries of column j (the rows that read input j).
    pub fn for_each_in_column<F: FnMut(usize, f64)>(&self, j: usize, mut f: F) {
        match self {
            Op::Dense(d) => {
                for i in 0..d.n_out {
                    f(i, d.w[i * d.n_in + j]);
                }
            }
            Op::Sparse(d) => d.for_each_in_column(j, f),
            Op::Conv(c) => {
                if c.transposed {
                    c.gather_row(j, f)
                } else {
                    c.scatter_row(j, f)
                }
            }
            Op::AvgPool(p) => p.scatter_row(j, f),
            Op::Scale(v) => f(j, v[j]),
            Op::Gather(g) => {
                for (i, &k) in g.index.iter().enumerate() {
                    if k as usize == j {
                        f(i, 1.0);
                    }
                }
            }
            Op::Identity(_) => f(j, 1.0),
        }
    }

    /// J_out += A·J_in (`negate`: −=), both row-major with `n` columns (J_in `n_in × n`, J_out
    /// `n_out × n`).
    pub fn jacobian_add(&self, j_in: &[f64], n: usize, j_out: &mut [f64], negate: bool) {
        for (i, out) in j_out.chunks_mut(n.max(1)).enumerate().take(self.n_out()) {
            self.for_each_in_row(i, |j, a| {
                if a != 0.0 {
                    axpy(if negate { -a } else { a }, &j_in[j * n..(j + 1) * n], out);
                }
            });
        }
    }

    /// Whether every row has at most one entry (index maps, scalings): such operators are
    /// folded away in ReLU programs rather than given neurons of their own.
    pub fn is_selection(&self) -> bool {
        matches!(self, Op::Scale(_) | Op::Gather(_) | Op::Identity(_))
    }

    /// Structural entries of A (its sparsity; a dense matrix counts every entry).
    pub fn entries(&self) -> usize {
        match self {
            Op::Dense(d) => d.n_in * d.n_out,
            Op::Sparse(d) => d.nnz(),
            Op::Conv(c) => c.entries(),
            Op::AvgPool(p) => p.entries(),
            Op::Scale(s) => s.len(),
            Op::Gather(g) => g.index.iter().filter(|&&k| k != Gather::ZERO).count(),
            Op::Identity(n) => *n,
        }
    }

    /// Parameters stored (weights, scales, indices), for memory statements.
    pub fn parameters(&self) -> usize {
        match self {
            Op::Dense(d) => d.w.len(),
            Op::Sparse(d) => d.parameters(),
            Op::Conv(c) => c.w.len(),
            Op::Scale(s) => s.len(),
            Op::Gather(g) => g.index.len(),
            Op::AvgPool(_) | Op::Identity(_) => 0,
        }
    }
}

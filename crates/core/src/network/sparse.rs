//! A mostly-zero weight matrix stored by rows (compressed sparse rows): the dense operator of a
//! layer whose weights are at most [`SPARSE_DENSITY`] non-zero, with its non-zeros only.
//!
//! **Same bits as the dense operator.** [`Sparse::row_dot`] adds the products of a row into the
//! two accumulators (even and odd columns, the last column of an odd-sized row after they are
//! added) that [`crate::linalg::dot`] uses, in the same order, and only skips the products with a
//! zero weight. Both accumulators start at +0.0, and in round-to-nearest a sum is −0.0 only when
//! both summands are −0.0, so an accumulator (and their sum) is never −0.0; adding a ±0.0 product
//! to a value that is not −0.0 leaves it bit for bit unchanged. Hence for finite inputs the
//! forward pass (and the Jacobian blocks, which add the same non-zero `a·row` in the same order)
//! is bit for bit the dense operator's. A zero weight times an infinite or NaN input would give
//! NaN in the dense dot product and is skipped here: inputs are checked finite wherever they
//! enter the core, and an infinite intermediate value is an overflow the dense result does not
//! survive either.
//!
//! `Aᵀ y` and `|A| x` add the same non-zero terms in the same order as the dense kernels; the
//! dense kernels' extra ±0.0 terms can only turn a −0.0 entry into +0.0, so results are equal as
//! numbers (`==`), possibly not in the sign of a zero. A row sums only its non-zeros, and that is
//! the term count the rounding bounds see ([`crate::network::Op::for_each_in_row`] lists only
//! the stored entries), which is exact: the skipped products are exact zeros.

use crate::error::{invalid, Result};

/// Dense weights are stored as [`Sparse`] when at most this share of them is non-zero. Then the
/// 12 bytes per non-zero (value and column) are at most 3/8 of the 8 bytes per entry of the dense
/// matrix, and a product reads at most that share of the memory a dense one reads.
pub const SPARSE_DENSITY: f64 = 0.25;

/// ... and when the matrix has at least this many entries (32 KB dense): a smaller matrix costs
/// little either way, and keeps the dense chain's code paths (its layers, every region row).
pub const SPARSE_MIN_ENTRIES: usize = 4096;

/// `y = W x` with W `n_out × n_in` given by its non-zero entries, row by row: row i holds columns
/// `col[start[i]..start[i + 1]]` (strictly increasing) with values `val[..]` (non-zero, finite).
#[derive(Debug, Clone, PartialEq)]
pub struct Sparse {
    pub n_in: usize,
    pub n_out: usize,
    pub start: Vec<usize>,
    pub col: Vec<u32>,
    pub val: Vec<f64>,
}

impl Sparse {
    /// The non-zero entries of the dense row-major `n_out × n_in` matrix `w` (whose length the
    /// caller checked). `−0.0` is a zero.
    pub fn from_dense(n_in: usize, n_out: usize, w: &[f64]) -> Sparse {
        let nnz = w.iter().filter(|&&v| v != 0.0).count();
        let (mut col, mut val) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
        let mut start = Vec::with_capacity(n_out + 1);
        start.push(0);
        for row in w.chunks(n_in.max(1)).take(n_out) {
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    col.push(j as u32);
                    val.push(v);
                }
            }
            start.push(col.len());
        }
        Sparse { n_in, n_out, start, col, val }
    }

    /// Whether dense weights with `nnz` non-zeros out of `n_in × n_out` are stored sparse
    /// ([`SPARSE_DENSITY`], [`SPARSE_MIN_ENTRIES`]).
    pub fn pays(nnz: usize, n_in: usize, n_out: usize) -> bool {
        let entries = n_in.saturating_mul(n_out);
        // n_in < 2³² so that columns fit their u32 indices.
        entries >= SPARSE_MIN_ENTRIES && (nnz as f64) <= SPARSE_DENSITY * entries as f64 && n_in <= u32::MAX as usize
    }

    /// The dense row-major matrix (zeros are +0.0).
    pub fn to_dense(&self) -> Vec<f64> {
        let mut w = vec![0.0; self.n_in * self.n_out];
        for i in 0..self.n_out {
            for k in self.start[i]..self.start[i + 1] {
                w[i * self.n_in + self.col[k] as usize] = self.val[k];
            }
        }
        w
    }

    pub fn nnz(&self) -> usize {
        self.val.len()
    }

    /// Row pointers increasing and ending at the entry count, columns strictly increasing within
    /// a row and below `n_in`, values non-zero and finite.
    pub(crate) fn check(&self, what: &str) -> Result<()> {
        if self.start.len() != self.n_out + 1 || self.start[0] != 0 || self.start[self.n_out] != self.val.len() {
            return invalid(format!(
                "{}: {} row pointers for {} rows and {} entries (need {} from 0 to {})",
                what,
                self.start.len(),
                self.n_out,
                self.val.len(),
                self.n_out + 1,
                self.val.len()
            ));
        }
        if self.col.len() != self.val.len() {
            return invalid(format!("{}: {} columns for {} values", what, self.col.len(), self.val.len()));
        }
        for i in 0..self.n_out {
            if self.start[i] > self.start[i + 1] {
                return invalid(format!("{}: row {} starts after its end", what, i));
            }
            let (lo, hi) = (self.start[i], self.start[i + 1]);
            let row = &self.col[lo..hi];
            if let Some(k) = (0..row.len()).find(|&k| row[k] as usize >= self.n_in || (k > 0 && row[k] <= row[k - 1])) {
                return invalid(format!(
                    "{}: row {} column {} is out of order or beyond its {} inputs",
                    what, i, row[k], self.n_in
                ));
            }
            if let Some(k) = (lo..hi).find(|&k| !self.val[k].is_finite() || self.val[k] == 0.0) {
                return invalid(format!(
                    "{}: weight (row {}, column {}) is {} (stored weights are finite and non-zero)",
                    what, i, self.col[k], self.val[k]
                ));
            }
        }
        Ok(())
    }

    /// Row i times x, summed as [`crate::linalg::dot`] sums the dense row (see the module
    /// documentation): even columns into one accumulator, odd into the other, then the last
    /// column of an odd-sized row.
    #[inline]
    pub fn row_dot(&self, i: usize, x: &[f64]) -> f64 {
        let last = if self.n_in % 2 == 1 { self.n_in - 1 } else { usize::MAX };
        let (mut s0, mut s1, mut tail) = (0.0, 0.0, None);
        for k in self.start[i]..self.start[i + 1] {
            let j = self.col[k] as usize;
            let p = self.val[k] * x[j];
            if j == last {
                tail = Some(p);
            } else if j % 2 == 0 {
                s0 += p;
            } else {
                s1 += p;
            }
        }
        let mut s = s0 + s1;
        if let Some(p) = tail {
            s += p;
        }
        s
    }

    /// y += A x (`negate`: y −= A x), one [`Sparse::row_dot`] per row.
    pub fn forward_add(&self, x: &[f64], y: &mut [f64], negate: bool) {
        for (i, yi) in y.iter_mut().enumerate().take(self.n_out) {
            let v = self.row_dot(i, x);
            if negate {
                *yi -= v;
            } else {
                *yi += v;
            }
        }
    }

    /// x += s·Aᵀ y: row i adds `(s·y_i)·a_ij` to x_j, as the dense kernel's `axpy` does.
    pub fn transpose_add(&self, y: &[f64], x: &mut [f64], s: f64) {
        for (i, &yi) in y.iter().enumerate().take(self.n_out) {
            if yi != 0.0 {
                let alpha = s * yi;
                for k in self.start[i]..self.start[i + 1] {
                    x[self.col[k] as usize] += alpha * self.val[k];
                }
            }
        }
    }

    /// y += |A| x, each row summed in column order as the dense kernel does.
    pub fn abs_forward_add(&self, x: &[f64], y: &mut [f64]) {
        for (i, yi) in y.iter_mut().enumerate().take(self.n_out) {
            let mut s = 0.0;
            for k in self.start[i]..self.start[i + 1] {
                s += self.val[k].abs() * x[self.col[k] as usize];
            }
            *yi += s;
        }
    }

    #[inline]
    pub fn for_each_in_row<F: FnMut(usize, f64)>(&self, i: usize, mut f: F) {
        for k in self.start[i]..self.start[i + 1] {
            f(self.col[k] as usize, self.val[k]);
        }
    }

    /// `f(i, a_ij)` for the rows that store column j (a binary search per row).
    pub fn for_each_in_column<F: FnMut(usize, f64)>(&self, j: usize, mut f: F) {
        for i in 0..self.n_out {
            let (lo, hi) = (self.start[i], self.start[i + 1]);
            if let Ok(k) = self.col[lo..hi].binary_search(&(j as u32)) {
                f(i, self.val[lo + k]);
            }
        }
    }

    /// Values, column indices and row pointers stored.
    pub fn parameters(&self) -> usize {
        self.val.len() + self.col.len() + self.start.len()
    }
}

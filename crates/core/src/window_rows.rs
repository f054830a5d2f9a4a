//! Rows of n columns stored over their windows: per row the columns `[lo, hi)` outside which
//! every entry is one signed zero (the row's `zero`, +0 or −0), and only the window's values.
//!
//! The rows of a convolutional network's region read few pixels each (the first convolution of
//! the MNIST conv net: a 2 × 2 kernel, a window of about 32 of 784 columns), so the store is a
//! few percent of the dense matrix (6 MB instead of 146 MB for that net's 23,328 rows), and every
//! pass over the rows (their accumulation, normalisation, the implied-row tests) touches only the
//! windows. [`WindowRows::copy_row`] gives back the dense row bit for bit, signed zeros included.

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct WindowRows {
    n: usize,
    data: Vec<f64>,
    /// Row r's values are `data[start[r]..start[r + 1]]`.
    start: Vec<usize>,
    lo: Vec<u32>,
    zero: Vec<f64>,
}

impl WindowRows {
    pub fn new(n: usize) -> WindowRows {
        WindowRows { n, data: Vec::new(), start: vec![0], lo: Vec::new(), zero: Vec::new() }
    }

    /// Dense row-major rows (`a.len() / n` of them), each with the whole width as its window.
    pub fn from_dense(n: usize, a: &[f64]) -> WindowRows {
        let rows = a.len().checked_div(n).unwrap_or(0);
        WindowRows {
            n,
            data: a[..rows * n].to_vec(),
            start: (0..=rows).map(|r| r * n).collect(),
            lo: vec![0; rows],
            zero: vec![0.0; rows],
        }
    }

    /// Columns per row.
    pub fn n(&self) -> usize {
        self.n
    }

    pub fn len(&self) -> usize {
        self.lo.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lo.is_empty()
    }

    /// Appends a row equal to `values` on `[lo, lo + values.len())` and `zero` elsewhere.
    pub fn push(&mut self, lo: usize, values: &[f64], zero: f64) {
        debug_assert!(lo + values.len() <= self.n);
        self.data.extend_from_slice(values);
        self.start.push(self.data.len());
        self.lo.push(lo as u32);
        self.zero.push(zero);
    }

    /// Row r's window `[lo, hi)`.
    #[inline]
    pub fn window(&self, r: usize) -> (usize, usize) {
        let lo = self.lo[r] as usize;
        (lo, lo + self.start[r + 1] - self.start[r])
    }

    /// Row r's values on its window.
    #[inline]
    pub fn values(&self, r: usize) -> &[f64] {
        &self.data[self.start[r]..self.start[r + 1]]
    }

    /// Row r's values and its outside value, to rewrite in place.
    pub fn values_mut(&mut self, r: usize) -> (&mut [f64], &mut f64) {
        (&mut self.data[self.start[r]..self.start[r + 1]], &mut self.zero[r])
    }

    /// Entry (r, j).
    #[inline]
    pub fn at(&self, r: usize, j: usize) -> f64 {
        let (lo, hi) = self.window(r);
        if j >= lo && j < hi {
            self.data[self.start[r] + j - lo]
        } else {
            self.zero[r]
        }
    }

    /// Row r, dense, into `out` (n entries).
    pub fn copy_row(&self, r: usize, out: &mut [f64]) {
        let (lo, hi) = self.window(r);
        let z = self.zero[r];
        out[..lo].iter_mut().for_each(|v| *v = z);
        out[lo..hi].copy_from_slice(self.values(r));
        out[hi..self.n].iter_mut().for_each(|v| *v = z);
    }

    /// The rows picked by `keep`, dense and row-major.
    pub fn dense_of<I: IntoIterator<Item = usize>>(&self, keep: I) -> Vec<f64> {
        let mut a = Vec::new();
        for r in keep {
            let at = a.len();
            a.resize(at + self.n, 0.0);
            self.copy_row(r, &mut a[at..]);
        }
        a
    }

    /// Every row, dense and row-major.
    pub fn to_dense(&self) -> Vec<f64> {
        self.dense_of(0..self.len())
    }

    /// Bytes held (the values, and per row its start, window and outside value).
    pub fn bytes(&self) -> usize {
        self.data.capacity() * 8 + self.start.capacity() * 8 + self.lo.capacity() * 4 + self.zero.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_back_dense_with_their_signed_zeros() {
        let mut w = WindowRows::new(5);
        w.push(1, &[2.0, -0.0, 3.0], -0.0);
        w.push(0, &[], 0.0);
        w.push(0, &[1.0, 2.0, 3.0, 4.0, 5.0], 0.0);
        assert_eq!(w.len(), 3);
        assert_eq!(w.window(0), (1, 4));
        let d = w.to_dense();
        let want: [f64; 15] = [-0.0, 2.0, -0.0, 3.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(
            d.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        for r in 0..3 {
            for j in 0..5 {
                assert_eq!(w.at(r, j).to_bits(), d[r * 5 + j].to_bits());
            }
        }
        let f = WindowRows::from_dense(5, &d);
        assert_eq!(f.to_dense(), d);
        assert_eq!(w.dense_of([2, 0]), [&d[10..15], &d[0..5]].concat());
    }
}

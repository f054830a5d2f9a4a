//! The basis kernel of the revised method: K = G[T, S], the tight rows T against the basic
//! structural variables S (|T| = |S| = k), kept as an explicit inverse M = K⁻¹.
//!
//! Every other basic variable is a slack of a row outside T, whose value follows from x, so the
//! whole basis is described by this k × k matrix; k is the number of tight rows (a few dozen at
//! the optimum of a region LP, whatever the number of rows). Each pivot changes K by one row or
//! one column (or both, growing or shrinking it), and M is updated in O(k²); the caller refactors
//! from scratch (Gauss–Jordan with partial pivoting, O(k³)) every few dozen updates to stop the
//! rounding of the updates from accumulating.
//!
//! Layout: M[p][q] with p a position in S and q a position in T (K[q][p] = G[T[q], S[p]]).
//! Positions are removed by swapping in the last one, as `Vec::swap_remove` does to S and T.

pub(super) struct Kernel {
    k: usize,
    cap: usize,
    /// M[p][q] at minv[p * cap + q].
    minv: Vec<f64>,
    /// Updates since the last factorisation.
    pub updates: usize,
}

impl Kernel {
    pub fn new() -> Kernel {
        Kernel { k: 0, cap: 0, minv: Vec::new(), updates: 0 }
    }

    pub fn clear(&mut self) {
        self.k = 0;
        self.updates = 0;
    }

    fn reserve(&mut self, k: usize) {
        if k <= self.cap {
            return;
        }
        let cap = k.max(2 * self.cap).max(16);
        let mut minv = vec![0.0; cap * cap];
        for p in 0..self.k {
            minv[p * cap..p * cap + self.k].copy_from_slice(&self.minv[p * self.cap..p * self.cap + self.k]);
        }
        self.minv = minv;
        self.cap = cap;
    }

    #[inline]
    pub fn at(&self, p: usize, q: usize) -> f64 {
        self.minv[p * self.cap + q]
    }

    /// Row p of M (over T positions).
    pub fn row(&self, p: usize) -> &[f64] {
        &self.minv[p * self.cap..p * self.cap + self.k]
    }

    /// out = M b (b over T positions, out over S positions).
    pub fn times(&self, b: &[f64], out: &mut [f64]) {
        for p in 0..self.k {
            out[p] = crate::linalg::dot(self.row(p), &b[..self.k]);
        }
    }

    /// out = cᵀ M (c over S positions, out over T positions).
    pub fn left_times(&self, c: &[f64], out: &mut [f64]) {
        let k = self.k;
        out[..k].iter_mut().for_each(|v| *v = 0.0);
        for p in 0..k {
            if c[p] != 0.0 {
                crate::linalg::axpy(c[p], self.row(p), &mut out[..k]);
            }
        }
    }

    /// Column q0 of K is replaced (S position p now holds another variable, whose column b of
    /// K gives w = M b). Pivot w[p].
    pub fn replace_column(&mut self, p: usize, w: &[f64]) {
        let (k, cap) = (self.k, self.cap);
        let piv = w[p];
        for q in 0..k {
            self.minv[p * cap + q] /= piv;
        }
        let (before, rest) = self.minv.split_at_mut(p * cap);
        let (prow, after) = rest.split_at_mut(cap);
        let prow = &prow[..k];
        for i in 0..k {
            if i == p || w[i] == 0.0 {
                continue;
            }
            let r = if i < p {
                &mut before[i * cap..i * cap + k]
            } else {
                &mut after[(i - p - 1) * cap..(i - p - 1) * cap + k]
            };
            crate::linalg::axpy(-w[i], prow, r);
        }
        self.updates += 1;
    }

    /// Row q0 of K is replaced (T position q0 now holds another row r, with rho = r M over T
    /// positions). Pivot rho[q0].
    pub fn replace_row(&mut self, q0: usize, rho: &[f64]) {
        let (k, cap) = (self.k, self.cap);
        let piv = rho[q0];
        for p in 0..k {
            let row = &mut self.minv[p * cap..p * cap + k];
            let m0 = row[q0] / piv;
            if m0 != 0.0 {
                for q in 0..k {
                    row[q] -= m0 * rho[q];
                }
            }
            row[q0] = m0;
        }
        self.updates += 1;
    }

    /// S position p and T position q0 leave (K loses column p and row q0); the last positions
    /// move into their places. Pivot M[p][q0].
    pub fn shrink(&mut self, p: usize, q0: usize) {
        let (k, cap) = (self.k, self.cap);
        let piv = self.at(p, q0);
        let prow: Vec<f64> = self.row(p).to_vec();
        for i in 0..k {
            if i == p {
                continue;
            }
            let f = self.minv[i * cap + q0] / piv;
            if f != 0.0 {
                let r = &mut self.minv[i * cap..i * cap + k];
                for q in 0..k {
                    r[q] -= f * prow[q];
                }
            }
        }
        let last = k - 1;
        if p != last {
            self.minv.copy_within(last * cap..last * cap + k, p * cap);
        }
        if q0 != last {
            for i in 0..last {
                self.minv[i * cap + q0] = self.minv[i * cap + last];
            }
        }
        self.k = last;
        self.updates += 1;
    }

    /// K gains a row (new T position k) and a column (new S position k): with b the new column
    /// over the old T positions, c the new row over the old S positions and δ the corner,
    /// w = M b, rho = cᵀ M and sigma = δ − c·w (the pivot).
    pub fn grow(&mut self, w: &[f64], rho: &[f64], sigma: f64) {
        let k = self.k;
        self.reserve(k + 1);
        let cap = self.cap;
        for p in 0..k {
            let f = w[p] / sigma;
            let r = &mut self.minv[p * cap..p * cap + k + 1];
            if f != 0.0 {
                for q in 0..k {
                    r[q] += f * rho[q];
                }
            }
            r[k] = -f;
        }
        for q in 0..k {
            self.minv[k * cap + q] = -rho[q] / sigma;
        }
        self.minv[k * cap + k] = 1.0 / sigma;
        self.k = k + 1;
        self.updates += 1;
    }

    /// M = K⁻¹ from scratch; `kmat` is K row-major (k × k, K[q][p] at q·k + p). False when K is
    /// singular to working precision (a pivot below 1e-11 of the largest entry of its column).
    pub fn factor(&mut self, kmat: &[f64], k: usize) -> bool {
        self.reserve(k);
        self.k = k;
        self.updates = 0;
        if k == 0 {
            return true;
        }
        // Gauss–Jordan on [K | I] with partial pivoting gives K⁻¹ with rows indexed by q'…: we
        // want M = K⁻¹, M[p][q]; K is (q, p), so K⁻¹ is (p, q) as needed.
        let mut a = kmat.to_vec();
        let mut inv = vec![0.0; k * k];
        for i in 0..k {
            inv[i * k + i] = 1.0;
        }
        let scale = a.iter().fold(0.0f64, |s, v| s.max(v.abs())).max(1e-300);
        for col in 0..k {
            let mut piv = col;
            for r in col + 1..k {
                if a[r * k + col].abs() > a[piv * k + col].abs() {
                    piv = r;
                }
            }
            if !(a[piv * k + col].abs() > 1e-11 * scale) {
                return false;
            }
            if piv != col {
                for j in 0..k {
                    a.swap(piv * k + j, col * k + j);
                    inv.swap(piv * k + j, col * k + j);
                }
            }
            let d = a[col * k + col];
            for j in 0..k {
                a[col * k + j] /= d;
                inv[col * k + j] /= d;
            }
            for r in 0..k {
                if r == col {
                    continue;
                }
                let f = a[r * k + col];
                if f != 0.0 {
                    for j in 0..k {
                        a[r * k + j] -= f * a[col * k + j];
                        inv[r * k + j] -= f * inv[col * k + j];
                    }
                }
            }
        }
        // inv = K⁻¹ with row index = column index of K (p) and column index = row index of K (q).
        let cap = self.cap;
        for p in 0..k {
            self.minv[p * cap..p * cap + k].copy_from_slice(&inv[p * k..(p + 1) * k]);
        }
        true
    }
}

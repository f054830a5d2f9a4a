//! Dense kernels shared by the forward pass, region propagation and the simplex.
//!
//! Every reduction uses two interleaved accumulators (even and odd indices) that are added at the
//! end. The wasm SIMD build keeps them in the two lanes of one `f64x2`; the scalar builds keep them
//! in two locals. The order of floating-point operations is therefore identical in every build
//! (no FMA is used anywhere), so SIMD, scalar and native results agree bit for bit.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// `Σ a[i]·b[i]` over `min(a.len(), b.len())` entries.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let pairs = n / 2;
        let mut acc = f64x2_splat(0.0);
        // SAFETY: i < pairs guarantees that the two lanes 2i, 2i+1 are inside both slices;
        // v128_load has no alignment requirement.
        unsafe {
            let pa = a.as_ptr();
            let pb = b.as_ptr();
            for i in 0..pairs {
                let va = v128_load(pa.add(2 * i) as *const v128);
                let vb = v128_load(pb.add(2 * i) as *const v128);
                acc = f64x2_add(acc, f64x2_mul(va, vb));
            }
        }
        let mut s = f64x2_extract_lane::<0>(acc) + f64x2_extract_lane::<1>(acc);
        if n % 2 == 1 {
            s += a[n - 1] * b[n - 1];
        }
        s
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let pairs = n / 2;
        let mut s0 = 0.0;
        let mut s1 = 0.0;
        for i in 0..pairs {
            s0 += a[2 * i] * b[2 * i];
            s1 += a[2 * i + 1] * b[2 * i + 1];
        }
        let mut s = s0 + s1;
        if n % 2 == 1 {
            s += a[n - 1] * b[n - 1];
        }
        s
    }
}

/// `y[i] += alpha·x[i]` (element-wise, so every build rounds identically).
#[inline]
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    let n = x.len().min(y.len());
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let pairs = n / 2;
        let va = f64x2_splat(alpha);
        // SAFETY: lanes 2i, 2i+1 < n for i < pairs; unaligned loads/stores are allowed.
        unsafe {
            let px = x.as_ptr();
            let py = y.as_mut_ptr();
            for i in 0..pairs {
                let vx = v128_load(px.add(2 * i) as *const v128);
                let vy = v128_load(py.add(2 * i) as *const v128);
                v128_store(py.add(2 * i) as *mut v128, f64x2_add(vy, f64x2_mul(va, vx)));
            }
        }
        if n % 2 == 1 {
            y[n - 1] += alpha * x[n - 1];
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        for i in 0..n {
            y[i] += alpha * x[i];
        }
    }
}

/// `y[i] += a·x[i]` and `z[i] += b·x[i]` in one pass over `x` (element-wise, so every build
/// rounds as two [`axpy`] calls would).
#[inline]
pub fn axpy2(a: f64, b: f64, x: &[f64], y: &mut [f64], z: &mut [f64]) {
    let n = x.len().min(y.len()).min(z.len());
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let pairs = n / 2;
        let (va, vb) = (f64x2_splat(a), f64x2_splat(b));
        // SAFETY: lanes 2i, 2i+1 < n for i < pairs; unaligned loads/stores are allowed.
        unsafe {
            let (px, py, pz) = (x.as_ptr(), y.as_mut_ptr(), z.as_mut_ptr());
            for i in 0..pairs {
                let vx = v128_load(px.add(2 * i) as *const v128);
                let vy = v128_load(py.add(2 * i) as *const v128);
                let vz = v128_load(pz.add(2 * i) as *const v128);
                v128_store(py.add(2 * i) as *mut v128, f64x2_add(vy, f64x2_mul(va, vx)));
                v128_store(pz.add(2 * i) as *mut v128, f64x2_add(vz, f64x2_mul(vb, vx)));
            }
        }
        if n % 2 == 1 {
            y[n - 1] += a * x[n - 1];
            z[n - 1] += b * x[n - 1];
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let (x, y, z) = (&x[..n], &mut y[..n], &mut z[..n]);
        for i in 0..n {
            y[i] += a * x[i];
            z[i] += b * x[i];
        }
    }
}

/// `w[i] = max(w[i], (s·x[i])²·r)`: the Devex reference-weight update (element-wise, so every
/// build rounds identically; the larger value is kept as `if cand > w { w = cand }` would).
#[inline]
pub fn max_scaled_square(s: f64, r: f64, x: &[f64], w: &mut [f64]) {
    let n = x.len().min(w.len());
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let pairs = n / 2;
        let (vs, vr) = (f64x2_splat(s), f64x2_splat(r));
        // SAFETY: lanes 2i, 2i+1 < n for i < pairs; unaligned loads/stores are allowed.
        unsafe {
            let (px, pw) = (x.as_ptr(), w.as_mut_ptr());
            for i in 0..pairs {
                let t = f64x2_mul(vs, v128_load(px.add(2 * i) as *const v128));
                let cand = f64x2_mul(f64x2_mul(t, t), vr);
                let vw = v128_load(pw.add(2 * i) as *const v128);
                // pmax(a, b) = a < b ? b : a, i.e. keep w unless cand is larger.
                v128_store(pw.add(2 * i) as *mut v128, f64x2_pmax(vw, cand));
            }
        }
        if n % 2 == 1 {
            let t = s * x[n - 1];
            let cand = t * t * r;
            if cand > w[n - 1] {
                w[n - 1] = cand;
            }
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let (x, w) = (&x[..n], &mut w[..n]);
        for i in 0..n {
            let t = s * x[i];
            let cand = t * t * r;
            if cand > w[i] {
                w[i] = cand;
            }
        }
    }
}

/// Euclidean norm, computed with the same two-accumulator order as [`dot`].
#[inline]
pub fn norm2(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `out = M·x` for a row-major `rows × cols` matrix.
pub fn matvec(m: &[f64], rows: usize, cols: usize, x: &[f64], out: &mut [f64]) {
    for i in 0..rows {
        out[i] = dot(&m[i * cols..(i + 1) * cols], x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_pairwise_definition() {
        let a: Vec<f64> = (0..7).map(|i| 0.1 * i as f64 + 0.3).collect();
        let b: Vec<f64> = (0..7).map(|i| 1.0 / (1.0 + i as f64)).collect();
        let even: f64 = (0..3).map(|i| a[2 * i] * b[2 * i]).fold(0.0, |s, v| s + v);
        let odd: f64 = (0..3).map(|i| a[2 * i + 1] * b[2 * i + 1]).fold(0.0, |s, v| s + v);
        assert_eq!(dot(&a, &b), even + odd + a[6] * b[6]);
        assert_eq!(dot(&[], &[]), 0.0);
    }

    #[test]
    fn axpy_adds() {
        let mut y = vec![1.0, 2.0, 3.0];
        axpy(2.0, &[1.0, 1.0, 1.0], &mut y);
        assert_eq!(y, vec![3.0, 4.0, 5.0]);
    }
}

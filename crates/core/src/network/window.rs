//! The sliding-window geometry shared by convolution and average pooling: which pixels of an
//! image a kernel position reads. Kernel position (y, x) of output pixel (oy, ox) reads image
//! pixel (oy·s_y − pad_top + ky·d_y, ox·s_x − pad_left + kx·d_x); pixels outside the image read
//! zero (zero padding).

use crate::error::{invalid, Result};

/// Marks a kernel position outside the image in [`Window::sources`].
pub const NO_SOURCE: usize = usize::MAX;

/// The largest kernel, stride, dilation or pad a window may have.
pub const MAX_EXTENT: usize = 1 << 15;

/// Kernel, strides, padding and dilations of a 2-D window (1-D ones have height 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Zero padding before (top, left) and after (bottom, right) the image.
    pub pads: [usize; 4],
    pub dilation: [usize; 2],
}

impl Window {
    pub(crate) fn check(&self, what: &str) -> Result<()> {
        if self.kernel.contains(&0) || self.stride.contains(&0) || self.dilation.contains(&0) {
            return invalid(format!(
                "{}: kernel {:?}, strides {:?} and dilations {:?} must be at least 1",
                what, self.kernel, self.stride, self.dilation
            ));
        }
        // Bounded so that window arithmetic (o·s + k·d) cannot overflow a 32-bit usize.
        let all = self.kernel.iter().chain(&self.stride).chain(&self.dilation).chain(&self.pads);
        if all.clone().any(|&v| v > MAX_EXTENT) {
            return invalid(format!(
                "{}: kernel {:?}, strides {:?}, dilations {:?} and pads {:?} must be at most {}",
                what, self.kernel, self.stride, self.dilation, self.pads, MAX_EXTENT
            ));
        }
        Ok(())
    }

    /// The image row (or column, `axis` 1) read by output row `o` at kernel offset `k`, if it lies
    /// inside an image of `size` rows.
    #[inline]
    pub fn source(&self, axis: usize, o: usize, k: usize, size: usize) -> Option<usize> {
        let t = o * self.stride[axis] + k * self.dilation[axis];
        let p = t.checked_sub(self.pads[axis])?;
        if p < size {
            Some(p)
        } else {
            None
        }
    }

    /// [`Window::source`] for every output row `o < out` and kernel offset `k`, at `o·kernel + k`
    /// ([`NO_SOURCE`] outside the image): the forward kernels read it instead of dividing per pixel.
    pub fn sources(&self, axis: usize, out: usize, size: usize) -> Vec<usize> {
        let k = self.kernel[axis];
        let mut t = Vec::with_capacity(out * k);
        for o in 0..out {
            for kk in 0..k {
                t.push(self.source(axis, o, kk, size).unwrap_or(NO_SOURCE));
            }
        }
        t
    }

    /// The output row (or column) whose kernel offset `k` reads image row `p`, if any lies in an
    /// output of `size` rows (the inverse of [`Window::source`]).
    #[inline]
    pub fn target(&self, axis: usize, p: usize, k: usize, size: usize) -> Option<usize> {
        let t = (p + self.pads[axis]).checked_sub(k * self.dilation[axis])?;
        if t % self.stride[axis] != 0 {
            return None;
        }
        let o = t / self.stride[axis];
        if o < size {
            Some(o)
        } else {
            None
        }
    }

    /// Output size along `axis` for an image of `size` (ONNX floor mode; ceil mode rounds up).
    pub fn output_size(&self, axis: usize, size: usize, ceil: bool) -> Option<usize> {
        let span = (self.kernel[axis] - 1) * self.dilation[axis] + 1;
        let padded = size + self.pads[axis] + self.pads[axis + 2];
        let room = padded.checked_sub(span)?;
        let s = self.stride[axis];
        Some(if ceil { (room + s - 1) / s + 1 } else { room / s + 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_and_target_are_inverse() {
        let w = Window { kernel: [3, 2], stride: [2, 3], pads: [1, 0, 2, 1], dilation: [2, 1] };
        for axis in 0..2 {
            let (img, out) = (11, w.output_size(axis, 11, false).unwrap());
            for o in 0..out {
                for k in 0..w.kernel[axis] {
                    if let Some(p) = w.source(axis, o, k, img) {
                        assert_eq!(w.target(axis, p, k, out), Some(o));
                    }
                }
            }
            for p in 0..img {
                for k in 0..w.kernel[axis] {
                    if let Some(o) = w.target(axis, p, k, out) {
                        assert_eq!(w.source(axis, o, k, img), Some(p));
                    }
                }
            }
        }
        // floor((11 + 1 + 2 − 5) / 2) + 1 = 5 rows; ceil mode: 6 when the division is inexact.
        assert_eq!(w.output_size(0, 11, false), Some(5));
        assert_eq!(w.output_size(0, 11, true), Some(6));
        assert_eq!(w.output_size(0, 1, false), None);
    }
}

//! Average pooling (ONNX `AveragePool`, `GlobalAveragePool`) as a structured linear operator.
//!
//! Output pixel (c, oy, ox) is the mean of the window's pixels of channel c. The divisor follows
//! ONNX: with `count_include_pad` every window position inside the *padded* image counts (padding
//! reads zero), without it only positions inside the image count. Positions beyond the padded
//! image (ceil mode) never count.

use crate::error::{invalid, Result};
use crate::network::window::{Window, MAX_EXTENT, NO_SOURCE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvgPool {
    pub channels: usize,
    /// Image `[height, width]` and output `[height, width]`.
    pub image: [usize; 2],
    pub output: [usize; 2],
    pub window: Window,
    pub count_include_pad: bool,
}

impl AvgPool {
    pub fn n_in(&self) -> usize {
        self.channels * self.image[0] * self.image[1]
    }

    pub fn n_out(&self) -> usize {
        self.channels * self.output[0] * self.output[1]
    }

    pub(crate) fn check(&self, what: &str) -> Result<()> {
        self.window.check(what)?;
        if self.channels == 0 || self.image.iter().chain(&self.output).any(|&d| d == 0 || d > MAX_EXTENT) {
            return invalid(format!(
                "{}: empty shape ({} channels, image {:?}, output {:?})",
                what, self.channels, self.image, self.output
            ));
        }
        for axis in 0..2 {
            for o in 0..self.output[axis] {
                if self.count(axis, o) == 0 {
                    return invalid(format!("{}: output row {} of axis {} has an empty window", what, o, axis));
                }
            }
        }
        Ok(())
    }

    /// Positions of output row `o` along `axis` that count towards its divisor.
    fn count(&self, axis: usize, o: usize) -> usize {
        let w = &self.window;
        let size = self.image[axis];
        let padded = size + w.pads[axis] + w.pads[axis + 2];
        (0..w.kernel[axis])
            .filter(|&k| {
                let t = o * w.stride[axis] + k * w.dilation[axis];
                if self.count_include_pad {
                    t < padded
                } else {
                    w.source(axis, o, k, size).is_some()
                }
            })
            .count()
    }

    /// `f(p, 1/count)` for the image pixels p averaged by output pixel q.
    #[inline]
    pub fn gather_row<F: FnMut(usize, f64)>(&self, q: usize, mut f: F) {
        let [h, w] = self.image;
        let [oh, ow] = self.output;
        let c = q / (oh * ow);
        let (oy, ox) = ((q / ow) % oh, q % ow);
        let weight = 1.0 / (self.count(0, oy) * self.count(1, ox)) as f64;
        for ky in 0..self.window.kernel[0] {
            let y = match self.window.source(0, oy, ky, h) {
                Some(y) => y,
                None => continue,
            };
            for kx in 0..self.window.kernel[1] {
                if let Some(x) = self.window.source(1, ox, kx, w) {
                    f((c * h + y) * w + x, weight);
                }
            }
        }
    }

    /// `f(q, a_qp)` for the output pixels q whose windows read image pixel p.
    #[inline]
    pub fn scatter_row<F: FnMut(usize, f64)>(&self, p: usize, mut f: F) {
        let [h, w] = self.image;
        let [oh, ow] = self.output;
        let c = p / (h * w);
        let (y, x) = ((p / w) % h, p % w);
        for ky in 0..self.window.kernel[0] {
            let oy = match self.window.target(0, y, ky, oh) {
                Some(oy) => oy,
                None => continue,
            };
            for kx in 0..self.window.kernel[1] {
                if let Some(ox) = self.window.target(1, x, kx, ow) {
                    f((c * oh + oy) * ow + ox, 1.0 / (self.count(0, oy) * self.count(1, ox)) as f64);
                }
            }
        }
    }

    /// Calls `f(q, w, taps)` for every output pixel q in increasing order, with its weight
    /// 1/count and `taps(g)` calling `g(p)` for the pixels its window averages, in kernel order
    /// (as [`AvgPool::gather_row`], without a division per pixel).
    #[inline]
    fn windows<F: FnMut(usize, f64, &dyn Fn(&mut dyn FnMut(usize)))>(&self, mut f: F) {
        let [h, w] = self.image;
        let [oh, ow] = self.output;
        let (kh, kw) = (self.window.kernel[0], self.window.kernel[1]);
        let ys = self.window.sources(0, oh, h);
        let xs = self.window.sources(1, ow, w);
        let cy: Vec<usize> = (0..oh).map(|o| self.count(0, o)).collect();
        let cx: Vec<usize> = (0..ow).map(|o| self.count(1, o)).collect();
        for c in 0..self.channels {
            for oy in 0..oh {
                let yrow = &ys[oy * kh..(oy + 1) * kh];
                for ox in 0..ow {
                    let xrow = &xs[ox * kw..(ox + 1) * kw];
                    let weight = 1.0 / (cy[oy] * cx[ox]) as f64;
                    let taps = |g: &mut dyn FnMut(usize)| {
                        for &y in yrow {
                            if y == NO_SOURCE {
                                continue;
                            }
                            for &x in xrow {
                                if x != NO_SOURCE {
                                    g((c * h + y) * w + x);
                                }
                            }
                        }
                    };
                    f((c * oh + oy) * ow + ox, weight, &taps);
                }
            }
        }
    }

    /// y += s·A x (entries are positive, so this is also |A| x for s = 1).
    pub fn forward_add(&self, x: &[f64], y: &mut [f64], s: f64) {
        self.windows(|q, a, taps| {
            let mut acc = 0.0;
            taps(&mut |p| acc += a * x[p]);
            y[q] += s * acc;
        });
    }

    /// x += s·Aᵀ y.
    pub fn transpose_add(&self, y: &[f64], x: &mut [f64], s: f64) {
        self.windows(|q, a, taps| {
            let v = y[q];
            if v != 0.0 {
                let sv = s * v;
                taps(&mut |p| x[p] += a * sv);
            }
        });
    }

    pub fn entries(&self) -> usize {
        let mut n = 0;
        for q in 0..self.n_out() {
            self.gather_row(q, |_, _| n += 1);
        }
        n
    }
}

//! Convolution (ONNX `Conv`, and `ConvTranspose` as its transpose) as a structured linear
//! operator: never materialised, applied from the kernel.
//!
//! One relation serves both directions. Feature pixel q = (o, oy, ox) of a convolution reads
//! image pixels p = (c, oy·s − pad + ky·d, …) of the input channels c of its group, with weight
//! `w[o][c − group start][ky][kx]`. A convolution maps image → features (each output is a
//! *gather* over its window); a transposed convolution maps features → image with the same
//! relation (each input *scatters* into the windows that read it), which is exactly ONNX's
//! `ConvTranspose` with weights `[C_in][C_out/groups][kh][kw]` (its input plays the feature side).

use crate::error::{invalid, Result};
use crate::network::window::{Window, MAX_EXTENT, NO_SOURCE};

#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// The image side `[channels, height, width]`: input of a convolution, output of a
    /// transposed one.
    pub image: [usize; 3],
    /// The feature side: output of a convolution, input of a transposed one.
    pub features: [usize; 3],
    pub window: Window,
    pub groups: usize,
    /// ONNX `ConvTranspose`: maps the feature side to the image side.
    pub transposed: bool,
    /// `[feature channels][image channels / groups][kh][kw]` row-major.
    pub w: Vec<f64>,
}

fn size(s: &[usize; 3]) -> usize {
    s[0] * s[1] * s[2]
}

impl Conv {
    pub fn image_size(&self) -> usize {
        size(&self.image)
    }

    pub fn feature_size(&self) -> usize {
        size(&self.features)
    }

    pub fn n_in(&self) -> usize {
        if self.transposed {
            self.feature_size()
        } else {
            self.image_size()
        }
    }

    pub fn n_out(&self) -> usize {
        if self.transposed {
            self.image_size()
        } else {
            self.feature_size()
        }
    }

    pub(crate) fn check(&self, what: &str) -> Result<()> {
        self.window.check(what)?;
        if self.image.iter().chain(&self.features).any(|&d| d == 0 || d > MAX_EXTENT) {
            return invalid(format!(
                "{}: image {:?} and features {:?} must have sizes from 1 to {}",
                what, self.image, self.features, MAX_EXTENT
            ));
        }
        let g = self.groups;
        if g == 0 || self.image[0] % g != 0 || self.features[0] % g != 0 {
            return invalid(format!(
                "{}: {} groups do not divide {} image channels and {} feature channels",
                what, g, self.image[0], self.features[0]
            ));
        }
        let want = self.features[0] * (self.image[0] / g) * self.window.kernel[0] * self.window.kernel[1];
        if self.w.len() != want {
            return invalid(format!("{}: {} weights, expected {}", what, self.w.len(), want));
        }
        Ok(())
    }

    /// Calls `f(p, w)` for the image pixels p read by feature pixel q (kernel order).
    #[inline]
    pub fn gather_row<F: FnMut(usize, f64)>(&self, q: usize, mut f: F) {
        let [cp, hp, wp] = self.image;
        let [cq, hq, wq] = self.features;
        let [kh, kw] = self.window.kernel;
        let gp = cp / self.groups;
        let o = q / (hq * wq);
        let (oy, ox) = ((q / wq) % hq, q % wq);
        let c0 = (o / (cq / self.groups)) * gp;
        for ci in 0..gp {
            let wbase = (o * gp + ci) * kh * kw;
            let pbase = (c0 + ci) * hp;
            for ky in 0..kh {
                let y = match self.window.source(0, oy, ky, hp) {
                    Some(y) => y,
                    None => continue,
                };
                for kx in 0..kw {
                    if let Some(x) = self.window.source(1, ox, kx, wp) {
                        f((pbase + y) * wp + x, self.w[wbase + ky * kw + kx]);
                    }
                }
            }
        }
    }

    /// Calls `f(q, w)` for the feature pixels q whose windows read image pixel p.
    #[inline]
    pub fn scatter_row<F: FnMut(usize, f64)>(&self, p: usize, mut f: F) {
        let [cp, hp, wp] = self.image;
        let [cq, hq, wq] = self.features;
        let [kh, kw] = self.window.kernel;
        let (gp, gq) = (cp / self.groups, cq / self.groups);
        let c = p / (hp * wp);
        let (y, x) = ((p / wp) % hp, p % wp);
        let (g, ci) = (c / gp, c % gp);
        for o in g * gq..(g + 1) * gq {
            let wbase = (o * gp + ci) * kh * kw;
            for ky in 0..kh {
                let oy = match self.window.target(0, y, ky, hq) {
                    Some(oy) => oy,
                    None => continue,
                };
                for kx in 0..kw {
                    if let Some(ox) = self.window.target(1, x, kx, wq) {
                        f((o * hq + oy) * wq + ox, self.w[wbase + ky * kw + kx]);
                    }
                }
            }
        }
    }

    /// Calls `tap(q, p, w)` for every feature pixel q in increasing order and, within q, for the
    /// image pixels p its window reads in kernel order, with weight w (as [`Conv::gather_row`],
    /// without a division per pixel); `done(q)` after the last tap of q.
    #[inline]
    fn windows<T: FnMut(usize, usize, f64), D: FnMut(usize)>(&self, mut tap: T, mut done: D) {
        let [cp, hp, wp] = self.image;
        let [cq, hq, wq] = self.features;
        let [kh, kw] = self.window.kernel;
        let (gp, gq) = (cp / self.groups, cq / self.groups);
        let ys = self.window.sources(0, hq, hp);
        let xs = self.window.sources(1, wq, wp);
        for o in 0..cq {
            let c0 = (o / gq) * gp;
            let wo = &self.w[o * gp * kh * kw..(o + 1) * gp * kh * kw];
            for oy in 0..hq {
                let yrow = &ys[oy * kh..(oy + 1) * kh];
                for ox in 0..wq {
                    let xrow = &xs[ox * kw..(ox + 1) * kw];
                    let q = (o * hq + oy) * wq + ox;
                    for ci in 0..gp {
                        let pbase = (c0 + ci) * hp;
                        let wb = &wo[ci * kh * kw..(ci + 1) * kh * kw];
                        for (ky, &y) in yrow.iter().enumerate() {
                            if y == NO_SOURCE {
                                continue;
                            }
                            for (kx, &x) in xrow.iter().enumerate() {
                                if x != NO_SOURCE {
                                    tap(q, (pbase + y) * wp + x, wb[ky * kw + kx]);
                                }
                            }
                        }
                    }
                    done(q);
                }
            }
        }
    }

    /// dst(features) += s·K src(image), with |K| when `abs` (per feature pixel: the sum over its
    /// window in kernel order, then one addition).
    fn gather(&self, src: &[f64], dst: &mut [f64], s: f64, abs: bool) {
        let acc = std::cell::Cell::new(0.0);
        self.windows(
            |_, p, w| acc.set(acc.get() + if abs { w.abs() } else { w } * src[p]),
            |q| dst[q] += s * acc.replace(0.0),
        );
    }

    /// dst(image) += s·Kᵀ src(features), with |K| when `abs`.
    fn scatter(&self, src: &[f64], dst: &mut [f64], s: f64, abs: bool) {
        self.windows(
            |q, p, w| {
                // As before: each input scaled once (s·v), zero inputs skipped.
                let sv = s * src[q];
                if src[q] != 0.0 {
                    dst[p] += if abs { w.abs() } else { w } * sv;
                }
            },
            |_| {},
        );
    }

    /// y += s·A x.
    pub fn forward_add(&self, x: &[f64], y: &mut [f64], s: f64) {
        if self.transposed {
            self.scatter(x, y, s, false)
        } else {
            self.gather(x, y, s, false)
        }
    }

    /// x += s·Aᵀ y.
    pub fn transpose_add(&self, y: &[f64], x: &mut [f64], s: f64) {
        if self.transposed {
            self.gather(y, x, s, false)
        } else {
            self.scatter(y, x, s, false)
        }
    }

    /// y += |A| x.
    pub fn abs_forward_add(&self, x: &[f64], y: &mut [f64]) {
        if self.transposed {
            self.scatter(x, y, 1.0, true)
        } else {
            self.gather(x, y, 1.0, true)
        }
    }

    /// `f(j, a_ij)` for the entries of row i of A.
    #[inline]
    pub fn for_each_in_row<F: FnMut(usize, f64)>(&self, i: usize, f: F) {
        if self.transposed {
            self.scatter_row(i, f)
        } else {
            self.gather_row(i, f)
        }
    }

    /// Structural non-zeros of A (kernel taps that land inside the image).
    pub fn entries(&self) -> usize {
        let mut n = 0;
        for q in 0..self.feature_size() {
            self.gather_row(q, |_, _| n += 1);
        }
        n
    }
}

//! The operators checked against independent computations: each one's kernels against its own
//! dense matrix (built from its rows), and convolution, transposed convolution and average
//! pooling against direct transcriptions of the ONNX definitions on padded images.

use crate::network::tests::{random_graph, Rng};
use crate::network::{AvgPool, Conv, Dense, Gather, Op, Window};

fn dense_of(op: &Op) -> Vec<f64> {
    let (m, n) = (op.n_out(), op.n_in());
    let mut a = vec![0.0; m * n];
    for i in 0..m {
        op.for_each_in_row(i, |j, w| a[i * n + j] += w);
    }
    a
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{}", what);
    for i in 0..a.len() {
        assert!((a[i] - b[i]).abs() <= tol * (1.0 + b[i].abs()), "{}[{}]: {} vs {}", what, i, a[i], b[i]);
    }
}

fn win(k: [usize; 2], s: [usize; 2], p: [usize; 4], d: [usize; 2]) -> Window {
    Window { kernel: k, stride: s, pads: p, dilation: d }
}

fn some_operators(rng: &mut Rng) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    for node in random_graph(rng).graph().nodes.iter() {
        ops.extend(node.terms.iter().map(|t| t.op.clone()));
    }
    let w = |rng: &mut Rng, n: usize| (0..n).map(|_| rng.normal()).collect::<Vec<f64>>();
    ops.push(Op::Conv(Conv {
        image: [3, 7, 6],
        features: [6, 3, 4],
        window: win([3, 2], [2, 1], [1, 0, 1, 1], [1, 2]),
        groups: 3,
        transposed: false,
        w: w(rng, 6 * 3 * 2),
    }));
    ops.push(Op::Conv(Conv {
        image: [4, 8, 7],
        features: [2, 4, 3],
        window: win([3, 3], [2, 2], [1, 1, 0, 0], [1, 1]),
        groups: 2,
        transposed: true,
        w: w(rng, 2 * 2 * 9),
    }));
    for include in [false, true] {
        ops.push(Op::AvgPool(AvgPool {
            channels: 2,
            image: [5, 6],
            output: [3, 3],
            window: win([3, 2], [2, 2], [1, 0, 1, 0], [1, 1]),
            count_include_pad: include,
        }));
    }
    ops.push(Op::Dense(Dense { n_in: 5, n_out: 4, w: w(rng, 20) }));
    ops.push(Op::Scale(w(rng, 6)));
    ops.push(Op::Gather(Gather { n_in: 4, index: vec![3, Gather::ZERO, 0, 0, 2] }));
    ops.push(Op::Identity(3));
    ops
}

#[test]
fn every_kernel_agrees_with_the_operators_matrix() {
    let mut rng = Rng(7);
    for op in some_operators(&mut rng) {
        let what = op.kind();
        let (m, n) = (op.n_out(), op.n_in());
        let a = dense_of(&op);
        let x: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let y0: Vec<f64> = (0..m).map(|_| rng.normal()).collect();
        for negate in [false, true] {
            let s = if negate { -1.0 } else { 1.0 };
            let mut y = y0.clone();
            op.forward_add(&x, &mut y, negate);
            let want: Vec<f64> = (0..m).map(|i| y0[i] + s * (0..n).map(|j| a[i * n + j] * x[j]).sum::<f64>()).collect();
            close(&y, &want, 1e-12, &format!("{} forward", what));
            let mut xt = x.clone();
            op.transpose_add(&y0, &mut xt, negate);
            let want: Vec<f64> = (0..n).map(|j| x[j] + s * (0..m).map(|i| a[i * n + j] * y0[i]).sum::<f64>()).collect();
            close(&xt, &want, 1e-12, &format!("{} transpose", what));
        }
        let mut ya = y0.clone();
        op.abs_forward_add(&x, &mut ya);
        let want: Vec<f64> = (0..m).map(|i| y0[i] + (0..n).map(|j| a[i * n + j].abs() * x[j]).sum::<f64>()).collect();
        close(&ya, &want, 1e-12, &format!("{} |A|", what));
        // Columns list the same entries as rows.
        let mut cols = vec![0.0; m * n];
        for j in 0..n {
            op.for_each_in_column(j, |i, w| cols[i * n + j] += w);
        }
        close(&cols, &a, 0.0, &format!("{} columns", what));
        // Jacobian blocks: J_out += A J_in.
        let c = 3;
        let jin: Vec<f64> = (0..n * c).map(|_| rng.normal()).collect();
        let mut jout = vec![1.0; m * c];
        op.jacobian_add(&jin, c, &mut jout, true);
        let want: Vec<f64> =
            (0..m * c).map(|q| 1.0 - (0..n).map(|j| a[(q / c) * n + j] * jin[j * c + q % c]).sum::<f64>()).collect();
        close(&jout, &want, 1e-12, &format!("{} jacobian", what));
        let nz = (0..m).map(|i| {
            let mut k = 0;
            op.for_each_in_row(i, |_, _| k += 1);
            k
        });
        assert_eq!(nz.sum::<usize>(), op.entries(), "{} entries", what);
    }
}

/// ONNX Conv on a zero-padded image: Y[o, y, x] = Σ_{c in group, ky, kx} W[o, c, ky, kx] ·
/// Xpad[c, y·s + ky·d, x·s + kx·d].
fn onnx_conv(c: &Conv, x: &[f64]) -> Vec<f64> {
    let [cp, hp, wp] = c.image;
    let [cq, hq, wq] = c.features;
    let w = &c.window;
    let (ph, pw) = (hp + w.pads[0] + w.pads[2], wp + w.pads[1] + w.pads[3]);
    let mut pad = vec![0.0; cp * ph * pw];
    for ch in 0..cp {
        for y in 0..hp {
            for xx in 0..wp {
                pad[(ch * ph + y + w.pads[0]) * pw + xx + w.pads[1]] = x[(ch * hp + y) * wp + xx];
            }
        }
    }
    let (gp, gq) = (cp / c.groups, cq / c.groups);
    let mut out = vec![0.0; cq * hq * wq];
    for o in 0..cq {
        for y in 0..hq {
            for xx in 0..wq {
                let mut s = 0.0;
                for ci in 0..gp {
                    let ch = (o / gq) * gp + ci;
                    for ky in 0..w.kernel[0] {
                        for kx in 0..w.kernel[1] {
                            let (py, px) =
                                (y * w.stride[0] + ky * w.dilation[0], xx * w.stride[1] + kx * w.dilation[1]);
                            if py < ph && px < pw {
                                s += c.w[((o * gp + ci) * w.kernel[0] + ky) * w.kernel[1] + kx]
                                    * pad[(ch * ph + py) * pw + px];
                            }
                        }
                    }
                }
                out[(o * hq + y) * wq + xx] = s;
            }
        }
    }
    out
}

/// ONNX ConvTranspose: every input pixel adds X[c, iy, ix] · W[c, m, ky, kx] to the output at
/// (iy·s + ky·d − pad_top, ix·s + kx·d − pad_left) when that lies in the output.
fn onnx_conv_transpose(c: &Conv, x: &[f64]) -> Vec<f64> {
    let [cm, hm, wm] = c.image;
    let [cx, hx, wx] = c.features;
    let w = &c.window;
    let (gm, gx) = (cm / c.groups, cx / c.groups);
    let mut out = vec![0.0; cm * hm * wm];
    for ch in 0..cx {
        for iy in 0..hx {
            for ix in 0..wx {
                let v = x[(ch * hx + iy) * wx + ix];
                for mi in 0..gm {
                    let m = (ch / gx) * gm + mi;
                    for ky in 0..w.kernel[0] {
                        for kx in 0..w.kernel[1] {
                            let y = (iy * w.stride[0] + ky * w.dilation[0]) as isize - w.pads[0] as isize;
                            let xx = (ix * w.stride[1] + kx * w.dilation[1]) as isize - w.pads[1] as isize;
                            if y >= 0 && (y as usize) < hm && xx >= 0 && (xx as usize) < wm {
                                out[(m * hm + y as usize) * wm + xx as usize] +=
                                    v * c.w[((ch * gm + mi) * w.kernel[0] + ky) * w.kernel[1] + kx];
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// ONNX AveragePool: the window's pixels of the padded image summed, divided by the window size
/// inside the padded image (count_include_pad) or inside the image.
fn onnx_avg_pool(p: &AvgPool, x: &[f64]) -> Vec<f64> {
    let [h, w] = p.image;
    let [oh, ow] = p.output;
    let win = &p.window;
    let mut out = vec![0.0; p.channels * oh * ow];
    for c in 0..p.channels {
        for oy in 0..oh {
            for ox in 0..ow {
                let (mut s, mut count) = (0.0, 0usize);
                for ky in 0..win.kernel[0] {
                    for kx in 0..win.kernel[1] {
                        let py = (oy * win.stride[0] + ky) as isize - win.pads[0] as isize;
                        let px = (ox * win.stride[1] + kx) as isize - win.pads[1] as isize;
                        let inside = py >= 0 && (py as usize) < h && px >= 0 && (px as usize) < w;
                        let in_padded = py < (h + win.pads[2]) as isize && px < (w + win.pads[3]) as isize;
                        if inside {
                            s += x[(c * h + py as usize) * w + px as usize];
                        }
                        if inside || (p.count_include_pad && in_padded) {
                            count += 1;
                        }
                    }
                }
                out[(c * oh + oy) * ow + ox] = s / count as f64;
            }
        }
    }
    out
}

#[test]
fn convolutions_and_pooling_follow_the_onnx_definitions() {
    let mut rng = Rng(11);
    for op in some_operators(&mut rng) {
        let x: Vec<f64> = (0..op.n_in()).map(|_| rng.normal()).collect();
        let want = match &op {
            Op::Conv(c) if c.transposed => onnx_conv_transpose(c, &x),
            Op::Conv(c) => onnx_conv(c, &x),
            Op::AvgPool(p) => onnx_avg_pool(p, &x),
            _ => continue,
        };
        let mut y = vec![0.0; op.n_out()];
        op.forward_add(&x, &mut y, false);
        close(&y, &want, 1e-12, op.kind());
    }
}

#[test]
fn operators_with_inconsistent_parameters_are_rejected() {
    let w = win([2, 2], [1, 1], [0; 4], [1, 1]);
    let conv = |groups, weights| {
        Op::Conv(Conv {
            image: [4, 3, 3],
            features: [6, 2, 2],
            window: w,
            groups,
            transposed: false,
            w: vec![0.5; weights],
        })
    };
    assert!(conv(2, 6 * 2 * 4).check("c").is_ok());
    assert!(conv(2, 10).check("c").unwrap_err().to_string().contains("10 weights, expected 48"));
    assert!(conv(4, 6 * 4).check("c").unwrap_err().to_string().contains("4 groups do not divide"));
    let mut bad = conv(1, 6 * 4 * 4);
    if let Op::Conv(c) = &mut bad {
        c.w[5] = f64::INFINITY;
    }
    assert!(bad.check("c").unwrap_err().to_string().contains("weight 5 is inf"));
    let g = Op::Gather(Gather { n_in: 3, index: vec![0, 3] });
    assert!(g.check("g").unwrap_err().to_string().contains("index 1 is 3, beyond its 3 inputs"));
    let p = Op::AvgPool(AvgPool {
        channels: 1,
        image: [2, 2],
        output: [3, 1],
        window: win([1, 1], [2, 2], [0; 4], [1, 1]),
        count_include_pad: false,
    });
    assert!(p.check("p").unwrap_err().to_string().contains("empty window"));
}

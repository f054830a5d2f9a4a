//! Counterexample search on a box: random points, then signed-gradient steps on the property's
//! margin (`Property::margin`, < 0 inside the unsafe set). The gradient is exact on the linear
//! region of the current point: the active row of the active disjunct back-propagated through
//! the active neurons (the region's affine map, by the adapter's `x += Aᵀ y`).

use super::property::Property;
use crate::bounds::NetView;

/// A deterministic pseudo-random generator (xorshift64*), seeded per box so that results do
/// not depend on the order in which boxes are processed elsewhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed: nearby seeds give unrelated streams, and never 0.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn uniform(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A point and the property's margin there (computed by the network's f64 forward pass).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub x: Vec<f64>,
    pub margin: f64,
}

/// Margin of the property at x (+∞ outside the input rows).
pub fn margin_at(view: &NetView, prop: &Property, x: &[f64], y: &mut [f64]) -> f64 {
    if !prop.b.is_empty() && !prop.contains(x) {
        return f64::INFINITY;
    }
    view.forward(x, y);
    prop.margin(y)
}

/// The margin at x and its gradient (of the active row of the active disjunct, on x's region).
fn margin_gradient(view: &NetView, prop: &Property, x: &[f64]) -> (f64, Vec<f64>) {
    let layers = view.layers();
    let mut zs: Vec<Vec<f64>> = Vec::with_capacity(layers);
    // Every value of the graph (a value map: value 0 is x, value l + 1 node l's output).
    let mut hs: Vec<Vec<f64>> = vec![Vec::new(); layers + 1];
    hs[0] = x.to_vec();
    for l in 0..layers {
        let mut z = view.bias(l).to_vec();
        view.node_add(l, &hs, &mut z);
        hs[l + 1] = if view.relu(l) { z.iter().map(|&v| if v < 0.0 { 0.0 } else { v }).collect() } else { z.clone() };
        zs.push(z);
    }
    let h = &hs[layers];
    let k = prop.n_out;
    let (mut best, mut row): (f64, Option<(usize, usize)>) = (f64::INFINITY, None);
    for (t, d) in prop.unsafe_set.iter().enumerate() {
        let (mut depth, mut arg) = (f64::NEG_INFINITY, None);
        for r in 0..d.rows() {
            let v = crate::linalg::dot(d.row(r, k), h) - d.b[r];
            if v > depth {
                depth = v;
                arg = Some(r);
            }
        }
        if depth < best {
            best = depth;
            row = arg.map(|r| (t, r));
        }
    }
    let mut lam = match row {
        Some((t, r)) => prop.unsafe_set[t].row(r, k).to_vec(),
        None => return (best, vec![0.0; x.len()]),
    };
    // Back-propagation node by node in reverse order, summing over the readers of each value.
    let mut blocks: Vec<Vec<f64>> = vec![Vec::new(); layers + 1];
    blocks[layers] = lam;
    for l in (0..layers).rev() {
        lam = std::mem::take(&mut blocks[l + 1]);
        if lam.is_empty() {
            continue;
        }
        if view.relu(l) {
            for (i, li) in lam.iter_mut().enumerate() {
                if zs[l][i] < 0.0 {
                    *li = 0.0;
                }
            }
        }
        view.node_t_add(l, &lam, &mut blocks);
    }
    let lam = std::mem::take(&mut blocks[0]);
    if lam.is_empty() {
        return (best, vec![0.0; x.len()]);
    }
    (best, lam)
}

/// Signed-gradient descent of the margin from `start` inside the box, `steps` steps with step
/// sizes halving from `first` times the box widths. Returns the best point seen.
pub fn descend(
    view: &NetView,
    prop: &Property,
    lower: &[f64],
    upper: &[f64],
    start: Candidate,
    steps: usize,
    first: f64,
) -> (Candidate, usize) {
    let n = lower.len();
    let mut best = start;
    let mut x = best.x.clone();
    let mut eta = first;
    let mut evals = 0;
    let mut y = vec![0.0; prop.n_out];
    for _ in 0..steps {
        let (_, g) = margin_gradient(view, prop, &x);
        evals += 2;
        if g.iter().all(|&v| v == 0.0) {
            break;
        }
        for j in 0..n {
            let step = eta * (upper[j] - lower[j]);
            let v = if g[j] > 0.0 {
                x[j] - step
            } else if g[j] < 0.0 {
                x[j] + step
            } else {
                x[j]
            };
            x[j] = v.max(lower[j]).min(upper[j]);
        }
        let m = margin_at(view, prop, &x, &mut y);
        evals += 1;
        if m < best.margin {
            best = Candidate { x: x.clone(), margin: m };
        } else {
            // Overshot: go back to the best point with a smaller step.
            x = best.x.clone();
        }
        eta *= 0.5;
    }
    (best, evals)
}

/// The given `hints` (clamped to the box), the centre and random points of the box, then
/// descent from the best `starts` of them. Returns the best candidate and the number of network
/// evaluations used.
pub fn search(
    view: &NetView,
    prop: &Property,
    lower: &[f64],
    upper: &[f64],
    hints: &[Vec<f64>],
    samples: usize,
    starts: usize,
    steps: usize,
    rng: &mut Rng,
) -> (Candidate, usize) {
    let n = lower.len();
    let mut y = vec![0.0; prop.n_out];
    let mut pool: Vec<Candidate> = Vec::with_capacity(samples + 1 + hints.len());
    for h in hints {
        let x: Vec<f64> = (0..n).map(|j| h[j].max(lower[j]).min(upper[j])).collect();
        let m = margin_at(view, prop, &x, &mut y);
        pool.push(Candidate { x, margin: m });
    }
    let centre: Vec<f64> = (0..n).map(|j| 0.5 * lower[j] + 0.5 * upper[j]).collect();
    let m = margin_at(view, prop, &centre, &mut y);
    pool.push(Candidate { x: centre, margin: m });
    for s in 0..samples {
        // Half of the points uniform, half on faces: each coordinate at a bound with
        // probability 1/4. Minima of a piecewise-linear function over a box lie at vertices of
        // its linear regions, and often on the box's boundary (ACAS Xu φ7: on the face ρ = 0).
        let faces = s % 2 == 1;
        let x: Vec<f64> = (0..n)
            .map(|j| {
                let u = rng.uniform();
                if faces && u < 0.125 {
                    lower[j]
                } else if faces && u < 0.25 {
                    upper[j]
                } else {
                    (lower[j] + rng.uniform() * (upper[j] - lower[j])).min(upper[j])
                }
            })
            .collect();
        let m = margin_at(view, prop, &x, &mut y);
        pool.push(Candidate { x, margin: m });
    }
    let mut evals = pool.len();
    pool.sort_by(|a, b| a.margin.partial_cmp(&b.margin).unwrap_or(std::cmp::Ordering::Equal));
    let mut best = pool[0].clone();
    let mut used = 0;
    let mut last = f64::NAN;
    for c in pool.into_iter() {
        if used >= starts || best.margin < 0.0 {
            break;
        }
        // Points with exactly the margin of the previous start sit on the same plateau (e.g.
        // where a whole layer is inactive and the output is constant): descent cannot move them.
        if !c.margin.is_finite() || c.margin == last {
            continue;
        }
        last = c.margin;
        used += 1;
        let (d, e) = descend(view, prop, lower, upper, c, steps, 0.25);
        evals += e;
        if d.margin < best.margin {
            best = d;
        }
    }
    (best, evals)
}

/// The nearest f32 value to v inside [lo, hi] if there is one (counterexamples are checked by
/// float32 runtimes, which round the inputs to f32 first), else v.
fn f32_inside(v: f64, lo: f64, hi: f64) -> f64 {
    let mut f = v as f32;
    if (f as f64) < lo {
        f = next_f32(f, true);
    }
    if (f as f64) > hi {
        f = next_f32(f, false);
    }
    if (f as f64) >= lo && (f as f64) <= hi && f.is_finite() {
        f as f64
    } else {
        v
    }
}

fn next_f32(f: f32, up: bool) -> f32 {
    if f == 0.0 {
        let tiny = f32::from_bits(1);
        return if up { tiny } else { -tiny };
    }
    let b = f.to_bits();
    f32::from_bits(if (f > 0.0) == up { b + 1 } else { b - 1 })
}

/// Deepens a violation (more negative margin, so that float32 evaluation of the network agrees
/// on it) and moves it to f32-representable inputs inside the box when that keeps it violating.
pub fn polish(view: &NetView, prop: &Property, lower: &[f64], upper: &[f64], c: Candidate) -> (Candidate, usize) {
    let (deep, mut evals) = descend(view, prop, lower, upper, c, 12, 0.02);
    let snapped: Vec<f64> = (0..lower.len()).map(|j| f32_inside(deep.x[j], lower[j], upper[j])).collect();
    let mut y = vec![0.0; prop.n_out];
    let m = margin_at(view, prop, &snapped, &mut y);
    evals += 1;
    if m < 0.0 {
        (Candidate { x: snapped, margin: m }, evals)
    } else {
        (deep, evals)
    }
}

//! Counterexample search on a box: random points, then signed-gradient steps on the property's
//! margin (`Property::margin`, < 0 inside the unsafe set). The gradient is exact on the linear
//! region of the current point: the active row of the active disjunct back-propagated through
//! the active neurons (the region's affine map, by the adapter's `x += Aᵀ y`). [`Search`] runs
//! it in bounded steps (a few evaluations each), its state kept between them.

use super::decide::forward_products;
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

/// A descent under way ([`descend`] in steps).
#[derive(Debug, Clone)]
struct Descent {
    best: Candidate,
    x: Vec<f64>,
    eta: f64,
    /// Steps taken.
    k: usize,
}

/// Where a [`Search`] stands.
#[derive(Debug, Clone)]
enum Phase {
    /// The round's pool: the hints, the centre, then random point `next - hints - 1`.
    Pool {
        next: usize,
    },
    /// Descents from the sorted pool: the next candidate to consider, the starts used, the
    /// margin of the last start, and the descent under way.
    Descend {
        next: usize,
        used: usize,
        last: f64,
        open: Option<Descent>,
    },
    Done,
}

/// The counterexample search of one box in bounded steps ([`Search::advance`]): rounds of
/// [`search`] (the hints, the centre and up to `chunk` random points, then descents from the
/// best `starts` of them), until `samples` random points are used or a round finds a violation
/// — at least one round. The candidates, their order and the random stream are those of one
/// uninterrupted run whatever the budgets, so the result does not depend on the slicing.
#[derive(Debug, Clone)]
pub struct Search {
    lower: Vec<f64>,
    upper: Vec<f64>,
    hints: Vec<Vec<f64>>,
    rng: Rng,
    /// Random points left for later rounds, and per round.
    left: usize,
    chunk: usize,
    starts: usize,
    steps: usize,
    /// Random points of the current round.
    take: usize,
    pool: Vec<Candidate>,
    /// The best of the current round, of the finished rounds.
    round_best: Option<Candidate>,
    best: Option<Candidate>,
    phase: Phase,
    /// Network evaluations so far.
    pub evals: usize,
    /// Multiply-adds of one evaluation.
    products: usize,
}

impl Search {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        view: &NetView,
        lower: &[f64],
        upper: &[f64],
        hints: Vec<Vec<f64>>,
        samples: usize,
        chunk: usize,
        starts: usize,
        steps: usize,
        rng: Rng,
    ) -> Search {
        let mut s = Search {
            lower: lower.to_vec(),
            upper: upper.to_vec(),
            hints,
            rng,
            left: samples,
            chunk: chunk.max(1),
            starts,
            steps,
            take: 0,
            pool: Vec::new(),
            round_best: None,
            best: None,
            phase: Phase::Done,
            evals: 0,
            products: forward_products(view),
        };
        s.start_round();
        s
    }

    fn start_round(&mut self) {
        self.take = self.left.min(self.chunk);
        self.left -= self.take;
        self.pool = Vec::with_capacity(self.take + 1 + self.hints.len());
        self.round_best = None;
        self.phase = Phase::Pool { next: 0 };
    }

    pub fn done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The best point found (once done: the search's answer).
    pub fn best(&self) -> Option<&Candidate> {
        self.best.as_ref()
    }

    /// Goes on for at least `budget` multiply-adds (at least one evaluation, or one descent
    /// step of three) or to the end; returns the multiply-adds spent.
    pub fn advance(&mut self, view: &NetView, prop: &Property, budget: usize) -> usize {
        let before = self.evals;
        while !self.done() && (self.evals - before) * self.products < budget.max(1) {
            self.unit(view, prop);
        }
        (self.evals - before) * self.products
    }

    /// One evaluation of the pool, one descent step, or the bookkeeping between them.
    fn unit(&mut self, view: &NetView, prop: &Property) {
        let n = self.lower.len();
        let (lower, upper) = (&self.lower, &self.upper);
        let mut y = vec![0.0; prop.n_out];
        match &mut self.phase {
            Phase::Pool { next } => {
                let h = self.hints.len();
                let i = *next;
                if i < h + 1 + self.take {
                    let x: Vec<f64> = match i.cmp(&h) {
                        std::cmp::Ordering::Less => {
                            (0..n).map(|j| self.hints[i][j].max(lower[j]).min(upper[j])).collect()
                        }
                        std::cmp::Ordering::Equal => (0..n).map(|j| 0.5 * lower[j] + 0.5 * upper[j]).collect(),
                        std::cmp::Ordering::Greater => {
                            // Half of the points uniform, half on faces: each coordinate at a bound
                            // with probability 1/4. Minima of a piecewise-linear function over a box
                            // lie at vertices of its linear regions, and often on the box's boundary
                            // (ACAS Xu φ7: on the face ρ = 0).
                            let faces = (i - h - 1) % 2 == 1;
                            let rng = &mut self.rng;
                            (0..n)
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
                                .collect()
                        }
                    };
                    let m = margin_at(view, prop, &x, &mut y);
                    self.pool.push(Candidate { x, margin: m });
                    self.evals += 1;
                    *next += 1;
                } else {
                    self.pool.sort_by(|a, b| a.margin.partial_cmp(&b.margin).unwrap_or(std::cmp::Ordering::Equal));
                    self.round_best = Some(self.pool[0].clone());
                    self.phase = Phase::Descend { next: 0, used: 0, last: f64::NAN, open: None };
                }
            }
            Phase::Descend { next, used, last, open } => {
                let best = self.round_best.as_mut().expect("a pool");
                if let Some(d) = open {
                    if d.k < self.steps {
                        // A zero gradient ends the descent (its evaluation counted).
                        let moved = step_descent(view, prop, lower, upper, d, &mut y);
                        self.evals += if moved { 3 } else { 2 };
                        if moved {
                            return;
                        }
                    }
                    if d.best.margin < best.margin {
                        *best = d.best.clone();
                    }
                    *open = None;
                    return;
                }
                let mut started = false;
                while *next < self.pool.len() {
                    if *used >= self.starts || best.margin < 0.0 {
                        *next = self.pool.len();
                        break;
                    }
                    let c = &self.pool[*next];
                    *next += 1;
                    // Points with exactly the margin of the previous start sit on the same
                    // plateau (e.g. where a whole layer is inactive and the output is
                    // constant): descent cannot move them.
                    if !c.margin.is_finite() || c.margin == *last {
                        continue;
                    }
                    *last = c.margin;
                    *used += 1;
                    *open = Some(Descent { best: c.clone(), x: c.x.clone(), eta: 0.25, k: 0 });
                    started = true;
                    break;
                }
                if !started {
                    let b = self.round_best.take().expect("a pool");
                    if self.best.as_ref().map_or(true, |c| b.margin < c.margin) {
                        self.best = Some(b);
                    }
                    self.pool = Vec::new();
                    let violated = self.best.as_ref().map_or(false, |c| c.margin <= 0.0);
                    self.phase = Phase::Done;
                    if !violated && self.left > 0 {
                        self.start_round();
                    }
                }
            }
            Phase::Done => {}
        }
    }
}

/// One step of signed-gradient descent (as in [`descend`]); false, without a step, where the
/// gradient is zero.
fn step_descent(view: &NetView, prop: &Property, lower: &[f64], upper: &[f64], d: &mut Descent, y: &mut [f64]) -> bool {
    let (_, g) = margin_gradient(view, prop, &d.x);
    if g.iter().all(|&v| v == 0.0) {
        d.k = usize::MAX;
        return false;
    }
    for j in 0..lower.len() {
        let step = d.eta * (upper[j] - lower[j]);
        let v = if g[j] > 0.0 {
            d.x[j] - step
        } else if g[j] < 0.0 {
            d.x[j] + step
        } else {
            d.x[j]
        };
        d.x[j] = v.max(lower[j]).min(upper[j]);
    }
    let m = margin_at(view, prop, &d.x, y);
    if m < d.best.margin {
        d.best = Candidate { x: d.x.clone(), margin: m };
    } else {
        // Overshot: go back to the best point with a smaller step.
        d.x = d.best.x.clone();
    }
    d.eta *= 0.5;
    d.k += 1;
    true
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

//! Branch and bound over the input box (`AREA-AT-SCALE.md` §2).
//!
//! A queue of sub-boxes. Per box, cheapest first:
//! 1. bounds (`decide.rs`): interval arithmetic, symbolic bounds of every unsafe row, the rows'
//!    joint LP — a proven box is a safe leaf;
//! 2. a counterexample search (`attack.rs`: the box centre, random points, signed-gradient
//!    steps; many more points at the root, in bounded steps like the bounds): a violating point
//!    is polished and reported;
//! 3. a box with few unstable ReLUs (or at the depth limit) is decided exactly by its linear
//!    regions (`leaf.rs`), in bounded steps; a leaf with more regions than the cap, or with a
//!    region its LPs could not decide, is split instead (at the depth limit it stays unknown);
//! 4. any other box is split in half along the input with the largest smear (width × a bound of
//!    the gradient of the row closest to a proof), the half holding the best attack point first.
//!
//! Order: best first by default — the box whose parent had the most negative proven lower bound
//! of the margin (where a counterexample is most likely) — which finds rare counterexamples far
//! sooner; when the property holds, every box must be decided anyway and the order only changes
//! memory. Beyond [`VerifyOptions::queue_cap`] waiting boxes (or with `best_first` off) the queue
//! is processed depth first, whose size is bounded by two boxes per level; boxes queued past the
//! cap do not keep their parent's bounds. Memory is bounded by the queue, not by the box.
//! Everything is deterministic: the random points of a box come from a seed derived from the
//! box's path from the root, and ties in the order are broken by creation order.

use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;

use super::attack::{polish, Candidate, Rng, Search};
use super::decide::{BoxBounding, BoxDecision, Method, METHODS, PRODUCTS_PER_WORK};
use super::leaf::{box_meets_input_set, LeafJob, LeafState};
use super::property::Property;
use crate::bounds::{BoundOptions, NetView, SymbolicBounds};
use crate::error::{invalid, Result};

/// Options of the [`Verifier`].
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// The symbolic bounds (lower line of unstable ReLUs, back-substituted intermediate bounds).
    pub bounds: BoundOptions,
    /// Try the LP relaxation on boxes the symbolic bounds leave undecided when at most this many
    /// ReLUs are unstable there (0: never).
    pub lp_max_unstable: usize,
    /// Projected-gradient steps on the lower slopes of the unstable ReLUs for the row closest
    /// to a proof, on boxes the default slopes leave undecided (0: none; see
    /// `SymbolicBounds::row_upper_optimised`).
    pub slope_steps: usize,
    /// Random points tried at the root box (in rounds of 2048, until a counterexample), and on
    /// every other undecided box.
    pub root_samples: usize,
    pub box_samples: usize,
    /// Signed-gradient steps from each start (8 starts with 4× the steps at the root, 1 elsewhere;
    /// a box's starts include the minimiser of its LP relaxation).
    pub attack_steps: usize,
    /// Decide a box exactly by its linear regions when at most this many ReLUs are unstable.
    pub leaf_unstable: usize,
    /// Split instead when a box has more linear regions than this.
    pub leaf_max_pieces: usize,
    /// Boxes this deep are decided exactly whatever their unstable count (unknown if that fails).
    pub max_depth: usize,
    /// Stop at the first counterexample (verification); otherwise go on and classify every leaf
    /// (repair needs the violating regions).
    pub stop_at_violation: bool,
    /// Keep a record of every finished leaf for [`Verifier::take_leaves`].
    pub collect_leaves: bool,
    /// Process boxes best first (see the module documentation), up to `queue_cap` waiting boxes.
    pub best_first: bool,
    pub queue_cap: usize,
    pub seed: u64,
    /// Work budget (0: none): [`Verifier::step`] bounds at most this many boxes (those of
    /// [`Verifier::expand`] included), finishing an exact decision under way, and then stops with
    /// the verdict still running and [`Verifier::spent`] true; [`Verifier::pending_boxes`] are the
    /// rest. Counted in boxes, not time, so that where it stops does not depend on the machine,
    /// its load or how the work was sliced.
    pub max_boxes: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            bounds: BoundOptions::default(),
            lp_max_unstable: 48,
            slope_steps: 8,
            root_samples: 16_384,
            box_samples: 2,
            attack_steps: 4,
            leaf_unstable: 10,
            leaf_max_pieces: 2000,
            max_depth: 80,
            stop_at_violation: true,
            collect_leaves: false,
            best_first: true,
            queue_cap: 20_000,
            seed: 0,
            max_boxes: 0,
        }
    }
}

/// Pre-activation bounds proven on a box (lower, upper per operator), shared by its children.
pub type ParentBounds = Rc<(Vec<Vec<f64>>, Vec<Vec<f64>>)>;

/// A box of the queue. `id` identifies its path from the root (seeds its random points);
/// `parent` holds the bounds proven on the box it was split from (they hold on it too).
#[derive(Debug, Clone, PartialEq)]
pub struct BoxItem {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub depth: usize,
    pub id: u64,
    pub parent: Option<ParentBounds>,
    /// The parent's proven lower bound of the margin (−∞ for a root): the best-first key.
    pub priority: f64,
}

/// A box in the best-first heap: smallest priority first, then creation order.
struct Queued {
    key: f64,
    seq: u64,
    item: BoxItem,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        self.seq == o.seq
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    /// Reversed, for `BinaryHeap` (a max-heap) to pop the smallest key and oldest box first.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.key.partial_cmp(&self.key).unwrap_or(std::cmp::Ordering::Equal).then(o.seq.cmp(&self.seq))
    }
}

/// Status of a finished box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafStatus {
    Safe = 0,
    Violated = 1,
    Unknown = 2,
}

/// A finished box (see [`VerifyOptions::collect_leaves`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LeafRecord {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub depth: usize,
    pub status: LeafStatus,
    /// How a safe leaf was proven.
    pub method: Method,
    /// Proven lower bound of the property margin on a safe leaf (+∞ for an empty one).
    pub margin: f64,
    /// Linear regions decided exactly (0 for leaves proven by bounds), and how many violate.
    pub regions: usize,
    pub violating_regions: usize,
    pub counterexample: Option<Candidate>,
    /// Activation patterns of the violating regions, `hidden` bytes each.
    pub violating_patterns: Vec<u8>,
}

/// Running totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Boxes bounded, split, finished; finished by exact region decision.
    pub boxes: usize,
    pub splits: usize,
    pub leaves: usize,
    pub exact_leaves: usize,
    pub regions: usize,
    pub violating_regions: usize,
    pub lps: usize,
    /// Network evaluations of the counterexample search.
    pub evaluations: usize,
    pub max_depth: usize,
    pub max_queue: usize,
    /// Share of the root box's volume proven safe by each [`Method`].
    pub volume: [f64; METHODS],
    pub violated_volume: f64,
    pub unknown_volume: f64,
    /// Smallest proven margin over the safe leaves (how close the proof came to failing).
    pub min_margin: f64,
    /// Smallest margin seen at a point (an upper bound of the true smallest margin).
    pub best_margin: f64,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            boxes: 0,
            splits: 0,
            leaves: 0,
            exact_leaves: 0,
            regions: 0,
            violating_regions: 0,
            lps: 0,
            evaluations: 0,
            max_depth: 0,
            max_queue: 0,
            volume: [0.0; METHODS],
            violated_volume: 0.0,
            unknown_volume: 0.0,
            min_margin: f64::INFINITY,
            best_margin: f64::INFINITY,
        }
    }

    /// Share of the root box decided (proven safe, violated or given up).
    pub fn decided(&self) -> f64 {
        self.volume.iter().sum::<f64>() + self.violated_volume + self.unknown_volume
    }
}

/// The answer so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Running = 0,
    Holds = 1,
    Violated = 2,
    /// Every box finished but some could not be decided.
    Unknown = 3,
}

/// A box whose bounds left it open, with its counterexample search under way (in bounded
/// steps: at the root of a large network the search is thousands of network evaluations).
struct OpenSearch {
    item: BoxItem,
    frontier: bool,
    unstable: usize,
    smear: Vec<f64>,
    bounds: Box<SymbolicBounds>,
    bound: f64,
    search: Search,
}

/// An exact decision in progress with its box and the split score to fall back on.
struct OpenLeaf {
    item: BoxItem,
    job: LeafJob,
    smear: Vec<f64>,
}

/// Inputs the property fixes (lower == upper) are widened by this much (relative) for bounding:
/// LPs with a variable of zero range are degenerate (the core simplex can cycle on them), and a
/// proof on a larger box is a proof on the box. Attacks and counterexamples stay in the box.
const FLAT_WIDTH: f64 = 1e-12;

/// The box with every flat input widened by [`FLAT_WIDTH`] (relative) on both sides.
pub fn widen_flat(lower: &[f64], upper: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (mut lo, mut hi) = (lower.to_vec(), upper.to_vec());
    for j in 0..lo.len() {
        if lo[j] == hi[j] {
            let eps = FLAT_WIDTH * lo[j].abs().max(1.0);
            lo[j] -= eps;
            hi[j] += eps;
        }
    }
    (lo, hi)
}

/// Branch and bound of one property over one box (module documentation).
pub struct Verifier {
    view: NetView,
    prop: Property,
    opts: VerifyOptions,
    queue: VecDeque<BoxItem>,
    heap: BinaryHeap<Queued>,
    seq: u64,
    leaf: Option<OpenLeaf>,
    /// The box whose bounds are under way (in bounded steps, so that a large network's bounds
    /// never hold a step for long), and whether it was taken in frontier mode.
    bounding: Option<(BoxItem, bool, BoxBounding)>,
    /// The box whose counterexample search is under way (after its bounds).
    searching: Option<OpenSearch>,
    pub stats: Stats,
    leaves: Vec<LeafRecord>,
    pub counterexample: Option<Candidate>,
    verdict: Verdict,
    root_lower: Vec<f64>,
    root_upper: Vec<f64>,
    /// Inputs of positive width at the root (volume shares are taken over them).
    dims: Vec<usize>,
    unknown: bool,
    /// Frontier mode (`expand`): boxes ready for exact decision, kept for the jobs.
    ready: Vec<BoxItem>,
}

impl Verifier {
    /// Verifies `prop` on its own input box.
    pub fn new(view: NetView, prop: Property, opts: VerifyOptions) -> Result<Verifier> {
        crate::region::check_box(prop.n_in, &prop.lower, &prop.upper)?;
        let (lower, upper) = widen_flat(&prop.lower, &prop.upper);
        let root = BoxItem { lower, upper, depth: 0, id: 1, parent: None, priority: f64::NEG_INFINITY };
        Verifier::with_root(view, prop, opts, root)
    }

    /// Verifies `prop` on the sub-box `root` of its input box (a job of a larger verification:
    /// depth and id continue the parent's numbering).
    pub fn with_root(view: NetView, prop: Property, opts: VerifyOptions, root: BoxItem) -> Result<Verifier> {
        if view.n_in() != prop.n_in || view.n_out() != prop.n_out {
            return invalid(format!(
                "verify: the property has {} inputs and {} outputs, the network {} and {}",
                prop.n_in,
                prop.n_out,
                view.n_in(),
                view.n_out()
            ));
        }
        crate::region::check_box(prop.n_in, &root.lower, &root.upper)?;
        let (wlo, whi) = widen_flat(&prop.lower, &prop.upper);
        for j in 0..prop.n_in {
            if root.lower[j] < wlo[j] || root.upper[j] > whi[j] {
                return invalid(format!(
                    "verify: the box's input {} range [{}, {}] leaves the property's [{}, {}]",
                    j, root.lower[j], root.upper[j], prop.lower[j], prop.upper[j]
                ));
            }
        }
        if opts.leaf_max_pieces == 0 || opts.max_depth == 0 {
            return invalid("verify: leafMaxPieces and maxDepth must be at least 1".to_string());
        }
        let dims = (0..prop.n_in).filter(|&j| prop.upper[j] > prop.lower[j]).collect();
        let (root_lower, root_upper) = (root.lower.clone(), root.upper.clone());
        let mut queue = VecDeque::new();
        queue.push_back(root);
        Ok(Verifier {
            view,
            prop,
            opts,
            queue,
            heap: BinaryHeap::new(),
            seq: 0,
            leaf: None,
            bounding: None,
            searching: None,
            stats: Stats::new(),
            leaves: Vec::new(),
            counterexample: None,
            verdict: Verdict::Running,
            root_lower,
            root_upper,
            dims,
            unknown: false,
            ready: Vec::new(),
        })
    }

    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// The work budget (`max_boxes`) is spent: boxes still wait, none will be bounded here.
    pub fn spent(&self) -> bool {
        self.opts.max_boxes > 0
            && self.verdict == Verdict::Running
            && self.leaf.is_none()
            && !self.bounding()
            && self.stats.boxes >= self.opts.max_boxes
            && !(self.queue.is_empty() && self.heap.is_empty())
    }

    pub fn property(&self) -> &Property {
        &self.prop
    }

    /// Boxes waiting (the queue, the box being decided exactly or bounded, and in frontier mode
    /// the boxes set aside for jobs).
    pub fn pending(&self) -> usize {
        self.queue.len() + self.heap.len() + self.leaf.is_some() as usize + self.bounding() as usize + self.ready.len()
    }

    /// A box is under way: its bounds or its counterexample search (the next step goes on
    /// with it).
    pub fn bounding(&self) -> bool {
        self.bounding.is_some() || self.searching.is_some()
    }

    /// A box's counterexample search is under way.
    pub fn searching(&self) -> bool {
        self.searching.is_some()
    }

    /// The waiting boxes in canonical order (frontier mode: the jobs to hand out).
    pub fn pending_boxes(&self) -> Vec<BoxItem> {
        let mut out = self.ready.clone();
        if let Some(l) = &self.leaf {
            out.push(l.item.clone());
        }
        if let Some((item, _, _)) = &self.bounding {
            out.push(item.clone());
        }
        if let Some(s) = &self.searching {
            out.push(s.item.clone());
        }
        out.extend(self.queue.iter().cloned());
        let mut rest: Vec<&Queued> = self.heap.iter().collect();
        rest.sort_by(|a, b| b.cmp(a));
        out.extend(rest.into_iter().map(|q| q.item.clone()));
        out
    }

    /// Queues a box for [`Verifier::step`]: best first while the heap is below the cap.
    fn push(&mut self, mut item: BoxItem) {
        if self.opts.best_first && self.heap.len() < self.opts.queue_cap {
            self.seq += 1;
            self.heap.push(Queued { key: item.priority, seq: self.seq, item });
        } else {
            if self.heap.len() >= self.opts.queue_cap {
                item.parent = None;
            }
            self.queue.push_back(item);
        }
        self.stats.max_queue = self.stats.max_queue.max(self.queue.len() + self.heap.len());
    }

    /// The next box: depth first from the overflow stack, else best first.
    fn pop(&mut self) -> Option<BoxItem> {
        self.queue.pop_back().or_else(|| self.heap.pop().map(|q| q.item))
    }

    /// How many finished leaves wait for [`Verifier::take_leaves`], and how many pattern values
    /// (bytes) their violating regions hold.
    pub fn waiting_leaves(&self) -> (usize, usize) {
        (self.leaves.len(), self.leaves.iter().map(|l| l.violating_patterns.len()).sum())
    }

    /// Finished leaves recorded since the last call (with `collect_leaves`).
    pub fn take_leaves(&mut self) -> Vec<LeafRecord> {
        std::mem::take(&mut self.leaves)
    }

    /// Share of the root box's volume of a sub-box (over the inputs of positive width).
    fn share(&self, lower: &[f64], upper: &[f64]) -> f64 {
        self.dims.iter().map(|&j| (upper[j] - lower[j]) / (self.root_upper[j] - self.root_lower[j])).product()
    }

    fn record(&mut self, item: &BoxItem, status: LeafStatus, method: Method, margin: f64, job: Option<&mut LeafJob>) {
        let share = self.share(&item.lower, &item.upper);
        self.stats.leaves += 1;
        match status {
            LeafStatus::Safe => {
                self.stats.volume[method as usize] += share;
                self.stats.min_margin = self.stats.min_margin.min(margin);
            }
            LeafStatus::Violated => self.stats.violated_volume += share,
            LeafStatus::Unknown => {
                self.stats.unknown_volume += share;
                self.unknown = true;
            }
        }
        let (regions, violating, cex, patterns) = match job {
            Some(j) => (j.pieces, j.violating, j.cex.clone(), std::mem::take(&mut j.violating_patterns)),
            None => (0, 0, None, Vec::new()),
        };
        if self.opts.collect_leaves {
            self.leaves.push(LeafRecord {
                lower: item.lower.clone(),
                upper: item.upper.clone(),
                depth: item.depth,
                status,
                method,
                margin,
                regions,
                violating_regions: violating,
                counterexample: cex,
                violating_patterns: patterns,
            });
        }
    }

    /// The part of a box where counterexamples may lie (the property's own box).
    fn valid(&self, lower: &[f64], upper: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let lo: Vec<f64> = lower.iter().zip(&self.prop.lower).map(|(a, b)| a.max(*b)).collect();
        let hi: Vec<f64> = upper.iter().zip(&self.prop.upper).zip(&lo).map(|((a, b), l)| a.min(*b).max(*l)).collect();
        (lo, hi)
    }

    fn found(&mut self, c: Candidate) -> usize {
        let (lo, hi) = self.valid(&self.root_lower, &self.root_upper);
        let (p, evals) = polish(&self.view, &self.prop, &lo, &hi, c);
        if self.counterexample.as_ref().map_or(true, |b| p.margin < b.margin) {
            self.counterexample = Some(p);
        }
        if self.opts.stop_at_violation {
            self.verdict = Verdict::Violated;
        }
        evals
    }

    /// Splits a box along the input with the largest score (ties: the lowest index); the half
    /// holding `towards` (if any) is processed first.
    fn split(
        &mut self,
        item: BoxItem,
        smear: &[f64],
        towards: Option<&[f64]>,
        breadth_first: bool,
        bounds: Option<ParentBounds>,
        priority: f64,
    ) {
        let n = item.lower.len();

        let mut dim = usize::MAX;
        for j in 0..n {
            if item.upper[j] > item.lower[j] && (dim == usize::MAX || smear[j] > smear[dim]) {
                dim = j;
            }
        }
        if dim == usize::MAX {
            // A point: nothing to split (only reached at the depth limit).
            self.record(&item, LeafStatus::Unknown, Method::Regions, f64::NEG_INFINITY, None);
            return;
        }
        let mid = 0.5 * item.lower[dim] + 0.5 * item.upper[dim];
        let mut lo_half = item.clone();
        lo_half.upper[dim] = mid;
        let mut hi_half = item.clone();
        hi_half.lower[dim] = mid;
        for (s, h) in [&mut lo_half, &mut hi_half].into_iter().enumerate() {
            h.depth = item.depth + 1;
            h.priority = priority;
            if bounds.is_some() {
                h.parent = bounds.clone();
            }
            // Path ids stay below 2⁵³ so that they cross the boundary as exact f64s.
            h.id = (item.id.wrapping_mul(2).wrapping_add(s as u64) ^ (item.id >> 51)) & ((1u64 << 53) - 1);
        }
        let lower_first = towards.map_or(true, |x| x[dim] <= mid);
        self.stats.splits += 1;
        // Depth first pops from the back: push the half to do first last.
        let (first, second) = if lower_first { (lo_half, hi_half) } else { (hi_half, lo_half) };
        if breadth_first {
            self.queue.push_back(first);
            self.queue.push_back(second);
            self.stats.max_queue = self.stats.max_queue.max(self.queue.len());
        } else if self.opts.best_first && self.heap.len() < self.opts.queue_cap {
            self.push(first);
            self.push(second);
        } else {
            self.push(second);
            self.push(first);
        }
    }

    /// Starts bounding one box and goes on for about `budget` work units (see
    /// [`Verifier::step_bounding`]); returns the work spent.
    fn process(&mut self, item: BoxItem, frontier: bool, budget: usize) -> Result<usize> {
        let mut work = 0;
        self.stats.boxes += 1;
        self.stats.max_depth = self.stats.max_depth.max(item.depth);
        if !box_meets_input_set(&self.prop, &item.lower, &item.upper)? {
            self.record(&item, LeafStatus::Safe, Method::Empty, f64::INFINITY, None);
            return Ok(work + 1);
        }
        let job = BoxBounding::start(&self.view, &self.prop, &item.lower, &item.upper, self.opts.bounds, &mut work)?;
        self.bounding = Some((item, frontier, job));
        Ok(work + self.step_bounding(budget.saturating_sub(work))?)
    }

    /// Goes on with the bounds under way for about `budget` work units (at least one unit of
    /// the symbolic pass); once they are done, decides the box ([`Verifier::decided`]).
    /// Returns the work spent. Where the pass is cut does not change it, so the result does not
    /// depend on the budgets.
    fn step_bounding(&mut self, budget: usize) -> Result<usize> {
        let (item, frontier, mut job) = self.bounding.take().expect("bounds under way");
        let outer = item.parent.as_ref().map(|p| (&p.0[..], &p.1[..]));
        let mut work = job.advance(&self.view, outer, budget);
        if !job.done() {
            self.bounding = Some((item, frontier, job));
            return Ok(work);
        }
        work += self.decided(item, frontier, job, budget.saturating_sub(work))?;
        Ok(work)
    }

    /// The rest of a box once its symbolic bounds are done: the decision by bounds, the
    /// counterexample search, then a leaf or a split. In frontier mode boxes ready for an exact
    /// decision are set aside instead of decided. Returns the work spent.
    fn decided(&mut self, item: BoxItem, frontier: bool, job: BoxBounding, budget: usize) -> Result<usize> {
        let mut work = 0;
        let decision = job.decide(
            &self.view,
            &self.prop,
            &item.lower,
            &item.upper,
            self.opts.lp_max_unstable,
            self.opts.slope_steps,
            &mut work,
        )?;
        let (unstable, smear, bounds, hint, bound) = match decision {
            BoxDecision::Safe { method, margin } => {
                self.record(&item, LeafStatus::Safe, method, margin, None);
                return Ok(work);
            }
            BoxDecision::Open { unstable, smear, bounds, hint, bound } => (unstable, smear, bounds, hint, bound),
        };
        let root = item.depth == 0;
        let rng = Rng::new(self.opts.seed ^ item.id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (alo, ahi) = self.valid(&item.lower, &item.upper);
        let hints: Vec<Vec<f64>> = hint.into_iter().collect();
        let search = if root {
            // Rounds of 2048 points and 16 descents, until a counterexample or the budget
            // (at least one round; with 0 samples: the box centre and the hints only).
            let steps = 4 * self.opts.attack_steps;
            Search::new(&self.view, &alo, &ahi, hints, self.opts.root_samples, 2048, 16, steps, rng)
        } else {
            let (samples, steps) = (self.opts.box_samples, self.opts.attack_steps);
            Search::new(&self.view, &alo, &ahi, hints, samples, usize::MAX, 1, steps, rng)
        };
        self.searching = Some(OpenSearch { item, frontier, unstable, smear, bounds, bound, search });
        Ok(work + self.step_search(budget.saturating_sub(work))?)
    }

    /// Goes on with the counterexample search under way for about `budget` work units (at
    /// least one network evaluation); once it is done, a violation is reported, or the box
    /// decided exactly (set aside in frontier mode) or split. Returns the work spent; where the
    /// search is cut does not change its result.
    fn step_search(&mut self, budget: usize) -> Result<usize> {
        let mut open = self.searching.take().expect("a search under way");
        let evals = open.search.evals;
        let products = open.search.advance(&self.view, &self.prop, budget.saturating_mul(PRODUCTS_PER_WORK));
        // Counted as they go, so that the progress of a long search shows.
        self.stats.evaluations += open.search.evals - evals;
        let mut work = products / PRODUCTS_PER_WORK + (products % PRODUCTS_PER_WORK != 0) as usize;
        if !open.search.done() {
            self.searching = Some(open);
            return Ok(work);
        }
        let OpenSearch { item, frontier, unstable, smear, bounds, bound, search } = open;
        let best = search.best().expect("at least one round").clone();
        self.stats.best_margin = self.stats.best_margin.min(best.margin);
        if best.margin <= 0.0 {
            work += self.found(best.clone()) / 4;
            if self.opts.stop_at_violation {
                self.record(&item, LeafStatus::Violated, Method::Regions, f64::NEG_INFINITY, None);
                return Ok(work);
            }
        }
        let exact = unstable <= self.opts.leaf_unstable || item.depth >= self.opts.max_depth;
        if exact && frontier {
            self.ready.push(item);
        } else if exact {
            let job = LeafJob::new(
                &self.view,
                &self.prop,
                &item.lower,
                &item.upper,
                &bounds,
                self.opts.leaf_max_pieces,
                self.opts.collect_leaves,
            )?;
            self.leaf = Some(OpenLeaf { item, job, smear });
        } else {
            let pb = Rc::new((bounds.lower.clone(), bounds.upper.clone()));
            self.split(item, &smear, Some(&best.x), frontier, Some(pb), bound);
        }
        Ok(work)
    }

    /// Steps the exact decision in progress.
    fn step_leaf(&mut self, budget: usize) -> Result<usize> {
        let mut open = self.leaf.take().expect("a leaf in progress");
        let lps_before = open.job.total_lps();
        let work = open.job.step(&self.view, &self.prop, budget, self.opts.stop_at_violation)?;
        self.stats.lps += open.job.total_lps() - lps_before;
        if open.job.state == LeafState::Running {
            self.leaf = Some(open);
            return Ok(work);
        }
        let OpenLeaf { item, mut job, smear } = open;
        let too_many = job.state == LeafState::TooMany;
        let unresolved = job.unresolved > 0 || job.skipped() > 0;
        if let Some(c) = job.cex.clone() {
            self.stats.regions += job.pieces;
            self.stats.violating_regions += job.violating;
            self.stats.exact_leaves += 1;
            self.found(c);
            self.record(&item, LeafStatus::Violated, Method::Regions, f64::NEG_INFINITY, Some(&mut job));
            return Ok(work);
        }
        if (too_many || unresolved) && item.depth < self.opts.max_depth {
            let priority = item.priority;
            self.split(item, &smear, None, false, None, priority);
            return Ok(work);
        }
        self.stats.regions += job.pieces;
        self.stats.exact_leaves += 1;
        if too_many || unresolved {
            self.record(&item, LeafStatus::Unknown, Method::Regions, f64::NEG_INFINITY, Some(&mut job));
        } else {
            let margin = job.min_margin;
            self.record(&item, LeafStatus::Safe, Method::Regions, margin, Some(&mut job));
        }
        Ok(work)
    }

    fn finish_if_empty(&mut self) {
        if self.verdict == Verdict::Running
            && self.queue.is_empty()
            && self.heap.is_empty()
            && self.leaf.is_none()
            && !self.bounding()
        {
            self.verdict = if self.counterexample.is_some() {
                Verdict::Violated
            } else if self.unknown {
                Verdict::Unknown
            } else {
                Verdict::Holds
            };
        }
    }

    /// Works until about `budget` units are spent (a box bound is 10, an LP 2, 2^16 multiply-adds
    /// of the symbolic bounds or of the counterexample search's network evaluations 1) or the
    /// verdict is known.
    pub fn step(&mut self, budget: usize) -> Result<Verdict> {
        let mut work = 0;
        while work < budget.max(1) && self.verdict == Verdict::Running {
            let left = budget.max(1) - work;
            if self.bounding.is_some() {
                work += self.step_bounding(left)?;
            } else if self.searching.is_some() {
                work += self.step_search(left)?;
            } else if self.leaf.is_some() {
                work += self.step_leaf(left)?;
            } else if self.spent() {
                break;
            } else if let Some(item) = self.pop() {
                work += self.process(item, false, left)?;
            }
            self.finish_if_empty();
        }
        Ok(self.verdict)
    }

    /// Frontier mode: processes boxes breadth first, without exact decisions, until at least
    /// `target` boxes wait (they are the jobs of a parallel verification, in canonical order:
    /// [`Verifier::pending_boxes`]) or nothing is left. Returns true when done expanding.
    pub fn expand(&mut self, target: usize, budget: usize) -> Result<bool> {
        let mut work = 0;
        while work < budget.max(1) {
            if self.bounding.is_some() {
                work += self.step_bounding(budget.max(1) - work)?;
                continue;
            }
            if self.searching.is_some() {
                work += self.step_search(budget.max(1) - work)?;
                continue;
            }
            if self.verdict != Verdict::Running || self.queue.len() + self.ready.len() >= target.max(1) {
                return Ok(true);
            }
            match self.queue.pop_front() {
                Some(item) => work += self.process(item, true, budget.max(1) - work)?,
                None => break,
            }
        }
        if self.bounding() {
            return Ok(false);
        }
        let done = self.queue.is_empty() || self.queue.len() + self.ready.len() >= target.max(1);
        if self.queue.is_empty() && self.ready.is_empty() {
            self.finish_if_empty();
        }
        Ok(done || self.verdict != Verdict::Running)
    }
}

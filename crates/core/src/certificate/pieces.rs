//! The exact-pieces tier: the region split into pieces on which every ReLU of the relevant
//! patches (and of the shared box gate) has a fixed state, every spec row maximised on every
//! piece — or, for a union safe set, the union's violation bounded on every piece
//! (`union.rs`).

use super::builder::{chain_sensitivities, ProgramBuilder};
use super::chain::{covers_region, own_chain_patch};
use super::frame::{band_of, Frame};
use super::options::CertifyOptions;
use super::region_certificate::RegionCertificate;
use super::safe_set::SafeSet;
use super::target::Target;
use super::tolerance::{row_rounding, set_decision_slack};
use super::union::UnionSearch;
use super::BandBox;
use crate::error::{invalid, Error, Result};
use crate::explore::{ExploreOptions, Explorer};
use crate::gate::BoxGate;
use crate::linalg::{axpy, dot};
use crate::patch::PatchNetwork;

/// LPs the union search may spend on one region (over all its pieces) before the region is
/// reported undecided (`UnionLimit`): a bound on the time one region can take, between which
/// cancellation takes effect.
const UNION_LPS_PER_REGION: usize = 20_000;

pub(super) fn certify_pieces(
    target: &Target,
    patches: &[PatchNetwork],
    box_gate: Option<&BoxGate>,
    band_boxes: &[Option<BandBox>],
    safe: &SafeSet,
    opts: &CertifyOptions,
) -> Result<RegionCertificate> {
    let region = &target.region;
    let n = region.n_in;
    let k = region.n_out;
    if safe.k != k {
        return invalid(format!("certificate: the spec has {} outputs, the network has {}", safe.k, k));
    }
    if let Some(i) = patches.iter().position(|p| p.n_in() != n || p.n_out() != k) {
        return invalid(format!(
            "certificate: patch {} maps {} inputs to {} outputs, the network has {} and {}",
            i,
            patches[i].n_in(),
            patches[i].n_out(),
            n,
            k
        ));
    }
    let spec = &safe.all;
    let rows = spec.rows();
    let mut frame = Frame::new(target, safe, box_gate, opts)?;
    let mut bounded: Vec<usize> = Vec::new();
    let mut exact: Vec<usize> = Vec::new();
    // Chain composition: the last constant patch whose support is exactly 1 on the whole region
    // (every row an exact row of the region, the box gate 1 on it) is the region's own patch k;
    // every chain patch before it has weight ReLU(g_i − U_{i+1}) = 0 there (U_{i+1} >= g_k = 1)
    // and is left out. The output is f + a convex combination of the chain patches from k on
    // whose band covers x.
    let is_chain = |p: &PatchNetwork| opts.chain && p.map.is_constant();
    let own = if opts.chain && frame.in_gate {
        own_chain_patch(patches, &frame.own_rows).filter(|&(_, delta)| delta == 0.0).map(|(o, _)| o)
    } else {
        None
    };
    let mut chain_later: Vec<usize> = Vec::new();
    for (i, p) in patches.iter().enumerate() {
        if is_chain(p) && own.map_or(false, |o| i < o) {
            continue;
        }
        if !frame.may_reach(p, band_of(band_boxes, i)) {
            continue;
        }
        if is_chain(p) {
            if Some(i) == own {
                exact.push(i);
            } else if frame.reaches(p)? {
                chain_later.push(i);
            }
            continue;
        }
        // A constant patch with P_j·d <= 0 on every row adds (P_j·d)·g <= 0: leaving it out can
        // only raise every row (sound, for a union too), and saves an LP and splitting the region
        // along its band. It is kept when its support provably covers the whole region (g = 1
        // there, no split — the region's own patch). A region failing this way is certified again
        // with every patch exact (see certify_region_with).
        let helpful =
            opts.bound_helpful && p.map.constant().map_or(false, |c| (0..rows).all(|j| dot(spec.row(j), &c.d) <= 0.0));
        if helpful && covers_region(p, &frame.own_rows) != Some(0.0) {
            bounded.push(i);
            continue;
        }
        if frame.reaches(p)? {
            exact.push(i);
        }
    }
    // Chain patches are modelled exactly here (bounding by domination is the convex tier's job,
    // see convex.rs).
    exact.extend(chain_later.iter().cloned());
    exact.sort_unstable();
    // Row j's tolerance for a bound that also includes a piece row's rounding `round`.
    let absolute = opts.tolerance.is_some();
    let tol_base: Vec<f64> = (0..rows).map(|j| frame.tolerance(opts, j, frame.rounding[j])).collect();
    let tol_of = |j: usize, round: f64| if absolute { tol_base[j] } else { tol_base[j] + round };
    let Frame { bp, own_rows, base, rounding, extra, scale, lps, .. } = frame;
    let mut builder = ProgramBuilder::new(&own_rows);
    if let Some(g) = box_gate {
        if !exact.is_empty() {
            if g.lower.len() != n {
                return invalid(format!(
                    "certificate: the box gate has {} bounds, the network has {} inputs",
                    g.lower.len(),
                    n
                ));
            }
            builder.box_gate(g);
        }
    }
    // Chain patches: their supports g_i, then the weights (only patches that reach the region:
    // the others have g = w = 0 here).
    let mut chain_g: Vec<(usize, usize)> = Vec::new();
    for &i in &exact {
        let g = builder.patch(&patches[i], !is_chain(&patches[i]));
        if is_chain(&patches[i]) {
            chain_g.push((i, g));
        }
    }
    let chain_w = builder.chain(&chain_g, patches);
    let mut program = builder.finish(region);
    let chain_sens = chain_sensitivities(&chain_w, patches, spec);
    let sens = program.sensitivities_with(&spec.p, rows, &|k, j| chain_sens.get(&k).map(|v| v[j]));
    let nn = program.neurons.len();
    // P_j · out_k per neuron and row.
    let mut pout = vec![0.0; nn * rows];
    for (kk, neuron) in program.neurons.iter().enumerate() {
        for j in 0..rows {
            pout[kk * rows + j] = neuron.outputs.iter().map(|&(o, w)| spec.p[j * k + o] * w).sum();
        }
    }
    let room: Vec<f64> = (0..rows).map(|j| tol_of(j, 0.0)).collect();
    set_decision_slack(&mut program, &sens, &room, &extra, rows);
    let mut ex = Explorer::from_polytope(program, bp, ExploreOptions { eps: opts.eps, rtol: 0.0 })?;
    let w = n + 1;
    let mut cert = RegionCertificate::open(exact.iter().chain(bounded.iter()).cloned().collect(), exact.len());
    cert.note_scale(&scale, 0.0);
    cert.error_budget = target.budget.iter().cloned().fold(0.0, f64::max);
    // Each piece row is built from the base row and up to `nn` neuron maps (axpy per input).
    let ops = 2 * (nn + n + k + 2);
    let mut broken = 0usize;
    let mut union_lps = 0usize;
    let mut maps = vec![0.0; rows * w];
    let mut piece_extra = vec![0.0; rows];
    let mut piece_tol = vec![0.0; rows];
    while let Some(mut piece) = ex.next_piece()? {
        cert.pieces += 1;
        if cert.pieces > opts.max_pieces {
            return Err(Error::PieceLimit { limit: opts.max_pieces });
        }
        for j in 0..rows {
            let row = &mut maps[j * w..(j + 1) * w];
            row.copy_from_slice(&base[j * w..(j + 1) * w]);
            let mut budget = 0.0;
            for kk in 0..nn {
                let c = pout[kk * rows + j];
                if c != 0.0 && piece.states[kk] != 0 {
                    axpy(c, &piece.maps[kk * w..(kk + 1) * w], row);
                }
                budget += sens[kk * rows + j] * piece.err[kk];
            }
            let round = row_rounding(&row[..n], row[n], ops, &piece.lower, &piece.upper);
            cert.error_budget = cert.error_budget.max(budget + target.budget[j]);
            cert.rounding = cert.rounding.max(round + rounding[j]);
            piece_extra[j] = budget * (1.0 + 1e-9) + round + extra[j];
            piece_tol[j] = tol_of(j, round);
        }
        let union_tol = piece_tol.iter().cloned().fold(f64::INFINITY, f64::min);
        if safe.is_union() {
            let search = UnionSearch {
                n,
                a: &piece.a,
                b: &piece.b,
                lo: &piece.lower,
                hi: &piece.upper,
                simplex: &mut piece.simplex,
                maps: &maps,
                extra: &piece_extra,
                safe,
                tol: union_tol,
                max_lps: UNION_LPS_PER_REGION.saturating_sub(union_lps),
            };
            let u = match search.run() {
                Ok(u) => u,
                Err(Error::Lp(_)) | Err(Error::Empty(_)) => {
                    broken += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            cert.lps += u.lps;
            union_lps += u.lps;
            if u.limited {
                let mut c = RegionCertificate::undecided(cert.patches.clone(), cert.pieces, super::Reason::UnionLimit);
                c.exact_patches = cert.exact_patches;
                c.lps = cert.lps + lps + ex.lps;
                return Ok(c);
            }
            cert.record(0, u.bound, u.value, &u.x, union_tol);
            continue;
        }
        for j in 0..rows {
            let row = &maps[j * w..(j + 1) * w];
            let sol = match piece.simplex.maximize(&row[..n]) {
                Ok(sol) => sol,
                Err(Error::Lp(_)) | Err(Error::Empty(_)) => {
                    // The LP breaks down on this piece (a sliver at the limit of its feasibility
                    // tolerance): no bound, so the region cannot be certified.
                    broken += 1;
                    break;
                }
                Err(e) => return Err(e),
            };
            cert.lps += 1;
            cert.record(j, sol.upper + row[n] + piece_extra[j], sol.lower + row[n], &sol.x, piece_tol[j]);
        }
    }
    cert.empty_pieces = broken;
    cert.lps += lps + ex.lps;
    cert.decide();
    Ok(cert)
}

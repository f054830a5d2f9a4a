//! The exact-pieces tier: the region split into pieces on which every ReLU of the relevant
//! patches has a fixed state, every spec row maximised on every piece.

use super::builder::{chain_sensitivities, ProgramBuilder};
use super::chain::{covers_region, own_chain_patch};
use super::frame::{band_of, Frame};
use super::options::CertifyOptions;
use super::region_certificate::RegionCertificate;
use super::tolerance::{row_tolerance, set_decision_slack};
use super::BandBox;
use crate::error::{invalid, Error, Result};
use crate::explore::{ExploreOptions, Explorer};
use crate::gate::BoxGate;
use crate::linalg::{axpy, dot};
use crate::patch::PatchNetwork;
use crate::region::LinearRegion;
use crate::spec::Spec;

pub(super) fn certify_pieces(
    region: &LinearRegion,
    patches: &[PatchNetwork],
    box_gate: Option<&BoxGate>,
    band_boxes: &[Option<BandBox>],
    spec: &Spec,
    opts: &CertifyOptions,
) -> Result<RegionCertificate> {
    let n = region.n_in;
    let k = region.n_out;
    if spec.k != k {
        return invalid(format!("certificate: the spec has {} outputs, the network has {}", spec.k, k));
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
    let mut frame = Frame::new(region, spec)?;
    let mut bounded: Vec<usize> = Vec::new();
    let mut exact: Vec<usize> = Vec::new();
    // Chain composition: the last constant patch whose support is 1 on the whole region (every
    // row one of the region's rows) is the region's own patch k; every chain patch before it
    // has weight ReLU(g_i − U_{i+1}) = 0 there (U_{i+1} >= g_k = 1) and is left out. The
    // output is f + a convex combination of the chain patches from k on whose band covers x.
    let is_chain = |p: &PatchNetwork| opts.chain && p.map.is_constant();
    let own = if opts.chain { own_chain_patch(patches, &frame.own_rows) } else { None };
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
        // only raise the bounds (sound), and saves an LP and splitting the region along its band.
        // It is kept when its support provably covers the whole region (every row one of the
        // region's rows: g = 1 there, no split — the region's own patch). A region failing this
        // way is certified again with every patch exact (see certify_region_with).
        let helpful = opts.bound_helpful
            && p.map.constant().map_or(false, |c| (0..spec.rows()).all(|j| dot(spec.row(j), &c.d) <= 0.0));
        if helpful && !covers_region(p, &frame.own_rows) {
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
    let Frame { bp, own_rows, base, lps } = frame;
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
    let rows = spec.rows();
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
    set_decision_slack(&mut program, &sens, &base, rows, opts.rtol, &bp.lower, &bp.upper);
    let mut ex = Explorer::from_polytope(program, bp, ExploreOptions { eps: opts.eps, rtol: 0.0 })?;
    let w = n + 1;
    let mut cert = RegionCertificate::open(exact.iter().chain(bounded.iter()).cloned().collect(), exact.len());
    let mut broken = 0usize;
    let mut row = vec![0.0; w];
    while let Some(mut piece) = ex.next_piece()? {
        cert.pieces += 1;
        if cert.pieces > opts.max_pieces {
            return Err(Error::PieceLimit { limit: opts.max_pieces });
        }
        for j in 0..rows {
            let bj = &base[j * w..(j + 1) * w];
            row.copy_from_slice(bj);
            let mut budget = 0.0;
            for kk in 0..nn {
                let c = pout[kk * rows + j];
                if c != 0.0 && piece.states[kk] != 0 {
                    axpy(c, &piece.maps[kk * w..(kk + 1) * w], &mut row);
                }
                budget += sens[kk * rows + j] * piece.err[kk];
            }
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
            let tolerance = row_tolerance(opts.rtol, &row[..n], row[n], &bj[..n], bj[n], &piece.lower, &piece.upper);
            cert.error_budget = cert.error_budget.max(budget);
            cert.record(j, sol.upper + row[n] + budget, sol.lower + row[n], &sol.x, tolerance);
        }
    }
    cert.empty_pieces = ex.empty + broken;
    cert.lps += lps + ex.lps;
    cert.decide();
    Ok(cert)
}

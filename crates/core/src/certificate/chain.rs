//! Which chain patches stand for a region (METHOD.md §4): the region's own patch, or cells that
//! tile it. Decided from the rows alone (no LP), and proven, never assumed: a patch covers the
//! region only when every one of its support rows *is* one of the region's rows (bit for bit),
//! and cells tile it only when an exact recursive cover test says so.

use super::rows::{RowSet, RowSide};
use crate::patch::PatchNetwork;

/// Every support row of `p` is a row of the region (same side): Some(δ) with g_p >= 1 − δ on the
/// region, δ = Σ γ ρ_i over the rows the region relaxes by ρ_i (0 when all rows are exact: g = 1).
pub(super) fn covers_region(p: &PatchNetwork, own_rows: &RowSet) -> Option<f64> {
    let s = &p.support;
    let gamma = 1.0 / s.radius;
    let mut delta = 0.0;
    for r in 0..s.rows() {
        match own_rows.side(s.row(r), s.b[r]) {
            RowSide::Own(rho) => delta += gamma * rho,
            _ => return None,
        }
    }
    Some(delta * (1.0 + 1e-9))
}

/// The region's own patch in a chain: the last constant patch covering the region (every chain
/// patch before it has weight <= δ there), with its δ.
pub(super) fn own_chain_patch(patches: &[PatchNetwork], own_rows: &RowSet) -> Option<(usize, f64)> {
    (0..patches.len()).rev().find_map(|i| {
        if patches[i].map.is_constant() {
            covers_region(&patches[i], own_rows).map(|d| (i, d))
        } else {
            None
        }
    })
}

/// Constant patches whose support rows are exact rows of the region or axis-aligned cuts
/// (`±x_j <= c`), and whose cut boxes cover the region's bounding box [lo, hi] (exact test, see
/// [`boxes_cover`]): on every point of the region one of them has support 1. Sorted indices, or
/// empty when there is no such cover.
pub(super) fn tiling_cells(
    patches: &[PatchNetwork],
    own_rows: &RowSet,
    n: usize,
    lo: &[f64],
    hi: &[f64],
) -> Vec<usize> {
    let mut cells: Vec<(usize, Vec<f64>, Vec<f64>)> = Vec::new();
    for (i, p) in patches.iter().enumerate() {
        if !p.map.is_constant() {
            continue;
        }
        let s = &p.support;
        let (mut l, mut u) = (vec![f64::NEG_INFINITY; n], vec![f64::INFINITY; n]);
        let mut cuts = 0;
        let mut ok = true;
        for r in 0..s.rows() {
            let a = s.row(r);
            if own_rows.side(a, s.b[r]) == RowSide::Own(0.0) {
                continue;
            }
            let nz: Vec<usize> = (0..n).filter(|&j| a[j] != 0.0).collect();
            if nz.len() == 1 && a[nz[0]] == 1.0 {
                u[nz[0]] = u[nz[0]].min(s.b[r]);
            } else if nz.len() == 1 && a[nz[0]] == -1.0 {
                l[nz[0]] = l[nz[0]].max(-s.b[r]);
            } else {
                ok = false;
                break;
            }
            cuts += 1;
        }
        if ok && cuts > 0 {
            cells.push((i, l, u));
        }
    }
    if cells.len() < 2 {
        return Vec::new();
    }
    let boxes: Vec<(&[f64], &[f64])> = cells.iter().map(|(_, l, u)| (&l[..], &u[..])).collect();
    if !boxes_cover(lo, hi, &boxes, &mut 20_000) {
        return Vec::new();
    }
    cells.into_iter().map(|(i, _, _)| i).collect()
}

/// Do the closed boxes `boxes` cover the closed box [lo, hi]? Exact (comparisons only): when no
/// box contains [lo, hi], split it at a box face strictly inside it and test both halves; when no
/// face is inside, every box either contains [lo, hi] or misses its interior, so it is not
/// covered (a gap with interior). Faces are shared exactly by both halves, so no sliver between
/// them escapes. `budget` bounds the number of tests (false when exhausted).
pub(super) fn boxes_cover(lo: &[f64], hi: &[f64], boxes: &[(&[f64], &[f64])], budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let n = lo.len();
    if (0..n).any(|j| lo[j] > hi[j]) {
        return true;
    }
    let meets = |b: &(&[f64], &[f64])| (0..n).all(|j| b.0[j] <= hi[j] && lo[j] <= b.1[j]);
    let near: Vec<(&[f64], &[f64])> = boxes.iter().filter(|b| meets(b)).cloned().collect();
    if near.iter().any(|b| (0..n).all(|j| b.0[j] <= lo[j] && hi[j] <= b.1[j])) {
        return true;
    }
    for b in &near {
        for j in 0..n {
            for &c in &[b.0[j], b.1[j]] {
                if lo[j] < c && c < hi[j] {
                    let mut h1 = hi.to_vec();
                    h1[j] = c;
                    let mut l2 = lo.to_vec();
                    l2[j] = c;
                    return boxes_cover(lo, &h1, &near, budget) && boxes_cover(&l2, hi, &near, budget);
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cover(lo: &[f64], hi: &[f64], boxes: &[(Vec<f64>, Vec<f64>)]) -> bool {
        let b: Vec<(&[f64], &[f64])> = boxes.iter().map(|(l, u)| (&l[..], &u[..])).collect();
        boxes_cover(lo, hi, &b, &mut 100_000)
    }

    #[test]
    fn exact_cover_test_finds_slivers_that_volumes_miss() {
        let (lo, hi) = ([0.0, 0.0], [1.0, 1.0]);
        let halves = vec![(vec![0.0, 0.0], vec![0.5, 1.0]), (vec![0.5, 0.0], vec![1.0, 1.0])];
        assert!(cover(&lo, &hi, &halves));
        // A gap of 1e-12 between the halves: volumes sum to 1 − 1e-12 (within 1e-9), not a cover.
        let gap = vec![(vec![0.0, 0.0], vec![0.5, 1.0]), (vec![0.5 + 1e-12, 0.0], vec![1.0, 1.0])];
        assert!(!cover(&lo, &hi, &gap));
        // Overlapping boxes still cover; a missing corner does not.
        let quads = vec![
            (vec![0.0, 0.0], vec![0.6, 0.6]),
            (vec![0.4, 0.0], vec![1.0, 0.5]),
            (vec![0.0, 0.5], vec![0.5, 1.0]),
            (vec![0.5, 0.4], vec![1.0, 1.0]),
        ];
        assert!(cover(&lo, &hi, &quads));
        assert!(!cover(&lo, &hi, &quads[..3]));
        // Boxes larger than the target (unbounded sides) cover it.
        assert!(cover(&lo, &hi, &[(vec![f64::NEG_INFINITY, -1.0], vec![f64::INFINITY, 2.0])]));
    }
}

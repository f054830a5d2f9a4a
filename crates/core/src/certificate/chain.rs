//! Which chain patches stand for a region (METHOD.md §4): the region's own patch, or cells that
//! tile it. Decided from the rows alone (no LP).

use super::rows::{RowSet, RowSide};
use crate::patch::PatchNetwork;

/// Every support row of `p` is a row of the region (same side): g = 1 on all of it.
pub(super) fn covers_region(p: &PatchNetwork, own_rows: &RowSet) -> bool {
    let s = &p.support;
    (0..s.rows()).all(|r| own_rows.side(s.row(r), s.b[r]) == RowSide::Own)
}

/// The region's own patch in a chain: the last constant patch covering the region (every chain
/// patch before it has weight 0 there).
pub(super) fn own_chain_patch(patches: &[PatchNetwork], own_rows: &RowSet) -> Option<usize> {
    (0..patches.len()).rev().find(|&i| patches[i].map.is_constant() && covers_region(&patches[i], own_rows))
}

/// Constant patches whose support rows are rows of the region or axis-aligned cuts
/// (`±x_j <= c`), and whose cut boxes tile the region's bounding box [lo, hi] (pairwise disjoint
/// interiors, volumes summing to the box's): on every point of the region one of them has
/// support 1. Sorted indices, or empty when there is no such tiling.
pub(super) fn tiling_cells(
    patches: &[PatchNetwork],
    own_rows: &RowSet,
    n: usize,
    lo: &[f64],
    hi: &[f64],
) -> Vec<usize> {
    if (0..n).any(|j| !(hi[j] > lo[j])) {
        return Vec::new();
    }
    let mut cells: Vec<(usize, Vec<f64>, Vec<f64>)> = Vec::new();
    for (i, p) in patches.iter().enumerate() {
        if !p.map.is_constant() {
            continue;
        }
        let s = &p.support;
        let (mut l, mut u) = (lo.to_vec(), hi.to_vec());
        let mut cuts = 0;
        let mut ok = true;
        for r in 0..s.rows() {
            let a = s.row(r);
            if own_rows.side(a, s.b[r]) == RowSide::Own {
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
        if ok && cuts > 0 && (0..n).all(|j| u[j] > l[j]) {
            cells.push((i, l, u));
        }
    }
    let volume = |l: &[f64], u: &[f64]| (0..n).map(|j| (u[j] - l[j]) / (hi[j] - lo[j])).product::<f64>();
    let total: f64 = cells.iter().map(|(_, l, u)| volume(l, u)).sum();
    if cells.len() < 2 || (total - 1.0).abs() > 1e-9 {
        return Vec::new();
    }
    for x in 0..cells.len() {
        for y in x + 1..cells.len() {
            let (_, l1, u1) = &cells[x];
            let (_, l2, u2) = &cells[y];
            if (0..n).all(|j| u1[j] > l2[j] && u2[j] > l1[j]) {
                return Vec::new();
            }
        }
    }
    cells.into_iter().map(|(i, _, _)| i).collect()
}

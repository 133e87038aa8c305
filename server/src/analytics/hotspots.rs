//! Hotspots judged statistically: the Getis-Ord Gi* statistic per H3 cell,
//! with the Benjamini-Hochberg false-discovery-rate correction across cells.
//!
//! The study region is every cell covering the area (empty cells count as
//! zero) plus any cell holding incidents just outside it. A cell's
//! neighbourhood is the cell and its six neighbours (binary weights, k = 1).
//! Gi* is a z-score: how far the neighbourhood's sum lies above what the
//! area's mean would give. A cell is a significant hotspot when Gi* > 0 and
//! its two-sided p-value survives the FDR correction at q = 0.05; a busy
//! cell amid equally busy cells is not a hotspot, a cluster is.

use std::collections::HashMap;

use h3o::CellIndex;

/// The false-discovery rate the correction controls.
pub const FDR_Q: f64 = 0.05;

/// One cell's statistic.
#[derive(Debug, Clone, PartialEq)]
pub struct GiStar {
    pub cell: CellIndex,
    /// Incidents in the cell itself.
    pub count: i64,
    /// Incidents in the cell and its neighbours.
    pub neighbourhood: i64,
    pub z: f64,
    /// Two-sided p-value under the normal approximation.
    pub p: f64,
    /// Survives the FDR correction.
    pub significant: bool,
}

/// Gi* for every cell of the study region `region` with `counts` (cells
/// missing from `counts` count zero; counted cells outside `region` join it).
/// Sorted by z, highest first. Empty when the counts do not vary.
pub fn gi_star(region: &[CellIndex], counts: &[(CellIndex, i64)]) -> Vec<GiStar> {
    let mut x: HashMap<CellIndex, i64> = region.iter().map(|&c| (c, 0)).collect();
    for &(c, n) in counts {
        *x.entry(c).or_insert(0) += n;
    }
    let n = x.len() as f64;
    if n < 3.0 {
        return vec![];
    }
    let sum: f64 = x.values().map(|&v| v as f64).sum();
    let mean = sum / n;
    let var = x.values().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / n - mean * mean;
    if var <= f64::EPSILON {
        return vec![];
    }
    let s = var.sqrt();
    let mut out: Vec<GiStar> = x
        .iter()
        .map(|(&cell, &count)| {
            let (mut w, mut local) = (0.0f64, 0i64);
            for nb in cell.grid_disk::<Vec<_>>(1) {
                if let Some(&v) = x.get(&nb) {
                    w += 1.0;
                    local += v;
                }
            }
            let denom = s * ((n * w - w * w) / (n - 1.0)).sqrt();
            let z = if denom > 0.0 { (local as f64 - mean * w) / denom } else { 0.0 };
            let p = libm::erfc(z.abs() / std::f64::consts::SQRT_2);
            GiStar { cell, count, neighbourhood: local, z, p, significant: false }
        })
        .collect();
    // Benjamini-Hochberg: the k smallest p-values are discoveries, for the
    // largest k with p(k) <= k/m * q.
    let mut by_p: Vec<usize> = (0..out.len()).collect();
    by_p.sort_by(|&a, &b| out[a].p.total_cmp(&out[b].p));
    let m = out.len() as f64;
    let cutoff = by_p
        .iter()
        .enumerate()
        .filter(|&(k, &i)| out[i].p <= (k + 1) as f64 / m * FDR_Q)
        .map(|(k, _)| k + 1)
        .max();
    if let Some(k) = cutoff {
        for &i in &by_p[..k] {
            out[i].significant = true;
        }
    }
    out.sort_by(|a, b| b.z.total_cmp(&a.z).then(a.cell.cmp(&b.cell)));
    out
}

/// The confidence level a z-score reaches (90, 95 or 99 %), if any.
pub fn confidence(z: f64) -> Option<u8> {
    match z.abs() {
        z if z >= 2.576 => Some(99),
        z if z >= 1.960 => Some(95),
        z if z >= 1.645 => Some(90),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use h3o::{LatLng, Resolution};

    fn region() -> (CellIndex, Vec<CellIndex>) {
        let centre = LatLng::new(52.25, 6.16).unwrap().to_cell(Resolution::Ten);
        (centre, centre.grid_disk::<Vec<_>>(6))
    }

    #[test]
    fn a_cluster_is_a_significant_hotspot_and_uniform_counts_are_not() {
        let (centre, region) = region();
        // Background of 1 everywhere; a cluster of 12 in the centre and its ring.
        let mut counts: Vec<(CellIndex, i64)> = region.iter().map(|&c| (c, 1)).collect();
        for c in centre.grid_disk::<Vec<_>>(1) {
            counts.push((c, 11));
        }
        let g = gi_star(&region, &counts);
        assert_eq!(g.len(), region.len());
        assert_eq!(g[0].cell, centre, "the centre of the cluster scores highest");
        assert!(g[0].z > 5.0 && g[0].significant && g[0].p < 1e-6, "{:?}", g[0]);
        assert_eq!(g[0].neighbourhood, 7 * 12);
        let far: Vec<&GiStar> = g.iter().filter(|s| s.cell.grid_distance(centre).unwrap() >= 4).collect();
        assert!(far.iter().all(|s| !s.significant || s.z < 0.0));
        // The same total spread evenly has no hotspot at all.
        let even: Vec<(CellIndex, i64)> = region.iter().map(|&c| (c, 3)).collect();
        assert!(gi_star(&region, &even).is_empty());
    }

    #[test]
    fn z_matches_a_hand_computation() {
        // Seven cells: a centre and its ring. x = centre 7, ring 0.
        let centre = LatLng::new(52.25, 6.16).unwrap().to_cell(Resolution::Ten);
        let region = centre.grid_disk::<Vec<_>>(1);
        let g = gi_star(&region, &[(centre, 7)]);
        // n = 7, mean = 1, S = sqrt(49/7 - 1) = sqrt(6).
        // Centre: w = 7, local = 7: z = (7 - 7) / ... = 0.
        // A ring cell: w = 4 (itself, the centre, two ring neighbours), local = 7:
        // z = (7 - 4) / (sqrt(6) * sqrt((28 - 16) / 6)) = 3 / sqrt(12) = 0.866.
        let ring = g.iter().find(|s| s.cell != centre).unwrap();
        assert!((ring.z - 3.0 / 12f64.sqrt()).abs() < 1e-9, "{}", ring.z);
        let c = g.iter().find(|s| s.cell == centre).unwrap();
        assert!(c.z.abs() < 1e-9);
        assert!(g.iter().all(|s| !s.significant));
    }

    #[test]
    fn confidence_levels() {
        assert_eq!(confidence(3.0), Some(99));
        assert_eq!(confidence(2.0), Some(95));
        assert_eq!(confidence(1.7), Some(90));
        assert_eq!(confidence(1.0), None);
    }
}

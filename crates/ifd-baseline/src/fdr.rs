//! Benjamini–Hochberg false-discovery-rate control.

/// Benjamini–Hochberg adjusted p-values (q-values), returned in the input order.
///
/// With the `m` p-values sorted ascending, `q₍ᵢ₎ = min over j ≥ i of (m/j)·p₍ⱼ₎`, capped
/// at one. Rejecting every hypothesis with `q ≤ α` is the BH step-up procedure at level `α`:
/// the expected share of false discoveries among the rejections is at most `(m₀/m)·α`
/// under independence or positive regression dependence (Benjamini & Hochberg 1995).
///
/// Inputs are expected in `[0, 1]`; values outside are clamped into it. An empty input
/// gives an empty output.
#[must_use]
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut q = vec![1.0; m];
    let mut running = 1.0_f64;
    for (rank0, &idx) in order.iter().enumerate().rev() {
        let p = p_values[idx].clamp(0.0, 1.0);
        let adj = (p * m as f64 / (rank0 + 1) as f64).min(1.0);
        running = running.min(adj);
        q[idx] = running;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bh_known_answer() {
        // Hand computation, m = 5, sorted p = .01 .02 .03 .04 .20:
        // m/j*p = .05, .05, .05, .05, .20 -> cumulative minimum from the top gives the same.
        let p = [0.04, 0.01, 0.20, 0.03, 0.02];
        let q = benjamini_hochberg(&p);
        let want = [0.05, 0.05, 0.20, 0.05, 0.05];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }

    #[test]
    fn bh_known_answer_with_monotone_step() {
        // m = 4, sorted p = .001 .030 .032 .5
        // raw: .004, .06, .042667, .5 -> step-up minimum: .004, .042667, .042667, .5
        let p = [0.5, 0.032, 0.001, 0.03];
        let q = benjamini_hochberg(&p);
        let want = [0.5, 0.032 * 4.0 / 3.0, 0.004, 0.032 * 4.0 / 3.0];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
        assert!(benjamini_hochberg(&[]).is_empty());
        assert_eq!(benjamini_hochberg(&[0.9, 0.95]), vec![0.95, 0.95]);
    }
}

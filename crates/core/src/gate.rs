//! The input box as one indicator shared by every patch of a repaired network (METHOD.md §2).

use crate::error::{invalid, Result};

/// B(x) = ReLU( Σ_j [clamp(γ (u_j − x_j) + 1, 0, 1) + clamp(γ (x_j − l_j) + 1, 0, 1)] − 2n + 1 ),
/// γ = 1/radius. B = 1 on the box and 0 once the box faces are violated by r in total. Sharing
/// it keeps 2n box rows out of every support (1568 rows per MNIST patch); a support gated by it
/// is [`crate::patch::Support::value_gated`].
#[derive(Debug, Clone, PartialEq)]
pub struct BoxGate {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub radius: f64,
}

impl BoxGate {
    pub fn new(lower: Vec<f64>, upper: Vec<f64>, radius: f64) -> Result<BoxGate> {
        crate::region::check_box(lower.len(), &lower, &upper)?;
        if !(radius.is_finite() && radius > 0.0) {
            return invalid(format!("box gate: radius {} must be finite and > 0", radius));
        }
        Ok(BoxGate { lower, upper, radius })
    }

    pub fn value(&self, x: &[f64]) -> f64 {
        let gamma = 1.0 / self.radius;
        let mut acc = 0.0;
        for j in 0..self.lower.len() {
            for &t in &[gamma * (self.upper[j] - x[j]), gamma * (x[j] - self.lower[j])] {
                if t <= -1.0 {
                    return 0.0;
                }
                acc += if t >= 0.0 { 1.0 } else { t + 1.0 };
            }
        }
        let g = acc - (2 * self.lower.len()) as f64 + 1.0;
        if g > 0.0 {
            g
        } else {
            0.0
        }
    }

    /// The 2n box faces as support rows (`x_j <= u_j`, `−x_j <= −l_j` per input), in that order.
    pub fn faces(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.lower.len();
        let mut a = Vec::with_capacity(2 * n * n);
        let mut b = Vec::with_capacity(2 * n);
        for j in 0..n {
            let mut e = vec![0.0; n];
            e[j] = 1.0;
            a.extend_from_slice(&e);
            b.push(self.upper[j]);
            e[j] = -1.0;
            a.extend_from_slice(&e);
            b.push(-self.lower[j]);
        }
        (a, b)
    }
}

//! Deterministic randomness: FNV-1a names, SplitMix64 streams, Box–Muller normals.
//!
//! Every stream is keyed by [`hash_parts`] of what it is for (seed, symbol, day, salt), so a
//! number never depends on which other numbers were drawn before.

pub(super) const SALT_SEED: u64 = 0x0A1F_4A5E_0000_0001;
pub(super) const SALT_MARKET: u64 = 0x4D41_524B_4554_0001;
pub(super) const SALT_PARAMS: u64 = 0x5041_5241_4D53_0001;
pub(super) const SALT_EARNINGS: u64 = 0x4541_524E_494E_0001;
pub(super) const SALT_DAY: u64 = 0x4441_5953_5441_0001;
pub(super) const SALT_BRIDGE: u64 = 0x4252_4944_4745_0001;

/// FNV-1a, 64 bit: a stable hash of a symbol name.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64 finaliser.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Combines parts into one well-mixed stream key.
pub(super) fn hash_parts(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9e37_79b9_7f4a_7c15, |h, p| {
        mix64(h ^ p.wrapping_add(0x9e37_79b9_7f4a_7c15))
    })
}

/// SplitMix64 generator with Box–Muller standard normals.
pub(super) struct Rng {
    state: u64,
    spare: Option<f64>,
}

impl Rng {
    /// A stream starting at `key` (from [`hash_parts`]).
    pub(super) fn new(key: u64) -> Rng {
        Rng {
            state: key,
            spare: None,
        }
    }

    /// The next raw 64-bit draw.
    pub(super) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }

    /// Uniform in [0, 1).
    pub(super) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal.
    pub(super) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_fixed_by_their_key() {
        // FNV-1a of the empty input is the offset basis; of "a" the published test vector.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let draws = |key| {
            let mut r = Rng::new(key);
            (r.next_u64(), r.uniform(), r.normal(), r.normal())
        };
        assert_eq!(draws(hash_parts(&[1, 2])), draws(hash_parts(&[1, 2])));
        assert_ne!(draws(hash_parts(&[1, 2])), draws(hash_parts(&[2, 1])));
        // SplitMix64 seeded with 0: its published first output.
        assert_eq!(Rng::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn uniforms_and_normals_have_the_right_shape() {
        let mut r = Rng::new(hash_parts(&[42]));
        let n = 20_000;
        let us: Vec<f64> = (0..n).map(|_| r.uniform()).collect();
        assert!(us.iter().all(|u| (0.0..1.0).contains(u)));
        let zs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = zs.iter().sum::<f64>() / n as f64;
        let var = zs.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        assert!(mean.abs() < 0.05, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }
}

//! The one random number generator qsim uses, and how seeds are derived.
//!
//! Every random draw in a simulation comes from a [`SimRng`] seeded from the scenario's `seed`
//! (or a seed derived from it), so a seed means the same thing on every machine: the generator
//! is PCG-64 (`rand_pcg::Pcg64Mcg`, a fixed algorithm), the exponential ziggurat's tables are
//! constants (`src/rng/ziggurat.rs`), and the transcendental functions used to shape
//! distributions come from `libm`, a portable pure-Rust implementation, rather than the
//! platform's C library. Changing how a distribution is drawn changes what a seed gives: the
//! exponential's draws changed once, from `-ln(1 - u)` to the ziggurat (README,
//! "Determinism").
//!
//! Independent runs (Monte Carlo, sweeps) never share a generator: run `i` of a scenario with
//! seed `s` uses [`derive_seed`]`(s, i)`, so results do not depend on how runs are spread over
//! threads.

use rand_pcg::rand_core::Rng as _;

mod ziggurat;

/// The seeded, portable generator behind every random draw.
#[derive(Clone, Debug)]
pub struct SimRng(rand_pcg::Pcg64Mcg);

impl SimRng {
    /// A generator for `seed`; the same seed gives the same stream everywhere.
    pub fn new(seed: u64) -> SimRng {
        let hi = splitmix64(seed ^ 0x5153_494d_5153_494d) as u128;
        let lo = splitmix64(seed) as u128;
        SimRng(rand_pcg::Pcg64Mcg::new((hi << 64) | lo))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform draw from `[0, 1)` with 53 bits of precision.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform draw from `0..n` (`n > 0`), without modulo bias worth measuring.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// A standard normal draw (Box–Muller, one value per call for simplicity).
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let u2 = self.uniform();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }

    /// An exponential draw with mean 1: Marsaglia and Tsang's ziggurat of 256 layers, with
    /// tables written as constants (`src/rng/ziggurat.rs`), so the same bits give the same draw
    /// everywhere.
    ///
    /// One 64-bit draw picks a layer (its low 8 bits) and a point across it (its top 53 bits);
    /// about 98.9% of draws end there, without a logarithm. The rest test the wedge under the
    /// curve (`libm::exp`), or fall in the tail beyond `R`, drawn as `R - ln(1 - u)` with `u`
    /// of 53 bits, so that no draw exceeds `R + 53 ln 2` (44.434); see
    /// [`STANDARD_EXP_MAX`](Self::STANDARD_EXP_MAX).
    #[inline]
    pub fn standard_exp(&mut self) -> f64 {
        let bits = self.next_u64();
        let i = (bits & 0xff) as usize;
        let x = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64) * ziggurat::X[i];
        if x < ziggurat::X[i + 1] {
            return x;
        }
        self.exp_slow(i, x)
    }

    /// The rare cases of [`standard_exp`](Self::standard_exp): the tail, the wedges, and a new
    /// draw when the wedge test fails.
    #[cold]
    #[inline(never)]
    fn exp_slow(&mut self, mut i: usize, mut x: f64) -> f64 {
        use ziggurat::{F, R, X};
        loop {
            if i == 0 {
                return R - libm::log(1.0 - self.uniform());
            }
            if F[i + 1] + (F[i] - F[i + 1]) * self.uniform() < libm::exp(-x) {
                return x;
            }
            let bits = self.next_u64();
            i = (bits & 0xff) as usize;
            x = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64) * X[i];
            if x < X[i + 1] {
                return x;
            }
        }
    }

    /// An upper bound on [`standard_exp`](Self::standard_exp): a draw below the tail is below
    /// `R` (7.70), one in the tail at most `R - ln(2^-53)`, 44.434 (`1 - u` is at least
    /// 2^-53). Validation relies on it to prove that a run's clock cannot overflow.
    pub const STANDARD_EXP_MAX: f64 = 44.5;
}

/// The seed of run `index` of a scenario whose seed is `seed`.
///
/// Used for Monte Carlo runs and sweep points, so that run `i` is the same run whatever thread
/// executes it and however many runs there are.
pub fn derive_seed(seed: u64, index: u64) -> u64 {
    splitmix64(seed ^ splitmix64(index.wrapping_add(0x9e37_79b9_7f4a_7c15)))
}

/// SplitMix64's finaliser: a fast, well-mixed bijection on 64-bit values.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_different_seeds_differ() {
        let a: Vec<u64> = (0..4).map(|_| SimRng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut x = SimRng::new(7);
        let mut y = SimRng::new(8);
        assert_ne!(x.next_u64(), y.next_u64());
    }

    #[test]
    fn uniform_is_in_unit_interval_with_mean_near_half() {
        let mut r = SimRng::new(1);
        let n = 100_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let u = r.uniform();
            assert!((0.0..1.0).contains(&u));
            sum += u;
        }
        assert!((sum / n as f64 - 0.5).abs() < 0.01);
    }

    /// The ziggurat's tables are the computation their module describes, bit for bit.
    #[test]
    fn ziggurat_tables_are_what_they_say() {
        use ziggurat::{F, R, R_GIVEN, V, X};
        let f = |x: f64| libm::exp(-x);
        let mut x = [0.0f64; 257];
        x[0] = V / f(R_GIVEN);
        x[1] = R_GIVEN;
        for i in 2..256 {
            x[i] = -libm::log(V / x[i - 1] + f(x[i - 1]));
        }
        for i in 0..257 {
            assert_eq!(X[i].to_bits(), x[i].to_bits(), "X[{i}]");
            assert_eq!(F[i].to_bits(), f(x[i]).to_bits(), "F[{i}]");
        }
        assert_eq!(R, R_GIVEN);
        assert!(X.windows(2).all(|w| w[0] > w[1]));
    }

    /// Exponential draws: below the bound, even the largest the tail can give, and shaped like
    /// an exponential (mean, tail probabilities, the share of each region).
    #[test]
    fn exponential_draws_are_bounded_and_exponential() {
        let worst = ziggurat::R - libm::log(1.0 / (1u64 << 53) as f64);
        assert!(worst <= SimRng::STANDARD_EXP_MAX && worst > 44.4, "{worst}");
        let mut r = SimRng::new(11);
        let n = 2_000_000;
        let (mut sum, mut above1, mut above5, mut tail) = (0.0, 0u32, 0u32, 0u32);
        for _ in 0..n {
            let x = r.standard_exp();
            assert!((0.0..=SimRng::STANDARD_EXP_MAX).contains(&x));
            sum += x;
            above1 += u32::from(x > 1.0);
            above5 += u32::from(x > 5.0);
            tail += u32::from(x >= ziggurat::R);
        }
        let n = f64::from(n);
        // Standard errors: 0.0007 for the mean, 0.00034 and 0.000047 for the probabilities.
        assert!((sum / n - 1.0).abs() < 0.004, "mean {}", sum / n);
        assert!((f64::from(above1) / n - libm::exp(-1.0)).abs() < 0.002);
        assert!((f64::from(above5) / n - libm::exp(-5.0)).abs() < 0.0003);
        assert!((f64::from(tail) / n - libm::exp(-ziggurat::R)).abs() < 0.0001);
    }

    #[test]
    fn derived_seeds_are_distinct() {
        let seeds: std::collections::BTreeSet<u64> = (0..1000).map(|i| derive_seed(3, i)).collect();
        assert_eq!(seeds.len(), 1000);
    }
}

//! The one random number generator qsim uses, and how seeds are derived.
//!
//! Every random draw in a simulation comes from a [`SimRng`] seeded from the scenario's `seed`
//! (or a seed derived from it), so a seed means the same thing on every machine and every
//! version of qsim: the generator is PCG-64 (`rand_pcg::Pcg64Mcg`, a fixed algorithm), and the
//! transcendental functions used to shape distributions come from `libm`, a portable pure-Rust
//! implementation, rather than the platform's C library.
//!
//! Independent runs (Monte Carlo, sweeps) never share a generator: run `i` of a scenario with
//! seed `s` uses [`derive_seed`]`(s, i)`, so results do not depend on how runs are spread over
//! threads.

use rand_pcg::rand_core::Rng as _;

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

    /// An exponential draw with mean 1.
    pub fn standard_exp(&mut self) -> f64 {
        -libm::log(1.0 - self.uniform())
    }
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

    #[test]
    fn derived_seeds_are_distinct() {
        let seeds: std::collections::BTreeSet<u64> = (0..1000).map(|i| derive_seed(3, i)).collect();
        assert_eq!(seeds.len(), 1000);
    }
}

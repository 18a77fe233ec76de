//! Latencies of one task type as counts in the cells of an HDR histogram, recorded in a few
//! instructions.
//!
//! `qsim run` records a latency for every task that finishes, inside the engine's loop; through
//! `hdrhistogram::Histogram::record` that cost about a tenth of a run of M/M/4 (the record checks
//! for resizing, clamping, saturation and the tracked minimum and maximum at every value).
//! [`Latencies`] keeps only the counts, in exactly the cells of a `Histogram<u64>` of three
//! significant digits (the layout is HDR's: 2,048 cells for the values below 2,048, then 1,024
//! cells for each further power of two), and makes that histogram when a report asks
//! ([`Latencies::histogram`]): every quantile, mean and bound the report reads is then the
//! histogram's own. The property test below holds the two to the same answers.

use hdrhistogram::Histogram;

/// Cells below the first power of two past 2,000 (three significant digits): one per value.
const SUB_BUCKETS: u64 = 2048;
/// Cells per further power of two: its upper half at that resolution.
const HALF: u64 = SUB_BUCKETS / 2;

/// Counts of recorded latencies, in the cells of a three-significant-digit HDR histogram.
///
/// The cells are kept in chunks of 1,024 (one per power of two), each allocated when a latency
/// first reaches it: one table would be reallocated as it grows, and the allocator keeps such
/// large blocks apart (a run of M/M/4 held 4 MB more); a sweep's short runs touch a few chunks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Latencies {
    chunks: Vec<Option<Box<[u64; CHUNK]>>>,
    total: u64,
}

/// Cells per chunk.
const CHUNK: usize = HALF as usize;

/// The cell of `value`: as `Histogram::index_for` with three significant digits and a lowest
/// discernible value of 1.
#[inline(always)]
fn cell(value: u64) -> usize {
    // How many powers of two `value` is above the first 2,048 (0 for those below).
    let bucket = 53 - (value | (SUB_BUCKETS - 1)).leading_zeros();
    ((u64::from(bucket) + 1) * HALF + (value >> bucket) - HALF) as usize
}

/// How many powers of two the values of cell `i` are above the first 2,048.
fn bucket_of(i: usize) -> u32 {
    (i as u64 / HALF).saturating_sub(1) as u32
}

/// The lowest value of cell `i` (the inverse of [`cell`] on its lowest value).
fn lowest_of(i: usize) -> u64 {
    let bucket = bucket_of(i);
    (i as u64 - u64::from(bucket) * HALF) << bucket
}

/// The highest value of cell `i`, as `Histogram::highest_equivalent`.
fn highest_of(i: usize) -> u64 {
    lowest_of(i).saturating_add(1 << bucket_of(i)) - 1
}

/// The middle of cell `i` (rounded up), as `Histogram::median_equivalent`.
fn median_of(i: usize) -> u64 {
    lowest_of(i) + ((1u64 << bucket_of(i)) >> 1)
}

impl Latencies {
    /// No latency recorded.
    pub fn new() -> Latencies {
        Latencies::default()
    }

    /// Records one latency.
    #[inline(always)]
    pub fn record(&mut self, value: u64) {
        let i = cell(value);
        match self.chunks.get_mut(i / CHUNK) {
            Some(Some(chunk)) => chunk[i % CHUNK] += 1,
            _ => self.add_to_cell(i, 1),
        }
        self.total += 1;
    }

    /// Adds `n` to cell `i`, allocating its chunk if need be.
    #[cold]
    #[inline(never)]
    fn add_to_cell(&mut self, i: usize, n: u64) {
        if self.chunks.len() <= i / CHUNK {
            self.chunks.resize(i / CHUNK + 1, None);
        }
        self.chunks[i / CHUNK].get_or_insert_with(|| Box::new([0; CHUNK]))[i % CHUNK] += n;
    }

    /// Adds every latency of `other` (a sweep sums the runs of a point).
    pub fn add(&mut self, other: &Latencies) {
        for (k, chunk) in other.chunks.iter().enumerate() {
            let Some(chunk) = chunk else { continue };
            if let Some(Some(mine)) = self.chunks.get_mut(k) {
                for (a, b) in mine.iter_mut().zip(chunk.iter()) {
                    *a += b;
                }
            } else {
                if self.chunks.len() <= k {
                    self.chunks.resize(k + 1, None);
                }
                self.chunks[k] = Some(chunk.clone());
            }
        }
        self.total += other.total;
    }

    /// How many latencies were recorded.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// True when none was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Every cell with a count, with its count, lowest first.
    fn cells(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.chunks
            .iter()
            .enumerate()
            .filter_map(|(k, c)| c.as_ref().map(|c| (k, c)))
            .flat_map(|(k, c)| c.iter().enumerate().map(move |(j, &n)| (k * CHUNK + j, n)))
            .filter(|&(_, n)| n != 0)
    }

    /// The mean, as `Histogram::mean` computes it (each latency counted at the middle of its
    /// cell, summed in the same order): 0 when none was recorded.
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        self.cells().fold(0.0_f64, |sum, (i, n)| {
            sum + median_of(i) as f64 * n as f64 / self.total as f64
        })
    }

    /// The value at `quantile`, as `Histogram::value_at_quantile` answers it: the highest value
    /// of the cell where the count reaches `quantile` of the total (the lowest, for 0).
    pub fn value_at_quantile(&self, quantile: f64) -> u64 {
        let quantile = quantile.min(1.0);
        let wanted = ((quantile * self.total as f64).ceil() as u64).max(1);
        let mut so_far = 0;
        for (i, n) in self.cells() {
            so_far += n;
            if so_far >= wanted {
                return if quantile == 0.0 {
                    lowest_of(i)
                } else {
                    highest_of(i)
                };
            }
        }
        0
    }

    /// The histogram of three significant digits that recording the same latencies would
    /// have made.
    pub fn histogram(&self) -> Histogram<u64> {
        // Sized once for the highest latency recorded (growing it as the values come would
        // reallocate its table a cell range at a time), and still growing if more is added.
        let highest = self.cells().last().map_or(0, |(i, _)| lowest_of(i));
        let mut h = Histogram::new_with_max(highest.max(2), 3)
            .expect("3 significant digits and a highest value of at least 2 are valid");
        h.auto(true);
        for (i, n) in self.cells() {
            h.record_n(lowest_of(i), n)
                .expect("the histogram is sized for the highest cell");
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn direct(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::new(3).unwrap();
        for &v in values {
            h.record(v).unwrap();
        }
        h
    }

    fn assert_same(values: &[u64]) {
        let mut fast = Latencies::new();
        for &v in values {
            fast.record(v);
        }
        let (a, b) = (fast.histogram(), direct(values));
        assert_eq!(fast.len(), b.len());
        assert_eq!(a.len(), b.len());
        let cells = |h: &Histogram<u64>| -> Vec<(u64, u64)> {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect()
        };
        assert_eq!(cells(&a), cells(&b));
        assert_eq!(fast.mean().to_bits(), b.mean().to_bits());
        for q in [0.0, 0.001, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0, 1.5] {
            assert_eq!(fast.value_at_quantile(q), b.value_at_quantile(q), "q {q}");
        }
        // Split in two and added back: the same counts.
        let (left, right) = values.split_at(values.len() / 2);
        let mut sum = Latencies::new();
        for part in [left, right] {
            let mut l = Latencies::new();
            part.iter().for_each(|&v| l.record(v));
            sum.add(&l);
        }
        assert_eq!(sum.histogram(), a);
        assert_eq!(sum.len(), fast.len());
        if !values.is_empty() {
            assert_eq!(a.min(), b.min());
            assert_eq!(a.max(), b.max());
            assert_eq!(a.min_nz(), b.min_nz());
            assert_eq!(a.mean().to_bits(), b.mean().to_bits());
            for q in [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
                assert_eq!(a.value_at_quantile(q), b.value_at_quantile(q), "q {q}");
            }
        }
    }

    #[test]
    fn each_cell_starts_where_the_histogram_says() {
        let h = Histogram::<u64>::new(3).unwrap();
        for v in (0..5000).chain([1 << 20, (1 << 40) + 12345, (1 << 62) - 1, u64::MAX / 4]) {
            let i = cell(v);
            assert_eq!(lowest_of(i), h.lowest_equivalent(v), "value {v}");
            assert_eq!(highest_of(i), h.highest_equivalent(v), "value {v}");
            assert_eq!(median_of(i), h.median_equivalent(v), "value {v}");
            assert_eq!(cell(lowest_of(i)), i);
        }
    }

    #[test]
    fn edges_of_the_cells() {
        let mut values = vec![0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 4097];
        for shift in 11..62 {
            let p = 1u64 << shift;
            values.extend([p - 1, p, p + 1, p + (p >> 1), 2 * p - 1]);
        }
        values.push((i64::MAX / 2) as u64);
        assert_same(&values);
        assert_same(&[]);
    }

    proptest! {
        /// The histogram made from the counts answers every question as the histogram that
        /// recorded the same latencies directly: cells, bounds, mean and quantiles.
        #[test]
        fn the_same_histogram_as_recording_directly(
            values in prop::collection::vec(
                prop_oneof![
                    0u64..4096,
                    0u64..10_000_000_000,
                    (0u32..62).prop_flat_map(|s| (0u64..(1u64 << s)).prop_map(move |v| v | (1 << s))),
                ],
                0..300,
            )
        ) {
            assert_same(&values);
        }
    }
}

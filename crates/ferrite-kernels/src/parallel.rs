//! A thread pool that lives as long as its interpreter.

use crate::api::{KResult, KernelError};

/// Runs kernel work on `threads` threads; with one thread no pool exists and
/// everything runs on the caller's thread.
#[derive(Clone)]
pub struct Parallel {
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    threads: usize,
}

impl Parallel {
    pub fn new(threads: usize) -> KResult<Self> {
        let threads = threads.max(1);
        let pool = if threads > 1 {
            Some(std::sync::Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("ferrite-{i}"))
                    .build()
                    .map_err(|e| {
                        KernelError::InvalidInput(format!("cannot start {threads} threads: {e}"))
                    })?,
            ))
        } else {
            None
        };
        Ok(Parallel { pool, threads })
    }

    pub fn single() -> Self {
        Parallel {
            pool: None,
            threads: 1,
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f(i)` for `i in 0..n`, spread over the pool.
    pub fn for_each(&self, n: usize, f: impl Fn(usize) + Sync + Send) {
        match &self.pool {
            Some(pool) if n > 1 => pool.install(|| {
                use rayon::prelude::*;
                (0..n).into_par_iter().for_each(f)
            }),
            _ => (0..n).for_each(f),
        }
    }

    /// Runs `f` inside the pool so nested rayon work (the GEMM) uses it.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// The GEMM crate's parallelism setting for this pool.
    pub fn gemm_parallelism(&self) -> gemm::Parallelism {
        if self.threads > 1 {
            gemm::Parallelism::Rayon(self.threads)
        } else {
            gemm::Parallelism::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Parallel;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    #[test]
    fn for_each_visits_every_index_once() {
        for threads in [1, 2, 3] {
            let par = Parallel::new(threads).unwrap();
            let hits: Vec<AtomicUsize> = (0..97).map(|_| AtomicUsize::new(0)).collect();
            par.install(|| {
                par.for_each(hits.len(), |i| _ = hits[i].fetch_add(1, Ordering::Relaxed))
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    /// Microseconds per parallel region of two empty tasks, entered from
    /// inside the pool as `invoke` does, after `gap` of idleness.
    fn region_us(par: &Parallel, regions: usize, gap: Duration) -> f64 {
        let mut times: Vec<f64> = (0..regions)
            .map(|_| {
                if !gap.is_zero() {
                    std::thread::sleep(gap);
                }
                par.install(|| {
                    let start = Instant::now();
                    par.for_each(2, |i| {
                        std::hint::black_box(i);
                    });
                    start.elapsed().as_secs_f64() * 1e6
                })
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[regions / 2]
    }

    /// The cost of one fork/join region: back to back (workers spinning)
    /// and after idle gaps (workers asleep). Run with
    /// `cargo test --release -p ferrite-kernels -- --ignored --nocapture bench_region_overhead`.
    #[test]
    #[ignore]
    fn bench_region_overhead() {
        let par = Parallel::new(2).unwrap();
        println!("median us per 2-task region, 2 threads:");
        println!(
            "  back to back: {:.2}",
            region_us(&par, 20_000, Duration::ZERO)
        );
        for gap_us in [50, 200, 1000, 5000] {
            let us = region_us(&par, 400, Duration::from_micros(gap_us));
            println!("  after {gap_us} us idle: {us:.2}");
        }
    }
}

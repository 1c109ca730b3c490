//! A thread pool that lives as long as its interpreter.

use std::sync::atomic::{AtomicBool, Ordering};

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

    /// Runs `f` inside the pool with the other workers kept awake until it
    /// returns. A rayon worker sleeps within microseconds of going idle and
    /// then takes longer to wake than most ops run, so without this every op
    /// that follows a serial stretch runs on one thread. Each other worker
    /// spins on the pool's pending work instead, for the length of `f` (an
    /// invoke).
    pub fn run_awake<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let Some(pool) = &self.pool else {
            return f();
        };
        pool.install(|| {
            let done = AtomicBool::new(false);
            let caller = rayon::current_thread_index();
            rayon::scope(|s| {
                for _ in 1..self.threads {
                    s.spawn(|_| keep_awake(&done, caller));
                }
                let r = f();
                done.store(true, Ordering::Release);
                r
            })
        })
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

/// Runs pending pool work until `done`. The thread running the invoke
/// itself may pop this job while it waits inside a parallel section; it
/// returns at once there, since spinning on its own thread would never end.
fn keep_awake(done: &AtomicBool, caller: Option<usize>) {
    if rayon::current_thread_index() == caller {
        return;
    }
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() != Some(rayon::Yield::Executed) {
            std::hint::spin_loop();
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

    #[test]
    fn run_awake_returns_and_nested_sections_finish() {
        for threads in [1, 2, 3] {
            let par = Parallel::new(threads).unwrap();
            let hits: Vec<AtomicUsize> = (0..64).map(|_| AtomicUsize::new(0)).collect();
            let sum = par.run_awake(|| {
                for _ in 0..50 {
                    par.for_each(hits.len(), |i| _ = hits[i].fetch_add(1, Ordering::Relaxed));
                }
                7
            });
            assert_eq!(sum, 7);
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 50));
        }
    }

    /// Busy work of about `us` microseconds on the calling thread.
    fn spin(us: f64) {
        let start = Instant::now();
        while start.elapsed().as_secs_f64() * 1e6 < us {
            std::hint::spin_loop();
        }
    }

    /// Median microseconds per parallel region of two tasks of `work_us`
    /// each, entered from inside the pool as `invoke` does, after `gap` of
    /// idleness. Perfect splitting takes `work_us`; none takes twice that.
    fn region_us(par: &Parallel, regions: usize, work_us: f64, gap: Duration) -> f64 {
        let mut times: Vec<f64> = (0..regions)
            .map(|_| {
                if !gap.is_zero() {
                    std::thread::sleep(gap);
                }
                par.install(|| {
                    let start = Instant::now();
                    par.for_each(2, |_| spin(work_us));
                    start.elapsed().as_secs_f64() * 1e6
                })
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[regions / 2]
    }

    /// What one fork/join region costs over its ideal split: back to back
    /// (workers spinning) and after idle gaps (workers asleep). Run with
    /// `cargo test --release -p ferrite-kernels -- --ignored --nocapture bench_region_overhead`.
    #[test]
    #[ignore]
    fn bench_region_overhead() {
        let par = Parallel::new(2).unwrap();
        println!("2 threads, 2 tasks per region; median region time minus the ideal split (us):");
        for work_us in [0.0, 2.0, 10.0, 50.0] {
            let mut row = format!("  tasks of {work_us:>4} us:");
            for gap_us in [0, 50, 200, 1000, 5000] {
                let regions = if gap_us == 0 { 5000 } else { 300 };
                let t = region_us(&par, regions, work_us, Duration::from_micros(gap_us));
                row += &format!("  gap {gap_us} us: {:+.2}", t - work_us);
            }
            println!("{row}");
        }
        println!("inside run_awake (as invoke runs), after idle gaps on the calling thread:");
        for work_us in [2.0, 10.0, 50.0] {
            let mut row = format!("  tasks of {work_us:>4} us:");
            for gap_us in [50, 1000] {
                let t = par.run_awake(|| awake_region_us(&par, 300, work_us, gap_us));
                row += &format!("  gap {gap_us} us: {:+.2}", t - work_us);
            }
            println!("{row}");
        }
    }

    /// As `region_us`, already inside the pool, the gap spent spinning on
    /// the calling thread as a serial op would.
    fn awake_region_us(par: &Parallel, regions: usize, work_us: f64, gap_us: u64) -> f64 {
        let mut times: Vec<f64> = (0..regions)
            .map(|_| {
                spin(gap_us as f64);
                let start = Instant::now();
                par.for_each(2, |_| spin(work_us));
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[regions / 2]
    }
}

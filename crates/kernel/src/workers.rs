//! Bounded pools for CPU-heavy work (password hashing, photo decoding): at most one job per CPU
//! runs on tokio's blocking threads, a bounded number wait, and more are refused. A job keeps
//! its worker until it has finished, even when the request that started it is gone, so that
//! cancelled requests can neither overdraw the pool nor leave a waiting place taken.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Why work did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Every worker is busy and the queue is full.
    Busy,
    /// The work panicked or the runtime is shutting down.
    Failed(String),
}

/// A pool of workers with a waiting queue.
#[derive(Debug)]
pub struct Workers {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Gives a waiting place back however the wait ends (done, or the request dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Workers {
    /// One worker per CPU, and at most `max_waiting` jobs waiting.
    pub fn per_cpu(max_waiting: usize) -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()), max_waiting)
    }

    /// `workers` at once, at most `max_waiting` waiting.
    pub fn new(workers: usize, max_waiting: usize) -> Self {
        Workers { permits: Arc::new(Semaphore::new(workers.max(1))), waiting: AtomicUsize::new(0), max_waiting }
    }

    /// Runs `work` on a blocking thread when a worker is free.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Refused> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(Refused::Busy);
                }
                let _place = Waiting(&self.waiting);
                self.permits.clone().acquire_owned().await.map_err(|e| Refused::Failed(e.to_string()))?
            }
        };
        // The permit moves into the job: it is released when the job ends, not when the caller goes.
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Refused::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_callers_neither_keep_a_waiting_place_nor_free_a_running_worker() {
        let pool = Arc::new(Workers::new(1, 2));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(std::sync::Mutex::new(hold));
        let busy = {
            let (pool, hold) = (pool.clone(), hold.clone());
            tokio::spawn(async move { pool.run(move || hold.lock().unwrap().recv_timeout(Duration::from_secs(10)).is_ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Two callers wait and are cancelled; their places come back.
        for _ in 0..2 {
            let pool = pool.clone();
            let waiter = tokio::spawn(async move { pool.run(|| ()).await });
            tokio::time::sleep(Duration::from_millis(50)).await;
            waiter.abort();
            let _ = waiter.await;
        }
        assert_eq!(pool.waiting.load(Ordering::SeqCst), 0);
        // A caller of the running job is cancelled: the job keeps its worker.
        busy.abort();
        let _ = busy.await;
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 7).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!queued.is_finished(), "the worker is still taken by the running job");
        // The queue holds two; a third is refused.
        let second = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 8).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.run(|| 9).await, Err(Refused::Busy));
        release.send(()).unwrap();
        assert_eq!(queued.await.unwrap(), Ok(7));
        assert_eq!(second.await.unwrap(), Ok(8));
        assert_eq!(pool.run(|| 10).await, Ok(10));
    }
}

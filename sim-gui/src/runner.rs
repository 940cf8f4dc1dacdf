//! One fleet run on a background thread, so the window never waits for it.
//!
//! The thread calls [`sim_models::run_fleet`] and sends what happens over a
//! channel: progress (about 200 times a run), then the report. The UI polls
//! the channel once a frame ([`Runner::poll`]) and the thread wakes the UI
//! with [`egui::Context::request_repaint`] after each message.
//!
//! **Cancel.** `run_fleet` has no stop flag; its only hook is the progress
//! callback. Cancel sets an [`AtomicBool`] that the callback checks; when it
//! is set the callback unwinds out of the run with
//! [`std::panic::resume_unwind`] (which skips the panic hook, so nothing is
//! printed) and the thread catches it. The simulation therefore stops at
//! its next progress slice, within about 1/200 of the run, and its memory
//! is freed; no partial report is shown. The deterministic core is not
//! changed: a run that is not cancelled is exactly `run_fleet`'s.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::Instant;

use sim_models::{FleetReport, FleetScenario, Progress};

/// What the background run said last.
#[derive(Debug)]
pub enum RunEvent {
    /// The run advanced.
    Progress(Progress),
    /// The run finished: its report and the wall time it took, seconds.
    Done(Box<FleetReport>, f64),
    /// The run stopped on request.
    Cancelled,
    /// The run panicked (a fleetsim bug); the panic message.
    Failed(String),
}

/// The token the progress callback unwinds with on cancel.
struct CancelToken;

/// A run in progress on its own thread.
#[derive(Debug)]
pub struct Runner {
    events: Receiver<RunEvent>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The seed it runs with.
    pub seed: u64,
    /// The latest progress.
    pub progress: Option<Progress>,
    started: Instant,
}

impl Runner {
    /// Starts running `scenario` with `seed`; `reproduce` is recorded in the
    /// report. `ctx` is woken after each message.
    pub fn start(
        scenario: FleetScenario,
        seed: u64,
        reproduce: String,
        ctx: egui::Context,
    ) -> Runner {
        let (tx, events) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        let thread = std::thread::Builder::new()
            .name("fleetsim-run".to_string())
            .spawn(move || {
                let started = Instant::now();
                let progress_tx = tx.clone();
                let progress_ctx = ctx.clone();
                let result = catch_unwind(AssertUnwindSafe(|| {
                    sim_models::run_fleet(&scenario, seed, &reproduce, &mut |p| {
                        if flag.load(Ordering::Relaxed) {
                            resume_unwind(Box::new(CancelToken));
                        }
                        // A closed channel means the UI dropped the runner.
                        let _ = progress_tx.send(RunEvent::Progress(p));
                        progress_ctx.request_repaint();
                    })
                }));
                let event = match result {
                    Ok(report) => RunEvent::Done(Box::new(report), started.elapsed().as_secs_f64()),
                    Err(payload) if payload.is::<CancelToken>() => RunEvent::Cancelled,
                    Err(payload) => RunEvent::Failed(panic_message(payload.as_ref())),
                };
                let _ = tx.send(event);
                ctx.request_repaint();
            })
            .expect("the OS can start a thread");
        Runner {
            events,
            cancel,
            thread: Some(thread),
            seed,
            progress: None,
            started: Instant::now(),
        }
    }

    /// Asks the run to stop at its next progress slice.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether cancel was asked for.
    pub fn cancelling(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Wall time since the start, seconds.
    pub fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Takes the messages that arrived; returns the final one (done,
    /// cancelled or failed) if the run ended.
    pub fn poll(&mut self) -> Option<RunEvent> {
        loop {
            match self.events.try_recv() {
                Ok(RunEvent::Progress(p)) => self.progress = Some(p),
                Ok(end) => {
                    if let Some(t) = self.thread.take() {
                        let _ = t.join();
                    }
                    return Some(end);
                }
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => {
                    return Some(RunEvent::Failed(
                        "the run's thread ended without a report".to_string(),
                    ));
                }
            }
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        // A dropped runner (new scenario, window closed) stops its run.
        self.cancel();
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the run panicked".to_string())
}

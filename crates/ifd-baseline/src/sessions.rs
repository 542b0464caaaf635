//! History sessions learned in parallel, merged in session order.
//!
//! [`BaselineBuilder::learn_sessions`] runs each history session (one file, one day)
//! on its own pipeline in a worker thread: a [`SessionLearner`] keeps the session's
//! observations in the order they were made. The builder then adds the sessions'
//! observations in session order, exactly as [`BaselineBuilder::on_record`] and
//! [`BaselineBuilder::end_session`] would have added them one record at a time, so the
//! baseline is the same (byte for byte once persisted) whatever the number of threads.
//!
//! A session starts from the builder's base chain (the definitions of earlier sessions
//! without MBO records, see [`BaselineBuilder::end_session`]). A worker takes the base
//! chain known when it starts; when a definitions-only session ends up changing it
//! before an earlier-started later session is merged, that later session is learned
//! again on the merging thread from the right chain, so the result stays exact.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use dbn::RecordRef;
use ifd_pressure::Chain;

use crate::adapter::{
    AdapterStats, BaselineBuilder, BuilderStats, PressureFeed, WindowObservation,
};
use crate::baseline::Observation;
use crate::error::Error;
use crate::key::TradingDay;

/// The pipeline of one session learned on its own: feed it the session's records with
/// [`on_record`](Self::on_record); [`BaselineBuilder::learn_sessions`] hands one to the
/// reader of each session.
#[derive(Debug)]
pub struct SessionLearner {
    feed: PressureFeed,
    buf: Vec<WindowObservation>,
    observations: Vec<(TradingDay, Observation)>,
}

/// What a [`SessionLearner`] learned: the session's observations in order and its
/// counters.
#[derive(Debug)]
struct LearnedSession {
    observations: Vec<(TradingDay, Observation)>,
    stats: BuilderStats,
    adapter: AdapterStats,
    /// The session's chain when it had no MBO records (it becomes the base chain).
    definitions_only: Option<Chain>,
}

impl SessionLearner {
    fn new(feed: PressureFeed) -> Self {
        Self {
            feed,
            buf: Vec::new(),
            observations: Vec::new(),
        }
    }

    /// Applies one record of the session (as [`BaselineBuilder::on_record`]).
    pub fn on_record(&mut self, rec: &RecordRef<'_>) {
        self.feed.on_record(rec, &mut self.buf);
        self.keep();
    }

    /// Records applied so far.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.feed.stats().records
    }

    fn keep(&mut self) {
        self.observations
            .extend(self.buf.drain(..).map(|w| (w.trading_day, w.observation)));
    }

    fn finish(mut self) -> LearnedSession {
        self.feed.flush(&mut self.buf);
        self.keep();
        let stats = self.feed.stats();
        LearnedSession {
            observations: self.observations,
            stats,
            adapter: *self.feed.adapter_stats(),
            definitions_only: (stats.mbo == 0).then(|| self.feed.chain().clone()),
        }
    }
}

/// Errors of [`BaselineBuilder::learn_sessions`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionsError<E> {
    /// The reader of a session failed; the sessions before it are in the baseline,
    /// none after it.
    #[error("history session {index}: {source}")]
    Source {
        /// Index of the session (0-based, in the order given).
        index: usize,
        /// The reader's error.
        #[source]
        source: E,
    },
    /// The baseline refused a day ([`Error::DuplicateDay`]) or the configuration.
    #[error(transparent)]
    Baseline(#[from] Error),
    /// A worker thread ended without delivering this session (it panicked).
    #[error("history session {index}: its worker thread ended without it")]
    WorkerLost {
        /// Index of the session.
        index: usize,
    },
}

type Outcome<E> = (usize, u64, Result<LearnedSession, SessionsError<E>>);

impl BaselineBuilder {
    /// Learns `sessions` history sessions (one file or one day each, oldest first) on
    /// up to `threads` worker threads (`0`: as many as the machine has cores), one
    /// session per worker at a time, and adds them in session order. `read(i, learner)`
    /// feeds session `i`'s records to `learner`; it may be called twice for one session
    /// (see the module docs), so it must give the same records each time.
    ///
    /// The result equals feeding each session through [`on_record`](Self::on_record)
    /// and ending it with [`end_session`](Self::end_session), one after another; a
    /// session in progress (records given to `on_record` and not ended) is ended first.
    ///
    /// # Errors
    /// [`SessionsError::Source`] with the first session (in order) whose reader failed;
    /// the sessions before it are added. [`SessionsError::Baseline`] as
    /// [`end_session`](Self::end_session).
    pub fn learn_sessions<E, F>(
        &mut self,
        sessions: usize,
        threads: usize,
        read: F,
    ) -> Result<(), SessionsError<E>>
    where
        E: Send,
        F: Fn(usize, &mut SessionLearner) -> Result<(), E> + Sync,
    {
        if self.feed().stats().records > 0 {
            self.end_session()?;
        }
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        } else {
            threads
        }
        .min(sessions);
        if threads <= 1 {
            for index in 0..sessions {
                self.learn_here(index, &read)?;
            }
            return Ok(());
        }
        let (chain, version) = self.base_chain();
        let base = Mutex::new((version, Arc::new(chain.clone())));
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let params = self.feed_params();
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<Outcome<E>>();
            for _ in 0..threads {
                let tx = tx.clone();
                let (read, base, next, stop) = (&read, &base, &next, &stop);
                scope.spawn(move || loop {
                    // Stop before taking an index, never after: every index taken is
                    // learned and sent, so the merge gets each session before a failed one.
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= sessions {
                        break;
                    }
                    let (version, chain) = {
                        let b = base.lock().unwrap_or_else(PoisonError::into_inner);
                        (b.0, Arc::clone(&b.1))
                    };
                    let outcome = learn(params, Chain::clone(&chain), index, read);
                    if outcome.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if tx.send((index, version, outcome)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let result = self.merge_in_order(sessions, &rx, &base, &read);
            stop.store(true, Ordering::Relaxed);
            result
        })
    }

    /// Receives the workers' sessions and adds them in order.
    fn merge_in_order<E, F>(
        &mut self,
        sessions: usize,
        rx: &mpsc::Receiver<Outcome<E>>,
        base: &Mutex<(u64, Arc<Chain>)>,
        read: &F,
    ) -> Result<(), SessionsError<E>>
    where
        F: Fn(usize, &mut SessionLearner) -> Result<(), E>,
    {
        let mut pending: BTreeMap<usize, (u64, Result<LearnedSession, SessionsError<E>>)> =
            BTreeMap::new();
        let mut expected = 0;
        while expected < sessions {
            let Some((version, outcome)) = pending.remove(&expected) else {
                match rx.recv() {
                    Ok((index, version, outcome)) => {
                        pending.insert(index, (version, outcome));
                        continue;
                    }
                    // Workers stop early only after a failed session, which they send
                    // first; so only a panicked worker gets here.
                    Err(mpsc::RecvError) => {
                        return Err(SessionsError::WorkerLost { index: expected })
                    }
                }
            };
            let session = outcome?;
            if version == self.base_chain().1 {
                self.add_learned(session)?;
            } else {
                // Learned from a base chain a definitions-only session has replaced.
                self.learn_here(expected, read)?;
            }
            let (chain, version) = self.base_chain();
            let mut b = base.lock().unwrap_or_else(PoisonError::into_inner);
            if b.0 != version {
                *b = (version, Arc::new(chain.clone()));
            }
            expected += 1;
        }
        Ok(())
    }

    /// Learns session `index` on this thread from the current base chain and adds it.
    fn learn_here<E, F>(&mut self, index: usize, read: &F) -> Result<(), SessionsError<E>>
    where
        F: Fn(usize, &mut SessionLearner) -> Result<(), E>,
    {
        let session = learn(self.feed_params(), self.base_chain().0.clone(), index, read)?;
        self.add_learned(session)?;
        Ok(())
    }

    fn add_learned(&mut self, session: LearnedSession) -> Result<(), Error> {
        let r = self.absorb_iter(session.observations);
        self.end_session_stats(session.stats, session.adapter, session.definitions_only);
        r
    }
}

/// Learns session `index` on a fresh pipeline starting from `chain`.
fn learn<E, F>(
    (window_ns, bucket_minutes, strike_step): (u64, u16, Option<i64>),
    chain: Chain,
    index: usize,
    read: &F,
) -> Result<LearnedSession, SessionsError<E>>
where
    F: Fn(usize, &mut SessionLearner) -> Result<(), E>,
{
    let feed = PressureFeed::with_chain(window_ns, bucket_minutes, strike_step, chain)?;
    let mut learner = SessionLearner::new(feed);
    read(index, &mut learner).map_err(|source| SessionsError::Source { index, source })?;
    Ok(learner.finish())
}

//! Live bytes into `ifd_budget` (feature `ifd-budget`, on with `live`).

use dbn::RecordRef;

use super::{LiveEvent, LiveHandler};

/// Wraps a [`LiveHandler`] and records the bytes received from the gateway in an
/// `ifd_budget::Budget`, one `record_live_bytes` call per batch of `batch_bytes` and at
/// every session change, labelled `live-<session id>`.
///
/// The latest [`LiveDirective`](ifd_budget::LiveDirective) is kept for the caller, who
/// applies it (narrowing the subscription means a new [`LiveConfig`](super::LiveConfig));
/// budget errors are kept in [`errors`](Self::errors), never dropped.
#[derive(Debug)]
pub struct BudgetedHandler<'a, H> {
    inner: H,
    budget: &'a mut ifd_budget::Budget,
    batch_bytes: u64,
    pending: u64,
    session: String,
    directive: Option<ifd_budget::LiveDirective>,
    errors: Vec<ifd_budget::Error>,
    clock: fn() -> u64,
}

impl<'a, H: LiveHandler> BudgetedHandler<'a, H> {
    /// Records into `budget` every `batch_bytes` bytes, timestamped with the wall clock.
    pub fn new(inner: H, budget: &'a mut ifd_budget::Budget, batch_bytes: u64) -> Self {
        Self::with_clock(inner, budget, batch_bytes, super::unix_now_ns)
    }

    /// Like [`new`](Self::new) with `clock` (unix ns) as the time of each record.
    pub fn with_clock(
        inner: H,
        budget: &'a mut ifd_budget::Budget,
        batch_bytes: u64,
        clock: fn() -> u64,
    ) -> Self {
        Self {
            inner,
            budget,
            batch_bytes: batch_bytes.max(1),
            pending: 0,
            session: "live".to_owned(),
            directive: None,
            errors: Vec::new(),
            clock,
        }
    }

    /// Records the bytes not yet recorded.
    pub fn flush(&mut self) {
        if self.pending == 0 {
            return;
        }
        let bytes = std::mem::take(&mut self.pending);
        let r = ifd_budget::utc_from_ns((self.clock)())
            .and_then(|now| self.budget.record_live_bytes(&self.session, bytes, now));
        match r {
            Ok(d) => self.directive = Some(d),
            Err(e) => self.errors.push(e),
        }
    }

    /// The latest directive of the budget, if any batch was recorded.
    #[must_use]
    pub fn directive(&self) -> Option<&ifd_budget::LiveDirective> {
        self.directive.as_ref()
    }

    /// Budget errors so far.
    #[must_use]
    pub fn errors(&self) -> &[ifd_budget::Error] {
        &self.errors
    }

    /// The wrapped handler.
    #[must_use]
    pub fn inner(&self) -> &H {
        &self.inner
    }

    /// The wrapped handler, mutably.
    pub fn inner_mut(&mut self) -> &mut H {
        &mut self.inner
    }
}

impl<H> Drop for BudgetedHandler<'_, H> {
    /// Records what is still pending: bytes received are always charged.
    fn drop(&mut self) {
        if self.pending > 0 {
            let bytes = std::mem::take(&mut self.pending);
            if let Ok(now) = ifd_budget::utc_from_ns((self.clock)()) {
                let _ = self.budget.record_live_bytes(&self.session, bytes, now);
            }
        }
    }
}

impl<H: LiveHandler> LiveHandler for BudgetedHandler<'_, H> {
    fn on_record(&mut self, rec: RecordRef<'_>) {
        self.inner.on_record(rec);
    }

    fn on_control(&mut self, rec: RecordRef<'_>) {
        self.inner.on_control(rec);
    }

    fn on_event(&mut self, event: &LiveEvent) {
        match event {
            LiveEvent::Connected { session_id, .. } => {
                self.flush();
                self.session = format!("live-{session_id}");
            }
            LiveEvent::Disconnected { .. } => self.flush(),
            _ => {}
        }
        self.inner.on_event(event);
    }

    fn on_bytes(&mut self, bytes: u64) {
        self.pending = self.pending.saturating_add(bytes);
        if self.pending >= self.batch_bytes {
            self.flush();
        }
        self.inner.on_bytes(bytes);
    }
}

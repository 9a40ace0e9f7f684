//! The hooks in which the model families differ (step length, input frames, outputs, loading,
//! one member-step), and the context of a running forecast (progress, cancellation).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde_json::Value;

use crate::data::Dataset;
use crate::forecast::Field;
use crate::Result;

use super::model::Model;
use super::request::{Progress, Request};
use super::sink::ForecastSink;

/// A progress callback.
pub(crate) type ProgressFn<'a> = Box<dyn FnMut(&Progress) + Send + 'a>;

/// What a run reports to and is stopped by.
pub(crate) struct RunContext<'a> {
    /// The caller's progress callback.
    pub(crate) progress: Option<ProgressFn<'a>>,
    /// The caller's cancellation flag.
    pub(crate) cancel: Option<Arc<AtomicBool>>,
}

impl RunContext<'_> {
    /// Sends an event to the progress callback.
    pub(crate) fn report(&mut self, event: Progress) {
        if let Some(f) = self.progress.as_mut() {
            f(&event);
        }
    }

    /// Forwards the sink's messages.
    pub(crate) fn forward_notes(&mut self, sink: &mut dyn ForecastSink) {
        for n in sink.notes() {
            self.report(Progress::Info(n));
        }
    }

    /// Fails with [`crate::Error::Cancelled`] once the cancellation flag is set.
    pub(crate) fn check_cancel(&self) -> Result<()> {
        crate::models::gencast::rollout::check_cancel(self.cancel.as_deref())
    }
}

/// A model family: what differs between GenCast and GraphCast around one run loop.
pub(crate) trait Family {
    /// Hours per model step.
    fn step_hours(&self) -> u64;

    /// Input frames one step reads (the init time and those before it).
    fn input_frames(&self) -> Result<usize>;

    /// Refuses the request's options this family cannot honour (before anything is read),
    /// and reports those it ignores.
    fn check_request(&self, req: &Request<'_>, ctx: &mut RunContext<'_>) -> Result<()>;

    /// Reads the first step's inputs and readies the network for the dataset's grid.
    fn start<'r>(
        &'r self,
        req: &'r Request<'_>,
        model: &'r Model,
        ds: &'r Dataset,
        first_frame: usize,
        ctx: &mut RunContext<'_>,
    ) -> Result<Started<'r>>;
}

/// An output variable of a family's prediction.
pub(crate) struct Output {
    /// The variable's name.
    pub(crate) name: String,
    /// Whether it has pressure levels.
    pub(crate) levelled: bool,
}

/// A run's started state: what the family predicts and how it is rolled out.
pub(crate) struct Started<'r> {
    /// The predicted variables, in the order of a step's fields.
    pub(crate) outputs: Vec<Output>,
    /// The pressure levels of the levelled outputs.
    pub(crate) levels: Vec<i32>,
    /// The initialisation time (the newest input frame), ns since the epoch.
    pub(crate) init_ns: i64,
    /// The output's `history` attribute.
    pub(crate) history: String,
    /// The family's settings stored with the output (a resume must repeat them).
    pub(crate) settings: Value,
    /// The rollout's state.
    pub(crate) state: Box<dyn RunState + 'r>,
}

/// What a rollout holds for the whole run (shared by its members).
pub(crate) trait RunState {
    /// The rollout over the members.
    fn rollout(&self) -> Result<Box<dyn Rollout + '_>>;
}

/// The rollout of a run's members.
pub(crate) trait Rollout {
    /// Member `index` of the run (0 .. members), at its first step.
    fn member(&self, index: usize) -> Result<Box<dyn MemberRollout + '_>>;
}

/// One member's rollout, step after step.
pub(crate) trait MemberRollout {
    /// Predicts step `step` (0-based) from the current inputs: the fields in output order and
    /// the denoiser calls made (0 for a deterministic model).
    fn predict(&mut self, step: usize, ctx: &mut RunContext<'_>) -> Result<(Vec<Field>, usize)>;

    /// Feeds step `step`'s fields back as the newest input frame (nothing after the last).
    fn advance(&mut self, step: usize, fields: &[Field]) -> Result<()>;
}

//! The direct call: a message placed in the lane by `Host::ask` while its component was
//! idle, run on the caller's
//! task when the future is first polled (see [`crate::actor::lane`]), and
//! [`RunToEnd`], which keeps a started message going without its caller.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::actor::lane::{Lane, Work};
use crate::engine::executor::{ComponentInstance, Reply};
use crate::error::Error;

/// A message's run, which never depends on its caller to make progress.
///
/// It is polled on the caller's task as long as it completes without waiting (a short
/// call: no task switch at all). The first time it has to wait (a contended lane, a guest
/// that yields at its fuel interval or blocks in a host call), it moves to a task of its own
/// and the caller waits for that task. So a caller that stops polling (a `select!` or
/// `timeout` on `&mut` future kept for later) never holds the component, the call's own
/// deadline keeps running, and a caller that drops the future does not tear the
/// component's state. Outputs `None` only if its task was cancelled (the runtime shut
/// down); a panic inside resumes on the caller.
pub(crate) struct RunToEnd<T: Send + 'static> {
    stage: Stage<T>,
}

type Call<T> = Pin<Box<dyn Future<Output = T> + Send>>;

enum Stage<T> {
    Inline(Call<T>),
    Spawned(JoinHandle<T>),
    Finished,
}

impl<T: Send + 'static> RunToEnd<T> {
    pub(crate) fn new(call: impl Future<Output = T> + Send + 'static) -> RunToEnd<T> {
        RunToEnd {
            stage: Stage::Inline(Box::pin(call)),
        }
    }
}

impl<T: Send + 'static> Future for RunToEnd<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        // Taken out while polled: a panic drops it instead of leaving it to be run again.
        match std::mem::replace(&mut this.stage, Stage::Finished) {
            Stage::Inline(mut call) => {
                if let Poll::Ready(output) = call.as_mut().poll(cx) {
                    return Poll::Ready(Some(output));
                }
                this.stage = match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => Stage::Spawned(runtime.spawn(call)),
                    // Outside a runtime it stays with its caller.
                    Err(_) => Stage::Inline(call),
                };
                if let Stage::Inline(_) = this.stage {
                    return Poll::Pending;
                }
            }
            stage => this.stage = stage,
        }
        let Stage::Spawned(task) = &mut this.stage else {
            // Finished: nothing left to run; a future polled again may pend.
            return Poll::Pending;
        };
        let joined = std::task::ready!(Pin::new(task).poll(cx));
        this.stage = Stage::Finished;
        match joined {
            Ok(output) => Poll::Ready(Some(output)),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => Poll::Ready(None),
        }
    }
}

impl<T: Send + 'static> Drop for RunToEnd<T> {
    fn drop(&mut self) {
        // A call not finished yet is finished on a task of its own (a spawned one already
        // is: dropping its handle detaches it). Outside a runtime, a call dropped midway
        // leaves its instance marked crashed, which the actor replaces before its next
        // message.
        if let Stage::Inline(call) = std::mem::replace(&mut self.stage, Stage::Finished)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(call);
        }
    }
}

/// The future of a waiting direct call.
///
/// The message has its place from the moment `ask` was called: if the actor needs the
/// component before this future is polled (a message sent later is ready, or the
/// incarnation is being stopped), the actor runs it first and the outcome waits here.
/// Dropped, before or during its run, the message is still run to the end on a task of
/// its own and its reply discarded, as a queued message whose asker went away is still
/// handled.
pub(crate) struct DirectCall {
    state: State,
    /// The component's name, for the error if the runtime shuts down midway.
    name: Arc<str>,
}

enum State {
    InLane(Arc<Mutex<Lane>>),
    Running(RunToEnd<Result<Reply, Error>>),
    Taken,
}

impl DirectCall {
    pub(crate) fn new(lane: Arc<Mutex<Lane>>, name: Arc<str>) -> DirectCall {
        DirectCall {
            state: State::InLane(lane),
            name,
        }
    }
}

impl Future for DirectCall {
    type Output = Result<Reply, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let State::InLane(_) = self.state
            && let State::InLane(lane) = std::mem::replace(&mut self.state, State::Taken)
        {
            self.state = State::Running(RunToEnd::new(run(lane)));
        }
        let State::Running(call) = &mut self.state else {
            return Poll::Pending;
        };
        let outcome = std::task::ready!(Pin::new(call).poll(cx));
        self.state = State::Taken;
        Poll::Ready(outcome.unwrap_or_else(|| {
            Err(Error::Stopped {
                component: self.name.to_string(),
                reason: "the runtime shut down while its message ran".into(),
            })
        }))
    }
}

impl Drop for DirectCall {
    fn drop(&mut self) {
        // Never polled: the message still runs (a running one finishes by `RunToEnd`).
        // Outside a runtime it stays in the lane, and the actor runs it before its next
        // message.
        if let State::InLane(lane) = std::mem::replace(&mut self.state, State::Taken) {
            drop(RunToEnd::new(run(lane)));
        }
    }
}

/// Runs the lane's waiting direct call on the caller's task, or collects the outcome the
/// actor left there. A crash is recorded in the lane and signalled to the incarnation,
/// whose supervisor restarts the component.
async fn run(lane: Arc<Mutex<Lane>>) -> Result<Reply, Error> {
    // Uncontended, the lock is taken without an await: a tokio lock acquisition spends
    // the task's coop budget, and a task that runs out yields (a task switch and a
    // worker wake-up every 128 calls, which a raw wasmtime call never pays).
    let mut guard = match lane.try_lock() {
        Ok(guard) => guard,
        Err(_) => lane.lock().await,
    };
    let lane = &mut *guard;
    if let Some(Work::Done(_)) = &lane.direct
        && let Some(Work::Done(outcome)) = lane.direct.take()
    {
        return outcome;
    }
    // Run in place: a call dropped midway (outside a runtime) leaves the instance marked
    // crashed; the actor then answers the message `stopped` and replaces the instance.
    let Some(outcome) = lane.run_direct().await else {
        return Err(lane.stopped("its waiting direct call was lost"));
    };
    lane.direct = None;
    if lane
        .instance
        .as_ref()
        .is_some_and(ComponentInstance::has_crashed)
    {
        lane.instance = None;
        if let Err(error) = &outcome
            && error.kind().is_crash()
        {
            tracing::warn!(component = %lane.name, %error, "component crashed; restarting it");
            lane.exit.exit(error.to_string());
            lane.crashed = Some(error.clone());
        }
    }
    outcome
}

//! A message reserved by `Host::ask` while its component was idle, run on the caller's
//! task when the future is first polled (see [`crate::instance_slot`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Mutex;

use crate::error::Error;
use crate::executor::Reply;
use crate::instance_slot::{Lane, Work};

type Call = Pin<Box<dyn Future<Output = Result<Reply, Error>> + Send>>;

/// The future of a reserved message.
///
/// The message has its place from the moment `ask` was called: if the actor needs the
/// component before this future is polled (a message sent later is ready), the actor runs
/// it first and the outcome waits here. Dropped, before or during its run, the message is
/// still run to the end on a task of its own and its reply discarded, as a queued message
/// whose asker went away is still handled: the component's state is never torn.
pub(crate) struct ClaimedCall {
    state: State,
}

enum State {
    Reserved(Arc<Mutex<Lane>>),
    Running(Call),
    Done,
}

impl ClaimedCall {
    pub(crate) fn new(lane: Arc<Mutex<Lane>>) -> ClaimedCall {
        ClaimedCall {
            state: State::Reserved(lane),
        }
    }
}

impl Future for ClaimedCall {
    type Output = Result<Reply, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let State::Reserved(_) = self.state
            && let State::Reserved(lane) = std::mem::replace(&mut self.state, State::Done)
        {
            self.state = State::Running(Box::pin(run(lane)));
        }
        // After completion there is nothing left to run; a future polled again may pend.
        let State::Running(call) = &mut self.state else {
            return Poll::Pending;
        };
        let output = std::task::ready!(call.as_mut().poll(cx));
        self.state = State::Done;
        Poll::Ready(output)
    }
}

impl Drop for ClaimedCall {
    fn drop(&mut self) {
        let call = match std::mem::replace(&mut self.state, State::Done) {
            State::Reserved(lane) => Box::pin(run(lane)),
            State::Running(call) => call,
            State::Done => return,
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = call.await;
            });
        }
        // Outside a runtime: a message not yet run stays reserved (the actor runs it before
        // its next message); one dropped midway loses the instance, which the actor
        // replaces before its next message.
    }
}

/// Runs the lane's reserved message on the caller's task, or collects the outcome the
/// actor left there. A crash is recorded in the lane and signalled to the incarnation,
/// whose supervisor restarts the component.
async fn run(lane: Arc<Mutex<Lane>>) -> Result<Reply, Error> {
    let mut guard = lane.lock_owned().await;
    let lane = &mut *guard;
    let stopped = |lane: &Lane, reason: &str| Error::Stopped {
        component: lane.name.to_string(),
        reason: reason.into(),
    };
    let Some(work) = lane.reserved.take() else {
        return Err(stopped(lane, "its reserved message was lost"));
    };
    let message = match work {
        Work::Done(outcome) => return outcome,
        Work::Waiting(message) => message,
    };
    let instance = if lane.stop.is_raised() {
        None
    } else {
        lane.instance.take_if(|instance| !instance.has_crashed())
    };
    let Some(mut instance) = instance else {
        return Err(stopped(lane, "it was stopped before this message ran"));
    };
    let outcome = instance.call_until(&message, Some(&lane.stop)).await;
    if !instance.has_crashed() {
        lane.instance = Some(instance);
    } else if let Err(error) = &outcome
        && error.kind().is_crash()
    {
        tracing::warn!(component = %lane.name, %error, "component crashed; restarting it");
        lane.exit.exit(error.to_string());
        lane.crashed = Some(error.clone());
    }
    outcome
}

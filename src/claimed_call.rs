//! A message reserved by `Host::ask` while its component was idle, run on the caller's
//! task when the future is first polled (see [`crate::instance_slot`]), and
//! [`RunToEnd`], which lets a started message finish when whoever ran it goes away.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Mutex;

use crate::error::Error;
use crate::executor::Reply;
use crate::instance_slot::{Lane, Work};

/// A boxed future that, dropped before it completes, is finished on a task of its own
/// (when dropped inside a tokio runtime): once a message has started, it runs to its
/// end, so the component's state is never torn by a caller or hook that was cancelled.
pub(crate) struct RunToEnd<T: Send + 'static> {
    call: Option<Pin<Box<dyn Future<Output = T> + Send>>>,
}

impl<T: Send + 'static> RunToEnd<T> {
    pub(crate) fn new(call: impl Future<Output = T> + Send + 'static) -> RunToEnd<T> {
        RunToEnd {
            call: Some(Box::pin(call)),
        }
    }
}

impl<T: Send + 'static> Future for RunToEnd<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        // After completion there is nothing left to run; a future polled again may pend.
        let Some(call) = this.call.as_mut() else {
            return Poll::Pending;
        };
        let output = std::task::ready!(call.as_mut().poll(cx));
        this.call = None;
        Poll::Ready(output)
    }
}

impl<T: Send + 'static> Drop for RunToEnd<T> {
    fn drop(&mut self) {
        if let Some(call) = self.call.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = call.await;
            });
        }
        // Outside a runtime: a message dropped midway loses the instance, which the actor
        // replaces before its next message.
    }
}

/// The future of a reserved message.
///
/// The message has its place from the moment `ask` was called: if the actor needs the
/// component before this future is polled (a message sent later is ready, or the
/// incarnation is being stopped), the actor runs it first and the outcome waits here.
/// Dropped, before or during its run, the message is still run to the end on a task of
/// its own and its reply discarded, as a queued message whose asker went away is still
/// handled.
pub(crate) struct ClaimedCall {
    state: State,
}

enum State {
    Reserved(Arc<Mutex<Lane>>),
    Running(RunToEnd<Result<Reply, Error>>),
    Taken,
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
            && let State::Reserved(lane) = std::mem::replace(&mut self.state, State::Taken)
        {
            self.state = State::Running(RunToEnd::new(run(lane)));
        }
        match &mut self.state {
            State::Running(call) => Pin::new(call).poll(cx),
            State::Reserved(_) | State::Taken => Poll::Pending,
        }
    }
}

impl Drop for ClaimedCall {
    fn drop(&mut self) {
        // Never polled: the message still runs (a running one finishes by `RunToEnd`).
        // Outside a runtime it stays reserved, and the actor runs it before its next
        // message.
        if let State::Reserved(lane) = std::mem::replace(&mut self.state, State::Taken) {
            drop(RunToEnd::new(run(lane)));
        }
    }
}

/// Runs the lane's reserved message on the caller's task, or collects the outcome the
/// actor left there. A crash is recorded in the lane and signalled to the incarnation,
/// whose supervisor restarts the component.
async fn run(lane: Arc<Mutex<Lane>>) -> Result<Reply, Error> {
    let mut guard = lane.lock_owned().await;
    let lane = &mut *guard;
    let Some(work) = lane.reserved.take() else {
        return Err(lane.stopped("its reserved message was lost"));
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
        return Err(lane.stopped("it was stopped before this message ran"));
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

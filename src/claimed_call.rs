//! A message run on its caller's task: the way `Host::ask` takes when the component is
//! idle (see [`crate::instance_slot`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::Message;
use crate::error::Error;
use crate::executor::{ComponentInstance, Reply};
use crate::instance_slot::LaneGuard;

type Call = Pin<Box<dyn Future<Output = Result<Reply, Error>> + Send>>;

/// The future of a claimed message: it holds the lane from the moment `ask` was called.
///
/// Dropped before its first poll, it puts the instance back and releases the lane:
/// nothing ran. Dropped midway, the call is finished on a task of its own (its reply
/// discarded), as a queued message whose asker went away is still handled: the
/// component's state is never torn.
pub(crate) struct ClaimedCall {
    state: State,
}

enum State {
    Claimed {
        lane: LaneGuard,
        instance: ComponentInstance,
        message: Message,
    },
    Running(Call),
    Done,
}

impl ClaimedCall {
    pub(crate) fn new(
        lane: LaneGuard,
        instance: ComponentInstance,
        message: Message,
    ) -> ClaimedCall {
        ClaimedCall {
            state: State::Claimed {
                lane,
                instance,
                message,
            },
        }
    }
}

impl Future for ClaimedCall {
    type Output = Result<Reply, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let State::Claimed { .. } = self.state
            && let State::Claimed {
                lane,
                instance,
                message,
            } = std::mem::replace(&mut self.state, State::Done)
        {
            self.state = State::Running(Box::pin(run(lane, instance, message)));
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
        match std::mem::replace(&mut self.state, State::Done) {
            State::Claimed {
                mut lane, instance, ..
            } => lane.instance = Some(instance),
            State::Running(call) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        let _ = call.await;
                    });
                }
                // Outside a runtime the call is dropped midway: the instance is lost and
                // the actor replaces it before its next message.
            }
            State::Done => {}
        }
    }
}

/// Runs `message` on the claimed instance and puts it back in the lane. A crash is
/// recorded in the lane instead and signalled to the incarnation, whose supervisor
/// restarts the component.
async fn run(
    mut lane: LaneGuard,
    mut instance: ComponentInstance,
    message: Message,
) -> Result<Reply, Error> {
    if lane.stop.is_raised() {
        return Err(Error::Stopped {
            component: instance.component().name().to_string(),
            reason: "it was stopped before this message ran".into(),
        });
    }
    let outcome = instance.call_until(&message, Some(&lane.stop)).await;
    if !instance.has_crashed() {
        lane.instance = Some(instance);
    } else if let Err(error) = &outcome
        && error.kind().is_crash()
    {
        tracing::warn!(component = %instance.component().name(), %error, "component crashed; restarting it");
        lane.exit.exit(error.to_string());
        lane.crashed = Some(error.clone());
    }
    outcome
}

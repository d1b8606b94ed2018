//! Exit signals, `before_message` and `is_idle`: what an actor whose state is also used
//! outside its task (as the component host does) relies on.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_wasm_actors::prelude::*;
use airssys_wasm_actors::{ActorRef, ExitHandle};
use airssys_wasm_test_support::{poll_once, until_mailbox_len, within};
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
#[error("refused")]
struct Refused;

/// Adds numbers; hands out an exit handle per incarnation; may refuse its next message.
#[derive(Default)]
struct Keeper {
    value: u64,
    refuse_next: Arc<AtomicBool>,
    exit: Arc<Mutex<Option<ExitHandle>>>,
}

enum Msg {
    Add(u64),
    Restarts,
    Wait(Arc<Notify>),
}

impl Actor for Keeper {
    type Message = Msg;
    type Reply = u64;
    type Error = Refused;

    async fn pre_start(&mut self, ctx: &mut ActorContext<Self>) -> Result<(), Refused> {
        *self.exit.lock().unwrap() = Some(ctx.exit_handle());
        Ok(())
    }

    async fn before_message(&mut self, _ctx: &mut ActorContext<Self>) -> Result<(), Refused> {
        if self.refuse_next.swap(false, Ordering::SeqCst) {
            return Err(Refused);
        }
        Ok(())
    }

    async fn handle_message(
        &mut self,
        msg: Msg,
        ctx: &mut ActorContext<Self>,
    ) -> Result<u64, Refused> {
        Ok(match msg {
            Msg::Add(n) => {
                self.value += n;
                self.value
            }
            Msg::Restarts => u64::from(ctx.restart_count()),
            Msg::Wait(gate) => {
                gate.notified().await;
                self.value
            }
        })
    }
}

struct Setup {
    system: ActorSystem,
    actor: ActorRef<Keeper>,
    refuse_next: Arc<AtomicBool>,
    exit: Arc<Mutex<Option<ExitHandle>>>,
}

async fn setup() -> Setup {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(SupervisorConfig::default())
        .await
        .unwrap();
    let refuse_next = Arc::new(AtomicBool::new(false));
    let exit = Arc::new(Mutex::new(None));
    let (r, e) = (refuse_next.clone(), exit.clone());
    let actor = root
        .add_child(ChildSpec::new("keeper", move || Keeper {
            value: 0,
            refuse_next: r.clone(),
            exit: e.clone(),
        }))
        .await
        .unwrap();
    Setup {
        system,
        actor,
        refuse_next,
        exit,
    }
}

async fn ask(actor: &ActorRef<Keeper>, msg: Msg) -> u64 {
    tokio::time::timeout(Duration::from_secs(5), actor.ask(msg))
        .await
        .expect("answered in time")
        .expect("answered ok")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_signal_crashes_its_incarnation_only() {
    let s = setup().await;
    assert_eq!(ask(&s.actor, Msg::Add(5)).await, 5);
    let first = s.exit.lock().unwrap().clone().unwrap();
    assert!(first.exit("told to exit"));
    // The signal is taken before the next queued message: that one meets a fresh state.
    assert_eq!(ask(&s.actor, Msg::Restarts).await, 1);
    assert_eq!(ask(&s.actor, Msg::Add(1)).await, 1, "fresh state");
    // A handle of an ended incarnation crashes nothing.
    assert!(first.exit("too late"));
    assert_eq!(ask(&s.actor, Msg::Add(1)).await, 2, "state kept");
    assert_eq!(ask(&s.actor, Msg::Restarts).await, 1);
    s.system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_by_before_message_goes_to_the_next_incarnation() {
    let s = setup().await;
    assert_eq!(ask(&s.actor, Msg::Add(3)).await, 3);
    s.refuse_next.store(true, Ordering::SeqCst);
    let refused = s.actor.try_ask(Msg::Add(7)).unwrap();
    let behind = s.actor.try_ask(Msg::Add(1)).unwrap();
    assert_eq!(
        refused.await.unwrap(),
        7,
        "handled by the fresh incarnation"
    );
    assert_eq!(behind.await.unwrap(), 8, "then the rest, in order");
    assert_eq!(ask(&s.actor, Msg::Restarts).await, 1);
    s.system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_idle_until_every_sent_message_is_finished() {
    let s = setup().await;
    assert!(s.actor.is_idle());
    let gate = Arc::new(Notify::new());
    s.actor.tell(Msg::Wait(gate.clone())).await.unwrap();
    let queued = s.actor.try_ask(Msg::Add(2)).unwrap();
    assert!(!s.actor.is_idle(), "one running, one queued");
    gate.notify_one();
    assert_eq!(queued.await.unwrap(), 2);
    assert!(s.actor.is_idle(), "finished before the reply was sent");
    // A refused message stays counted until the next incarnation has handled it.
    s.refuse_next.store(true, Ordering::SeqCst);
    assert_eq!(ask(&s.actor, Msg::Add(1)).await, 1);
    assert!(s.actor.is_idle());
    s.system.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_answered_stopped_count_as_finished() {
    // Top level, so that the first poll of `shutdown` sends the stop to this actor.
    let system = ActorSystem::new(SystemConfig::default());
    let actor = system
        .spawn()
        .name("keeper")
        .spawn(Keeper::default())
        .await
        .unwrap();
    let gate = Arc::new(Notify::new());
    actor.tell(Msg::Wait(gate.clone())).await.unwrap();
    let queued: Vec<_> = (0..10)
        .map(|_| actor.try_ask(Msg::Add(1)).unwrap())
        .collect();
    assert!(!actor.is_idle());
    until_mailbox_len(&actor, 10).await;
    let mut shutdown = std::pin::pin!(system.shutdown());
    assert!(poll_once(shutdown.as_mut()).await.is_pending());
    // The stop has overtaken the queue; the running message may finish.
    gate.notify_one();
    within(shutdown).await.unwrap();
    for ask in queued {
        assert!(matches!(ask.await, Err(AskError::Stopped { .. })));
    }
    assert!(actor.is_idle(), "nothing left pending after the drain");
}

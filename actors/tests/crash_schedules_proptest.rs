//! Property: under any schedule of crashes, panics, resumes and normal stops, every
//! ask gets exactly one reply, and the replies match a model of the actor.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::time::Duration;

use airssys_wasm_actors::prelude::*;
use airssys_wasm_test_support::{Cmd, Log, WorkerError, quiet_panics, worker};
use proptest::prelude::{Just, ProptestConfig, any, prop_assert_eq, prop_oneof, proptest};
use proptest::strategy::Strategy as _;

#[derive(Debug, Clone, Copy)]
enum Step {
    Add(u64),
    Crash,
    Panic,
    Resume,
    Stop,
    Escalate,
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    prop_oneof![
        6 => (1_u64..5).prop_map(Step::Add),
        2 => Just(Step::Crash),
        1 => Just(Step::Panic),
        1 => Just(Step::Resume),
        1 => Just(Step::Stop),
        1 => Just(Step::Escalate),
    ]
}

fn command(step: Step) -> Cmd {
    match step {
        Step::Add(n) => Cmd::Add(n),
        Step::Crash => Cmd::Fail(ErrorAction::Restart),
        Step::Panic => Cmd::Panic,
        Step::Resume => Cmd::Fail(ErrorAction::Resume),
        Step::Stop => Cmd::StopSelf,
        Step::Escalate => Cmd::Fail(ErrorAction::Escalate),
    }
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Value(u64),
    Failed,
    Panicked,
    Stopped,
}

fn outcome(reply: Result<u64, AskError<WorkerError>>) -> Outcome {
    match reply {
        Ok(value) => Outcome::Value(value),
        Err(AskError::Failed { .. }) => Outcome::Failed,
        Err(AskError::Panicked { .. }) => Outcome::Panicked,
        Err(AskError::Stopped { .. }) => Outcome::Stopped,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

/// The expected replies: state resets on every crash or stop (Permanent child, mailbox
/// kept); an escalation makes the top-level supervisor give up, so all later asks
/// are answered `Stopped`.
fn model(steps: &[Step]) -> Vec<Outcome> {
    let mut state = 0;
    let mut dead = false;
    steps
        .iter()
        .map(|step| {
            if dead {
                return Outcome::Stopped;
            }
            match *step {
                Step::Add(n) => {
                    state += n;
                    Outcome::Value(state)
                }
                Step::Crash => {
                    state = 0;
                    Outcome::Failed
                }
                Step::Panic => {
                    state = 0;
                    Outcome::Panicked
                }
                Step::Resume => Outcome::Failed,
                Step::Stop => {
                    let value = state;
                    state = 0;
                    Outcome::Value(value)
                }
                Step::Escalate => {
                    dead = true;
                    Outcome::Failed
                }
            }
        })
        .collect()
}

async fn run(steps: Vec<Step>, strategy: Strategy, sibling_crashes: Vec<usize>) -> Vec<Outcome> {
    let system = ActorSystem::new(SystemConfig::default());
    let root = system
        .spawn_supervisor(
            SupervisorConfig::new(strategy).restart_limit(1_000, Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let log = Log::default();
    // A sibling that crashes now and then: under OneForAll it restarts our actor
    // too, which must not lose or reorder anything queued for it.
    let sibling = root.add_child(worker("sibling", &log)).await.unwrap();
    let actor = root
        .add_child(worker("actor", &log).mailbox_capacity(256))
        .await
        .unwrap();
    let mut asks = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if sibling_crashes.contains(&i) {
            let _ = sibling.try_tell(Cmd::Fail(ErrorAction::Restart));
        }
        asks.push(actor.try_ask(command(*step)));
    }
    let mut outcomes = Vec::new();
    for ask in asks {
        // Refused at the call: the actor had stopped for good (its supervisor gave up).
        let ask = match ask {
            Ok(ask) => ask,
            Err(SendError::Stopped { .. }) => {
                outcomes.push(Outcome::Stopped);
                continue;
            }
            Err(other) => panic!("unexpected {other:?}"),
        };
        let reply = tokio::time::timeout(Duration::from_secs(10), ask)
            .await
            .expect("an ask never hangs");
        outcomes.push(outcome(reply));
    }
    let shutdown = system.shutdown().await;
    assert!(shutdown.is_ok(), "shutdown failed: {shutdown:?}");
    outcomes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_ask_gets_exactly_one_reply(
        steps in proptest::collection::vec(step(), 1..60),
        one_for_all in any::<bool>(),
        sibling_crashes in proptest::collection::vec(0_usize..60, 0..4),
    ) {
        quiet_panics();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let strategy = if one_for_all { Strategy::OneForAll } else { Strategy::OneForOne };
        let expected = model(&steps);
        let outcomes = runtime.block_on(run(steps.clone(), strategy, sibling_crashes.clone()));
        prop_assert_eq!(outcomes.len(), steps.len());
        if one_for_all && !sibling_crashes.is_empty() {
            // A sibling's crash may reset our state at any point: check the kinds of
            // replies and that values only grow between resets.
            for (got, want) in outcomes.iter().zip(&expected) {
                match (got, want) {
                    (Outcome::Value(_), Outcome::Value(_)) => {}
                    (got, want) => prop_assert_eq!(got, want),
                }
            }
        } else {
            prop_assert_eq!(outcomes, expected);
        }
    }
}

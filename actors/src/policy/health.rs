//! Health checks: periodic [`Actor::health_check`](crate::Actor::health_check) calls.
//!
//! The check runs in the actor's own task between messages. `failure_threshold`
//! consecutive failures (an `Unhealthy` answer or no answer within `check_timeout`)
//! are a crash of the actor, which its supervisor then handles like any crash.

use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};

use crate::error::ActorError;

/// The answer of [`Actor::health_check`](crate::Actor::health_check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthStatus {
    /// All is well.
    Healthy,
    /// Working but impaired; counts as healthy (logged).
    Degraded(String),
    /// Not working; counts as a failed check.
    Unhealthy(String),
}

impl HealthStatus {
    /// `true` unless the status is [`HealthStatus::Unhealthy`].
    pub fn is_healthy(&self) -> bool {
        !matches!(self, Self::Unhealthy(_))
    }
}

/// When and how strictly to check an actor's health.
///
/// Defaults: every 30 s, 5 s to answer, unhealthy after 3 consecutive failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// Time between checks (the first check comes one interval after start).
    pub check_interval: Duration,
    /// How long a check may take; a slower check counts as a failure.
    pub check_timeout: Duration,
    /// Consecutive failures that make the actor unhealthy (0 is read as 1).
    pub failure_threshold: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            check_interval: Duration::from_secs(30),
            check_timeout: Duration::from_secs(5),
            failure_threshold: 3,
        }
    }
}

impl HealthConfig {
    pub(crate) fn validate(&self) -> Result<(), ActorError> {
        if self.check_interval.is_zero() {
            return Err(ActorError::InvalidConfig {
                reason: "health check_interval must be greater than zero".to_owned(),
            });
        }
        Ok(())
    }
}

/// The running state of health checks for one incarnation (internal).
pub(crate) struct HealthProbe {
    config: HealthConfig,
    interval: Interval,
    consecutive_failures: u32,
}

impl HealthProbe {
    pub(crate) fn new(config: HealthConfig) -> Self {
        let start = tokio::time::Instant::now() + config.check_interval;
        let mut interval = tokio::time::interval_at(start, config.check_interval);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            config,
            interval,
            consecutive_failures: 0,
        }
    }

    /// Waits for the next check; never completes when there is no probe.
    pub(crate) async fn tick(probe: &mut Option<Self>) {
        match probe {
            Some(probe) => {
                probe.interval.tick().await;
            }
            None => std::future::pending().await,
        }
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.config.check_timeout
    }

    /// Records one check result (`None` = timed out). Returns the reason once the
    /// failure threshold is reached.
    pub(crate) fn record(&mut self, status: Option<HealthStatus>) -> Option<String> {
        let failure = match status {
            Some(HealthStatus::Healthy) => None,
            Some(HealthStatus::Degraded(reason)) => {
                tracing::warn!(%reason, "health check: degraded");
                None
            }
            Some(HealthStatus::Unhealthy(reason)) => Some(reason),
            None => Some(format!(
                "health check timed out after {:?}",
                self.config.check_timeout
            )),
        };
        let Some(reason) = failure else {
            self.consecutive_failures = 0;
            return None;
        };
        self.consecutive_failures += 1;
        tracing::warn!(%reason, failures = self.consecutive_failures, "health check failed");
        (self.consecutive_failures >= self.config.failure_threshold.max(1)).then(|| {
            format!(
                "unhealthy after {} consecutive failed health checks (last: {reason})",
                self.consecutive_failures
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(threshold: u32) -> HealthProbe {
        HealthProbe::new(HealthConfig {
            failure_threshold: threshold,
            ..HealthConfig::default()
        })
    }

    #[tokio::test]
    async fn only_consecutive_failures_count() {
        let mut p = probe(2);
        assert_eq!(p.record(Some(HealthStatus::Unhealthy("a".into()))), None);
        assert_eq!(p.record(Some(HealthStatus::Healthy)), None);
        assert_eq!(p.record(None), None);
        let verdict = p.record(Some(HealthStatus::Unhealthy("b".into())));
        assert!(verdict.is_some_and(|r| r.contains("2 consecutive") && r.contains('b')));
    }

    #[tokio::test]
    async fn degraded_is_healthy_and_zero_threshold_is_one() {
        let mut p = probe(0);
        assert_eq!(p.record(Some(HealthStatus::Degraded("slow".into()))), None);
        assert!(p.record(None).is_some());
    }

    #[test]
    fn zero_interval_is_rejected() {
        let config = HealthConfig {
            check_interval: Duration::ZERO,
            ..HealthConfig::default()
        };
        assert!(config.validate().is_err());
    }
}

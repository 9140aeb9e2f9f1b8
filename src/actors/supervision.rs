//! One supervision mechanism for every AlphaHive actor.
//!
//! actix's `Supervisor` restarts an actor that *stops*, but a panic in a handler just closes
//! the mailbox. Here every actor runs on its own arbiter, created by a factory, and a keeper
//! task watches its address: when the address disconnects without a shutdown (a panic), the
//! keeper records `ACTOR_RESTART`, recreates the actor from the factory (its `started` reloads
//! state from the store) and publishes the new address to every [`Handle`]. More than
//! `max_restarts` within `window` escalates: the runtime halts trading and exits non-zero.
//!
//! Messages go through [`Handle::send`], wrapped in an [`Envelope`] that carries the enqueue
//! time, so every actor's mailbox figures are measured the same way.

use super::metrics::ActorStats;
use crate::store::models::{insert_safety_event, NewSafetyEvent};
use crate::store::Store;
use actix::dev::ToEnvelope;
use actix::prelude::*;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// A message with its enqueue time.
pub struct Envelope<M> {
    /// The message.
    pub msg: M,
    /// When it was sent.
    pub enqueued: Instant,
}

impl<M: Message> Message for Envelope<M> {
    type Result = M::Result;
}

/// An actor that reports mailbox figures.
pub trait Supervised: Actor<Context = Context<Self>> {
    /// The actor's figures.
    fn stats(&self) -> &Arc<ActorStats>;
}

/// Implements `Handler<Envelope<M>>` for an actor by delegating to `Handler<M>` with timing.
#[macro_export]
macro_rules! enveloped {
    ($actor:ty: $($msg:ty),+ $(,)?) => {
        $(
            impl actix::Handler<$crate::actors::supervision::Envelope<$msg>> for $actor {
                type Result = <$actor as actix::Handler<$msg>>::Result;
                fn handle(
                    &mut self,
                    env: $crate::actors::supervision::Envelope<$msg>,
                    ctx: &mut Self::Context,
                ) -> Self::Result {
                    let stats = std::sync::Arc::clone($crate::actors::supervision::Supervised::stats(self));
                    let started = stats.begin(env.enqueued);
                    let out = <$actor as actix::Handler<$msg>>::handle(self, env.msg, ctx);
                    stats.end(started);
                    out
                }
            }
        )+
    };
}

/// The fault hooks for tests (only with the `test-faults` feature).
#[cfg(feature = "test-faults")]
pub use crate::actors::test_faults::{InjectPanic, InjectWedge};

/// Liveness probe: the actor answers from its own mailbox.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Ping;

/// Errors sending to a supervised actor.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The actor died while handling this message (it is being restarted).
    #[error("actor {0} died handling the message; it is being restarted")]
    Died(&'static str),
    /// The actor did not come back in time.
    #[error("actor {0} is unavailable")]
    Unavailable(&'static str),
}

/// A stable address of a supervised actor that follows its restarts.
pub struct Handle<A: Actor> {
    addr: watch::Receiver<Addr<A>>,
    stats: Arc<ActorStats>,
}

impl<A: Actor> Clone for Handle<A> {
    fn clone(&self) -> Self {
        Handle {
            addr: self.addr.clone(),
            stats: Arc::clone(&self.stats),
        }
    }
}

impl<A: Actor> Handle<A> {
    /// The actor's figures.
    pub fn stats(&self) -> &Arc<ActorStats> {
        &self.stats
    }

    /// The current address; waits (up to 5 s) for a restart if the actor is down.
    async fn current(&self) -> Result<Addr<A>, SendError> {
        let mut rx = self.addr.clone();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let addr = rx.borrow_and_update().clone();
            if addr.connected() {
                return Ok(addr);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(SendError::Unavailable(self.stats.name));
            }
            // Wake on a new address, or poll again shortly.
            let _ = tokio::time::timeout(left.min(Duration::from_millis(20)), rx.changed()).await;
        }
    }

    /// Sends a message and awaits the answer. A message whose handler panicked is not resent.
    pub async fn send<M>(&self, msg: M) -> Result<M::Result, SendError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<Envelope<M>>,
        A::Context: ToEnvelope<A, Envelope<M>>,
    {
        let addr = self.current().await?;
        self.stats.enqueued();
        match addr
            .send(Envelope {
                msg,
                enqueued: Instant::now(),
            })
            .await
        {
            Ok(r) => Ok(r),
            Err(_) => Err(SendError::Died(self.stats.name)),
        }
    }
}

/// Restart policy from `[supervision]`.
#[derive(Debug, Clone, Copy)]
pub struct RestartPolicy {
    /// Restarts allowed within `window`.
    pub max_restarts: u32,
    /// The window.
    pub window: Duration,
}

/// What supervision needs from the runtime.
#[derive(Clone)]
pub struct SupervisionContext {
    /// Where `ACTOR_RESTART` is recorded.
    pub store: Store,
    /// The policy.
    pub policy: RestartPolicy,
    /// Set when the runtime shuts down: a disconnect is then expected, not a crash.
    pub shutting_down: Arc<AtomicBool>,
    /// Receives an escalation (actor name and detail) when the policy is exhausted.
    pub escalate: mpsc::UnboundedSender<String>,
}

/// Starts `A` from `factory` on its own arbiter and keeps it alive across panics.
pub fn supervise<A, F>(name: &'static str, factory: F, ctx: SupervisionContext) -> Handle<A>
where
    A: Supervised,
    F: Fn(Arc<ActorStats>) -> A + Send + Sync + 'static,
{
    let stats = ActorStats::new(name);
    let factory = Arc::new(factory);
    let arbiter = Arbiter::new();
    let start = {
        let factory = Arc::clone(&factory);
        let stats = Arc::clone(&stats);
        let handle = arbiter.handle();
        move || {
            let factory = Arc::clone(&factory);
            let stats = Arc::clone(&stats);
            A::start_in_arbiter(&handle, move |_| factory(stats))
        }
    };
    let (tx, rx) = watch::channel(start());
    let keeper_stats = Arc::clone(&stats);
    actix_rt::spawn(async move {
        let mut restarts: VecDeque<Instant> = VecDeque::new();
        let _arbiter = arbiter;
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if ctx.shutting_down.load(Ordering::SeqCst) {
                break;
            }
            if tx.borrow().connected() {
                continue;
            }
            if ctx.shutting_down.load(Ordering::SeqCst) {
                break;
            }
            let now = Instant::now();
            restarts.push_back(now);
            while restarts
                .front()
                .is_some_and(|t| now.duration_since(*t) > ctx.policy.window)
            {
                restarts.pop_front();
            }
            let count = restarts.len() as u32;
            if count > ctx.policy.max_restarts {
                let detail = format!(
                    "actor={name} restarts={count} window_s={:.1} max_restarts={}",
                    ctx.policy.window.as_secs_f64(),
                    ctx.policy.max_restarts
                );
                tracing::error!(target: "alphahive::supervision", %detail, "restart policy exhausted; escalating");
                let _ = ctx.escalate.send(detail);
                break;
            }
            keeper_stats.restarted();
            let detail = format!(
                "actor={name} restart={} in_window={count}",
                keeper_stats.restarts()
            );
            tracing::warn!(target: "alphahive::supervision", %detail, "actor died; restarting from its factory");
            let ev = NewSafetyEvent::new("ACTOR_RESTART", "warning", Some(name), detail);
            if let Err(e) = ctx.store.call(move |c| insert_safety_event(c, &ev)).await {
                tracing::error!(target: "alphahive::supervision", error = %e, "cannot record ACTOR_RESTART");
            }
            let _ = tx.send(start());
        }
    });
    Handle { addr: rx, stats }
}

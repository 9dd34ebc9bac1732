//! How a waiting caller's send is answered: straight from the ledger into actix's reply
//! channel of the caller's `send(..).await`.
//!
//! A handler that returned a future made actix spawn a task per send to poll it, and the future
//! waited on a channel of its own that the ledger answered: a boxed future, a second channel
//! and a task, for every sync send (profiled at a tenth of a sync send's instructions). Here the
//! handler returns a [`SendReply`] that shares one slot with the ledger's entry: actix hands the
//! slot the caller's channel right after the handler returns, and the ledger's answer goes into
//! that channel when the send ends, or waits in the slot if it ended first.

use std::cell::RefCell;
use std::rc::Rc;

use actix::dev::{MessageResponse, OneshotSender};
use actix::prelude::*;

use super::actor::Producer;
use super::ledger::{Completion, Outcome};
use super::messages::SendFailure;
use super::record::SendResult;
use crate::error::{Delivery, SendError};
use tokio::sync::oneshot;

/// How a send's reply becomes the caller's result: `expect_reply` for sends that must have one.
pub(crate) type Finish<T> = fn(Option<SendResult>) -> Result<T, SendError>;

/// What the send handlers (`SendMessage`, `SendBatch`, `SendOneway`, `TrySendMessage`) return to
/// actix. Callers never hold one: `addr.send(msg).await` gives the send's result.
pub struct SendReply<T, R>(Reply<T, R>);

enum Reply<T, R> {
    /// Answered by the ledger through the shared slot.
    Direct(Rc<Slot<T, R>>),
    /// Answered by a future (sends gathered into an auto-batch).
    Later(ResponseFuture<Result<T, SendFailure<R>>>),
}

impl<T, R> SendReply<T, R> {
    /// A reply answered later by `future`.
    pub(crate) fn later(future: ResponseFuture<Result<T, SendFailure<R>>>) -> Self {
        SendReply(Reply::Later(future))
    }
}

/// How a submitted send's caller is answered (`Producer::submit`): through a [`SendReply`]
/// (a handler's own caller), or a future (the transaction and request-reply flows, which await
/// the send inside their own future).
pub(crate) trait Answering<T, R>: Sized {
    /// The answer of a send refused before the ledger took it.
    fn refused(failure: SendFailure<R>) -> Self;
    /// The answer of an accepted send, and the ledger's side of it. `returned` (the message or
    /// batch) comes back inside a failure.
    fn pending(returned: R, finish: Finish<T>) -> (Self, Completion);
}

impl<T: 'static, R: 'static> Answering<T, R> for SendReply<T, R> {
    fn refused(failure: SendFailure<R>) -> Self {
        SendReply(Reply::Direct(Rc::new(Slot(RefCell::new(State::Ended(Err(failure)))))))
    }

    fn pending(returned: R, finish: Finish<T>) -> (Self, Completion) {
        let slot = Rc::new(Slot(RefCell::new(State::Running { returned, finish, caller: None })));
        (SendReply(Reply::Direct(slot.clone())), Completion::Answer(slot))
    }
}

impl<T: 'static, R: 'static> Answering<T, R> for ResponseFuture<Result<T, SendFailure<R>>> {
    fn refused(failure: SendFailure<R>) -> Self {
        Box::pin(async move { Err(failure) })
    }

    fn pending(returned: R, finish: Finish<T>) -> (Self, Completion) {
        let (tx, rx) = oneshot::channel();
        let answer = Box::pin(async move {
            // (the ledger answers every send, even when the actor goes; a lost channel says so)
            let outcome = rx.await.unwrap_or(Err(SendError::Stopped { delivery: Delivery::Unknown }));
            outcome.and_then(finish).map_err(|error| SendFailure { error, returned })
        });
        (answer, Completion::Reply(tx))
    }
}

/// The ledger's side of a [`SendReply`]: answers the caller once the send has ended.
pub(crate) trait Deliver {
    fn deliver(&self, outcome: Outcome);
}

struct Slot<T, R>(RefCell<State<T, R>>);

/// The caller's reply channel, as actix hands it over.
type Caller<T, R> = OneshotSender<Result<T, SendFailure<R>>>;

enum State<T, R> {
    /// The send runs. `caller`: the caller's channel once actix has handed it over (`Some(None)`
    /// when nobody waits: a `do_send`).
    Running { returned: R, finish: Finish<T>, caller: Option<Option<Caller<T, R>>> },
    /// It ended before the caller's channel was handed over.
    Ended(Result<T, SendFailure<R>>),
    /// Answered.
    Done,
}

impl<T, R> Deliver for Slot<T, R> {
    fn deliver(&self, outcome: Outcome) {
        let mut state = self.0.borrow_mut();
        let State::Running { returned, finish, caller } = std::mem::replace(&mut *state, State::Done) else {
            return;
        };
        let result = outcome.and_then(finish).map_err(|error| SendFailure { error, returned });
        match caller {
            Some(Some(tx)) => {
                let _ = tx.send(result);
            }
            Some(None) => {}
            None => *state = State::Ended(result),
        }
    }
}

impl<T, R> Slot<T, R> {
    /// Actix hands over the caller's channel (none for `do_send`).
    fn attach(&self, tx: Option<Caller<T, R>>) {
        let mut state = self.0.borrow_mut();
        match &mut *state {
            State::Running { caller, .. } => *caller = Some(tx),
            State::Ended(_) => {
                if let (State::Ended(result), Some(tx)) = (std::mem::replace(&mut *state, State::Done), tx) {
                    let _ = tx.send(result);
                }
            }
            State::Done => {}
        }
    }
}

impl<M, T: 'static, R: 'static> MessageResponse<Producer, M> for SendReply<T, R>
where
    M: Message<Result = Result<T, SendFailure<R>>>,
{
    fn handle(self, ctx: &mut Context<Producer>, tx: Option<OneshotSender<M::Result>>) {
        match self.0 {
            Reply::Direct(slot) => slot.attach(tx),
            Reply::Later(future) => MessageResponse::<Producer, M>::handle(future, ctx, tx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::send::expect_reply;

    fn new_slot() -> (Rc<Slot<SendResult, &'static str>>, Rc<dyn Deliver>) {
        let slot = Rc::new(Slot(RefCell::new(State::Running { returned: "m", finish: expect_reply, caller: None })));
        (slot.clone(), slot)
    }

    fn stopped() -> SendError {
        SendError::Stopped { delivery: Delivery::NotSent }
    }

    #[test]
    fn the_answer_reaches_the_caller_whichever_comes_first() {
        // The channel first, then the end.
        let (slot, ledger) = new_slot();
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        slot.attach(Some(tx));
        assert!(rx.try_recv().is_err(), "nothing before the send ends");
        ledger.deliver(Err(stopped()));
        let failure = rx.try_recv().unwrap().unwrap_err();
        assert_eq!((failure.error, failure.returned), (stopped(), "m"));
        // The end first (a send refused while the handler ran), then the channel.
        let (slot, ledger) = new_slot();
        ledger.deliver(Err(stopped()));
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        slot.attach(Some(tx));
        assert_eq!(rx.try_recv().unwrap().unwrap_err().returned, "m");
    }

    #[test]
    fn a_send_is_answered_once_and_a_do_send_not_at_all() {
        let (slot, ledger) = new_slot();
        slot.attach(None);
        ledger.deliver(Err(stopped()));
        assert!(matches!(*slot.0.borrow(), State::Done));
        let (slot, ledger) = new_slot();
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        slot.attach(Some(tx));
        ledger.deliver(Ok(None));
        ledger.deliver(Err(stopped()));
        let failure = rx.try_recv().unwrap().unwrap_err();
        assert!(matches!(failure.error, SendError::BadReply(_)), "the first outcome is the one told: {:?}", failure.error);
    }
}

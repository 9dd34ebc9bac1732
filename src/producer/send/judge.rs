//! Pure decisions of the send machine: what a reply means, and what follows a failed attempt.
//! No actor, no clock of its own: the tests drive every transition directly.

use std::time::Duration;

use super::Tries;
use crate::error::{Delivery, RemotingError, SendError};
use crate::name::default_region;
use crate::namespace::unwrap;
use crate::protocol::acl::AuthRefusal;
use crate::protocol::codes::{response, response_name};
use crate::protocol::header::SendMessageResponseHeader;
use crate::protocol::route::MessageQueue;
use crate::protocol::RemotingCommand;
use crate::producer::record::{SendResult, SendStatus};

/// What one attempt came to.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Stored; the send ends with this result.
    Stored(SendResult),
    /// Stored, but not flushed or replicated as asked, and the producer is told to try another
    /// broker (`retry_another_broker_when_not_store_ok`). Java returns it if no retry does better.
    StoredNotOk(SendResult),
    /// The broker is closing this connection: reconnect and resend once (Java 5.3).
    GoAway(SendError),
    /// The broker refused with a code; not stored.
    Refused { error: SendError, retryable: bool },
    /// The transport failed; the error's `delivery` says whether the request had been written.
    Lost(SendError),
}

/// The rules a verdict is judged by (from the producer's config).
pub(crate) struct Rules<'a> {
    pub retry_codes: &'a [i32],
    pub retry_another_broker_when_not_store_ok: bool,
    pub namespace: Option<&'a str>,
}

/// Maps one reply (or transport failure, with whether the request had been written) to a verdict.
///
/// A result's `msg_id` is left empty: the caller gives it the send's id, moving it out of a send
/// this reply ends instead of copying it (a batch's ids are a kilobyte; `Producer::on_reply`).
pub(crate) fn judge(
    rules: &Rules<'_>,
    mq: &MessageQueue,
    attempts: u32,
    reply: Result<RemotingCommand, (RemotingError, Delivery)>,
) -> Verdict {
    let reply = match reply {
        Ok(r) => r,
        Err((source, delivery)) => return Verdict::Lost(SendError::Remoting { attempts, source, delivery }),
    };
    let broker_error = |code: i32, remark: String| SendError::Broker {
        broker: mq.broker_name.to_string(),
        code,
        name: response_name(code),
        remark,
    };
    let status = match reply.code {
        response::SUCCESS => SendStatus::SendOk,
        response::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
        response::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
        response::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
        response::GO_AWAY => return Verdict::GoAway(broker_error(response::GO_AWAY, reply.remark.unwrap_or_default())),
        response::NO_PERMISSION => {
            let remark = reply.remark.unwrap_or_default();
            // Credentials refused: another broker or another try asks the same question of the
            // same users and policies. Other code-16 answers (a topic not writable) keep the
            // Java rule.
            if let Some(refusal) = AuthRefusal::from_remark(&remark) {
                let error = SendError::Auth { broker: mq.broker_name.to_string(), refusal, remark };
                return Verdict::Refused { error, retryable: false };
            }
            let retryable = rules.retry_codes.contains(&response::NO_PERMISSION);
            return Verdict::Refused { error: broker_error(response::NO_PERMISSION, remark), retryable };
        }
        code => {
            let error = broker_error(code, reply.remark.unwrap_or_default());
            return Verdict::Refused { error, retryable: rules.retry_codes.contains(&code) };
        }
    };
    let header = match SendMessageResponseHeader::from_ext(reply.ext_fields) {
        Ok(h) => h,
        Err(e) => return Verdict::Lost(SendError::BadReply(e)),
    };
    let result = SendResult {
        status,
        msg_id: String::new(),
        offset_msg_id: header.msg_id,
        message_queue: MessageQueue {
            // Without a namespace the queue's topic is the user's: shared, not copied.
            topic: match rules.namespace {
                Some(ns) if !ns.is_empty() => unwrap(Some(ns), &mq.topic).into(),
                _ => mq.topic.clone(),
            },
            broker_name: mq.broker_name.clone(),
            queue_id: header.queue_id,
        },
        queue_offset: header.queue_offset,
        transaction_id: header.transaction_id,
        region_id: header.region_id.filter(|r| !r.is_empty()).unwrap_or_else(default_region),
        trace_on: header.trace_on,
    };
    if status != SendStatus::SendOk && rules.retry_another_broker_when_not_store_ok {
        return Verdict::StoredNotOk(result);
    }
    Verdict::Stored(result)
}

/// What follows a failed attempt.
#[derive(Debug, PartialEq)]
pub(crate) enum Next {
    /// Another attempt, avoiding the broker that just failed.
    Retry,
    /// The send ends with this outcome.
    End(Result<SendResult, SendError>),
}

impl Tries {
    /// Records a failed attempt and decides whether to try again: while attempts and budget
    /// last and the failure is worth retrying. `left` is what remains of the send's budget.
    pub(crate) fn after_failure(&mut self, error: SendError, retryable: bool, max_attempts: u32, left: Duration, budget: Duration) -> Next {
        if error.may_have_been_stored() {
            self.unconfirmed = Some(Box::new(error.clone()));
        }
        let again = retryable && self.attempts < max_attempts && !left.is_zero();
        if again {
            self.last_error = Some(Box::new(error));
            return Next::Retry;
        }
        Next::End(self.settle(error, budget))
    }

    /// Keeps a stored-but-not-OK result and decides whether another broker may do better:
    /// while attempts and budget last; otherwise the send ends with that result (as in Java).
    pub(crate) fn after_not_ok(&mut self, result: SendResult, max_attempts: u32, left: Duration) -> Next {
        self.not_ok = Some(Box::new(result.clone()));
        if self.attempts < max_attempts && !left.is_zero() {
            Next::Retry
        } else {
            Next::End(Ok(result))
        }
    }

    /// The outcome of a send whose budget ran out before its next step.
    pub(crate) fn out_of_time(&self, budget: Duration) -> Result<SendResult, SendError> {
        let timeout = SendError::Timeout { budget, attempts: self.attempts, delivery: self.delivery() };
        match &self.last_error {
            // The last real failure says more than "no time left", unless it was a timeout.
            Some(e) if !is_timeout(e) => self.settle((**e).clone(), budget),
            _ => self.settle(timeout, budget),
        }
    }

    /// Whether any attempt of this send may have been stored.
    pub(crate) fn delivery(&self) -> Delivery {
        if self.unconfirmed.is_some() {
            Delivery::Unknown
        } else {
            Delivery::NotSent
        }
    }

    /// The final outcome after `error`: a stored-but-not-OK result beats any error (Java returns
    /// it); an error that may have been stored is never hidden by a later "not sent" one; a
    /// transport timeout is reported as the send's timeout.
    pub(crate) fn settle(&self, error: SendError, budget: Duration) -> Result<SendResult, SendError> {
        if let Some(result) = &self.not_ok {
            return Ok((**result).clone());
        }
        let error = match (&self.unconfirmed, error.may_have_been_stored()) {
            (Some(unconfirmed), false) => (**unconfirmed).clone(),
            _ => error,
        };
        Err(match error {
            SendError::Remoting { source: RemotingError::Timeout { .. }, delivery, .. } => {
                SendError::Timeout { budget, attempts: self.attempts, delivery }
            }
            SendError::Remoting { source, delivery, .. } => SendError::Remoting { attempts: self.attempts, source, delivery },
            SendError::Timeout { delivery, .. } => SendError::Timeout { budget, attempts: self.attempts, delivery },
            other => other,
        })
    }
}

fn is_timeout(e: &SendError) -> bool {
    matches!(e, SendError::Timeout { .. } | SendError::Remoting { source: RemotingError::Timeout { .. }, .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ServiceState;

    const SECOND: Duration = Duration::from_secs(1);

    fn mq() -> MessageQueue {
        MessageQueue { topic: "ns%t".into(), broker_name: "a".into(), queue_id: 1 }
    }

    fn rules(retry_not_ok: bool) -> Rules<'static> {
        Rules { retry_codes: &[response::SYSTEM_BUSY], retry_another_broker_when_not_store_ok: retry_not_ok, namespace: Some("ns") }
    }

    fn stored(code: i32) -> RemotingCommand {
        let mut reply = RemotingCommand::response(code, 0, None);
        for (k, v) in [("msgId", "7F0000010000"), ("queueId", "3"), ("queueOffset", "9")] {
            reply.ext_fields.insert(k, v);
        }
        reply
    }

    fn lost(delivery: Delivery) -> SendError {
        let source = RemotingError::ConnectionClosed { addr: "x".into() };
        SendError::Remoting { attempts: 1, source, delivery }
    }

    #[test]
    fn success_is_stored_with_the_bare_topic() {
        let Verdict::Stored(r) = judge(&rules(false), &mq(), 1, Ok(stored(response::SUCCESS))) else { panic!() };
        // (the id is the send's, given by the caller)
        assert_eq!((r.msg_id.as_str(), r.message_queue.topic.as_str(), r.queue_offset), ("", "t", 9));
    }

    #[test]
    fn codes_are_refusals_retryable_by_the_rules() {
        let busy = judge(&rules(false), &mq(), 1, Ok(RemotingCommand::response(response::SYSTEM_BUSY, 0, None)));
        assert!(matches!(busy, Verdict::Refused { retryable: true, .. }));
        let illegal = judge(&rules(false), &mq(), 1, Ok(RemotingCommand::response(response::MESSAGE_ILLEGAL, 0, None)));
        assert!(matches!(illegal, Verdict::Refused { retryable: false, .. }));
        let go_away = judge(&rules(false), &mq(), 1, Ok(RemotingCommand::response(response::GO_AWAY, 0, None)));
        assert!(matches!(go_away, Verdict::GoAway(_)));
    }

    #[test]
    fn credential_refusals_are_typed_and_final_other_code_16s_follow_the_rules() {
        let refused = |remark: &str| {
            let reply = RemotingCommand::response(response::NO_PERMISSION, 0, Some(remark.to_string()));
            judge(&Rules { retry_codes: &[response::NO_PERMISSION], ..rules(false) }, &mq(), 1, Ok(reply))
        };
        let Verdict::Refused { error, retryable: false } = refused("check signature failed.") else { panic!() };
        assert!(matches!(&error, SendError::Auth { refusal: AuthRefusal::BadSignature, .. }), "{error:?}");
        assert!(error.is_config() && !error.is_retryable());
        let Verdict::Refused { error, retryable: false } = refused("User:bob is not found.") else { panic!() };
        assert!(matches!(error, SendError::Auth { refusal: AuthRefusal::UnknownUser { .. }, .. }));
        // A topic that is not writable is not about credentials: Java's retry list applies.
        let Verdict::Refused { error, retryable: true } = refused("the topic[t] sending message is forbidden") else { panic!() };
        assert!(matches!(error, SendError::Broker { code: response::NO_PERMISSION, .. }));
    }

    #[test]
    fn not_store_ok_is_a_result_unless_told_to_retry() {
        let flush = || Ok(stored(response::FLUSH_DISK_TIMEOUT));
        assert!(matches!(judge(&rules(false), &mq(), 1, flush()), Verdict::Stored(_)));
        assert!(matches!(judge(&rules(true), &mq(), 1, flush()), Verdict::StoredNotOk(_)));
    }

    #[test]
    fn a_transport_failure_keeps_its_delivery() {
        let v = judge(&rules(false), &mq(), 2, Err((RemotingError::ConnectionClosed { addr: "x".into() }, Delivery::Unknown)));
        let Verdict::Lost(e) = v else { panic!() };
        assert!(e.may_have_been_stored());
    }

    #[test]
    fn retries_while_attempts_and_budget_last() {
        let mut t = Tries { attempts: 1, ..Tries::default() };
        assert_eq!(t.after_failure(lost(Delivery::NotSent), true, 3, SECOND, SECOND), Next::Retry);
        t.attempts = 3;
        assert!(matches!(t.after_failure(lost(Delivery::NotSent), true, 3, SECOND, SECOND), Next::End(Err(_))));
        let mut t = Tries { attempts: 1, ..Tries::default() };
        assert!(matches!(t.after_failure(lost(Delivery::NotSent), true, 3, Duration::ZERO, SECOND), Next::End(Err(_))));
        let mut t = Tries { attempts: 1, ..Tries::default() };
        assert!(matches!(t.after_failure(lost(Delivery::NotSent), false, 3, SECOND, SECOND), Next::End(Err(_))));
    }

    #[test]
    fn a_later_not_sent_error_never_hides_an_unconfirmed_attempt() {
        let mut t = Tries { attempts: 1, ..Tries::default() };
        assert_eq!(t.after_failure(lost(Delivery::Unknown), true, 3, SECOND, SECOND), Next::Retry);
        t.attempts = 2;
        // The retry found the producer stopping: not sent, but the first attempt may be stored.
        let Next::End(Err(e)) = t.after_failure(SendError::NotRunning(ServiceState::ShutdownAlready), false, 3, SECOND, SECOND) else {
            panic!()
        };
        assert!(e.may_have_been_stored(), "{e}");
        assert!(matches!(e, SendError::Remoting { attempts: 2, delivery: Delivery::Unknown, .. }), "{e:?}");
    }

    #[test]
    fn a_reply_timeout_ends_as_a_typed_timeout_that_may_have_been_stored() {
        let mut t = Tries { attempts: 1, ..Tries::default() };
        let e = SendError::Remoting {
            attempts: 1,
            source: RemotingError::Timeout { addr: "x".into(), after: SECOND },
            delivery: Delivery::Unknown,
        };
        let Next::End(Err(e)) = t.after_failure(e, true, 1, SECOND, SECOND) else { panic!() };
        assert_eq!(e, SendError::Timeout { budget: SECOND, attempts: 1, delivery: Delivery::Unknown });
    }

    #[test]
    fn out_of_time_reports_the_last_real_failure_or_a_timeout() {
        let t = Tries { attempts: 0, ..Tries::default() };
        assert_eq!(t.out_of_time(SECOND), Err(SendError::Timeout { budget: SECOND, attempts: 0, delivery: Delivery::NotSent }));
        let busy = SendError::Broker { broker: "a".into(), code: 2, name: "SYSTEM_BUSY", remark: String::new() };
        let t = Tries { attempts: 1, last_error: Some(Box::new(busy.clone())), ..Tries::default() };
        assert_eq!(t.out_of_time(SECOND), Err(busy));
    }

    #[test]
    fn a_stored_not_ok_result_is_retried_elsewhere_then_returned() {
        let Verdict::StoredNotOk(r) = judge(&rules(true), &mq(), 1, Ok(stored(response::FLUSH_DISK_TIMEOUT))) else { panic!() };
        let mut t = Tries { attempts: 1, ..Tries::default() };
        assert_eq!(t.after_not_ok(r.clone(), 3, SECOND), Next::Retry);
        t.attempts = 3;
        assert_eq!(t.after_not_ok(r.clone(), 3, SECOND), Next::End(Ok(r.clone())));
        let mut t = Tries { attempts: 1, ..Tries::default() };
        assert_eq!(t.after_not_ok(r.clone(), 3, Duration::ZERO), Next::End(Ok(r)));
    }

    #[test]
    fn a_stored_not_ok_result_beats_a_later_error() {
        let Verdict::StoredNotOk(r) = judge(&rules(true), &mq(), 1, Ok(stored(response::FLUSH_DISK_TIMEOUT))) else { panic!() };
        let t = Tries { attempts: 2, not_ok: Some(Box::new(r.clone())), ..Tries::default() };
        assert_eq!(t.settle(lost(Delivery::NotSent), SECOND), Ok(r));
    }
}

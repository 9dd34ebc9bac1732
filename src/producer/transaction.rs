//! Transactional sends (Java `TransactionMQProducer`): the half message, the application's
//! local transaction, END_TRANSACTION, and the answers to the brokers' check-backs.
//!
//! The application takes part through actix messages, not a trait object: a local transaction
//! usually writes to a database through the application's own actors and is asynchronous, and
//! a [`Recipient`] lets it run there while the producer goes on with other sends. The producer
//! bounds every question with a timeout, and a question that fails (timeout, an actor that is
//! gone) counts as [`LocalTransactionState::Unknown`]: the broker then asks again, and nothing
//! is ever committed by guess.
//!
//! The flow (Java `DefaultMQProducerImpl#sendMessageInTransaction` / `#endTransaction`):
//! 1. the half message is a sync send with `TRAN_MSG=true`, `PGROUP=<group>` and the
//!    prepared bit in `sysFlag`; the broker keeps it out of its topic;
//! 2. on SEND_OK the executor is asked ([`ExecuteLocalTransaction`]); on a stored-but-not-OK
//!    status (flush or replication timeout) it is not asked and the state is `Rollback`, as in
//!    Java;
//! 3. END_TRANSACTION goes one-way to the master of the broker that stored the half message.
//!
//! A broker that does not hear a decision (Unknown, a lost END_TRANSACTION, a producer that
//! died) sends CHECK_TRANSACTION_STATE to a connection of the group; the client instance routes
//! it to this producer ([`TransactionCheck`]), which asks its checker
//! ([`CheckLocalTransaction`]) and answers on that connection with the check's own offsets.

use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, warn};

use super::actor::Producer;
use super::messages::SendFailure;
use super::queue_select::Target;
use super::record::{ProducerRecord, SendResult, SendStatus};
use super::send::expect_reply;
use crate::client::peer::{LocalTransactionState, TransactionCheck};
use crate::error::{SendError, ValidationError};
use crate::protocol::codes::request;
use crate::protocol::header::EndTransactionRequestHeader;
use crate::protocol::message_id::decode_offset_msg_id;
use crate::protocol::properties::names;
use crate::protocol::stored::StoredMessage;
use crate::protocol::sys_flag::TRANSACTION_PREPARED_TYPE;
use crate::protocol::RemotingCommand;
use crate::remoting::client::GetConnection;
use crate::remoting::connection::Oneway;

/// Asked of the application once the half message is stored: run the local transaction and
/// say how it ended. Answer with a [`LocalTransactionState`]; `Unknown` (or no answer within
/// `ProducerConfig::local_transaction_timeout`) leaves the decision to the broker's check-back.
///
/// ```
/// use actix::prelude::*;
/// use actix_rocketmq::{ExecuteLocalTransaction, LocalTransactionState};
///
/// /// Records orders in the application's store; commits the message only if that worked.
/// struct Orders;
/// impl Actor for Orders { type Context = Context<Self>; }
/// impl Handler<ExecuteLocalTransaction> for Orders {
///     type Result = MessageResult<ExecuteLocalTransaction>;
///     fn handle(&mut self, tx: ExecuteLocalTransaction, _: &mut Context<Self>) -> Self::Result {
///         let stored = !tx.record.body().is_empty(); // the application's own work
///         MessageResult(if stored { LocalTransactionState::Commit } else { LocalTransactionState::Rollback })
///     }
/// }
/// ```
#[derive(Message, Debug, Clone)]
#[rtype(result = "LocalTransactionState")]
pub struct ExecuteLocalTransaction {
    /// The message as the caller gave it.
    pub record: ProducerRecord,
    /// Its message id (UNIQ_KEY), the id a check-back names.
    pub msg_id: String,
    /// The broker's transaction id (the UNIQ_KEY too, on 4.x and 5.x brokers).
    pub transaction_id: String,
    /// The caller's argument ([`SendTransactional::with_arg`]).
    pub arg: Option<String>,
}

/// Asked of the producer's checker when a broker checks back on a transaction it has no
/// decision for. Answer from the application's own records: `Commit` only if the local
/// transaction is known to have committed.
///
/// ```
/// use actix::prelude::*;
/// use actix_rocketmq::{CheckLocalTransaction, LocalTransactionState};
///
/// struct Orders { committed: std::collections::HashSet<String> }
/// impl Actor for Orders { type Context = Context<Self>; }
/// impl Handler<CheckLocalTransaction> for Orders {
///     type Result = MessageResult<CheckLocalTransaction>;
///     fn handle(&mut self, check: CheckLocalTransaction, _: &mut Context<Self>) -> Self::Result {
///         MessageResult(if self.committed.contains(&check.msg_id) {
///             LocalTransactionState::Commit
///         } else {
///             LocalTransactionState::Unknown
///         })
///     }
/// }
/// ```
#[derive(Message, Debug, Clone)]
#[rtype(result = "LocalTransactionState")]
pub struct CheckLocalTransaction {
    /// The message id (UNIQ_KEY) the executor saw.
    pub msg_id: String,
    /// The broker's transaction id, when the check carries one.
    pub transaction_id: Option<String>,
    /// The real topic (namespace included, as the broker holds it).
    pub topic: String,
    /// How many times the broker has asked (`TRANSACTION_CHECK_TIMES`, from 1).
    pub check_times: u32,
    /// The half message as the broker holds it: body, keys, tags and user properties.
    pub message: StoredMessage,
}

/// A transactional send (Java `sendMessageInTransaction`): the half message, then the local
/// transaction through `executor`, then END_TRANSACTION with its state. Resolves once the
/// decision was handed to the broker's connection, with the transaction id, the local state
/// and the half message's send result; or with a typed error and the message back when the
/// half message could not be stored (the executor is not asked then).
///
/// Check-backs reach the checker given with [`Producer::with_transaction_checker`]; without one
/// they are answered `Unknown`.
///
/// ```no_run
/// use actix::prelude::*;
/// use actix_rocketmq::{ExecuteLocalTransaction, LocalTransactionState, Producer, ProducerConfig, ProducerRecord, SendTransactional, Start};
/// # struct Orders;
/// # impl Actor for Orders { type Context = Context<Self>; }
/// # impl Handler<ExecuteLocalTransaction> for Orders {
/// #     type Result = MessageResult<ExecuteLocalTransaction>;
/// #     fn handle(&mut self, _: ExecuteLocalTransaction, _: &mut Context<Self>) -> Self::Result { MessageResult(LocalTransactionState::Commit) }
/// # }
/// # impl Handler<actix_rocketmq::CheckLocalTransaction> for Orders {
/// #     type Result = MessageResult<actix_rocketmq::CheckLocalTransaction>;
/// #     fn handle(&mut self, _: actix_rocketmq::CheckLocalTransaction, _: &mut Context<Self>) -> Self::Result { MessageResult(LocalTransactionState::Commit) }
/// # }
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let orders = Orders.start();
/// let producer = Producer::new(ProducerConfig::new("order_tx", "127.0.0.1:9876"))
///     .with_transaction_checker(orders.clone().recipient())
///     .start();
/// producer.send(Start).await??;
/// let record = ProducerRecord::new("orders", "order 42 paid").with_key("order-42");
/// let result = producer.send(SendTransactional::new(record, orders.recipient())).await??;
/// assert_eq!(result.local_state, LocalTransactionState::Commit);
/// # Ok(()) }
/// ```
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<TransactionSendResult, SendFailure>")]
pub struct SendTransactional {
    /// The message (no delay: a half message cannot be delayed).
    pub record: ProducerRecord,
    /// Runs the local transaction once the half message is stored.
    pub executor: Recipient<ExecuteLocalTransaction>,
    /// Passed to the executor ([`SendTransactional::with_arg`]).
    pub arg: Option<String>,
    /// Budget of the half message's send, retries included (`None`: `send_msg_timeout`).
    pub timeout: Option<Duration>,
}

impl SendTransactional {
    /// A transactional send of `record` whose local transaction `executor` runs.
    pub fn new(record: ProducerRecord, executor: Recipient<ExecuteLocalTransaction>) -> Self {
        SendTransactional { record, executor, arg: None, timeout: None }
    }

    /// A value passed to the executor with the message (Java's `arg`).
    pub fn with_arg(mut self, arg: impl Into<String>) -> Self {
        self.arg = Some(arg.into());
        self
    }

    /// The half message's own send budget.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// What a [`SendTransactional`] came to (Java `TransactionSendResult`).
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionSendResult {
    /// The half message's send result (`msg_id` is the UNIQ_KEY; `offset_msg_id` and
    /// `queue_offset` point at the half message in the broker's half queue).
    pub send: SendResult,
    /// The transaction id: the broker's, or the message id when it gave none.
    pub transaction_id: String,
    /// The executor's answer (`Unknown` if it did not answer in time; `Rollback` without
    /// asking when the half message was stored but not SEND_OK).
    pub local_state: LocalTransactionState,
    /// Whether END_TRANSACTION was handed to the broker's connection. When it was not, the
    /// broker asks the group's checker later.
    pub end_sent: bool,
}

/// Internal: send END_TRANSACTION for a half message this producer stored.
#[derive(Message)]
#[rtype(result = "bool")]
struct EndTransaction {
    send: SendResult,
    state: LocalTransactionState,
    remark: Option<String>,
    /// The message's tag and keys, for the hooks.
    tags: Option<String>,
    keys: Option<String>,
}

impl Producer {
    /// The END_TRANSACTION for a half message this producer stored, and where it goes: the
    /// master of the broker that stored it (from the topic's publish info), else the store
    /// address its offsetMsgId carries. `None` when that id is unreadable (the check-back
    /// decides then).
    fn end_transaction(&self, send: &SendResult, state: LocalTransactionState, remark: Option<String>) -> Option<(String, RemotingCommand)> {
        let id = match decode_offset_msg_id(&send.offset_msg_id) {
            Ok(id) => id,
            Err(e) => {
                warn!(msg_id = %send.msg_id, error = %e, "half message's offsetMsgId unreadable; leaving the decision to the check-back");
                return None;
            }
        };
        let mq = &send.message_queue;
        let wire_topic = crate::namespace::wrap(self.config.namespace.as_deref(), &mq.topic);
        let addr = self
            .routing
            .publish_info(&wire_topic)
            .and_then(|info| info.masters.get(mq.broker_name.as_str()).cloned())
            .unwrap_or_else(|| id.store_host.to_string());
        let header = EndTransactionRequestHeader {
            producer_group: self.wire_group.clone(),
            tran_state_table_offset: send.queue_offset,
            commit_log_offset: id.commit_log_offset,
            commit_or_rollback: state.wire_code(),
            from_transaction_check: false,
            msg_id: send.msg_id.clone(),
            transaction_id: send.transaction_id.clone(),
            topic: Some(wire_topic),
            broker_name: Some(mq.broker_name.to_string()),
        };
        let mut cmd = RemotingCommand::request(request::END_TRANSACTION).with_header(&header);
        cmd.remark = remark;
        Some((addr, cmd))
    }
}

impl Handler<SendTransactional> for Producer {
    type Result = ResponseFuture<Result<TransactionSendResult, SendFailure>>;

    fn handle(&mut self, msg: SendTransactional, ctx: &mut Context<Self>) -> Self::Result {
        let SendTransactional { record, executor, arg, timeout } = msg;
        if record.delay().is_some() {
            // Java drops the delay silently; a transactional message cannot be delayed.
            let error = SendError::Invalid(ValidationError::DelayInTransaction);
            self.ledger.refused(record.topic(), false, &error);
            return Box::pin(async move { Err(SendFailure { error, returned: record }) });
        }
        let group = self.wire_group.clone();
        let plan = self.sync_plan(Target::Auto);
        let half: ResponseFuture<_> = self.submit(
            record.clone(),
            move |enc, r| enc.single_with(r, &[(names::TRAN_MSG, "true"), (names::PGROUP, &group)], TRANSACTION_PREPARED_TYPE),
            plan,
            timeout,
            expect_reply,
            ctx,
        );
        let me = ctx.address();
        let wait = self.config.local_transaction_timeout;
        Box::pin(async move {
            let send = half.await?;
            let transaction_id = send.transaction_id.clone().unwrap_or_else(|| send.msg_id.clone());
            let (tags, keys) = (record.tags().map(str::to_string), Some(record.keys().join(" ")).filter(|k| !k.is_empty()));
            let (state, remark) = if send.status == SendStatus::SendOk {
                let ask = ExecuteLocalTransaction { record, msg_id: send.msg_id.clone(), transaction_id: transaction_id.clone(), arg };
                match tokio::time::timeout(wait, executor.send(ask)).await {
                    Ok(Ok(state)) => (state, None),
                    Ok(Err(e)) => (LocalTransactionState::Unknown, Some(format!("executeLocalTransactionBranch exception: {e}"))),
                    Err(_) => (LocalTransactionState::Unknown, Some(format!("executeLocalTransactionBranch timed out after {wait:?}"))),
                }
            } else {
                (LocalTransactionState::Rollback, None)
            };
            let end_sent = me.send(EndTransaction { send: send.clone(), state, remark, tags, keys }).await.unwrap_or(false);
            Ok(TransactionSendResult { send, transaction_id, local_state: state, end_sent })
        })
    }
}

impl Handler<EndTransaction> for Producer {
    type Result = ResponseFuture<bool>;

    fn handle(&mut self, msg: EndTransaction, _: &mut Context<Self>) -> Self::Result {
        let Some((addr, cmd)) = self.end_transaction(&msg.send, msg.state, msg.remark) else { return Box::pin(async { false }) };
        self.ledger.hooks().end_transaction(&self.config.group, &msg.send, msg.tags.as_deref(), msg.keys.as_deref(), &addr, msg.state);
        let cached = self.links.get(&addr).cloned();
        let remoting = self.remoting();
        Box::pin(async move {
            let conn = match (cached, remoting) {
                (Some(conn), _) => conn,
                (None, Some(remoting)) => match remoting.send(GetConnection(addr.clone())).await {
                    Ok(conn) => conn,
                    Err(_) => return false,
                },
                (None, None) => return false,
            };
            match conn.send(Oneway { cmd }).await {
                Ok(Ok(())) => true,
                Ok(Err(e)) => {
                    debug!(broker = %addr, error = %e, "END_TRANSACTION not written; the broker will check back");
                    false
                }
                Err(_) => false,
            }
        })
    }
}

impl Handler<TransactionCheck> for Producer {
    type Result = ();

    /// Asks the checker (bounded by `transaction_check_timeout`) in a task of its own, then
    /// answers on the connection the check came on. No checker, a checker that is gone or
    /// too slow: `Unknown`.
    fn handle(&mut self, check: TransactionCheck, _: &mut Context<Self>) {
        let group = self.wire_group.clone();
        let Some(checker) = self.checker.clone() else {
            debug!(group = %group, msg_id = %check.msg_id(), "transaction check with no checker set: UNKNOWN");
            return check.reply(&group, LocalTransactionState::Unknown);
        };
        let hooks = self.ledger.hooks().clone();
        let (plain_group, namespace) = (self.config.group.clone(), self.config.namespace.clone());
        let wait = self.config.transaction_check_timeout;
        let ask = CheckLocalTransaction {
            msg_id: check.msg_id(),
            transaction_id: check.header.transaction_id.clone(),
            topic: check.real_topic().to_string(),
            check_times: check.message.property(names::TRANSACTION_CHECK_TIMES).and_then(|t| t.parse().ok()).unwrap_or(1),
            message: check.message.clone(),
        };
        actix_rt::spawn(async move {
            let state = match tokio::time::timeout(wait, checker.send(ask)).await {
                Ok(Ok(state)) => state,
                Ok(Err(e)) => {
                    warn!(group = %group, error = %e, "transaction checker unavailable: UNKNOWN");
                    LocalTransactionState::Unknown
                }
                Err(_) => {
                    warn!(group = %group, after = ?wait, "transaction checker did not answer in time: UNKNOWN");
                    LocalTransactionState::Unknown
                }
            };
            hooks.end_transaction_checked(&plain_group, namespace.as_deref(), &check, state);
            check.reply(&group, state);
        });
    }
}

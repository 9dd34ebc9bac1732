//! One actor per remote address: the socket, the opaque counter and the pending table.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::BytesMut;
use tokio::io::AsyncWrite;
use tokio::sync::oneshot;
use tokio::time::Sleep;
use tokio_util::codec::FramedRead;
use tracing::{debug, warn};

use super::codec::FrameDecoder;
use super::signing::Signer;
use super::transport::{Transport, WriteHalf};
use super::output::{Output, ZERO_COPY_MIN};
use crate::error::RemotingError;
use crate::hash::FastMap;
use crate::protocol::codes::response;
use crate::protocol::frame::{encode_request, encode_request_head};
use crate::protocol::{encode_frame, EncodedRequest, ProtocolError, RemotingCommand, SerializeType};

/// Room for one read from a broker's socket (see where the read stream is set up).
const READ_BUFFER: usize = 64 * 1024;

/// Above this many unwritten bytes, one-way sends wait for the socket (back-pressure: they get
/// no reply that could hold them back otherwise).
const HIGH_WATER: usize = 1024 * 1024;
/// One-way sends waiting for the socket resume once the buffer is below this.
const LOW_WATER: usize = 256 * 1024;
/// A busy connection holds back less than this many unwritten bytes until its thread has run
/// the tasks that are ready (see [`Connection::hold_output`]). 16 KiB (one TLS record) cut a
/// turn's output of 1 KiB messages into writes of about ten; with 64 KiB a turn goes in one
/// write: against the stub, 8 % less CPU for W3's async 1 KiB sends (sys time 0.53 -> 0.39 s).
const HOLD_BYTES: usize = 64 * 1024;

/// What a connection needs to know besides its address.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Serialization of the headers we write.
    pub serialize_type: SerializeType,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Largest inbound frame accepted.
    pub max_frame_len: usize,
    /// Dedicated arbiter threads for connections (0: connections run on the arbiter of the
    /// client instance).
    pub io_threads: usize,
    /// Plain TCP or TLS.
    pub transport: Transport,
    /// Signs every request written (clusters with authentication on).
    pub signer: Option<Arc<Signer>>,
    /// Who serves the requests a peer starts on its own (transaction checks, reply pushes);
    /// `None`: they are refused as Java refuses unknown codes.
    pub peer: Option<Recipient<PeerRequest>>,
}

impl Default for ConnectionSettings {
    /// JSON headers, the Java connect timeout (3 s), the default frame limit, plain TCP, unsigned.
    fn default() -> Self {
        ConnectionSettings {
            serialize_type: SerializeType::Json,
            connect_timeout: Duration::from_secs(3),
            max_frame_len: crate::protocol::DEFAULT_MAX_FRAME_LEN,
            io_threads: 0,
            transport: Transport::plain(),
            signer: None,
            peer: None,
        }
    }
}

/// Told to the owner (the [`RemotingClient`](super::RemotingClient)) when a connection opens
/// and when it ends; the owner passes both on to whoever watches its connections.
#[derive(Message, Debug, Clone, PartialEq)]
#[rtype(result = "()")]
pub enum ConnectionEvent {
    /// The socket is up.
    Opened {
        /// The peer's address.
        addr: String,
        /// The connection's id (a reconnect to the same address gets a new one).
        id: u64,
    },
    /// The connection ended (or never opened).
    Closed {
        /// The peer's address.
        addr: String,
        /// The connection's id.
        id: u64,
        /// What failed its pending requests.
        reason: RemotingError,
    },
}

/// A request that got no answer, and whether it had been written into the connection's output
/// (then the peer may have acted on it: a send may have been stored).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}{}", if *.written { " (after the request was written)" } else { "" })]
pub struct Unanswered {
    /// Why no answer came.
    pub error: RemotingError,
    /// Whether the request had been written (the peer may have acted on it).
    pub written: bool,
}

impl Unanswered {
    fn before_write(error: RemotingError) -> Self {
        Unanswered { error, written: false }
    }
    fn after_write(error: RemotingError) -> Self {
        Unanswered { error, written: true }
    }
}

/// The receiving end of one request: resolves with the peer's reply or a typed error.
pub type ReplySlot = oneshot::Receiver<Result<RemotingCommand, RemotingError>>;

/// Send a request and get a slot for its reply.
///
/// The handler only writes the frame and records the slot: the caller awaits the reply outside
/// the actor, so one connection pipelines any number of requests. Use [`request`] for the whole
/// round trip with its timeout.
#[derive(Message, Debug)]
#[rtype(result = "Result<ReplySlot, RemotingError>")]
pub struct Request {
    /// The request; its opaque is assigned by the connection.
    pub cmd: RemotingCommand,
    /// How long the reply slot is kept before it resolves with a timeout.
    pub timeout: Duration,
}

/// Send a request whose outcome is told to its [`Answer`] by message: the reply, the one-way
/// hand-off, or a typed failure saying whether the request had been written.
///
/// This is the send path's form of [`Request`]: no reply slot, no task awaiting it and no
/// timer of its own. The connection keeps the answer in its pending table and times it out
/// from one deadline-ordered index (one timer for all its requests). Dispatch only to an open
/// connection (see [`WhenOpen`]): while the connection connects, its mailbox waits.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Dispatch {
    /// The request; its opaque is assigned by the connection.
    pub request: Outgoing,
    /// When the caller stops waiting: the request fails with a timeout then.
    pub deadline: Instant,
    /// Reported as the timeout's length.
    pub timeout: Duration,
    /// Written with the one-way flag: the answer is [`Outcome::Queued`] once the frame is in
    /// the output (and the output below its high-water mark).
    pub oneway: bool,
    /// Where the outcome goes.
    pub answer: Answer,
}

/// A request as handed to [`Dispatch`].
#[derive(Debug)]
pub enum Outgoing {
    /// A command (signed by the connection on a cluster with authentication on).
    Command(RemotingCommand),
    /// Header fields already encoded in the connection's serialization: the send path's form.
    /// Such a request cannot be signed, so it is for connections without a signer.
    Encoded(EncodedRequest),
}

/// Which request an [`Answered`] is about (chosen by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The caller's id of the request (the producer's send id).
    pub id: u64,
    /// Which attempt of it (a resend gets a new one, so a late answer to an older attempt is
    /// told apart).
    pub seq: u32,
}

/// How a [`Dispatch`] ended.
#[derive(Debug)]
pub enum Outcome {
    /// The peer's reply.
    Reply(RemotingCommand),
    /// A one-way request went into the output.
    Queued,
    /// No answer, and whether the request had been written.
    Failed(Unanswered),
    /// The connection went away holding the request (its mailbox or pending table dropped);
    /// `written`: it had been written into the output.
    Dropped {
        /// Whether the request had been written.
        written: bool,
    },
}

/// The outcome of a [`Dispatch`], told to its [`Answer`]'s recipient.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Answered {
    /// The caller's token.
    pub token: Token,
    /// How it ended.
    pub outcome: Outcome,
}

/// Several outcomes at once: the replies a connection read in one pass, for one recipient (one
/// message and one mailbox pass for all of them, instead of one per reply).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct AnsweredMany(pub Vec<Answered>);

/// Where a caller hears its [`Dispatch`] outcomes: one at a time ([`Answered`]) or gathered
/// ([`AnsweredMany`]). Shared by the caller's requests in flight.
///
/// ```
/// use actix::prelude::*;
/// use actix_rocketmq::remoting::connection::{AnswerTo, Answered, AnsweredMany};
///
/// struct Caller;
/// impl Actor for Caller {
///     type Context = Context<Self>;
/// }
/// impl Handler<Answered> for Caller {
///     type Result = ();
///     fn handle(&mut self, _: Answered, _: &mut Context<Self>) {}
/// }
/// impl Handler<AnsweredMany> for Caller {
///     type Result = ();
///     fn handle(&mut self, many: AnsweredMany, ctx: &mut Context<Self>) {
///         for one in many.0 {
///             self.handle(one, ctx);
///         }
///     }
/// }
///
/// # actix::System::new().block_on(async {
/// let to = AnswerTo::of(&Caller.start());
/// # });
/// ```
pub struct AnswerTo {
    one: Recipient<Answered>,
    many: Recipient<AnsweredMany>,
}

impl AnswerTo {
    /// The actor at `addr`.
    pub fn of<A>(addr: &Addr<A>) -> Arc<Self>
    where
        A: Actor<Context = Context<A>> + Handler<Answered> + Handler<AnsweredMany>,
    {
        Arc::new(AnswerTo { one: addr.clone().recipient(), many: addr.clone().recipient() })
    }

    /// Tells `answers` (any number) in as few messages as can be.
    fn tell(&self, mut answers: Vec<Answered>) {
        match answers.len() {
            0 => {}
            1 => {
                if let Some(one) = answers.pop() {
                    self.one.do_send(one);
                }
            }
            _ => self.many.do_send(AnsweredMany(answers)),
        }
    }
}

/// Where the outcome of a [`Dispatch`] goes, exactly once: told explicitly, or, if the
/// connection drops it unanswered (a stopped actor's mailbox, a pending table dropped), as
/// [`Outcome::Dropped`] from `Drop`. So no dispatched request is ever left without an answer.
pub struct Answer {
    to: Option<Arc<AnswerTo>>,
    token: Token,
    written: bool,
}

impl Answer {
    /// Answers `token` at `to`.
    pub fn new(to: Arc<AnswerTo>, token: Token) -> Self {
        Answer { to: Some(to), token, written: false }
    }

    fn tell(mut self, outcome: Outcome) {
        if let Some(to) = self.to.take() {
            to.one.do_send(Answered { token: self.token, outcome });
        }
    }

    /// The outcome as a message, and where it goes, for the connection to tell with others;
    /// the answer counts as given.
    fn into_told(mut self, outcome: Outcome) -> Option<(Arc<AnswerTo>, Answered)> {
        let to = self.to.take()?;
        Some((to, Answered { token: self.token, outcome }))
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        if let Some(to) = self.to.take() {
            to.one.do_send(Answered { token: self.token, outcome: Outcome::Dropped { written: self.written } });
        }
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer").field("token", &self.token).field("written", &self.written).finish()
    }
}

/// Resolves once the connection is open (`Ok`), or with the error that ended it. Handled only
/// after the connect attempt is over, since the mailbox waits while connecting.
#[derive(Message, Debug)]
#[rtype(result = "Result<(), RemotingError>")]
pub struct WhenOpen;

/// Send a one-way request: flag bit 1 set, nothing recorded, nothing awaited.
#[derive(Message, Debug)]
#[rtype(result = "Result<(), Unanswered>")]
pub struct Oneway {
    /// The request; the connection sets its one-way flag and opaque.
    pub cmd: RemotingCommand,
}

/// Flag bit 1 of a one-way request (`RemotingCommand::mark_oneway`).
const ONEWAY_FLAG: i32 = 0x2;

/// How many requests await a reply (diagnostics; one-way requests never count).
#[derive(Message, Debug)]
#[rtype(result = "usize")]
pub struct PendingCount;

/// How the connection's output went out so far: frames encoded and `write` calls that took
/// bytes (diagnostics: frames per write shows whether pipelined requests share writes).
#[derive(Message, Debug)]
#[rtype(result = "WriteCounts")]
pub struct GetWriteCounts;

/// The answer to [`GetWriteCounts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteCounts {
    /// Frames encoded into the output.
    pub frames: u64,
    /// Socket writes that took at least one byte.
    pub writes: u64,
}

/// A request the peer started on its own (a broker's CHECK_TRANSACTION_STATE or
/// PUSH_REPLY_MESSAGE_TO_CLIENT), passed to [`ConnectionSettings::peer`]. A two-way one
/// (`!cmd.is_oneway()`) must be answered with [`Respond`] on `conn`, with the same opaque.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct PeerRequest {
    /// The remote address the request came from.
    pub from: String,
    /// The connection it came on (answers and check results go back on it).
    pub conn: Addr<Connection>,
    /// The request itself.
    pub cmd: RemotingCommand,
}

/// The answer to a peer request nobody serves: REQUEST_CODE_NOT_SUPPORTED, as Java answers codes
/// it has no processor for (`NettyRemotingAbstract#processRequestCommand`).
pub fn not_supported(request: &RemotingCommand) -> RemotingCommand {
    let remark = format!(" request type {} not supported", request.code);
    RemotingCommand::response(response::REQUEST_CODE_NOT_SUPPORTED, request.opaque, Some(remark))
}

/// Write `0` as the response to a peer's request: marked as a response, its opaque kept, not
/// signed (brokers do not check responses).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Respond(pub RemotingCommand);

/// Close the socket and fail everything pending.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Close;

/// Sends `cmd` on `conn` and waits for the reply, at most `timeout`.
///
/// Every outcome is a value: the reply, a timeout, or the connection's failure. A connection
/// actor that is already gone reports [`RemotingError::ConnectionClosed`].
pub async fn request(
    conn: &Addr<Connection>,
    addr: &str,
    cmd: RemotingCommand,
    timeout: Duration,
) -> Result<RemotingCommand, RemotingError> {
    exchange(conn, addr, cmd, timeout).await.map_err(|u| u.error)
}

/// Like [`request`], but a failure says whether the request had been written: the mailbox hop
/// timing out or the connection failing after the write leave the outcome unknown.
pub async fn exchange(
    conn: &Addr<Connection>,
    addr: &str,
    cmd: RemotingCommand,
    timeout: Duration,
) -> Result<RemotingCommand, Unanswered> {
    let started = Instant::now();
    let timed_out = || RemotingError::Timeout { addr: addr.to_string(), after: timeout };
    let closed = || RemotingError::ConnectionClosed { addr: addr.to_string() };
    let slot = match tokio::time::timeout(timeout, conn.send(Request { cmd, timeout })).await {
        // Still in the connection's mailbox, so it may yet be written.
        Err(_) => return Err(Unanswered::after_write(timed_out())),
        // The actor stopped before handling it.
        Ok(Err(_mailbox)) => return Err(Unanswered::before_write(closed())),
        Ok(Ok(Err(e))) => return Err(Unanswered::before_write(e)),
        Ok(Ok(Ok(slot))) => slot,
    };
    let left = timeout.saturating_sub(started.elapsed());
    match tokio::time::timeout(left, slot).await {
        Err(_) => Err(Unanswered::after_write(timed_out())),
        Ok(Err(_dropped)) => Err(Unanswered::after_write(closed())),
        Ok(Ok(Err(e))) => Err(unanswered_after_write(e)),
        Ok(Ok(Ok(reply))) => Ok(reply),
    }
}

/// A request awaiting its reply.
struct Pending {
    waiter: Waiter,
    deadline: Instant,
    timeout: Duration,
}

/// Who waits for a reply: a [`Request`]'s slot or a [`Dispatch`]'s answer.
enum Waiter {
    Slot(oneshot::Sender<Result<RemotingCommand, RemotingError>>),
    Tell(Answer),
}

impl Waiter {
    fn fail(self, error: RemotingError) {
        match self {
            Waiter::Slot(tx) => {
                let _ = tx.send(Err(error));
            }
            Waiter::Tell(answer) => answer.tell(Outcome::Failed(unanswered_after_write(error))),
        }
    }
}

/// Who waits for the output to drain: a [`Oneway`] caller or a one-way [`Dispatch`]'s answer.
/// Dropped unnotified (the connection failed), each learns it from its channel or `Answer`.
enum Drained {
    Slot(oneshot::Sender<()>),
    Tell(Answer),
}

impl Drained {
    fn notify(self) {
        match self {
            Drained::Slot(tx) => {
                let _ = tx.send(());
            }
            Drained::Tell(answer) => answer.tell(Outcome::Queued),
        }
    }
}

/// A written request that failed: the peer may have acted on it, unless it never accepted the
/// session (a TLS handshake it refused, seen after the write with TLS 1.3): then it processed
/// nothing sent on it.
fn unanswered_after_write(error: RemotingError) -> Unanswered {
    if error.is_tls_refusal() {
        Unanswered::before_write(error)
    } else {
        Unanswered::after_write(error)
    }
}

/// Keyed by the opaques we assign (see `crate::hash`).
type PendingTable = FastMap<i32, Pending>;

enum State {
    /// The connect future runs under `ctx.wait`, so no request is handled in this state.
    Connecting,
    Open(WriteHalf),
    /// Connecting or the socket failed: every request gets this error until the actor stops.
    Failed(RemotingError),
}

/// The actor owning one TCP connection to a name server or broker.
///
/// It connects when started (messages wait in the mailbox meanwhile), assigns opaques, writes
/// frames, and completes the pending request whose opaque a reply carries. When the socket
/// closes or a garbage frame arrives, every pending request fails at once with a typed error and
/// the actor stops; the owner then creates a fresh one on the next request to that address.
pub struct Connection {
    addr: String,
    id: u64,
    settings: ConnectionSettings,
    state: State,
    next_opaque: i32,
    pending: PendingTable,
    /// The pending requests by deadline: one timer (at the first) times them all out. Replies
    /// mostly come in the order the requests went out, so new entries go at the back and
    /// answered ones leave from the front; one answered out of order stays until it gets there.
    deadlines: VecDeque<(Instant, i32)>,
    owner: Option<Recipient<ConnectionEvent>>,
    /// Frames not yet written to the socket. Every frame is encoded straight into it (a large
    /// body joins as a segment of its own); the write loop drains it, so frames queued in one
    /// turn of the actor go out in one `write`.
    out: Output,
    write_waker: Option<Waker>,
    /// One-way requests waiting for the output to drain below `LOW_WATER`.
    drain_waiters: Vec<Drained>,
    /// Set while the output is held back: fires once the thread has run its ready tasks.
    held: Option<Arc<Turn>>,
    /// Frames encoded since the output buffer was last empty.
    unwritten_frames: u32,
    counts: WriteCounts,
    /// Counted in the open-connections gauge (from the connect to the stop).
    counted: bool,
    /// Outcomes told together once this turn of the actor is over (see [`Connection::defer`]),
    /// and where they go.
    outbox: Vec<Answered>,
    outbox_to: Option<Arc<AnswerTo>>,
    /// A [`FlushAnswers`] is spawned and not yet run.
    flush_spawned: bool,
}

impl Connection {
    /// A connection to `addr` (`host:port`); `owner` hears when it closes.
    pub fn new(
        addr: impl Into<String>,
        id: u64,
        settings: ConnectionSettings,
        owner: Option<Recipient<ConnectionEvent>>,
    ) -> Self {
        Connection {
            addr: addr.into(),
            id,
            settings,
            state: State::Connecting,
            next_opaque: 0,
            pending: PendingTable::default(),
            deadlines: VecDeque::new(),
            owner,
            out: Output::with_capacity(64 * 1024),
            write_waker: None,
            drain_waiters: Vec::new(),
            held: None,
            unwritten_frames: 0,
            counts: WriteCounts::default(),
            counted: false,
            outbox: Vec::new(),
            outbox_to: None,
            flush_spawned: false,
        }
    }

    fn fail_all(&mut self, err: &RemotingError) {
        self.deadlines.clear();
        for (_, p) in self.pending.drain() {
            p.waiter.fail(err.clone());
        }
    }

    fn fail_and_stop(&mut self, err: RemotingError, ctx: &mut Context<Self>) {
        self.fail_all(&err);
        self.drain_waiters.clear();
        self.state = State::Failed(err);
        ctx.stop();
    }

    fn next_opaque(&mut self) -> i32 {
        let o = self.next_opaque;
        self.next_opaque = self.next_opaque.wrapping_add(1);
        o
    }

    /// What every request gets before it is written: its opaque and, on a cluster with
    /// authentication on, its signature.
    fn stamp(&mut self, cmd: &mut RemotingCommand) {
        cmd.opaque = self.next_opaque();
        if let Some(signer) = &self.settings.signer {
            signer.sign(cmd);
        }
    }

    /// Encodes one frame into the output buffer and wakes the write loop. Encoding errors stay
    /// with the request that caused them.
    fn write(&mut self, cmd: &RemotingCommand) -> Result<(), RemotingError> {
        let ser = self.settings.serialize_type;
        self.put_frame(|out| encode_frame(cmd, ser, out))
    }

    /// Writes one frame with `encode` (which appends nothing on error).
    fn put_frame(&mut self, encode: impl FnOnce(&mut BytesMut) -> Result<(), ProtocolError>) -> Result<(), RemotingError> {
        match &self.state {
            State::Open(_) => {}
            State::Failed(e) => return Err(e.clone()),
            State::Connecting => return Err(RemotingError::ConnectionClosed { addr: self.addr.clone() }),
        }
        if let Err(source) = encode(self.out.buffer()) {
            return Err(RemotingError::Protocol { addr: self.addr.clone(), source });
        }
        self.counts.frames += 1;
        self.unwritten_frames = self.unwritten_frames.saturating_add(1);
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
        Ok(())
    }

    /// Whether the socket takes several buffers in one write (plain TCP does; without it a
    /// segment would cost a write of its own, so bodies are copied into the buffer).
    fn writes_vectored(&self) -> bool {
        matches!(&self.state, State::Open(sock) if sock.is_write_vectored())
    }

    /// Whether to keep the output back until the thread has run its ready tasks.
    ///
    /// A pipelining caller (a loop awaiting each `SendAsync` under an in-flight budget) hands
    /// the connection one frame every few task hops. Written at once, each frame costs a
    /// `write` (and a TLS record) here and a read, a record to open and a decode pass on the
    /// broker. So while other requests await their replies (the peer is busy with them anyway),
    /// the connection waits for the runtime's deferred wake-up (the one `tokio::task::yield_now`
    /// uses: it fires once the scheduler has run the tasks that were ready and turns to I/O)
    /// and then writes everything they added in one go. It waits for no timer and no network
    /// event. Written at once: a lone request on an idle connection, frames that arrived
    /// together (several requests handled in one turn have coalesced already), and output of
    /// `HOLD_BYTES` or more. Measured (benchmark W3, 1 KiB async, 1,024 in flight): about ten
    /// frames per `write` instead of one; against the in-process stub, 97-118k msgs/s instead of
    /// 60-65k at half the client CPU per message; against a 5.3.3 broker over TLS, 37-38k msgs/s
    /// instead of 27-29k, the broker spending 34 instead of 47 ms of CPU per 1,000 messages.
    fn hold_output(&mut self, task: &TaskContext<'_>) -> bool {
        if let Some(turn) = &self.held {
            if !turn.done.load(Ordering::Acquire) && self.out.len() < HOLD_BYTES {
                return true;
            }
            self.held = None;
            return false;
        }
        if self.unwritten_frames != 1 || self.out.len() >= HOLD_BYTES || self.pending.len() < 2 {
            return false;
        }
        self.held = Some(Turn::after_ready_tasks(task.waker()));
        true
    }

    /// Writes as much of the output buffer as the socket takes.
    fn poll_flush_out(&mut self, task: &mut TaskContext<'_>) -> Poll<Result<(), RemotingError>> {
        let State::Open(sock) = &mut self.state else { return Poll::Ready(Ok(())) };
        while !self.out.is_empty() {
            let written = if sock.is_write_vectored() {
                let (slices, n) = self.out.slices();
                Pin::new(&mut *sock).poll_write_vectored(task, &slices[..n])
            } else {
                Pin::new(&mut *sock).poll_write(task, self.out.first())
            };
            match written {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(RemotingError::Io { addr: self.addr.clone(), reason: "socket wrote 0 bytes".into() }))
                }
                Poll::Ready(Ok(n)) => {
                    self.counts.writes += 1;
                    self.out.advance(n);
                    if self.out.is_empty() {
                        self.unwritten_frames = 0;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(RemotingError::from(e).at(&self.addr))),
                Poll::Pending => return Poll::Pending,
            }
        }
        // TLS keeps records it could not write yet inside its session; plain TCP has nothing
        // to flush (Ready at once).
        Pin::new(&mut *sock).poll_flush(task).map_err(|e| RemotingError::from(e).at(&self.addr))
    }

    /// Records a written request awaiting its reply.
    fn await_reply(&mut self, opaque: i32, waiter: Waiter, deadline: Instant, timeout: Duration) {
        match self.deadlines.back() {
            // A shorter timeout than the last request's: into its place.
            Some(&(last, _)) if deadline < last => {
                let at = self.deadlines.partition_point(|&(d, _)| d <= deadline);
                self.deadlines.insert(at, (deadline, opaque));
            }
            _ => self.deadlines.push_back((deadline, opaque)),
        }
        self.pending.insert(opaque, Pending { waiter, deadline, timeout });
    }

    /// Drops the deadlines of answered requests from the front.
    fn trim_answered(&mut self) {
        while let Some(&(_, opaque)) = self.deadlines.front() {
            if self.pending.contains_key(&opaque) {
                break;
            }
            self.deadlines.pop_front();
        }
    }

    /// Fails every pending request whose deadline is not after `now`.
    fn expire(&mut self, now: Instant) {
        while let Some(&(deadline, opaque)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            // (The opaque may belong to an answered request, or, after the counter wrapped, to
            // a newer one with a later deadline.)
            if self.pending.get(&opaque).is_some_and(|p| p.deadline <= now) {
                if let Some(p) = self.pending.remove(&opaque) {
                    p.waiter.fail(RemotingError::Timeout { addr: self.addr.clone(), after: p.timeout });
                }
            }
        }
    }

    /// Requests the peer starts on its own (transaction checks, reply pushes) go to whoever
    /// serves them (the client instance). With nobody to serve them, or once that actor is gone,
    /// a request that wants an answer gets [`not_supported`].
    fn on_peer_request(&mut self, cmd: RemotingCommand, ctx: &mut Context<Self>) {
        debug!(addr = %self.addr, code = cmd.code, "request from peer");
        // `do_send`, not `try_send`: a busy server's bounded mailbox must not drop a check.
        if let Some(peer) = self.settings.peer.as_ref().filter(|p| p.connected()) {
            peer.do_send(PeerRequest { from: self.addr.clone(), conn: ctx.address(), cmd });
            return;
        }
        if !cmd.is_oneway() {
            self.respond(not_supported(&cmd));
        }
    }

    /// Tells `outcome` to `answer` once this turn of the actor is over, together with the other
    /// outcomes for the same recipient: a read pass of 16 replies for one producer becomes one
    /// [`AnsweredMany`]. The flush is a future spawned on the actor, which actix polls in the
    /// same turn after the item being handled (the read stream), so nothing waits for another
    /// wake-up; a stopping or dropped connection flushes too.
    fn defer(&mut self, answer: Answer, outcome: Outcome, ctx: &mut Context<Self>) {
        let Some((to, answered)) = answer.into_told(outcome) else { return };
        if self.outbox_to.as_ref().is_some_and(|current| !Arc::ptr_eq(current, &to)) {
            self.flush_answers();
        }
        self.outbox_to = Some(to);
        self.outbox.push(answered);
        if !self.flush_spawned {
            self.flush_spawned = true;
            ctx.spawn(FlushAnswers);
        }
    }

    /// Tells the deferred outcomes.
    fn flush_answers(&mut self) {
        if let Some(to) = self.outbox_to.take() {
            to.tell(std::mem::take(&mut self.outbox));
        }
    }

    fn respond(&mut self, mut reply: RemotingCommand) {
        reply.mark_response();
        if let Err(e) = self.write(&reply) {
            warn!(addr = %self.addr, error = %e, "cannot answer peer request");
        }
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let addr = self.addr.clone();
        let timeout = self.settings.connect_timeout;
        let transport = self.settings.transport.clone();
        let connect = async move { transport.connect(&addr, timeout).await };
        // `wait` holds the mailbox until the socket is up, so requests never see a half state.
        ctx.wait(connect.into_actor(self).map(|res, act, ctx| match res {
            Ok((read, write)) => {
                // Reads of up to 64 KiB (the codec's default is 8 KiB): a busy connection's
                // replies come in bursts (a batch's is about 1.2 KiB), and each read is a
                // syscall and, when it leaves nothing behind, another wait for readiness.
                let decoder = FrameDecoder::new(act.addr.clone(), act.settings.max_frame_len);
                ctx.add_stream(FramedRead::with_capacity(read, decoder, READ_BUFFER));
                act.state = State::Open(write);
                ctx.spawn(WriteLoop);
                ctx.spawn(ExpiryLoop { sleep: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())), armed: None });
                debug!(addr = %act.addr, "connected");
                act.counted = true;
                crate::producer::metrics::connection_opened(true);
                if let Some(owner) = &act.owner {
                    owner.do_send(ConnectionEvent::Opened { addr: act.addr.clone(), id: act.id });
                }
            }
            Err(e) => {
                debug!(addr = %act.addr, error = %e, "connect failed");
                // Stay alive a moment in the failed state so the requests queued behind the
                // connect get this error rather than a bare mailbox error.
                act.state = State::Failed(e);
                ctx.run_later(Duration::from_millis(0), |_, ctx| ctx.stop());
            }
        }));
    }

    fn stopping(&mut self, _ctx: &mut Context<Self>) -> Running {
        self.flush_answers();
        let err = match &self.state {
            State::Failed(e) => e.clone(),
            _ => RemotingError::ConnectionClosed { addr: self.addr.clone() },
        };
        self.fail_all(&err);
        if let Some(owner) = &self.owner {
            owner.do_send(ConnectionEvent::Closed { addr: self.addr.clone(), id: self.id, reason: err });
        }
        Running::Stop
    }
}

impl Drop for Connection {
    /// Here rather than in `stopping`: an actor dropped with its arbiter never runs `stopping`.
    fn drop(&mut self) {
        self.flush_answers();
        if self.counted {
            crate::producer::metrics::connection_opened(false);
        }
    }
}

impl Handler<Request> for Connection {
    type Result = Result<ReplySlot, RemotingError>;

    fn handle(&mut self, msg: Request, _ctx: &mut Context<Self>) -> Self::Result {
        let mut cmd = msg.cmd;
        self.stamp(&mut cmd);
        self.write(&cmd)?;
        let (tx, rx) = oneshot::channel();
        self.await_reply(cmd.opaque, Waiter::Slot(tx), Instant::now() + msg.timeout, msg.timeout);
        Ok(rx)
    }
}

impl Handler<Dispatch> for Connection {
    type Result = ();

    fn handle(&mut self, msg: Dispatch, ctx: &mut Context<Self>) {
        let Dispatch { request, deadline, timeout, oneway, mut answer } = msg;
        if deadline <= Instant::now() {
            // Its caller stopped waiting while it sat in the mailbox: not written.
            let error = RemotingError::Timeout { addr: self.addr.clone(), after: timeout };
            return answer.tell(Outcome::Failed(Unanswered::before_write(error)));
        }
        let written = match request {
            Outgoing::Command(mut cmd) => {
                if oneway {
                    cmd.mark_oneway();
                }
                self.stamp(&mut cmd);
                self.write(&cmd).map(|()| cmd.opaque)
            }
            Outgoing::Encoded(req) if self.settings.signer.is_none() && req.ser == self.settings.serialize_type => {
                let (opaque, flag) = (self.next_opaque(), if oneway { ONEWAY_FLAG } else { 0 });
                // A large body (a batch) goes to the socket from where it is, after its header.
                if req.body.len() >= ZERO_COPY_MIN && self.writes_vectored() {
                    self.put_frame(|out| encode_request_head(&req, opaque, flag, out)).map(|()| {
                        self.out.push_segment(req.body);
                        opaque
                    })
                } else {
                    self.put_frame(|out| encode_request(&req, opaque, flag, out)).map(|()| opaque)
                }
            }
            Outgoing::Encoded(_) => Err(RemotingError::Protocol {
                addr: self.addr.clone(),
                source: ProtocolError::BadHeader("a pre-encoded request cannot be signed or re-serialized".into()),
            }),
        };
        let opaque = match written {
            Ok(opaque) => opaque,
            Err(e) => return answer.tell(Outcome::Failed(Unanswered::before_write(e))),
        };
        answer.written = true;
        if !oneway {
            self.await_reply(opaque, Waiter::Tell(answer), deadline, timeout);
        } else if self.out.len() <= HIGH_WATER {
            self.defer(answer, Outcome::Queued, ctx);
        } else {
            self.drain_waiters.push(Drained::Tell(answer));
        }
    }
}

impl Handler<WhenOpen> for Connection {
    type Result = Result<(), RemotingError>;

    fn handle(&mut self, _: WhenOpen, _: &mut Context<Self>) -> Self::Result {
        match &self.state {
            State::Open(_) => Ok(()),
            State::Failed(e) => Err(e.clone()),
            State::Connecting => Err(RemotingError::ConnectionClosed { addr: self.addr.clone() }),
        }
    }
}

impl Handler<Oneway> for Connection {
    type Result = ResponseFuture<Result<(), Unanswered>>;

    /// Resolves once the frame is queued, or, when the socket is behind by more than
    /// `HIGH_WATER` bytes, once it has caught up: one-way senders get no reply to pace them.
    fn handle(&mut self, msg: Oneway, _ctx: &mut Context<Self>) -> Self::Result {
        let mut cmd = msg.cmd;
        cmd.mark_oneway();
        self.stamp(&mut cmd);
        if let Err(e) = self.write(&cmd) {
            return Box::pin(async move { Err(Unanswered::before_write(e)) });
        }
        if self.out.len() <= HIGH_WATER {
            return Box::pin(async { Ok(()) });
        }
        let (tx, rx) = oneshot::channel();
        self.drain_waiters.push(Drained::Slot(tx));
        let closed = Unanswered::after_write(RemotingError::ConnectionClosed { addr: self.addr.clone() });
        Box::pin(async move { rx.await.map_err(|_| closed) })
    }
}

impl Handler<Respond> for Connection {
    type Result = ();

    fn handle(&mut self, msg: Respond, _ctx: &mut Context<Self>) {
        self.respond(msg.0);
    }
}

impl Handler<PendingCount> for Connection {
    type Result = usize;

    fn handle(&mut self, _: PendingCount, _: &mut Context<Self>) -> usize {
        self.pending.len()
    }
}

impl Handler<GetWriteCounts> for Connection {
    type Result = MessageResult<GetWriteCounts>;

    fn handle(&mut self, _: GetWriteCounts, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.counts)
    }
}

impl Handler<Close> for Connection {
    type Result = ();

    fn handle(&mut self, _: Close, ctx: &mut Context<Self>) {
        let err = RemotingError::ConnectionClosed { addr: self.addr.clone() };
        self.fail_and_stop(err, ctx);
    }
}

impl StreamHandler<Result<RemotingCommand, RemotingError>> for Connection {
    fn handle(&mut self, item: Result<RemotingCommand, RemotingError>, ctx: &mut Context<Self>) {
        match item {
            Ok(cmd) if cmd.is_response() => match self.pending.remove(&cmd.opaque) {
                Some(p) => {
                    self.trim_answered();
                    match p.waiter {
                        Waiter::Slot(tx) => {
                            let _ = tx.send(Ok(cmd));
                        }
                        Waiter::Tell(answer) => self.defer(answer, Outcome::Reply(cmd), ctx),
                    }
                }
                None => debug!(addr = %self.addr, opaque = cmd.opaque, "reply for no pending request (timed out?)"),
            },
            Ok(cmd) => self.on_peer_request(cmd, ctx),
            Err(e) => {
                let e = e.at(&self.addr);
                // A frame we cannot read leaves the stream unsynchronised: close, as Java does.
                warn!(addr = %self.addr, error = %e, "bad inbound frame, closing connection");
                self.fail_and_stop(e, ctx);
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        debug!(addr = %self.addr, "peer closed the connection");
        let err = RemotingError::ConnectionClosed { addr: self.addr.clone() };
        self.fail_and_stop(err, ctx);
    }
}

/// One pass of the thread's ready tasks, as a flag: `done` is set (and the actor woken) once
/// the scheduler has run the tasks that were ready and turns to I/O.
struct Turn {
    done: AtomicBool,
    actor: Waker,
}

impl Turn {
    fn after_ready_tasks(actor: &Waker) -> Arc<Turn> {
        let turn = Arc::new(Turn { done: AtomicBool::new(false), actor: actor.clone() });
        let waker = Waker::from(turn.clone());
        // `yield_now` hands its waker to the scheduler's deferred list on the first poll; the
        // future itself can go, the deferred wake-up stays. Outside a runtime it wakes at once.
        let mut yielded = std::pin::pin!(tokio::task::yield_now());
        let _ = yielded.as_mut().poll(&mut TaskContext::from_waker(&waker));
        turn
    }
}

impl std::task::Wake for Turn {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.done.store(true, Ordering::Release);
        self.actor.wake_by_ref();
    }
}

/// Drains the connection's output buffer into the socket, inside the actor's context, so the
/// actor always knows how far behind the socket is.
struct WriteLoop;

impl ActorFuture<Connection> for WriteLoop {
    type Output = ();

    fn poll(self: Pin<&mut Self>, act: &mut Connection, ctx: &mut Context<Connection>, task: &mut TaskContext<'_>) -> Poll<()> {
        if act.hold_output(task) {
            // The turn's wake-up polls this loop again (so does every message the actor gets).
            return Poll::Pending;
        }
        match act.poll_flush_out(task) {
            Poll::Ready(Err(err)) => {
                warn!(addr = %act.addr, error = %err, "write failed, closing connection");
                act.fail_and_stop(err, ctx);
                return Poll::Ready(());
            }
            Poll::Ready(Ok(())) | Poll::Pending => {}
        }
        if act.out.len() < LOW_WATER {
            for w in act.drain_waiters.drain(..) {
                w.notify();
            }
        }
        if !matches!(act.state, State::Open(_)) {
            return Poll::Ready(());
        }
        // Woken by the socket (Pending above) or by the next `write`.
        act.write_waker = Some(task.waker().clone());
        Poll::Pending
    }
}

/// Tells the outcomes deferred in this turn (see [`Connection::defer`]), then ends.
struct FlushAnswers;

impl ActorFuture<Connection> for FlushAnswers {
    type Output = ();

    fn poll(self: Pin<&mut Self>, act: &mut Connection, _: &mut Context<Connection>, _: &mut TaskContext<'_>) -> Poll<()> {
        act.flush_spawned = false;
        act.flush_answers();
        Poll::Ready(())
    }
}

/// Times out pending requests: one timer, armed for the first deadline of the index.
struct ExpiryLoop {
    sleep: Pin<Box<Sleep>>,
    /// The deadline the timer is set for.
    armed: Option<Instant>,
}

impl ActorFuture<Connection> for ExpiryLoop {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, act: &mut Connection, _: &mut Context<Connection>, task: &mut TaskContext<'_>) -> Poll<()> {
        // actix polls this on every wake-up of the actor, so a new first deadline is seen
        // right after the message that added it.
        if !matches!(act.state, State::Open(_)) {
            return Poll::Ready(());
        }
        loop {
            let Some(&(first, _)) = act.deadlines.front() else {
                self.armed = None;
                return Poll::Pending;
            };
            // Re-armed only for an earlier deadline: a timer set for an answered request fires
            // early, finds nothing due and is set again (about once per timeout, instead of
            // once per reply).
            if self.armed.map_or(true, |armed| first < armed) {
                self.armed = Some(first);
                self.sleep.as_mut().reset(first.into());
            }
            match self.sleep.as_mut().poll(task) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) => {
                    self.armed = None;
                    act.expire(Instant::now());
                }
            }
        }
    }
}

//! The connection's message-driven request path (`Dispatch` / `Answered`): replies, one-way
//! hand-offs, timeouts from its one deadline index, and answers for requests a connection drops.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_rocketmq::error::RemotingError;
use actix_rocketmq::protocol::codes::response;
use actix_rocketmq::protocol::RemotingCommand;
use actix_rocketmq::remoting::connection::{
    Answer, AnswerTo, Answered, AnsweredMany, Close, ConnectionSettings, Dispatch, Outcome, Outgoing, Token, WhenOpen,
};
use actix_rocketmq::remoting::Connection;

use crate::fake::{Behaviour, FakePeer};

/// What an answer came to, and when.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Reply(i32),
    Queued,
    Timeout { written: bool },
    Closed { written: bool },
    Dropped { written: bool },
    Other(String),
}

/// Every answer: the request's id, what it came to, when.
type Log = Arc<Mutex<Vec<(u64, Seen, Instant)>>>;

#[derive(Default)]
struct Answers {
    seen: Log,
}

impl Actor for Answers {
    type Context = Context<Self>;
}

impl Handler<Answered> for Answers {
    type Result = ();
    fn handle(&mut self, msg: Answered, _: &mut Context<Self>) {
        let seen = match msg.outcome {
            Outcome::Reply(cmd) => Seen::Reply(cmd.code),
            Outcome::Queued => Seen::Queued,
            Outcome::Failed(u) => match u.error {
                RemotingError::Timeout { .. } => Seen::Timeout { written: u.written },
                RemotingError::ConnectionClosed { .. } => Seen::Closed { written: u.written },
                other => Seen::Other(other.to_string()),
            },
            Outcome::Dropped { written } => Seen::Dropped { written },
        };
        self.seen.lock().unwrap().push((msg.token.id, seen, Instant::now()));
    }
}

impl Handler<AnsweredMany> for Answers {
    type Result = ();
    fn handle(&mut self, many: AnsweredMany, ctx: &mut Context<Self>) {
        for one in many.0 {
            <Self as Handler<Answered>>::handle(self, one, ctx);
        }
    }
}

/// Answers requests with code 1 at once; stays silent for every other code.
fn answer_code_one(cmd: &RemotingCommand) -> Option<RemotingCommand> {
    (cmd.code == 1).then(|| RemotingCommand::response(response::SUCCESS, cmd.opaque, None))
}

fn dispatch(code: i32, id: u64, timeout_ms: u64, oneway: bool, to: &Arc<AnswerTo>) -> Dispatch {
    let timeout = Duration::from_millis(timeout_ms);
    Dispatch {
        request: Outgoing::Command(RemotingCommand::request(code)),
        deadline: Instant::now() + timeout,
        timeout,
        oneway,
        answer: Answer::new(to.clone(), Token { id, seq: 1 }),
    }
}

async fn open(peer: &FakePeer) -> Addr<Connection> {
    let conn = Connection::new(peer.addr.clone(), 1, ConnectionSettings::default(), None).start();
    conn.send(WhenOpen).await.expect("mailbox").expect("connection opens");
    conn
}

async fn wait_for(seen: &Log, n: usize) -> Vec<(u64, Seen, Instant)> {
    for _ in 0..300 {
        if seen.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    seen.lock().unwrap().clone()
}

#[actix_rt::test]
async fn replies_hand_offs_and_timeouts_each_reach_their_request_in_deadline_order() {
    let peer = FakePeer::start(Behaviour::Script(answer_code_one)).await;
    let conn = open(&peer).await;
    let answers = Answers::default();
    let seen = answers.seen.clone();
    let to = AnswerTo::of(&answers.start());
    let start = Instant::now();
    // Silent requests with deadlines out of order, an answered one, a one-way one.
    conn.do_send(dispatch(2, 10, 600, false, &to));
    conn.do_send(dispatch(1, 20, 3000, false, &to));
    conn.do_send(dispatch(2, 30, 200, false, &to));
    conn.do_send(dispatch(2, 40, 400, false, &to));
    conn.do_send(dispatch(2, 50, 3000, true, &to));
    let got = wait_for(&seen, 5).await;
    let order: Vec<(u64, Seen)> = got.iter().map(|(id, s, _)| (*id, s.clone())).collect();
    let (early, late) = order.split_at(2);
    assert!(early.contains(&(20, Seen::Reply(response::SUCCESS))), "{order:?}");
    assert!(early.contains(&(50, Seen::Queued)), "{order:?}");
    assert_eq!(
        late,
        [(30, Seen::Timeout { written: true }), (40, Seen::Timeout { written: true }), (10, Seen::Timeout { written: true })],
        "timeouts come by deadline: {order:?}"
    );
    // None before its deadline.
    for (id, _, at) in &got {
        let deadline = match id {
            30 => 200,
            40 => 400,
            10 => 600,
            _ => 0,
        };
        assert!(at.duration_since(start) >= Duration::from_millis(deadline), "{id} answered at {:?}", at.duration_since(start));
    }
    // The peer saw every request, the one-way one flagged as such.
    let codes: Vec<(i32, bool)> = peer.requests().iter().map(|c| (c.code, c.is_oneway())).collect();
    assert_eq!(codes, [(2, false), (1, false), (2, false), (2, false), (2, true)]);
}

#[actix_rt::test]
async fn requests_a_connection_drops_are_answered_with_whether_they_were_written() {
    let peer = FakePeer::start(Behaviour::Silent).await;
    let conn = open(&peer).await;
    let answers = Answers::default();
    let seen = answers.seen.clone();
    let to = AnswerTo::of(&answers.start());
    // Written, then the connection closes: the broker may have it.
    conn.do_send(dispatch(2, 1, 3000, false, &to));
    let _ = conn.send(Close).await;
    let got = wait_for(&seen, 1).await;
    assert_eq!(got[0].0, 1);
    assert_eq!(got[0].1, Seen::Closed { written: true });
    // To a stopped connection: dropped in its mailbox, never written.
    for _ in 0..100 {
        if !conn.connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    conn.do_send(dispatch(2, 2, 3000, false, &to));
    let got = wait_for(&seen, 2).await;
    assert_eq!(got.get(1).map(|(id, s, _)| (*id, s.clone())), Some((2, Seen::Dropped { written: false })));
    // A request whose deadline passed before the connection handled it is not written.
    let conn = open(&peer).await;
    let mut late = dispatch(7, 3, 1, false, &to);
    late.deadline = Instant::now() - Duration::from_millis(1);
    conn.do_send(late);
    let got = wait_for(&seen, 3).await;
    assert_eq!(got.get(2).map(|(id, s, _)| (*id, s.clone())), Some((3, Seen::Timeout { written: false })));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(peer.requests().iter().all(|c| c.code != 7), "the late request reached the peer");
}

//! Route lookups against the name servers, shared by on-demand fetches and the poller.

use std::time::Duration;

use actix::Addr;

use crate::error::RouteError;
use crate::protocol::codes::{request, response, response_name};
use crate::protocol::header::GetRouteInfoRequestHeader;
use crate::protocol::route::{parse_route, TopicRouteData};
use crate::protocol::RemotingCommand;
use crate::remoting::{invoke_namesrv, RemotingClient};

/// The route of `topic`, `Ok(None)` when the name server says the topic does not exist.
///
/// We send a version >= 401 and `acceptStandardJsonOnly`, so the reply is standard JSON; the
/// parser still accepts the legacy bare-key form for older name servers.
pub async fn fetch_route(
    remoting: &Addr<RemotingClient>,
    topic: &str,
    timeout: Duration,
) -> Result<Option<TopicRouteData>, RouteError> {
    let header = GetRouteInfoRequestHeader { topic: topic.to_string(), accept_standard_json_only: true };
    let cmd = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_header(&header);
    let reply = invoke_namesrv(remoting, cmd, timeout).await?;
    match reply.code {
        response::SUCCESS => Ok(Some(parse_route(&reply.body)?)),
        response::TOPIC_NOT_EXIST => Ok(None),
        code => Err(RouteError::NameServer {
            code,
            name: response_name(code),
            remark: reply.remark.unwrap_or_default(),
        }),
    }
}

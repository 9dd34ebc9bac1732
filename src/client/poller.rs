//! Periodic route refresh and name server address endpoint polling.

use std::time::Duration;

use actix::prelude::*;
use tracing::debug;

use super::instance::{ClientInstance, RouteFetched, TopicsInUse};
use super::routes::fetch_route;
use super::Stop;
use crate::config::ClientConfig;
use crate::remoting::client::UpdateNameServers;
use crate::remoting::http::fetch_namesrv_list;
use crate::remoting::RemotingClient;

/// Java runs the first route refresh 10 ms after start.
const FIRST_POLL: Duration = Duration::from_millis(10);

/// Refreshes the routes of every topic in use every `poll_name_server_interval`, and the name
/// server list from the address endpoint (when one is configured) every
/// `namesrv_endpoint_interval`. It holds no route state: fetched routes go to the instance.
pub struct NameServerPoller {
    instance: Addr<ClientInstance>,
    remoting: Addr<RemotingClient>,
    interval: Duration,
    timeout: Duration,
    endpoint: Option<(String, Duration)>,
    polls: u64,
}

impl NameServerPoller {
    /// A poller for `instance`, configured from `config`.
    pub fn new(instance: Addr<ClientInstance>, remoting: Addr<RemotingClient>, config: &ClientConfig) -> Self {
        let endpoint = config.endpoint_in_use().map(|url| (url.to_string(), config.namesrv_endpoint_interval));
        NameServerPoller {
            instance,
            remoting,
            interval: config.poll_name_server_interval,
            timeout: config.request_timeout,
            endpoint,
            polls: 0,
        }
    }

    fn poll_routes(&mut self, ctx: &mut Context<Self>) {
        self.polls += 1;
        let instance = self.instance.clone();
        let remoting = self.remoting.clone();
        let timeout = self.timeout;
        ctx.spawn(
            async move {
                let Ok(topics) = instance.send(TopicsInUse).await else { return };
                for topic in topics {
                    match fetch_route(&remoting, &topic, timeout).await {
                        Ok(Some(route)) => instance.do_send(RouteFetched { topic, route }),
                        // A topic still unknown keeps the route it has (e.g. the template's).
                        Ok(None) => debug!(%topic, "route refresh: topic not on the name server"),
                        Err(e) => debug!(%topic, error = %e, "route refresh failed"),
                    }
                }
            }
            .into_actor(self),
        );
    }

    fn poll_endpoint(&mut self, ctx: &mut Context<Self>) {
        let Some((url, _)) = self.endpoint.clone() else { return };
        let remoting = self.remoting.clone();
        let timeout = self.timeout;
        ctx.spawn(
            async move {
                match fetch_namesrv_list(&url, timeout).await {
                    Ok(list) => remoting.do_send(UpdateNameServers(list)),
                    Err(e) => debug!(error = %e, "address endpoint poll failed"),
                }
            }
            .into_actor(self),
        );
    }
}

impl Actor for NameServerPoller {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(FIRST_POLL, |act, ctx| {
            act.poll_routes(ctx);
            ctx.run_interval(act.interval, |act, ctx| act.poll_routes(ctx));
        });
        if let Some((_, every)) = self.endpoint {
            ctx.run_interval(every, |act, ctx| act.poll_endpoint(ctx));
        }
    }
}

impl Handler<Stop> for NameServerPoller {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        debug!(polls = self.polls, "name server poller stopping");
        ctx.stop();
    }
}

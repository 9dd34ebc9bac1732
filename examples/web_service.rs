//! An actix-web service publishing orders through a supervised producer, as a team would run it:
//! settings from a TOML file (plus `ACTIX_ROCKETMQ__*` environment overrides), Prometheus
//! metrics, the producer's status as JSON, a drain on shutdown.
//!
//! ```text
//! NAMESRV_ADDR=127.0.0.1:9876 cargo run --example web_service -- examples/web_service.toml
//! curl -X POST localhost:8080/orders -d '{"order_id":"o-1","customer":"c-7","amount_cents":1250}'
//! curl localhost:8080/metrics
//! curl localhost:8080/status
//! ```
//!
//! - `POST /orders`: 201 with the message id once the broker stored it; 400 for a body that is
//!   not an order or a message the producer refuses; 503 when nothing was stored and a retry may
//!   work; 504 when the broker may hold it (retry with the same `order_id`: consumers
//!   deduplicate by key); 500 when the cluster is not set up for the topic.
//! - `GET /metrics`: the producer's metrics (and this service's responses) in Prometheus text.
//! - `GET /status`: the producer's [`ProducerStatus`](actix_rocketmq::ProducerStatus) as JSON.

use std::time::Duration;

use actix::prelude::*;
use actix_rocketmq::{
    GetProducerStatus, Producer, ProducerConfig, ProducerExt, ProducerRecord, SendError, SendErrorKind, Shutdown,
};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, App, HttpResponse, HttpServer};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};

/// The service's own settings: the `[http]` table of the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Http {
    bind: String,
    orders_topic: String,
}

#[derive(Deserialize)]
struct File {
    http: Http,
}

/// What `POST /orders` accepts.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Order {
    order_id: String,
    customer: String,
    amount_cents: u64,
}

struct State {
    producer: Addr<Producer>,
    topic: String,
    prometheus: PrometheusHandle,
}

fn answer(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    metrics::counter!("orders_http_responses_total", "status" => status.as_u16().to_string()).increment(1);
    HttpResponse::build(status).json(body)
}

/// How a send error maps to HTTP: by whether the broker may hold the message and whether a
/// retry can work (see `SendErrorKind`).
fn failure(e: &SendError) -> HttpResponse {
    let (status, retry) = match e.kind() {
        SendErrorKind::InvalidInput => (StatusCode::BAD_REQUEST, "no"),
        SendErrorKind::Transient | SendErrorKind::NotRunning => (StatusCode::SERVICE_UNAVAILABLE, "yes"),
        SendErrorKind::OutcomeUnknown => (StatusCode::GATEWAY_TIMEOUT, "with the same order_id"),
        SendErrorKind::Config => (StatusCode::INTERNAL_SERVER_ERROR, "no"),
    };
    answer(status, serde_json::json!({ "error": e.to_string(), "may_have_been_stored": e.may_have_been_stored(), "retry": retry }))
}

#[post("/orders")]
async fn create_order(state: web::Data<State>, body: web::Bytes) -> HttpResponse {
    let order: Order = match serde_json::from_slice(&body) {
        Ok(order) => order,
        Err(e) => return answer(StatusCode::BAD_REQUEST, serde_json::json!({ "error": format!("not an order: {e}") })),
    };
    let payload = serde_json::to_vec(&order).unwrap_or_default();
    // The order id is the message key: the broker indexes it, consumers deduplicate by it.
    let record = ProducerRecord::new(&state.topic, payload).with_key(order.order_id.as_str()).with_tags("created");
    match state.producer.send_message(record).await {
        Ok(sent) => answer(
            StatusCode::CREATED,
            serde_json::json!({ "order_id": order.order_id, "msg_id": sent.msg_id, "queue": sent.message_queue.queue_id, "offset": sent.queue_offset }),
        ),
        Err(e) => failure(&e),
    }
}

#[get("/metrics")]
async fn metrics_text(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.prometheus.render())
}

#[get("/status")]
async fn producer_status(state: web::Data<State>) -> HttpResponse {
    match state.producer.send(GetProducerStatus).await {
        Ok(status) => HttpResponse::Ok().json(status),
        Err(e) => HttpResponse::ServiceUnavailable().json(serde_json::json!({ "error": e.to_string() })),
    }
}

fn load(path: &str) -> Result<(Http, ProducerConfig), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let file: File = toml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let producer = ProducerConfig::load_table(path, "producer")?;
    Ok((file.http, producer))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let path = std::env::args().nth(1).unwrap_or_else(|| "examples/web_service.toml".into());
    let (http, config) = load(&path)?;

    // The recorder first: producers resolve their metric handles when they are created.
    let prometheus = PrometheusBuilder::new().install_recorder()?;
    let upkeep = prometheus.clone();
    actix_rt::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });

    // Under an actix Supervisor: a producer that stops on a fatal error is restarted on the
    // same address, so the handlers' `Addr` stays good.
    let producer = Producer::supervised(config).await?;
    let state = web::Data::new(State { producer: producer.clone(), topic: http.orders_topic, prometheus });
    let server = HttpServer::new(move || App::new().app_data(state.clone()).service(create_order).service(metrics_text).service(producer_status))
        .workers(2)
        .bind(&http.bind)?;
    for addr in server.addrs() {
        // Tests read this line to find the port when `bind` asks for port 0.
        println!("listening on http://{addr}");
    }
    // Returns on SIGINT/SIGTERM, after the HTTP workers finished their requests.
    server.run().await?;
    // Then the producer drains: every accepted send ends before the group leaves the brokers.
    producer.send(Shutdown).await?;
    println!("stopped");
    Ok(())
}

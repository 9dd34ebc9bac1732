//! The name server address endpoint: a plain HTTP GET answering `host:port;host:port`.
//!
//! A dozen lines of HTTP/1.0 are enough here; an HTTP client crate would pull in TLS, pools and a
//! second runtime abstraction for one request every two minutes.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::parse_namesrv_list;
use crate::error::ConfigError;
use crate::error::RemotingError;

/// Longest endpoint reply read; a name server list is a few hundred bytes.
const MAX_REPLY: u64 = 64 * 1024;

/// `http://host[:port]/path` split into `("host:port", "/path")`.
///
/// ```
/// use actix_rocketmq::remoting::http::parse_http_url;
/// let (host, path) = parse_http_url("http://127.0.0.1:8080/rocketmq/nsaddr").unwrap();
/// assert_eq!((host.as_str(), path.as_str()), ("127.0.0.1:8080", "/rocketmq/nsaddr"));
/// ```
pub fn parse_http_url(url: &str) -> Result<(String, String), ConfigError> {
    let bad = || ConfigError::BadEndpoint(url.to_string());
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(bad());
    }
    let host_port = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    Ok((host_port, path.to_string()))
}

/// Fetches the name server list from the endpoint.
pub async fn fetch_namesrv_list(url: &str, timeout: Duration) -> Result<Vec<String>, RemotingError> {
    let err = |reason: String| RemotingError::Endpoint { url: url.to_string(), reason };
    let (host_port, path) = parse_http_url(url).map_err(|e| err(e.to_string()))?;
    let work = async {
        let mut stream = TcpStream::connect(&host_port).await.map_err(|e| err(e.to_string()))?;
        let host = host_port.split(':').next().unwrap_or_default();
        let req = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: text/plain\r\n\r\n");
        stream.write_all(req.as_bytes()).await.map_err(|e| err(e.to_string()))?;
        let mut raw = Vec::new();
        stream.take(MAX_REPLY).read_to_end(&mut raw).await.map_err(|e| err(e.to_string()))?;
        Ok::<_, RemotingError>(raw)
    };
    let raw = tokio::time::timeout(timeout, work).await.map_err(|_| err(format!("no reply in {timeout:?}")))??;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| err("malformed HTTP reply".into()))?;
    let status_ok = head.lines().next().and_then(|l| l.split_whitespace().nth(1)) == Some("200");
    if !status_ok {
        return Err(err(format!("status line {:?}", head.lines().next().unwrap_or(""))));
    }
    parse_namesrv_list(body.trim()).map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn urls() {
        assert_eq!(parse_http_url("http://h/p").unwrap(), ("h:80".into(), "/p".into()));
        assert_eq!(parse_http_url("http://h:1").unwrap(), ("h:1".into(), "/".into()));
        assert!(parse_http_url("https://h/p").is_err());
        assert!(parse_http_url("http:///p").is_err());
    }

    async fn serve_once(reply: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            s.write_all(reply.as_bytes()).await.unwrap();
        });
        format!("http://{addr}/rocketmq/nsaddr")
    }

    #[tokio::test]
    async fn fetches_a_list() {
        let url = serve_once("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n127.0.0.1:9876;127.0.0.1:9877\n").await;
        let list = fetch_namesrv_list(&url, Duration::from_secs(2)).await.unwrap();
        assert_eq!(list, vec!["127.0.0.1:9876", "127.0.0.1:9877"]);
    }

    #[tokio::test]
    async fn refuses_errors_and_garbage() {
        let url = serve_once("HTTP/1.0 404 Not Found\r\n\r\nnope").await;
        assert!(matches!(fetch_namesrv_list(&url, Duration::from_secs(2)).await, Err(RemotingError::Endpoint { .. })));
        let url = serve_once("HTTP/1.0 200 OK\r\n\r\nnot a list").await;
        assert!(matches!(fetch_namesrv_list(&url, Duration::from_secs(2)).await, Err(RemotingError::Endpoint { .. })));
        let url = serve_once("garbage").await;
        assert!(matches!(fetch_namesrv_list(&url, Duration::from_secs(2)).await, Err(RemotingError::Endpoint { .. })));
    }
}

//! The byte stream under a connection: plain TCP or TLS, chosen once per client instance.
//!
//! Nothing above [`Connection`](super::Connection) knows which one it got. RocketMQ serves TLS
//! on the same port as plain TCP (the server peeks at the first byte; Apache RocketMQ
//! `TlsModeHandler` in `NettyRemotingServer`), so TLS is a client setting, not an address.
//!
//! rustls through tokio-rustls does the TLS: no OpenSSL to link, certificate checks done by
//! webpki, and the same `AsyncRead`/`AsyncWrite` shape as the plain socket.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::TlsConnector;

use crate::error::{ConfigError, RemotingError, TlsFailure};

/// Which certificates a TLS client accepts from the server.
///
/// In a configuration file: `trust = "system_roots"`, `trust = { ca_file = "/etc/ca.pem" }` or
/// `trust = "danger_accept_any_certificate"`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsTrust {
    /// The operating system's trust store.
    SystemRoots,
    /// The CA certificates in a PEM file (one or more `BEGIN CERTIFICATE` blocks).
    CaFile(PathBuf),
    /// Any certificate at all, unchecked: only for test setups with self-signed certificates
    /// (e.g. a broker in RocketMQ's TLS "test mode"). Traffic is encrypted, but anyone on the
    /// path can pose as the server.
    DangerAcceptAnyCertificate,
}

/// A client certificate for brokers that ask for one (mutual TLS).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCertificate {
    /// PEM certificate chain, leaf first.
    pub cert_chain: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
}

/// TLS settings of a client instance: used for every name server and broker connection.
///
/// ```
/// use actix_rocketmq::{ClientConfig, TlsConfig};
/// let mut cfg = ClientConfig::new("127.0.0.1:9876");
/// cfg.tls = Some(
///     TlsConfig::with_ca_file("/etc/rocketmq/ca.pem")
///         .with_client_certificate("/etc/rocketmq/client.pem", "/etc/rocketmq/client.key"),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// How the server's certificate is checked.
    pub trust: TlsTrust,
    /// Presented when the server asks for a client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<ClientCertificate>,
    /// The name the server's certificate must carry. Default: the host of each address (an IP
    /// address is checked against the certificate's IP subject alternative names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

impl TlsConfig {
    /// Trust the CA certificates in a PEM file.
    pub fn with_ca_file(path: impl Into<PathBuf>) -> Self {
        TlsConfig { trust: TlsTrust::CaFile(path.into()), client_certificate: None, server_name: None }
    }

    /// Trust the operating system's roots.
    pub fn with_system_roots() -> Self {
        TlsConfig { trust: TlsTrust::SystemRoots, client_certificate: None, server_name: None }
    }

    /// Accept any server certificate (see [`TlsTrust::DangerAcceptAnyCertificate`]).
    pub fn danger_accept_any_certificate() -> Self {
        TlsConfig { trust: TlsTrust::DangerAcceptAnyCertificate, client_certificate: None, server_name: None }
    }

    /// Present this certificate when asked (mutual TLS).
    pub fn with_client_certificate(mut self, cert_chain: impl Into<PathBuf>, private_key: impl Into<PathBuf>) -> Self {
        self.client_certificate = Some(ClientCertificate { cert_chain: cert_chain.into(), private_key: private_key.into() });
        self
    }

    /// Check the server's certificate against this name instead of each address's host.
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Loads the certificates and keys and builds the connector: every problem with the files
    /// shows up here, at start, not at the first connection.
    fn connector(&self) -> Result<TlsTransport, ConfigError> {
        let bad = |reason: String| ConfigError::Invalid { name: "tls", reason };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?;
        let builder = match &self.trust {
            TlsTrust::DangerAcceptAnyCertificate => {
                builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            }
            TlsTrust::SystemRoots => {
                let mut roots = RootCertStore::empty();
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(bad(format!("no usable certificate in the system trust store ({} errors)", found.errors.len())));
                }
                builder.with_root_certificates(roots)
            }
            TlsTrust::CaFile(path) => {
                let mut roots = RootCertStore::empty();
                for cert in read_certs(path).map_err(bad)? {
                    roots.add(cert).map_err(|e| bad(format!("{}: {e}", path.display())))?;
                }
                builder.with_root_certificates(roots)
            }
        };
        let config = match &self.client_certificate {
            None => builder.with_no_client_auth(),
            Some(cc) => {
                let chain = read_certs(&cc.cert_chain).map_err(bad)?;
                let key = PrivateKeyDer::from_pem_file(&cc.private_key)
                    .map_err(|e| bad(format!("private key {}: {e}", cc.private_key.display())))?;
                builder.with_client_auth_cert(chain, key).map_err(|e| bad(format!("client certificate: {e}")))?
            }
        };
        let server_name = match &self.server_name {
            None => None,
            Some(name) => Some(ServerName::try_from(name.clone()).map_err(|e| bad(format!("server name {name:?}: {e}")))?),
        };
        Ok(TlsTransport { connector: TlsConnector::from(Arc::new(config)), server_name })
    }
}

fn read_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

/// Classifies a failed handshake from the error tokio-rustls wraps the rustls error in.
fn failure_of(e: &io::Error) -> TlsFailure {
    if let Some(failure) = tls_failure_in(e) {
        return failure;
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => TlsFailure::Closed,
        _ => TlsFailure::Other(e.to_string()),
    }
}

/// The TLS failure inside an I/O error from a TLS stream, if it is one.
///
/// With TLS 1.3 the client's side of the handshake ends before the server has checked the
/// client's certificate, so a server refusing it shows up as an alert on the first read, after
/// requests were written. Those alerts still mean the server never accepted the session, so no
/// request on it was processed; they are [`TlsFailure::Alert`]. Alerts that can come later in a
/// session are [`TlsFailure::Other`].
pub(crate) fn tls_failure_in(e: &io::Error) -> Option<TlsFailure> {
    use rustls::AlertDescription as A;
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(match inner {
        rustls::Error::InvalidCertificate(c) => TlsFailure::Certificate(format!("{c:?}")),
        rustls::Error::AlertReceived(
            a @ (A::HandshakeFailure
            | A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
            | A::CertificateRequired
            | A::ProtocolVersion
            | A::InsufficientSecurity),
        ) => TlsFailure::Alert(format!("{a:?}")),
        other => TlsFailure::Other(other.to_string()),
    })
}

#[derive(Clone)]
struct TlsTransport {
    connector: TlsConnector,
    server_name: Option<ServerName<'static>>,
}

/// How connections of one client instance reach their peers: plain TCP, or TLS with a connector
/// built once from a [`TlsConfig`].
///
/// ```
/// use actix_rocketmq::remoting::transport::Transport;
/// use actix_rocketmq::TlsConfig;
/// assert!(!Transport::plain().is_tls());
/// assert!(Transport::new(Some(&TlsConfig::danger_accept_any_certificate())).unwrap().is_tls());
/// // Files are read when the transport is built, so a missing one is a start-up error.
/// assert!(Transport::new(Some(&TlsConfig::with_ca_file("/nonexistent/ca.pem"))).is_err());
/// ```
#[derive(Clone, Default)]
pub struct Transport {
    tls: Option<TlsTransport>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.tls.is_some() { "Transport::Tls" } else { "Transport::Plain" })
    }
}

impl Transport {
    /// Plain TCP.
    pub fn plain() -> Self {
        Transport { tls: None }
    }

    /// TLS when `tls` is set, else plain TCP.
    pub fn new(tls: Option<&TlsConfig>) -> Result<Self, ConfigError> {
        Ok(Transport { tls: tls.map(TlsConfig::connector).transpose()? })
    }

    /// Whether connections use TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Connects to `addr` (`host:port`): TCP within `timeout`, then the TLS handshake (if any)
    /// within another `timeout`.
    pub(crate) async fn connect(&self, addr: &str, timeout: Duration) -> Result<(ReadHalf, WriteHalf), RemotingError> {
        let target = tokio::net::lookup_host(addr)
            .await
            .map_err(|e| RemotingError::Resolve { addr: addr.to_string(), reason: e.to_string() })?
            .next()
            .ok_or_else(|| RemotingError::Resolve { addr: addr.to_string(), reason: "no address".into() })?;
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(target)).await {
            Err(_) => return Err(RemotingError::Connect { addr: addr.to_string(), reason: format!("timed out after {timeout:?}") }),
            Ok(Err(e)) => return Err(RemotingError::Connect { addr: addr.to_string(), reason: e.to_string() }),
            Ok(Ok(stream)) => stream,
        };
        let _ = stream.set_nodelay(true);
        let Some(tls) = &self.tls else {
            let (r, w) = stream.into_split();
            return Ok((ReadHalf::Plain(r), WriteHalf::Plain(w)));
        };
        let failed = |failure| RemotingError::Tls { addr: addr.to_string(), failure };
        let name = match &tls.server_name {
            Some(n) => n.clone(),
            None => server_name_of(addr).map_err(failed)?,
        };
        let stream = match tokio::time::timeout(timeout, tls.connector.connect(name, stream)).await {
            Err(_) => return Err(failed(TlsFailure::TimedOut(timeout))),
            Ok(Err(e)) => return Err(failed(failure_of(&e))),
            Ok(Ok(s)) => s,
        };
        let (r, w) = tokio::io::split(stream);
        Ok((ReadHalf::Tls(r), WriteHalf::Tls(w)))
    }
}

/// The host part of `host:port` as a TLS server name (IP or DNS).
fn server_name_of(addr: &str) -> Result<ServerName<'static>, TlsFailure> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.to_string()).map_err(|e| TlsFailure::Other(format!("server name {host:?}: {e}")))
}

/// The reading side of a connection's stream.
pub(crate) enum ReadHalf {
    Plain(OwnedReadHalf),
    Tls(tokio::io::ReadHalf<TlsStream<TcpStream>>),
}

/// The writing side of a connection's stream.
pub(crate) enum WriteHalf {
    Plain(OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<TlsStream<TcpStream>>),
}

impl AsyncRead for ReadHalf {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Plain(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Tls(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_write(cx, buf),
            WriteHalf::Tls(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            WriteHalf::Tls(w) => Pin::new(w).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WriteHalf::Plain(w) => w.is_write_vectored(),
            WriteHalf::Tls(w) => w.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_flush(cx),
            WriteHalf::Tls(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_shutdown(cx),
            WriteHalf::Tls(w) => Pin::new(w).poll_shutdown(cx),
        }
    }
}

/// The verifier behind [`TlsTrust::DangerAcceptAnyCertificate`]: any certificate passes, but
/// the handshake signatures are still checked, so the session keys belong to that certificate.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_come_from_the_host() {
        assert!(matches!(server_name_of("127.0.0.1:10911"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name_of("[::1]:10911"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name_of("broker-a.local:10911"), Ok(ServerName::DnsName(_))));
        assert!(server_name_of("bad name:1").is_err());
    }

    #[test]
    fn bad_files_are_config_errors() {
        let dir = std::env::temp_dir().join(format!("arm-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let err = Transport::new(Some(&TlsConfig::with_ca_file(&empty))).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        let err = Transport::new(Some(&TlsConfig::danger_accept_any_certificate().with_client_certificate(&empty, &empty)))
            .unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

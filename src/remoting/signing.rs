//! Request signing for clusters with authentication on (Java's `AclClientRPCHook`).
//!
//! One [`Signer`] per client instance, applied by every [`Connection`](super::Connection) to
//! every request it writes (sends of all kinds, heartbeats, unregistration, route and name-server
//! requests, one-way requests alike), never to responses. What is signed and how a refusal reads
//! lives in [`crate::protocol::acl`].

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::protocol::acl::{signed_parts, ACCESS_KEY, SECURITY_TOKEN, SIGNATURE};
use crate::protocol::RemotingCommand;

/// A string that never shows itself: `Debug` prints `"***"`, and there is no `Display`.
///
/// ```
/// use actix_rocketmq::remoting::signing::Secret;
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?}"), "\"***\"");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(Secret)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// ACL credentials: an ACL 2.0 user name and password (ACL 1.0's access key and secret key),
/// and an optional session token.
///
/// `Debug` shows the user name only:
///
/// ```
/// use actix_rocketmq::Credentials;
/// let c = Credentials::new("alice", "alice-secret").with_security_token("sts-token");
/// let shown = format!("{c:?}");
/// assert!(shown.contains("alice") && !shown.contains("alice-secret") && !shown.contains("sts-token"));
/// ```
///
/// In a configuration file: `credentials = { access_key = "alice", secret_key = "..." }`.
/// Serializing leaves the secret and the token out, so a configuration written back (e.g. for a
/// status page) never shows them; reading such a file again fails with "missing field".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The user name (`AccessKey` on the wire).
    pub access_key: String,
    /// The password / secret key: the HMAC key, never sent.
    #[serde(skip_serializing)]
    pub secret_key: Secret,
    /// Sent as `SecurityToken` when set (temporary credentials).
    #[serde(default, skip_serializing)]
    pub security_token: Option<Secret>,
}

impl Credentials {
    /// A user name and its secret.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<Secret>) -> Self {
        Credentials { access_key: access_key.into(), secret_key: secret_key.into(), security_token: None }
    }

    /// Adds a session token.
    pub fn with_security_token(mut self, token: impl Into<Secret>) -> Self {
        self.security_token = Some(token.into());
        self
    }
}

/// Signs requests with one set of [`Credentials`].
///
/// ```
/// use actix_rocketmq::protocol::RemotingCommand;
/// use actix_rocketmq::remoting::signing::Signer;
/// use actix_rocketmq::Credentials;
///
/// let signer = Signer::new(Credentials::new("alice", "alice-secret-1"));
/// let mut cmd = RemotingCommand::request(310).with_body("hello".into());
/// cmd.ext_fields.insert("a", "TopicTest");
/// cmd.ext_fields.insert("b", "PG");
/// signer.sign(&mut cmd);
/// assert_eq!(cmd.ext("AccessKey"), Some("alice"));
/// // base64(HmacSHA1("alice-secret-1", "alice" + "TopicTest" + "PG" + "hello"))
/// assert_eq!(cmd.ext("Signature"), Some("OiubK+8CTQjR5r/wIZVdQeb9+mw="));
/// ```
#[derive(Clone)]
pub struct Signer {
    access_key: String,
    security_token: Option<Secret>,
    /// The HMAC state after absorbing the secret key (the only place the key is kept): cloning it
    /// skips the key schedule per request.
    keyed: Hmac<Sha1>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("access_key", &self.access_key).finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        // HMAC takes keys of any length, so this cannot fail.
        let keyed = match Hmac::<Sha1>::new_from_slice(credentials.secret_key.expose().as_bytes()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        };
        Signer { access_key: credentials.access_key, security_token: credentials.security_token, keyed }
    }

    /// The user name requests are signed as.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// Adds `AccessKey`, `SecurityToken` (if any) and `Signature` to a request. A signature left
    /// from an earlier attempt is not signed over (`signed_parts` leaves it out) and is replaced,
    /// so a resent command is signed afresh.
    pub fn sign(&self, cmd: &mut RemotingCommand) {
        let ext = &mut cmd.ext_fields;
        ext.insert(ACCESS_KEY, self.access_key.clone());
        if let Some(token) = &self.security_token {
            ext.insert(SECURITY_TOKEN, token.expose().to_string());
        }
        let mut mac = self.keyed.clone();
        for part in signed_parts(ext.iter(), &cmd.body) {
            mac.update(part);
        }
        let signature = BASE64.encode(mac.finalize().into_bytes());
        ext.insert(SIGNATURE, signature);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> RemotingCommand {
        let mut cmd = RemotingCommand::request(310);
        cmd.ext_fields.insert("b", "PG");
        cmd.ext_fields.insert("a", "TopicTest");
        cmd
    }

    #[test]
    fn token_is_signed_and_sent() {
        // Reference from Python's hmac: base64(HmacSHA1("s", "alice" + "tok" + "TopicTest" + "PG")).
        let signer = Signer::new(Credentials::new("alice", "s").with_security_token("tok"));
        let mut c = cmd();
        signer.sign(&mut c);
        assert_eq!(c.ext("SecurityToken"), Some("tok"));
        assert_eq!(c.ext("Signature"), Some("3oYoMoRFfSlpWFhzLjKZ3W/4d2Q="));
        // Signing again (a retry) gives the same fields, not a signature over the old signature.
        let first = c.ext_fields.clone();
        signer.sign(&mut c);
        assert_eq!(c.ext_fields, first);
    }

    #[test]
    fn body_and_fields_change_the_signature() {
        let signer = Signer::new(Credentials::new("alice", "s"));
        let sig = |c: RemotingCommand| {
            let mut c = c;
            signer.sign(&mut c);
            c.ext("Signature").map(str::to_string)
        };
        let base = sig(cmd());
        assert_ne!(base, sig(cmd().with_body("x".into())));
        let mut other = cmd();
        other.ext_fields.insert("a", "Other");
        assert_ne!(base, sig(other));
    }

    #[test]
    fn debug_hides_the_secret() {
        let signer = Signer::new(Credentials::new("alice", "very-secret").with_security_token("tok-123"));
        let shown = format!("{signer:?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("very-secret") && !shown.contains("tok-123"));
    }
}

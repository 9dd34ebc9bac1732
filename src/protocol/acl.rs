//! ACL 2.0 request signing (what is signed, and how the broker says no), without I/O or keys
//! (docs/PROTOCOL.md, ACL signing).
//!
//! A 5.x broker with authentication on checks every request (Apache RocketMQ
//! `DefaultAuthenticationContextBuilder` and `DefaultAuthenticationHandler` in the `auth` module):
//! the ext fields `AccessKey` (the user name), optional `SecurityToken`, and `Signature` =
//! base64(HmacSHA1(secret, data)), where `data` is the values of every other ext field in key
//! order followed by the raw body. The client side is `AclClientRPCHook` / `AclUtils`.
//!
//! A refused request is answered with code 16 (NO_PERMISSION) and the exception text as the
//! remark; [`AuthRefusal::from_remark`] tells those apart from the broker's other code-16 answers
//! (a topic or broker that is not writable), which are not about who is asking.

use std::cmp::Ordering;

/// Ext field carrying the user name (ACL 1.0 called it the access key).
pub const ACCESS_KEY: &str = "AccessKey";
/// Ext field carrying the optional session token.
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// Ext field carrying the signature; the one field the signature does not cover.
pub const SIGNATURE: &str = "Signature";

/// Orders ext field keys as Java's `TreeMap<String, _>` does: by UTF-16 code units, which only
/// differs from byte order for characters outside the Basic Multilingual Plane.
///
/// ```
/// use std::cmp::Ordering;
/// use actix_rocketmq::protocol::acl::java_key_order;
/// assert_eq!(java_key_order("AccessKey", "a"), Ordering::Less);
/// assert_eq!(java_key_order("b", "SecurityToken"), Ordering::Greater);
/// // U+FF5E sorts after U+1F600 in UTF-8 bytes, before it in UTF-16 units.
/// assert_eq!(java_key_order("\u{1F600}", "\u{FF5E}"), Ordering::Less);
/// ```
pub fn java_key_order(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The pieces of a request the signature covers, in signing order: ext field values sorted by
/// key (without [`SIGNATURE`]), then the body.
///
/// ```
/// use actix_rocketmq::protocol::acl::signed_parts;
/// let fields = [("b", "2"), ("AccessKey", "alice"), ("a", "1"), ("Signature", "old")];
/// let parts: Vec<&[u8]> = signed_parts(fields.iter().copied(), b"body").collect();
/// assert_eq!(parts, [&b"alice"[..], b"1", b"2", b"body"]);
/// ```
pub fn signed_parts<'a>(fields: impl Iterator<Item = (&'a str, &'a str)>, body: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut sorted: Vec<(&str, &str)> = fields.filter(|(k, _)| *k != SIGNATURE).collect();
    sorted.sort_by(|x, y| java_key_order(x.0, y.0));
    sorted.into_iter().map(|(_, v)| v.as_bytes()).chain(std::iter::once(body))
}

/// Why a broker refused a request's credentials (a code-16 answer from the authentication or
/// authorization chain).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum AuthRefusal {
    /// The request carried no user name: the producer has no credentials, the cluster wants them.
    #[error("the broker requires credentials and the request had none")]
    MissingCredentials,
    /// The signature did not match: wrong secret key.
    #[error("the signature was refused: wrong secret key")]
    BadSignature,
    /// The broker has no such user.
    #[error("the broker does not know user {user:?}")]
    UnknownUser {
        /// The user name the broker did not find.
        user: String,
    },
    /// The user exists but is disabled.
    #[error("user {user:?} is disabled")]
    DisabledUser {
        /// The disabled user's name.
        user: String,
    },
    /// Authenticated, but no policy allows this user this action on this resource (or one denies it).
    #[error("the user has no permission for this request")]
    NoPermission,
}

impl AuthRefusal {
    /// Reads a code-16 remark; `None` when it is not about the caller's credentials (e.g. "the
    /// topic[..] sending message is forbidden" from a topic that is not writable).
    ///
    /// ```
    /// use actix_rocketmq::protocol::acl::AuthRefusal;
    /// assert_eq!(AuthRefusal::from_remark("check signature failed."), Some(AuthRefusal::BadSignature));
    /// assert_eq!(
    ///     AuthRefusal::from_remark("User:bob is not found."),
    ///     Some(AuthRefusal::UnknownUser { user: "bob".into() })
    /// );
    /// assert_eq!(
    ///     AuthRefusal::from_remark("User:alice has no permission to access Topic:T from 127.0.0.1, no matched policies."),
    ///     Some(AuthRefusal::NoPermission)
    /// );
    /// assert_eq!(AuthRefusal::from_remark("the topic[T] sending message is forbidden"), None);
    /// ```
    pub fn from_remark(remark: &str) -> Option<AuthRefusal> {
        let r = remark.trim();
        if r.starts_with("username cannot be null") {
            return Some(AuthRefusal::MissingCredentials);
        }
        if r.starts_with("check signature failed") {
            return Some(AuthRefusal::BadSignature);
        }
        if let Some(rest) = r.strip_prefix("User:") {
            if let Some(user) = rest.strip_suffix(" is not found.") {
                return Some(AuthRefusal::UnknownUser { user: user.to_string() });
            }
            if let Some(user) = rest.strip_suffix(" is disabled.") {
                return Some(AuthRefusal::DisabledUser { user: user.to_string() });
            }
            if rest.contains(" has no permission to access ") {
                return Some(AuthRefusal::NoPermission);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_remarks_of_a_5_3_3_broker() {
        let deny = "User:alice has no permission to access Topic:T from 127.0.0.1, the decision is deny.";
        assert_eq!(AuthRefusal::from_remark(deny), Some(AuthRefusal::NoPermission));
        assert_eq!(AuthRefusal::from_remark("username cannot be null."), Some(AuthRefusal::MissingCredentials));
        assert_eq!(AuthRefusal::from_remark("User:x is disabled."), Some(AuthRefusal::DisabledUser { user: "x".into() }));
        assert_eq!(AuthRefusal::from_remark("the broker[b] sending message is forbidden"), None);
        assert_eq!(AuthRefusal::from_remark(""), None);
        assert_eq!(AuthRefusal::from_remark("User:"), None);
    }

    #[test]
    fn signing_order_is_javas() {
        let fields = [("z", "3"), ("B", "1"), ("a", "2"), (SIGNATURE, "x")];
        let got: Vec<&[u8]> = signed_parts(fields.iter().copied(), b"").collect();
        assert_eq!(got, [&b"1"[..], b"2", b"3", b""]);
    }
}

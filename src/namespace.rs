//! Namespaces: `ns%resource` on the wire, the bare name in what users see.

/// Retry and dead-letter topics carry the namespace after their prefix (Java `NamespaceUtil`).
const SYSTEM_PREFIXES: [&str; 2] = ["%RETRY%", "%DLQ%"];

/// `resource` wrapped into `namespace` (unchanged when already wrapped or when no namespace).
///
/// ```
/// use actix_rocketmq::producer::namespace::{wrap, unwrap};
/// assert_eq!(wrap(Some("ns"), "orders"), "ns%orders");
/// assert_eq!(wrap(Some("ns"), "ns%orders"), "ns%orders");
/// assert_eq!(wrap(None, "orders"), "orders");
/// assert_eq!(unwrap(Some("ns"), "ns%orders"), "orders");
/// ```
pub fn wrap(namespace: Option<&str>, resource: &str) -> String {
    let Some(ns) = namespace.filter(|n| !n.is_empty()) else { return resource.to_string() };
    let prefix = format!("{ns}%");
    for sys in SYSTEM_PREFIXES {
        if let Some(rest) = resource.strip_prefix(sys) {
            if rest.starts_with(&prefix) {
                return resource.to_string();
            }
            return format!("{sys}{prefix}{rest}");
        }
    }
    if resource.starts_with(&prefix) {
        resource.to_string()
    } else {
        format!("{prefix}{resource}")
    }
}

/// `resource` without the namespace prefix.
pub fn unwrap(namespace: Option<&str>, resource: &str) -> String {
    let Some(ns) = namespace.filter(|n| !n.is_empty()) else { return resource.to_string() };
    let prefix = format!("{ns}%");
    for sys in SYSTEM_PREFIXES {
        if let Some(rest) = resource.strip_prefix(sys) {
            return format!("{sys}{}", rest.strip_prefix(&prefix).unwrap_or(rest));
        }
    }
    resource.strip_prefix(&prefix).unwrap_or(resource).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_topics_keep_their_prefix_first() {
        assert_eq!(wrap(Some("ns"), "%RETRY%g"), "%RETRY%ns%g");
        assert_eq!(wrap(Some("ns"), "%RETRY%ns%g"), "%RETRY%ns%g");
        assert_eq!(unwrap(Some("ns"), "%RETRY%ns%g"), "%RETRY%g");
        assert_eq!(unwrap(Some(""), "x%y"), "x%y");
        assert_eq!(unwrap(Some("ns"), "other%y"), "other%y");
    }
}

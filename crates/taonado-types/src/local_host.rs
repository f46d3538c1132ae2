//! Which `Host` header a local server (the dev chain, the monitor's dashboard) answers.
//!
//! A web page can make the operator's browser send requests to 127.0.0.1; with DNS
//! rebinding it can even read the answers, but only under a host name it controls. A
//! server that answers only `localhost` and IP literals (and the names its operator lists)
//! is out of that page's reach.

use std::net::IpAddr;

/// True when `host` (a `Host` header value: `name`, `name:port`, `v4:port` or `[v6]:port`)
/// names this machine by `localhost` or an IP literal, or is one of `extra` (names the
/// operator allowed, compared without the port and case).
pub fn is_allowed_local_host(host: &str, extra: &[String]) -> bool {
    let name = host_name(host.trim());
    if name.is_empty() {
        return false;
    }
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok()
        || extra
            .iter()
            .any(|e| host_name(e).eq_ignore_ascii_case(name))
}

/// The host part of `host[:port]`, without IPv6 brackets.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    // One colon: `name:port`; more: a bare IPv6 address.
    match host.matches(':').count() {
        1 => host.split(':').next().unwrap_or_default(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_and_ip_literals_pass_and_other_names_do_not() {
        for ok in [
            "localhost",
            "LOCALHOST:8545",
            "127.0.0.1",
            "127.0.0.1:8545",
            "[::1]:8545",
            "::1",
            "10.0.0.5:8545",
        ] {
            assert!(is_allowed_local_host(ok, &[]), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8545",
            "localhost.evil.example",
            "",
            ":8545",
        ] {
            assert!(!is_allowed_local_host(bad, &[]), "{bad}");
        }
        let extra = vec!["devbox.lan".to_owned()];
        assert!(is_allowed_local_host("DevBox.lan:8545", &extra));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(host in ".{0,60}") {
            let _ = is_allowed_local_host(&host, &[]);
        }
    }
}

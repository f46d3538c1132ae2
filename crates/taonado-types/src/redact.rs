//! URLs shown without what may be a credential. An RPC provider's API key sits in the user
//! info, the path or the query (`https://eth.example/v2/KEY`, `?apikey=KEY`), and a Slack or
//! Discord webhook's token in the path: text shown to an operator or written to a log keeps
//! only `scheme://host:port`, and marks what it dropped with `/…`.

use std::borrow::Cow;
use std::fmt;

/// A URL (or any text holding URLs) that displays redacted.
#[derive(Clone, Copy, Debug)]
pub struct RedactedUrl<'a>(pub &'a str);

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_urls(self.0))
    }
}

/// `text` with every `scheme://…` in it cut to `scheme://host[:port]`, plus `/…` where a
/// user info, path, query or fragment was dropped.
pub fn redact_urls(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The scheme: the letters right before "://".
        let scheme_start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(at, |(i, _)| i);
        out.push_str(&rest[..scheme_start]);
        let scheme = &rest[scheme_start..at];
        let after = &rest[at + 3..];
        // `…` ends an already redacted URL, so redacting twice changes nothing.
        let end = after
            .find(|c: char| {
                c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | '<' | ']' | '`' | '…')
            })
            .unwrap_or(after.len());
        let url = &after[..end];
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let authority = &url[..authority_end];
        let (had_userinfo, host) = match authority.rfind('@') {
            Some(i) => (true, &authority[i + 1..]),
            None => (false, authority),
        };
        let tail = &url[authority_end..];
        out.push_str(scheme);
        out.push_str("://");
        out.push_str(host);
        if had_userinfo || !(tail.is_empty() || tail == "/") {
            out.push_str("/…");
        } else {
            out.push_str(tail);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_any_part_are_dropped() {
        for (input, shown) in [
            ("https://eth.example/v2/SECRETKEY", "https://eth.example/…"),
            (
                "https://user:SECRET@rpc.example:8443",
                "https://rpc.example:8443/…",
            ),
            (
                "https://rpc.example/?apikey=SECRET",
                "https://rpc.example/…",
            ),
            ("http://127.0.0.1:8545/", "http://127.0.0.1:8545/"),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            (
                "error sending request for url (https://hooks.example/services/T/B/SECRET): refused",
                "error sending request for url (https://hooks.example/…): refused",
            ),
            ("no url here", "no url here"),
            (
                "at https://rpc.example/…: refused",
                "at https://rpc.example/…: refused",
            ),
            (
                "a http://a.example/x and ws://b.example:1/SECRET",
                "a http://a.example/… and ws://b.example:1/…",
            ),
        ] {
            assert_eq!(redact_urls(input), shown, "{input}");
            assert_eq!(RedactedUrl(input).to_string(), shown);
            assert_eq!(redact_urls(shown), shown, "redacting twice changes nothing");
        }
    }

    proptest::proptest! {
        /// Whatever surrounds it, a secret in a URL's user info, path or query never shows.
        #[test]
        fn a_secret_never_survives(
            before in "[ a-z(]{0,10}",
            host in "[a-z]{1,8}(\\.[a-z]{2,3})?(:[0-9]{1,5})?",
            place in 0usize..3,
            after in "[ )a-z]{0,10}",
        ) {
            let secret = "S3CR3TTOKEN";
            let url = match place {
                0 => format!("https://user:{secret}@{host}/"),
                1 => format!("https://{host}/v2/{secret}"),
                _ => format!("https://{host}/?key={secret}"),
            };
            let text = format!("{before}{url}{after}");
            let shown = redact_urls(&text);
            proptest::prop_assert!(!shown.contains(secret), "{}", shown);
        }

        #[test]
        fn never_panics(text in ".{0,80}") {
            let _ = redact_urls(&text);
        }
    }
}

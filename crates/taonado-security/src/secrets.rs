//! Recognising a private key or a mnemonic written in plain text, without ever keeping it:
//! what is returned names the line, never its content.

/// A 32-byte hex private key: 64 hex digits, `0x` optional.
pub(crate) fn looks_like_private_key(token: &str) -> bool {
    let hex = token.strip_prefix("0x").unwrap_or(token);
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A BIP-39 mnemonic's shape: 12, 15, 18, 21 or 24 words of 3 to 8 lowercase letters
/// (every English BIP-39 word is).
pub(crate) fn looks_like_mnemonic(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    matches!(words.len(), 12 | 15 | 18 | 21 | 24)
        && words
            .iter()
            .all(|w| (3..=8).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Whether a setting's or a variable's name says it holds a secret.
pub(crate) fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["key", "secret", "private", "mnemonic", "seed", "phrase"]
        .iter()
        .any(|word| name.contains(word))
}

/// What a value holds, if it is a secret in plain text.
pub(crate) fn secret_in_value(name: &str, value: &str) -> Option<&'static str> {
    let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if looks_like_mnemonic(value) {
        return Some("a mnemonic");
    }
    (secret_name(name) && looks_like_private_key(value)).then_some("a private key")
}

/// `name = value` and `NAME=value` lines (TOML, `.env`) holding a secret: (line number,
/// what), 1-based.
pub(crate) fn scan_assignments(text: &str) -> Vec<(usize, &'static str)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim().trim_start_matches("export ");
            if line.starts_with('#') {
                return None;
            }
            let (name, value) = line.split_once('=')?;
            secret_in_value(name.trim(), value).map(|what| (i + 1, what))
        })
        .collect()
}

/// Shell history lines that pass a secret on the command line: a private key next to a
/// flag or variable that names one, or a mnemonic in quotes.
pub(crate) fn scan_history(text: &str) -> Vec<(usize, &'static str)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            // zsh's extended history: `: 1700000000:0;command`
            let command = line
                .split_once(';')
                .filter(|_| line.starts_with(": "))
                .map_or(line, |(_, c)| c);
            let names_a_key = secret_name(command)
                && command
                    .split(|c: char| c.is_whitespace() || c == '=' || c == '"' || c == '\'')
                    .any(looks_like_private_key);
            if names_a_key {
                return Some((i + 1, "a private key"));
            }
            command
                .split(['"', '\''])
                .skip(1)
                .step_by(2)
                .any(looks_like_mnemonic)
                .then_some((i + 1, "a mnemonic"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const WORDS: &str = "test test test test test test test test test test test junk";

    #[test]
    fn assignments_with_a_key_or_a_mnemonic_are_found_by_line() {
        let text = format!(
            "[networks.local]\nrpc_url = \"http://x\"\nprivate_key = \"{KEY}\"\n# private_key = \"{KEY}\"\ntx = \"{KEY}\"\nexport MNEMONIC=\"{WORDS}\"\n"
        );
        // A hash under a name that says nothing secret is not a key.
        assert_eq!(
            scan_assignments(&text),
            vec![(3, "a private key"), (6, "a mnemonic")]
        );
    }

    #[test]
    fn history_lines_passing_a_key_or_a_mnemonic_are_found() {
        let text = format!(
            "cast tx {KEY}\ncast send --private-key {KEY} 0x1\n: 1700000000:0;export TAONADO_PRIVATE_KEY={KEY}\ncast wallet import x --mnemonic \"{WORDS}\"\nls -la\n"
        );
        assert_eq!(
            scan_history(&text),
            vec![
                (2, "a private key"),
                (3, "a private key"),
                (4, "a mnemonic")
            ]
        );
    }

    proptest! {
        #[test]
        fn only_64_hex_digits_are_a_key(s in "(0x)?[0-9a-fA-F]{0,70}") {
            let hex = s.strip_prefix("0x").unwrap_or(&s);
            prop_assert_eq!(looks_like_private_key(&s), hex.len() == 64);
        }

        #[test]
        fn a_mnemonic_has_a_bip39_word_count(n in 1usize..30) {
            let text = vec!["abandon"; n].join(" ");
            prop_assert_eq!(looks_like_mnemonic(&text), [12, 15, 18, 21, 24].contains(&n));
        }

        #[test]
        fn scanning_never_panics(text in "\\PC{0,300}") {
            let _ = scan_assignments(&text);
            let _ = scan_history(&text);
        }
    }
}

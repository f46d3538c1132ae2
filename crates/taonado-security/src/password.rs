//! New keystore passwords are checked with zxcvbn (Dropbox's estimator: dictionaries,
//! keyboard patterns, dates, repeats, l33t), and refused below "safely unguessable"
//! (score 3 of 4: about 10¹⁰ guesses). The password itself never enters an error.

/// The least zxcvbn score a new password must reach.
pub const MIN_SCORE: u8 = 3;

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the new password is too weak (strength {score} of 4, at least {MIN_SCORE} needed){advice} Nothing was written."
)]
pub struct WeakPassword {
    pub score: u8,
    /// zxcvbn's warning and suggestions, as one clause.
    pub advice: String,
}

/// Accepts `password` for a new keystore if it is strong enough; `context` lists words an
/// attacker would try first (the account name, the network).
pub fn check_new_password(password: &str, context: &[&str]) -> Result<(), WeakPassword> {
    let estimate = zxcvbn::zxcvbn(password, context);
    let score = u8::from(estimate.score());
    if score >= MIN_SCORE {
        return Ok(());
    }
    let mut advice: Vec<String> = Vec::new();
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            advice.push(warning.to_string());
        }
        advice.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    Err(WeakPassword {
        score,
        advice: if advice.is_empty() {
            ".".to_owned()
        } else {
            let text = advice.join(" ");
            let end = if text.ends_with('.') { "" } else { "." };
            format!(": {text}{end}")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_without_echoing_them() {
        for weak in [
            "",
            "password",
            "taonado-e2e",
            "hunter2",
            "qwerty123",
            "letmein1",
        ] {
            let error = check_new_password(weak, &["taonado", "deployer"]).expect_err(weak);
            assert!(error.score < MIN_SCORE);
            // ("password" is a word of zxcvbn's own advice.)
            if !weak.is_empty() && weak != "password" {
                assert!(!error.to_string().contains(weak), "{error}");
            }
        }
        // The account name is the first thing an attacker tries.
        assert!(check_new_password("taonadodeployer", &["deployer", "taonado"]).is_err());
    }

    #[test]
    fn strong_passwords_pass() {
        for strong in [
            "correct horse battery staple 42",
            "v8#Qm2!tZr9&Lp",
            "plum-orbit-Vexed-97-lantern",
        ] {
            assert_eq!(check_new_password(strong, &["taonado"]), Ok(()), "{strong}");
        }
    }
}

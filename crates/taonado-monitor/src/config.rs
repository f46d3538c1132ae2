//! The monitor's config file (TOML): alert rule thresholds, notification channels and the
//! delivery policy. The CLI reads the file and the environment; this module only parses
//! text and takes secrets through a lookup function, so the library never reads either.
//!
//! ```toml
//! [rules]                      # every key optional; defaults are the operations manual's
//! window_blocks = 100          # blocks the rate/average rules look back over
//! min_transactions = 5         # below this many txs in the window, no success-rate alert
//! tx_success_rate_min = 0.95
//! avg_gas_price_max_gwei = 50.0
//! weight_interval_max_blocks = 120
//! gas_used_max = 2000000
//! validator_balance_min_tao = "0.1"
//! gas_spike_factor = 3.0       # health: current gas price above factor x window average
//! disabled = ["self_withdrawal"]
//!
//! [rules.compliance]           # the mixer heuristics (`taonado compliance`); these are the defaults
//! rapid_max_blocks = 25        # a withdrawal this close to a deposit to its pool is rapid ...
//! small_anonymity_set = 5      # ... while the pool holds at most this many unspent deposits
//! structuring_min_deposits = 3 # this many deposits by one address ...
//! structuring_min_pools = 2    # ... into this many pools ...
//! structuring_window_blocks = 300  # ... within this many blocks
//! multi_denomination_window_blocks = 7200
//! retention_minimum = "5y"     # the legal minimum: a shorter retention policy is refused
//!
//! [[channels]]
//! name = "ops"
//! kind = "webhook"             # webhook | slack | discord | email
//! url = "https://example.org/hook"
//! secret_env = "TAONADO_WEBHOOK_SECRET"   # HMAC key, read from this variable
//!
//! [[channels]]
//! name = "mail"
//! kind = "email"
//! smtp_url = "smtp://mail.example.org:587?tls=required"
//! username = "alerts"
//! password_env = "TAONADO_SMTP_PASSWORD"
//! from = "taonado <alerts@example.org>"
//! to = ["oncall@example.org"]
//!
//! [delivery]
//! base_backoff_secs = 5
//! max_backoff_secs = 600
//! max_attempts = 20
//! max_age_secs = 86400   # give up (dead letter) a day after queueing
//!
//! [grouping]             # Alertmanager's route timers; these are the defaults
//! group_by = "rule"      # rule | alert (no grouping)
//! group_wait_secs = 30   # a new group gathers this long before its first message
//! critical_group_wait_secs = 0   # ... when its new alert is critical: at once
//! group_interval_secs = 300      # changes in a group go out together, this far apart
//! repeat_interval_secs = 14400   # a group still firing is told again (0: never)
//!
//! [incidents]            # response targets (the manual's); see `crate::incidents`
//! p0_response_secs = 900
//! p1_response_secs = 3600
//! p2_response_secs = 14400
//! p3_response_secs = 86400
//! open_on_critical = true        # a critical alert opens a P0 incident
//! ```

use alloy::primitives::U256;
use serde::Deserialize;

use crate::error::{MonitorError, Result};
pub use crate::incidents::IncidentSettings;
use crate::rule_names::{OTHER_RULES, RULES};
pub use taonado_store::groups::{GroupBy, Grouping};

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorFile {
    #[serde(default)]
    pub rules: RuleSettings,
    #[serde(default)]
    pub channels: Vec<ChannelSpec>,
    #[serde(default)]
    pub delivery: DeliveryPolicy,
    #[serde(default)]
    pub grouping: Grouping,
    #[serde(default)]
    pub incidents: IncidentSettings,
}

impl MonitorFile {
    /// Parses and checks the file's text.
    pub fn parse(text: &str) -> Result<Self> {
        let file: MonitorFile =
            // toml's message draws the line with a caret over several lines: one line here.
            toml::from_str(text).map_err(|e| {
                MonitorError::Config(e.to_string().trim_end().replace('\n', " "))
            })?;
        file.rules.check()?;
        file.incidents.check()?;
        let mut names = std::collections::BTreeSet::new();
        for channel in &file.channels {
            if !names.insert(channel.name.as_str()) {
                return Err(MonitorError::Config(format!(
                    "channel name `{}` is used twice",
                    channel.name
                )));
            }
        }
        Ok(file)
    }

    /// No file: the manual's rules and no channels.
    pub fn empty() -> Self {
        Self {
            rules: RuleSettings::default(),
            channels: Vec::new(),
            delivery: DeliveryPolicy::default(),
            grouping: Grouping::default(),
            incidents: IncidentSettings::default(),
        }
    }
}

/// Alert thresholds. `Default` is the operations manual's values.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RuleSettings {
    pub window_blocks: u64,
    pub min_transactions: u64,
    pub tx_success_rate_min: f64,
    pub avg_gas_price_max_gwei: f64,
    pub weight_interval_max_blocks: u64,
    pub gas_used_max: u64,
    /// In TAO, as text ("0.1") so that no precision is lost.
    pub validator_balance_min_tao: String,
    pub gas_spike_factor: f64,
    /// Rule names (see [`RULES`](crate::rule_names::RULES)) that never fire.
    pub disabled: Vec<String>,
    /// The compliance rules' thresholds (`[rules.compliance]`).
    pub compliance: crate::rules::compliance::ComplianceSettings,
}

impl Default for RuleSettings {
    fn default() -> Self {
        Self {
            window_blocks: 100,
            min_transactions: 5,
            tx_success_rate_min: 0.95,
            avg_gas_price_max_gwei: 50.0,
            weight_interval_max_blocks: 120,
            gas_used_max: 2_000_000,
            validator_balance_min_tao: "0.1".into(),
            gas_spike_factor: 3.0,
            disabled: Vec::new(),
            compliance: crate::rules::compliance::ComplianceSettings::default(),
        }
    }
}

impl RuleSettings {
    fn check(&self) -> Result<()> {
        let known = || RULES.iter().chain(OTHER_RULES);
        if let Some(unknown) = self
            .disabled
            .iter()
            .find(|d| !known().any(|r| r == &d.as_str()))
        {
            let names: Vec<&str> = known().copied().collect();
            return Err(MonitorError::Config(format!(
                "unknown rule `{unknown}` in rules.disabled; known rules: {}",
                names.join(", ")
            )));
        }
        if !(0.0..=1.0).contains(&self.tx_success_rate_min) {
            return Err(MonitorError::Config(
                "rules.tx_success_rate_min must be between 0 and 1".into(),
            ));
        }
        if self.window_blocks == 0 {
            return Err(MonitorError::Config(
                "rules.window_blocks must be at least 1".into(),
            ));
        }
        self.validator_balance_min()?;
        self.compliance.check()
    }

    /// The low-balance threshold in wei.
    pub fn validator_balance_min(&self) -> Result<U256> {
        taonado_types::parse_tao(&self.validator_balance_min_tao).map_err(|e| {
            MonitorError::Config(format!(
                "rules.validator_balance_min_tao `{}`: {e}",
                self.validator_balance_min_tao
            ))
        })
    }

    pub fn enabled(&self, rule: &str) -> bool {
        !self.disabled.iter().any(|d| d == rule)
    }
}

/// One notification channel.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelKind {
    /// JSON body signed with HMAC-SHA256 (`X-Taonado-Signature`, `X-Taonado-Timestamp`).
    Webhook {
        url: url::Url,
        /// Environment variable holding the HMAC key.
        secret_env: String,
    },
    /// Slack incoming webhook (`{"text": ...}`).
    Slack { url: url::Url },
    /// Discord webhook (`{"content": ...}`).
    Discord { url: url::Url },
    /// E-mail over SMTP (`smtp://`, `smtps://`, `?tls=required`).
    Email {
        smtp_url: String,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password_env: Option<String>,
        from: String,
        to: Vec<String>,
    },
}

/// A named channel.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: String,
    #[serde(flatten)]
    pub kind: ChannelKind,
}

/// Retry schedule of the outbox.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryPolicy {
    pub base_backoff_secs: u64,
    pub max_backoff_secs: u64,
    pub max_attempts: u32,
    /// How long a message being sent stays hidden from other senders.
    pub lease_secs: u64,
    /// A message still undelivered this long after it was queued is given up (a dead
    /// letter); retries stop at `max_attempts` or here, whichever comes first.
    pub max_age_secs: u64,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            base_backoff_secs: 5,
            max_backoff_secs: 600,
            max_attempts: 20,
            lease_secs: 60,
            max_age_secs: 24 * 3600,
        }
    }
}

impl DeliveryPolicy {
    /// When attempt number `attempts` (1-based) failed at `now`, the next try: exponential
    /// backoff capped at `max_backoff_secs`, or `None` once `max_attempts` is reached.
    pub fn next_attempt(&self, attempts: u32, now: u64) -> Option<u64> {
        if attempts >= self.max_attempts {
            return None;
        }
        let factor = 1u64
            .checked_shl(attempts.saturating_sub(1))
            .unwrap_or(u64::MAX);
        let delay = self
            .base_backoff_secs
            .saturating_mul(factor)
            .min(self.max_backoff_secs);
        Some(now.saturating_add(delay))
    }

    /// [`DeliveryPolicy::next_attempt`] for a message queued at `queued_at`: `None` also
    /// once the next try would fall past `max_age_secs`.
    pub fn retry_at(&self, attempts: u32, queued_at: u64, now: u64) -> Option<u64> {
        self.next_attempt(attempts, now)
            .filter(|at| *at <= queued_at.saturating_add(self.max_age_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_has_the_manuals_thresholds() {
        let file = MonitorFile::parse("").unwrap();
        assert_eq!(file.rules.tx_success_rate_min, 0.95);
        assert_eq!(file.rules.avg_gas_price_max_gwei, 50.0);
        assert_eq!(file.rules.weight_interval_max_blocks, 120);
        assert_eq!(file.rules.gas_used_max, 2_000_000);
        assert!(file.channels.is_empty());
        assert_eq!(file.grouping, Grouping::default());
        assert_eq!(file.grouping.group_interval_secs, 300);
    }

    #[test]
    fn grouping_is_configurable() {
        let file = MonitorFile::parse(
            "[grouping]\ngroup_by = \"alert\"\ngroup_wait_secs = 5\nrepeat_interval_secs = 0",
        )
        .unwrap();
        assert_eq!(file.grouping.group_by, GroupBy::Alert);
        assert_eq!(file.grouping.group_wait_secs, 5);
        assert_eq!(file.grouping.repeat_interval_secs, 0);
        assert_eq!(file.grouping.group_interval_secs, 300);
        let err = MonitorFile::parse("[grouping]\ngroup_by = \"host\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("group_by") || err.contains("unknown variant"),
            "{err}"
        );
    }

    #[test]
    fn channels_parse_by_kind() {
        let file = MonitorFile::parse(
            r#"
            [rules]
            gas_used_max = 10
            disabled = ["self_withdrawal"]
            [[channels]]
            name = "hook"
            kind = "webhook"
            url = "http://127.0.0.1:1/x"
            secret_env = "S"
            [[channels]]
            name = "slack"
            kind = "slack"
            url = "http://127.0.0.1:1/s"
            [[channels]]
            name = "mail"
            kind = "email"
            smtp_url = "smtp://127.0.0.1:25"
            from = "a@b.c"
            to = ["d@e.f"]
            "#,
        )
        .unwrap();
        assert_eq!(file.rules.gas_used_max, 10);
        assert!(!file.rules.enabled("self_withdrawal"));
        assert_eq!(file.channels.len(), 3);
        assert!(matches!(file.channels[2].kind, ChannelKind::Email { .. }));
    }

    #[test]
    fn mistakes_are_refused_with_the_reason() {
        for (text, needle) in [
            ("[rules]\ndisabled = [\"nope\"]", "unknown rule"),
            ("[rules]\ntx_success_rate_min = 2.0", "between 0 and 1"),
            (
                "[rules]\nvalidator_balance_min_tao = \"x\"",
                "validator_balance_min_tao",
            ),
            ("[rules]\ntypo = 1", "unknown field"),
            (
                "[[channels]]\nname = \"a\"\nkind = \"slack\"\nurl = \"http://x/\"\n[[channels]]\nname = \"a\"\nkind = \"discord\"\nurl = \"http://x/\"",
                "used twice",
            ),
        ] {
            let err = MonitorFile::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let policy = DeliveryPolicy {
            base_backoff_secs: 5,
            max_backoff_secs: 30,
            max_attempts: 5,
            lease_secs: 60,
            max_age_secs: 24 * 3600,
        };
        assert_eq!(policy.next_attempt(1, 100), Some(105));
        assert_eq!(policy.next_attempt(2, 100), Some(110));
        assert_eq!(policy.next_attempt(3, 100), Some(120));
        assert_eq!(policy.next_attempt(4, 100), Some(130));
        assert_eq!(policy.next_attempt(5, 100), None);
    }

    proptest::proptest! {
        /// Any alert rule file: parsed, or a one-line config error; never a panic.
        #[test]
        fn any_rule_file_is_parsed_or_refused_on_one_line(
            lines in proptest::collection::vec(
                proptest::sample::select(&[
                    "[rules]", "[delivery]", "[[channels]]", "[grouping]", "group_by = \"x\"",
                    "group_interval_secs = -1", "window_blocks = 100",
                    "window_blocks = -5", "tx_success_rate_min = 1.5", "tx_success_rate_min = \"x\"",
                    "gas_spike_factor = nan", "disabled = [\"gas_price\", \"nope\"]",
                    "validator_balance_min_tao = \"0.1\"", "validator_balance_min_tao = \"-1\"",
                    "name = \"ops\"", "kind = \"webhook\"", "kind = \"pager\"",
                    "url = \"https://hooks.example/x\"", "url = 5", "max_attempts = 0",
                    "max_age_secs = 18446744073709551615", "= =", "[rules",
                ][..]),
                0..12,
            ),
            noise in ".{0,40}",
        ) {
            let mut text = lines.join("\n");
            text.push_str(&noise);
            if let Err(e) = MonitorFile::parse(&text) {
                proptest::prop_assert!(!e.to_string().trim().contains('\n'), "{}", e);
            }
        }
    }
}

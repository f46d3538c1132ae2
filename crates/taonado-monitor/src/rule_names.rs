//! The alert rules' names: dedup keys, `rules.disabled` entries and the alert's `rule`.

pub const TX_SUCCESS_RATE: &str = "tx_success_rate";
pub const GAS_PRICE: &str = "gas_price";
pub const WEIGHT_INTERVAL: &str = "weight_interval";
pub const WTAO_SUPPLY_DISCREPANCY: &str = "wtao_supply_discrepancy";
pub const POOL_BALANCE_DISCREPANCY: &str = "pool_balance_discrepancy";
pub const FAILED_TRANSACTION: &str = "failed_transaction";
pub const GAS_USED: &str = "gas_used";
pub const VALIDATOR_BALANCE_LOW: &str = "validator_balance_low";
pub const SELF_WITHDRAWAL: &str = "self_withdrawal";
/// An incident not acknowledged within its severity's response target.
pub const INCIDENT_RESPONSE_TARGET: &str = "incident_response_target";

/// Every rule of [`crate::rules::evaluate`], by the name used in dedup keys,
/// `rules.disabled` and the alert's `rule`.
pub const RULES: &[&str] = &[
    TX_SUCCESS_RATE,
    GAS_PRICE,
    WEIGHT_INTERVAL,
    WTAO_SUPPLY_DISCREPANCY,
    POOL_BALANCE_DISCREPANCY,
    FAILED_TRANSACTION,
    GAS_USED,
    VALIDATOR_BALANCE_LOW,
    SELF_WITHDRAWAL,
];

/// Rules evaluated outside [`crate::rules::evaluate`] (the incident tick), which
/// `rules.disabled` also accepts.
pub const OTHER_RULES: &[&str] = &[INCIDENT_RESPONSE_TARGET];

/// What a rule's alerts are, in the plural, for a digest ("7 reverted transactions").
pub fn plural(rule: &str) -> String {
    match rule {
        TX_SUCCESS_RATE => "low transaction success rate alerts".into(),
        GAS_PRICE => "high gas price alerts".into(),
        WEIGHT_INTERVAL => "weight interval alerts".into(),
        WTAO_SUPPLY_DISCREPANCY => "WTAO supply discrepancies".into(),
        POOL_BALANCE_DISCREPANCY => "pool balance discrepancies".into(),
        FAILED_TRANSACTION => "reverted transactions".into(),
        GAS_USED => "transactions above the gas threshold".into(),
        VALIDATOR_BALANCE_LOW => "low bounty balance alerts".into(),
        SELF_WITHDRAWAL => "self-withdrawals".into(),
        INCIDENT_RESPONSE_TARGET => "missed incident response targets".into(),
        other => format!("{other} alerts"),
    }
}

//! The owner-only settings of the EvmValidator and the Weights contracts, as one entry
//! point for every caller: `taonado admin …`, incident mitigation, and multisig proposals.
//!
//! An [`AdminCall`] is what the operator wants ("bounty to 0"); [`action`] turns it into an
//! [`AdminAction`]: the contract, its address and the calldata, which is all a multisig
//! proposal needs. [`execute`] then
//! 1. reads the contract's `owner()` and refuses, before sending, a signer that is not it;
//! 2. reads the setting's current value (the getter, or the balance for `rescueFunds`);
//! 3. sends the call through [`crate::tx`] (or, with `dry_run`, runs it as an `eth_call`
//!    from the signer, so a call that would revert is reported without sending);
//! 4. reads the value again and checks that the call took ([`AdminError::NotApplied`]).
//!
//! The setters emit no events on V1 contracts (a known defect), so the read-back is the
//! only evidence that a setting changed.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use serde::Serialize;
use taonado_contracts::bindings::{EvmValidator, WeightsV3};
use taonado_deployment::ProtocolAddresses;
use taonado_types::format_tao;

pub use crate::error::admin::AdminError;
use crate::error::{OpsError, Result};

/// Which Weights contract a Weights setting goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightsVersion {
    V2,
    V3,
    V4,
}

impl WeightsVersion {
    fn contract(self) -> &'static str {
        match self {
            Self::V2 => "WeightsV2",
            Self::V3 => "WeightsV3",
            Self::V4 => "WeightsV4",
        }
    }

    fn address(self, addresses: &ProtocolAddresses) -> Option<Address> {
        match self {
            Self::V2 => addresses.weights_v2,
            Self::V3 => addresses.weights_v3,
            Self::V4 => addresses.weights_v4,
        }
    }
}

/// One owner-only setting, with its new value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminCall {
    /// `EvmValidator.setSetWeightsBounty(wei)`: what each public `setWeights` pays on top of
    /// gas. Zero stops the bounty drain.
    SetBounty(U256),
    /// `EvmValidator.setSetWeightsBlockInterval(blocks)`: the least number of blocks between
    /// two public `setWeights`.
    SetInterval(U256),
    /// `EvmValidator.setRefundOverhead(gas)`.
    SetRefundOverhead(U256),
    /// `EvmValidator.setMetagraphBoostValue(boost)`.
    SetBoost(u16),
    /// `EvmValidator.setVersionKey(key)`.
    SetVersionKey(u64),
    /// `EvmValidator.setWeightsContract(address)`: which Weights the EvmValidator reads.
    SetWeightsContract(Address),
    /// `EvmValidator.rescueFunds()`: its whole balance to the owner.
    RescueFunds,
    /// `Weights.setDepositGoal(wei)`.
    SetDepositGoal { weights: WeightsVersion, goal: U256 },
}

/// A setting's value as read from the chain: `raw` is the integer or address (for
/// `--json`), `display` how an operator reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SettingValue {
    pub raw: String,
    pub display: String,
}

impl SettingValue {
    fn wei(value: U256) -> Self {
        Self {
            raw: value.to_string(),
            display: format!("{} TAO", format_tao(value)),
        }
    }

    fn number(value: impl ToString) -> Self {
        let raw = value.to_string();
        Self {
            display: raw.clone(),
            raw,
        }
    }
}

/// A call ready to be sent or proposed: what a multisig proposal carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AdminAction {
    pub contract: &'static str,
    pub address: Address,
    /// The Solidity signature, e.g. `setSetWeightsBounty(uint256)`.
    pub signature: &'static str,
    /// The arguments as written in [`AdminAction::describe`].
    pub args: Vec<String>,
    pub calldata: Bytes,
    /// The getter read before and after (`balance` for `rescueFunds`).
    pub getter: &'static str,
    /// What the getter must read after the call.
    pub expected: SettingValue,
}

impl AdminAction {
    /// `EvmValidator.setSetWeightsBounty(0)`.
    pub fn describe(&self) -> String {
        let name = self.signature.split('(').next().unwrap_or(self.signature);
        format!("{}.{name}({})", self.contract, self.args.join(", "))
    }
}

/// The contract, address and calldata of `call` in the deployment at `addresses`.
pub fn action(call: &AdminCall, addresses: &ProtocolAddresses) -> Result<AdminAction> {
    let validator = || {
        addresses.evm_validator.ok_or(AdminError::NotDeployed {
            contract: "EvmValidator",
        })
    };
    let (contract, address, signature, args, calldata, getter, expected) = match call {
        AdminCall::SetBounty(wei) => (
            "EvmValidator",
            validator()?,
            EvmValidator::setSetWeightsBountyCall::SIGNATURE,
            vec![wei.to_string()],
            EvmValidator::setSetWeightsBountyCall { value: *wei }.abi_encode(),
            "setWeightsBounty",
            SettingValue::wei(*wei),
        ),
        AdminCall::SetInterval(blocks) => (
            "EvmValidator",
            validator()?,
            EvmValidator::setSetWeightsBlockIntervalCall::SIGNATURE,
            vec![blocks.to_string()],
            EvmValidator::setSetWeightsBlockIntervalCall { value: *blocks }.abi_encode(),
            "setWeightsBlockInterval",
            SettingValue::number(blocks),
        ),
        AdminCall::SetRefundOverhead(gas) => (
            "EvmValidator",
            validator()?,
            EvmValidator::setRefundOverheadCall::SIGNATURE,
            vec![gas.to_string()],
            EvmValidator::setRefundOverheadCall { value: *gas }.abi_encode(),
            "refundOverhead",
            SettingValue::number(gas),
        ),
        AdminCall::SetBoost(boost) => (
            "EvmValidator",
            validator()?,
            EvmValidator::setMetagraphBoostValueCall::SIGNATURE,
            vec![boost.to_string()],
            EvmValidator::setMetagraphBoostValueCall { value: *boost }.abi_encode(),
            "metagraph_boost_value",
            SettingValue::number(boost),
        ),
        AdminCall::SetVersionKey(key) => (
            "EvmValidator",
            validator()?,
            EvmValidator::setVersionKeyCall::SIGNATURE,
            vec![key.to_string()],
            EvmValidator::setVersionKeyCall { value: *key }.abi_encode(),
            "versionKey",
            SettingValue::number(key),
        ),
        AdminCall::SetWeightsContract(weights) => (
            "EvmValidator",
            validator()?,
            EvmValidator::setWeightsContractCall::SIGNATURE,
            vec![weights.to_string()],
            EvmValidator::setWeightsContractCall { value: *weights }.abi_encode(),
            "weights",
            SettingValue::number(weights),
        ),
        AdminCall::RescueFunds => (
            "EvmValidator",
            validator()?,
            EvmValidator::rescueFundsCall::SIGNATURE,
            Vec::new(),
            EvmValidator::rescueFundsCall {}.abi_encode(),
            "balance",
            SettingValue::wei(U256::ZERO),
        ),
        AdminCall::SetDepositGoal { weights, goal } => (
            weights.contract(),
            weights.address(addresses).ok_or(AdminError::NotDeployed {
                contract: weights.contract(),
            })?,
            WeightsV3::setDepositGoalCall::SIGNATURE,
            vec![goal.to_string()],
            WeightsV3::setDepositGoalCall {
                _depositGoal: *goal,
            }
            .abi_encode(),
            "depositGoal",
            SettingValue::wei(*goal),
        ),
    };
    Ok(AdminAction {
        contract,
        address,
        signature,
        args,
        calldata: calldata.into(),
        getter,
        expected,
    })
}

/// What [`execute`] did.
#[derive(Clone, Debug, Serialize)]
pub struct AdminReport {
    pub action: AdminAction,
    pub call: String,
    pub owner: Address,
    pub signer: Address,
    pub before: SettingValue,
    /// The value read after the call; the value before on a dry run.
    pub after: SettingValue,
    pub tx: Option<B256>,
    pub dry_run: bool,
}

/// The current owner of `action`'s contract. Every contract [`action`] targets is Ownable.
pub async fn owner<P: Provider>(provider: &P, action: &AdminAction) -> Result<Address> {
    EvmValidator::new(action.address, provider)
        .owner()
        .call()
        .await
        .map_err(OpsError::contract(format!(
            "reading {}.owner()",
            action.contract
        )))
}

/// The value `action.getter` reads now.
pub async fn read_setting<P: Provider>(provider: &P, action: &AdminAction) -> Result<SettingValue> {
    let what = format!("reading {}.{}", action.contract, action.getter);
    let validator = EvmValidator::new(action.address, provider);
    let value = match action.getter {
        "setWeightsBounty" => SettingValue::wei(
            validator
                .setWeightsBounty()
                .call()
                .await
                .map_err(OpsError::contract(what))?,
        ),
        "setWeightsBlockInterval" => SettingValue::number(
            validator
                .setWeightsBlockInterval()
                .call()
                .await
                .map_err(OpsError::contract(what))?,
        ),
        "refundOverhead" => SettingValue::number(
            validator
                .refundOverhead()
                .call()
                .await
                .map_err(OpsError::contract(what))?,
        ),
        "metagraph_boost_value" => SettingValue::number(
            validator
                .metagraph_boost_value()
                .call()
                .await
                .map_err(OpsError::contract(what))?,
        ),
        "versionKey" => SettingValue::number(
            validator
                .versionKey()
                .call()
                .await
                .map_err(OpsError::contract(what))?,
        ),
        "weights" => SettingValue::number(
            validator
                .weights()
                .call()
                .await
                .map_err(OpsError::contract(what))?,
        ),
        "depositGoal" => SettingValue::wei(
            WeightsV3::new(action.address, provider)
                .depositGoal()
                .call()
                .await
                .map_err(OpsError::contract(what))?,
        ),
        // "balance": what rescueFunds sends.
        _ => SettingValue::wei(
            provider
                .get_balance(action.address)
                .await
                .map_err(OpsError::rpc(what))?,
        ),
    };
    Ok(value)
}

/// Sends `action` from `signer` (the signer of `provider`) and checks that it took; with
/// `dry_run`, checks the owner and simulates the call, and sends nothing.
pub async fn execute<P: Provider>(
    provider: &P,
    signer: Address,
    action: &AdminAction,
    dry_run: bool,
) -> Result<AdminReport> {
    let owner = owner(provider, action).await?;
    if owner != signer {
        let owner_is_contract = !provider
            .get_code_at(owner)
            .await
            .map_err(OpsError::rpc(format!("reading the code of {owner}")))?
            .is_empty();
        return Err(AdminError::NotOwner {
            contract: action.contract,
            address: action.address,
            owner,
            signer,
            owner_is_contract,
        }
        .into());
    }
    let before = read_setting(provider, action).await?;
    let call = action.describe();
    let request = TransactionRequest::default()
        .with_from(signer)
        .with_to(action.address)
        .with_input(action.calldata.clone());
    if dry_run {
        provider
            .call(request)
            .await
            .map_err(OpsError::rpc(format!("simulating {call}")))?;
        return Ok(AdminReport {
            action: action.clone(),
            call,
            owner,
            signer,
            after: before.clone(),
            before,
            tx: None,
            dry_run,
        });
    }
    let receipt = crate::tx::send_and_confirm(provider, request, &call).await?;
    let after = read_setting(provider, action).await?;
    if after != action.expected {
        return Err(AdminError::NotApplied {
            call,
            getter: action.getter,
            expected: action.expected.display.clone(),
            actual: after.display,
        }
        .into());
    }
    Ok(AdminReport {
        action: action.clone(),
        call,
        owner,
        signer,
        before,
        after,
        tx: Some(receipt.transaction_hash),
        dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses() -> ProtocolAddresses {
        ProtocolAddresses {
            evm_validator: Some(Address::repeat_byte(0xe1)),
            weights_v3: Some(Address::repeat_byte(0x33)),
            ..ProtocolAddresses::default()
        }
    }

    #[test]
    fn the_calldata_is_the_setter_selector_and_its_argument() {
        let action = action(&AdminCall::SetBounty(U256::ZERO), &addresses()).unwrap();
        assert_eq!(action.address, Address::repeat_byte(0xe1));
        assert_eq!(action.signature, "setSetWeightsBounty(uint256)");
        assert_eq!(
            &action.calldata[..4],
            &alloy::primitives::keccak256("setSetWeightsBounty(uint256)")[..4]
        );
        assert_eq!(action.calldata.len(), 36);
        assert_eq!(action.describe(), "EvmValidator.setSetWeightsBounty(0)");
        assert_eq!(action.expected.raw, "0");
    }

    #[test]
    fn a_weights_setting_goes_to_the_named_version_and_a_missing_one_is_named() {
        let goal = U256::from(10u64).pow(U256::from(21u64));
        let v3 = action(
            &AdminCall::SetDepositGoal {
                weights: WeightsVersion::V3,
                goal,
            },
            &addresses(),
        )
        .unwrap();
        assert_eq!(v3.address, Address::repeat_byte(0x33));
        assert_eq!(v3.expected.display, "1000 TAO");
        let missing = action(
            &AdminCall::SetDepositGoal {
                weights: WeightsVersion::V4,
                goal,
            },
            &addresses(),
        )
        .unwrap_err();
        assert!(missing.to_string().contains("WeightsV4"), "{missing}");
        assert!(missing.is_usage());
    }

    #[test]
    fn rescue_expects_an_empty_balance() {
        let action = action(&AdminCall::RescueFunds, &addresses()).unwrap();
        assert_eq!(action.getter, "balance");
        assert_eq!(action.calldata.len(), 4);
        assert_eq!(action.describe(), "EvmValidator.rescueFunds()");
    }
}

//! `taonado address <SS58|H160|0xPUBKEY>`: one account in every notation: SS58 (generic
//! prefix 42 and Bittensor's 13116), the 32-byte account id, and for an EVM address its
//! mirror account `blake2b_256("evm:" ‖ h160)`. Offline.

use std::io::Write;

use alloy::primitives::{Address, B256};
use clap::Args;
use serde::Serialize;
use taonado_types::{AccountId32, BITTENSOR_SS58_PREFIX, TypesError, evm_mirror};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Args)]
pub struct AddressArgs {
    /// An SS58 address (any prefix), a 32-byte public key / account id (0x + 64 hex
    /// digits), or an EVM address (0x + 40 hex digits), which stands for its mirror account.
    #[arg(value_name = "SS58|H160|0xPUBKEY")]
    pub input: String,
}

/// How the input was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    Ss58,
    PublicKey,
    Evm,
}

#[derive(Debug, Serialize)]
pub struct AddressReport {
    pub input: String,
    pub kind: InputKind,
    /// The SS58 prefix the input used (SS58 input only).
    pub input_prefix: Option<u16>,
    /// SS58 with the generic prefix 42, as subtensor renders accounts.
    pub ss58: String,
    /// SS58 with Bittensor's registered prefix 13116.
    pub ss58_bittensor: String,
    /// The 32-byte account id (the public key for a key pair account).
    pub account_id: B256,
    /// The EVM address whose mirror this account is (EVM input only; the mirror is a
    /// hash, so an SS58 account has no EVM address).
    pub evm_address: Option<Address>,
}

impl AddressReport {
    pub fn from_input(input: &str) -> Result<Self, TypesError> {
        let trimmed = input.trim();
        let (kind, account, input_prefix, evm_address) = match hex_digits(trimmed) {
            Some(digits) if digits.len() == 40 => {
                let address = parse_evm(trimmed)?;
                (InputKind::Evm, evm_mirror(address), None, Some(address))
            }
            Some(_) => (
                InputKind::PublicKey,
                AccountId32::from_hex(trimmed).map_err(|_| TypesError::AccountFormat {
                    input: trimmed.to_owned(),
                })?,
                None,
                None,
            ),
            None => {
                let (account, prefix) = AccountId32::from_ss58_any_prefix(trimmed)?;
                (InputKind::Ss58, account, Some(prefix), None)
            }
        };
        Ok(Self {
            input: trimmed.to_owned(),
            kind,
            input_prefix,
            ss58: account.to_ss58(),
            ss58_bittensor: account.to_ss58_with_prefix(BITTENSOR_SS58_PREFIX),
            account_id: account.to_b256(),
            evm_address,
        })
    }
}

fn hex_digits(input: &str) -> Option<&str> {
    input
        .strip_prefix("0x")
        .or_else(|| input.strip_prefix("0X"))
}

/// An EVM address; mixed case must be a valid EIP-55 checksum, as wallets expect.
fn parse_evm(input: &str) -> Result<Address, TypesError> {
    let hex_error = |reason: &str| TypesError::Hex {
        input: input.to_owned(),
        expected: 20,
        reason: reason.to_owned(),
    };
    let digits = hex_digits(input).unwrap_or(input);
    let mixed_case = digits.chars().any(|c| c.is_ascii_lowercase())
        && digits.chars().any(|c| c.is_ascii_uppercase());
    if mixed_case {
        Address::parse_checksummed(format!("0x{digits}"), None)
            .map_err(|_| hex_error("mixed-case address with a bad EIP-55 checksum"))
    } else {
        format!("0x{digits}")
            .parse()
            .map_err(|_| hex_error("not hex"))
    }
}

impl Report for AddressReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if let Some(evm) = self.evm_address {
            writeln!(out, "evm address:      {evm}")?;
            writeln!(out, "its mirror account, blake2b_256(\"evm:\" ‖ h160):")?;
        }
        writeln!(out, "ss58:             {}", self.ss58)?;
        writeln!(out, "ss58 (bittensor): {}", self.ss58_bittensor)?;
        writeln!(out, "account id:       {}", self.account_id)
    }
}

impl AddressArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let report = AddressReport::from_input(&self.input).map_err(CliError::usage)?;
        context.output.report(&report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE_SS58: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const ALICE_HEX: &str = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

    #[test]
    fn spec_mirror_vector() {
        let report =
            AddressReport::from_input("0xf24FF3a9CF04c71Dbc94D0b566f7A27B94566cac").unwrap();
        assert_eq!(report.kind, InputKind::Evm);
        assert_eq!(
            report.ss58,
            "5Fghzk1AJt88PeFEzuRfXzbPchiBbsVGTTXcdx599VdZzkTA"
        );
        // Lower case has no checksum to check and means the same address.
        let lower =
            AddressReport::from_input("0xf24ff3a9cf04c71dbc94d0b566f7a27b94566cac").unwrap();
        assert_eq!(lower.account_id, report.account_id);
    }

    #[test]
    fn ss58_and_public_key_convert_both_ways() {
        let from_ss58 = AddressReport::from_input(ALICE_SS58).unwrap();
        assert_eq!(from_ss58.account_id.to_string(), ALICE_HEX);
        assert_eq!(from_ss58.input_prefix, Some(42));
        let from_hex = AddressReport::from_input(ALICE_HEX).unwrap();
        assert_eq!(from_hex.ss58, ALICE_SS58);
        let from_bittensor = AddressReport::from_input(&from_hex.ss58_bittensor).unwrap();
        assert_eq!(from_bittensor.ss58, ALICE_SS58);
        assert_eq!(from_bittensor.input_prefix, Some(BITTENSOR_SS58_PREFIX));
    }

    #[test]
    fn bad_inputs_are_rejected() {
        let mut bad_checksum = ALICE_SS58.to_owned();
        bad_checksum.pop();
        bad_checksum.push('R');
        for bad in [
            bad_checksum.as_str(),
            "0x1234",
            "0xF24FF3a9CF04c71Dbc94D0b566f7A27B94566cac",
            "not-an-address",
            "",
        ] {
            assert!(AddressReport::from_input(bad).is_err(), "{bad}");
        }
    }
}

//! Bittensor's precompile set as a revm `PrecompileProvider`.
//!
//! Numbering follows subtensor (spec/subtensor.md): 0x1–0x5 as Ethereum, 0x6 is Substrate
//! dispatch (always fails here: calls cannot be SCALE-decoded outside a runtime), 0x7/0x8
//! bn256 mul/pairing, 0x9 bn256 add (not blake2f), 0x400 sha3-fips256, 0x401
//! ecrecover-public-key, 0x402/0x403 ed25519/sr25519 verify (not emulated: they halt with a
//! clear message), and 0x800/0x802/0x804 delegated to [`Subtensor::call`].

use std::{collections::HashMap, sync::OnceLock};

use alloy_primitives::{Address, B256, Bytes, U256};
use revm::{
    context::Cfg,
    context_interface::{ContextTr, JournalTr, journaled_state::account::JournaledAccountTr},
    handler::{PrecompileProvider, precompile_output_to_interpreter_result},
    interpreter::{CallInputs, InterpreterResult},
    precompile::{PrecompileHalt, PrecompileOutput, Precompiles, bn254, u64_to_address},
    primitives::AddressSet,
};
use sha3::{Digest, Sha3_256};

use taonado_types::evm_mirror;

use crate::subtensor::{EvmHost, PrecompileCall, PrecompileOutcome, Subtensor};

/// Substrate dispatch precompile (0x6); failing here is the documented behaviour.
pub const DISPATCH: Address = u64_to_address(6);
/// bn256 add lives at 0x9 on subtensor.
pub const BN256_ADD: Address = u64_to_address(9);
/// sha3-fips256 (FIPS-202 SHA3-256, not keccak).
pub const SHA3_FIPS256: Address = u64_to_address(0x400);
/// ecrecover returning the 64-byte public key.
pub const ECRECOVER_PUBLIC_KEY: Address = u64_to_address(0x401);
/// ed25519 signature verification.
pub const ED25519_VERIFY: Address = u64_to_address(0x402);
/// sr25519 signature verification.
pub const SR25519_VERIFY: Address = u64_to_address(0x403);

/// Message of a failing 0x6 call, as Frontier's dispatch precompile reports undecodable input.
const DISPATCH_FAILURE: &str = "decode failed";

/// Maps the native mirror account ([`taonado_types::evm_mirror`]) back to its H160.
pub type MirrorMap = HashMap<[u8; 32], Address>;

/// All addresses this chain treats as precompiles (warm from the start of every tx).
pub fn precompile_addresses() -> &'static AddressSet {
    static SET: OnceLock<AddressSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = AddressSet::default();
        for n in 1..=9u64 {
            set.insert(u64_to_address(n));
        }
        for n in 0x400..=0x403u64 {
            set.insert(u64_to_address(n));
        }
        set.extend(Subtensor::PRECOMPILES);
        set
    })
}

/// Where the precompiles find the subtensor state.
pub(crate) enum SubtensorSlot<'a> {
    /// eth_call / estimateGas: cloned on first use, thrown away afterwards.
    Shared {
        base: &'a Subtensor,
        scratch: Option<Box<Subtensor>>,
    },
    /// A transaction: changed in place; `backup` is taken before the first change so a
    /// failed transaction can be undone.
    Exclusive {
        state: &'a mut Subtensor,
        backup: Option<Box<Subtensor>>,
    },
}

impl SubtensorSlot<'_> {
    fn get_mut(&mut self) -> &mut Subtensor {
        match self {
            Self::Shared { base, scratch } => {
                scratch.get_or_insert_with(|| Box::new((*base).clone()))
            }
            Self::Exclusive { state, backup } => {
                if backup.is_none() {
                    *backup = Some(Box::new((**state).clone()));
                }
                state
            }
        }
    }

    /// Undo every subtensor change of this transaction.
    pub(crate) fn restore(&mut self) {
        if let Self::Exclusive { state, backup } = self
            && let Some(saved) = backup.take()
        {
            **state = *saved;
        }
    }
}

/// The precompile provider of one execution.
pub(crate) struct TaoPrecompiles<'a> {
    pub(crate) subtensor: SubtensorSlot<'a>,
    mirrors: &'a MirrorMap,
    /// Mirrors of precompile callers first seen in this execution; merged on commit.
    pub(crate) new_mirrors: Vec<([u8; 32], Address)>,
    /// The last exceptional-halt message of a Bittensor precompile (pallet error etc.).
    pub(crate) dispatch_error: Option<String>,
}

impl<'a> TaoPrecompiles<'a> {
    pub(crate) fn new(subtensor: SubtensorSlot<'a>, mirrors: &'a MirrorMap) -> Self {
        Self {
            subtensor,
            mirrors,
            new_mirrors: Vec::new(),
            dispatch_error: None,
        }
    }

    fn halt(&mut self, message: String, inputs: &CallInputs) -> InterpreterResult {
        let output =
            PrecompileOutput::halt(PrecompileHalt::other(message.clone()), inputs.reservoir);
        self.dispatch_error = Some(message);
        precompile_output_to_interpreter_result(output, inputs.gas_limit)
    }
}

impl<CTX: ContextTr> PrecompileProvider<CTX> for TaoPrecompiles<'_> {
    type Output = InterpreterResult;

    fn set_spec(&mut self, _spec: <CTX::Cfg as Cfg>::Spec) -> bool {
        // The set does not depend on the spec; a fresh provider is built per execution.
        true
    }

    fn run(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        let address = inputs.bytecode_address;
        if !precompile_addresses().contains(&address) {
            return Ok(None);
        }
        let input: Bytes = Bytes::copy_from_slice(&inputs.input.as_bytes(context));
        let gas_limit = inputs.gas_limit;
        let reservoir = inputs.reservoir;

        if Subtensor::is_precompile(&address) {
            let caller = inputs.caller;
            let mirror = evm_mirror(caller).0;
            if !self.mirrors.contains_key(&mirror) {
                self.new_mirrors.push((mirror, caller));
            }
            let block_number: u64 = context.block_number_u64();
            let call = PrecompileCall {
                address,
                caller,
                value: inputs.value.get(),
                input: &input,
                gas_limit,
                is_static: inputs.is_static,
                block_number,
            };
            let mut host = JournalHost {
                ctx: context,
                mirrors: self.mirrors,
                new_mirrors: &self.new_mirrors,
            };
            let outcome = self.subtensor.get_mut().call(&mut host, call);
            let output = match outcome {
                PrecompileOutcome::Success { output, gas_used } => {
                    PrecompileOutput::new(gas_used, output.into(), reservoir)
                }
                PrecompileOutcome::Revert { output, gas_used } => {
                    PrecompileOutput::revert(gas_used, output.into(), reservoir)
                }
                PrecompileOutcome::DispatchFailed(error) => {
                    return Ok(Some(
                        self.halt(format!("dispatch execution failed: {error}"), inputs),
                    ));
                }
            };
            return Ok(Some(precompile_output_to_interpreter_result(
                output, gas_limit,
            )));
        }

        let output = match address {
            DISPATCH => return Ok(Some(self.halt(DISPATCH_FAILURE.to_owned(), inputs))),
            ED25519_VERIFY => {
                return Ok(Some(self.halt(
                    "ed25519 verify (0x402) is not emulated by the taonado devnet".to_owned(),
                    inputs,
                )));
            }
            SR25519_VERIFY => {
                return Ok(Some(self.halt(
                    "sr25519 verify (0x403) is not emulated by the taonado devnet".to_owned(),
                    inputs,
                )));
            }
            SHA3_FIPS256 => sha3_fips256(&input, gas_limit, reservoir),
            ECRECOVER_PUBLIC_KEY => match ecrecover_public_key(&input, gas_limit, reservoir) {
                Ok(output) => output,
                Err(message) => return Ok(Some(self.halt(message.to_owned(), inputs))),
            },
            BN256_ADD => bn254::add::ISTANBUL
                .execute(&input, gas_limit, reservoir)
                .map_err(|e| e.to_string())?,
            _ => match Precompiles::cancun().get(&address) {
                Some(precompile) => precompile
                    .execute(&input, gas_limit, reservoir)
                    .map_err(|e| e.to_string())?,
                None => return Ok(None),
            },
        };
        Ok(Some(precompile_output_to_interpreter_result(
            output, gas_limit,
        )))
    }

    fn warm_addresses(&self) -> &AddressSet {
        precompile_addresses()
    }
}

/// Frontier's Sha3FIPS256: 60 gas + 12 per word.
fn sha3_fips256(input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileOutput {
    let cost = 60 + 12 * (input.len() as u64).div_ceil(32);
    if cost > gas_limit {
        return PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir);
    }
    let digest = Sha3_256::digest(input);
    PrecompileOutput::new(cost, Bytes::copy_from_slice(&digest), reservoir)
}

/// Frontier's ECRecoverPublicKey: input `hash ‖ v ‖ r ‖ s` (v = 27/28), output the
/// 64-byte uncompressed public key; 3000 gas.
fn ecrecover_public_key(
    input: &[u8],
    gas_limit: u64,
    reservoir: u64,
) -> Result<PrecompileOutput, &'static str> {
    const COST: u64 = 3_000;
    if COST > gas_limit {
        return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
    }
    let mut padded = [0u8; 128];
    let len = input.len().min(128);
    padded[..len].copy_from_slice(&input[..len]);
    let hash = B256::from_slice(&padded[0..32]);
    let v = U256::from_be_slice(&padded[32..64]);
    let parity = if v == U256::from(27u8) {
        false
    } else if v == U256::from(28u8) {
        true
    } else {
        return Err("invalid signature v");
    };
    let r = U256::from_be_slice(&padded[64..96]);
    let s = U256::from_be_slice(&padded[96..128]);
    let signature = alloy_primitives::Signature::new(r, s, parity);
    let key = signature
        .recover_from_prehash(&hash)
        .map_err(|_| "public key recover failed")?;
    let point = key.to_encoded_point(false);
    // Uncompressed SEC1 is 0x04 ‖ x ‖ y; the precompile returns x ‖ y.
    Ok(PrecompileOutput::new(
        COST,
        Bytes::copy_from_slice(&point.as_bytes()[1..]),
        reservoir,
    ))
}

/// Block number of the context as u64.
trait BlockNumber {
    fn block_number_u64(&self) -> u64;
}

impl<CTX: ContextTr> BlockNumber for CTX {
    fn block_number_u64(&self) -> u64 {
        use revm::context_interface::Block;
        self.block().number().saturating_to()
    }
}

/// [`EvmHost`] over revm's journal, so every balance change is rolled back with its frame.
struct JournalHost<'c, CTX> {
    ctx: &'c mut CTX,
    mirrors: &'c MirrorMap,
    new_mirrors: &'c [([u8; 32], Address)],
}

impl<CTX: ContextTr> EvmHost for JournalHost<'_, CTX> {
    fn balance(&mut self, address: Address) -> U256 {
        self.ctx
            .journal_mut()
            .load_account(address)
            .map(|account| account.data.info.balance)
            .unwrap_or_default()
    }

    fn transfer(&mut self, from: Address, to: Address, amount: U256) -> Result<(), String> {
        match self.ctx.journal_mut().transfer(from, to, amount) {
            Ok(None) => Ok(()),
            Ok(Some(error)) => Err(format!("{error:?}")),
            Err(error) => Err(error.to_string()),
        }
    }

    fn burn(&mut self, from: Address, amount: U256) -> Result<(), String> {
        let mut account = self
            .ctx
            .journal_mut()
            .load_account_mut(from)
            .map_err(|e| e.to_string())?;
        if account.data.decr_balance(amount) {
            Ok(())
        } else {
            Err(format!(
                "insufficient balance in {from} to burn {amount} wei"
            ))
        }
    }

    fn mint(&mut self, to: Address, amount: U256) {
        if let Err(error) = self.ctx.journal_mut().balance_incr(to, amount) {
            tracing::warn!(%to, %error, "mint into an account that cannot be loaded");
        }
    }

    fn h160_for_mirror(&self, account: &[u8; 32]) -> Option<Address> {
        self.mirrors.get(account).copied().or_else(|| {
            self.new_mirrors
                .iter()
                .find(|(mirror, _)| mirror == account)
                .map(|(_, address)| *address)
        })
    }
}

#[cfg(test)]
mod tests {
    use blake2::Blake2b;

    use super::*;

    /// The chain keys its mirror map with `taonado_types::evm_mirror`; this checks that
    /// function against the spec vector with an SS58 encoding written out here, apart from
    /// the types crate's own.
    #[test]
    fn mirror_matches_the_spec_vector() {
        // spec/subtensor.md: 0xf24F…6cac -> 5Fghzk1AJt88PeFEzuRfXzbPchiBbsVGTTXcdx599VdZzkTA
        let address: Address = "0xf24FF3a9CF04c71Dbc94D0b566f7A27B94566cac"
            .parse()
            .expect("valid literal");
        let mirror = evm_mirror(address).0;
        let mut payload = vec![42u8];
        payload.extend_from_slice(&mirror);
        let mut hasher = Blake2b::<blake2::digest::consts::U64>::new();
        hasher.update(b"SS58PRE");
        hasher.update(&payload);
        let checksum = hasher.finalize();
        payload.extend_from_slice(&checksum[..2]);
        assert_eq!(
            bs58_encode(&payload),
            "5Fghzk1AJt88PeFEzuRfXzbPchiBbsVGTTXcdx599VdZzkTA"
        );
    }

    /// Tiny base58 encoder so the unit test needs no extra crate.
    fn bs58_encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let mut digits: Vec<u8> = Vec::new();
        for &byte in bytes {
            let mut carry = byte as u32;
            for digit in digits.iter_mut() {
                carry += (*digit as u32) << 8;
                *digit = (carry % 58) as u8;
                carry /= 58;
            }
            while carry > 0 {
                digits.push((carry % 58) as u8);
                carry /= 58;
            }
        }
        let zeros = bytes.iter().take_while(|b| **b == 0).count();
        std::iter::repeat_n('1', zeros)
            .chain(digits.iter().rev().map(|d| ALPHABET[*d as usize] as char))
            .collect()
    }

    #[test]
    fn sha3_fips256_is_not_keccak() {
        let output = sha3_fips256(b"", 1_000, 0);
        assert_eq!(
            output.bytes.as_ref(),
            alloy_primitives::hex!(
                "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
            )
        );
        assert_eq!(output.gas_used, 60);
    }

    #[test]
    fn ecrecover_public_key_returns_the_signer_key() {
        let key = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("valid scalar");
        let hash = alloy_primitives::keccak256(b"taonado");
        let (sig, recid) = key
            .sign_prehash_recoverable(hash.as_slice())
            .expect("signing works");
        let mut input = Vec::new();
        input.extend_from_slice(hash.as_slice());
        input.extend_from_slice(&U256::from(27 + recid.to_byte() as u64).to_be_bytes::<32>());
        input.extend_from_slice(&sig.to_bytes());
        let output = ecrecover_public_key(&input, 10_000, 0).expect("recovers");
        let expected = key.verifying_key().to_encoded_point(false);
        assert_eq!(output.bytes.as_ref(), &expected.as_bytes()[1..]);
        assert!(ecrecover_public_key(&[0u8; 128], 10_000, 0).is_err());
    }
}

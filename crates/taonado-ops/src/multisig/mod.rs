//! The Safe multisig that owns the protocol: Safe v1.4.1's own contracts (the committed
//! artifacts of `taonado_contracts::safe`), set up, given ownership, and driven by
//! proposals that owners sign offline.
//!
//! - [`safe_tx`]: the Safe transaction, its EIP-712 hash, Safe's signature formats (EIP-712
//!   `v` 27/28, eth_sign `v` 31/32, approved hash `v` 1) and their packing by owner;
//! - [`proposal`]: the proposal file (transaction, hash, decoded call, signatures) and the
//!   folder of a network's proposals;
//! - here: the chain side. [`safe_contracts`] finds Safe's canonical deployment (or the one a
//!   dev chain recorded), [`setup`] creates a Safe proxy through the factory and records it,
//!   [`take_ownership`] moves the protocol's owned contracts to it, [`propose`] turns any
//!   "target + calldata + description" into a proposal (every admin command's
//!   `--via-multisig` goes through it), [`check_ready`] decides, before anything is sent,
//!   whether a proposal can execute, and [`execute`] sends `execTransaction`.

pub mod proposal;
pub mod safe_tx;

use std::path::Path;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolEvent};
use serde::Serialize;
use taonado_contracts::safe::{IMultiSend, ISafe, ISafeProxyFactory, SAFE_VERSION, SafeContract};
use taonado_deployment::{ContractRecord, DeploymentRecord, names, unix_now};

pub use crate::error::multisig::MultisigError;
use crate::error::{OpsError, Result};
use crate::tx;
pub use proposal::{DecodedCall, Execution, Proposal, ProposalDir, ProposedCall};
pub use safe_tx::{Operation, OwnerSignature, SafeTx, SignatureKind, pack_signatures};

/// Safe's sentinel in its owner list (`SENTINEL_OWNERS`), never an owner.
const SENTINEL: Address = alloy::primitives::address!("0x0000000000000000000000000000000000000001");

/// The record names of the Safe contracts taonado deploys where Safe has no canonical
/// deployment, and of the Safe itself.
pub const RECORD_NAMES: [(SafeContract, &str); 4] = [
    (SafeContract::SafeL2, names::SAFE_SINGLETON),
    (SafeContract::SafeProxyFactory, names::SAFE_PROXY_FACTORY),
    (
        SafeContract::CompatibilityFallbackHandler,
        names::SAFE_FALLBACK_HANDLER,
    ),
    (
        SafeContract::MultiSendCallOnly,
        names::SAFE_MULTI_SEND_CALL_ONLY,
    ),
];

/// Where the Safe contracts are on one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SafeContracts {
    pub singleton: Address,
    pub factory: Address,
    pub fallback_handler: Address,
    pub multi_send_call_only: Address,
    /// Safe's own deployment (the canonical addresses), not one taonado made.
    pub canonical: bool,
}

impl SafeContracts {
    fn canonical() -> Self {
        let at = |c: SafeContract| c.canonical_address().unwrap_or_default();
        Self {
            singleton: at(SafeContract::SafeL2),
            factory: at(SafeContract::SafeProxyFactory),
            fallback_handler: at(SafeContract::CompatibilityFallbackHandler),
            multi_send_call_only: at(SafeContract::MultiSendCallOnly),
            canonical: true,
        }
    }

    fn address(&self, contract: SafeContract) -> Address {
        match contract {
            SafeContract::SafeL2 => self.singleton,
            SafeContract::SafeProxyFactory => self.factory,
            SafeContract::CompatibilityFallbackHandler => self.fallback_handler,
            _ => self.multi_send_call_only,
        }
    }
}

async fn code(provider: &DynProvider, address: Address) -> Result<Bytes> {
    provider
        .get_code_at(address)
        .await
        .map_err(OpsError::rpc(format!("reading the code at {address}")))
}

/// Safe's canonical deployment when the chain has it (its code at the canonical addresses),
/// else the contracts `record` names when their code is Safe's; `None` when neither.
pub async fn safe_contracts(
    provider: &DynProvider,
    record: Option<&DeploymentRecord>,
) -> Result<Option<SafeContracts>> {
    let canonical = SafeContracts::canonical();
    let mut all = true;
    for (contract, _) in RECORD_NAMES {
        let found = code(provider, canonical.address(contract)).await?;
        if !contract.artifact().matches_code(&found) {
            all = false;
            break;
        }
    }
    if all {
        return Ok(Some(canonical));
    }
    let Some(record) = record else {
        return Ok(None);
    };
    let mut addresses = Vec::new();
    for (contract, name) in RECORD_NAMES {
        let Some(entry) = record.contracts.get(name) else {
            return Ok(None);
        };
        let found = code(provider, entry.address).await?;
        if !contract.artifact().matches_code(&found) {
            return Err(MultisigError::UnexpectedCode {
                name: name.to_owned(),
                address: entry.address,
                version: SAFE_VERSION,
            }
            .into());
        }
        addresses.push(entry.address);
    }
    Ok(Some(SafeContracts {
        singleton: addresses[0],
        factory: addresses[1],
        fallback_handler: addresses[2],
        multi_send_call_only: addresses[3],
        canonical: false,
    }))
}

/// Checks a signer set before anything is sent: at least one signer, no duplicates, no zero
/// or sentinel address, and 1 <= threshold <= signers.
pub fn validate_owners(owners: &[Address], threshold: u64) -> Result<()> {
    if owners.is_empty() {
        return Err(MultisigError::NoSigners.into());
    }
    for (i, owner) in owners.iter().enumerate() {
        if *owner == Address::ZERO || *owner == SENTINEL {
            return Err(MultisigError::InvalidSigner(*owner).into());
        }
        if owners[..i].contains(owner) {
            return Err(MultisigError::DuplicateSigner(*owner).into());
        }
    }
    if threshold == 0 {
        return Err(MultisigError::ThresholdZero.into());
    }
    if threshold > owners.len() as u64 {
        return Err(MultisigError::ThresholdAboveSigners {
            threshold,
            signers: owners.len(),
        }
        .into());
    }
    Ok(())
}

/// What `multisig setup` does.
#[derive(Clone, Debug)]
pub struct SetupPlan {
    pub owners: Vec<Address>,
    pub threshold: u64,
    /// CREATE2 salt of the proxy (with the initializer, it fixes the Safe's address).
    pub salt_nonce: U256,
    pub dry_run: bool,
}

/// What [`setup`] did.
#[derive(Clone, Debug, Serialize)]
pub struct SetupReport {
    pub safe: Address,
    pub owners: Vec<Address>,
    pub threshold: u64,
    pub contracts: SafeContracts,
    /// Safe contracts deployed because the chain had none: (name, address, tx).
    pub deployed: Vec<(String, Address, B256)>,
    pub tx: Option<B256>,
    pub dry_run: bool,
    pub version: &'static str,
}

/// Creates a Safe proxy with `plan`'s owners and threshold through the factory, deploying
/// Safe's contracts first on a chain that has no canonical deployment, and records
/// everything in `record` (saved to `record_path` after each step).
pub async fn setup(
    provider: &DynProvider,
    from: Address,
    plan: &SetupPlan,
    record: &mut DeploymentRecord,
    record_path: &Path,
) -> Result<SetupReport> {
    validate_owners(&plan.owners, plan.threshold)?;
    let mut deployed = Vec::new();
    let contracts = match safe_contracts(provider, Some(record)).await? {
        Some(contracts) => contracts,
        None if plan.dry_run => {
            // Safe's contracts would be deployed first; there is nothing to simulate against.
            return Ok(SetupReport {
                safe: Address::ZERO,
                owners: plan.owners.clone(),
                threshold: plan.threshold,
                contracts: SafeContracts {
                    canonical: false,
                    ..SafeContracts::canonical()
                },
                deployed,
                tx: None,
                dry_run: true,
                version: SAFE_VERSION,
            });
        }
        None => {
            let mut addresses = Vec::new();
            for (contract, name) in RECORD_NAMES {
                let artifact = contract.artifact();
                let request = TransactionRequest::default()
                    .from(from)
                    .with_deploy_code(artifact.bytecode.clone());
                let action = format!("deploying Safe {SAFE_VERSION} {contract}");
                let receipt = tx::send_and_confirm(provider, request, &action).await?;
                let address = receipt
                    .contract_address
                    .ok_or(OpsError::NoContractCreated {
                        step: name.to_owned(),
                        tx: receipt.transaction_hash,
                    })?;
                record.contracts.insert(
                    name.to_owned(),
                    ContractRecord {
                        address,
                        tx_hash: Some(receipt.transaction_hash),
                        block: receipt.block_number,
                        gas_used: Some(receipt.gas_used),
                        artifact: format!("safe/{contract}"),
                        artifact_sha256: Some(artifact.sha256),
                        constructor_args: Bytes::new(),
                        deployed_at: unix_now(),
                    },
                );
                record.touch();
                record.save(record_path)?;
                deployed.push((name.to_owned(), address, receipt.transaction_hash));
                addresses.push(address);
            }
            SafeContracts {
                singleton: addresses[0],
                factory: addresses[1],
                fallback_handler: addresses[2],
                multi_send_call_only: addresses[3],
                canonical: false,
            }
        }
    };
    let initializer: Bytes = ISafe::setupCall {
        _owners: plan.owners.clone(),
        _threshold: U256::from(plan.threshold),
        to: Address::ZERO,
        data: Bytes::new(),
        fallbackHandler: contracts.fallback_handler,
        paymentToken: Address::ZERO,
        payment: U256::ZERO,
        paymentReceiver: Address::ZERO,
    }
    .abi_encode()
    .into();
    let create = ISafeProxyFactory::createProxyWithNonceCall {
        _singleton: contracts.singleton,
        initializer: initializer.clone(),
        saltNonce: plan.salt_nonce,
    };
    let request = TransactionRequest::default()
        .from(from)
        .to(contracts.factory)
        .with_input(create.abi_encode());
    let mut report = SetupReport {
        safe: Address::ZERO,
        owners: plan.owners.clone(),
        threshold: plan.threshold,
        contracts: contracts.clone(),
        deployed,
        tx: None,
        dry_run: plan.dry_run,
        version: SAFE_VERSION,
    };
    if plan.dry_run {
        let out = provider.call(request).await.map_err(OpsError::rpc(
            "simulating SafeProxyFactory.createProxyWithNonce",
        ))?;
        report.safe = ISafeProxyFactory::createProxyWithNonceCall::abi_decode_returns(&out)
            .map_err(|e| MultisigError::Signing(format!("decoding the factory's answer: {e}")))?;
        return Ok(report);
    }
    let receipt =
        tx::send_and_confirm(provider, request, "SafeProxyFactory.createProxyWithNonce").await?;
    let safe = receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == contracts.factory)
        .find_map(|log| ISafeProxyFactory::ProxyCreation::decode_log(&log.inner).ok())
        .map(|event| event.proxy)
        .ok_or(OpsError::NoContractCreated {
            step: names::SAFE.to_owned(),
            tx: receipt.transaction_hash,
        })?;
    record.contracts.insert(
        names::SAFE.to_owned(),
        ContractRecord {
            address: safe,
            tx_hash: Some(receipt.transaction_hash),
            block: receipt.block_number,
            gas_used: Some(receipt.gas_used),
            artifact: format!("safe/{}", SafeContract::SafeProxy),
            artifact_sha256: Some(SafeContract::SafeProxy.artifact().sha256),
            // The initializer: the owners and threshold the Safe was created with.
            constructor_args: initializer,
            deployed_at: unix_now(),
        },
    );
    record.touch();
    record.save(record_path)?;
    report.safe = safe;
    report.tx = Some(receipt.transaction_hash);
    tracing::info!(%safe, threshold = plan.threshold, owners = plan.owners.len(), "created a Safe");
    Ok(report)
}

/// A Safe's owners, threshold and nonce as the chain has them now.
#[derive(Clone, Debug, Serialize)]
pub struct SafeState {
    pub safe: Address,
    pub version: String,
    pub owners: Vec<Address>,
    pub threshold: U256,
    pub nonce: U256,
}

/// Reads [`SafeState`].
pub async fn safe_state(provider: &DynProvider, safe: Address) -> Result<SafeState> {
    let contract = ISafe::new(safe, provider);
    let read = |what: &str| OpsError::contract(format!("reading Safe {safe}'s {what}"));
    Ok(SafeState {
        safe,
        version: contract.VERSION().call().await.map_err(read("VERSION()"))?,
        owners: contract
            .getOwners()
            .call()
            .await
            .map_err(read("getOwners()"))?,
        threshold: contract
            .getThreshold()
            .call()
            .await
            .map_err(read("getThreshold()"))?,
        nonce: contract.nonce().call().await.map_err(read("nonce()"))?,
    })
}

/// One contract's move to the Safe.
#[derive(Clone, Debug, Serialize)]
pub struct OwnershipStep {
    pub name: String,
    pub address: Address,
    pub owner_before: Address,
    /// `transferred`, `already-owned` or `planned` (dry run).
    pub outcome: &'static str,
    pub tx: Option<B256>,
    pub owner_after: Address,
}

/// What [`take_ownership`] did.
#[derive(Clone, Debug, Serialize)]
pub struct OwnershipReport {
    pub safe: Address,
    pub steps: Vec<OwnershipStep>,
    pub dry_run: bool,
}

/// `transferOwnership(safe)` on each owned contract still owned by `from`, reading
/// `owner()` before and after each step; a contract the Safe already owns is skipped, so a
/// rerun sends nothing twice.
pub async fn take_ownership(
    provider: &DynProvider,
    from: Address,
    safe: Address,
    owned: &[(String, Address)],
    dry_run: bool,
) -> Result<OwnershipReport> {
    if code(provider, safe).await?.is_empty() {
        return Err(MultisigError::UnexpectedCode {
            name: names::SAFE.to_owned(),
            address: safe,
            version: SAFE_VERSION,
        }
        .into());
    }
    let mut steps = Vec::new();
    for (name, address) in owned {
        let contract = taonado_contracts::bindings::EvmValidator::new(*address, provider);
        let read_owner = || async {
            contract
                .owner()
                .call()
                .await
                .map_err(OpsError::contract(format!("reading {name}.owner()")))
        };
        let before = read_owner().await?;
        let (outcome, tx, after) = if before == safe {
            ("already-owned", None, before)
        } else if before != from {
            return Err(MultisigError::NotOwner {
                name: name.clone(),
                address: *address,
                owner: before,
                signer: from,
                safe,
            }
            .into());
        } else if dry_run {
            ("planned", None, before)
        } else {
            let receipt = tx::call_and_confirm(
                &contract.transferOwnership(safe).from(from),
                &format!("{name}.transferOwnership"),
            )
            .await?;
            let after = read_owner().await?;
            if after != safe {
                return Err(MultisigError::NotTransferred {
                    name: name.clone(),
                    address: *address,
                    owner: after,
                    safe,
                }
                .into());
            }
            ("transferred", Some(receipt.transaction_hash), after)
        };
        steps.push(OwnershipStep {
            name: name.clone(),
            address: *address,
            owner_before: before,
            outcome,
            tx,
            owner_after: after,
        });
    }
    Ok(OwnershipReport {
        safe,
        steps,
        dry_run,
    })
}

/// `transferOwnership(to)` of each of `owned` that the Safe owns now (read from the
/// chain), as proposals: `keys rotate --via-multisig`. Contracts the Safe does not own are
/// left out (already moved, or never the Safe's).
pub async fn ownership_transfer_calls(
    provider: &DynProvider,
    safe: Address,
    owned: &[(String, Address)],
    to: Address,
    origin: &str,
) -> Result<Vec<ProposedCall>> {
    let mut calls = Vec::new();
    for (name, address) in owned {
        let contract = taonado_contracts::bindings::EvmValidator::new(*address, provider);
        let owner = contract
            .owner()
            .call()
            .await
            .map_err(OpsError::contract(format!("reading {name}.owner()")))?;
        if owner != safe {
            continue;
        }
        calls.push(ProposedCall {
            to: *address,
            value: U256::ZERO,
            data: taonado_contracts::bindings::EvmValidator::transferOwnershipCall { newOwner: to }
                .abi_encode()
                .into(),
            operation: Operation::Call,
            description: format!("{name}.transferOwnership({to})"),
            origin: origin.to_owned(),
        });
    }
    Ok(calls)
}

/// Where proposals of one Safe go.
#[derive(Clone, Debug)]
pub struct ProposalTarget {
    pub network: String,
    pub safe: Address,
    pub dir: ProposalDir,
    /// The deployment's named addresses, to name the call's target.
    pub named: Vec<(String, Address)>,
    /// A fixed Safe nonce; `None` takes the next one after the proposals waiting in `dir`.
    pub nonce: Option<U256>,
}

/// Several calls as one proposal: a delegate call to Safe's MultiSendCallOnly.
pub fn batch(
    calls: &[(Address, U256, Bytes)],
    multi_send_call_only: Address,
    description: String,
    origin: String,
) -> ProposedCall {
    let mut packed = Vec::new();
    for (to, value, data) in calls {
        packed.push(Operation::Call.as_u8());
        packed.extend_from_slice(to.as_slice());
        packed.extend_from_slice(&value.to_be_bytes::<32>());
        packed.extend_from_slice(&U256::from(data.len()).to_be_bytes::<32>());
        packed.extend_from_slice(data);
    }
    ProposedCall {
        to: multi_send_call_only,
        value: U256::ZERO,
        data: IMultiSend::multiSendCall {
            transactions: packed.into(),
        }
        .abi_encode()
        .into(),
        operation: Operation::DelegateCall,
        description,
        origin,
    }
}

/// Writes `call` as a new proposal of `target.safe` (nothing is sent): the Safe nonce is
/// read from the chain (and follows the proposals already waiting), the hash computed, the
/// call decoded. Every admin command's `--via-multisig` ends here.
pub async fn propose(
    provider: &DynProvider,
    target: &ProposalTarget,
    call: ProposedCall,
) -> Result<(Proposal, std::path::PathBuf)> {
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(OpsError::rpc("reading the chain id"))?;
    let state = safe_state(provider, target.safe).await?;
    let nonce = match target.nonce {
        Some(nonce) => nonce,
        None => target
            .dir
            .list()?
            .iter()
            .filter(|(p, _)| {
                p.safe == target.safe && p.executed.is_none() && p.tx.nonce >= state.nonce
            })
            .map(|(p, _)| p.tx.nonce + U256::from(1))
            .max()
            .unwrap_or(state.nonce),
    };
    let name = target
        .named
        .iter()
        .find(|(_, address)| *address == call.to)
        .map(|(name, _)| name.clone());
    let proposal = Proposal::new(
        &target.network,
        chain_id,
        target.safe,
        call,
        nonce,
        name,
        unix_now(),
    );
    let path = target.dir.save(&proposal)?;
    tracing::info!(id = %proposal.id, nonce = %nonce, "wrote a multisig proposal");
    Ok((proposal, path))
}

/// Whether a proposal can execute now, decided from the chain before anything is sent.
#[derive(Clone, Debug, Serialize)]
pub struct Readiness {
    pub state: SafeState,
    /// The owners whose signatures count.
    pub valid: Vec<Address>,
    /// Approved-hash signatures whose owner has not approved on chain (they do not count).
    pub unapproved: Vec<Address>,
}

/// Checks `proposal` against the chain: its hash, chain, nonce, that every signature is by an
/// owner, and that enough count. The first failure is the error.
pub async fn check_ready(
    provider: &DynProvider,
    proposal: &Proposal,
    executor: Option<Address>,
) -> Result<Readiness> {
    let hash = proposal.verify_integrity()?;
    if let Some(done) = &proposal.executed {
        return Err(MultisigError::AlreadyExecuted {
            id: proposal.id.clone(),
            tx: done.tx,
        }
        .into());
    }
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(OpsError::rpc("reading the chain id"))?;
    if chain_id != proposal.chain_id {
        return Err(MultisigError::WrongChain {
            proposal: proposal.chain_id,
            safe: proposal.safe,
            network: proposal.network.clone(),
            chain: chain_id,
        }
        .into());
    }
    let state = safe_state(provider, proposal.safe).await?;
    if proposal.tx.nonce != state.nonce {
        return Err(MultisigError::NonceMismatch {
            proposal: proposal.tx.nonce,
            safe: state.nonce,
        }
        .into());
    }
    let safe = ISafe::new(proposal.safe, provider);
    let mut valid = Vec::new();
    let mut unapproved = Vec::new();
    for signature in &proposal.signatures {
        if !state.owners.contains(&signature.owner) {
            return Err(MultisigError::SignatureNotFromOwner {
                signer: signature.owner,
                safe: proposal.safe,
            }
            .into());
        }
        if signature.kind == SignatureKind::ApprovedHash && Some(signature.owner) != executor {
            let approved = safe
                .approvedHashes(signature.owner, hash)
                .call()
                .await
                .map_err(OpsError::contract("reading the Safe's approvedHashes"))?;
            if approved.is_zero() {
                unapproved.push(signature.owner);
                continue;
            }
        }
        valid.push(signature.owner);
    }
    if U256::from(valid.len()) < state.threshold {
        return Err(MultisigError::NotEnoughSignatures {
            have: valid.len(),
            threshold: state.threshold,
            safe: proposal.safe,
        }
        .into());
    }
    Ok(Readiness {
        state,
        valid,
        unapproved,
    })
}

/// What [`execute`] did.
#[derive(Clone, Debug, Serialize)]
pub struct ExecuteReport {
    pub id: String,
    pub safe: Address,
    pub safe_tx_hash: B256,
    pub signatures: usize,
    pub threshold: U256,
    pub gas_estimate: u64,
    pub tx: Option<B256>,
    pub block: Option<u64>,
    pub dry_run: bool,
}

/// Checks the proposal ([`check_ready`]), then sends `execTransaction` from `from` with the
/// signatures packed by owner (not with `dry_run`, which stops after the gas estimate).
/// The proposal is returned marked executed; the caller saves it.
pub async fn execute(
    provider: &DynProvider,
    from: Address,
    proposal: &mut Proposal,
    dry_run: bool,
) -> Result<ExecuteReport> {
    let ready = check_ready(provider, proposal, Some(from)).await?;
    let counted: Vec<OwnerSignature> = proposal
        .signatures
        .iter()
        .filter(|s| ready.valid.contains(&s.owner))
        .cloned()
        .collect();
    let t = &proposal.tx;
    let call = ISafe::execTransactionCall {
        to: t.to,
        value: t.value,
        data: t.data.clone(),
        operation: t.operation.as_u8(),
        safeTxGas: t.safe_tx_gas,
        baseGas: t.base_gas,
        gasPrice: t.gas_price,
        gasToken: t.gas_token,
        refundReceiver: t.refund_receiver,
        signatures: pack_signatures(&counted),
    };
    let request = TransactionRequest::default()
        .from(from)
        .to(proposal.safe)
        .with_input(call.abi_encode());
    let estimate = provider
        .estimate_gas(request.clone())
        .await
        .map_err(OpsError::rpc(format!(
            "estimating execTransaction of proposal {}",
            proposal.id
        )))?;
    let mut report = ExecuteReport {
        id: proposal.id.clone(),
        safe: proposal.safe,
        safe_tx_hash: proposal.safe_tx_hash,
        signatures: counted.len(),
        threshold: ready.state.threshold,
        gas_estimate: estimate,
        tx: None,
        block: None,
        dry_run,
    };
    if dry_run {
        return Ok(report);
    }
    // The Safe forwards at most 63/64 of what is left to the call it makes: a margin over an
    // estimate made at the exact limit keeps the inner call from running short.
    let request = request.with_gas_limit(estimate.saturating_mul(3) / 2 + 50_000);
    let receipt = tx::send_and_confirm(
        provider,
        request,
        &format!("Safe.execTransaction of proposal {}", proposal.id),
    )
    .await?;
    let failed = receipt.inner.logs().iter().any(|log| {
        log.address() == proposal.safe
            && log.topics().first() == Some(&ISafe::ExecutionFailure::SIGNATURE_HASH)
    });
    if failed {
        return Err(MultisigError::ExecutionFailed {
            tx: receipt.transaction_hash,
        }
        .into());
    }
    proposal.executed = Some(Execution {
        tx: receipt.transaction_hash,
        block: receipt.block_number,
        executor: from,
    });
    report.tx = Some(receipt.transaction_hash);
    report.block = receipt.block_number;
    tracing::info!(id = %proposal.id, tx = %receipt.transaction_hash, "executed a multisig proposal");
    Ok(report)
}

/// Adds `signature` to `proposal` after checking it is of the proposal's hash and, when the
/// Safe's owners are known, by one of them.
pub fn add_signature(
    proposal: &mut Proposal,
    signature: OwnerSignature,
    owners: Option<&[Address]>,
) -> Result<()> {
    proposal.verify_integrity()?;
    if let Some(owners) = owners
        && !owners.contains(&signature.owner)
    {
        return Err(MultisigError::SignerNotOwner {
            signer: signature.owner,
            safe: proposal.safe,
            owners: owners
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into());
    }
    proposal.add_signature(signature);
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;

    use super::*;

    #[test]
    fn owner_sets_are_checked_before_anything_is_sent() {
        let a = address!("0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        let b = address!("0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        validate_owners(&[a, b], 2).expect("2 of 2");
        let cases: [(&[Address], u64, &str); 5] = [
            (&[a, b], 0, "at least 1"),
            (&[a, b], 3, "above the number"),
            (&[a, a], 1, "listed twice"),
            (&[], 1, "at least one signer"),
            (&[a, SENTINEL], 1, "sentinel"),
        ];
        for (owners, threshold, needle) in cases {
            let error = validate_owners(owners, threshold).expect_err("refused");
            assert!(error.is_usage(), "{error}");
            assert!(error.to_string().contains(needle), "{error}");
        }
    }

    #[test]
    fn a_batch_is_a_delegate_call_to_multisend() {
        let to = address!("0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        let call = batch(
            &[
                (to, U256::ZERO, Bytes::from(vec![1, 2, 3, 4])),
                (to, U256::from(5), Bytes::new()),
            ],
            SafeContract::MultiSendCallOnly
                .canonical_address()
                .unwrap_or_default(),
            "two".into(),
            "test".into(),
        );
        assert_eq!(call.operation, Operation::DelegateCall);
        let decoded = IMultiSend::multiSendCall::abi_decode(&call.data).expect("decodes");
        // operation (1) + to (20) + value (32) + length (32) + data, twice.
        assert_eq!(decoded.transactions.len(), (1 + 20 + 32 + 32) * 2 + 4);
    }
}

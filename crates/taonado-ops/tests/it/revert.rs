//! A procedure whose transaction is mined and reverts reports why: the revert reason is
//! recovered by re-running the transaction and decoded against the protocol's ABIs.

use alloy::network::{Ethereum, EthereumWallet};
use alloy::primitives::{Address, U256};
use alloy::providers::fillers::{FillerControlFlow, TxFiller};
use alloy::providers::{DynProvider, Provider, ProviderBuilder, SendableTx};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use alloy::transports::TransportResult;
use anyhow::{Context, Result, bail};
use taonado_contracts::bindings::EvmValidator;
use taonado_deployment::names;
use taonado_devnet::DevnetConfig;
use taonado_ops::OpsError;
use taonado_ops::deploy::{FamilyPolicy, NoProgress, deploy};
use taonado_ops::subnet::SubnetKind;

use crate::common::*;

/// Gives every transaction a fixed gas limit, so nothing is estimated before sending: a call
/// that would revert is mined and reverts, as one does when the chain changes between the
/// estimate and the block.
#[derive(Clone, Copy, Debug)]
struct FixedGasLimit(u64);

impl TxFiller<Ethereum> for FixedGasLimit {
    type Fillable = ();

    fn status(&self, tx: &TransactionRequest) -> FillerControlFlow {
        if tx.gas.is_some() {
            FillerControlFlow::Finished
        } else {
            FillerControlFlow::Ready
        }
    }

    fn fill_sync(&self, tx: &mut SendableTx<Ethereum>) {
        if let Some(builder) = tx.as_mut_builder()
            && builder.gas.is_none()
        {
            builder.gas = Some(self.0);
        }
    }

    async fn prepare<P: Provider<Ethereum>>(
        &self,
        _provider: &P,
        _tx: &TransactionRequest,
    ) -> TransportResult<()> {
        Ok(())
    }

    async fn fill(
        &self,
        _fillable: (),
        tx: SendableTx<Ethereum>,
    ) -> TransportResult<SendableTx<Ethereum>> {
        Ok(tx)
    }
}

fn unestimated_provider(chain: &Chain) -> Result<DynProvider> {
    Ok(ProviderBuilder::new()
        .disable_recommended_fillers()
        .filler(FixedGasLimit(1_000_000))
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(chain.deployer.clone()))
        .connect_http(chain.url.parse()?)
        .erased())
}

#[tokio::test]
async fn a_reverted_deploy_step_names_the_custom_error() -> Result<()> {
    let chain = devnet(DevnetConfig::test()).await?;
    let dir = tempfile::tempdir()?;
    let mut plan = plan(
        &chain,
        &dir.path().join("deployments/local.json"),
        SubnetKind::Devnet,
        FamilyPolicy::ChainId,
    );
    let record = deploy(
        &chain.provider,
        chain.deployer_address(),
        &plan,
        &NoProgress,
    )
    .await?;
    let validator = record.address(names::EVM_VALIDATOR)?;

    // The EvmValidator changes hands; the old owner's deploy then tries to change its bounty.
    let new_owner = Address::repeat_byte(0x42);
    send(
        &chain.provider,
        TransactionRequest::default().to(validator).input(
            EvmValidator::transferOwnershipCall {
                newOwner: new_owner,
            }
            .abi_encode()
            .into(),
        ),
    )
    .await?;
    plan.evm_validator.set_weights_bounty += U256::from(1u64);

    let provider = unestimated_provider(&chain)?;
    let Err(error) = deploy(&provider, chain.deployer_address(), &plan, &NoProgress).await else {
        bail!("a deploy step by a former owner succeeded");
    };
    let OpsError::Reverted { action, tx, reason } = &error else {
        bail!("expected a revert, got {error}");
    };
    assert_eq!(action, "EvmValidator.setSetWeightsBounty");
    let expected = format!(
        "OwnableUnauthorizedAccount({})",
        chain.deployer_address().to_checksum(None)
    );
    assert_eq!(reason.as_deref(), Some(expected.as_str()));
    let message = error.to_string();
    assert!(
        message.contains(&tx.to_string()) && message.contains(&expected),
        "{message}"
    );

    // The transaction was mined and failed: the hash in the error is the one on chain.
    let receipt = chain
        .provider
        .get_transaction_receipt(*tx)
        .await?
        .context("the reverted transaction has a receipt")?;
    assert!(!receipt.status());
    assert_eq!(
        EvmValidator::new(validator, &chain.provider)
            .owner()
            .call()
            .await?,
        new_owner
    );
    Ok(())
}

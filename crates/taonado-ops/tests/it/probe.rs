//! The verifier-family probe refuses a variant that the chain cannot run, before anything is
//! deployed.

use anyhow::Result;
use taonado_deployment::DeploymentRecord;
use taonado_devnet::DevnetConfig;
use taonado_ops::OpsError;
use taonado_ops::deploy::{ChainFamily, FamilyPolicy, NoProgress, deploy};
use taonado_ops::subnet::SubnetKind;

use crate::common::*;

async fn assert_refused(
    chain: &Chain,
    subnet: SubnetKind,
    by_chain_id: ChainFamily,
    by_probe: ChainFamily,
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let plan = plan(
        chain,
        &dir.path().join("refused.json"),
        subnet,
        FamilyPolicy::ChainId,
    );
    let nonce = chain.nonce().await?;
    match deploy(
        &chain.provider,
        chain.deployer_address(),
        &plan,
        &NoProgress,
    )
    .await
    {
        Err(OpsError::VerifierFamilyMismatch {
            by_chain_id: c,
            by_probe: p,
            ..
        }) => {
            assert_eq!((c, p), (by_chain_id, by_probe));
        }
        other => panic!("expected a family mismatch, got {other:?}"),
    }
    assert_eq!(chain.nonce().await?, nonce, "nothing was sent");
    let record = DeploymentRecord::load(&plan.record_path)?;
    assert!(
        record.is_none_or(|r| r.contracts.is_empty() && r.pools.is_empty()),
        "nothing was recorded"
    );
    Ok(())
}

#[tokio::test]
async fn anvil_with_a_bittensor_chain_id_gets_no_bittensor_verifier() -> Result<()> {
    let chain = anvil(945).await?;
    assert_refused(
        &chain,
        SubnetKind::AnvilMocks,
        ChainFamily::Bittensor,
        ChainFamily::Ethereum,
    )
    .await
}

#[tokio::test]
async fn devnet_with_an_ethereum_chain_id_gets_no_ethereum_verifier() -> Result<()> {
    let chain = devnet(DevnetConfig {
        chain_id: 1,
        ..DevnetConfig::test()
    })
    .await?;
    assert_refused(
        &chain,
        SubnetKind::Devnet,
        ChainFamily::Ethereum,
        ChainFamily::Bittensor,
    )
    .await
}

#[tokio::test]
async fn probe_reads_each_chains_precompiles() -> Result<()> {
    let devnet = devnet(DevnetConfig::test()).await?;
    let found = taonado_ops::deploy::family::probe(&devnet.provider).await?;
    assert_eq!(found.family(), Some(ChainFamily::Bittensor), "{found:?}");
    let anvil = anvil(31_337).await?;
    let found = taonado_ops::deploy::family::probe(&anvil.provider).await?;
    assert_eq!(found.family(), Some(ChainFamily::Ethereum), "{found:?}");
    Ok(())
}

//! The same deployment and mining round on a real anvil started with the testnet chain id:
//! the verifier family comes from the probe (anvil adds at 0x6), and 0x802/0x804 are mocks.

use anyhow::{Context, Result};
use taonado_contracts::Contract;
use taonado_deployment::names;
use taonado_ops::deploy::{FamilyPolicy, deploy};
use taonado_ops::subnet::SubnetKind;

use crate::common::*;

#[tokio::test]
async fn deploys_and_mines_on_anvil_with_mocked_precompiles() -> Result<()> {
    let chain = anvil(945).await?;
    let dir = tempfile::tempdir()?;
    let plan = plan(
        &chain,
        &dir.path().join("deployments/anvil.json"),
        SubnetKind::AnvilMocks,
        FamilyPolicy::Detect,
    );
    let steps = Steps::default();
    let record = deploy(&chain.provider, chain.deployer_address(), &plan, &steps).await?;

    let verifier = record.verifier.as_ref().context("verifier recorded")?;
    assert_eq!(
        verifier.family, "ethereum",
        "anvil adds at 0x6 whatever its chain id"
    );
    assert_eq!(
        record.contracts[names::VERIFIER].artifact,
        Contract::Groth16VerifierEthereum.name()
    );
    let done = steps.done();
    assert!(
        done.contains(&"MockMetagraph".to_owned()) && done.contains(&"MockNeuron".to_owned()),
        "{done:?}"
    );
    assert_wiring(&chain, &record, &plan).await?;

    let nonce = chain.nonce().await?;
    let again = Steps::default();
    deploy(&chain.provider, chain.deployer_address(), &plan, &again).await?;
    assert_eq!(again.done(), Vec::<String>::new());
    assert_eq!(chain.nonce().await?, nonce);

    mining_round(&chain, &record).await
}

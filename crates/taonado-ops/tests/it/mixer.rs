//! The mixer against the devnet: the Rust tree's root equals the contract's after random
//! deposits (proptest), and withdrawals with the real Groth16 proof: after more than 30
//! later deposits, and rejected when replayed, re-targeted or tampered with.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::DynProvider;
use anyhow::{Context, Result, ensure};
use proptest::prelude::*;
use taonado_contracts::bindings::{ERC20Taonado, WTAO};
use taonado_deployment::{DeploymentRecord, names};
use taonado_devnet::DevnetConfig;
use taonado_ops::OpsError;
use taonado_ops::deploy::{FamilyPolicy, deploy};
use taonado_ops::mixer::{
    DepositRequest, EventCache, Mixer, MixerError, NoMixerProgress, Pool, WithdrawKeys,
    WithdrawRequest, load_prover,
};
use taonado_ops::subnet::SubnetKind;
use taonado_ops::verifying_key::VerifyingKeyFile;
use taonado_zk::{
    MerkleTree, Note, WithdrawPublicInputs, WithdrawWitness, fr_from_b256, fr_to_b256,
    proof_to_bytes,
};

use crate::common::*;

/// The repository's local dev keys (the verifier is deployed from their verifying key).
fn local_keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys/local")
}

struct Deployed {
    chain: Chain,
    record: DeploymentRecord,
    dir: tempfile::TempDir,
}

async fn deployed(local_key: bool) -> Result<Deployed> {
    let chain = devnet(DevnetConfig::test()).await?;
    let dir = tempfile::tempdir()?;
    let mut plan = plan(
        &chain,
        &dir.path().join("deployments/local.json"),
        SubnetKind::Devnet,
        FamilyPolicy::ChainId,
    );
    if local_key {
        let path = local_keys_dir().join("withdraw.vk.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        plan.verifying_key = VerifyingKeyFile::parse(&text)?;
    }
    let record = deploy(&chain.provider, chain.deployer_address(), &plan, &NoSteps).await?;
    Ok(Deployed { chain, record, dir })
}

struct NoSteps;
impl taonado_ops::DeployProgress for NoSteps {
    fn step(&self, _name: &str, _state: taonado_ops::StepState) {}
}

impl Deployed {
    async fn mixer(&self) -> Result<Mixer> {
        Ok(Mixer::new(
            self.chain.provider.clone(),
            self.record.clone(),
            &self.dir.path().join("cache"),
        )
        .await?)
    }

    /// Wraps `amount` and approves every pool for it.
    async fn fund(&self, amount: U256) -> Result<()> {
        let wtao = WTAO::new(self.record.address(names::WTAO)?, &self.chain.provider);
        wtao.deposit()
            .value(amount)
            .send()
            .await?
            .get_receipt()
            .await?;
        for pool in &self.record.pools {
            wtao.approve(pool.contract.address, amount)
                .send()
                .await?
                .get_receipt()
                .await?;
        }
        Ok(())
    }
}

/// Deposits raw commitments straight into the pool contract.
async fn deposit_commitments(
    provider: &DynProvider,
    pool: Address,
    commitments: &[B256],
) -> Result<()> {
    let contract = ERC20Taonado::new(pool, provider);
    for commitment in commitments {
        let receipt = contract
            .deposit(*commitment)
            .send()
            .await?
            .get_receipt()
            .await?;
        ensure!(receipt.status(), "deposit of {commitment} reverted");
    }
    Ok(())
}

/// Random field elements: 31 random bytes, big-endian, always below the modulus.
fn commitment_strategy() -> impl Strategy<Value = B256> {
    proptest::array::uniform31(any::<u8>()).prop_map(|bytes| {
        let mut word = [0u8; 32];
        word[1..].copy_from_slice(&bytes);
        B256::from(word)
    })
}

#[test]
fn rust_tree_root_matches_the_contract_after_random_deposits() -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let deployed = runtime.block_on(deployed(false))?;
    let mixer = runtime.block_on(deployed.mixer())?;
    let pool = mixer.pool("0.1")?;
    runtime.block_on(deployed.fund(tao(10)))?;
    let contract = ERC20Taonado::new(pool.address, &deployed.chain.provider);
    // Every commitment deposited so far, across cases (the pool keeps them all).
    let all = std::cell::RefCell::new(Vec::new());
    let config = ProptestConfig {
        cases: 4,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(batch in proptest::collection::vec(commitment_strategy(), 1..12))| {
        let (cache_leaves, contract_root, synced_root, known) = runtime
            .block_on(async {
                deposit_commitments(&deployed.chain.provider, pool.address, &batch).await?;
                let report = mixer.sync(std::slice::from_ref(&pool), false, &NoMixerProgress).await?;
                let cache = EventCache::load(&report.pools[0].cache_path, mixer.chain_id(), pool.address)?
                    .context("cache written")?;
                let root = contract.getLastRoot().call().await?;
                anyhow::Ok((cache.leaves, root, report.pools[0].root, report.pools[0].root_known))
            })
            .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
        let mut all = all.borrow_mut();
        all.extend(batch);
        let leaves: Vec<_> = all.iter().map(|c| fr_from_b256(*c).unwrap()).collect();
        let tree = MerkleTree::from_leaves(&leaves).unwrap();
        prop_assert_eq!(fr_to_b256(tree.root()), contract_root);
        prop_assert_eq!(synced_root, contract_root);
        prop_assert!(known);
        prop_assert_eq!(&cache_leaves, &*all);
    });
    Ok(())
}

fn revert_reason(error: &alloy::contract::Error) -> String {
    error
        .as_revert_data()
        .and_then(|data| alloy::sol_types::decode_revert_reason(&data))
        .unwrap_or_else(|| error.to_string())
        .trim_start_matches("revert: ")
        .to_owned()
}

fn mixer_error(result: Result<impl std::fmt::Debug, OpsError>) -> MixerError {
    match result {
        Err(OpsError::Mixer(error)) => *error,
        other => panic!("expected a mixer error, got {other:?}"),
    }
}

#[tokio::test]
async fn withdrawals_use_a_current_root_and_reject_replays_and_tampering() -> Result<()> {
    let deployed = deployed(true).await?;
    let mixer = deployed.mixer().await?;
    let provider = &deployed.chain.provider;
    let sender = deployed.chain.deployer_address();
    let backup = deployed.dir.path().join("notes.txt");
    let deposit = |amount: &str| DepositRequest {
        amount: amount.to_owned(),
        sender,
        backup: backup.clone(),
        wrap: true,
        gas_price: None,
    };

    // Note A, then 31 later deposits: more than the 30 roots the pool remembers.
    let first = mixer.deposit(&deposit("1"), &NoMixerProgress).await?;
    let pool: Pool = first.pool.clone();
    let later: Vec<B256> = (1..=31u8)
        .map(|i| fr_to_b256(taonado_zk::Fr::from(u64::from(i) * 7919)))
        .collect();
    deployed.fund(tao(40)).await?;
    deposit_commitments(provider, pool.address, &later).await?;
    let stale_root = {
        let leaves = vec![fr_from_b256(first.commitment)?];
        fr_to_b256(MerkleTree::from_leaves(&leaves)?.root())
    };
    let contract = ERC20Taonado::new(pool.address, provider);
    assert!(
        !contract.isKnownRoot(stale_root).call().await?,
        "the root right after the deposit has left the history"
    );
    assert!(std::fs::read_to_string(&backup)?.contains(&first.note.to_string()));

    // A corrupt cache is reported, and nothing is sent.
    let cache_path = mixer.cache_path(&pool);
    mixer
        .sync(std::slice::from_ref(&pool), false, &NoMixerProgress)
        .await?;
    let good_cache = std::fs::read_to_string(&cache_path)?;
    std::fs::write(
        &cache_path,
        good_cache.replace("\"leaves\":[\"0x", "\"leaves\":[\"0x1"),
    )?;
    let recipient = Address::repeat_byte(0xa1);
    let request = |note: &Note, recipient: Address| WithdrawRequest {
        note: note.clone(),
        recipient,
        relayer: Address::ZERO,
        fee: U256::ZERO,
        refund: U256::ZERO,
        gas_price: None,
    };
    let keys = WithdrawKeys {
        keys_dir: Some(local_keys_dir()),
        // Never read: the pools' verifier embeds the local dev key.
        tornado_dir: local_keys_dir().join("no-tornado-keys"),
    };
    let error = mixer_error(
        mixer
            .withdraw(&request(&first.note, recipient), &keys, &NoMixerProgress)
            .await,
    );
    assert!(matches!(error, MixerError::CacheCorrupt { .. }), "{error}");

    // A cache with a wrong leaf but a valid checksum rebuilds an unknown root: stale.
    std::fs::write(&cache_path, &good_cache)?;
    let mut cache =
        EventCache::load(&cache_path, mixer.chain_id(), pool.address)?.context("cache")?;
    cache.leaves[5] = B256::with_last_byte(1);
    cache.save(&cache_path)?;
    let error = mixer_error(
        mixer
            .withdraw(&request(&first.note, recipient), &keys, &NoMixerProgress)
            .await,
    );
    assert!(matches!(error, MixerError::CacheStale { .. }), "{error}");

    // A cache synced to a block that is no longer canonical is rebuilt, with the reason.
    cache.leaves[5] = later[4];
    let (block, _) = cache.synced_to.context("synced")?;
    cache.synced_to = Some((block, B256::repeat_byte(0xee)));
    cache.save(&cache_path)?;
    let report = mixer
        .sync(std::slice::from_ref(&pool), false, &NoMixerProgress)
        .await?;
    assert!(report.pools[0].resynced.is_some(), "{report:?}");
    assert!(report.pools[0].root_known);
    assert_eq!(report.pools[0].leaves, 32);

    // Note A withdraws with the current root.
    let withdrawn = mixer
        .withdraw(&request(&first.note, recipient), &keys, &NoMixerProgress)
        .await?;
    assert_eq!(withdrawn.leaf_index, 0);
    assert_eq!(withdrawn.tree_size, 32);
    assert_eq!(withdrawn.root, contract.getLastRoot().call().await?);
    let wtao = WTAO::new(deployed.record.address(names::WTAO)?, provider);
    assert_eq!(wtao.balanceOf(recipient).call().await?, pool.denomination);
    assert!(withdrawn.gas_limit > withdrawn.gas_used);
    let error = mixer_error(
        mixer
            .withdraw(&request(&first.note, recipient), &keys, &NoMixerProgress)
            .await,
    );
    assert!(matches!(error, MixerError::SpentNote { .. }), "{error}");

    // Note B: a real proof, then variations of it sent straight to the pool.
    let second = mixer.deposit(&deposit("1"), &NoMixerProgress).await?;
    let report = mixer
        .sync(std::slice::from_ref(&pool), false, &NoMixerProgress)
        .await?;
    let cache = EventCache::load(&report.pools[0].cache_path, mixer.chain_id(), pool.address)?
        .context("cache")?;
    let leaves: Vec<_> = cache
        .leaves
        .iter()
        .map(|l| fr_from_b256(*l))
        .collect::<Result<_, _>>()?;
    let tree = MerkleTree::from_leaves(&leaves)?;
    let root = fr_to_b256(tree.root());
    let nullifier_hash = fr_to_b256(second.note.nullifier_hash());
    let relayer = Address::repeat_byte(0xb2);
    let fee = U256::from(10u64).pow(U256::from(16u64));
    let public =
        WithdrawPublicInputs::from_evm(root, nullifier_hash, recipient, relayer, fee, U256::ZERO)?;
    let witness = WithdrawWitness::new(
        &second.note,
        tree.path(usize::try_from(second.leaf_index)?)?,
    );
    let prover = load_prover(&deployed.record, keys.keys_dir.as_deref())?.prover;
    let proof = prover.prove(&public, &witness, &mut rand::rng())?;
    let bytes = Bytes::from(proof_to_bytes(&proof));
    let withdraw = |proof: Bytes, recipient: Address, relayer: Address, fee: U256| {
        contract.withdraw(
            proof,
            root,
            nullifier_hash,
            recipient,
            relayer,
            fee,
            U256::ZERO,
        )
    };
    let other = Address::repeat_byte(0xc3);
    for (what, call) in [
        (
            "another recipient",
            withdraw(bytes.clone(), other, relayer, fee),
        ),
        (
            "another relayer",
            withdraw(bytes.clone(), recipient, other, fee),
        ),
        (
            "another fee",
            withdraw(bytes.clone(), recipient, relayer, fee + U256::from(1u64)),
        ),
    ] {
        let Err(error) = call.call().await else {
            panic!("a proof with {what} was accepted");
        };
        assert_eq!(revert_reason(&error), "Invalid withdraw proof", "{what}");
    }
    // A tampered proof: c.x moved by one. Off the curve, the pairing precompile fails and the
    // verifier reverts; either way nothing is paid.
    let mut tampered = bytes.to_vec();
    tampered[6 * 32 + 31] ^= 1;
    let tampered = withdraw(Bytes::from(tampered), recipient, relayer, fee)
        .call()
        .await;
    assert!(tampered.is_err(), "a tampered proof is rejected");

    let receipt = withdraw(bytes.clone(), recipient, relayer, fee)
        .gas(2_000_000)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status(), "the real proof withdraws");
    assert_eq!(wtao.balanceOf(relayer).call().await?, fee);
    let Err(error) = withdraw(bytes, recipient, relayer, fee).call().await else {
        panic!("a double spend was accepted");
    };
    assert_eq!(revert_reason(&error), "The note has been already spent");

    // The compliance report finds both sides of note B.
    let disclosed = mixer.compliance(&second.note).await?;
    assert_eq!(disclosed.deposit.tx_hash, Some(second.tx_hash));
    assert_eq!(disclosed.deposit.user, Some(sender));
    let withdrawal = disclosed.withdrawal.context("withdrawal disclosed")?;
    assert_eq!(withdrawal.tx_hash, Some(receipt.transaction_hash));
    assert_eq!(
        (withdrawal.recipient, withdrawal.relayer, withdrawal.fee),
        (recipient, relayer, fee)
    );

    let stats = mixer.stats().await?;
    let one = stats
        .pools
        .iter()
        .find(|p| p.pool.address == pool.address)
        .context("pool")?;
    assert_eq!(
        (one.deposits, one.withdrawals, one.anonymity_set),
        (33, 2, 31)
    );
    assert_eq!(one.balance, pool.denomination * U256::from(31u64));
    Ok(())
}

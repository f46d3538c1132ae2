//! The mixer's event cache beyond withdraw: `stats` and `compliance` count Deposits and
//! Withdrawals from the cache, equal to a full `eth_getLogs` scan; a second run fetches
//! only blocks mined since; a tampered Withdrawal entry and an outdated file are caught.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use anyhow::{Context, Result};
use taonado_contracts::bindings::{ERC20Taonado, WTAO};
use taonado_deployment::names;
use taonado_devnet::DevnetConfig;
use taonado_ops::OpsError;
use taonado_ops::deploy::{FamilyPolicy, deploy};
use taonado_ops::mixer::{
    CACHE_VERSION, DepositRequest, EventCache, Mixer, MixerError, NoMixerProgress, StatsReport,
    WithdrawKeys, WithdrawRequest,
};
use taonado_ops::subnet::SubnetKind;
use taonado_ops::verifying_key::VerifyingKeyFile;
use taonado_zk::fr_to_b256;

use crate::common::*;

fn local_keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys/local")
}

struct NoSteps;
impl taonado_ops::DeployProgress for NoSteps {
    fn step(&self, _name: &str, _state: taonado_ops::StepState) {}
}

/// Deposits and Withdrawals per pool from one `eth_getLogs` over every block, no cache.
async fn full_scan(mixer: &Mixer) -> Result<BTreeMap<Address, (u64, u64)>> {
    let deposit = ERC20Taonado::Deposit::SIGNATURE_HASH;
    let withdrawal = ERC20Taonado::Withdrawal::SIGNATURE_HASH;
    let pools: Vec<Address> = mixer.pools().iter().map(|p| p.address).collect();
    let logs = mixer
        .provider()
        .get_logs(
            &Filter::new()
                .address(pools.clone())
                .event_signature(vec![deposit, withdrawal])
                .from_block(0),
        )
        .await?;
    let mut counts: BTreeMap<Address, (u64, u64)> =
        pools.into_iter().map(|p| (p, (0, 0))).collect();
    for log in logs {
        let entry = counts.get_mut(&log.address()).context("log of a pool")?;
        match log.topics()[0] {
            t if t == deposit => entry.0 += 1,
            t if t == withdrawal => entry.1 += 1,
            other => anyhow::bail!("unexpected topic {other}"),
        }
    }
    Ok(counts)
}

/// Stats equal the full scan, and the balance is what the counts imply.
fn assert_matches_scan(
    stats: &StatsReport,
    scan: &BTreeMap<Address, (u64, u64)>,
    balances: &BTreeMap<Address, U256>,
) {
    assert_eq!(stats.pools.len(), scan.len());
    for p in &stats.pools {
        let (deposits, withdrawals) = scan[&p.pool.address];
        assert_eq!(
            (p.deposits, p.withdrawals, p.anonymity_set),
            (deposits, withdrawals, deposits - withdrawals),
            "{} WTAO pool",
            p.pool.amount
        );
        assert_eq!(p.balance, balances[&p.pool.address]);
        assert_eq!(
            p.balance,
            p.pool.denomination * U256::from(deposits - withdrawals)
        );
        assert_eq!(p.synced_block, stats.head);
    }
}

fn mixer_error(result: Result<impl std::fmt::Debug, OpsError>) -> MixerError {
    match result {
        Err(OpsError::Mixer(error)) => *error,
        other => panic!("expected a mixer error, got {other:?}"),
    }
}

#[tokio::test]
async fn stats_count_from_the_cache_fetch_only_new_blocks_and_catch_tampering() -> Result<()> {
    let chain = devnet(DevnetConfig::test()).await?;
    let dir = tempfile::tempdir()?;
    let mut plan = plan(
        &chain,
        &dir.path().join("deployments/local.json"),
        SubnetKind::Devnet,
        FamilyPolicy::ChainId,
    );
    plan.verifying_key = VerifyingKeyFile::parse(&std::fs::read_to_string(
        local_keys_dir().join("withdraw.vk.json"),
    )?)?;
    let record = deploy(&chain.provider, chain.deployer_address(), &plan, &NoSteps).await?;
    let mixer = Mixer::new(
        chain.provider.clone(),
        record.clone(),
        &dir.path().join("cache"),
    )
    .await?;
    let wtao = WTAO::new(record.address(names::WTAO)?, &chain.provider);
    let balances = || async {
        let mut map = BTreeMap::new();
        for pool in mixer.pools() {
            map.insert(pool.address, wtao.balanceOf(pool.address).call().await?);
        }
        anyhow::Ok(map)
    };

    // Three notes in the 0.1 pool, one in the 1 pool; one 0.1 note withdrawn with a relayer
    // fee (one proof keeps the test fast), so the pools differ in every count.
    let sender = chain.deployer_address();
    let deposit = |amount: &str| DepositRequest {
        amount: amount.to_owned(),
        sender,
        backup: dir.path().join("notes.txt"),
        wrap: true,
        gas_price: None,
    };
    let mut notes = Vec::new();
    for amount in ["0.1", "0.1", "1", "0.1"] {
        notes.push(mixer.deposit(&deposit(amount), &NoMixerProgress).await?);
    }
    let relayer = Address::repeat_byte(0xb2);
    let fee = U256::from(10u64).pow(U256::from(15u64));
    let request = WithdrawRequest {
        note: notes[3].note.clone(),
        recipient: Address::repeat_byte(0xa1),
        relayer,
        fee,
        refund: U256::ZERO,
        gas_price: None,
    };
    let withdrawn = mixer
        .withdraw(
            &request,
            &WithdrawKeys {
                keys_dir: None,
                // Never read: the pools' verifier embeds the local dev key.
                tornado_dir: std::env::temp_dir().join("no-tornado-keys"),
            },
            &NoMixerProgress,
        )
        .await?;

    // First stats: withdraw synced the 0.1 pool's cache already; stats equal the scan.
    let first = mixer.stats().await?;
    let scan = full_scan(&mixer).await?;
    assert_matches_scan(&first, &scan, &balances().await?);
    let small = mixer.pool("0.1")?;
    assert_eq!(scan[&small.address], (3, 1));

    // Second stats, no new block: nothing fetched, same numbers.
    let second = mixer.stats().await?;
    assert_eq!(second.head, first.head);
    for p in &second.pools {
        assert_eq!((p.blocks_scanned, p.log_requests), (0, 0), "{p:?}");
    }
    assert_matches_scan(&second, &scan, &balances().await?);

    // One more deposit: the next stats fetch exactly the blocks mined since, in one request.
    mixer.deposit(&deposit("0.1"), &NoMixerProgress).await?;
    let third = mixer.stats().await?;
    assert!(third.head > second.head);
    for p in &third.pools {
        assert_eq!(p.blocks_scanned, third.head - second.head, "{p:?}");
        assert_eq!(p.log_requests, 1, "{p:?}");
    }
    let scan = full_scan(&mixer).await?;
    assert_eq!(scan[&small.address], (4, 1));
    assert_matches_scan(&third, &scan, &balances().await?);

    // The cached Withdrawals are the events: compliance discloses them from the cache.
    let cache = EventCache::load(&mixer.cache_path(&small), mixer.chain_id(), small.address)?
        .context("cache written")?;
    let [cached] = cache.withdrawals.as_slice() else {
        panic!("one withdrawal cached: {:?}", cache.withdrawals);
    };
    assert_eq!(
        (cached.nullifier_hash, cached.tx_hash, cached.block),
        (withdrawn.nullifier_hash, withdrawn.tx_hash, withdrawn.block)
    );
    assert_eq!(
        (cached.recipient, cached.relayer, cached.fee),
        (request.recipient, relayer, fee)
    );
    let disclosed = mixer.compliance(&notes[3].note).await?;
    let withdrawal = disclosed.withdrawal.context("withdrawal disclosed")?;
    assert_eq!(
        (withdrawal.tx_hash, withdrawal.relayer, withdrawal.fee),
        (Some(withdrawn.tx_hash), relayer, fee)
    );
    assert_eq!(disclosed.deposit.tx_hash, Some(notes[3].tx_hash));
    assert_eq!(disclosed.deposit.leaf_index, notes[3].leaf_index);
    let unspent = mixer.compliance(&notes[1].note).await?;
    assert!(!unspent.spent && unspent.withdrawal.is_none());
    assert_eq!(
        fr_to_b256(notes[1].note.commitment()),
        unspent.deposit.commitment
    );

    // A Withdrawal entry redirected by hand fails the checksum: stats stop with the
    // rebuild hint, and `sync --rebuild` repairs it.
    let path = mixer.cache_path(&small);
    let mut file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    file["withdrawals"][0]["recipient"] = serde_json::json!(Address::repeat_byte(0xa2));
    std::fs::write(&path, file.to_string())?;
    let error = mixer_error(mixer.stats().await);
    assert!(matches!(error, MixerError::CacheCorrupt { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("run `taonado mixer sync --rebuild`"),
        "{error}"
    );
    let error = mixer_error(mixer.compliance(&notes[3].note).await);
    assert!(matches!(error, MixerError::CacheCorrupt { .. }), "{error}");
    let rebuilt = mixer
        .sync(std::slice::from_ref(&small), true, &NoMixerProgress)
        .await?;
    assert_eq!(
        (rebuilt.pools[0].leaves, rebuilt.pools[0].withdrawals),
        (4, 1)
    );
    assert!(rebuilt.pools[0].root_known);
    assert_matches_scan(&mixer.stats().await?, &scan, &balances().await?);

    // A version 1 file (Deposit leaves only) is rebuilt by the next stats, which says why.
    let v1 = serde_json::json!({
        "version": 1,
        "chain_id": mixer.chain_id(),
        "pool": small.address,
        "synced_block": third.head,
        "synced_block_hash": B256::repeat_byte(1),
        "leaves": cache.leaves,
        "checksum": B256::repeat_byte(2),
    });
    std::fs::write(&path, v1.to_string())?;
    let upgraded = mixer.stats().await?;
    let one = upgraded
        .pools
        .iter()
        .find(|p| p.pool.address == small.address)
        .context("pool")?;
    let reason = one.cache_resynced.as_deref().unwrap_or_default();
    assert!(reason.contains("format version 1"), "{reason}");
    assert!(one.blocks_scanned > 0);
    assert_matches_scan(&upgraded, &scan, &balances().await?);
    let text = std::fs::read_to_string(&path)?;
    assert!(
        text.starts_with(&format!("{{\"version\":{CACHE_VERSION},")),
        "{text}"
    );
    Ok(())
}

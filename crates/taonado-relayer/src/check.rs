//! Everything checked before a job is accepted, cheapest first: the request's shape, the
//! pool, the relayer field, the refund, the fee against the current price or a live quote,
//! a live job for the same nullifier, the proof against the pool's verifying key (locally,
//! arkworks), then the chain (nullifier unspent, root known) and a gas estimate of the
//! withdrawal itself. None of it costs the relayer gas.

use std::path::Path;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use taonado_contracts::bindings::ERC20Taonado;
use taonado_contracts::verifier::code_embeds_key;
use taonado_ops::VerifyingKeyFile;
use taonado_zk::{VerifyingKey, WithdrawPublicInputs};

use crate::api::{PoolInfo, WithdrawBody};
use crate::error::{Refusal, RelayerError, Result};
use crate::service::Shared;
use crate::store::{Job, JobState, now_ms};

/// A pool and the key its verifier checks proofs with.
#[derive(Clone, Debug)]
pub(crate) struct PoolEntry {
    pub info: PoolInfo,
    pub key: VerifyingKey,
}

/// The verifying key `pool`'s verifier embeds in its code: Tornado's ceremony key, the
/// local dev key, the key in `keys_dir` (a ceremony's export) or one of `extra`. The code
/// decides, as for `mixer withdraw`: it is what checks the proof on chain.
pub(crate) async fn pool_key(
    provider: &DynProvider,
    pool: Address,
    keys_dir: Option<&Path>,
    extra: &[VerifyingKeyFile],
) -> Result<VerifyingKey> {
    let verifier = ERC20Taonado::new(pool, provider)
        .verifier()
        .call()
        .await
        .map_err(|e| RelayerError::Rpc {
            action: format!("reading the verifier of pool {pool}"),
            message: e.to_string(),
        })?;
    let code = provider
        .get_code_at(verifier)
        .await
        .map_err(|e| RelayerError::Rpc {
            action: format!("reading the code of verifier {verifier}"),
            message: e.to_string(),
        })?;
    let mut candidates = vec![VerifyingKeyFile::tornado()];
    if let Ok(local) = VerifyingKeyFile::parse(taonado_zk::keys::LOCAL_DEV_VERIFYING_KEY_JSON) {
        candidates.push(local);
    }
    candidates.extend(extra.iter().cloned());
    if let Some(dir) = keys_dir {
        let path = dir.join(taonado_zk::keys::VERIFYING_KEY_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| RelayerError::VerifyingKey {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        candidates.push(VerifyingKeyFile::parse(&text).map_err(|e| {
            RelayerError::VerifyingKey {
                path: path.clone(),
                reason: e.to_string(),
            }
        })?);
    }
    candidates
        .into_iter()
        .find(|key| key.to_words().is_ok_and(|w| code_embeds_key(&code, &w)))
        .map(VerifyingKeyFile::into_verifying_key)
        .ok_or(RelayerError::UnknownVerifierKey { pool })
}

fn word(text: &str, what: &str) -> Result<B256, Refusal> {
    let hex = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex.to_owned()
    })
    .map_err(|_| Refusal::Malformed(format!("{what} is not hex")))?;
    if bytes.len() > 32 {
        return Err(Refusal::Malformed(format!(
            "{what} is longer than 32 bytes"
        )));
    }
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    Ok(B256::from(out))
}

/// The request's fields, parsed.
pub(crate) struct Parsed {
    pub pool: Address,
    pub proof: Bytes,
    pub args: [B256; 6],
}

pub(crate) fn parse(body: &WithdrawBody) -> Result<Parsed, Refusal> {
    let pool: Address = body
        .contract
        .trim()
        .parse()
        .map_err(|_| Refusal::Malformed("contract is not an address".into()))?;
    let proof_hex = body.proof.strip_prefix("0x").unwrap_or(&body.proof);
    let proof =
        hex::decode(proof_hex).map_err(|_| Refusal::Malformed("proof is not hex".into()))?;
    if proof.len() != 256 {
        return Err(Refusal::Malformed(format!(
            "proof has {} bytes; it must be the 8 proof words (256 bytes)",
            proof.len()
        )));
    }
    if body.args.len() != 6 {
        return Err(Refusal::Malformed(format!(
            "args has {} values; it must be [root, nullifierHash, recipient, relayer, fee, refund]",
            body.args.len()
        )));
    }
    let names = [
        "root",
        "nullifierHash",
        "recipient",
        "relayer",
        "fee",
        "refund",
    ];
    let mut args = [B256::ZERO; 6];
    for ((out, text), name) in args.iter_mut().zip(&body.args).zip(names) {
        *out = word(text, name)?;
    }
    for (i, name) in [(2, "recipient"), (3, "relayer")] {
        if args[i][..12] != [0u8; 12] {
            return Err(Refusal::Malformed(format!("{name} is not an address")));
        }
    }
    Ok(Parsed {
        pool,
        proof: proof.into(),
        args,
    })
}

fn unavailable(action: &str) -> impl Fn(alloy::contract::Error) -> Refusal + '_ {
    move |e| Refusal::Unavailable(format!("{action}: {e}"))
}

/// Checks a request; the job to write when it passes.
pub(crate) async fn check(shared: &Shared, body: &WithdrawBody) -> Result<Job, Refusal> {
    let Parsed { pool, proof, args } = parse(body)?;
    let entry = shared.pools.get(&pool).ok_or(Refusal::UnknownPool(pool))?;
    let [root, nullifier_hash, recipient, relayer, fee, refund] = args;
    let relayer = Address::from_word(relayer);
    if relayer != shared.address {
        return Err(Refusal::RelayerMismatch {
            found: relayer,
            own: shared.address,
        });
    }
    if refund != B256::ZERO {
        return Err(Refusal::RefundUnsupported);
    }
    let fee = U256::from_be_bytes(fee.0);
    if fee > entry.info.denomination {
        return Err(Refusal::FeeAboveDenomination { fee });
    }
    shared
        .check_fee(pool, entry.info.denomination, fee, body.quote.as_deref())
        .await?;
    if let Some(job) = shared
        .store
        .live_job(nullifier_hash)
        .map_err(|e| Refusal::Unavailable(e.to_string()))?
    {
        return Err(Refusal::DuplicateJob {
            nullifier_hash,
            job,
        });
    }

    // The proof, against the key the pool's verifier embeds.
    let public = WithdrawPublicInputs::from_evm(
        root,
        nullifier_hash,
        Address::from_word(recipient),
        relayer,
        fee,
        U256::ZERO,
    )
    .map_err(|_| Refusal::InvalidProof)?;
    let key = entry.key.clone();
    let proof_bytes = proof.clone();
    let valid = tokio::task::spawn_blocking(move || {
        taonado_zk::proof_from_bytes(&proof_bytes)
            .ok()
            .and_then(|p| taonado_zk::verify(&key, &public, &p).ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    if !valid {
        return Err(Refusal::InvalidProof);
    }

    let contract = ERC20Taonado::new(pool, &shared.provider);
    if contract
        .isSpent(nullifier_hash)
        .call()
        .await
        .map_err(unavailable("reading isSpent"))?
    {
        return Err(Refusal::NullifierSpent(nullifier_hash));
    }
    if !contract
        .isKnownRoot(root)
        .call()
        .await
        .map_err(unavailable("reading isKnownRoot"))?
    {
        return Err(Refusal::UnknownRoot(root));
    }
    let call = contract
        .withdraw(
            proof.clone(),
            root,
            nullifier_hash,
            Address::from_word(recipient),
            relayer,
            fee,
            U256::ZERO,
        )
        .from(shared.address);
    match call.estimate_gas().await {
        Ok(gas) if gas > shared.policy.gas_limit => {
            return Err(Refusal::WouldRevert(format!(
                "it needs {gas} gas, above this relayer's limit of {}",
                shared.policy.gas_limit
            )));
        }
        Ok(_) => {}
        Err(e) => {
            let reason = e
                .as_revert_data()
                .and_then(|d| taonado_ops::tx::decode_revert(&d));
            return Err(match reason {
                Some(reason) => Refusal::WouldRevert(reason),
                None => Refusal::Unavailable(format!("estimating the withdrawal's gas: {e}")),
            });
        }
    }

    let now = now_ms();
    let mut seed = nullifier_hash.to_vec();
    seed.extend_from_slice(&now.to_be_bytes());
    seed.extend_from_slice(pool.as_slice());
    let id = hex::encode(&keccak256(&seed)[..12]);
    Ok(Job {
        id,
        state: JobState::Accepted,
        contract: pool,
        nullifier_hash,
        proof,
        args,
        fee,
        failed_reason: None,
        failed_message: None,
        tx_hash: None,
        block: None,
        accepted_at_ms: now,
        updated_at_ms: now,
        confirmed_at_ms: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(args: Vec<&str>) -> WithdrawBody {
        WithdrawBody {
            contract: format!("{}", Address::repeat_byte(1)),
            proof: format!("0x{}", "00".repeat(256)),
            args: args.into_iter().map(str::to_owned).collect(),
            quote: None,
        }
    }

    #[test]
    fn args_are_words_of_up_to_32_bytes_and_addresses_fit_in_20() {
        let ok = body(vec!["0x01", "0x2", "0x00", "0x00", "0x0", "0x0"]);
        let parsed = parse(&ok).expect("parses");
        assert_eq!(parsed.args[0], B256::with_last_byte(1));
        assert_eq!(parsed.args[1], B256::with_last_byte(2));

        let mut bad = ok.clone();
        bad.args[3] = format!("0x{}", "ff".repeat(32));
        assert!(matches!(parse(&bad), Err(Refusal::Malformed(m)) if m.contains("relayer")));
        let mut bad = ok.clone();
        bad.args.pop();
        assert!(matches!(parse(&bad), Err(Refusal::Malformed(_))));
        let mut bad = ok.clone();
        bad.proof = "0x1234".into();
        assert!(matches!(parse(&bad), Err(Refusal::Malformed(m)) if m.contains("256")));
        let mut bad = ok;
        bad.contract = "pool".into();
        assert!(matches!(parse(&bad), Err(Refusal::Malformed(_))));
    }
}

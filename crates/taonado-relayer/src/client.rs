//! The client side (`mixer withdraw --relayer-url`): read the relayer's status and quote,
//! prove with its address and fee, post the job, follow it to CONFIRMED.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;
use serde::de::DeserializeOwned;
use taonado_ops::mixer::{Mixer, MixerProgress, MixerStage, Pool, WithdrawKeys, WithdrawRequest};
use taonado_zk::Note;

use crate::api::{
    AcceptedView, ErrorView, JOBS_PATH, JobView, STATUS_PATH, StatusView, WITHDRAW_PATH,
    WithdrawBody,
};
use crate::error::{RelayerError, Result};

/// A withdrawal through a relayer.
#[derive(Clone, Debug)]
pub struct RelayedRequest {
    pub note: Note,
    pub recipient: Address,
    pub relayer_url: url::Url,
    /// How long to follow the job before giving up (the job goes on at the relayer).
    pub timeout: Duration,
    /// Between two looks at the job.
    pub poll: Duration,
}

/// Where the funds went.
#[derive(Clone, Debug, Serialize)]
pub struct RelayedWithdrawal {
    pub pool: Pool,
    pub recipient: Address,
    /// WTAO wei the recipient received: the denomination minus the fee.
    pub amount: U256,
    /// The relayer's account, paid `fee`.
    pub relayer: Address,
    pub fee: U256,
    /// `scheme://host:port` of the relayer.
    pub relayer_url: String,
    pub job: String,
    pub status: String,
    pub tx_hash: B256,
    pub block: u64,
    pub confirmations: u64,
    pub prove_ms: u64,
    /// From the job's acceptance to CONFIRMED, as the relayer recorded it.
    pub submit_to_confirmed_ms: u64,
    pub nullifier_hash: B256,
    pub warnings: Vec<String>,
}

fn endpoint(base: &url::Url, path: &str) -> Result<url::Url> {
    base.join(path.trim_start_matches('/'))
        .map_err(|e| RelayerError::Config(format!("the relayer URL: {e}")))
}

/// Talks to one relayer.
pub struct RelayerClient {
    http: reqwest::Client,
    base: url::Url,
    label: String,
}

impl RelayerClient {
    pub fn new(base: url::Url) -> Result<Self> {
        if !matches!(base.scheme(), "http" | "https") {
            return Err(RelayerError::Config(format!(
                "the relayer URL must be http:// or https://, not {}:",
                base.scheme()
            )));
        }
        let mut base = base;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let label = taonado_types::redact_urls(base.as_str()).into_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| RelayerError::Config(format!("an HTTP client: {e}")))?;
        Ok(Self { http, base, label })
    }

    async fn answer<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T> {
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(&e))?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| RelayerError::Remote {
                url: self.label.clone(),
                status: status.as_u16(),
                code: None,
                message: format!("an answer that is not the API's: {e}"),
            });
        }
        let view: Option<ErrorView> = serde_json::from_str(&text).ok();
        Err(RelayerError::Remote {
            url: self.label.clone(),
            status: status.as_u16(),
            code: view.as_ref().map(|v| v.code.clone()),
            message: view.map_or_else(|| text.chars().take(200).collect(), |v| v.error),
        })
    }

    fn unreachable(&self, e: &reqwest::Error) -> RelayerError {
        RelayerError::Unreachable {
            url: self.label.clone(),
            message: taonado_types::redact_urls(&e.to_string()).into_owned(),
        }
    }

    pub async fn status(&self) -> Result<StatusView> {
        let response = self
            .http
            .get(endpoint(&self.base, STATUS_PATH)?)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.answer(response).await
    }

    pub async fn submit(&self, body: &WithdrawBody) -> Result<AcceptedView> {
        let response = self
            .http
            .post(endpoint(&self.base, WITHDRAW_PATH)?)
            .json(body)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.answer(response).await
    }

    pub async fn job(&self, id: &str) -> Result<JobView> {
        let response = self
            .http
            .get(endpoint(&self.base, &format!("{JOBS_PATH}/{id}"))?)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.answer(response).await
    }

    /// Follows job `id` until CONFIRMED (returned), FAILED (an error) or `timeout`.
    pub async fn follow(&self, id: &str, timeout: Duration, poll: Duration) -> Result<JobView> {
        let started = Instant::now();
        loop {
            let job = self.job(id).await?;
            match job.status.as_str() {
                "CONFIRMED" => return Ok(job),
                "FAILED" => {
                    return Err(RelayerError::JobFailed {
                        job: id.to_owned(),
                        code: job.failed_reason.clone().unwrap_or_default(),
                        message: job.failed_message.clone().unwrap_or_default(),
                        tx_hash: job.tx_hash,
                    });
                }
                _ => {}
            }
            if started.elapsed() >= timeout {
                return Err(RelayerError::Timeout {
                    job: id.to_owned(),
                    state: job.status,
                    secs: timeout.as_secs(),
                    url: format!("{}{}/{id}", self.label.trim_end_matches('/'), JOBS_PATH),
                });
            }
            tokio::time::sleep(poll).await;
        }
    }
}

/// The proof's 8 words as the API takes them: one 0x-hex string.
fn proof_hex(words: &[B256]) -> String {
    let mut out = String::from("0x");
    for word in words {
        out.push_str(&hex::encode(word));
    }
    out
}

/// Reads the relayer's status and quote, proves (and verifies locally) with its address
/// and the quoted fee, posts the job and follows it to CONFIRMED.
pub async fn withdraw_via_relayer(
    mixer: &Mixer,
    request: &RelayedRequest,
    keys: &WithdrawKeys,
    progress: &dyn MixerProgress,
) -> Result<RelayedWithdrawal> {
    let client = RelayerClient::new(request.relayer_url.clone())?;
    let status = client.status().await?;
    if status.chain_id != mixer.chain_id() {
        return Err(RelayerError::ChainMismatch {
            relayer: status.chain_id,
            ours: mixer.chain_id(),
        });
    }
    let pool = mixer.note_pool(&request.note).await?;
    if !status.pools.iter().any(|p| p.address == pool.address) {
        return Err(RelayerError::PoolNotServed(pool.address));
    }
    let quote = status.quote.as_ref().ok_or_else(|| RelayerError::Remote {
        url: client.label.clone(),
        status: 503,
        code: Some("NO_QUOTE".into()),
        message: format!("the relayer gives no quote now: {}", status.health.error),
    })?;
    let fee: U256 = quote
        .fees
        .iter()
        .find(|f| f.pool == pool.address)
        .and_then(|f| f.fee.parse().ok())
        .ok_or(RelayerError::PoolNotServed(pool.address))?;
    let withdraw = WithdrawRequest {
        note: request.note.clone(),
        recipient: request.recipient,
        relayer: status.reward_account,
        fee,
        refund: U256::ZERO,
        gas_price: None,
    };
    let proved = mixer.withdraw_dry_run(&withdraw, keys, progress).await?;
    progress.stage(MixerStage::Sending {
        action: "the withdrawal to the relayer",
    });
    let body = WithdrawBody {
        contract: pool.address.to_string(),
        proof: proof_hex(&proved.proof),
        args: proved
            .public_inputs
            .iter()
            .map(ToString::to_string)
            .collect(),
        quote: Some(quote.id.clone()),
    };
    let accepted = client.submit(&body).await?;
    tracing::info!(job = %accepted.id, relayer = %client.label, "job accepted");
    let job = client
        .follow(&accepted.id, request.timeout, request.poll)
        .await?;
    Ok(RelayedWithdrawal {
        amount: pool.denomination - fee,
        pool,
        recipient: request.recipient,
        relayer: status.reward_account,
        fee,
        relayer_url: client.label.clone(),
        job: accepted.id,
        status: job.status,
        tx_hash: job.tx_hash.unwrap_or_default(),
        block: job.block.unwrap_or_default(),
        confirmations: job.confirmations,
        prove_ms: proved.prove_ms,
        submit_to_confirmed_ms: job
            .confirmed_at_ms
            .unwrap_or_default()
            .saturating_sub(job.accepted_at_ms),
        nullifier_hash: proved.nullifier_hash,
        warnings: proved.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_a_base_path_and_the_proof_is_one_hex_string() {
        let client = RelayerClient::new("http://127.0.0.1:8090/relay".parse().expect("url"))
            .expect("client");
        assert_eq!(
            endpoint(&client.base, STATUS_PATH).expect("joins").as_str(),
            "http://127.0.0.1:8090/relay/v1/status"
        );
        assert!(RelayerClient::new("ftp://x".parse().expect("url")).is_err());
        let hex = proof_hex(&[B256::repeat_byte(1), B256::repeat_byte(2)]);
        assert_eq!(hex.len(), 2 + 128);
    }
}

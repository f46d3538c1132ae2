//! Integration tests: a devnet on port 0, driven over HTTP with alloy and raw JSON-RPC.

mod archive;
mod contracts;
mod dev_methods;
mod fork;
mod invalid;
mod limits;
mod persistence;
mod rpc;
mod trace;
mod transactions;
mod ws;

use alloy::{
    network::EthereumWallet,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use serde_json::{Value, json};
use taonado_devnet::{DevnetConfig, DevnetHandle, spawn};

/// A running devnet plus clients for it.
pub struct Node {
    pub handle: DevnetHandle,
    pub http: reqwest::Client,
}

impl Node {
    pub async fn start() -> Self {
        Self::start_with(DevnetConfig::test()).await
    }

    pub async fn start_with(config: DevnetConfig) -> Self {
        let handle = spawn(config).await.expect("devnet starts");
        Self {
            handle,
            http: reqwest::Client::new(),
        }
    }

    pub fn signer(&self, index: usize) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&self.handle.dev_accounts()[index].private_key)
            .expect("dev key is valid")
    }

    /// An alloy provider that signs with dev account `index`.
    pub fn provider(&self, index: usize) -> DynProvider {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.signer(index)))
            .connect_http(self.handle.rpc_url().parse().expect("valid url"))
            .erased()
    }

    /// POST a raw body, return the parsed JSON answer.
    pub async fn post(&self, body: &str) -> Value {
        self.http
            .post(self.handle.rpc_url())
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("json answer")
    }

    /// Call `method` and return the whole response object.
    pub async fn raw(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        self.post(&body.to_string()).await
    }

    /// Call `method`, expecting success.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        let response = self.raw(method, params).await;
        match response.get("result") {
            Some(result) => result.clone(),
            None => panic!("{method} failed: {response}"),
        }
    }

    /// Call `method`, expecting an error; returns (code, message).
    pub async fn rpc_err(&self, method: &str, params: Value) -> (i64, String) {
        let response = self.raw(method, params).await;
        let error = response
            .get("error")
            .unwrap_or_else(|| panic!("{method} unexpectedly succeeded: {response}"));
        (
            error["code"].as_i64().expect("numeric code"),
            error["message"].as_str().expect("message").to_owned(),
        )
    }
}

/// Init code that deploys `runtime` as is.
pub fn deploy_code(runtime: &[u8]) -> Vec<u8> {
    // PUSH1 len DUP1 PUSH1 offset PUSH1 0 CODECOPY PUSH1 0 RETURN
    let len = u8::try_from(runtime.len()).expect("small runtime");
    let mut code = vec![
        0x60, len, 0x80, 0x60, 0x0b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(runtime);
    code
}

/// Topic of the logger contract's event.
pub const LOG_TOPIC: [u8; 32] = [0xaa; 32];

/// Runtime that stores calldata word 0 in slot 0, logs it with topics
/// (LOG_TOPIC, caller) and returns it.
pub fn logger_runtime() -> Vec<u8> {
    let mut code = vec![
        0x60, 0x00, 0x35, // CALLDATALOAD(0)
        0x80, 0x60, 0x00, 0x55, // SSTORE(0, v)
        0x60, 0x00, 0x52, // MSTORE(0, v)
        0x33, // CALLER (topic1)
        0x7f, // PUSH32 topic0
    ];
    code.extend_from_slice(&LOG_TOPIC);
    code.extend_from_slice(&[
        0x60, 0x20, 0x60, 0x00, 0xa2, // LOG2(0, 32, topic0, caller)
        0x60, 0x20, 0x60, 0x00, 0xf3, // RETURN(0, 32)
    ]);
    code
}

/// Runtime that forwards its calldata to `precompile` and reverts (empty data) if that
/// call fails, the way a Solidity high-level call bubbles up a halt.
pub fn forwarder_runtime(precompile: u16) -> Vec<u8> {
    let [hi, lo] = precompile.to_be_bytes();
    vec![
        0x36, 0x60, 0x00, 0x60, 0x00, 0x37, // CALLDATACOPY(0, 0, CALLDATASIZE)
        0x60, 0x00, 0x60, 0x00, 0x36, 0x60, 0x00, 0x60, 0x00, 0x61, hi, lo, 0x5a,
        0xf1, // CALL(gas, precompile, 0, 0, CALLDATASIZE, 0, 0)
        0x60, 0x1c, 0x57, // JUMPI(ok, success)
        0x60, 0x00, 0x60, 0x00, 0xfd, // REVERT(0, 0)
        0x5b, 0x00, // ok: JUMPDEST STOP
    ]
}

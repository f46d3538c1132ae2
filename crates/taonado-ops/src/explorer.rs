//! Source verification on an Etherscan- or Blockscout-compatible explorer (taostats).
//!
//! The sources are submitted as the exact solc standard-JSON input `contracts/build.mjs`
//! compiles: every `contracts/src/**/*.sol` plus the OpenZeppelin files they import, with the
//! same settings, so the explorer's compilation reproduces the deployed bytecode and its
//! metadata hash. By default that is the input committed next to the artifacts
//! ([`committed_standard_json_input`]), so no checkout or `node_modules` is needed;
//! [`standard_json_input`] rebuilds it from a checkout. Submission is `module=contract&action=verifysourcecode`
//! followed by `checkverifystatus` polling; the EvmValidator proxy is linked with
//! `verifyproxycontract`/`checkproxyverification`. Transient failures (HTTP 5xx, transport
//! errors, rate limits) are retried.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use alloy::primitives::{Address, Bytes};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use taonado_contracts::{CodeMatch, Contract};
use taonado_deployment::{DeploymentRecord, names};

pub use crate::error::explorer::ExplorerError;

/// The compiler of the committed artifacts, as explorers name it.
pub const COMPILER_VERSION: &str = "v0.8.37+commit.f401782d";

type Result<T, E = ExplorerError> = std::result::Result<T, E>;

/// The solc settings of `contracts/build.mjs` (Solidity part), verbatim.
pub fn solc_settings() -> Value {
    json!({
        "evmVersion": taonado_contracts::EVM_VERSION,
        "optimizer": { "enabled": true, "runs": 200 },
        "metadata": { "bytecodeHash": "ipfs" },
        "outputSelection": {
            "*": {
                "*": [
                    "abi",
                    "evm.bytecode.object",
                    "evm.deployedBytecode.object",
                    "evm.deployedBytecode.immutableReferences",
                    "evm.methodIdentifiers",
                    "storageLayout"
                ]
            }
        }
    })
}

/// The standard-JSON input the committed artifacts were compiled from, built into the binary.
pub fn committed_standard_json_input() -> Result<Value> {
    serde_json::from_str(taonado_contracts::STANDARD_JSON_INPUT).map_err(|e| {
        ExplorerError::EmbeddedInput {
            message: e.to_string(),
        }
    })
}

/// The standard-JSON input of the Solidity build: `contracts_dir/src/**/*.sol` (unit names
/// `src/...`) and everything they import, OpenZeppelin from `node_modules`.
pub fn standard_json_input(contracts_dir: &Path, node_modules: &Path) -> Result<Value> {
    let mut pending: Vec<String> = Vec::new();
    collect_sol(&contracts_dir.join("src"), contracts_dir, &mut pending)?;
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    while let Some(unit) = pending.pop() {
        if sources.contains_key(&unit) {
            continue;
        }
        let path = if unit.starts_with("@openzeppelin/") {
            node_modules.join(&unit)
        } else {
            contracts_dir.join(&unit)
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ExplorerError::Source { path, source })?;
        for import in imports(&text) {
            let resolved = resolve_import(&unit, &import).ok_or_else(|| ExplorerError::Import {
                unit: unit.clone(),
                import: import.clone(),
            })?;
            if !sources.contains_key(&resolved) {
                pending.push(resolved);
            }
        }
        sources.insert(unit, text);
    }
    let sources: serde_json::Map<String, Value> = sources
        .into_iter()
        .map(|(unit, content)| (unit, json!({ "content": content })))
        .collect();
    Ok(json!({
        "language": "Solidity",
        "sources": sources,
        "settings": solc_settings(),
    }))
}

/// Checks that `standard_json` holds, for every source unit each of `contracts` was compiled
/// from, the exact text its artifact's metadata hashes (`sources.<unit>.keccak256`), so no
/// source the deployed code was not built from (a stub, an edited or another version's file)
/// is ever submitted. The error names the first file that differs.
pub fn check_sources(
    standard_json: &Value,
    contracts: impl IntoIterator<Item = Contract>,
) -> Result<()> {
    for contract in contracts {
        for (unit, expected) in &contract.artifact().source_keccak256 {
            let content = standard_json["sources"][unit.as_str()]["content"]
                .as_str()
                .ok_or_else(|| ExplorerError::SourceMissing {
                    unit: unit.clone(),
                    contract: contract.name().to_owned(),
                })?;
            let found = alloy::primitives::keccak256(content.as_bytes());
            if found != *expected {
                return Err(ExplorerError::SourceMismatch {
                    unit: unit.clone(),
                    contract: contract.name().to_owned(),
                    expected: *expected,
                    found,
                });
            }
        }
    }
    Ok(())
}

fn collect_sol(dir: &Path, root: &Path, out: &mut Vec<String>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| ExplorerError::Source {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| ExplorerError::Source {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_sol(&path, root, out)?;
        } else if path.extension().is_some_and(|e| e == "sol")
            && let Ok(relative) = path.strip_prefix(root)
        {
            let unit: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(unit.join("/"));
        }
    }
    Ok(())
}

/// The import paths of a Solidity source: every `import ... "path" ...;` statement that starts
/// a line (comments mentioning "import" do not).
pub fn imports(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(at) = find_statement(rest, "import") {
        let statement = &rest[at..];
        let end = statement.find(';').unwrap_or(statement.len());
        let body = &statement[..end];
        if let Some(path) = body.split('"').nth(1).or_else(|| body.split('\'').nth(1)) {
            out.push(path.to_owned());
        }
        rest = &statement[end.min(statement.len())..];
        if rest.is_empty() {
            break;
        }
        rest = &rest[1.min(rest.len())..];
    }
    out
}

fn find_statement(text: &str, keyword: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with(keyword)
            && trimmed[keyword.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_whitespace() || c == '{' || c == '"' || c == '*')
        {
            return Some(offset + (line.len() - trimmed.len()));
        }
        offset += line.len();
    }
    None
}

/// solc's import resolution: `./` and `../` are relative to the importing unit's directory,
/// anything else is a unit name as written.
pub fn resolve_import(unit: &str, import: &str) -> Option<String> {
    if !(import.starts_with("./") || import.starts_with("../")) {
        return Some(import.to_owned());
    }
    let mut parts: Vec<&str> = unit.split('/').collect();
    parts.pop();
    for segment in import.split('/') {
        match segment {
            "." | "" => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// Retries and polling. Tests use zero durations.
#[derive(Clone, Copy, Debug)]
pub struct ExplorerPolicy {
    /// Attempts per request when the explorer answers 5xx, rate-limits or cannot be reached.
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// Wait between status polls.
    pub poll_interval: Duration,
    /// Status polls before giving up on a pending verification.
    pub max_polls: u32,
}

impl Default for ExplorerPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            backoff: Duration::from_secs(2),
            poll_interval: Duration::from_secs(5),
            max_polls: 60,
        }
    }
}

/// A client of one explorer's Etherscan-compatible API.
pub struct ExplorerClient {
    http: reqwest::Client,
    api: Url,
    api_key: Option<String>,
    policy: ExplorerPolicy,
}

#[derive(Deserialize)]
struct ApiResponse {
    status: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    result: Value,
}

impl ApiResponse {
    fn result_text(&self) -> String {
        match &self.result {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

/// One contract to verify.
#[derive(Clone, Debug)]
pub struct VerificationRequest {
    /// Display name (`WeightsV3`, `Pool 1 WTAO`).
    pub name: String,
    pub address: Address,
    pub contract: Contract,
    pub constructor_args: Bytes,
}

impl VerificationRequest {
    /// `source/Unit.sol:Name`, as the API's `contractname` wants it.
    pub fn qualified_name(&self) -> String {
        let artifact = self.contract.artifact();
        format!("{}:{}", artifact.source_name, artifact.name())
    }
}

/// The outcome of one contract's verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationStatus {
    Verified,
    AlreadyVerified,
    Failed,
    /// Not submitted (not ours, not Solidity, or its code does not match our artifact).
    Skipped,
    /// Still pending after the last poll.
    TimedOut,
}

/// One row of the verification report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationResult {
    pub name: String,
    pub address: Address,
    /// `src/Unit.sol:Name`.
    pub contract: String,
    /// Local bytecode comparison: `exact`, `except-immutables`, `except-metadata`, `mismatch`, `no-code`.
    pub local_match: String,
    pub status: VerificationStatus,
    pub message: String,
    pub guid: Option<String>,
    /// HTTP requests made for this contract (submission retries and polls).
    pub requests: u32,
}

/// What `taonado verify` saves and `taonado verify report` renders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationReport {
    pub network: String,
    pub chain_id: u64,
    pub explorer: String,
    pub compiler: String,
    /// Unix seconds.
    pub finished_at: u64,
    pub results: Vec<VerificationResult>,
}

impl VerificationReport {
    /// True when every submitted contract is verified and nothing was left pending.
    pub fn ok(&self) -> bool {
        self.results.iter().all(|r| {
            matches!(
                r.status,
                VerificationStatus::Verified
                    | VerificationStatus::AlreadyVerified
                    | VerificationStatus::Skipped
            )
        })
    }

    pub fn load(path: &Path) -> Result<Self, crate::OpsError> {
        let text = std::fs::read_to_string(path).map_err(crate::OpsError::io("read", path))?;
        serde_json::from_str(&text).map_err(|source| {
            ExplorerError::ResultFormat {
                path: path.to_path_buf(),
                source,
            }
            .into()
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), crate::OpsError> {
        let mut json = serde_json::to_vec_pretty(self).map_err(|source| {
            crate::OpsError::from(ExplorerError::ResultFormat {
                path: path.to_path_buf(),
                source,
            })
        })?;
        json.push(b'\n');
        Ok(taonado_deployment::fs::write_atomic(path, &json)?)
    }

    /// A markdown page of the results.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# Source verification: {} (chain {})\n\nExplorer: {}  \nCompiler: {}  \nResult: {}\n\n",
            self.network,
            self.chain_id,
            self.explorer,
            self.compiler,
            if self.ok() {
                "all verified"
            } else {
                "NOT all verified"
            }
        );
        out.push_str("| contract | address | source | local bytecode | explorer | message |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for r in &self.results {
            let status = serde_json::to_value(r.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            out.push_str(&format!(
                "| {} | `{}` | `{}` | {} | {} | {} |\n",
                r.name,
                r.address,
                r.contract,
                r.local_match,
                status,
                r.message.replace('|', "\\|")
            ));
        }
        out
    }
}

/// The local bytecode comparison as a word.
pub fn local_match_label(code: &[u8], contract: Contract) -> &'static str {
    if code.is_empty() {
        return "no-code";
    }
    match contract.artifact().compare_code(code) {
        CodeMatch::Exact => "exact",
        CodeMatch::ExceptImmutables => "except-immutables",
        CodeMatch::ExceptMetadata => "except-metadata",
        CodeMatch::Mismatch => "mismatch",
    }
}

/// The contracts of a record to submit, in deployment order, and the ones to skip with a reason.
pub fn requests_for(
    record: &DeploymentRecord,
) -> (Vec<VerificationRequest>, Vec<(String, Address, String)>) {
    let mut submit = Vec::new();
    let mut skip = Vec::new();
    let order = [
        names::WTAO,
        names::DEPOSIT_TRACKER,
        names::HASHER,
        names::VERIFIER,
        names::WEIGHTS,
        names::EVM_VALIDATOR_IMPLEMENTATION,
        names::EVM_VALIDATOR,
    ];
    let mut rows: Vec<(String, &taonado_deployment::ContractRecord)> = order
        .iter()
        .filter_map(|n| record.contracts.get(*n).map(|c| ((*n).to_owned(), c)))
        .collect();
    rows.extend(record.pools.iter().map(|p| {
        (
            crate::deploy::verify::pool_name(p.denomination),
            &p.contract,
        )
    }));
    for (name, c) in rows {
        let Ok(contract) = c.artifact.parse::<Contract>() else {
            skip.push((name, c.address, format!("no artifact named {}", c.artifact)));
            continue;
        };
        if c.tx_hash.is_none() && c.artifact_sha256.is_none() {
            skip.push((
                name,
                c.address,
                "not deployed by this protocol (existing contract)".to_owned(),
            ));
            continue;
        }
        if contract.artifact().source_name.ends_with(".yul") {
            skip.push((
                name,
                c.address,
                "Yul object: the explorer API verifies Solidity standard-JSON only".to_owned(),
            ));
            continue;
        }
        submit.push(VerificationRequest {
            name,
            address: c.address,
            contract,
            constructor_args: c.constructor_args.clone(),
        });
    }
    (submit, skip)
}

/// Verifies every contract of `record` on the explorer: checks every source against the
/// artifacts' metadata ([`check_sources`]; nothing is submitted when one differs), reads each
/// address's code (only code that matches its artifact is submitted), then submits and polls,
/// then links the EvmValidator proxy to its implementation.
pub async fn verify_record(
    provider: &alloy::providers::DynProvider,
    client: &ExplorerClient,
    record: &DeploymentRecord,
    standard_json: &Value,
) -> Result<Vec<VerificationResult>, crate::OpsError> {
    use alloy::providers::Provider;
    let source = standard_json.to_string();
    let (submit, skip) = requests_for(record);
    check_sources(standard_json, submit.iter().map(|request| request.contract))?;
    let mut results = Vec::new();
    for (name, address, reason) in skip {
        results.push(VerificationResult {
            name,
            address,
            contract: String::new(),
            local_match: String::new(),
            status: VerificationStatus::Skipped,
            message: reason,
            guid: None,
            requests: 0,
        });
    }
    for request in &submit {
        let code = provider
            .get_code_at(request.address)
            .await
            .map_err(crate::OpsError::rpc(format!(
                "reading the code at {}",
                request.address
            )))?;
        let local = local_match_label(&code, request.contract);
        if matches!(local, "mismatch" | "no-code") {
            results.push(VerificationResult {
                name: request.name.clone(),
                address: request.address,
                contract: request.qualified_name(),
                local_match: local.to_owned(),
                status: VerificationStatus::Failed,
                message: "not submitted: the code on chain is not this artifact's".to_owned(),
                guid: None,
                requests: 0,
            });
            continue;
        }
        tracing::info!(name = %request.name, address = %request.address, "submitting sources");
        let mut result = client.verify(request, &source).await;
        result.local_match = local.to_owned();
        results.push(result);
    }
    if let Some(proxy) = record.contracts.get(names::EVM_VALIDATOR) {
        let implementation = record
            .contracts
            .get(names::EVM_VALIDATOR_IMPLEMENTATION)
            .map(|c| c.address);
        results.push(
            client
                .verify_proxy(names::EVM_VALIDATOR, proxy.address, implementation)
                .await,
        );
    }
    Ok(results)
}

enum Poll {
    Pending,
    Pass(String),
    Fail(String),
}

impl ExplorerClient {
    pub fn new(api: Url, api_key: Option<String>, policy: ExplorerPolicy) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ExplorerError::Client {
                message: e.to_string(),
            })?;
        Ok(Self {
            http,
            api,
            api_key,
            policy,
        })
    }

    pub fn api(&self) -> &Url {
        &self.api
    }

    /// Verifies one contract: submit, then poll until it passes, fails or times out.
    pub async fn verify(
        &self,
        request: &VerificationRequest,
        standard_json: &str,
    ) -> VerificationResult {
        let mut result = VerificationResult {
            name: request.name.clone(),
            address: request.address,
            contract: request.qualified_name(),
            local_match: String::new(),
            status: VerificationStatus::Failed,
            message: String::new(),
            guid: None,
            requests: 0,
        };
        let args = alloy::primitives::hex::encode(&request.constructor_args);
        let address = request.address.to_string();
        let contract_name = request.qualified_name();
        let form = [
            ("module", "contract"),
            ("action", "verifysourcecode"),
            ("contractaddress", address.as_str()),
            ("sourceCode", standard_json),
            ("codeformat", "solidity-standard-json-input"),
            ("contractname", contract_name.as_str()),
            ("compilerversion", COMPILER_VERSION),
            // Etherscan's historical spelling, and the corrected one Blockscout also reads.
            ("constructorArguements", args.as_str()),
            ("constructorArguments", args.as_str()),
        ];
        let submitted = self.post(&form, &mut result.requests).await;
        let guid = match submitted {
            Ok(r) if r.status == "1" => r.result_text(),
            Ok(r) => {
                let text = r.result_text();
                if is_already_verified(&text) {
                    result.status = VerificationStatus::AlreadyVerified;
                } else {
                    result.status = VerificationStatus::Failed;
                }
                result.message = text;
                return result;
            }
            Err(e) => {
                result.message = e.to_string();
                return result;
            }
        };
        result.guid = Some(guid.clone());
        self.poll(&guid, "checkverifystatus", &mut result).await;
        result
    }

    /// Links the proxy to its implementation on the explorer.
    pub async fn verify_proxy(
        &self,
        name: &str,
        proxy: Address,
        implementation: Option<Address>,
    ) -> VerificationResult {
        let mut result = VerificationResult {
            name: format!("{name} (proxy link)"),
            address: proxy,
            contract: "ERC-1967 proxy -> implementation".to_owned(),
            local_match: String::new(),
            status: VerificationStatus::Failed,
            message: String::new(),
            guid: None,
            requests: 0,
        };
        let address = proxy.to_string();
        let expected = implementation.map(|a| a.to_string()).unwrap_or_default();
        let mut form = vec![
            ("module", "contract"),
            ("action", "verifyproxycontract"),
            ("address", address.as_str()),
        ];
        if implementation.is_some() {
            form.push(("expectedimplementation", expected.as_str()));
        }
        match self.post(&form, &mut result.requests).await {
            Ok(r) if r.status == "1" => {
                let guid = r.result_text();
                result.guid = Some(guid.clone());
                self.poll(&guid, "checkproxyverification", &mut result)
                    .await;
            }
            Ok(r) => result.message = r.result_text(),
            Err(e) => result.message = e.to_string(),
        }
        result
    }

    async fn poll(&self, guid: &str, action: &str, result: &mut VerificationResult) {
        for poll in 0..self.policy.max_polls {
            if poll > 0 {
                tokio::time::sleep(self.policy.poll_interval).await;
            }
            match self.check(guid, action, &mut result.requests).await {
                Ok(Poll::Pending) => continue,
                Ok(Poll::Pass(message)) => {
                    result.status = if is_already_verified(&message) {
                        VerificationStatus::AlreadyVerified
                    } else {
                        VerificationStatus::Verified
                    };
                    result.message = message;
                    return;
                }
                Ok(Poll::Fail(message)) => {
                    result.status = VerificationStatus::Failed;
                    result.message = message;
                    return;
                }
                Err(e) => {
                    result.status = VerificationStatus::Failed;
                    result.message = e.to_string();
                    return;
                }
            }
        }
        result.status = VerificationStatus::TimedOut;
        result.message = format!(
            "still pending after {} polls; check later with guid {guid}",
            self.policy.max_polls
        );
    }

    async fn check(&self, guid: &str, action: &str, requests: &mut u32) -> Result<Poll> {
        let response = self
            .get(
                &[("module", "contract"), ("action", action), ("guid", guid)],
                requests,
            )
            .await?;
        let text = response.result_text();
        let lower = text.to_ascii_lowercase();
        Ok(if lower.contains("pending") || lower.contains("in queue") {
            Poll::Pending
        } else if response.status == "1" || is_already_verified(&text) {
            Poll::Pass(text)
        } else {
            Poll::Fail(if text.is_empty() {
                response.message
            } else {
                text
            })
        })
    }

    async fn post(&self, form: &[(&str, &str)], requests: &mut u32) -> Result<ApiResponse> {
        let body = encode(form, self.api_key.as_deref());
        self.send(requests, form_action(form), || {
            self.http
                .post(self.api.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
        })
        .await
    }

    async fn get(&self, query: &[(&str, &str)], requests: &mut u32) -> Result<ApiResponse> {
        let mut url = self.api.clone();
        url.set_query(Some(&encode(query, self.api_key.as_deref())));
        self.send(requests, form_action(query), || self.http.get(url.clone()))
            .await
    }

    /// Sends with retries on transport errors, HTTP 5xx/429 and API rate-limit answers.
    async fn send(
        &self,
        requests: &mut u32,
        action: String,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<ApiResponse> {
        let url = self.api.to_string();
        let mut backoff = self.policy.backoff;
        let mut last = None;
        for attempt in 0..self.policy.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
            *requests += 1;
            let response = match build().send().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(%url, attempt, error = %e, "explorer request failed; retrying");
                    last = Some(ExplorerError::Http {
                        url: url.clone(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let status = response.status();
            let body = response.text().await.map_err(|e| ExplorerError::Http {
                url: url.clone(),
                message: e.to_string(),
            })?;
            if status.is_server_error() || status.as_u16() == 429 {
                tracing::warn!(%url, attempt, status = status.as_u16(), "explorer busy; retrying");
                last = Some(ExplorerError::Status {
                    url: url.clone(),
                    status: status.as_u16(),
                    body: truncate(&body),
                });
                continue;
            }
            if !status.is_success() {
                return Err(ExplorerError::Status {
                    url,
                    status: status.as_u16(),
                    body: truncate(&body),
                });
            }
            let parsed: ApiResponse =
                serde_json::from_str(&body).map_err(|_| ExplorerError::Response {
                    action: action.clone(),
                    body: truncate(&body),
                })?;
            if parsed.status != "1"
                && parsed
                    .result_text()
                    .to_ascii_lowercase()
                    .contains("rate limit")
            {
                last = Some(ExplorerError::Response {
                    action: action.clone(),
                    body: parsed.result_text(),
                });
                continue;
            }
            return Ok(parsed);
        }
        Err(last.unwrap_or(ExplorerError::Http {
            url,
            message: "no attempt was made".to_owned(),
        }))
    }
}

fn form_action(form: &[(&str, &str)]) -> String {
    form.iter()
        .find(|(k, _)| *k == "action")
        .map_or_else(String::new, |(_, v)| (*v).to_owned())
}

fn encode(pairs: &[(&str, &str)], api_key: Option<&str>) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    if let Some(key) = api_key {
        serializer.append_pair("apikey", key);
    }
    serializer.finish()
}

fn is_already_verified(text: &str) -> bool {
    text.to_ascii_lowercase().contains("already verified")
}

fn truncate(body: &str) -> String {
    let mut text: String = body.chars().take(300).collect();
    if text.len() < body.len() {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn imports_are_read_from_statements_only() {
        let source = r#"// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
// import "commented.sol";
import "./a/B.sol";
import {C, D} from "../C.sol";
import {
    E
} from '@openzeppelin/contracts/E.sol';
import * as F from "F.sol";
contract X { /* import "nope.sol"; */ }
"#;
        assert_eq!(
            imports(source),
            [
                "./a/B.sol",
                "../C.sol",
                "@openzeppelin/contracts/E.sol",
                "F.sol"
            ]
        );
    }

    #[test]
    fn relative_imports_resolve_like_solc() {
        let unit = "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
        assert_eq!(
            resolve_import(unit, "../Proxy.sol").as_deref(),
            Some("@openzeppelin/contracts/proxy/Proxy.sol")
        );
        assert_eq!(
            resolve_import(unit, "./ERC1967Utils.sol").as_deref(),
            Some("@openzeppelin/contracts/proxy/ERC1967/ERC1967Utils.sol")
        );
        assert_eq!(resolve_import("src/a.sol", "../../../x.sol"), None);
        assert_eq!(
            resolve_import("src/a.sol", "@openzeppelin/x.sol").as_deref(),
            Some("@openzeppelin/x.sol")
        );
    }

    #[test]
    fn the_committed_input_is_the_checkouts_and_compiles_with_the_explorer_settings() {
        let committed = committed_standard_json_input().expect("the embedded input parses");
        assert_eq!(committed["settings"], solc_settings());
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        if root.join("node_modules/@openzeppelin").is_dir() {
            let rebuilt = standard_json_input(&root.join("contracts"), &root.join("node_modules"))
                .expect("the checkout's sources");
            assert_eq!(committed, rebuilt);
        }
    }

    #[test]
    fn a_source_the_artifact_was_not_compiled_from_is_refused_by_name() {
        let mut input = committed_standard_json_input().expect("the embedded input parses");
        check_sources(&input, Contract::ALL.iter().copied()).expect("the committed sources");
        let unit = "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
        input["sources"][unit]["content"] = "// stub\n".into();
        let error = check_sources(&input, [Contract::ERC1967Proxy]).unwrap_err();
        assert!(
            matches!(&error, ExplorerError::SourceMismatch { unit: u, .. } if u == unit),
            "{error}"
        );
        assert!(error.to_string().contains(unit), "{error}");
        // WTAO does not import it, so only the contracts that do are refused.
        check_sources(&input, [Contract::WTAO]).expect("WTAO's sources are intact");
        let sources = input["sources"].as_object_mut().expect("sources");
        sources.remove(unit);
        assert!(matches!(
            check_sources(&input, [Contract::ERC1967Proxy]),
            Err(ExplorerError::SourceMissing { .. })
        ));
    }

    #[test]
    fn the_committed_input_gives_every_source_the_artifacts_come_from() {
        let input = committed_standard_json_input().expect("the embedded input parses");
        let sources = input["sources"].as_object().expect("sources");
        for &contract in Contract::ALL {
            let unit = &contract.artifact().source_name;
            if unit.ends_with(".sol") {
                assert!(sources.contains_key(unit), "{unit} missing");
            }
        }
        assert!(
            sources
                .keys()
                .any(|k| k.starts_with("@openzeppelin/contracts-upgradeable/"))
        );
        assert_eq!(input["settings"]["evmVersion"], "london");
        assert_eq!(input["settings"]["optimizer"]["runs"], 200);
    }

    #[test]
    fn existing_and_yul_contracts_are_skipped_with_a_reason() {
        let mut record = DeploymentRecord::new("mainnet", 964, 113, Address::repeat_byte(1));
        let contract = |artifact: &str, ours: bool| taonado_deployment::ContractRecord {
            address: Address::repeat_byte(2),
            tx_hash: ours.then(alloy::primitives::B256::default),
            block: None,
            gas_used: None,
            artifact: artifact.to_owned(),
            artifact_sha256: None,
            constructor_args: Bytes::from(vec![0xab]),
            deployed_at: 0,
        };
        record
            .contracts
            .insert(names::WTAO.into(), contract("WTAO", false));
        record
            .contracts
            .insert(names::HASHER.into(), contract("MiMCSponge", true));
        record
            .contracts
            .insert(names::WEIGHTS.into(), contract("WeightsV3", true));
        let (submit, skip) = requests_for(&record);
        assert_eq!(submit.len(), 1);
        assert_eq!(
            submit[0].qualified_name(),
            "src/mining/WeightsV3.sol:WeightsV3"
        );
        assert_eq!(submit[0].constructor_args, Bytes::from(vec![0xab]));
        let reasons: Vec<&str> = skip.iter().map(|(_, _, r)| r.as_str()).collect();
        assert!(reasons[0].contains("existing contract"), "{reasons:?}");
        assert!(reasons[1].contains("Yul"), "{reasons:?}");
    }

    proptest! {
        #[test]
        fn resolved_relative_imports_never_keep_dot_segments(
            dirs in proptest::collection::vec("[a-z]{1,5}", 1..5),
            ups in 0usize..4,
            file in "[A-Z][a-z]{1,6}\\.sol",
        ) {
            let unit = format!("{}/Unit.sol", dirs.join("/"));
            let import = format!("{}{file}", if ups == 0 { "./".to_owned() } else { "../".repeat(ups) });
            let resolved = resolve_import(&unit, &import);
            if ups <= dirs.len() {
                let resolved = resolved.expect("within the tree");
                prop_assert!(!resolved.split('/').any(|s| s == "." || s == ".."));
                prop_assert!(resolved.ends_with(&file));
                prop_assert_eq!(resolved.split('/').count(), dirs.len() - ups + 1);
            } else {
                prop_assert_eq!(resolved, None);
            }
        }
    }
}

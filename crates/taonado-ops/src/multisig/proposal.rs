//! Proposals: a Safe transaction with its hash, the decoded call and the signatures collected
//! so far, as a JSON file that signers pass between themselves. No service is involved; a
//! network's proposals live in one folder (`~/.taonado/multisig/<network>/<id>.json`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use alloy::dyn_abi::{DynSolValue, JsonAbiExt, Specifier};
use alloy::json_abi::Function;
use alloy::primitives::{Address, B256, Bytes, U256, hex};
use serde::{Deserialize, Serialize};
use taonado_contracts::Contract;
use taonado_contracts::safe::{SAFE_VERSION, SafeContract};

use super::safe_tx::{Operation, OwnerSignature, SafeTx};
use crate::error::multisig::MultisigError;
use crate::error::{OpsError, Result};

/// The proposal file format this build writes and reads.
pub const PROPOSAL_FORMAT: u32 = 1;

/// What a proposal asks the Safe to do, before it has a nonce: any admin action becomes one
/// ("target + calldata + description").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedCall {
    pub to: Address,
    pub value: U256,
    pub data: Bytes,
    /// A call, or a delegate call (a MultiSend batch).
    #[serde(default)]
    pub operation: Operation,
    /// One line for the signers ("upgrade the EvmValidator to EvmValidatorV2").
    pub description: String,
    /// The command that made it (`multisig propose`, `upgrade evm-validator --via-multisig`).
    pub origin: String,
}

/// The call a proposal makes, decoded against the protocol's and Safe's ABIs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedCall {
    /// The contract's name when the deployment names the target.
    pub target: Option<String>,
    /// The function's signature, when a known ABI has its selector.
    pub function: Option<String>,
    /// Each argument, as text.
    pub args: Vec<String>,
}

impl DecodedCall {
    /// `setSetWeightsBounty(uint256)(1000)` or the raw selector.
    pub fn summary(&self, data: &[u8]) -> String {
        match &self.function {
            Some(function) => format!("{function} ({})", self.args.join(", ")),
            None if data.is_empty() => "a plain transfer (no calldata)".to_owned(),
            None => format!(
                "unknown function {} ({} bytes of calldata)",
                hex::encode_prefixed(&data[..data.len().min(4)]),
                data.len()
            ),
        }
    }
}

/// Where an executed proposal went on chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    pub tx: B256,
    pub block: Option<u64>,
    pub executor: Address,
}

/// One proposal file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub format: u32,
    /// The first 12 hex digits of the hash: the file's name and what `--proposal` takes.
    pub id: String,
    pub network: String,
    pub chain_id: u64,
    pub safe: Address,
    pub safe_version: String,
    pub tx: SafeTx,
    /// The EIP-712 hash the owners sign (the Safe's `getTransactionHash`).
    pub safe_tx_hash: B256,
    pub description: String,
    pub origin: String,
    pub call: DecodedCall,
    /// Ascending by owner, one per owner.
    pub signatures: Vec<OwnerSignature>,
    pub created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed: Option<Execution>,
}

impl Proposal {
    /// A new proposal with no signatures.
    pub fn new(
        network: &str,
        chain_id: u64,
        safe: Address,
        call: ProposedCall,
        nonce: U256,
        target: Option<String>,
        now: u64,
    ) -> Self {
        let tx = SafeTx {
            operation: call.operation,
            ..SafeTx::call(call.to, call.value, call.data, nonce)
        };
        let safe_tx_hash = tx.hash(chain_id, safe);
        let mut decoded = decode_call(&tx.data);
        decoded.target = target;
        Self {
            format: PROPOSAL_FORMAT,
            id: id_of(safe_tx_hash),
            network: network.to_owned(),
            chain_id,
            safe,
            safe_version: SAFE_VERSION.to_owned(),
            tx,
            safe_tx_hash,
            description: call.description,
            origin: call.origin,
            call: decoded,
            signatures: Vec::new(),
            created_at: now,
            executed: None,
        }
    }

    /// Recomputes the hash from the transaction and re-checks every signature against it: a
    /// file edited on its way between signers is refused here.
    pub fn verify_integrity(&self) -> Result<B256> {
        let computed = self.tx.hash(self.chain_id, self.safe);
        if computed != self.safe_tx_hash || id_of(computed) != self.id {
            return Err(MultisigError::HashMismatch {
                recorded: self.safe_tx_hash,
                computed,
            }
            .into());
        }
        for signature in &self.signatures {
            let parsed = OwnerSignature::parse(&signature.signature, computed)?;
            if parsed.owner != signature.owner {
                return Err(MultisigError::MalformedSignature {
                    reason: format!(
                        "the signature listed for {} recovers to {}",
                        signature.owner, parsed.owner
                    ),
                }
                .into());
            }
        }
        Ok(computed)
    }

    /// Adds (or replaces) an owner's signature, keeping the list ascending by owner.
    pub fn add_signature(&mut self, signature: OwnerSignature) {
        self.signatures.retain(|s| s.owner != signature.owner);
        self.signatures.push(signature);
        self.signatures.sort_by_key(|s| s.owner);
    }
}

/// A proposal's id: the first 12 hex digits of its hash.
pub fn id_of(hash: B256) -> String {
    hex::encode(&hash[..6])
}

/// The folder of one network's proposals.
#[derive(Clone, Debug)]
pub struct ProposalDir {
    pub path: PathBuf,
}

impl ProposalDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn file(&self, id: &str) -> PathBuf {
        self.path.join(format!("{id}.json"))
    }

    /// Writes the proposal atomically as `<id>.json`; returns the path.
    pub fn save(&self, proposal: &Proposal) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.path).map_err(OpsError::io("create", &self.path))?;
        let path = self.file(&proposal.id);
        let mut text =
            serde_json::to_string_pretty(proposal).map_err(|e| MultisigError::ProposalFormat {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        text.push('\n');
        taonado_deployment::fs::write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Reads one proposal file (anywhere: a signer may have received it by mail).
    pub fn read_file(path: &Path) -> Result<Proposal> {
        let text = taonado_deployment::fs::read_to_string(path).map_err(|_| {
            MultisigError::UnknownProposal {
                id: path.display().to_string(),
                dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            }
        })?;
        let proposal: Proposal =
            serde_json::from_str(&text).map_err(|e| MultisigError::ProposalFormat {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        if proposal.format != PROPOSAL_FORMAT {
            return Err(MultisigError::ProposalFormat {
                path: path.to_path_buf(),
                reason: format!(
                    "format {} (this build reads {PROPOSAL_FORMAT})",
                    proposal.format
                ),
            }
            .into());
        }
        Ok(proposal)
    }

    /// Finds a proposal by id, by a prefix of its id or hash (`0x` optional), or by a file
    /// path; returns it with the path it came from.
    pub fn find(&self, id: &str) -> Result<(Proposal, PathBuf)> {
        let as_path = Path::new(id);
        if id.ends_with(".json") && as_path.is_file() {
            return Ok((Self::read_file(as_path)?, as_path.to_path_buf()));
        }
        let wanted = id.trim_start_matches("0x").to_ascii_lowercase();
        let unknown = || MultisigError::UnknownProposal {
            id: id.to_owned(),
            dir: self.path.clone(),
        };
        if wanted.is_empty() || !wanted.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(unknown().into());
        }
        let matches: Vec<(Proposal, PathBuf)> = self
            .list()?
            .into_iter()
            .filter(|(p, _)| hex::encode(p.safe_tx_hash).starts_with(&wanted))
            .collect();
        match matches.len() {
            0 => Err(unknown().into()),
            1 => Ok(matches.into_iter().next().ok_or_else(unknown)?),
            _ => Err(MultisigError::AmbiguousProposal {
                id: id.to_owned(),
                matches: matches
                    .iter()
                    .map(|(p, _)| p.id.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into()),
        }
    }

    /// Every proposal in the folder, by nonce then creation time. Files that are not
    /// proposals are skipped with a warning.
    pub fn list(&self) -> Result<Vec<(Proposal, PathBuf)>> {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(OpsError::io("list", &self.path)(e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match Self::read_file(&path) {
                Ok(proposal) => out.push((proposal, path)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "skipping a file that is not a proposal")
                }
            }
        }
        out.sort_by(|(a, _), (b, _)| {
            (a.tx.nonce, a.created_at, &a.id).cmp(&(b.tx.nonce, b.created_at, &b.id))
        });
        Ok(out)
    }
}

/// Decodes `data` against the protocol's ABIs and Safe's (the first function whose selector
/// matches and whose arguments decode).
pub fn decode_call(data: &[u8]) -> DecodedCall {
    if data.len() < 4 {
        return DecodedCall::default();
    }
    let abis = Contract::ALL
        .iter()
        .map(|c| &c.artifact().abi)
        .chain(SafeContract::ALL.iter().map(|c| &c.artifact().abi));
    for abi in abis {
        for function in abi.functions() {
            if function.selector().as_slice() != &data[..4] {
                continue;
            }
            if let Ok(values) = function.abi_decode_input(&data[4..]) {
                return DecodedCall {
                    target: None,
                    function: Some(function.signature()),
                    args: values.iter().map(render_value).collect(),
                };
            }
        }
    }
    DecodedCall::default()
}

/// Encodes `signature` (`setSetWeightsBounty(uint256)`) with `args` as text, the way `cast
/// calldata` does.
pub fn encode_call(signature: &str, args: &[String]) -> Result<Bytes> {
    let bad = |reason: String| MultisigError::BadCall {
        signature: signature.to_owned(),
        given: args.len(),
        reason,
    };
    let function = Function::parse(signature).map_err(|e| bad(e.to_string()))?;
    if function.inputs.len() != args.len() {
        return Err(bad(format!("the function takes {}", function.inputs.len())).into());
    }
    let mut values = Vec::with_capacity(args.len());
    for (input, arg) in function.inputs.iter().zip(args) {
        let ty = input
            .resolve()
            .map_err(|e| bad(format!("type {}: {e}", input.ty)))?;
        let value = ty
            .coerce_str(arg)
            .map_err(|e| bad(format!("{arg:?} is not a {}: {e}", input.ty)))?;
        values.push(value);
    }
    let data = function
        .abi_encode_input(&values)
        .map_err(|e| bad(e.to_string()))?;
    Ok(data.into())
}

fn render_value(value: &DynSolValue) -> String {
    match value {
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::FixedBytes(word, size) => hex::encode_prefixed(&word[..*size]),
        DynSolValue::Bytes(b) => hex::encode_prefixed(b),
        DynSolValue::String(s) => format!("{s:?}"),
        DynSolValue::Function(f) => hex::encode_prefixed(f.as_slice()),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => {
            let mut out = String::from("[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}", render_value(item));
            }
            out.push(']');
            out
        }
        DynSolValue::Tuple(items) => format!(
            "({})",
            items
                .iter()
                .map(render_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;
    use alloy::signers::local::PrivateKeySigner;

    use super::*;
    use crate::multisig::safe_tx::SignatureKind;

    fn proposal() -> Proposal {
        let data = encode_call("setSetWeightsBounty(uint256)", &["1000".into()]).expect("encodes");
        Proposal::new(
            "local",
            42,
            address!("0x1111111111111111111111111111111111111111"),
            ProposedCall {
                to: address!("0x2222222222222222222222222222222222222222"),
                value: U256::ZERO,
                data,
                operation: Operation::Call,
                description: "raise the bounty".into(),
                origin: "multisig propose".into(),
            },
            U256::from(3),
            Some("EvmValidator".into()),
            1,
        )
    }

    #[test]
    fn a_proposal_decodes_its_call_and_survives_the_round_trip() {
        let mut p = proposal();
        assert_eq!(
            p.call.function.as_deref(),
            Some("setSetWeightsBounty(uint256)")
        );
        assert_eq!(p.call.args, vec!["1000".to_owned()]);
        let signer = PrivateKeySigner::random();
        p.add_signature(
            OwnerSignature::sign(&signer, p.safe_tx_hash, SignatureKind::Eip712).expect("signs"),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = ProposalDir::new(dir.path().join("local"));
        folder.save(&p).expect("saves");
        let (read, _) = folder.find(&p.id[..6]).expect("found by prefix");
        assert_eq!(read, p);
        read.verify_integrity().expect("intact");
        let error = folder.find("abcdefabcdef").expect_err("unknown");
        assert!(error.to_string().contains("no proposal"), "{error}");
    }

    #[test]
    fn an_altered_proposal_is_refused() {
        let mut p = proposal();
        p.tx.value = U256::from(1);
        assert!(p.verify_integrity().is_err());
    }

    #[test]
    fn calls_are_encoded_from_a_signature_and_text_arguments() {
        assert!(encode_call("setSetWeightsBounty(uint256)", &[]).is_err());
        assert!(encode_call("setSetWeightsBounty(uint256)", &["x".into()]).is_err());
        let data = encode_call(
            "transferOwnership(address)",
            &["0x2222222222222222222222222222222222222222".into()],
        )
        .expect("encodes");
        assert_eq!(data.len(), 36);
    }
}

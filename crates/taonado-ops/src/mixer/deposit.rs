//! `deposit`: wrap (optionally), approve, back the note up, then deposit.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;
use taonado_contracts::bindings::{ERC20Taonado, WTAO};
use taonado_zk::{Note, fr_to_b256};

use super::{CURRENCY, Mixer, MixerError, MixerProgress, MixerStage, Pool, decode_deposit};
use crate::error::{OpsError, Result};
use crate::tx;

/// What to deposit.
#[derive(Clone, Debug)]
pub struct DepositRequest {
    /// The pool amount (`0.1`, `1`, `10`, `100`, `1000`).
    pub amount: String,
    /// Who deposits (the provider's signer).
    pub sender: Address,
    /// The file the note is appended to before the deposit is sent.
    pub backup: PathBuf,
    /// Wrap the missing TAO into WTAO first instead of failing.
    pub wrap: bool,
    /// A legacy gas price (wei) for the deposit transaction; `None`: the node's fee estimate.
    pub gas_price: Option<u128>,
}

/// The deposit made. `note` is the only copy besides the backup file: the caller shows it
/// once. Serialization leaves the note out; callers add it deliberately.
#[derive(Clone, Debug, Serialize)]
pub struct DepositReport {
    #[serde(skip)]
    pub note: Note,
    pub pool: Pool,
    pub sender: Address,
    pub commitment: B256,
    pub leaf_index: u64,
    pub tx_hash: B256,
    pub block: u64,
    pub gas_used: u64,
    pub backup_path: PathBuf,
    /// WTAO wrapped before depositing, in wei.
    pub wrapped: U256,
    pub wrap_tx: Option<B256>,
    pub approve_tx: Option<B256>,
}

impl Mixer {
    /// Deposits one note into the pool of `request.amount`. The note is appended to the
    /// backup file (mode 0600, synced) before the deposit transaction is sent, so a crash
    /// after sending can never lose it.
    pub async fn deposit(
        &self,
        request: &DepositRequest,
        progress: &dyn MixerProgress,
    ) -> Result<DepositReport> {
        let pool = self.pool(&request.amount)?;
        let wtao = WTAO::new(self.wtao()?, &self.provider);
        let balance = wtao
            .balanceOf(request.sender)
            .call()
            .await
            .map_err(OpsError::contract("reading the WTAO balance"))?;
        let (mut wrapped, mut wrap_tx) = (U256::ZERO, None);
        if balance < pool.denomination {
            if !request.wrap {
                return Err(MixerError::NotEnoughWtao {
                    account: request.sender,
                    have: taonado_types::format_tao(balance),
                    need: pool.amount.clone(),
                }
                .into());
            }
            wrapped = pool.denomination - balance;
            progress.stage(MixerStage::Sending { action: "wrap" });
            let receipt =
                tx::call_and_confirm(&wtao.deposit().value(wrapped), "wrapping TAO into WTAO")
                    .await?;
            wrap_tx = Some(receipt.transaction_hash);
        }
        let contract = ERC20Taonado::new(pool.address, &self.provider);
        let allowance = wtao
            .allowance(request.sender, pool.address)
            .call()
            .await
            .map_err(OpsError::contract("reading the WTAO allowance"))?;
        let mut approve_tx = None;
        if allowance < pool.denomination {
            progress.stage(MixerStage::Sending { action: "approve" });
            let receipt = tx::call_and_confirm(
                &wtao.approve(pool.address, pool.denomination),
                "approving the pool",
            )
            .await?;
            approve_tx = Some(receipt.transaction_hash);
        }

        let note = Note::generate(CURRENCY, &pool.amount, self.chain_id, &mut rand::rng())
            .map_err(MixerError::from)?;
        let commitment = fr_to_b256(note.commitment());
        append_note_backup(&request.backup, &note, &pool, commitment)?;

        progress.stage(MixerStage::Sending { action: "deposit" });
        let mut call = contract.deposit(commitment);
        if let Some(price) = request.gas_price {
            call = call.gas_price(price);
        }
        // The estimate tells a revert apart from a transport failure before anything is sent.
        call.estimate_gas()
            .await
            .map_err(|e| MixerError::DepositRejected {
                reason: tx::contract_error_reason(&e),
            })?;
        let receipt = tx::call_and_confirm(&call, "depositing").await?;
        let deposit = receipt
            .inner
            .logs()
            .iter()
            .filter(|log| log.address() == pool.address)
            .find_map(decode_deposit)
            .ok_or(MixerError::MissingEvent {
                tx: receipt.transaction_hash,
                event: "Deposit",
                contract: pool.address,
            })?;
        tracing::info!(pool = %pool.address, %commitment, leaf_index = deposit.leaf_index, "deposited");
        Ok(DepositReport {
            note,
            sender: request.sender,
            commitment,
            leaf_index: deposit.leaf_index,
            tx_hash: receipt.transaction_hash,
            block: receipt.block_number.unwrap_or(deposit.block),
            gas_used: receipt.gas_used,
            backup_path: request.backup.clone(),
            wrapped,
            wrap_tx,
            approve_tx,
            pool,
        })
    }
}

/// Appends `note` to `path` (created with mode 0600, tightened to 0600 if it exists) and
/// syncs it to disk. One comment line with public data, then the note on its own line.
pub fn append_note_backup(path: &Path, note: &Note, pool: &Pool, commitment: B256) -> Result<()> {
    append_note_backups(path, pool, &[(note.clone(), commitment)])
}

/// [`append_note_backup`] for many notes of one pool, with one write and one sync (a load
/// test backs up hundreds of notes before its first deposit).
pub fn append_note_backups(path: &Path, pool: &Pool, notes: &[(Note, B256)]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Folders created for notes are the owner's alone (an existing folder is left as
        // the operator made it).
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(dir)
            .map_err(OpsError::io("create the directory of", path))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(OpsError::io("open the note backup", path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(OpsError::io("restrict the permissions of", path))?;
    }
    let now = taonado_deployment::unix_now();
    let entries: String = notes
        .iter()
        .map(|(note, commitment)| {
            format!(
                "# {} WTAO pool {} on chain {}, commitment {commitment}, written at unix {now}\n{note}\n",
                pool.amount,
                pool.address,
                note.chain_id(),
            )
        })
        .collect();
    file.write_all(entries.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(OpsError::io("write the note backup", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_is_private_and_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes/local.txt");
        let pool = Pool {
            denomination: U256::from(1u64),
            amount: "1".into(),
            address: Address::repeat_byte(1),
            deployed_block: 0,
        };
        let mut rng = rand::rng();
        let first = Note::generate("wtao", "1", 42, &mut rng).unwrap();
        let second = Note::generate("wtao", "1", 42, &mut rng).unwrap();
        append_note_backup(&path, &first, &pool, B256::ZERO).unwrap();
        append_note_backup(&path, &second, &pool, B256::ZERO).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let notes: Vec<Note> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| Note::parse(l).unwrap())
            .collect();
        assert_eq!(notes, vec![first, second]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let folder = std::fs::metadata(path.parent().unwrap()).unwrap();
            assert_eq!(folder.permissions().mode() & 0o777, 0o700, "notes folder");
        }
    }
}

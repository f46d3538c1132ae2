//! `setWeights`, `commitWeights` and `revealWeights`: the pallet checks in the chain's order,
//! max-upscaling, and the commit hash.

use std::collections::BTreeMap;

use blake2::{Blake2b, Digest, digest::consts::U32};
use taonado_types::{Hotkey, NetUid};

use super::{PalletError, Subnet};

/// At most this many commits per hotkey may wait for their reveal.
pub const MAX_UNREVEALED_COMMITS: usize = 10;

/// One weights submission, as the precompile decoded it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WeightsInput<'a> {
    pub netuid: u16,
    pub uids: &'a [u16],
    pub values: &'a [u16],
    pub version_key: u64,
}

/// The `setWeights` extrinsic: check 1 (commit-reveal), then [`do_set_weights`].
pub(crate) fn set_weights(
    subnets: &mut BTreeMap<NetUid, Subnet>,
    hotkey: &Hotkey,
    input: WeightsInput<'_>,
    now: u64,
) -> Result<(), PalletError> {
    // A subnet that does not exist has commit-reveal off here (so check 4 is reachable);
    // on mainnet the storage default would be on.
    let commit_reveal = subnets
        .get(&NetUid(input.netuid))
        .is_some_and(|s| s.hyperparameters.commit_reveal_weights_enabled);
    if commit_reveal {
        return Err(PalletError::CommitRevealEnabled);
    }
    do_set_weights(subnets, hotkey, input, now)
}

/// Checks 2..=13 of spec/subtensor.md in order (first failure wins), a 14th for
/// MaxWeightLimit when it is below 65535 (as the pallet does), then stores the max-upscaled
/// row and sets LastUpdate.
pub(crate) fn do_set_weights(
    subnets: &mut BTreeMap<NetUid, Subnet>,
    hotkey: &Hotkey,
    input: WeightsInput<'_>,
    now: u64,
) -> Result<(), PalletError> {
    let WeightsInput {
        netuid,
        uids,
        values,
        version_key,
    } = input;
    if netuid == NetUid::ROOT.0 {
        return Err(PalletError::CanNotSetRootNetworkWeights);
    }
    if uids.len() != values.len() {
        return Err(PalletError::WeightVecNotEqualSize);
    }
    let subnet = subnets
        .get_mut(&NetUid(netuid))
        .ok_or(PalletError::MechanismDoesNotExist)?;
    let n = subnet.neurons.len();
    if uids.len() > n {
        return Err(PalletError::UidsLengthExceedUidsInSubNet);
    }
    let uid = subnet
        .uid_of(hotkey)
        .ok_or(PalletError::HotKeyNotRegisteredInSubNet)?;
    let hp = &subnet.hyperparameters;
    let neuron = &subnet.neurons[usize::from(uid)];
    if neuron.stake < hp.stake_threshold.0 {
        return Err(PalletError::NotEnoughStakeToSetWeights);
    }
    if hp.weights_version_key != 0 && version_key < hp.weights_version_key {
        return Err(PalletError::IncorrectWeightVersionKey);
    }
    if neuron.last_update != 0 && now.saturating_sub(neuron.last_update) < hp.weights_set_rate_limit
    {
        return Err(PalletError::SettingWeightsTooFast);
    }
    let self_weight = uids.len() == 1 && uids[0] == uid;
    let is_owner = neuron.coldkey == subnet.owner_coldkey || subnet.owner_hotkey == Some(*hotkey);
    if !neuron.validator_permit && !self_weight && !is_owner {
        return Err(PalletError::NeuronNoValidatorPermit);
    }
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(PalletError::DuplicateUids);
    }
    if uids.iter().any(|&u| usize::from(u) >= n) {
        return Err(PalletError::UidVecContainInvalidOne);
    }
    let min_len = usize::from(hp.min_allowed_weights).min(n);
    if !self_weight && uids.len() < min_len {
        return Err(PalletError::WeightVecLengthIsLow);
    }
    if hp.max_weight_limit != u16::MAX
        && !self_weight
        && exceeds_max_weight(values, hp.max_weight_limit)
    {
        return Err(PalletError::MaxWeightExceeded);
    }

    let upscaled = max_upscale(values);
    let mut row: Vec<(u16, u16)> = uids.iter().copied().zip(upscaled).collect();
    row.sort_unstable_by_key(|&(u, _)| u);
    let neuron = &mut subnet.neurons[usize::from(uid)];
    neuron.weights = row;
    neuron.last_update = now;
    Ok(())
}

/// Scale so the largest value becomes 65535, rounding each to nearest (ties up); all-zero
/// input stays zero.
pub fn max_upscale(values: &[u16]) -> Vec<u16> {
    let max = values.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return vec![0; values.len()];
    }
    let max = u64::from(max);
    values
        .iter()
        .map(|&v| {
            let scaled = (u64::from(v) * u64::from(u16::MAX) * 2 + max) / (2 * max);
            // v <= max, so scaled <= 65535.
            u16::try_from(scaled).unwrap_or(u16::MAX)
        })
        .collect()
}

/// The pallet's MaxWeightLimit check: after normalising to sum 65535, no entry may exceed it.
fn exceeds_max_weight(values: &[u16], limit: u16) -> bool {
    let sum: u64 = values.iter().map(|&v| u64::from(v)).sum();
    sum > 0
        && values
            .iter()
            .any(|&v| u64::from(v) * u64::from(u16::MAX) / sum > u64::from(limit))
}

/// `blake2_256(SCALE((hotkey, netuid: u16, uids, values, salt, version_key: u64)))`.
pub fn commit_hash(
    hotkey: &Hotkey,
    netuid: u16,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> [u8; 32] {
    let mut encoded =
        Vec::with_capacity(32 + 2 + 8 + 2 * (uids.len() + values.len() + salt.len()) + 12);
    encoded.extend_from_slice(hotkey.account().as_bytes());
    encoded.extend_from_slice(&netuid.to_le_bytes());
    for vec in [uids, values, salt] {
        scale_compact(&mut encoded, vec.len() as u64);
        for v in vec {
            encoded.extend_from_slice(&v.to_le_bytes());
        }
    }
    encoded.extend_from_slice(&version_key.to_le_bytes());
    Blake2b::<U32>::digest(&encoded).into()
}

/// SCALE compact encoding of a length.
fn scale_compact(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push((n << 2) as u8);
    } else if n < 1 << 14 {
        out.extend_from_slice(&(((n << 2) | 0b01) as u16).to_le_bytes());
    } else if n < 1 << 30 {
        out.extend_from_slice(&(((n << 2) | 0b10) as u32).to_le_bytes());
    } else {
        let bytes = (8 - n.leading_zeros() as usize / 8).max(4);
        out.push((((bytes - 4) as u8) << 2) | 0b11);
        out.extend_from_slice(&n.to_le_bytes()[..bytes]);
    }
}

/// `commitWeights`: store a hash to reveal in the next epoch.
pub(crate) fn commit_weights(
    subnets: &mut BTreeMap<NetUid, Subnet>,
    hotkey: &Hotkey,
    netuid: u16,
    hash: [u8; 32],
    now: u64,
) -> Result<(), PalletError> {
    let subnet = subnets
        .get_mut(&NetUid(netuid))
        .filter(|s| s.hyperparameters.commit_reveal_weights_enabled)
        .ok_or(PalletError::CommitRevealDisabled)?;
    let uid = subnet
        .uid_of(hotkey)
        .ok_or(PalletError::HotKeyNotRegisteredInSubNet)?;
    let epoch = subnet.epoch_index;
    let period = subnet.hyperparameters.reveal_period_epochs;
    let neuron = &mut subnet.neurons[usize::from(uid)];
    neuron.commits.retain(|c| epoch <= c.epoch + period);
    if neuron.commits.len() >= MAX_UNREVEALED_COMMITS {
        return Err(PalletError::TooManyUnrevealedCommits);
    }
    neuron.commits.push(super::WeightCommit {
        hash,
        block: now,
        epoch,
    });
    Ok(())
}

/// `revealWeights`: accepted only in epoch `commit_epoch + RevealPeriodEpochs`; then the
/// weights go through checks 2..=13 like `setWeights`.
pub(crate) fn reveal_weights(
    subnets: &mut BTreeMap<NetUid, Subnet>,
    hotkey: &Hotkey,
    input: WeightsInput<'_>,
    salt: &[u16],
    now: u64,
) -> Result<(), PalletError> {
    let subnet = subnets
        .get_mut(&NetUid(input.netuid))
        .filter(|s| s.hyperparameters.commit_reveal_weights_enabled)
        .ok_or(PalletError::CommitRevealDisabled)?;
    let uid = subnet
        .uid_of(hotkey)
        .ok_or(PalletError::NoWeightsCommitFound)?;
    let epoch = subnet.epoch_index;
    let period = subnet.hyperparameters.reveal_period_epochs;
    let hash = commit_hash(
        hotkey,
        input.netuid,
        input.uids,
        input.values,
        salt,
        input.version_key,
    );
    let commits = &mut subnet.neurons[usize::from(uid)].commits;
    if commits.is_empty() {
        return Err(PalletError::NoWeightsCommitFound);
    }
    let Some(index) = commits.iter().position(|c| c.hash == hash) else {
        let all_expired = commits.iter().all(|c| epoch > c.epoch + period);
        return Err(if all_expired {
            PalletError::ExpiredWeightCommit
        } else {
            PalletError::InvalidRevealCommitHashNotMatch
        });
    };
    let reveal_epoch = commits[index].epoch + period;
    if epoch < reveal_epoch {
        return Err(PalletError::RevealTooEarly);
    }
    if epoch > reveal_epoch {
        return Err(PalletError::ExpiredWeightCommit);
    }
    // Consume the commit only when the weights are accepted, so a failed reveal leaves
    // the state as it was even inside a frame whose revert the core does not observe.
    do_set_weights(subnets, hotkey, input, now)?;
    if let Some(subnet) = subnets.get_mut(&NetUid(input.netuid)) {
        subnet.neurons[usize::from(uid)].commits.remove(index);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn upscale_rounds_to_nearest() {
        assert_eq!(max_upscale(&[1, 2]), vec![32768, 65535]);
        assert_eq!(max_upscale(&[1, 3]), vec![21845, 65535]);
        assert_eq!(max_upscale(&[2, 3]), vec![43690, 65535]);
        assert_eq!(max_upscale(&[0, 0]), vec![0, 0]);
        assert_eq!(max_upscale(&[]), Vec::<u16>::new());
        assert_eq!(max_upscale(&[7]), vec![65535]);
        // 65535 * 1 / 6 = 10922.5 → 10923 (ties round up).
        assert_eq!(max_upscale(&[1, 6]), vec![10923, 65535]);
    }

    #[test]
    fn scale_compact_matches_the_codec() {
        let cases: [(u64, &[u8]); 5] = [
            (0, &[0x00]),
            (63, &[0xfc]),
            (64, &[0x01, 0x01]),
            (16384, &[0x02, 0x00, 0x01, 0x00]),
            (1 << 30, &[0x03, 0x00, 0x00, 0x00, 0x40]),
        ];
        for (n, expected) in cases {
            let mut out = Vec::new();
            scale_compact(&mut out, n);
            assert_eq!(out, expected, "{n}");
        }
    }

    #[test]
    fn commit_hash_is_blake2_of_the_scale_tuple() {
        let hotkey = Hotkey(taonado_types::AccountId32([7; 32]));
        let mut encoded = vec![7u8; 32];
        encoded.extend_from_slice(&[2, 0]); // netuid 2
        encoded.extend_from_slice(&[8, 1, 0, 3, 0]); // uids [1, 3]
        encoded.extend_from_slice(&[8, 10, 0, 20, 0]); // values [10, 20]
        encoded.extend_from_slice(&[4, 0x39, 0x05]); // salt [1337]
        encoded.extend_from_slice(&5u64.to_le_bytes());
        let expected: [u8; 32] = Blake2b::<U32>::digest(&encoded).into();
        assert_eq!(
            commit_hash(&hotkey, 2, &[1, 3], &[10, 20], &[1337], 5),
            expected
        );
        assert_ne!(
            commit_hash(&hotkey, 2, &[1, 3], &[10, 21], &[1337], 5),
            expected
        );
    }

    proptest! {
        #[test]
        fn upscale_invariants(values in proptest::collection::vec(any::<u16>(), 1..64)) {
            let up = max_upscale(&values);
            prop_assert_eq!(up.len(), values.len());
            let max = values.iter().copied().max().unwrap_or(0);
            if max > 0 {
                prop_assert_eq!(up.iter().copied().max(), Some(u16::MAX));
            } else {
                prop_assert!(up.iter().all(|&v| v == 0));
            }
            for i in 0..values.len() {
                for j in 0..values.len() {
                    if values[i] <= values[j] {
                        prop_assert!(up[i] <= up[j]);
                    }
                }
                // Within half a unit of the exact ratio.
                if max > 0 {
                    let exact = f64::from(values[i]) * 65535.0 / f64::from(max);
                    prop_assert!((f64::from(up[i]) - exact).abs() <= 0.5 + 1e-9);
                }
            }
        }
    }
}

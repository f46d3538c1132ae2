//! The epoch: a simplified but honest Yuma consensus (spec/subtensor.md, steps 1–6).
//!
//! Computed in `f64` over dense n×n matrices (a subnet has at most a few hundred uids).
//! Where the spec is silent we follow the pallet:
//! - Stake and weights use the validator permits held *before* the epoch; permits for the
//!   next epoch are re-assigned at the end (top MaxAllowedValidators by stake, non-zero).
//! - When no miner earns incentive (no usable weights), the miner and validator shares both
//!   go to validators in proportion to active stake (to all stake if none is active).
//! - Emission accrues to the receiving neuron's own stake (alpha is counted 1:1 with
//!   TAO-denominated stake, in rao; there is no separate alpha pool or price). The owner cut (18 % plus the
//!   rounding dust of the other shares) accrues to the owner hotkey's stake when that hotkey
//!   is registered on the subnet, otherwise to the owner coldkey's native balance.

use super::{EpochSummary, NeuronEpoch, Subnet};

/// 1 alpha per block, in rao.
pub const ALPHA_PER_BLOCK_RAO: u64 = 1_000_000_000;
/// Percent of each epoch's emission for miners, validators and the subnet owner.
pub const MINER_PERCENT: u64 = 41;
pub const VALIDATOR_PERCENT: u64 = 41;
pub const OWNER_PERCENT: u64 = 18;

/// Bonds below this are dropped from storage (they only decay further).
const BOND_EPSILON: f64 = 1e-12;

/// What the caller still has to credit after [`run_epoch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EpochOutcome {
    pub summary: EpochSummary,
    /// Owner cut to credit to the owner coldkey's native balance (0 when it went to stake).
    pub owner_cut_to_coldkey: u64,
}

/// Run one epoch of `subnet` at block `now`: compute consensus, incentive, dividends,
/// bonds and emission, credit stakes, store the results, re-assign permits.
pub(crate) fn run_epoch(subnet: &mut Subnet, now: u64) -> EpochOutcome {
    let n = subnet.neurons.len();
    let hp = subnet.hyperparameters.clone();
    let total = u64::from(hp.tempo) * ALPHA_PER_BLOCK_RAO;

    // Step 1: stake of permitted, active validators, normalised.
    let active: Vec<bool> = subnet
        .neurons
        .iter()
        .map(|nr| now.saturating_sub(nr.last_update) <= u64::from(hp.activity_cutoff))
        .collect();
    let raw_stake: Vec<f64> = subnet.neurons.iter().map(|nr| nr.stake as f64).collect();
    let active_stake = normalise(
        &subnet
            .neurons
            .iter()
            .enumerate()
            .map(|(i, nr)| {
                if active[i] && nr.validator_permit {
                    raw_stake[i]
                } else {
                    0.0
                }
            })
            .collect::<Vec<_>>(),
    );

    // Step 2: weights of permitted active validators, minus self-weights and weights on
    // uids registered after the validator's last update; rows normalised.
    let mut weights = vec![vec![0.0f64; n]; n];
    for (i, neuron) in subnet.neurons.iter().enumerate() {
        if !(neuron.validator_permit && active[i]) {
            continue;
        }
        for &(j, w) in &neuron.weights {
            let j = usize::from(j);
            if j < n && j != i && neuron.last_update > subnet.neurons[j].registered_at {
                weights[i][j] = f64::from(w);
            }
        }
        let row = &mut weights[i];
        let sum: f64 = row.iter().sum();
        if sum > 0.0 {
            row.iter_mut().for_each(|w| *w /= sum);
        }
    }

    // Step 3: consensus = stake-weighted kappa-quantile per column; clip to it.
    let kappa = f64::from(hp.kappa) / f64::from(u16::MAX);
    let consensus: Vec<f64> = (0..n)
        .map(|j| weighted_quantile(&active_stake, |i| weights[i][j], kappa))
        .collect();
    let clipped: Vec<Vec<f64>> = weights
        .iter()
        .map(|row| {
            row.iter()
                .zip(&consensus)
                .map(|(&w, &c)| w.min(c))
                .collect()
        })
        .collect();

    // Step 4: incentive and validator trust.
    let rank: Vec<f64> = (0..n)
        .map(|j| (0..n).map(|i| active_stake[i] * clipped[i][j]).sum())
        .collect();
    let incentive = normalise(&rank);
    let validator_trust: Vec<f64> = clipped.iter().map(|row| row.iter().sum()).collect();

    // Step 5: bonds EMA and dividends.
    let alpha = (1.0 - hp.bonds_moving_average as f64 / 1_000_000.0).clamp(0.0, 1.0);
    let mut bonds = vec![vec![0.0f64; n]; n];
    for (i, neuron) in subnet.neurons.iter().enumerate() {
        for &(j, b) in &neuron.bonds {
            if usize::from(j) < n {
                bonds[i][usize::from(j)] = b;
            }
        }
        for j in 0..n {
            bonds[i][j] = alpha * clipped[i][j] + (1.0 - alpha) * bonds[i][j];
        }
    }
    let bond_column_sums: Vec<f64> = (0..n).map(|j| (0..n).map(|k| bonds[k][j]).sum()).collect();
    let raw_dividends: Vec<f64> = (0..n)
        .map(|i| {
            let share: f64 = (0..n)
                .filter(|&j| bond_column_sums[j] > 0.0)
                .map(|j| bonds[i][j] / bond_column_sums[j] * incentive[j])
                .sum();
            active_stake[i] * share
        })
        .collect();
    let dividends = normalise(&raw_dividends);

    // Step 6: emission.
    let miner_pool = total * MINER_PERCENT / 100;
    let validator_pool = total * VALIDATOR_PERCENT / 100;
    let mut miner_emission = vec![0u64; n];
    let mut validator_emission = vec![0u64; n];
    let mut undistributed = 0u64;
    let mut distribute = |shares: &[f64], pool: u64, out: &mut [u64]| {
        if shares.iter().sum::<f64>() > 0.0 {
            for (o, s) in out.iter_mut().zip(shares) {
                // shares sum to 1, so each product is at most `pool` (≤ 2^53: exact in f64).
                *o = (s * pool as f64).floor() as u64;
            }
        } else {
            undistributed += pool;
        }
    };
    if incentive.iter().sum::<f64>() > 0.0 {
        distribute(&incentive, miner_pool, &mut miner_emission);
        let validator_shares = if dividends.iter().sum::<f64>() > 0.0 {
            &dividends
        } else {
            &active_stake
        };
        distribute(validator_shares, validator_pool, &mut validator_emission);
    } else {
        let fallback = if active_stake.iter().sum::<f64>() > 0.0 {
            active_stake.clone()
        } else {
            normalise(&raw_stake)
        };
        distribute(
            &fallback,
            miner_pool + validator_pool,
            &mut validator_emission,
        );
    }
    let to_miners: u64 = miner_emission.iter().sum();
    let to_validators: u64 = validator_emission.iter().sum();
    let owner_cut = total.saturating_sub(to_miners + to_validators + undistributed);

    // Store results; permits for the next epoch come from the pre-emission stake.
    subnet.assign_validator_permits();
    for (i, neuron) in subnet.neurons.iter_mut().enumerate() {
        let emission = miner_emission[i] + validator_emission[i];
        neuron.stake = neuron.stake.saturating_add(emission);
        neuron.bonds = bonds[i]
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b > BOND_EPSILON)
            .map(|(j, &b)| (j as u16, b))
            .collect();
        neuron.last_epoch = NeuronEpoch {
            active: active[i],
            consensus: consensus[i],
            incentive: incentive[i],
            dividends: dividends[i],
            validator_trust: validator_trust[i],
            emission,
        };
    }
    let owner_uid = subnet.owner_hotkey.and_then(|h| subnet.uid_of(&h));
    let owner_cut_to_coldkey = match owner_uid {
        Some(uid) => {
            let owner = &mut subnet.neurons[usize::from(uid)];
            owner.stake = owner.stake.saturating_add(owner_cut);
            0
        }
        None => owner_cut,
    };
    let summary = EpochSummary {
        block: now,
        total,
        owner_cut,
        to_miners,
        to_validators,
        undistributed,
    };
    subnet.last_epoch = Some(summary);
    subnet.last_epoch_block = now;
    subnet.epoch_index += 1;
    EpochOutcome {
        summary,
        owner_cut_to_coldkey,
    }
}

/// `v / sum(v)`, or all zeros when the sum is zero.
fn normalise(values: &[f64]) -> Vec<f64> {
    let sum: f64 = values.iter().sum();
    if sum > 0.0 {
        values.iter().map(|v| v / sum).collect()
    } else {
        vec![0.0; values.len()]
    }
}

/// The largest value `c` such that validators whose value is at least `c` hold at least
/// `kappa` of the (positive) stake; 0 when no stake votes.
fn weighted_quantile(stake: &[f64], value: impl Fn(usize) -> f64, kappa: f64) -> f64 {
    let mut votes: Vec<(f64, f64)> = stake
        .iter()
        .enumerate()
        .filter(|&(_, &s)| s > 0.0)
        .map(|(i, &s)| (value(i), s))
        .collect();
    let total: f64 = votes.iter().map(|&(_, s)| s).sum();
    if total <= 0.0 {
        return 0.0;
    }
    votes.sort_by(|a, b| b.0.total_cmp(&a.0));
    let threshold = kappa * total - 1e-12;
    let mut supporting = 0.0;
    for (v, s) in votes {
        supporting += s;
        if supporting >= threshold {
            return v;
        }
    }
    0.0
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use taonado_types::{AccountId32, Hotkey, NetUid, Rao};

    use super::*;
    use crate::subtensor::{Hyperparameters, Neuron};

    const TAO: u64 = 1_000_000_000;

    fn key(i: u8) -> Hotkey {
        Hotkey(AccountId32([i + 1; 32]))
    }

    /// A subnet whose owner is not registered, validators at the given stakes first, then
    /// `miners` zero-stake miners; everyone registered at block 0 with permits as given.
    fn subnet(validator_stakes: &[u64], miners: usize) -> Subnet {
        let mut neurons = Vec::new();
        for (i, &stake) in validator_stakes.iter().enumerate() {
            let mut n = Neuron::new(key(i as u8), AccountId32([200; 32]), stake * TAO, 0);
            n.validator_permit = true;
            neurons.push(n);
        }
        for m in 0..miners {
            neurons.push(Neuron::new(
                key((validator_stakes.len() + m) as u8),
                AccountId32([201; 32]),
                0,
                0,
            ));
        }
        Subnet {
            netuid: NetUid(2),
            owner_coldkey: AccountId32([250; 32]),
            owner_hotkey: None,
            hyperparameters: Hyperparameters {
                tempo: 100,
                ..Hyperparameters::spec_defaults()
            },
            neurons,
            last_epoch_block: 0,
            epoch_index: 0,
            last_epoch: None,
        }
    }

    fn set_row(subnet: &mut Subnet, uid: usize, row: &[(u16, u16)], block: u64) {
        subnet.neurons[uid].weights = row.to_vec();
        subnet.neurons[uid].last_update = block;
    }

    fn epoch_total(outcome: &EpochOutcome, subnet: &Subnet) -> u64 {
        let emitted: u64 = subnet.neurons.iter().map(|n| n.last_epoch.emission).sum();
        emitted + outcome.summary.owner_cut + outcome.summary.undistributed
    }

    #[test]
    fn incentive_follows_weights_and_emission_splits_18_41_41() {
        // Validators 0 and 1, miners 2, 3, 4 weighted 3:2:1 by both.
        let mut s = subnet(&[600, 400], 3);
        set_row(&mut s, 0, &[(2, 300), (3, 200), (4, 100)], 10);
        set_row(&mut s, 1, &[(2, 3000), (3, 2000), (4, 1000)], 10);
        let out = run_epoch(&mut s, 100);
        let inc: Vec<f64> = s.neurons.iter().map(|n| n.last_epoch.incentive).collect();
        assert!(
            inc[2] > inc[3] && inc[3] > inc[4] && inc[4] > 0.0,
            "{inc:?}"
        );
        assert!((inc[2] - 0.5).abs() < 1e-9 && (inc[4] - 1.0 / 6.0).abs() < 1e-9);
        assert_eq!(inc[0], 0.0);

        let total = 100 * ALPHA_PER_BLOCK_RAO;
        assert_eq!(out.summary.total, total);
        assert_eq!(epoch_total(&out, &s), total);
        assert_eq!(out.summary.undistributed, 0);
        let miners: u64 = s.neurons[2..].iter().map(|n| n.last_epoch.emission).sum();
        let validators: u64 = s.neurons[..2].iter().map(|n| n.last_epoch.emission).sum();
        let close = |a: u64, b: u64| a.abs_diff(b) <= 5;
        assert!(close(miners, total * 41 / 100), "{miners}");
        assert!(close(validators, total * 41 / 100), "{validators}");
        assert!(close(out.summary.owner_cut, total * 18 / 100));
        // No owner hotkey registered: the cut is for the owner coldkey.
        assert_eq!(out.owner_cut_to_coldkey, out.summary.owner_cut);
        // Dividends follow stake when both validators agree.
        let d0 = s.neurons[0].last_epoch.dividends;
        assert!((d0 - 0.6).abs() < 1e-9, "{d0}");
        // Emission accrued to stake.
        assert_eq!(s.neurons[2].stake, s.neurons[2].last_epoch.emission);
        assert_eq!(
            s.neurons[0].stake,
            600 * TAO + s.neurons[0].last_epoch.emission
        );
        assert_eq!(s.epoch_index, 1);
        assert_eq!(s.last_epoch_block, 100);
    }

    #[test]
    fn weights_above_consensus_are_clipped() {
        // Validator 0 (20 % stake) puts everything on miner 3; validators 1 and 2 (80 %) on
        // miner 4. Consensus for miner 3 is 0, so validator 0's weight there is clipped away.
        let mut s = subnet(&[200, 400, 400], 2);
        set_row(&mut s, 0, &[(3, 65535)], 10);
        set_row(&mut s, 1, &[(4, 65535)], 10);
        set_row(&mut s, 2, &[(4, 65535)], 10);
        run_epoch(&mut s, 100);
        assert_eq!(s.neurons[3].last_epoch.consensus, 0.0);
        assert_eq!(s.neurons[3].last_epoch.incentive, 0.0);
        assert_eq!(s.neurons[4].last_epoch.consensus, 1.0);
        assert_eq!(s.neurons[4].last_epoch.incentive, 1.0);
        assert_eq!(s.neurons[0].last_epoch.validator_trust, 0.0);
        assert_eq!(s.neurons[1].last_epoch.validator_trust, 1.0);
        assert_eq!(s.neurons[0].last_epoch.dividends, 0.0);
    }

    #[test]
    fn self_weights_and_weights_on_newer_uids_are_dropped() {
        let mut s = subnet(&[500, 500], 2);
        // Miner 3 re-registered after the validators last updated.
        s.neurons[3].registered_at = 50;
        set_row(&mut s, 0, &[(0, 65535), (2, 100)], 20);
        set_row(&mut s, 1, &[(1, 65535), (2, 100), (3, 65535)], 20);
        run_epoch(&mut s, 100);
        assert_eq!(s.neurons[2].last_epoch.incentive, 1.0);
        assert_eq!(s.neurons[0].last_epoch.incentive, 0.0);
        assert_eq!(s.neurons[1].last_epoch.incentive, 0.0);
        assert_eq!(s.neurons[3].last_epoch.incentive, 0.0);
    }

    #[test]
    fn inactive_or_unpermitted_validators_do_not_count() {
        let mut s = subnet(&[500, 500], 2);
        s.hyperparameters.activity_cutoff = 50;
        s.neurons[1].validator_permit = false;
        set_row(&mut s, 0, &[(2, 1)], 10); // inactive: 90 blocks ago
        set_row(&mut s, 1, &[(3, 1)], 90); // no permit
        run_epoch(&mut s, 100);
        assert!(!s.neurons[0].last_epoch.active);
        assert!(s.neurons[1].last_epoch.active);
        assert_eq!(s.neurons[2].last_epoch.incentive, 0.0);
        assert_eq!(s.neurons[3].last_epoch.incentive, 0.0);
        // Nobody earns incentive: 82 % goes to validators by (all) stake, nothing undistributed.
        assert_eq!(s.neurons[2].last_epoch.emission, 0);
        assert!(s.neurons[0].last_epoch.emission > 0);
        // Permits re-assigned by stake for the next epoch.
        assert!(s.neurons[1].validator_permit);
    }

    #[test]
    fn bonds_follow_an_ema_with_alpha_from_bonds_moving_average() {
        let mut s = subnet(&[1000], 1);
        set_row(&mut s, 0, &[(1, 1)], 10);
        run_epoch(&mut s, 100);
        assert_eq!(s.neurons[0].bonds.len(), 1);
        assert!((s.neurons[0].bonds[0].1 - 0.1).abs() < 1e-12);
        run_epoch(&mut s, 200);
        assert!((s.neurons[0].bonds[0].1 - 0.19).abs() < 1e-12);
    }

    #[test]
    fn owner_cut_goes_to_a_registered_owner_hotkey() {
        let mut s = subnet(&[1000], 1);
        s.owner_hotkey = Some(key(0));
        set_row(&mut s, 0, &[(1, 1)], 10);
        let before = s.neurons[0].stake;
        let out = run_epoch(&mut s, 100);
        assert_eq!(out.owner_cut_to_coldkey, 0);
        assert_eq!(
            s.neurons[0].stake,
            before + s.neurons[0].last_epoch.emission + out.summary.owner_cut
        );
    }

    #[test]
    fn empty_subnet_keeps_everything_but_the_owner_cut_undistributed() {
        let mut s = subnet(&[], 0);
        let out = run_epoch(&mut s, 100);
        assert_eq!(out.summary.undistributed, out.summary.total * 82 / 100);
        assert_eq!(out.summary.owner_cut, out.summary.total * 18 / 100);
    }

    #[test]
    fn quantile_is_the_stake_weighted_median() {
        let stake = [0.2, 0.3, 0.5];
        let values = [0.9, 0.5, 0.1];
        assert_eq!(weighted_quantile(&stake, |i| values[i], 0.5), 0.5);
        assert_eq!(weighted_quantile(&stake, |i| values[i], 0.2), 0.9);
        assert_eq!(weighted_quantile(&stake, |i| values[i], 1.0), 0.1);
        assert_eq!(weighted_quantile(&[0.0, 0.0], |_| 1.0, 0.5), 0.0);
    }

    proptest! {
        #[test]
        fn emission_is_conserved(
            stakes in proptest::collection::vec(0u64..10_000, 0..6),
            miners in 0usize..6,
            rows in proptest::collection::vec(proptest::collection::vec((0u16..12, any::<u16>()), 0..8), 6),
            tempo in 1u16..1000,
            kappa in any::<u16>(),
            permits in proptest::collection::vec(any::<bool>(), 6),
        ) {
            let mut s = subnet(&stakes, miners);
            s.hyperparameters.tempo = tempo;
            s.hyperparameters.kappa = kappa;
            s.hyperparameters.burn = Rao(0);
            for i in 0..stakes.len() {
                s.neurons[i].validator_permit = permits[i];
                let mut row = rows[i].clone();
                row.sort_by_key(|e| e.0);
                row.dedup_by_key(|e| e.0);
                set_row(&mut s, i, &row, 10);
            }
            for block in [100u64, 1100] {
                let out = run_epoch(&mut s, block);
                prop_assert_eq!(out.summary.total, u64::from(tempo) * ALPHA_PER_BLOCK_RAO);
                prop_assert_eq!(epoch_total(&out, &s), out.summary.total);
                prop_assert!(out.summary.owner_cut >= out.summary.total * OWNER_PERCENT / 100);
                let inc: f64 = s.neurons.iter().map(|n| n.last_epoch.incentive).sum();
                prop_assert!(inc == 0.0 || (inc - 1.0).abs() < 1e-9);
                for n in &s.neurons {
                    prop_assert!(n.last_epoch.consensus.is_finite() && n.last_epoch.dividends.is_finite());
                }
            }
        }
    }
}

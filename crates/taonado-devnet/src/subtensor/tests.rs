//! Precompile, epoch-driving and dev RPC tests over an in-memory [`MemoryHost`].

use alloy_primitives::{Address, B256, U256, hex};
use alloy_sol_types::{Revert, SolCall, SolError};
use serde_json::json;
use taonado_contracts::bindings::{IMetagraph as M, INeuron as N};
use taonado_types::{AccountId32, Hotkey, NetUid, Rao, evm_mirror};

use super::{host::MemoryHost, precompile::IBalanceTransfer as B, *};

const TAO: u64 = 1_000_000_000;
const NETUID: u16 = 2;

fn wei(tao: u64) -> U256 {
    U256::from(tao) * U256::from(10u64).pow(U256::from(18))
}

fn evm(i: u8) -> Address {
    Address::with_last_byte(i)
}

fn hotkey_of(address: Address) -> Hotkey {
    Hotkey(evm_mirror(address))
}

/// Subnet 2 (tempo 100, rate limit 100, commit-reveal off): uid 0 = validator evm(1)
/// (1000 TAO), uid 1 = validator evm(2) (500 TAO), uids 2–3 = miners evm(3), evm(4);
/// the owner coldkey is unrelated to all of them. Registered at genesis block 0.
fn setup() -> (Subtensor, MemoryHost) {
    let neuron = |i: u8, stake: u64| NeuronConfig {
        hotkey: hotkey_of(evm(i)),
        coldkey: AccountId32([100 + i; 32]),
        stake: Rao(stake * TAO),
        validator_permit: None,
    };
    let config = SubtensorConfig {
        netuid: NetUid(NETUID),
        owner_coldkey: AccountId32([99; 32]),
        owner_hotkey: None,
        hyperparameters: Hyperparameters {
            tempo: 100,
            ..Hyperparameters::spec_defaults()
        },
        neurons: vec![neuron(1, 1000), neuron(2, 500), neuron(3, 0), neuron(4, 0)],
    };
    let host = (1..=9).fold(MemoryHost::default(), |h, i| {
        h.with_account(evm(i), wei(10))
    });
    (Subtensor::new(config, 0), host)
}

struct Call {
    address: Address,
    caller: Address,
    input: Vec<u8>,
    value: U256,
    is_static: bool,
    block: u64,
    gas: u64,
}

impl Call {
    fn new(address: Address, caller: Address, input: Vec<u8>) -> Self {
        Self {
            address,
            caller,
            input,
            value: U256::ZERO,
            is_static: false,
            block: 1000,
            gas: 1_000_000,
        }
    }

    fn run(&self, st: &mut Subtensor, host: &mut MemoryHost) -> PrecompileOutcome {
        st.call(
            host,
            PrecompileCall {
                address: self.address,
                caller: self.caller,
                value: self.value,
                input: &self.input,
                gas_limit: self.gas,
                is_static: self.is_static,
                block_number: self.block,
            },
        )
    }
}

fn set_weights(netuid: u16, dests: &[u16], weights: &[u16], version: u64) -> Vec<u8> {
    N::setWeightsCall {
        netuid,
        dests: dests.to_vec(),
        weights: weights.to_vec(),
        versionKey: version,
    }
    .abi_encode()
}

fn subnet(st: &mut Subtensor) -> &mut Subnet {
    st.subnets.get_mut(&NetUid(NETUID)).unwrap()
}

fn failed(name: &str) -> PrecompileOutcome {
    PrecompileOutcome::DispatchFailed(name.to_owned())
}

fn success_output(outcome: PrecompileOutcome) -> Vec<u8> {
    match outcome {
        PrecompileOutcome::Success { output, .. } => output,
        other => panic!("expected success, got {other:?}"),
    }
}

fn revert_reason(outcome: PrecompileOutcome) -> String {
    match outcome {
        PrecompileOutcome::Revert { output, .. } => Revert::abi_decode(&output).unwrap().reason,
        other => panic!("expected revert, got {other:?}"),
    }
}

fn view(st: &mut Subtensor, host: &mut MemoryHost, input: Vec<u8>) -> PrecompileOutcome {
    Call::new(METAGRAPH, evm(9), input).run(st, host)
}

#[test]
fn selectors_match_the_spec() {
    let cases: [([u8; 4], &str); 21] = [
        (B::transferCall::SELECTOR, "cd6f4eb1"),
        (M::getUidCountCall::SELECTOR, "1f193572"),
        (M::getStakeCall::SELECTOR, "e7c7c4b5"),
        (M::getRankCall::SELECTOR, "260ea334"),
        (M::getTrustCall::SELECTOR, "20028c19"),
        (M::getConsensusCall::SELECTOR, "2c4b6bff"),
        (M::getIncentiveCall::SELECTOR, "d1e44450"),
        (M::getDividendsCall::SELECTOR, "82da0b5d"),
        (M::getVtrustCall::SELECTOR, "2c54e2b3"),
        (M::getEmissionCall::SELECTOR, "e5810e5c"),
        (M::getValidatorStatusCall::SELECTOR, "58dd9945"),
        (M::getLastUpdateCall::SELECTOR, "22553aa2"),
        (M::getIsActiveCall::SELECTOR, "dc50cca9"),
        (M::getAxonCall::SELECTOR, "93afb79e"),
        (M::getHotkeyCall::SELECTOR, "3adc89da"),
        (M::getColdkeyCall::SELECTOR, "a1148287"),
        (N::setWeightsCall::SELECTOR, "34af16d6"),
        (N::commitWeightsCall::SELECTOR, "a5077557"),
        (N::revealWeightsCall::SELECTOR, "66ba946f"),
        (N::burnedRegisterCall::SELECTOR, "4054ecca"),
        (N::serveAxonCall::SELECTOR, "e20ac82f"),
    ];
    for (selector, expected) in cases {
        assert_eq!(hex::encode(selector), expected);
    }
}

#[test]
fn set_weights_checks_fire_in_order() {
    let (mut st, mut host) = setup();
    let stranger = evm(7); // not registered
    let validator = evm(1); // uid 0
    // Start with every later check violated too, then fix one violation per step.
    subnet(&mut st)
        .hyperparameters
        .commit_reveal_weights_enabled = true;
    let mismatched = set_weights(NETUID, &[1, 1, 9], &[1, 2], 0);
    let expect = |st: &mut Subtensor, host: &mut MemoryHost, caller, input: Vec<u8>, name| {
        assert_eq!(
            Call::new(NEURON, caller, input).run(st, host),
            failed(name),
            "{name}"
        );
    };
    expect(
        &mut st,
        &mut host,
        stranger,
        mismatched.clone(),
        "CommitRevealEnabled",
    );
    subnet(&mut st)
        .hyperparameters
        .commit_reveal_weights_enabled = false;
    expect(
        &mut st,
        &mut host,
        stranger,
        set_weights(0, &[1, 1, 9], &[1, 2], 0),
        "CanNotSetRootNetworkWeights",
    );
    expect(
        &mut st,
        &mut host,
        stranger,
        set_weights(7, &[1, 1, 9], &[1, 2], 0),
        "WeightVecNotEqualSize",
    );
    expect(
        &mut st,
        &mut host,
        stranger,
        set_weights(7, &[1, 1], &[1, 2], 0),
        "MechanismDoesNotExist",
    );
    let five = [1, 1, 9, 2, 3];
    expect(
        &mut st,
        &mut host,
        stranger,
        set_weights(NETUID, &five, &[1; 5], 0),
        "UidsLengthExceedUidsInSubNet",
    );
    // Caller unregistered; the rest (stake, version, rate, permit, dups, invalid) still bad.
    {
        let s = subnet(&mut st);
        s.hyperparameters.stake_threshold = Rao(5000 * TAO);
        s.hyperparameters.weights_version_key = 10;
        s.hyperparameters.min_allowed_weights = 3;
        s.neurons[0].validator_permit = false;
        s.neurons[0].last_update = 950;
    }
    let bad = set_weights(NETUID, &[1, 1, 9], &[1, 2, 3], 5);
    expect(
        &mut st,
        &mut host,
        stranger,
        bad.clone(),
        "HotKeyNotRegisteredInSubNet",
    );
    expect(
        &mut st,
        &mut host,
        validator,
        bad.clone(),
        "NotEnoughStakeToSetWeights",
    );
    subnet(&mut st).hyperparameters.stake_threshold = Rao(1000 * TAO); // equal is enough
    expect(
        &mut st,
        &mut host,
        validator,
        bad.clone(),
        "IncorrectWeightVersionKey",
    );
    let bad = set_weights(NETUID, &[1, 1, 9], &[1, 2, 3], 10);
    expect(
        &mut st,
        &mut host,
        validator,
        bad.clone(),
        "SettingWeightsTooFast",
    );
    subnet(&mut st).neurons[0].last_update = 900; // exactly the rate limit ago
    expect(
        &mut st,
        &mut host,
        validator,
        bad.clone(),
        "NeuronNoValidatorPermit",
    );
    subnet(&mut st).neurons[0].validator_permit = true;
    expect(&mut st, &mut host, validator, bad, "DuplicateUids");
    expect(
        &mut st,
        &mut host,
        validator,
        set_weights(NETUID, &[1, 9], &[1, 2], 10),
        "UidVecContainInvalidOne",
    );
    expect(
        &mut st,
        &mut host,
        validator,
        set_weights(NETUID, &[1, 2], &[1, 2], 10),
        "WeightVecLengthIsLow",
    );
    let ok = Call::new(
        NEURON,
        validator,
        set_weights(NETUID, &[1, 2, 3], &[1, 2, 4], 10),
    )
    .run(&mut st, &mut host);
    assert_eq!(
        ok,
        PrecompileOutcome::Success {
            output: vec![],
            gas_used: gas::SET_WEIGHTS + 3 * gas::PER_WEIGHT
        }
    );
    let neuron = &st.subnet(NetUid(NETUID)).unwrap().neurons[0];
    assert_eq!(neuron.weights, vec![(1, 16384), (2, 32768), (3, 65535)]);
    assert_eq!(neuron.last_update, 1000);
    // LastUpdate moved: the next call within the rate limit is too fast.
    let mut again = Call::new(
        NEURON,
        validator,
        set_weights(NETUID, &[1, 2, 3], &[1, 1, 1], 10),
    );
    again.block = 1099;
    assert_eq!(
        again.run(&mut st, &mut host),
        failed("SettingWeightsTooFast")
    );
    again.block = 1100;
    assert!(matches!(
        again.run(&mut st, &mut host),
        PrecompileOutcome::Success { .. }
    ));
}

#[test]
fn self_weight_and_owner_skip_the_permit_check() {
    let (mut st, mut host) = setup();
    let miner = evm(3); // uid 2, no permit
    let s = st.subnets.get_mut(&NetUid(NETUID)).unwrap();
    s.hyperparameters.min_allowed_weights = 2;
    assert!(!s.neurons[2].validator_permit);
    // A self-weight passes the permit and length checks.
    let out = Call::new(NEURON, miner, set_weights(NETUID, &[2], &[5], 0)).run(&mut st, &mut host);
    assert!(matches!(out, PrecompileOutcome::Success { .. }), "{out:?}");
    let other =
        Call::new(NEURON, evm(4), set_weights(NETUID, &[0, 1], &[5, 5], 0)).run(&mut st, &mut host);
    assert_eq!(other, failed("NeuronNoValidatorPermit"));
    // The subnet owner's neuron may set weights without a permit.
    let s = st.subnets.get_mut(&NetUid(NETUID)).unwrap();
    s.owner_coldkey = s.neurons[3].coldkey;
    let owner =
        Call::new(NEURON, evm(4), set_weights(NETUID, &[0, 1], &[5, 5], 0)).run(&mut st, &mut host);
    assert!(
        matches!(owner, PrecompileOutcome::Success { .. }),
        "{owner:?}"
    );
}

#[test]
fn commit_reveal_windows() {
    let (mut st, mut host) = setup();
    let validator = evm(1);
    let hotkey = hotkey_of(validator);
    let (uids, values, salt) = (vec![2u16, 3], vec![10u16, 30], vec![7u16, 8, 9]);
    let commit = |hash: [u8; 32]| {
        N::commitWeightsCall {
            netuid: NETUID,
            commitHash: B256::from(hash),
        }
        .abi_encode()
    };
    let reveal = N::revealWeightsCall {
        netuid: NETUID,
        uids: uids.clone(),
        values: values.clone(),
        salt: salt.clone(),
        versionKey: 0,
    }
    .abi_encode();
    let hash = weights::commit_hash(&hotkey, NETUID, &uids, &values, &salt, 0);

    assert_eq!(
        Call::new(NEURON, validator, commit(hash)).run(&mut st, &mut host),
        failed("CommitRevealDisabled")
    );
    st.subnets
        .get_mut(&NetUid(NETUID))
        .unwrap()
        .hyperparameters
        .commit_reveal_weights_enabled = true;
    assert_eq!(
        Call::new(NEURON, validator, reveal.clone()).run(&mut st, &mut host),
        failed("NoWeightsCommitFound")
    );
    assert_eq!(
        Call::new(NEURON, validator, set_weights(NETUID, &[2], &[1], 0)).run(&mut st, &mut host),
        failed("CommitRevealEnabled")
    );
    assert!(matches!(
        Call::new(NEURON, validator, commit(hash)).run(&mut st, &mut host),
        PrecompileOutcome::Success { .. }
    ));
    assert_eq!(
        Call::new(NEURON, validator, reveal.clone()).run(&mut st, &mut host),
        failed("RevealTooEarly")
    );
    st.run_epoch(NetUid(NETUID), 1010);
    let mut wrong = N::revealWeightsCall::abi_decode(&reveal).unwrap();
    wrong.values = vec![10, 31];
    assert_eq!(
        Call::new(NEURON, validator, wrong.abi_encode()).run(&mut st, &mut host),
        failed("InvalidRevealCommitHashNotMatch")
    );
    let mut on_time = Call::new(NEURON, validator, reveal.clone());
    on_time.block = 1011;
    assert!(matches!(
        on_time.run(&mut st, &mut host),
        PrecompileOutcome::Success { .. }
    ));
    let neuron = &st.subnet(NetUid(NETUID)).unwrap().neurons[0];
    assert_eq!(neuron.weights, vec![(2, 21845), (3, 65535)]);
    assert_eq!(neuron.last_update, 1011);
    assert!(neuron.commits.is_empty());

    // A commit left for two epochs has expired.
    assert!(matches!(
        Call::new(NEURON, validator, commit(hash)).run(&mut st, &mut host),
        PrecompileOutcome::Success { .. }
    ));
    st.run_epoch(NetUid(NETUID), 1110);
    st.run_epoch(NetUid(NETUID), 1210);
    let mut late = Call::new(NEURON, validator, reveal);
    late.block = 1300;
    assert_eq!(late.run(&mut st, &mut host), failed("ExpiredWeightCommit"));

    // Ten pending commits at most.
    for i in 0..10u8 {
        let out = Call::new(NEURON, validator, commit([i; 32])).run(&mut st, &mut host);
        assert!(
            matches!(out, PrecompileOutcome::Success { .. }),
            "commit {i}: {out:?}"
        );
    }
    assert_eq!(
        Call::new(NEURON, validator, commit([42; 32])).run(&mut st, &mut host),
        failed("TooManyUnrevealedCommits")
    );
    assert_eq!(
        Call::new(NEURON, evm(7), commit([1; 32])).run(&mut st, &mut host),
        failed("HotKeyNotRegisteredInSubNet")
    );
}

#[test]
fn burned_register_burns_and_registers() {
    let (mut st, mut host) = setup();
    let payer = evm(5);
    let new_hotkey = B256::repeat_byte(0x55);
    let register = N::burnedRegisterCall {
        netuid: NETUID,
        hotkey: new_hotkey,
    }
    .abi_encode();
    let mut call = Call::new(NEURON, payer, register.clone());
    call.block = 1234;
    assert_eq!(
        call.run(&mut st, &mut host),
        PrecompileOutcome::Success {
            output: vec![],
            gas_used: gas::BURNED_REGISTER
        }
    );
    assert_eq!(host.balances[&payer], wei(9));
    assert_eq!(host.burned, wei(1));
    let subnet = st.subnet(NetUid(NETUID)).unwrap();
    assert_eq!(subnet.neurons.len(), 5);
    let neuron = &subnet.neurons[4];
    assert_eq!(neuron.hotkey, Hotkey(AccountId32(new_hotkey.0)));
    assert_eq!(neuron.coldkey, evm_mirror(payer));
    assert_eq!(
        (neuron.registered_at, neuron.last_update, neuron.stake),
        (1234, 1234, 0)
    );
    // Registration sets LastUpdate, so setting weights right away is rate limited.
    assert_eq!(
        call.run(&mut st, &mut host),
        failed("HotKeyAlreadyRegisteredInSubNet")
    );

    let poor = evm(42);
    host.balances.insert(poor, wei(1) - U256::from(1));
    let other = N::burnedRegisterCall {
        netuid: NETUID,
        hotkey: B256::repeat_byte(0x66),
    }
    .abi_encode();
    assert_eq!(
        Call::new(NEURON, poor, other.clone()).run(&mut st, &mut host),
        failed("NotEnoughBalanceToStake")
    );
    assert_eq!(host.burned, wei(1));
    let root = N::burnedRegisterCall {
        netuid: 0,
        hotkey: B256::repeat_byte(0x66),
    }
    .abi_encode();
    assert_eq!(
        Call::new(NEURON, payer, root).run(&mut st, &mut host),
        failed("RegistrationNotPermittedOnRootSubnet")
    );
    let missing = N::burnedRegisterCall {
        netuid: 9,
        hotkey: B256::repeat_byte(0x66),
    }
    .abi_encode();
    assert_eq!(
        Call::new(NEURON, payer, missing).run(&mut st, &mut host),
        failed("SubNetworkDoesNotExist")
    );

    // A full subnet prunes the lowest-emission neuron outside the immunity period.
    let s = st.subnets.get_mut(&NetUid(NETUID)).unwrap();
    s.hyperparameters.max_allowed_uids = 5;
    assert_eq!(
        Call::new(NEURON, payer, other.clone()).run(&mut st, &mut host),
        failed("NoNeuronIdAvailable")
    );
    assert_eq!(host.burned, wei(1), "a failed registration burns nothing");
    let s = st.subnets.get_mut(&NetUid(NETUID)).unwrap();
    s.hyperparameters.immunity_period = 0;
    for (uid, emission) in [(0, 50), (1, 40), (2, 5), (3, 30), (4, 60)] {
        s.neurons[uid].last_epoch.emission = emission;
    }
    assert!(matches!(
        Call::new(NEURON, payer, other).run(&mut st, &mut host),
        PrecompileOutcome::Success { .. }
    ));
    let s = st.subnet(NetUid(NETUID)).unwrap();
    assert_eq!(s.neurons.len(), 5);
    assert_eq!(s.neurons[2].hotkey.0, AccountId32([0x66; 32]));
}

#[test]
fn transfer_credits_a_mirror_evm_balance_or_the_native_ledger() {
    let (mut st, mut host) = setup();
    let dust = U256::from(123);
    let value = wei(2) + dust;
    // The core has already moved msg.value to 0x800.
    host.balances
        .insert(BALANCE_TRANSFER, value * U256::from(2));
    let to_mirror = B::transferCall {
        data: evm_mirror(evm(6)).to_b256(),
    }
    .abi_encode();
    let mut call = Call::new(BALANCE_TRANSFER, evm(1), to_mirror);
    call.value = value;
    assert_eq!(
        call.run(&mut st, &mut host),
        PrecompileOutcome::Success {
            output: vec![],
            gas_used: gas::TRANSFER
        }
    );
    assert_eq!(host.balances[&evm(6)], wei(10) + wei(2));

    let native = AccountId32([0xaa; 32]);
    call.input = B::transferCall {
        data: native.to_b256(),
    }
    .abi_encode();
    assert!(matches!(
        call.run(&mut st, &mut host),
        PrecompileOutcome::Success { .. }
    ));
    assert_eq!(st.native_balance(&native), Rao(2 * TAO));
    assert_eq!(host.burned, wei(2));
    // The dust of both transfers stays at 0x800.
    assert_eq!(host.balances[&BALANCE_TRANSFER], dust * U256::from(2));

    call.value = U256::from(999_999_999u64); // below one rao
    assert!(matches!(
        call.run(&mut st, &mut host),
        PrecompileOutcome::Success { .. }
    ));
    assert_eq!(st.native_balance(&native), Rao(2 * TAO));

    call.is_static = true;
    assert_eq!(
        revert_reason(call.run(&mut st, &mut host)),
        "Can't call non-static function in static context"
    );
}

#[test]
fn metagraph_getters_encode_and_handle_unknown_uids() {
    let (mut st, mut host) = setup();
    let get =
        |st: &mut Subtensor, host: &mut MemoryHost, input| success_output(view(st, host, input));
    assert_eq!(
        M::getUidCountCall::abi_decode_returns(&get(
            &mut st,
            &mut host,
            M::getUidCountCall { netuid: NETUID }.abi_encode()
        ))
        .unwrap(),
        4
    );
    assert_eq!(
        M::getUidCountCall::abi_decode_returns(&get(
            &mut st,
            &mut host,
            M::getUidCountCall { netuid: 77 }.abi_encode()
        ))
        .unwrap(),
        0
    );
    let stake = get(
        &mut st,
        &mut host,
        M::getStakeCall {
            netuid: NETUID,
            uid: 0,
        }
        .abi_encode(),
    );
    assert_eq!(stake.len(), 32);
    assert_eq!(
        M::getStakeCall::abi_decode_returns(&stake).unwrap(),
        1000 * TAO
    );
    let hotkey = get(
        &mut st,
        &mut host,
        M::getHotkeyCall {
            netuid: NETUID,
            uid: 1,
        }
        .abi_encode(),
    );
    assert_eq!(
        M::getHotkeyCall::abi_decode_returns(&hotkey).unwrap(),
        evm_mirror(evm(2)).to_b256()
    );
    let coldkey = get(
        &mut st,
        &mut host,
        M::getColdkeyCall {
            netuid: NETUID,
            uid: 1,
        }
        .abi_encode(),
    );
    assert_eq!(
        M::getColdkeyCall::abi_decode_returns(&coldkey).unwrap(),
        B256::repeat_byte(102)
    );
    let permit = get(
        &mut st,
        &mut host,
        M::getValidatorStatusCall {
            netuid: NETUID,
            uid: 0,
        }
        .abi_encode(),
    );
    assert!(M::getValidatorStatusCall::abi_decode_returns(&permit).unwrap());

    // Unknown uid: vector getters answer 0/false, the others halt.
    for input in [
        M::getIncentiveCall {
            netuid: NETUID,
            uid: 9,
        }
        .abi_encode(),
        M::getEmissionCall {
            netuid: NETUID,
            uid: 9,
        }
        .abi_encode(),
        M::getLastUpdateCall {
            netuid: NETUID,
            uid: 9,
        }
        .abi_encode(),
        M::getValidatorStatusCall {
            netuid: NETUID,
            uid: 9,
        }
        .abi_encode(),
        M::getIsActiveCall {
            netuid: NETUID,
            uid: 9,
        }
        .abi_encode(),
        M::getRankCall {
            netuid: NETUID,
            uid: 9,
        }
        .abi_encode(),
        M::getTrustCall { netuid: 77, uid: 9 }.abi_encode(),
    ] {
        assert_eq!(get(&mut st, &mut host, input), vec![0u8; 32]);
    }
    assert_eq!(
        view(
            &mut st,
            &mut host,
            M::getStakeCall {
                netuid: NETUID,
                uid: 9
            }
            .abi_encode()
        ),
        failed("InvalidRange")
    );
    assert_eq!(
        view(
            &mut st,
            &mut host,
            M::getHotkeyCall {
                netuid: NETUID,
                uid: 9
            }
            .abi_encode()
        ),
        failed("InvalidRange")
    );
    assert_eq!(
        view(
            &mut st,
            &mut host,
            M::getColdkeyCall { netuid: 77, uid: 0 }.abi_encode()
        ),
        failed("InvalidRange")
    );
    assert_eq!(
        view(
            &mut st,
            &mut host,
            M::getAxonCall {
                netuid: NETUID,
                uid: 9
            }
            .abi_encode()
        ),
        failed("hotkey not found")
    );

    // After an epoch the u16 getters are floor(x · 65535) of its results.
    let mut w = Call::new(NEURON, evm(1), set_weights(NETUID, &[2, 3], &[1, 2], 0));
    w.block = 10;
    assert!(matches!(
        w.run(&mut st, &mut host),
        PrecompileOutcome::Success { .. }
    ));
    st.run_epoch(NetUid(NETUID), 100);
    let incentive = st.subnet(NetUid(NETUID)).unwrap().neurons[2]
        .last_epoch
        .incentive;
    assert!(incentive > 0.0 && incentive < 1.0);
    let out = get(
        &mut st,
        &mut host,
        M::getIncentiveCall {
            netuid: NETUID,
            uid: 2,
        }
        .abi_encode(),
    );
    assert_eq!(
        M::getIncentiveCall::abi_decode_returns(&out).unwrap(),
        (incentive * 65535.0).floor() as u16
    );
    let out = get(
        &mut st,
        &mut host,
        M::getEmissionCall {
            netuid: NETUID,
            uid: 2,
        }
        .abi_encode(),
    );
    assert_eq!(
        M::getEmissionCall::abi_decode_returns(&out).unwrap(),
        st.subnet(NetUid(NETUID)).unwrap().neurons[2]
            .last_epoch
            .emission
    );
    let out = get(
        &mut st,
        &mut host,
        M::getIsActiveCall {
            netuid: NETUID,
            uid: 0,
        }
        .abi_encode(),
    );
    assert!(M::getIsActiveCall::abi_decode_returns(&out).unwrap());

    let mut paid = Call::new(
        METAGRAPH,
        evm(9),
        M::getUidCountCall { netuid: NETUID }.abi_encode(),
    );
    paid.value = U256::from(1);
    assert_eq!(
        revert_reason(paid.run(&mut st, &mut host)),
        "Function is not payable"
    );
}

#[test]
fn serve_axon_is_read_back_by_get_axon() {
    let (mut st, mut host) = setup();
    let serve = |ip_type: u8, ip: u128| {
        N::serveAxonCall {
            netuid: NETUID,
            version: 3,
            ip,
            port: 8091,
            ipType: ip_type,
            protocol: 4,
            placeholder1: 0,
            placeholder2: 0,
        }
        .abi_encode()
    };
    let ip = u128::from(u32::from_be_bytes([10, 0, 0, 7]));
    assert_eq!(
        Call::new(NEURON, evm(3), serve(5, ip)).run(&mut st, &mut host),
        failed("InvalidIpType")
    );
    assert_eq!(
        Call::new(NEURON, evm(3), serve(4, u128::from(u32::MAX) + 1)).run(&mut st, &mut host),
        failed("InvalidIpAddress")
    );
    assert_eq!(
        Call::new(NEURON, evm(8), serve(4, ip)).run(&mut st, &mut host),
        failed("HotKeyNotRegisteredInNetwork")
    );
    assert!(matches!(
        Call::new(NEURON, evm(3), serve(4, ip)).run(&mut st, &mut host),
        PrecompileOutcome::Success { .. }
    ));
    let out = success_output(view(
        &mut st,
        &mut host,
        M::getAxonCall {
            netuid: NETUID,
            uid: 2,
        }
        .abi_encode(),
    ));
    let axon = M::getAxonCall::abi_decode_returns(&out).unwrap();
    assert_eq!(
        (
            axon.block,
            axon.version,
            axon.ip,
            axon.port,
            axon.ip_type,
            axon.protocol
        ),
        (1000, 3, ip, 8091, 4, 4)
    );
    // A registered neuron that never served reads as zeros.
    let out = success_output(view(
        &mut st,
        &mut host,
        M::getAxonCall {
            netuid: NETUID,
            uid: 3,
        }
        .abi_encode(),
    ));
    assert_eq!(out, vec![0u8; 6 * 32]);
}

#[test]
fn abi_errors_revert_and_static_calls_to_mutators_revert() {
    let (mut st, mut host) = setup();
    let short = Call::new(NEURON, evm(1), vec![0x34, 0xaf]).run(&mut st, &mut host);
    assert_eq!(revert_reason(short), "Tried to read selector out of bounds");
    let unknown = Call::new(METAGRAPH, evm(1), vec![1, 2, 3, 4]).run(&mut st, &mut host);
    assert_eq!(revert_reason(unknown), "Unknown selector");
    let mut truncated = set_weights(NETUID, &[1], &[1], 0);
    truncated.truncate(40);
    let reason = revert_reason(Call::new(NEURON, evm(1), truncated).run(&mut st, &mut host));
    assert!(reason.starts_with("abi decoding failed"), "{reason}");
    // A uint16 argument with high bits set is not a valid encoding.
    let mut dirty = M::getStakeCall {
        netuid: NETUID,
        uid: 0,
    }
    .abi_encode();
    dirty[4 + 30 - 1] = 1;
    assert!(matches!(
        view(&mut st, &mut host, dirty),
        PrecompileOutcome::Revert { .. }
    ));

    // The modifier is checked before the arguments are decoded.
    let mut static_call = Call::new(
        NEURON,
        evm(1),
        set_weights(NETUID, &[1], &[1], 0)[..40].to_vec(),
    );
    static_call.is_static = true;
    assert_eq!(
        revert_reason(static_call.run(&mut st, &mut host)),
        "Can't call non-static function in static context"
    );
    // Views are fine in a static call.
    let mut static_view = Call::new(
        METAGRAPH,
        evm(1),
        M::getUidCountCall { netuid: NETUID }.abi_encode(),
    );
    static_view.is_static = true;
    assert!(matches!(
        static_view.run(&mut st, &mut host),
        PrecompileOutcome::Success {
            gas_used: gas::VIEW,
            ..
        }
    ));
}

#[test]
fn gas_below_the_fixed_cost_halts() {
    let (mut st, mut host) = setup();
    let mut call = Call::new(NEURON, evm(1), set_weights(NETUID, &[2, 3], &[1, 1], 0));
    call.gas = gas::SET_WEIGHTS + gas::PER_WEIGHT; // one entry short
    assert_eq!(call.run(&mut st, &mut host), failed("OutOfGas"));
    assert!(
        st.subnet(NetUid(NETUID)).unwrap().neurons[0]
            .weights
            .is_empty()
    );
    call.gas = gas::SET_WEIGHTS + 2 * gas::PER_WEIGHT;
    assert!(matches!(
        call.run(&mut st, &mut host),
        PrecompileOutcome::Success { .. }
    ));
}

#[test]
fn on_block_runs_the_epoch_every_tempo_blocks() {
    let (mut st, _host) = setup();
    for block in 1..100 {
        st.on_block(block);
    }
    assert_eq!(st.subnet(NetUid(NETUID)).unwrap().epoch_index, 0);
    st.on_block(100);
    let s = st.subnet(NetUid(NETUID)).unwrap();
    assert_eq!((s.epoch_index, s.last_epoch_block), (1, 100));
    let summary = s.last_epoch.unwrap();
    assert_eq!(summary.total, 100 * epoch::ALPHA_PER_BLOCK_RAO);
    // Nobody set weights: the validators share 82 % by stake, the owner (not registered)
    // gets 18 % on its coldkey's native balance.
    assert_eq!(summary.to_miners, 0);
    assert_eq!(
        st.native_balance(&AccountId32([99; 32])).0,
        summary.owner_cut
    );
    st.on_block(150);
    assert_eq!(st.subnet(NetUid(NETUID)).unwrap().epoch_index, 1);
    st.on_block(260); // skipped blocks: one epoch, counted from here
    let s = st.subnet(NetUid(NETUID)).unwrap();
    assert_eq!((s.epoch_index, s.last_epoch_block), (2, 260));
}

#[test]
fn state_round_trips_through_json() {
    let (mut st, mut host) = setup();
    let mut w = Call::new(NEURON, evm(1), set_weights(NETUID, &[2, 3], &[1, 2], 0));
    w.block = 10;
    w.run(&mut st, &mut host);
    st.run_epoch(NetUid(NETUID), 100);
    let text = serde_json::to_string(&st).unwrap();
    let back: Subtensor = serde_json::from_str(&text).unwrap();
    assert_eq!(back, st);
}

#[test]
fn local_default_has_an_owner_validators_and_miners() {
    let st = Subtensor::new(SubtensorConfig::local_default(), 0);
    let s = st.subnet(st.local_netuid()).unwrap();
    assert_eq!(s.netuid, NetUid(2));
    assert_eq!(s.neurons.len(), 5);
    assert_eq!(Some(s.neurons[0].hotkey), s.owner_hotkey);
    let permits: Vec<bool> = s.neurons.iter().map(|n| n.validator_permit).collect();
    assert_eq!(permits, [true, true, true, false, false]);
}

mod rpc {
    use super::*;

    fn rpc(
        st: &mut Subtensor,
        host: &mut MemoryHost,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, SubtensorRpcError> {
        st.handle_rpc(host, method, params, 500)
    }

    #[test]
    fn register_stake_permit_and_read_back() {
        let (mut st, mut host) = setup();
        let validator_contract = "0xf24FF3a9CF04c71Dbc94D0b566f7A27B94566cac";
        let neuron = rpc(
            &mut st,
            &mut host,
            "subtensor_registerNeuron",
            json!([{
                "hotkey": validator_contract, "stake": "2000.5", "validatorPermit": true
            }]),
        )
        .unwrap();
        assert_eq!(neuron["uid"], 4);
        assert_eq!(
            neuron["hotkey"],
            "5Fghzk1AJt88PeFEzuRfXzbPchiBbsVGTTXcdx599VdZzkTA"
        );
        assert_eq!(neuron["stake"], 2000 * TAO + TAO / 2);
        assert_eq!(neuron["validatorPermit"], true);
        assert_eq!(neuron["registeredAt"], 500);

        let miner = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
        rpc(
            &mut st,
            &mut host,
            "subtensor_registerNeuron",
            json!([miner]),
        )
        .unwrap();
        let staked = rpc(&mut st, &mut host, "subtensor_setStake", json!([miner, 3])).unwrap();
        assert_eq!(staked["stakeTao"], "3");
        let by_uid = rpc(&mut st, &mut host, "subtensor_getNeuron", json!([5])).unwrap();
        assert_eq!(by_uid["hotkey"], miner);
        let by_key = rpc(
            &mut st,
            &mut host,
            "subtensor_getNeuron",
            json!({"hotkey": miner}),
        )
        .unwrap();
        assert_eq!(by_key, by_uid);
        let revoked = rpc(
            &mut st,
            &mut host,
            "subtensor_setValidatorPermit",
            json!([validator_contract, false]),
        )
        .unwrap();
        assert_eq!(revoked["validatorPermit"], false);

        let meta = rpc(&mut st, &mut host, "subtensor_metagraph", json!([])).unwrap();
        assert_eq!(meta["n"], 6);
        assert_eq!(meta["hotkeys"][5], miner);
        assert_eq!(meta["stakes"][5], 3 * TAO);
        for field in [
            "incentive",
            "emission",
            "dividends",
            "consensus",
            "trust",
            "lastUpdate",
            "validatorPermit",
            "weights",
        ] {
            assert_eq!(meta[field].as_array().map(Vec::len), Some(6), "{field}");
        }
    }

    #[test]
    fn hyperparameters_commit_reveal_and_epochs() {
        let (mut st, mut host) = setup();
        let info = rpc(
            &mut st,
            &mut host,
            "subtensor_setHyperparameter",
            json!(["WeightsSetRateLimit", 0]),
        )
        .unwrap();
        assert_eq!(info["hyperparameters"]["weights_set_rate_limit"], 0);
        let info = rpc(
            &mut st,
            &mut host,
            "subtensor_setHyperparameter",
            json!({"name": "burn", "value": "0.25"}),
        )
        .unwrap();
        assert_eq!(info["burnTao"], "0.25");
        let info = rpc(
            &mut st,
            &mut host,
            "subtensor_setCommitReveal",
            json!([true]),
        )
        .unwrap();
        assert_eq!(
            info["hyperparameters"]["commit_reveal_weights_enabled"],
            true
        );
        let epoch = rpc(&mut st, &mut host, "subtensor_runEpoch", json!([])).unwrap();
        assert_eq!(epoch["block"], 500);
        assert_eq!(epoch["total"], 100 * TAO);
        let info = rpc(&mut st, &mut host, "subtensor_subnetInfo", json!(null)).unwrap();
        assert_eq!(info["epochIndex"], 1);
        assert_eq!(info["nextEpochBlock"], 600);
    }

    #[test]
    fn balances_and_mirrors() {
        let (mut st, mut host) = setup();
        let mirror = rpc(
            &mut st,
            &mut host,
            "subtensor_mirrorOf",
            json!(["0xf24FF3a9CF04c71Dbc94D0b566f7A27B94566cac"]),
        )
        .unwrap();
        assert_eq!(
            mirror["ss58"],
            "5Fghzk1AJt88PeFEzuRfXzbPchiBbsVGTTXcdx599VdZzkTA"
        );
        let known = rpc(
            &mut st,
            &mut host,
            "subtensor_getBalance",
            json!([evm(1).to_string()]),
        )
        .unwrap();
        assert_eq!(known["evm"]["tao"], "10");
        assert_eq!(known["nativeRao"], 0);
    }

    #[test]
    fn errors_are_specific() {
        let (mut st, mut host) = setup();
        let err = |st: &mut Subtensor, host: &mut MemoryHost, m: &str, p| {
            rpc(st, host, m, p).unwrap_err()
        };
        let e = err(
            &mut st,
            &mut host,
            "subtensor_metagraph",
            json!({"netuid": 9}),
        );
        assert_eq!(e, SubtensorRpcError::UnknownNetuid { netuid: NetUid(9) });
        assert_eq!(e.code(), -32000);
        let e = err(
            &mut st,
            &mut host,
            "subtensor_registerNeuron",
            json!(["not-a-key"]),
        );
        assert!(
            matches!(e, SubtensorRpcError::InvalidParams(ref m) if m.contains("hotkey")),
            "{e}"
        );
        assert_eq!(e.code(), -32602);
        let e = err(
            &mut st,
            &mut host,
            "subtensor_registerNeuron",
            json!([evm(1).to_string()]),
        );
        assert_eq!(
            e,
            SubtensorRpcError::Registration {
                pallet_error: PalletError::HotKeyAlreadyRegisteredInSubNet
            }
        );
        let e = err(
            &mut st,
            &mut host,
            "subtensor_setStake",
            json!([evm(7).to_string(), "1"]),
        );
        assert!(matches!(e, SubtensorRpcError::NotRegistered { .. }), "{e}");
        let e = err(
            &mut st,
            &mut host,
            "subtensor_setStake",
            json!([evm(1).to_string(), "-1"]),
        );
        assert!(matches!(e, SubtensorRpcError::InvalidParams(_)), "{e}");
        let e = err(
            &mut st,
            &mut host,
            "subtensor_setHyperparameter",
            json!(["nope", 1]),
        );
        assert!(
            matches!(
                e,
                SubtensorRpcError::Config(SubtensorError::UnknownHyperparameter { .. })
            ),
            "{e}"
        );
        let e = err(&mut st, &mut host, "subtensor_getNeuron", json!([42]));
        assert!(
            matches!(
                e,
                SubtensorRpcError::UnknownUid {
                    uid: 42,
                    count: 4,
                    ..
                }
            ),
            "{e}"
        );
        let e = err(&mut st, &mut host, "subtensor_frobnicate", json!([]));
        assert_eq!(e.code(), -32601);
    }
}

use super::*;

const P1: Address = Address::repeat_byte(0xa1);
const P10: Address = Address::repeat_byte(0xa2);

fn addr(n: u8) -> Address {
    Address::repeat_byte(n)
}

fn dep(pool: Address, user: u8, block: u64, price: u128) -> PoolDeposit {
    PoolDeposit {
        pool,
        commitment: B256::with_last_byte(block as u8),
        leaf_index: 0,
        user: Some(addr(user)),
        block,
        log_index: 0,
        timestamp: 1_000 + block,
        tx_hash: B256::repeat_byte(block as u8),
        tx_from: Some(addr(user)),
        gas_price: Some(price),
    }
}

fn wd(pool: Address, to: u8, block: u64, price: u128) -> PoolWithdrawal {
    PoolWithdrawal {
        pool,
        to: addr(to),
        nullifier_hash: B256::ZERO,
        relayer: Address::ZERO,
        fee: U256::ZERO,
        block,
        log_index: 0,
        timestamp: 1_000 + block,
        tx_hash: B256::repeat_byte(block as u8),
        // Sent by an account that never deposits.
        tx_from: Some(addr(0xff)),
        gas_price: Some(price),
    }
}

fn rules_of(flags: &[ComplianceFlag]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for f in flags {
        *out.entry((f.rule.clone(), f.deposit_key.clone()))
            .or_default() += 1;
    }
    out
}

fn k(block: u64) -> String {
    key(B256::repeat_byte(block as u8))
}

#[test]
fn each_scripted_pattern_is_flagged_and_the_controls_are_not() {
    let g = 1_000_000_000u128;
    let settings = ComplianceSettings {
        rapid_max_blocks: 2,
        structuring_window_blocks: 20,
        ..ComplianceSettings::default()
    };
    let mut input = ComplianceInput::default();
    let a = &mut input.activity;
    // Controls 1 and 2 (pool 1), control 3 (pool 10): never withdrawn.
    a.deposits.push(dep(P1, 1, 10, g));
    a.deposits.push(dep(P1, 2, 13, g));
    a.deposits.push(dep(P10, 3, 16, g));
    // S deposits, later withdraws to itself.
    a.deposits.push(dep(P1, 4, 20, g));
    // M deposits into pools 1 and 10, later withdraws both to one fresh address.
    a.deposits.push(dep(P1, 5, 23, g));
    a.deposits.push(dep(P10, 5, 26, g));
    // T structures: three deposits over two pools in a few blocks.
    a.deposits.push(dep(P1, 6, 40, g));
    a.deposits.push(dep(P10, 6, 43, g));
    a.deposits.push(dep(P1, 6, 46, g));
    // R: in and out at once, at a gas price no one else pays.
    a.deposits.push(dep(P10, 7, 60, 3 * g));
    a.withdrawals.push(wd(P10, 0x71, 61, 3 * g));
    // S's withdrawal to itself.
    a.withdrawals.push(wd(P1, 4, 70, g));
    input.self_withdrawals.push(SelfWithdrawal {
        pool: P1,
        address: addr(4),
        deposit_block: 20,
        withdrawal_block: 70,
    });
    // M's two withdrawals to one recipient.
    a.withdrawals.push(wd(P1, 0x51, 80, g));
    a.withdrawals.push(wd(P10, 0x51, 81, g));

    let flags = analyze(&input, &settings);
    let got = rules_of(&flags);
    let want: BTreeMap<(String, String), usize> = [
        ((WITHDRAW_TO_SELF, 20), 1),
        ((MULTI_DENOMINATION, 23), 1),
        ((MULTI_DENOMINATION, 26), 1),
        ((STRUCTURING, 40), 1),
        ((STRUCTURING, 43), 1),
        ((STRUCTURING, 46), 1),
        ((RAPID_WITHDRAWAL, 60), 1),
        ((UNIQUE_GAS_PRICE, 60), 1),
    ]
    .into_iter()
    .map(|((r, b), n)| ((r.to_owned(), k(b)), n))
    .collect();
    assert_eq!(got, want, "{flags:#?}");
    assert!(
        flags
            .iter()
            .all(|f| (0.0..=1.0).contains(&f.score) && !f.explanation.is_empty())
    );

    // Effective anonymity: pool 1 has 6 deposits, S's and M's linked.
    let pools = pool_anonymity(
        &input.activity,
        &flags,
        &ProtocolContracts::default(),
        u64::MAX,
    );
    let p1 = pools.iter().find(|p| p.pool == P1).unwrap();
    assert_eq!(
        (p1.deposits, p1.linked_deposits, p1.effective_anonymity_set),
        (6, 2, 4)
    );

    // Linked addresses: R's recipient shares R's hotkey; the pair is an address match.
    input.associations = [7u8, 0x71]
        .into_iter()
        .map(|n| Association {
            address: addr(n),
            hotkey: B256::repeat_byte(9),
            block_number: 1,
            tx_hash: B256::ZERO,
            source: taonado_store::AssociationSource::Event,
        })
        .collect();
    let flags = analyze(&input, &settings);
    let matched: Vec<_> = flags.iter().filter(|f| f.rule == ADDRESS_MATCH).collect();
    assert_eq!(matched.len(), 1, "{matched:#?}");
    assert_eq!(matched[0].deposit_key, k(60));
    assert!(matched[0].explanation.contains("same hotkey"));

    // Funding: a WTAO transfer links control 1 to M's recipient, once M's recipient withdraws from pool 1.
    input.associations.clear();
    input.transfers.push((addr(1), addr(0x51)));
    let flags = analyze(&input, &settings);
    let matched: Vec<_> = flags.iter().filter(|f| f.rule == ADDRESS_MATCH).collect();
    assert_eq!(matched.len(), 1, "{matched:#?}");
    assert_eq!(matched[0].deposit_key, k(10));
}

#[test]
fn retention_durations_parse() {
    assert_eq!(parse_retention("7y"), Some(7 * 365 * 86_400));
    assert_eq!(parse_retention("18m"), Some(18 * 30 * 86_400));
    assert_eq!(parse_retention("90d"), Some(90 * 86_400));
    for bad in ["", "7", "y", "0y", "7h", "-1y"] {
        assert_eq!(parse_retention(bad), None, "{bad}");
    }
}

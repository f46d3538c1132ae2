//! A deposit withdrawn back to the depositor, proven with the real local dev key, seen by
//! the self-withdrawal rule and delivered to a signed webhook naming the address.

use std::path::Path;
use std::sync::Arc;

use alloy::primitives::{Address, U256};
use taonado_monitor::rules::SELF_WITHDRAWAL;
use taonado_monitor::{Notifier, RuleSettings, WebhookNotifier};
use taonado_ops::VerifyingKeyFile;
use taonado_ops::mixer::{DepositRequest, Mixer, NoMixerProgress, WithdrawKeys, WithdrawRequest};

use crate::receiver::Receiver;
use crate::stack::Stack;

const SECRET: &[u8] = b"self-cycle-secret";

/// SQLite only: a Groth16 withdrawal proof costs seconds; the indexer, rules and outbox it
/// goes through run on both backends in `e2e` and `storm`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_withdrawn_to_its_depositor_fires_a_signed_self_withdrawal_alert() {
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys/local");
    let vk =
        VerifyingKeyFile::parse(&std::fs::read_to_string(keys.join("withdraw.vk.json")).unwrap())
            .unwrap();
    let stack = Stack::start_with(vk).await;
    let receiver = Receiver::start().await;
    let hook: Arc<dyn Notifier> =
        Arc::new(WebhookNotifier::signed("hook", receiver.url(), SECRET.to_vec()).unwrap());
    let settings = RuleSettings {
        window_blocks: 30,
        ..RuleSettings::default()
    };
    let monitor = stack.monitor(settings, vec![hook]);

    // Before any withdrawal the rule is quiet.
    let before = stack.step(&monitor, 1_000).await;
    assert!(
        before.fired.iter().all(|a| a.rule != SELF_WITHDRAWAL),
        "{:#?}",
        before.fired
    );

    let depositor = stack.devnet.dev_accounts()[0].address;
    let dir = tempfile::tempdir().unwrap();
    let mixer = Mixer::new(
        stack.provider.clone(),
        stack.record.clone(),
        &dir.path().join("cache"),
    )
    .await
    .unwrap();
    let deposit = mixer
        .deposit(
            &DepositRequest {
                amount: "1".into(),
                sender: depositor,
                backup: dir.path().join("notes.txt"),
                wrap: true,
                gas_price: None,
            },
            &NoMixerProgress,
        )
        .await
        .unwrap();
    let withdrawn = mixer
        .withdraw(
            &WithdrawRequest {
                note: deposit.note.clone(),
                recipient: depositor,
                relayer: Address::ZERO,
                fee: U256::ZERO,
                refund: U256::ZERO,
                gas_price: None,
            },
            &WithdrawKeys {
                keys_dir: None,
                // Never read: the pools' verifier embeds the local dev key.
                tornado_dir: keys.join("no-tornado-keys"),
            },
            &NoMixerProgress,
        )
        .await
        .unwrap();
    assert_eq!(withdrawn.leaf_index, 0);

    let after = stack.step(&monitor, 1_010).await;
    let fired: Vec<_> = after
        .fired
        .iter()
        .filter(|a| a.rule == SELF_WITHDRAWAL)
        .collect();
    assert_eq!(fired.len(), 1, "{:#?}", after.fired);
    assert!(after.errors.is_empty(), "{:?}", after.errors);

    let delivered: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.json()["alert"]["rule"] == SELF_WITHDRAWAL)
        .collect();
    assert_eq!(delivered.len(), 1);
    let alert = &delivered[0];
    assert!(
        alert.signature_valid(SECRET),
        "bad signature on {:?}",
        alert.json()
    );
    assert!(!alert.signature_valid(b"wrong"));
    let json = alert.json();
    assert_eq!(json["transition"], "fired");
    let details = &json["alert"]["details"];
    let named: Address = details["address"].as_str().unwrap().parse().unwrap();
    assert_eq!(named, depositor);
    let pool: Address = details["pool"].as_str().unwrap().parse().unwrap();
    assert_eq!(pool, deposit.pool.address);
    assert!(
        json["alert"]["summary"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains(&format!("{depositor:#x}")),
        "{json}"
    );
    stack.devnet.shutdown().await.unwrap();
}

//! `taonado wtao`: wrap, unwrap, balance and transfers (WTAO to an H160, native TAO to an
//! SS58 account through 0x800) against a devnet child with a freshly created WTAO.

use serde_json::Value;

use crate::support::{DEV0, DEV0_KEY, DEV1, Devnet, Sandbox, cast, cast_path, envelope, run};

/// Bob's well-known dev account: no EVM mirror, so 0x800 credits its native balance.
const BOB_SS58: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
const TAO: u128 = 1_000_000_000_000_000_000;
/// Anvil's second dev key (a public test key); its address is `DEV1`.
const DEV1_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// Deploys the committed WTAO artifact with cast and returns its address.
pub(crate) fn create_wtao(url: &str) -> String {
    let artifact: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../taonado-contracts/artifacts/WTAO.json"
        ))
        .expect("WTAO artifact"),
    )
    .expect("artifact JSON");
    let bytecode = artifact["bytecode"].as_str().expect("bytecode");
    // `--create` takes the rest of the line as constructor arguments, so the URL goes first
    // (the `cast` helper appends it).
    let out = std::process::Command::new(cast_path())
        .args([
            "send",
            "--rpc-url",
            url,
            "--private-key",
            DEV0_KEY,
            "--json",
        ])
        .args(["--create", bytecode])
        .output()
        .expect("run cast");
    assert!(
        out.status.success(),
        "cast send --create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt: Value = serde_json::from_slice(&out.stdout).expect("receipt JSON");
    receipt["contractAddress"]
        .as_str()
        .expect("contract address")
        .to_owned()
}

struct Chain {
    sandbox: Sandbox,
    devnet: Devnet,
    wtao: String,
}

impl Chain {
    fn start() -> Self {
        let sandbox = Sandbox::new();
        let devnet = Devnet::start(&sandbox, &[]);
        let wtao = create_wtao(&devnet.url);
        Self {
            sandbox,
            devnet,
            wtao,
        }
    }

    /// `taonado -q --json wtao <args> --rpc-url … --wtao …`; no signer flag means dev account 0.
    fn wtao(&self, args: &[&str]) -> (i32, String, String) {
        run(self
            .sandbox
            .taonado()
            .args(["-q", "--json", "wtao"])
            .args(args)
            .args(["--rpc-url", &self.devnet.url, "--wtao", &self.wtao]))
    }

    fn ok(&self, args: &[&str]) -> Value {
        let (code, stdout, stderr) = self.wtao(args);
        assert_eq!(code, 0, "wtao {args:?}: {stdout}\n{stderr}");
        envelope(&stdout)["data"].clone()
    }

    /// One failed command: exit code, and its one-line error message.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let (actual, stdout, stderr) = self.wtao(args);
        assert_eq!(actual, code, "wtao {args:?}: {stdout}\n{stderr}");
        let message = envelope(&stdout)["errors"][0]["message"]
            .as_str()
            .expect("error message")
            .to_owned();
        assert!(!message.contains('\n'), "{message}");
        message
    }

    fn wtao_wei(&self, owner: &str) -> u128 {
        wei(&self.ok(&["balance", owner])["wtao_wei"])
    }

    fn nonce(&self, owner: &str) -> String {
        cast(&self.devnet.url, &["nonce", owner])
    }
}

fn wei(value: &Value) -> u128 {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a decimal wei string: {value}"))
}

#[test]
fn wrap_unwrap_transfer_and_balance() {
    let chain = Chain::start();
    let native_before = wei(&chain.ok(&["balance", DEV0])["native_wei"]);

    let wrapped = chain.ok(&["wrap", "1.5"]);
    assert_eq!(wrapped["action"], "wrap");
    assert_eq!(wei(&wrapped["amount_wei"]), 3 * TAO / 2);
    assert_eq!(wei(&wrapped["balance"]["wtao_wei"]), 3 * TAO / 2);
    // The signer's native balance paid the amount and the fee.
    let native_after = wei(&wrapped["balance"]["native_wei"]);
    assert!(native_after <= native_before - 3 * TAO / 2, "{wrapped}");

    // Without an address, balance reads the signer's (dev account 0 on a dev chain).
    let own = chain.ok(&["balance"]);
    assert_eq!(
        own["address"].as_str().map(str::to_lowercase),
        Some(DEV0.to_lowercase())
    );
    assert_eq!(wei(&own["wtao_wei"]), 3 * TAO / 2);

    let unwrapped = chain.ok(&["unwrap", "0.5"]);
    assert_eq!(wei(&unwrapped["balance"]["wtao_wei"]), TAO);

    let sent = chain.ok(&["transfer", DEV1, "0.25"]);
    assert_eq!(sent["action"], "transfer-wtao");
    assert_eq!(chain.wtao_wei(DEV1), TAO / 4);
    assert_eq!(chain.wtao_wei(DEV0), 3 * TAO / 4);
    // DEV1 signs from a Foundry keystore made by `taonado wallet import`.
    let password = chain.sandbox.path().join("password");
    let key = chain.sandbox.path().join("key");
    std::fs::write(&password, "plum-orbit-Vexed-97-lantern\n").expect("write the password file");
    std::fs::write(&key, DEV1_KEY).expect("write the key file");
    let (code, _, stderr) = run(chain.sandbox.taonado().args([
        "wallet",
        "import",
        "--account",
        "dev1",
        "--password-file",
        password.to_str().expect("utf-8 path"),
        "--private-key-file",
        key.to_str().expect("utf-8 path"),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let unwrapped = chain.ok(&[
        "unwrap",
        "0.05",
        "--account",
        "dev1",
        "--password-file",
        password.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(
        unwrapped["from"].as_str().map(str::to_lowercase),
        Some(DEV1.to_lowercase())
    );
    assert_eq!(chain.wtao_wei(DEV1), TAO / 5);
    // The WTAO contract holds exactly what is wrapped.
    assert_eq!(
        cast(&chain.devnet.url, &["balance", &chain.wtao]),
        (TAO - TAO / 20).to_string()
    );
}

#[test]
fn native_transfer_to_ss58_goes_through_0x800() {
    let chain = Chain::start();
    let sent = chain.ok(&["transfer", BOB_SS58, "0.123456789"]);
    assert_eq!(sent["action"], "transfer-native");
    assert_eq!(sent["native_dest"], BOB_SS58);
    assert_eq!(sent["amount_rao"], 123_456_789);
    assert_eq!(
        sent["to"].as_str().map(str::to_lowercase).as_deref(),
        Some("0x0000000000000000000000000000000000000800")
    );
    let ledger: Value = serde_json::from_str(&cast(
        &chain.devnet.url,
        &[
            "rpc",
            "subtensor_getBalance",
            "--raw",
            &format!("[\"{BOB_SS58}\"]"),
        ],
    ))
    .expect("subtensor_getBalance JSON");
    assert_eq!(ledger["nativeRao"], 123_456_789, "{ledger}");

    // Sub-rao dust would be lost at the precompile: refused before anything is sent.
    let nonce = chain.nonce(DEV0);
    let message = chain.fails(&["transfer", BOB_SS58, "0.0000000001"], 2);
    assert!(message.contains("not a whole number of rao"), "{message}");
    assert_eq!(chain.nonce(DEV0), nonce);
}

#[test]
fn insufficient_balance_sends_nothing() {
    let chain = Chain::start();
    chain.ok(&["wrap", "1"]);
    let nonce = chain.nonce(DEV0);

    let message = chain.fails(&["transfer", DEV1, "2"], 1);
    assert!(message.contains("has 1 WTAO but needs 2"), "{message}");
    let message = chain.fails(&["unwrap", "1.000000000000000001"], 1);
    assert!(message.contains("WTAO"), "{message}");
    assert_eq!(chain.nonce(DEV0), nonce);
    assert_eq!(chain.wtao_wei(DEV0), TAO);

    // An unfunded key cannot wrap or pay a native transfer.
    let unfunded = "0x0000000000000000000000000000000000000000000000000000000000000bad";
    for args in [
        vec!["wrap", "1", "--private-key", unfunded],
        vec!["transfer", BOB_SS58, "1", "--private-key", unfunded],
    ] {
        let message = chain.fails(&args, 1);
        assert!(message.contains("has 0 TAO but needs 1"), "{message}");
    }
}

/// On Bittensor the SS58 mirror of an EVM address and that address are one account: TAO
/// sent to the mirror (of an address the chain has never seen) is its EVM balance.
#[test]
fn native_transfer_to_the_mirror_of_an_evm_address_is_its_evm_balance() {
    let chain = Chain::start();
    let fresh = "0x00000000000000000000000000000000000c0ffe";
    let (code, stdout, stderr) = run(chain.sandbox.taonado().args(["--json", "address", fresh]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let mirror = envelope(&stdout)["data"]["ss58"]
        .as_str()
        .expect("the mirror's SS58")
        .to_owned();
    chain.ok(&["transfer", &mirror, "1.5"]);
    assert_eq!(
        cast(&chain.devnet.url, &["balance", fresh]),
        "1500000000000000000"
    );
}

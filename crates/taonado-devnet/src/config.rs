//! Devnet configuration and the well-known dev accounts.

use std::{
    net::{IpAddr, Ipv4Addr},
    path::PathBuf,
    time::Duration,
};

use alloy_primitives::{Address, B256, U256, address, b256};

use crate::subtensor::SubtensorConfig;

/// Localnet chain id of a Bittensor EVM (`--chain-id` overrides it).
pub const DEFAULT_CHAIN_ID: u64 = 42;
/// Block gas limit of subtensor's EVM.
pub const DEFAULT_GAS_LIMIT: u64 = 75_000_000;
/// Subtensor's (constant) EIP-1559 base fee: 20 gwei.
pub const DEFAULT_BASE_FEE: u128 = 20_000_000_000;
/// Default JSON-RPC port, the same as anvil's so tools work with their defaults.
pub const DEFAULT_PORT: u16 = 8545;

/// How the devnet runs. Build one with [`DevnetConfig::local`], [`DevnetConfig::fast`] or
/// [`DevnetConfig::test`] and adjust the public fields.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Interface to bind (default 127.0.0.1).
    pub host: IpAddr,
    /// TCP port; 0 picks a free one.
    pub port: u16,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// `None` mines one block per transaction (inside `eth_sendRawTransaction`); `Some`
    /// mines a block every interval.
    pub block_time: Option<Duration>,
    /// Directory that keeps the chain across restarts.
    pub state_dir: Option<PathBuf>,
    /// The emulated subnet.
    pub subtensor: SubtensorConfig,
    /// How many of the dev accounts are prefunded (at most [`DEV_ACCOUNTS`]`.len()`).
    pub accounts: usize,
    /// Genesis balance of each dev account, in wei.
    pub balance_wei: U256,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Base fee per gas in wei (constant, as subtensor keeps it).
    pub base_fee: u128,
    /// Fork mode: state not written locally is fetched from this JSON-RPC node, lazily, at
    /// [`DevnetConfig::fork_block`]; the chain id becomes the remote's.
    pub fork_url: Option<String>,
    /// The remote block to fork at (`None`: its latest when the devnet starts).
    pub fork_block: Option<u64>,
    /// Who may call it besides local, non-browser clients (see [`crate::Access`]).
    pub access: crate::Access,
    /// What one client can make the server do (see [`RpcLimits`]).
    pub limits: RpcLimits,
    /// Keep the state of only the last N blocks readable (at least 256, the reorg depth);
    /// `None` keeps all, as a dev chain should.
    pub prune_history: Option<u64>,
}

/// Bounds that keep one client (or a web page, or a flood) from stalling the chain.
#[derive(Clone, Debug)]
pub struct RpcLimits {
    /// Gas of one `eth_call`/`eth_estimateGas` (`None`: the block gas limit).
    pub call_gas_cap: Option<u64>,
    /// A body with a call that takes longer gets an error (the call itself is bounded by
    /// the gas cap and ends on its own).
    pub call_timeout: Duration,
    /// Bodies with calls executing at once; more wait (see `max_queued_calls`).
    pub call_slots: usize,
    /// Bodies waiting for a call slot; past that a body is refused at once.
    pub max_queued_calls: usize,
    /// Requests in one batch.
    pub max_batch: usize,
    /// A connection that does not send a whole request head in this time is closed
    /// (idle keep-alive connections too).
    pub header_read_timeout: Duration,
    /// A request body must arrive within this.
    pub body_read_timeout: Duration,
    /// Open connections; more wait in the kernel's backlog (file descriptors stay free
    /// for the state files).
    pub max_connections: usize,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self {
            call_gas_cap: None,
            // geth's RPCEVMTimeout
            call_timeout: Duration::from_secs(5),
            call_slots: std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            max_queued_calls: 256,
            // geth's BatchRequestLimit
            max_batch: 1_000,
            // geth's ReadHeaderTimeout
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            // under the usual 1,024 open-file limit
            max_connections: 1_000,
        }
    }
}

/// The shortest `--block-time`: under a millisecond the miner would spin and grow the
/// chain without bound.
pub const MIN_BLOCK_TIME: Duration = Duration::from_millis(1);

impl DevnetConfig {
    /// A local chain like `taonado devnet` without flags: port 8545, instant blocks,
    /// subnet tempo 360.
    pub fn local() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            chain_id: DEFAULT_CHAIN_ID,
            block_time: None,
            state_dir: None,
            subtensor: SubtensorConfig::local_default(),
            accounts: DEV_ACCOUNTS.len(),
            // 10_000 TAO
            balance_wei: U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18u64)),
            gas_limit: DEFAULT_GAS_LIMIT,
            base_fee: DEFAULT_BASE_FEE,
            fork_url: None,
            access: crate::Access::default(),
            fork_block: None,
            limits: RpcLimits::default(),
            prune_history: None,
        }
    }

    /// The fast profile: 250 ms blocks and subnet tempo 10 (like subtensor's fast-runtime).
    pub fn fast() -> Self {
        Self {
            block_time: Some(Duration::from_millis(250)),
            subtensor: SubtensorConfig::fast(),
            ..Self::local()
        }
    }

    /// For tests: a free port, instant mining, no persistence.
    pub fn test() -> Self {
        Self {
            port: 0,
            ..Self::local()
        }
    }
}

/// A prefunded, unlocked dev account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevAccount {
    /// Its address.
    pub address: Address,
    /// Its secp256k1 private key (public test key, never use it on a real network).
    pub private_key: B256,
}

/// Anvil's standard dev accounts: the first ten keys of the public test mnemonic
/// "test test test test test test test test test test test junk" (m/44'/60'/0'/0/i).
/// They are PUBLIC test keys, known to everyone; they are hard-coded so `cast`, the
/// benchmarks and every Foundry tool work against the devnet with their defaults.
pub const DEV_ACCOUNTS: [DevAccount; 10] = [
    DevAccount {
        address: address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
        private_key: b256!("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
    },
    DevAccount {
        address: address!("70997970C51812dc3A010C7d01b50e0d17dc79C8"),
        private_key: b256!("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
    },
    DevAccount {
        address: address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"),
        private_key: b256!("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
    },
    DevAccount {
        address: address!("90F79bf6EB2c4f870365E785982E1f101E93b906"),
        private_key: b256!("7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"),
    },
    DevAccount {
        address: address!("15d34AAf54267DB7D7c367839AAf71A00a2C6A65"),
        private_key: b256!("47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"),
    },
    DevAccount {
        address: address!("9965507D1a55bcC2695C58ba16FB37d819B0A4dc"),
        private_key: b256!("8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"),
    },
    DevAccount {
        address: address!("976EA74026E726554dB657fA54763abd0C3a0aa9"),
        private_key: b256!("92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e"),
    },
    DevAccount {
        address: address!("14dC79964da2C08b23698B3D3cc7Ca32193d9955"),
        private_key: b256!("4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356"),
    },
    DevAccount {
        address: address!("23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"),
        private_key: b256!("dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"),
    },
    DevAccount {
        address: address!("a0Ee7A142d267C1f36714E4a8F75612F20a79720"),
        private_key: b256!("2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys_derive_their_addresses() {
        for account in DEV_ACCOUNTS {
            let key = k256::ecdsa::SigningKey::from_slice(account.private_key.as_slice())
                .expect("hard-coded key is a valid scalar");
            assert_eq!(
                Address::from_public_key(key.verifying_key()),
                account.address
            );
        }
    }

    #[test]
    fn fast_profile_mines_on_an_interval() {
        assert_eq!(
            DevnetConfig::fast().block_time,
            Some(Duration::from_millis(250))
        );
        assert_eq!(DevnetConfig::test().port, 0);
        assert_eq!(DevnetConfig::local().chain_id, 42);
    }
}

//! Contract behaviour, executed as compiled bytecode in revm.

mod artifacts;
mod crypto;
mod evm;
mod fixtures;
mod gas;
mod pool;
mod tracker;
mod validator;
mod validator_v2;
mod weights;
mod weights_v4;
mod wtao;

//! Contract behaviour, executed as compiled bytecode in revm.

mod artifacts;
mod crypto;
mod evm;
mod fixtures;
mod gas;
mod pool;
mod tracker;
mod validator;
mod weights;
mod wtao;

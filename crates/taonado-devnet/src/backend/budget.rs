//! `eth_call` on the async worker that received it, within a budget.
//!
//! Handing a call to the blocking pool costs two thread wake-ups, and a profile of the
//! dev chain under an `eth_call` flood showed them as ~45% of its CPU time (the EVM was
//! ~2%). Most calls run for microseconds, so they run where the request arrived, watched
//! by [`BudgetInspector`]: past its step or time budget, or at a call to a precompile whose
//! cost can be large, it halts every frame and the call is discarded, then run again from
//! scratch on the blocking pool. The state is read-only, so the re-run sees the same state
//! and gives the same answer; the inline attempt only ever wasted its budget. An inline
//! answer is the answer of a complete execution, because the inspector changes nothing
//! until it aborts.

use std::time::{Duration, Instant};

use alloy_primitives::Address;
use revm::{
    Inspector,
    interpreter::{
        CallInputs, CallOutcome, InstructionResult, Interpreter, interpreter::EthInterpreter,
    },
};

/// How much an inline `eth_call` may execute before it moves to the blocking pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InlineBudget {
    /// EVM instructions, over every frame.
    pub max_steps: u64,
    /// Wall time since the execution started, checked every [`TIME_CHECK_EVERY`] steps
    /// and at every call.
    pub max_time: Duration,
}

impl InlineBudget {
    /// What the server uses: a balanceOf is ~200 steps; 200k steps is about a millisecond.
    pub(crate) const SERVER: Self = Self {
        max_steps: 200_000,
        max_time: Duration::from_millis(2),
    };
}

/// Steps between two clock reads.
const TIME_CHECK_EVERY: u64 = 256;

/// Precompiles whose cost can be large for their gas (modular exponentiation, the BN254
/// operations on either chain family's addresses, blake2f, and the Bittensor extras): a
/// call to one leaves the async worker.
fn is_heavy_precompile(address: Address) -> bool {
    let bytes = address.as_slice();
    if bytes[..18].iter().any(|b| *b != 0) {
        return false;
    }
    let low = u16::from_be_bytes([bytes[18], bytes[19]]);
    (0x05..=0x09).contains(&low) || (0x400..=0x403).contains(&low)
}

/// Counts steps and watches the clock; once over budget, halts every frame.
#[derive(Debug)]
pub(crate) struct BudgetInspector {
    budget: InlineBudget,
    started: Instant,
    steps: u64,
    exhausted: bool,
}

impl BudgetInspector {
    pub(crate) fn new(budget: InlineBudget) -> Self {
        Self {
            budget,
            started: Instant::now(),
            steps: 0,
            exhausted: false,
        }
    }

    /// Whether the execution was cut short: its result must be thrown away.
    pub(crate) fn exhausted(&self) -> bool {
        self.exhausted
    }

    fn over_time(&self) -> bool {
        self.started.elapsed() >= self.budget.max_time
    }
}

impl<CTX> Inspector<CTX, EthInterpreter> for BudgetInspector {
    fn step(&mut self, interp: &mut Interpreter<EthInterpreter>, _context: &mut CTX) {
        self.steps += 1;
        if !self.exhausted
            && (self.steps > self.budget.max_steps
                || (self.steps.is_multiple_of(TIME_CHECK_EVERY) && self.over_time()))
        {
            self.exhausted = true;
        }
        if self.exhausted {
            // Every frame halts at its next step, so the whole call unwinds at once.
            interp.halt(InstructionResult::OutOfGas);
        }
    }

    fn call(&mut self, _context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        if !self.exhausted && (is_heavy_precompile(inputs.bytecode_address) || self.over_time()) {
            self.exhausted = true;
        }
        self.exhausted.then(|| {
            CallOutcome::new_oog(
                inputs.gas_limit,
                inputs.return_memory_offset.clone(),
                inputs.reservoir,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_precompiles_are_the_costly_ones_of_both_families() {
        let at = |n: u64| Address::left_padding_from(&n.to_be_bytes());
        for cheap in [1u64, 2, 3, 4, 0x800, 0x802, 0x804] {
            assert!(!is_heavy_precompile(at(cheap)), "{cheap:#x}");
        }
        for heavy in [5u64, 6, 7, 8, 9, 0x400, 0x403] {
            assert!(is_heavy_precompile(at(heavy)), "{heavy:#x}");
        }
        assert!(!is_heavy_precompile(Address::repeat_byte(5)));
    }
}

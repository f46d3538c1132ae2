//! Nonces of one sender, handed out locally (no `eth_getTransactionCount` per transaction)
//! and resynced from the node after a failed send, as spamoor does.

/// The next nonce of one sender. Only its owner (one worker) uses it, so it needs no lock.
#[derive(Clone, Debug)]
pub struct NonceTracker {
    next: u64,
    stale: bool,
    handed_out: u64,
}

impl NonceTracker {
    /// Starts at the node's pending nonce.
    pub fn new(pending: u64) -> Self {
        Self {
            next: pending,
            stale: false,
            handed_out: 0,
        }
    }

    /// The nonce for the next transaction.
    pub fn take(&mut self) -> u64 {
        let nonce = self.next;
        self.next += 1;
        self.handed_out += 1;
        nonce
    }

    /// A send failed: the node may or may not hold the transaction, so the local count is
    /// no longer trusted until [`resync`](Self::resync).
    pub fn failed(&mut self) {
        self.stale = true;
    }

    /// Whether the node must be asked before the next [`take`](Self::take).
    pub fn needs_resync(&self) -> bool {
        self.stale
    }

    /// Adopt the node's pending nonce (`eth_getTransactionCount(addr, "pending")`).
    pub fn resync(&mut self, pending: u64) {
        self.next = pending;
        self.stale = false;
    }

    /// The nonce the next transaction would get: after every send is included, the
    /// node's latest nonce must equal it, or there is a gap (or a dropped transaction).
    pub fn expected(&self) -> u64 {
        self.next
    }

    /// How many nonces were handed out (retries of a resynced nonce count again).
    pub fn handed_out(&self) -> u64 {
        self.handed_out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the node does with one send.
    #[derive(Clone, Copy, Debug)]
    enum Outcome {
        /// Accepted, and the answer arrives.
        Ok,
        /// Rejected (pool full, fee too low): nothing changes on the node.
        Rejected,
        /// Accepted, but the answer is lost (timeout): the sender sees a failure.
        LostAnswer,
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            6 => Just(Outcome::Ok),
            2 => Just(Outcome::Rejected),
            1 => Just(Outcome::LostAnswer),
        ]
    }

    proptest! {
        /// Whatever fails, the nonces the node accepts are unique and contiguous from the
        /// start, and after the last resync the tracker expects exactly the node's nonce.
        #[test]
        fn accepted_nonces_are_contiguous_and_unique(
            start in 0u64..1_000,
            outcomes in proptest::collection::vec(outcome(), 0..200),
        ) {
            let mut node_pending = start;
            let mut accepted = Vec::new();
            let mut tracker = NonceTracker::new(start);
            for outcome in outcomes {
                if tracker.needs_resync() {
                    tracker.resync(node_pending);
                }
                let nonce = tracker.take();
                // The node accepts only its next nonce.
                let fits = nonce == node_pending;
                match outcome {
                    Outcome::Ok if fits => {
                        accepted.push(nonce);
                        node_pending += 1;
                    }
                    Outcome::LostAnswer if fits => {
                        accepted.push(nonce);
                        node_pending += 1;
                        tracker.failed();
                    }
                    _ => tracker.failed(),
                }
            }
            let expected: Vec<u64> = (start..node_pending).collect();
            prop_assert_eq!(&accepted, &expected);
            if tracker.needs_resync() {
                tracker.resync(node_pending);
            }
            prop_assert_eq!(tracker.expected(), node_pending);
        }
    }

    #[test]
    fn a_failure_hands_the_nonce_out_again_after_resync() {
        let mut tracker = NonceTracker::new(7);
        assert_eq!(tracker.take(), 7);
        assert_eq!(tracker.take(), 8);
        tracker.failed();
        assert!(tracker.needs_resync());
        tracker.resync(8);
        assert_eq!(tracker.take(), 8);
        assert_eq!(tracker.handed_out(), 3);
        assert_eq!(tracker.expected(), 9);
    }
}

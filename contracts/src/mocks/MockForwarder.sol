// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Test-only: makes a contract the `msg.sender` of a call. It has no `receive`, so it
/// refuses payments (how tests reach the EvmValidator's "refund failed"). Reverts bubble up.
contract MockForwarder {
    function forward(address target, bytes calldata data) external payable returns (bytes memory result) {
        bool ok;
        (ok, result) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
    }
}

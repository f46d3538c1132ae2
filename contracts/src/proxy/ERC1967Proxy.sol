// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Pulls OpenZeppelin's ERC1967Proxy into the build so that its artifact is emitted:
// the EvmValidator is deployed behind it.
import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

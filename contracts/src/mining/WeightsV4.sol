// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IDepositTracker} from "../interfaces/IDepositTracker.sol";
import {IMetagraph} from "../interfaces/IMetagraph.sol";
import {ITaonado} from "../interfaces/ITaonado.sol";

/// @title WeightsV4
/// @notice WeightsV3's weights (WTAO balance plus lifetime pool deposits over a hotkey's first
/// 100 associations, the shortfall below the goal burned) with V3's defects fixed:
/// - goal 0 and nothing deposited: all weight goes to the burn uid instead of dividing by zero;
/// - a subnet with no uids gives empty arrays instead of reverting;
/// - `burn_uid` is settable by the owner (V3's is the constant 0), and the burn uid's own
///   deposits never count, as in V3;
/// - configuration changes emit events.
/// Wherever V3 is defined and `burn_uid` is 0, V4 returns exactly what V3 returns.
/// Not fixed here: lifetime deposits can still be inflated by depositing and withdrawing back to
/// oneself (an economic design flaw; monitoring reports the pattern).
contract WeightsV4 is Ownable {
    uint256 public constant MAX_ASSOCIATIONS_PER_HOTKEY = 100;

    uint16 public netuid;
    uint256 public depositGoal = 1000 ether;
    IDepositTracker public depositTracker;
    IMetagraph public metagraph;
    IERC20 public wtao;
    ITaonado public taonado;
    uint16 public burn_uid;

    event DepositGoalSet(uint256 previous, uint256 current);
    event BurnUidSet(uint16 previous, uint16 current);

    constructor(uint16 _netuid, address _depositTracker, address _metagraph, address _wtao, address _taonado)
        Ownable(msg.sender)
    {
        netuid = _netuid;
        depositTracker = IDepositTracker(_depositTracker);
        metagraph = IMetagraph(_metagraph);
        wtao = IERC20(_wtao);
        taonado = ITaonado(_taonado);
    }

    function getNetuid() external view returns (uint16) {
        return netuid;
    }

    function setDepositGoal(uint256 _depositGoal) external onlyOwner {
        emit DepositGoalSet(depositGoal, _depositGoal);
        depositGoal = _depositGoal;
    }

    function setBurnUid(uint16 _burnUid) external onlyOwner {
        emit BurnUidSet(burn_uid, _burnUid);
        burn_uid = _burnUid;
    }

    /// @notice One hotkey's weight: the WTAO balances plus lifetime pool deposits of its first
    /// 100 associations.
    function hotkeyWeight(bytes32 hotkey) public view returns (uint256 weight) {
        uint256 count = depositTracker.associationSetLength(hotkey);
        if (count > MAX_ASSOCIATIONS_PER_HOTKEY) {
            count = MAX_ASSOCIATIONS_PER_HOTKEY;
        }
        for (uint256 i = 0; i < count; i++) {
            address depositor = depositTracker.associations(hotkey, i);
            weight += wtao.balanceOf(depositor) + taonado.totalLifetimeDeposits(depositor);
        }
    }

    function getWeights() public view returns (uint16[] memory dests, uint256[] memory weights) {
        uint16 uidCount = metagraph.getUidCount(netuid);
        dests = new uint16[](uidCount);
        weights = new uint256[](uidCount);
        uint16 burn = burn_uid;
        uint256 total = 0;
        for (uint16 uid = 0; uid < uidCount; uid++) {
            dests[uid] = uid;
            if (uid == burn) continue;
            uint256 weight = hotkeyWeight(metagraph.getHotkey(netuid, uid));
            weights[uid] = weight;
            total += weight;
        }
        // A burn uid outside the subnet burns nothing: the shortfall is simply not assigned.
        if (total < depositGoal && burn < uidCount) {
            weights[burn] = depositGoal - total;
        }
    }

    function getNormalizedWeights() external view returns (uint16[] memory dests, uint16[] memory normalized) {
        uint256[] memory weights;
        (dests, weights) = getWeights();
        uint16 burn = burn_uid;
        uint256 sum = 0;
        for (uint256 i = 0; i < weights.length; i++) {
            if (i != burn) sum += weights[i];
        }
        uint256 denominator = depositGoal > sum ? depositGoal : sum;
        normalized = new uint16[](weights.length);
        if (denominator == 0) {
            // Goal 0 and nothing deposited: everything is burned.
            if (burn < weights.length) normalized[burn] = type(uint16).max;
            return (dests, normalized);
        }
        for (uint256 i = 0; i < weights.length; i++) {
            normalized[i] = uint16(weights[i] * 65535 / denominator);
        }
    }
}

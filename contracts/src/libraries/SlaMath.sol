// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SlaPolicy} from "../types/Usage.sol";

/// @title SlaMath
/// @notice The SLA credit formula, mirrored exactly by `contracts/ts/sla.ts`.
library SlaMath {
    uint256 internal constant BPS = 10_000;

    /// @notice Credit owed, in basis points of spend, for one measured window.
    /// @dev Every started step below the availability target counts in full ("or part thereof", as in
    ///      the usual SLA addendum); a TTFT breach adds a fixed credit; the sum is capped.
    function creditBps(SlaPolicy memory policy, uint256 requests, uint256 availabilityPpm, uint256 p95TtftMs)
        internal
        pure
        returns (uint256 bps)
    {
        if (requests < policy.minRequests) return 0;
        if (availabilityPpm < policy.availabilityTargetPpm) {
            uint256 shortfall = policy.availabilityTargetPpm - availabilityPpm;
            uint256 steps = (shortfall + policy.stepPpm - 1) / policy.stepPpm;
            bps = steps * policy.creditPerStepBps;
        }
        if (p95TtftMs > policy.ttftTargetMs) bps += policy.ttftCreditBps;
        if (bps > policy.capBps) bps = policy.capBps;
    }

    /// @notice Credit for one customer's spend at `bps`, rounded down.
    function credit(uint256 spend, uint256 bps) internal pure returns (uint256) {
        return (spend * bps) / BPS;
    }
}

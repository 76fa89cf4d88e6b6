// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title FixedWindow
/// @notice A running total that starts over every `length` seconds: the per-gateway caps on what a
///         (stolen) signer key can move, for batches in Settlement and credits in SlaCredits.
/// @dev A fixed window, not a rolling one: up to twice the cap can pass around a boundary
///      (documented in docs/protocol.md).
library FixedWindow {
    struct Window {
        uint40 start;
        uint96 used;
    }

    /// @notice Adds `amount` to the window (starting a new one when the current one is over) and
    ///         returns the new total; the caller compares it with its cap and reverts above it.
    function add(Window storage self, uint256 amount, uint256 length) internal returns (uint256 total) {
        if (block.timestamp >= uint256(self.start) + length) {
            self.start = uint40(block.timestamp);
            self.used = 0;
        }
        total = uint256(self.used) + amount;
        // Caps are uint96, so a total beyond uint96 is above any cap and the caller reverts.
        if (total <= type(uint96).max) self.used = uint96(total);
    }
}

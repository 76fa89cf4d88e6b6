// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice The part of EIP-3009 the escrow uses (implemented by Circle's USDC and TestUSDC).
interface IERC3009 {
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;
}

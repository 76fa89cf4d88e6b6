// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What SlaCredits calls on Settlement.
interface ISettlement {
    /// @notice The signer currently authorized for `gatewayId`, zero when unknown or revoked.
    function gatewaySigner(uint32 gatewayId) external view returns (address);

    /// @notice Book SLA credits already transferred to Settlement (from the provider's stake) into
    ///         the customers' escrow balances; `dust` left by pro-rata rounding goes to protocol fees.
    ///         Reverts when Settlement's USDC would no longer cover what it owes (credit not paid in).
    function creditSla(address provider, address[] calldata customers, uint256[] calldata amounts, uint256 dust)
        external;
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What Settlement and SlaCredits call on provider staking.
interface IProviderStaking {
    /// @notice Take up to `amount` of the provider's bonded and unbonding stake and send it to
    ///         `recipient`. Never reverts for lack of stake: pays what exists and jails the provider.
    /// @return paid The amount actually taken.
    function slash(address provider, uint256 amount, address recipient, bytes32 reason) external returns (uint256 paid);

    /// @notice Like `slash`, but takes only stake beyond what is locked (open disputes and unpaid SLA
    ///         arrears have priority: their stake was locked first). Never reverts for lack of
    ///         stake: pays what is unlocked and jails the provider if that is short.
    /// @return paid The amount actually taken.
    function slashUnlocked(address provider, uint256 amount, address recipient, bytes32 reason)
        external
        returns (uint256 paid);

    /// @notice Reserve stake against an open liability (a dispute, or SLA arrears) so it cannot be
    ///         withdrawn.
    function lock(address provider, uint256 amount) external;

    /// @notice Release a reservation made by `lock`.
    function unlock(address provider, uint256 amount) external;

    /// @notice Freeze or unfreeze an account's stake exits (unbond, withdraw); Settlement forwards
    ///         the guardian's `freeze`/`unfreeze` here.
    function setFrozen(address account, bool isFrozen) external;

    /// @notice Registered, not jailed and bonded at least the minimum stake: routable.
    function isActive(address provider) external view returns (bool);
}

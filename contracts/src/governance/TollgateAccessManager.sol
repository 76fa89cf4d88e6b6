// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";

/// @title TollgateAccessManager
/// @notice The one authority of every Tollgate contract (OpenZeppelin AccessManager). Roles:
///         GOVERNOR (parameter changes and signer rotation, with an execution delay), GUARDIAN
///         (pause, freeze, emergency signer revocation, no delay), ARBITER (resolves disputes) and
///         PROTOCOL (the contracts that may slash stake or book SLA credits). Role ids are in
///         `Roles` and in `contracts/ts/roles.ts`.
contract TollgateAccessManager is AccessManager {
    /// @param initialAdmin Holder of the manager's own admin role (a timelocked multisig in production).
    constructor(address initialAdmin) AccessManager(initialAdmin) {}
}

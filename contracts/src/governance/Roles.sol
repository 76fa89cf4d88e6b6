// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Roles
/// @notice AccessManager role ids, mirrored by `contracts/ts/roles.ts`. Role 0 is the manager's admin.
library Roles {
    uint64 internal constant GOVERNOR = 1;
    uint64 internal constant GUARDIAN = 2;
    uint64 internal constant ARBITER = 3;
    uint64 internal constant PROTOCOL = 4;
}

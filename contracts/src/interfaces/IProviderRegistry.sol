// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {UsageEntry} from "../types/Usage.sol";

/// @notice What the rest of the protocol reads from the provider registry.
interface IProviderRegistry {
    /// @notice Whether `provider` has registered a hardware profile.
    function isRegistered(address provider) external view returns (bool);

    /// @notice The provider a worker key belongs to, or zero.
    function providerOfWorker(address worker) external view returns (address);

    /// @notice Seconds after a price change during which the previous price still settles.
    function priceGrace() external view returns (uint40);

    /// @notice Raw price records at the given slots (see PriceBook.slotOf).
    function priceWords(bytes32[] calldata slots) external view returns (uint256[] memory words);

    /// @notice For each entry, whether its prices are at or below a price the provider publishes
    ///         for its model at `timestamp`. Bit i of word i/256 is set when entry i is acceptable.
    function acceptedPrices(UsageEntry[] calldata entries, uint256 timestamp)
        external
        view
        returns (uint256[] memory bitmap);
}

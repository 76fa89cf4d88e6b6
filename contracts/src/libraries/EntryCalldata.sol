// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {UsageEntry} from "../types/Usage.sol";

/// @title EntryCalldata
/// @notice Reads `UsageEntry` fields straight from a calldata array, without the ABI decoder's
///         per-access bounds and cleanliness checks. Settlement's per-entry loop is where batch gas
///         goes; the checks are done once per entry instead (`isClean`), before any entry is used.
/// @dev `UsageEntry` is eight static words, so `UsageEntry[] calldata` is the entries laid end to end,
///      entry i at `entries.offset + i * 0x100`, field k at word k. Why reading without checks is safe:
///      - bounds: Solidity checks, when the array is first taken from calldata (`batch.entries`), that
///        `offset + length * 0x100` lies within calldata; callers only pass `i < length`. A read past
///        calldata's end would return zeros in any case, never another call's data.
///      - cleanliness: `isClean` rejects any entry whose fields have bits above their declared width,
///        exactly what the ABI decoder would reject, so the values read are those the gateway signed.
library EntryCalldata {
    uint256 internal constant ENTRY_SIZE = 0x100;

    /// @notice Calldata offset of entry `i`. Caller guarantees `i < entries.length`.
    function at(UsageEntry[] calldata entries, uint256 i) internal pure returns (uint256 e) {
        assembly ("memory-safe") {
            e := add(entries.offset, mul(i, ENTRY_SIZE))
        }
    }

    /// @notice Whether every field of the entry at `e` fits its declared type (address, uint32,
    ///         uint64, uint48): what the ABI decoder checks before it lets a value through.
    function isClean(uint256 e) internal pure returns (bool clean) {
        assembly ("memory-safe") {
            let dirty := or(shr(160, calldataload(e)), shr(160, calldataload(add(e, 0x20))))
            dirty := or(dirty, shr(32, calldataload(add(e, 0x60))))
            dirty := or(dirty, or(shr(64, calldataload(add(e, 0x80))), shr(64, calldataload(add(e, 0xa0)))))
            dirty := or(dirty, or(shr(48, calldataload(add(e, 0xc0))), shr(48, calldataload(add(e, 0xe0)))))
            clean := iszero(dirty)
        }
    }

    // The readers below return typed values without masking them: they are only called for an
    // entry that `isClean` accepted, so every value already fits its type.

    function parties(uint256 e) internal pure returns (address customer, address provider) {
        assembly ("memory-safe") {
            customer := calldataload(e)
            provider := calldataload(add(e, 0x20))
        }
    }

    function providerAndModel(uint256 e) internal pure returns (address provider, bytes32 model) {
        assembly ("memory-safe") {
            provider := calldataload(add(e, 0x20))
            model := calldataload(add(e, 0x40))
        }
    }

    function tokens(uint256 e) internal pure returns (uint64 promptTokens, uint64 completionTokens) {
        assembly ("memory-safe") {
            promptTokens := calldataload(add(e, 0x80))
            completionTokens := calldataload(add(e, 0xa0))
        }
    }

    function prices(uint256 e) internal pure returns (uint48 promptPrice, uint48 completionPrice) {
        assembly ("memory-safe") {
            promptPrice := calldataload(add(e, 0xc0))
            completionPrice := calldataload(add(e, 0xe0))
        }
    }
}

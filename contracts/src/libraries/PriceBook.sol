// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title PriceBook
/// @notice Where ProviderRegistry keeps each (provider, model) price record, and the rule that says
///         whether a charged price is within the published one. Shared by ProviderRegistry (which
///         writes the records) and Settlement (which reads them for every batch entry in one call).
/// @dev The record is one packed word: promptPrice bits 0-47, completionPrice 48-95,
///      nextPromptPrice 96-143, nextCompletionPrice 144-191, nextEffectiveAt 192-231, listed
///      232-239, delistPending 240-247 (the layout of ProviderRegistry.ModelPrice). Its slot is
///      fixed (ERC-7201 style) so Settlement can name it without an ABI round trip per entry.
library PriceBook {
    /// @dev keccak256(abi.encode(uint256(keccak256("tollgate.registry.model-prices")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 internal constant BASE_SLOT = 0x924536100d52f3941998d57dacaa8dfc8308d6bf996f4729be574569590d7700;

    uint256 private constant MASK40 = type(uint40).max;
    uint256 private constant MASK48 = type(uint48).max;

    /// @notice Storage slot of a provider's price record for a model.
    function slotOf(address provider, bytes32 model) internal pure returns (bytes32 slot) {
        assembly ("memory-safe") {
            mstore(0x00, provider)
            mstore(0x20, BASE_SLOT)
            mstore(0x20, keccak256(0x00, 0x40))
            mstore(0x00, model)
            slot := keccak256(0x00, 0x40)
        }
    }

    /// @notice Whether charging `promptPrice`/`completionPrice` at `timestamp` stays within a price the
    ///         record publishes: the price in force, or the previous one for `grace` seconds after a
    ///         change took effect. A delisted model accepts only the previous price during the grace.
    function accepts(uint256 word, uint256 promptPrice, uint256 completionPrice, uint256 timestamp, uint256 grace)
        internal
        pure
        returns (bool)
    {
        if ((word >> 232) & 0xff == 0) return false; // never listed
        uint256 effectiveAt = (word >> 192) & MASK40;
        bool currentValid = effectiveAt == 0 || timestamp < effectiveAt + grace;
        if (currentValid && promptPrice <= word & MASK48 && completionPrice <= (word >> 48) & MASK48) return true;
        if (effectiveAt == 0 || timestamp < effectiveAt || (word >> 240) & 0xff != 0) return false;
        return promptPrice <= (word >> 96) & MASK48 && completionPrice <= (word >> 144) & MASK48;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title PriceMath
/// @notice The protocol's money arithmetic, mirrored exactly by `contracts/ts/price.ts`.
library PriceMath {
    /// @notice Prices are quoted per one million tokens, the market's usual unit.
    uint256 internal constant TOKENS_PER_PRICE_UNIT = 1_000_000;
    /// @notice Basis-point denominator.
    uint256 internal constant BPS = 10_000;

    /// @notice Charge for token counts at per-million prices, rounded down so that a customer is
    ///         never charged above the published price. Result in USDC base units.
    function charge(uint64 promptTokens, uint64 completionTokens, uint48 promptPrice, uint48 completionPrice)
        internal
        pure
        returns (uint256)
    {
        // The types prove the bound: two uint64 x uint48 products sum to less than 2^113, so the
        // arithmetic cannot overflow and runs unchecked (it is in Settlement's per-entry loop).
        unchecked {
            return (uint256(promptTokens) * promptPrice + uint256(completionTokens) * completionPrice)
                / TOKENS_PER_PRICE_UNIT;
        }
    }

    /// @notice Protocol fee on an amount, rounded down; the provider's credit is `amount - fee`,
    ///         so debits always equal credits plus fees exactly.
    function fee(uint128 amount, uint16 feeBps) internal pure returns (uint256) {
        // uint128 x uint16 is below 2^144: cannot overflow, so unchecked.
        unchecked {
            return (uint256(amount) * feeBps) / BPS;
        }
    }
}

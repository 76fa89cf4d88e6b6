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
    function charge(uint256 promptTokens, uint256 completionTokens, uint256 promptPrice, uint256 completionPrice)
        internal
        pure
        returns (uint256)
    {
        // uint64 counts times uint48 prices stay below 2^113: no overflow is possible here.
        return (promptTokens * promptPrice + completionTokens * completionPrice) / TOKENS_PER_PRICE_UNIT;
    }

    /// @notice Protocol fee on an amount, rounded down; the provider's credit is `amount - fee`,
    ///         so debits always equal credits plus fees exactly.
    function fee(uint256 amount, uint256 feeBps) internal pure returns (uint256) {
        return (amount * feeBps) / BPS;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice One aggregated line of a usage batch: all receipts of one customer with one provider for
///         one model at one price. The charge is computed on-chain from the token counts and the
///         price, and the price must not exceed the provider's published price (ProviderRegistry).
/// @dev EIP-712 type: Entry(address customer,address provider,bytes32 model,uint32 requests,
///      uint64 promptTokens,uint64 completionTokens,uint48 promptPrice,uint48 completionPrice).
///      Prices are USDC base units (6 decimals) per one million tokens.
struct UsageEntry {
    address customer;
    address provider;
    bytes32 model;
    uint32 requests;
    uint64 promptTokens;
    uint64 completionTokens;
    uint48 promptPrice;
    uint48 completionPrice;
}

/// @notice A gateway's signed usage batch.
/// @dev EIP-712 type: Batch(uint32 gatewayId,uint64 batchId,bytes32 receiptsRoot,uint32 receiptCount,
///      uint64 deadline,Entry[] entries) followed by the Entry type.
struct UsageBatch {
    uint32 gatewayId;
    uint64 batchId;
    bytes32 receiptsRoot;
    uint32 receiptCount;
    uint64 deadline;
    UsageEntry[] entries;
}

/// @notice What one customer spent with the reported provider during an SLA window.
struct CustomerSpend {
    address customer;
    uint96 spend;
}

/// @notice Measured service levels of one provider over one SLA window, signed by a gateway.
struct SlaReport {
    uint32 gatewayId;
    address provider;
    uint8 tier;
    uint64 windowStart;
    uint64 windowEnd;
    uint32 requests;
    uint32 availabilityPpm;
    uint32 p95TtftMs;
    uint64 deadline;
    CustomerSpend[] spends;
}

/// @notice The SLA promised for one tier and the credit owed when it is missed.
struct SlaPolicy {
    /// @dev Availability target in parts per million (999_000 = 99.9%).
    uint32 availabilityTargetPpm;
    /// @dev Width of one credit step below the target, ppm (1_000 = 0.1%).
    uint32 stepPpm;
    /// @dev p95 time-to-first-token target in milliseconds.
    uint32 ttftTargetMs;
    /// @dev Fewer requests than this in a window make the measurement meaningless: no credit.
    uint32 minRequests;
    /// @dev Credit per started step below the availability target, basis points of spend.
    uint16 creditPerStepBps;
    /// @dev Credit when p95 TTFT exceeds its target, basis points of spend.
    uint16 ttftCreditBps;
    /// @dev Maximum total credit, basis points of spend.
    uint16 capBps;
}

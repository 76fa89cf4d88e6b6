// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IProviderStaking} from "./interfaces/IProviderStaking.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";
import {FixedWindow} from "./libraries/FixedWindow.sol";
import {SlaMath} from "./libraries/SlaMath.sol";
import {CustomerSpend, SlaPolicy, SlaReport} from "./types/Usage.sol";

/// @title SlaCredits
/// @notice The published SLA per tier, and its enforcement: a gateway posts a signed report of a
///         provider's measured availability and p95 time-to-first-token over one SLA window, with
///         what each affected customer spent there; this contract computes each customer's credit
///         from the policy, takes it from the provider's stake and books it into the customer's
///         escrow. Short stake never reverts: what exists beyond the stake already locked (open
///         disputes, older arrears) is paid pro rata, the provider is jailed, and the unpaid rest
///         becomes the report's arrears: locked in ProviderStaking so the provider cannot withdraw
///         the stake that must pay it, and collected by anyone once stake is free (`collectArrears`).
/// @dev A gateway's windows for one provider never overlap (whatever the tier) and may reach back
///      at most MAX_REPORT_AGE. Credits are bounded by capBps of the reported spend, by
///      `maxCreditPerReport` and by `maxCreditPerPeriod` per gateway; the indexer re-derives the
///      reported spend from published receipts (docs/protocol.md).
contract SlaCredits is AccessManaged, Pausable, EIP712 {
    using FixedWindow for FixedWindow.Window;

    bytes32 public constant CUSTOMER_SPEND_TYPEHASH = keccak256("CustomerSpend(address customer,uint96 spend)");
    bytes32 public constant SLA_REPORT_TYPEHASH = keccak256(
        "SlaReport(uint32 gatewayId,address provider,uint8 tier,uint64 windowStart,uint64 windowEnd,uint32 requests,uint32 availabilityPpm,uint32 p95TtftMs,uint64 deadline,CustomerSpend[] spends)CustomerSpend(address customer,uint96 spend)"
    );
    /// @notice Most customers in one report, to bound its gas well under the per-tx cap.
    uint256 public constant MAX_SPENDS = 512;
    /// @notice Longest window one report may cover.
    uint64 public constant MAX_WINDOW = 31 days;
    /// @notice Highest credit any policy may promise: the whole spend.
    uint16 public constant MAX_CAP_BPS = 10_000;
    /// @notice Oldest window a report may cover: a week bounds how far back a (stolen) key can reach.
    uint64 public constant MAX_REPORT_AGE = 7 days;

    ISettlement public immutable settlement;
    IProviderStaking public immutable staking;

    /// @notice Most one report can take from a provider's stake, USDC base units (stolen-key bound).
    uint96 public maxCreditPerReport = 10_000e6;
    /// @notice Most one gateway's reports can take from stakes per credit period (stolen-key bound).
    uint96 public maxCreditPerPeriod = 25_000e6;
    /// @notice Length of the credit period, seconds.
    uint40 public creditPeriod = 1 days;

    mapping(uint8 tier => SlaPolicy) private _policies;
    mapping(bytes32 reportKey => bool) public reported;
    /// @notice End of the last window reported for a provider by a gateway. Windows never overlap,
    ///         whatever their tier, so the same time is never credited twice.
    mapping(uint32 gatewayId => mapping(address provider => uint64 windowEnd)) public lastWindowEnd;
    mapping(uint32 gatewayId => FixedWindow.Window) private _creditWindows;

    /// @dev What a report still owes because the provider's unlocked stake ran short: the total
    ///      (also locked in ProviderStaking) and the hash of abi.encode(customers, amounts), the
    ///      lists `ArrearsSet` published. Storing only the hash keeps a short report O(1) in storage.
    struct Arrears {
        address provider;
        uint96 owed;
        bytes32 listHash;
    }

    mapping(bytes32 reportKey => Arrears) private _arrears;
    /// @notice Sum of a provider's unpaid SLA credits over all reports; all of it is locked in
    ///         ProviderStaking (part of `stakeOf(provider).locked`).
    mapping(address provider => uint256) public arrearsOf;

    event SlaPolicySet(uint8 indexed tier, SlaPolicy policy);
    event MaxCreditPerReportSet(uint96 amount);
    event PeriodCapSet(uint96 maxCreditPerPeriod, uint40 creditPeriod);
    /// @notice What a report led to: the credit rate, the spend it applies to, the credit owed and
    ///         the credit paid (less than owed only when the provider's unlocked stake ran short).
    struct Outcome {
        uint256 creditBps;
        uint256 totalSpend;
        uint256 creditOwed;
        uint256 creditPaid;
    }

    event SlaReported(
        bytes32 indexed reportKey,
        uint32 indexed gatewayId,
        address indexed provider,
        uint8 tier,
        uint64 windowStart,
        uint64 windowEnd,
        uint32 requests,
        uint32 availabilityPpm,
        uint32 p95TtftMs,
        Outcome outcome
    );
    /// @notice A report's arrears are now `owed` in total, `customers[i]` being owed `amounts[i]`
    ///         (`owed` zero: paid off). Emitted whenever they change; `collectArrears` takes the
    ///         latest lists.
    event ArrearsSet(
        bytes32 indexed reportKey, address indexed provider, uint256 owed, address[] customers, uint256[] amounts
    );

    error UnknownGateway(uint32 gatewayId);
    error InvalidSignature();
    error ReportExpired(uint64 deadline);
    error AlreadyReported(bytes32 reportKey);
    error BadWindow(uint64 windowStart, uint64 windowEnd);
    error BadSpendCount(uint256 count);
    error UnknownTier(uint8 tier);
    error InvalidPolicy();
    error AvailabilityOutOfRange(uint32 availabilityPpm);
    error CreditAboveReportCap(uint256 credit, uint256 cap);
    error CreditAbovePeriodCap(uint256 owed, uint256 cap);
    error WindowOverlaps(uint64 windowStart, uint64 lastWindowEnd);
    error ReportTooOld(uint64 windowEnd);
    error ZeroCustomer();
    error ZeroPeriod();
    error NoArrears(bytes32 reportKey);
    error ArrearsMismatch(bytes32 reportKey);

    /// @param settlement_ Settlement (gateway signers, customer escrow).
    /// @param staking_ Provider staking (pays credits).
    /// @param authority The AccessManager.
    constructor(ISettlement settlement_, IProviderStaking staking_, address authority)
        AccessManaged(authority)
        EIP712("Tollgate SLA", "1")
    {
        settlement = settlement_;
        staking = staking_;
        // Default schedule of the market's usual SLA addendum: 99.9% availability, p95 TTFT 1.5 s,
        // 5% credit per 0.1% below target, 5% for a TTFT breach, capped at 25% of spend. A window
        // under 1,000 requests cannot resolve 0.1% of availability, so it earns no credit.
        SlaPolicy memory standard = SlaPolicy({
            availabilityTargetPpm: 999_000,
            stepPpm: 1_000,
            ttftTargetMs: 1_500,
            minRequests: 1_000,
            creditPerStepBps: 500,
            ttftCreditBps: 500,
            capBps: 2_500
        });
        for (uint8 tier; tier < 3; ++tier) {
            _setPolicy(tier, standard);
        }
    }

    /// @notice Submit a gateway-signed SLA report and pay the credits it implies. Anyone may submit.
    /// @param report The measured window and the customers' spend.
    /// @param signature The gateway signer's EIP-712 signature.
    function submitReport(SlaReport calldata report, bytes calldata signature) external whenNotPaused {
        address signer = settlement.gatewaySigner(report.gatewayId);
        if (signer == address(0)) revert UnknownGateway(report.gatewayId);
        if (block.timestamp > report.deadline) revert ReportExpired(report.deadline);
        if (
            report.windowEnd <= report.windowStart || report.windowEnd > block.timestamp
                || report.windowEnd - report.windowStart > MAX_WINDOW
        ) revert BadWindow(report.windowStart, report.windowEnd);
        if (report.windowEnd + MAX_REPORT_AGE < block.timestamp) revert ReportTooOld(report.windowEnd);
        if (report.availabilityPpm > 1_000_000) revert AvailabilityOutOfRange(report.availabilityPpm);
        uint256 n = report.spends.length;
        if (n > MAX_SPENDS) revert BadSpendCount(n);
        SlaPolicy memory policy = _policies[report.tier];
        if (policy.stepPpm == 0) revert UnknownTier(report.tier);

        if (!SignatureChecker.isValidSignatureNow(signer, _digest(report), signature)) revert InvalidSignature();
        bytes32 key = reportKey(report.gatewayId, report.provider, report.tier, report.windowStart);
        if (reported[key]) revert AlreadyReported(key);
        reported[key] = true;
        uint64 lastEnd = lastWindowEnd[report.gatewayId][report.provider];
        if (report.windowStart < lastEnd) revert WindowOverlaps(report.windowStart, lastEnd);
        lastWindowEnd[report.gatewayId][report.provider] = report.windowEnd;

        _announce(key, report, _pay(key, report, policy));
    }

    function _announce(bytes32 key, SlaReport calldata report, Outcome memory outcome) private {
        emit SlaReported(
            key,
            report.gatewayId,
            report.provider,
            report.tier,
            report.windowStart,
            report.windowEnd,
            report.requests,
            report.availabilityPpm,
            report.p95TtftMs,
            outcome
        );
    }

    /// @dev Computes each customer's credit, takes the total from stake into Settlement and books it.
    function _pay(bytes32 key, SlaReport calldata report, SlaPolicy memory policy) private returns (Outcome memory o) {
        o.creditBps = SlaMath.creditBps(policy, report.requests, report.availabilityPpm, report.p95TtftMs);
        (address[] memory customers, uint256[] memory credits, uint256 totalSpend, uint256 owed) =
            _credits(report.spends, o.creditBps);
        if (owed > maxCreditPerReport) revert CreditAboveReportCap(owed, maxCreditPerReport);
        _chargePeriod(report.gatewayId, owed);
        o.totalSpend = totalSpend;
        o.creditOwed = owed;
        if (owed == 0) return o;
        o.creditPaid = _collect(key, report.provider, customers, credits, owed);
    }

    /// @notice Pay a report's arrears from the provider's stake beyond its dispute locks (disputes
    ///         are still served first; between reports in arrears, the first collected is paid
    ///         first), pro rata when still short; what stays unpaid stays locked as the report's
    ///         arrears. Anyone may call it, for example on `StakeUnlocked` or `Staked`.
    /// @param key The report (`reportKey`).
    /// @param customers The customers of the report's latest `ArrearsSet`.
    /// @param amounts What each is still owed, from the same event.
    /// @return paid USDC base units taken from stake and booked into the customers' escrow.
    function collectArrears(bytes32 key, address[] calldata customers, uint256[] calldata amounts)
        external
        whenNotPaused
        returns (uint256 paid)
    {
        Arrears memory a = _arrears[key];
        if (a.owed == 0) revert NoArrears(key);
        if (keccak256(abi.encode(customers, amounts)) != a.listHash) revert ArrearsMismatch(key);
        // The provider's arrears are one pool behind the dispute locks: release all of their locks
        // so this report may take any stake beyond the disputes, then lock the other reports'
        // again. Releasing only its own would let two reports' locks each keep the other from
        // stake that exists, leaving it stuck and both unpaid.
        uint256 others = arrearsOf[a.provider] - a.owed;
        staking.unlock(a.provider, others + a.owed);
        arrearsOf[a.provider] = others;
        paid = _collect(key, a.provider, customers, amounts, a.owed);
        if (others != 0) staking.lock(a.provider, others);
    }

    /// @dev Takes `owed` (the sum of `amounts`) from the provider's unlocked stake into Settlement
    ///      and books it for the customers; when the stake is short, pays pro rata (rounding dust to
    ///      protocol fees, as always) and records the unpaid rest as the report's arrears, locked.
    function _collect(bytes32 key, address provider, address[] memory customers, uint256[] memory amounts, uint256 owed)
        private
        returns (uint256 paid)
    {
        // Stake locked for open disputes and older arrears is theirs (locked first): take only the rest.
        paid = staking.slashUnlocked(provider, owed, address(settlement), bytes32("sla"));
        if (paid == owed) {
            settlement.creditSla(provider, customers, amounts, 0);
            if (_arrears[key].owed != 0) _setArrears(key, provider, customers, amounts, 0);
            return paid;
        }
        uint256 n = amounts.length;
        uint256[] memory credits = new uint256[](n);
        uint256 distributed;
        uint256 unpaid;
        for (uint256 i; i < n; ++i) {
            credits[i] = (amounts[i] * paid) / owed; // rounded down: never more than was paid
            distributed += credits[i];
            amounts[i] -= credits[i];
            unpaid += amounts[i];
        }
        settlement.creditSla(provider, customers, credits, paid - distributed);
        staking.lock(provider, unpaid);
        arrearsOf[provider] += unpaid;
        _setArrears(key, provider, customers, amounts, unpaid);
    }

    function _setArrears(bytes32 key, address provider, address[] memory customers, uint256[] memory amounts, uint256 owed)
        private
    {
        if (owed == 0) {
            delete _arrears[key];
            (customers, amounts) = (new address[](0), new uint256[](0));
        } else {
            // owed <= the report's credit <= maxCreditPerReport, a uint96: the cast is exact.
            _arrears[key] = Arrears({
                provider: provider, owed: uint96(owed), listHash: keccak256(abi.encode(customers, amounts))
            });
        }
        emit ArrearsSet(key, provider, owed, customers, amounts);
    }

    /// @notice A report's unpaid credit: the provider and the total still owed (zero when none).
    function arrearsOfReport(bytes32 key) external view returns (address provider, uint256 owed) {
        Arrears memory a = _arrears[key];
        return (a.provider, a.owed);
    }

    /// @notice The credit, in basis points of spend, a measured window earns under a tier's policy.
    function creditBpsFor(uint8 tier, uint32 requests, uint32 availabilityPpm, uint32 p95TtftMs)
        external
        view
        returns (uint256)
    {
        return SlaMath.creditBps(_policies[tier], requests, availabilityPpm, p95TtftMs);
    }

    /// @notice A tier's SLA policy.
    function policyOf(uint8 tier) external view returns (SlaPolicy memory) {
        return _policies[tier];
    }

    /// @notice The id under which a report is accepted once.
    function reportKey(uint32 gatewayId, address provider, uint8 tier, uint64 windowStart)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(gatewayId, provider, tier, windowStart));
    }

    /// @notice Set a tier's SLA policy. Governor, delayed.
    function setPolicy(uint8 tier, SlaPolicy calldata policy) external restricted {
        _setPolicy(tier, policy);
    }

    /// @notice Set the most one report can take from stake. Governor, delayed.
    function setMaxCreditPerReport(uint96 amount) external restricted {
        maxCreditPerReport = amount;
        emit MaxCreditPerReportSet(amount);
    }

    /// @notice Set the per-gateway, per-period bound on credits. Governor, delayed.
    function setPeriodCap(uint96 maxCreditPerPeriod_, uint40 creditPeriod_) external restricted {
        if (creditPeriod_ == 0) revert ZeroPeriod();
        maxCreditPerPeriod = maxCreditPerPeriod_;
        creditPeriod = creditPeriod_;
        emit PeriodCapSet(maxCreditPerPeriod_, creditPeriod_);
    }

    /// @notice What a gateway's reports have taken in the current credit period.
    function creditWindowOf(uint32 gatewayId) external view returns (uint40 start, uint96 owed) {
        FixedWindow.Window memory w = _creditWindows[gatewayId];
        return (w.start, w.used);
    }

    /// @notice Halt SLA reports. Guardian.
    function pause() external restricted {
        _pause();
    }

    /// @notice Resume. Guardian.
    function unpause() external restricted {
        _unpause();
    }

    /// @dev Counts `owed` against the gateway's credit period, reverting above the cap.
    function _chargePeriod(uint32 gatewayId, uint256 owed) private {
        uint256 total = _creditWindows[gatewayId].add(owed, creditPeriod);
        if (total > maxCreditPerPeriod) revert CreditAbovePeriodCap(total, maxCreditPerPeriod);
    }

    function _setPolicy(uint8 tier, SlaPolicy memory policy) private {
        if (
            policy.stepPpm == 0 || policy.availabilityTargetPpm > 1_000_000 || policy.capBps > MAX_CAP_BPS
                || policy.creditPerStepBps > MAX_CAP_BPS || policy.ttftCreditBps > MAX_CAP_BPS
        ) revert InvalidPolicy();
        _policies[tier] = policy;
        emit SlaPolicySet(tier, policy);
    }

    function _credits(CustomerSpend[] calldata spends, uint256 bps)
        private
        pure
        returns (address[] memory customers, uint256[] memory credits, uint256 totalSpend, uint256 owed)
    {
        uint256 n = spends.length;
        customers = new address[](n);
        credits = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            if (spends[i].customer == address(0)) revert ZeroCustomer();
            customers[i] = spends[i].customer;
            credits[i] = SlaMath.credit(spends[i].spend, bps);
            totalSpend += spends[i].spend;
            owed += credits[i];
        }
    }

    function _digest(SlaReport calldata r) private view returns (bytes32) {
        uint256 n = r.spends.length;
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            hashes[i] = keccak256(abi.encode(CUSTOMER_SPEND_TYPEHASH, r.spends[i].customer, r.spends[i].spend));
        }
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    SLA_REPORT_TYPEHASH,
                    r.gatewayId,
                    r.provider,
                    r.tier,
                    r.windowStart,
                    r.windowEnd,
                    r.requests,
                    r.availabilityPpm,
                    r.p95TtftMs,
                    r.deadline,
                    keccak256(abi.encodePacked(hashes))
                )
            )
        );
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {PriceMath} from "../../src/libraries/PriceMath.sol";
import {SlaMath} from "../../src/libraries/SlaMath.sol";
import {SlaPolicy} from "../../src/types/Usage.sol";

/// @notice Stateless fuzz tests of the protocol's money arithmetic (PriceMath, SlaMath).
contract PriceMathFuzzTest is Test {
    uint256 internal constant MAX_FEE_BPS = 1_000; // Settlement.MAX_FEE_BPS

    /// @notice The charge never exceeds the exact price, and falls short of it by less than one unit.
    function testFuzz_charge_neverAboveExactPrice(uint64 pt, uint64 ct, uint48 pp, uint48 cp) public pure {
        uint256 charged = PriceMath.charge(pt, ct, pp, cp);
        uint256 exactMicro = uint256(pt) * pp + uint256(ct) * cp; // exact charge x 1e6
        assertLe(charged * 1e6, exactMicro, "charge above the exact price");
        assertGt((charged + 1) * 1e6, exactMicro, "charge rounded down by a whole unit or more");
    }

    /// @notice More tokens or higher prices never lower the charge.
    function testFuzz_charge_monotonic(
        uint64 pt,
        uint64 ct,
        uint48 pp,
        uint48 cp,
        uint64 dpt,
        uint64 dct,
        uint48 dpp,
        uint48 dcp
    ) public pure {
        uint64 pt2 = uint64(_up(pt, dpt, type(uint64).max));
        uint64 ct2 = uint64(_up(ct, dct, type(uint64).max));
        uint48 pp2 = uint48(_up(pp, dpp, type(uint48).max));
        uint48 cp2 = uint48(_up(cp, dcp, type(uint48).max));
        uint256 base = PriceMath.charge(pt, ct, pp, cp);
        assertGe(PriceMath.charge(pt2, ct, pp, cp), base, "more prompt tokens charged less");
        assertGe(PriceMath.charge(pt, ct2, pp, cp), base, "more completion tokens charged less");
        assertGe(PriceMath.charge(pt, ct, pp2, cp), base, "higher prompt price charged less");
        assertGe(PriceMath.charge(pt, ct, pp, cp2), base, "higher completion price charged less");
        assertGe(PriceMath.charge(pt2, ct2, pp2, cp2), base, "more of everything charged less");
    }

    /// @notice Splitting usage over entries never charges more than the aggregate would.
    function testFuzz_charge_splitNeverAboveAggregate(uint32 pt1, uint32 ct1, uint32 pt2, uint32 ct2, uint48 pp, uint48 cp)
        public
        pure
    {
        uint256 split = PriceMath.charge(pt1, ct1, pp, cp) + PriceMath.charge(pt2, ct2, pp, cp);
        uint256 whole = PriceMath.charge(uint64(pt1) + pt2, uint64(ct1) + ct2, pp, cp);
        assertLe(split, whole, "split usage charged more than the aggregate");
        assertLe(whole - split, 1, "splitting in two lost more than one unit");
    }

    /// @notice fee + credit == amount exactly, and fee <= amount * MAX_FEE_BPS / 1e4, for any fee rate
    ///         the contract accepts.
    function testFuzz_fee_conservesAndIsBounded(uint256 amount, uint256 feeBps) public pure {
        amount = _bound(amount, 0, type(uint128).max);
        feeBps = _bound(feeBps, 0, MAX_FEE_BPS);
        uint256 fee = PriceMath.fee(uint128(amount), uint16(feeBps));
        uint256 credit = amount - fee; // never underflows: checked arithmetic would revert
        assertEq(fee + credit, amount, "fee + credit != amount");
        assertLe(fee, amount * MAX_FEE_BPS / 1e4, "fee above amount * MAX_FEE_BPS / 1e4");
        assertLe(fee * 1e4, amount * feeBps, "fee rounded up");
        assertGt((fee + 1) * 1e4, amount * feeBps, "fee rounded down by a whole unit or more");
    }

    /// @notice The fee grows with the amount and with the rate.
    function testFuzz_fee_monotonic(uint256 a1, uint256 a2, uint256 b1, uint256 b2) public pure {
        a1 = _bound(a1, 0, type(uint128).max);
        a2 = _bound(a2, a1, type(uint128).max);
        b1 = _bound(b1, 0, MAX_FEE_BPS);
        b2 = _bound(b2, b1, MAX_FEE_BPS);
        assertLe(_fee(a1, b1), _fee(a2, b1), "larger amount, smaller fee");
        assertLe(_fee(a1, b1), _fee(a1, b2), "higher rate, smaller fee");
    }

    /// @dev Callers bound amount to uint128 and the rate to MAX_FEE_BPS first.
    function _fee(uint256 amount, uint256 feeBps) internal pure returns (uint256) {
        return PriceMath.fee(uint128(amount), uint16(feeBps));
    }

    function _up(uint256 x, uint256 d, uint256 max) internal pure returns (uint256) {
        return x + d % (max - x + 1);
    }
}

contract SlaMathFuzzTest is Test {
    uint256 internal constant MAX_CAP_BPS = 10_000; // SlaCredits.MAX_CAP_BPS

    /// @dev Any policy SlaCredits._setPolicy accepts.
    function _policy(uint32 target, uint32 step, uint32 ttft, uint32 minReq, uint16 perStep, uint16 ttftCredit, uint16 cap)
        internal
        pure
        returns (SlaPolicy memory p)
    {
        p.availabilityTargetPpm = uint32(target % 1_000_001);
        p.stepPpm = uint32(1 + step % 1_000_000);
        p.ttftTargetMs = ttft;
        p.minRequests = minReq % 100_000;
        p.creditPerStepBps = uint16(perStep % (MAX_CAP_BPS + 1));
        p.ttftCreditBps = uint16(ttftCredit % (MAX_CAP_BPS + 1));
        p.capBps = uint16(cap % (MAX_CAP_BPS + 1));
    }

    /// @notice The credit rate never exceeds the policy's cap, and equals the published step formula.
    function testFuzz_creditBps_neverAboveCap(
        uint32 target,
        uint32 step,
        uint32 ttftTarget,
        uint32 minReq,
        uint16 perStep,
        uint16 ttftCredit,
        uint16 cap,
        uint32 requests,
        uint32 avail,
        uint32 ttft
    ) public pure {
        SlaPolicy memory p = _policy(target, step, ttftTarget, minReq, perStep, ttftCredit, cap);
        avail = uint32(avail % 1_000_001);
        uint256 bps = SlaMath.creditBps(p, requests, avail, ttft);
        assertLe(bps, p.capBps, "credit rate above the cap");
        // Independent formula: every started step below target, plus the TTFT credit, capped.
        uint256 want;
        if (requests >= p.minRequests) {
            if (avail < p.availabilityTargetPpm) {
                uint256 shortfall = p.availabilityTargetPpm - avail;
                uint256 steps = shortfall / p.stepPpm + (shortfall % p.stepPpm == 0 ? 0 : 1);
                want = steps * p.creditPerStepBps;
            }
            if (ttft > p.ttftTargetMs) want += p.ttftCreditBps;
            if (want > p.capBps) want = p.capBps;
        }
        assertEq(bps, want, "credit rate differs from the published formula");
    }

    /// @notice A larger shortfall (lower availability) or a slower TTFT never earns a smaller credit.
    function testFuzz_creditBps_monotonic(
        uint32 target,
        uint32 step,
        uint32 ttftTarget,
        uint16 perStep,
        uint16 ttftCredit,
        uint16 cap,
        uint32 a1,
        uint32 a2,
        uint32 t1,
        uint32 t2
    ) public pure {
        SlaPolicy memory p = _policy(target, step, ttftTarget, 0, perStep, ttftCredit, cap);
        uint32 hi = uint32(a1 % 1_000_001);
        uint32 lo = uint32(a2 % (uint256(hi) + 1)); // lo <= hi: larger shortfall
        uint32 fast = t1;
        uint32 slow = uint32(uint256(t1) + t2 % (uint256(type(uint32).max) - t1 + 1));
        assertGe(SlaMath.creditBps(p, 1, lo, fast), SlaMath.creditBps(p, 1, hi, fast), "larger shortfall, smaller credit");
        assertGe(SlaMath.creditBps(p, 1, hi, slow), SlaMath.creditBps(p, 1, hi, fast), "slower TTFT, smaller credit");
    }

    /// @notice Meeting both targets, or too few requests to measure, earns nothing.
    function testFuzz_creditBps_zeroWhenMetOrUnmeasured(uint32 target, uint32 step, uint16 perStep, uint32 requests, uint32 avail)
        public
        pure
    {
        SlaPolicy memory p = _policy(target, step, 1_500, 1_000, perStep, 500, 2_500);
        uint32 met = uint32(uint256(p.availabilityTargetPpm) + avail % (1_000_001 - uint256(p.availabilityTargetPpm)));
        assertEq(SlaMath.creditBps(p, 10_000, met, 1_500), 0, "credit although the SLA was met");
        assertEq(SlaMath.creditBps(p, requests % 1_000, 0, type(uint32).max), 0, "credit on an unmeasurable window");
    }

    /// @notice A customer's credit never exceeds cap x spend, nor the spend itself.
    function testFuzz_credit_withinCapOfSpend(uint96 spend, uint16 cap, uint16 bps) public pure {
        cap = uint16(cap % (MAX_CAP_BPS + 1));
        bps = uint16(bps % (uint256(cap) + 1));
        uint256 c = SlaMath.credit(spend, bps);
        assertLe(c, uint256(spend) * cap / 1e4, "credit above cap x spend");
        assertLe(c, spend, "credit above spend");
    }
}

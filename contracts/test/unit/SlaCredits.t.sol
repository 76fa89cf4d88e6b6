// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {UnitHelpers} from "../utils/UnitHelpers.sol";
import {ProviderStaking} from "../../src/ProviderStaking.sol";
import {Settlement} from "../../src/Settlement.sol";
import {SlaCredits} from "../../src/SlaCredits.sol";
import {CustomerSpend, SlaPolicy, SlaReport, UsageBatch, UsageEntry} from "../../src/types/Usage.sol";

contract SlaCreditsTest is UnitHelpers {
    function setUp() public override {
        super.setUp();
        _provider(p, 1_000e6);
        _customer(c, 1e6);
    }

    function _submit(SlaReport memory r) internal {
        sla.submitReport(r, _signSla(r, gatewayKey));
    }

    function _report(uint32 availabilityPpm, uint32 p95TtftMs, uint96 spend) internal view returns (SlaReport memory) {
        return _slaReport(p, availabilityPpm, p95TtftMs, _spends1(c, spend));
    }

    function _key(SlaReport memory r) internal pure returns (bytes32) {
        return keccak256(abi.encode(r.gatewayId, r.provider, r.tier, r.windowStart));
    }

    function _assertBacked() internal view {
        assertEq(
            usdc.balanceOf(address(settlement)),
            settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees()
        );
        assertEq(usdc.balanceOf(address(staking)), staking.totalStaked());
    }

    function _bps(uint32 requests, uint32 availabilityPpm, uint32 p95TtftMs) internal view returns (uint256) {
        return sla.creditBpsFor(0, requests, availabilityPpm, p95TtftMs);
    }

    // ---------------------------------------------------------------- policy and formula

    function test_defaultPolicy_isStandardSlaForTiers0To2() public view {
        for (uint8 tier; tier < 3; ++tier) {
            SlaPolicy memory pol = sla.policyOf(tier);
            assertEq(pol.availabilityTargetPpm, 999_000);
            assertEq(pol.stepPpm, 1_000);
            assertEq(pol.ttftTargetMs, 1_500);
            assertEq(pol.minRequests, 1_000);
            assertEq(pol.creditPerStepBps, 500);
            assertEq(pol.ttftCreditBps, 500);
            assertEq(pol.capBps, 2_500);
        }
        assertEq(sla.policyOf(3).stepPpm, 0);
        assertEq(sla.maxCreditPerReport(), 10_000e6);
    }

    function test_creditBps_meetingTargets_isZero() public view {
        assertEq(_bps(10_000, 999_000, 1_500), 0);
        assertEq(_bps(10_000, 1_000_000, 0), 0);
    }

    function test_creditBps_anyStartedStep_countsInFull() public view {
        assertEq(_bps(10_000, 998_999, 1_500), 500); // 0.0001% short: one started step
        assertEq(_bps(10_000, 998_000, 1_500), 500); // exactly one step
        assertEq(_bps(10_000, 997_999, 1_500), 1_000); // into the second
        assertEq(_bps(10_000, 995_000, 1_500), 2_000); // four steps
    }

    function test_creditBps_ttftBreach_addsFivePercent() public view {
        assertEq(_bps(10_000, 999_000, 1_501), 500);
        assertEq(_bps(10_000, 997_500, 2_000), 1_500);
    }

    function test_creditBps_cappedAt25Percent() public view {
        assertEq(_bps(10_000, 994_001, 1_500), 2_500); // five steps
        assertEq(_bps(10_000, 994_000, 9_999), 2_500); // 6 steps + TTFT
        assertEq(_bps(10_000, 0, type(uint32).max), 2_500);
    }

    function test_creditBps_belowMinRequests_isZero() public view {
        assertEq(_bps(999, 0, 99_999), 0);
        assertEq(_bps(1_000, 0, 99_999), 2_500);
    }

    function test_setPolicy_byGovernor_changesFormulaAndAddsTier() public {
        SlaPolicy memory pol = SlaPolicy({
            availabilityTargetPpm: 999_900,
            stepPpm: 100,
            ttftTargetMs: 800,
            minRequests: 10,
            creditPerStepBps: 1_000,
            ttftCreditBps: 2_000,
            capBps: 10_000
        });
        vm.expectEmit(address(sla));
        emit SlaCredits.SlaPolicySet(3, pol);
        vm.prank(governor);
        sla.setPolicy(3, pol);
        assertEq(sla.policyOf(3).ttftTargetMs, 800);
        assertEq(sla.creditBpsFor(3, 10, 999_650, 801), 3 * 1_000 + 2_000); // 0.025% short: 3 started steps
        assertEq(sla.creditBpsFor(3, 10, 0, 801), 10_000);

        SlaReport memory r = _report(999_650, 801, 10e6);
        r.tier = 3;
        r.requests = 10;
        _submit(r);
        assertEq(_available(c), 1e6 + 5e6);
    }

    function _policy() internal pure returns (SlaPolicy memory) {
        return SlaPolicy({
            availabilityTargetPpm: 999_000,
            stepPpm: 1_000,
            ttftTargetMs: 1_500,
            minRequests: 1_000,
            creditPerStepBps: 500,
            ttftCreditBps: 500,
            capBps: 2_500
        });
    }

    function _expectInvalidPolicy(SlaPolicy memory pol) internal {
        vm.prank(governor);
        vm.expectRevert(SlaCredits.InvalidPolicy.selector);
        sla.setPolicy(0, pol);
    }

    function test_setPolicy_zeroStep_reverts() public {
        SlaPolicy memory pol = _policy();
        pol.stepPpm = 0;
        _expectInvalidPolicy(pol);
    }

    function test_setPolicy_targetAbove100Percent_reverts() public {
        SlaPolicy memory pol = _policy();
        pol.availabilityTargetPpm = 1_000_001;
        _expectInvalidPolicy(pol);
    }

    function test_setPolicy_capAboveWholeSpend_reverts() public {
        SlaPolicy memory pol = _policy();
        pol.capBps = 10_001;
        _expectInvalidPolicy(pol);
    }

    function test_setPolicy_stepCreditAboveWholeSpend_reverts() public {
        SlaPolicy memory pol = _policy();
        pol.creditPerStepBps = 10_001;
        _expectInvalidPolicy(pol);
    }

    function test_setPolicy_ttftCreditAboveWholeSpend_reverts() public {
        SlaPolicy memory pol = _policy();
        pol.ttftCreditBps = 10_001;
        _expectInvalidPolicy(pol);
    }

    function test_setPolicy_unauthorized_reverts() public {
        SlaPolicy memory pol = _policy();
        pol.capBps = 10_000;
        vm.prank(guardian);
        vm.expectRevert(_unauthorized(guardian));
        sla.setPolicy(0, pol);
        assertEq(sla.policyOf(0).capBps, 2_500);
    }

    // ---------------------------------------------------------------- submitReport: payouts

    function test_submitReport_missedSla_paysCreditFromStakeIntoEscrow() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6); // 2 steps + TTFT = 15%
        bytes32 key = _key(r);
        vm.expectEmit(address(staking));
        emit ProviderStaking.Slashed(p, 15e6, 15e6, address(settlement), bytes32("sla"));
        vm.expectEmit(address(settlement));
        emit Settlement.SlaCreditPaid(p, c, 15e6);
        vm.expectEmit(address(sla));
        emit SlaCredits.SlaReported(
            key,
            GATEWAY_ID,
            p,
            0,
            r.windowStart,
            r.windowEnd,
            10_000,
            997_500,
            2_000,
            SlaCredits.Outcome({creditBps: 1_500, totalSpend: 100e6, creditOwed: 15e6, creditPaid: 15e6})
        );
        vm.prank(stranger); // anyone may submit
        sla.submitReport(r, _signSla(r, gatewayKey));
        assertEq(_available(c), 16e6);
        assertEq(_bonded(p), 985e6);
        assertTrue(sla.reported(key));
        assertEq(sla.reportKey(GATEWAY_ID, p, 0, r.windowStart), key);
        assertFalse(_jailed(p));
        _assertBacked();
    }

    function test_submitReport_severalCustomers_eachCreditedOnOwnSpendRoundedDown() public {
        CustomerSpend[] memory spends = new CustomerSpend[](2);
        spends[0] = CustomerSpend({customer: c, spend: 333});
        spends[1] = CustomerSpend({customer: c2, spend: 1_000e6});
        _submit(_slaReport(p, 997_500, 2_000, spends)); // 15%
        assertEq(_available(c), 1e6 + 49); // 49.95 rounded down
        assertEq(_available(c2), 150e6);
        assertEq(_bonded(p), 1_000e6 - 150e6 - 49);
        _assertBacked();
    }

    function test_submitReport_slaMet_recordsWithoutMovingStake() public {
        SlaReport memory r = _report(999_500, 900, 100e6);
        _submit(r);
        assertTrue(sla.reported(_key(r)));
        assertEq(_bonded(p), 1_000e6);
        assertEq(_available(c), 1e6);
    }

    function test_submitReport_belowMinRequests_noCredit() public {
        SlaReport memory r = _report(0, 99_999, 100e6);
        r.requests = 999;
        _submit(r);
        assertEq(_bonded(p), 1_000e6);
        assertEq(_available(c), 1e6);
    }

    function test_submitReport_stakeShort_paysProRataDustToFeesAndJails() public {
        _provider(p2, 100e6);
        CustomerSpend[] memory spends = new CustomerSpend[](3);
        spends[0] = CustomerSpend({customer: c, spend: 1_000e6});
        spends[1] = CustomerSpend({customer: c2, spend: 1_000e6});
        spends[2] = CustomerSpend({customer: stranger, spend: 1_000e6});
        SlaReport memory r = _slaReport(p2, 0, 1_500, spends); // 25% each: 750 USDC owed, 100 staked
        vm.expectEmit(address(staking));
        emit ProviderStaking.Jailed(p2, 650e6);
        vm.expectEmit(address(sla));
        emit SlaCredits.SlaReported(
            _key(r),
            GATEWAY_ID,
            p2,
            0,
            r.windowStart,
            r.windowEnd,
            10_000,
            0,
            1_500,
            SlaCredits.Outcome({creditBps: 2_500, totalSpend: 3_000e6, creditOwed: 750e6, creditPaid: 100e6})
        );
        _submit(r);
        uint256 share = 33_333_333; // 250 * 100 / 750, rounded down
        assertEq(_available(c), 1e6 + share);
        assertEq(_available(c2), share);
        assertEq(_available(stranger), share);
        assertEq(settlement.protocolFees(), 100e6 - 3 * share); // 1 unit of dust
        assertEq(_bonded(p2), 0);
        assertTrue(_jailed(p2));
        assertFalse(staking.isActive(p2));
        _assertBacked();
    }

    /// @dev Stake locked for open disputes is theirs: the credit gets only the unlocked rest, the
    ///      provider is jailed for the shortfall, and the report still succeeds.
    function test_submitReport_stakeLockedByDisputes_paysOnlyUnlockedAndJails() public {
        vm.prank(address(settlement));
        staking.lock(p, 900e6); // an open dispute's claim on 900 of the 1,000 staked
        SlaReport memory r = _report(0, 1_500, 1_000e6); // 25%: 250 USDC owed
        vm.expectEmit(address(staking));
        emit ProviderStaking.Jailed(p, 150e6);
        vm.expectEmit(address(staking));
        emit ProviderStaking.Slashed(p, 250e6, 100e6, address(settlement), "sla");
        _submit(r);
        assertEq(_available(c), 1e6 + 100e6);
        assertEq(_bonded(p), 900e6, "the locked stake stays for the dispute");
        assertEq(_locked(p), 900e6 + 150e6, "the unpaid 150 is locked as the report's arrears");
        assertEq(sla.arrearsOf(p), 150e6);
        assertTrue(_jailed(p));
        _assertBacked();
    }

    // ---------------------------------------------------------------- arrears (audit A-01)

    /// @dev The shield: the provider, through a customer account of its own, disputes its own
    ///      usage so that an SLA credit finds its stake locked, then lets the dispute expire and
    ///      leaves with the stake. The unpaid credit must stay locked until it is paid.
    function _shieldedReport() internal returns (SlaReport memory r, uint256 disputeId) {
        address shill = makeAddr("shill");
        _customer(shill, 900e6);
        UsageBatch memory b = _settleOne(_entry(shill, p, 0, 1_500_000_000)); // 900 USDC at 0.6/token
        vm.prank(shill);
        disputeId = settlement.openDispute(
            Settlement.EntryRef({gatewayId: GATEWAY_ID, batchId: b.batchId, index: 0}),
            b.entries[0],
            _entryHashes(b.entries),
            900e6,
            "shield"
        );
        r = _report(0, 1_500, 1_000e6); // 25%: 250 USDC owed, 100 unlocked
        _submit(r);
    }

    function test_selfDisputeShield_providerCannotLeaveWithUnpaidCredit() public {
        (, uint256 disputeId) = _shieldedReport();
        assertEq(_available(c), 1e6 + 100e6, "paid what was unlocked");
        vm.startPrank(p);
        staking.unbond(_bonded(p));
        vm.stopPrank();
        vm.warp(settlement.disputeOf(disputeId).resolveBy);
        settlement.expireDispute(disputeId);
        vm.warp(block.timestamp + 14 days);
        vm.prank(p);
        staking.withdraw();
        assertEq(usdc.balanceOf(p), 750e6, "the provider withdrew the stake that owes 150 of unpaid credit");
        assertEq(_unbonding(p), 150e6);
        assertEq(_locked(p), 150e6);
    }

    function test_collectArrears_afterDisputeCloses_paysTheRest() public {
        (SlaReport memory r, uint256 disputeId) = _shieldedReport();
        bytes32 key = _key(r);
        (address owner, uint256 owed) = sla.arrearsOfReport(key);
        assertEq(owner, p);
        assertEq(owed, 150e6);
        assertEq(sla.arrearsOf(p), 150e6);
        assertEq(_locked(p), 900e6 + 150e6, "dispute lock plus arrears");
        assertTrue(_jailed(p));

        address[] memory cs = new address[](1);
        cs[0] = c;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 150e6;
        // While the dispute holds the stake, collecting pays nothing and keeps the arrears.
        assertEq(sla.collectArrears(key, cs, amounts), 0);
        assertEq(sla.arrearsOf(p), 150e6);
        assertEq(_locked(p), 1_050e6);

        vm.warp(settlement.disputeOf(disputeId).resolveBy);
        settlement.expireDispute(disputeId);
        vm.expectEmit(address(sla));
        emit SlaCredits.ArrearsSet(key, p, 0, new address[](0), new uint256[](0));
        vm.prank(stranger);
        assertEq(sla.collectArrears(key, cs, amounts), 150e6);
        assertEq(_available(c), 1e6 + 250e6, "the whole credit, in the end");
        assertEq(sla.arrearsOf(p), 0);
        assertEq(_locked(p), 0);
        assertEq(_bonded(p), 750e6);
        (, owed) = sla.arrearsOfReport(key);
        assertEq(owed, 0);
        _assertBacked();
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.NoArrears.selector, key));
        sla.collectArrears(key, cs, amounts);
    }

    function test_collectArrears_stillShort_paysProRataAndKeepsTheRestLocked() public {
        _provider(p2, 100e6);
        CustomerSpend[] memory spends = new CustomerSpend[](2);
        spends[0] = CustomerSpend({customer: c, spend: 1_000e6});
        spends[1] = CustomerSpend({customer: c2, spend: 600e6});
        SlaReport memory r = _slaReport(p2, 0, 1_500, spends); // 250 + 150 owed, 100 staked
        address[] memory cs = new address[](2);
        (cs[0], cs[1]) = (c, c2);
        uint256[] memory left = new uint256[](2);
        (left[0], left[1]) = (250e6 - 62_500_000, 150e6 - 37_500_000); // 1/4 paid
        vm.expectEmit(address(sla));
        emit SlaCredits.ArrearsSet(_key(r), p2, 300e6, cs, left);
        _submit(r);
        assertEq(_locked(p2), 300e6);
        assertEq(_available(c2), 37_500_000);

        // The provider tops up 150: the next collection pays half of what is left.
        usdc.mint(p2, 150e6);
        vm.startPrank(p2);
        usdc.approve(address(staking), 150e6);
        staking.stake(150e6);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.BelowMinStake.selector, 0, 100e6));
        staking.unjail();
        vm.stopPrank();
        assertEq(sla.collectArrears(_key(r), cs, left), 150e6);
        assertEq(_available(c), 1e6 + 62_500_000 + 93_750_000);
        assertEq(_available(c2), 37_500_000 + 56_250_000);
        assertEq(sla.arrearsOf(p2), 150e6);
        assertEq(_locked(p2), 150e6);
        assertEq(_bonded(p2), 0);
        _assertBacked();
    }

    /// @dev The worst case of a report: MAX_SPENDS customers, all new to escrow, paid short, so it
    ///      also books and publishes their arrears. It must fit Base's 16,777,216 gas per
    ///      transaction with the intrinsic 21,000 and the calldata (about 33 kB, under 350,000
    ///      gas). Measured: 15.02M before arrears, 15.83M with them (docs/audit.md A-15); the
    ///      gateway posts at most 256 customers per report.
    function test_submitReport_maxSpendsPaidShort_fitsTheTransactionGasCap() public {
        _provider(p2, 100e6);
        CustomerSpend[] memory spends = new CustomerSpend[](sla.MAX_SPENDS());
        for (uint256 i; i < spends.length; ++i) {
            spends[i] = CustomerSpend({customer: address(uint160(0x10000 + i)), spend: 10e6 + uint96(i)});
        }
        SlaReport memory r = _slaReport(p2, 0, 1_500, spends); // 25% of ~5,100 USDC owed, 100 staked
        bytes memory sig = _signSla(r, gatewayKey);
        uint256 before = gasleft();
        sla.submitReport(r, sig);
        uint256 used = before - gasleft();
        assertGt(sla.arrearsOf(p2), 0, "paid short");
        assertLt(used + 21_000 + 350_000, 16_777_216, "a full report paid short must fit one transaction");
    }

    /// @dev Two reports in arrears share the provider's stake: collecting one must be able to take
    ///      stake that only the other's lock holds, or stake stays stuck with both unpaid.
    function test_collectArrears_twoReports_leaveNoStakeStuck() public {
        _provider(p2, 0);
        SlaReport memory a = _slaReport(p2, 0, 1_500, _spends1(c, 1_000e6)); // 250 owed, nothing staked
        _submit(a);
        vm.warp(block.timestamp + 1 hours);
        SlaReport memory b = _slaReport(p2, 0, 1_500, _spends1(c2, 400e6)); // 100 owed
        _submit(b);
        assertEq(sla.arrearsOf(p2), 350e6);
        usdc.mint(p2, 300e6);
        vm.startPrank(p2);
        usdc.approve(address(staking), 300e6);
        staking.stake(300e6);
        vm.stopPrank();

        address[] memory cs = new address[](1);
        uint256[] memory owed = new uint256[](1);
        (cs[0], owed[0]) = (c, 250e6);
        assertEq(sla.collectArrears(_key(a), cs, owed), 250e6, "the first collected is paid first, in full");
        (cs[0], owed[0]) = (c2, 100e6);
        assertEq(sla.collectArrears(_key(b), cs, owed), 50e6, "the rest of the stake");
        assertEq(_bonded(p2), 0, "no stake stuck behind arrears");
        assertEq(sla.arrearsOf(p2), 50e6);
        assertEq(_locked(p2), 50e6);
        assertEq(_available(c), 1e6 + 250e6);
        assertEq(_available(c2), 50e6);
        _assertBacked();
    }

    function test_collectArrears_wrongList_reverts() public {
        (SlaReport memory r,) = _shieldedReport();
        address[] memory cs = new address[](1);
        cs[0] = stranger;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 150e6;
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.ArrearsMismatch.selector, _key(r)));
        sla.collectArrears(_key(r), cs, amounts);
        cs[0] = c;
        amounts[0] = 150e6 + 1;
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.ArrearsMismatch.selector, _key(r)));
        sla.collectArrears(_key(r), cs, amounts);
    }

    function test_collectArrears_whilePaused_reverts() public {
        (SlaReport memory r,) = _shieldedReport();
        vm.prank(guardian);
        sla.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        sla.collectArrears(_key(r), new address[](0), new uint256[](0));
    }

    function test_submitReport_stakeLockedBeyondStake_paysNothingWithoutReverting() public {
        vm.prank(address(settlement));
        staking.lock(p, 2_000e6);
        SlaReport memory r = _report(0, 1_500, 1_000e6);
        _submit(r);
        assertTrue(sla.reported(_key(r)));
        assertEq(_available(c), 1e6);
        assertEq(_bonded(p), 1_000e6);
        assertTrue(_jailed(p));
    }

    function test_submitReport_unstakedProvider_paysNothingWithoutReverting() public {
        _provider(p2, 0);
        SlaReport memory r = _slaReport(p2, 0, 1_500, _spends1(c, 100e6));
        _submit(r);
        assertTrue(sla.reported(_key(r)));
        assertEq(_available(c), 1e6);
        assertTrue(_jailed(p2));
    }

    function test_submitReport_creditAboveReportCap_reverts() public {
        vm.prank(governor);
        sla.setMaxCreditPerReport(15e6 - 1);
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        bytes memory sig = _signSla(r, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.CreditAboveReportCap.selector, 15e6, 15e6 - 1));
        sla.submitReport(r, sig);
        assertEq(_bonded(p), 1_000e6);
    }

    function test_submitReport_creditAtReportCap_pays() public {
        vm.expectEmit(address(sla));
        emit SlaCredits.MaxCreditPerReportSet(15e6);
        vm.prank(governor);
        sla.setMaxCreditPerReport(15e6);
        _submit(_report(997_500, 2_000, 100e6));
        assertEq(_available(c), 16e6);
    }

    function test_setMaxCreditPerReport_unauthorized_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        sla.setMaxCreditPerReport(type(uint96).max);
    }

    // ---------------------------------------------------------------- submitReport: refusals

    function test_submitReport_duplicate_reverts() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        bytes memory sig = _signSla(r, gatewayKey);
        sla.submitReport(r, sig);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.AlreadyReported.selector, _key(r)));
        sla.submitReport(r, sig);
        assertEq(_available(c), 16e6);
    }

    function test_submitReport_sameWindowDifferentSpends_reverts() public {
        _submit(_report(997_500, 2_000, 100e6));
        SlaReport memory again = _report(997_500, 2_000, 200e6);
        bytes memory sig = _signSla(again, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.AlreadyReported.selector, _key(again)));
        sla.submitReport(again, sig);
    }

    function test_submitReport_windowEndNotAfterStart_reverts() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        r.windowStart = r.windowEnd;
        bytes memory sig = _signSla(r, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.BadWindow.selector, r.windowStart, r.windowEnd));
        sla.submitReport(r, sig);
    }

    function test_submitReport_windowInFuture_reverts() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        r.windowEnd = uint64(block.timestamp + 1);
        bytes memory sig = _signSla(r, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.BadWindow.selector, r.windowStart, r.windowEnd));
        sla.submitReport(r, sig);
    }

    function test_submitReport_windowLongerThan31Days_reverts() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        r.windowStart = r.windowEnd - 31 days - 1;
        bytes memory sig = _signSla(r, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.BadWindow.selector, r.windowStart, r.windowEnd));
        sla.submitReport(r, sig);
        r.windowStart = r.windowEnd - 31 days;
        _submit(r);
        assertEq(_available(c), 16e6);
    }

    function test_submitReport_unknownTier_reverts() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        r.tier = 3;
        bytes memory sig = _signSla(r, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.UnknownTier.selector, uint8(3)));
        sla.submitReport(r, sig);
    }

    function test_submitReport_expired_reverts() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        bytes memory sig = _signSla(r, gatewayKey);
        vm.warp(uint256(r.deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.ReportExpired.selector, r.deadline));
        sla.submitReport(r, sig);
    }

    function test_submitReport_unknownGateway_reverts() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        r.gatewayId = 2;
        bytes memory sig = _signSla(r, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.UnknownGateway.selector, uint32(2)));
        sla.submitReport(r, sig);
    }

    function test_submitReport_revokedSigner_reverts() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        bytes memory sig = _signSla(r, gatewayKey);
        vm.prank(guardian);
        settlement.revokeGatewaySigner(GATEWAY_ID);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.UnknownGateway.selector, GATEWAY_ID));
        sla.submitReport(r, sig);
    }

    function test_submitReport_wrongKey_reverts() public {
        (, uint256 otherKey) = makeAddrAndKey("thief");
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        bytes memory sig = _signSla(r, otherKey);
        vm.expectRevert(SlaCredits.InvalidSignature.selector);
        sla.submitReport(r, sig);
    }

    function test_submitReport_spendRaisedAfterSigning_reverts() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        bytes memory sig = _signSla(r, gatewayKey);
        r.spends[0].spend = 1_000e6;
        vm.expectRevert(SlaCredits.InvalidSignature.selector);
        sla.submitReport(r, sig);
    }

    function test_submitReport_signedForSettlementDomain_reverts() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        // The same struct under Settlement's domain (another contract's name and address).
        bytes32 slaDigest = _slaDigest(r);
        bytes32 slaDomain = _domainSeparator("Tollgate SLA", address(sla));
        bytes32 otherDomain = _domainSeparator("Tollgate Settlement", address(settlement));
        assertTrue(slaDomain != otherDomain);
        bytes32 structHash = _slaStructHash(r);
        assertEq(slaDigest, keccak256(abi.encodePacked("\x19\x01", slaDomain, structHash)));
        bytes memory sig = _sig(gatewayKey, keccak256(abi.encodePacked("\x19\x01", otherDomain, structHash)));
        vm.expectRevert(SlaCredits.InvalidSignature.selector);
        sla.submitReport(r, sig);
    }

    function test_submitReport_availabilityAbove100Percent_reverts() public {
        SlaReport memory r = _report(1_000_001, 2_000, 100e6);
        bytes memory sig = _signSla(r, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.AvailabilityOutOfRange.selector, uint32(1_000_001)));
        sla.submitReport(r, sig);
    }

    function test_submitReport_tooManySpends_reverts() public {
        SlaReport memory r = _slaReport(p, 997_500, 2_000, new CustomerSpend[](513));
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.BadSpendCount.selector, 513));
        sla.submitReport(r, new bytes(65));
    }

    function test_submitReport_whilePaused_revertsUntilUnpaused() public {
        SlaReport memory r = _report(997_500, 2_000, 100e6);
        bytes memory sig = _signSla(r, gatewayKey);
        vm.expectEmit(address(sla));
        emit Pausable.Paused(guardian);
        vm.prank(guardian);
        sla.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        sla.submitReport(r, sig);
        vm.prank(guardian);
        sla.unpause();
        sla.submitReport(r, sig);
        assertEq(_available(c), 16e6);
    }

    function test_pause_unauthorized_reverts() public {
        vm.prank(governor);
        vm.expectRevert(_unauthorized(governor));
        sla.pause();
    }

    function test_unpause_unauthorized_reverts() public {
        vm.prank(guardian);
        sla.pause();
        vm.prank(p);
        vm.expectRevert(_unauthorized(p));
        sla.unpause();
    }
}

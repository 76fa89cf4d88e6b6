// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "../utils/Fixture.sol";
import {ProtocolSetup} from "./ProtocolInvariants.t.sol";
import {SlaReport, CustomerSpend} from "../../src/types/Usage.sol";
import {SlaCredits} from "../../src/SlaCredits.sol";

/// @title SlaAbuseInvariants
/// @notice Regression invariants for two holes the invariant suite found (and that are now fixed):
///         SLA credits kept flowing while Settlement was paused, and one signer key could credit the
///         same provider time again and again. Each has a deterministic twin in SlaAbuseScenarios.
contract SlaAbuseInvariants is ProtocolSetup {
    /// @dev SLA reports, pauses and time, with some staking so there is stake to take.
    function _actions() internal view override returns (bytes4[] memory s) {
        s = new bytes4[](8);
        s[0] = handler.submitSlaReport.selector;
        s[1] = handler.submitSlaReport.selector;
        s[2] = handler.submitSlaReport.selector;
        s[3] = handler.protocolGuardian.selector;
        s[4] = handler.protocolGuardian.selector;
        s[5] = handler.warp.selector;
        s[6] = handler.stake.selector;
        s[7] = handler.governance.selector;
    }

    /// @notice Pausing Settlement ("halt deposits, settlement and SLA credits") stops SLA credits.
    function invariant_slaCreditsHaltWhileSettlementPaused() public view {
        assertEq(handler.ghost_slaPaidWhileSettlementPaused(), 0, "SLA credits paid while Settlement was paused");
    }

    /// @notice The same provider's time is never credited twice (windows may not overlap, whatever the tier).
    function invariant_slaNeverPaysTwiceForTheSameTime() public view {
        assertEq(handler.ghost_slaPaidForOverlappingWindows(), 0, "SLA credit paid again for already credited time");
    }
}

/// @title SlaAbuseScenarios
/// @notice Deterministic reproductions of the two holes, now asserting the fix.
contract SlaAbuseScenarios is Fixture {
    address internal provider = makeAddr("provider");
    address internal customer = makeAddr("customer");

    function _spends(address who, uint96 spend) internal pure returns (CustomerSpend[] memory s) {
        s = new CustomerSpend[](1);
        s[0] = CustomerSpend(who, spend);
    }

    /// @notice A guardian pause of Settlement halts SLA credits: the report reverts, stake stays.
    function test_settlementPause_haltsSlaCredits() public {
        _provider(provider, 1_000e6);
        _customer(customer, 1e6);
        vm.prank(guardian);
        settlement.pause();
        // 99.75% availability and a TTFT breach: 15% of 100 USDC spend.
        SlaReport memory r = _slaReport(provider, 997_500, 2_000, _spends(customer, 100e6));
        bytes memory sig = _signSla(r, gatewayKey);
        vm.expectRevert();
        sla.submitReport(r, sig);
        (uint256 available,,) = settlement.accountOf(customer);
        (uint256 bonded,,,,) = staking.stakeOf(provider);
        assertEq(bonded, 1_000e6, "stake slashed while Settlement is paused");
        assertEq(available, 1e6, "SLA credit booked into escrow while Settlement is paused");
    }

    /// @notice Windows shifted by a second no longer pay again: a stolen key gets one report's cap.
    function test_overlappingSlaWindows_areRefused() public {
        _provider(provider, 50_000e6);
        address thief = makeAddr("thief"); // no deposit, no usage with this provider
        // 25% of 40,000 USDC "spend" = 10,000 USDC = maxCreditPerReport.
        CustomerSpend[] memory spends = _spends(thief, 40_000e6);
        SlaReport memory first = _slaReport(provider, 990_000, 5_000, spends);
        sla.submitReport(first, _signSla(first, gatewayKey));
        for (uint64 k = 1; k < 5; ++k) {
            SlaReport memory r = _slaReport(provider, 990_000, 5_000, spends);
            r.windowStart -= k;
            bytes memory sig = _signSla(r, gatewayKey);
            vm.expectRevert(abi.encodeWithSelector(SlaCredits.WindowOverlaps.selector, r.windowStart, first.windowEnd));
            sla.submitReport(r, sig);
        }
        (uint256 available,,) = settlement.accountOf(thief);
        assertEq(available, sla.maxCreditPerReport(), "one window credited more than one report's cap");
    }

    /// @notice The same window reported again under another tier is refused.
    function test_sameWindowInAnotherTier_isRefused() public {
        _provider(provider, 1_000e6);
        CustomerSpend[] memory spends = _spends(customer, 100e6);
        SlaReport memory r = _slaReport(provider, 997_500, 2_000, spends);
        sla.submitReport(r, _signSla(r, gatewayKey));
        for (uint8 tier = 1; tier < 3; ++tier) {
            SlaReport memory again = _slaReport(provider, 997_500, 2_000, spends);
            again.tier = tier;
            bytes memory sig = _signSla(again, gatewayKey);
            vm.expectRevert(abi.encodeWithSelector(SlaCredits.WindowOverlaps.selector, again.windowStart, r.windowEnd));
            sla.submitReport(again, sig);
        }
        (uint256 available,,) = settlement.accountOf(customer);
        assertEq(available, 15e6, "the same window was credited more than once");
    }

    /// @notice Many tiny back-to-back windows are bounded by the per-gateway credit period cap.
    function test_tinyBackToBackWindows_boundedByPeriodCap() public {
        _provider(provider, 100_000e6);
        address thief = makeAddr("thief");
        CustomerSpend[] memory spends = _spends(thief, 40_000e6); // 10,000 USDC of credit per report
        uint64 start = uint64(block.timestamp - 6 days);
        uint256 accepted;
        for (uint64 k; k < 5; ++k) {
            SlaReport memory r = _slaReport(provider, 990_000, 5_000, spends);
            r.windowStart = start + k * 60;
            r.windowEnd = start + (k + 1) * 60;
            bytes memory sig = _signSla(r, gatewayKey);
            try sla.submitReport(r, sig) {
                ++accepted;
            } catch (bytes memory err) {
                assertEq(bytes4(err), SlaCredits.CreditAbovePeriodCap.selector, "refused for another reason");
            }
        }
        (uint256 available,,) = settlement.accountOf(thief);
        assertEq(accepted, 2, "25,000 USDC per day allows two 10,000 USDC reports");
        assertLe(available, sla.maxCreditPerPeriod());
    }

    /// @notice A window older than MAX_REPORT_AGE is refused.
    function test_windowOlderThanMaxAge_isRefused() public {
        _provider(provider, 1_000e6);
        SlaReport memory r = _slaReport(provider, 997_500, 2_000, _spends(customer, 100e6));
        r.windowStart = uint64(block.timestamp - 8 days - 1 hours);
        r.windowEnd = uint64(block.timestamp - 8 days);
        bytes memory sig = _signSla(r, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(SlaCredits.ReportTooOld.selector, r.windowEnd));
        sla.submitReport(r, sig);
    }
}

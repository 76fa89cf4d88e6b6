// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {UnitHelpers} from "../utils/UnitHelpers.sol";
import {Roles} from "../../src/governance/Roles.sol";
import {TollgateAccessManager} from "../../src/governance/TollgateAccessManager.sol";
import {ProviderStaking} from "../../src/ProviderStaking.sol";
import {Settlement} from "../../src/Settlement.sol";
import {SlaReport, UsageBatch} from "../../src/types/Usage.sol";

/// @notice The AccessManager wiring as users meet it: a governor behind an execution delay must
///         schedule, wait, then execute; a guardian acts at once; a pause stops money coming in and
///         settling, but never a user's own exit.
contract GovernanceTest is UnitHelpers {
    uint32 internal constant GOV_DELAY = 2 days;
    address internal timelockedGovernor = makeAddr("timelocked-governor");

    function setUp() public override {
        super.setUp();
        manager.grantRole(Roles.GOVERNOR, timelockedGovernor, GOV_DELAY);
        _provider(p, 1_000e6);
        _customer(c, 100e6);
    }

    function _opId(bytes memory data) internal view returns (bytes32) {
        return manager.hashOperation(timelockedGovernor, address(settlement), data);
    }

    function _schedule(bytes memory data) internal returns (bytes32 id) {
        vm.prank(timelockedGovernor);
        (id,) = manager.schedule(address(settlement), data, 0);
    }

    function test_roles_matchLibrary() public view {
        (bool isGov, uint32 delay) = manager.hasRole(Roles.GOVERNOR, timelockedGovernor);
        assertTrue(isGov);
        assertEq(delay, GOV_DELAY);
        assertEq(Roles.GOVERNOR, 1);
        assertEq(Roles.GUARDIAN, 2);
        assertEq(Roles.ARBITER, 3);
        assertEq(Roles.PROTOCOL, 4);
        assertEq(manager.getTargetFunctionRole(address(settlement), Settlement.setFeeBps.selector), Roles.GOVERNOR);
        assertEq(
            manager.getTargetFunctionRole(address(settlement), Settlement.revokeGatewaySigner.selector), Roles.GUARDIAN
        );
        assertEq(manager.getTargetFunctionRole(address(staking), ProviderStaking.slash.selector), Roles.PROTOCOL);
        assertEq(manager.getTargetFunctionRole(address(staking), ProviderStaking.slashUnlocked.selector), Roles.PROTOCOL);
        assertEq(manager.getTargetFunctionRole(address(staking), ProviderStaking.setFrozen.selector), Roles.PROTOCOL);
        assertEq(
            manager.getTargetFunctionRole(address(settlement), Settlement.setDisputeResolutionPeriod.selector), Roles.GOVERNOR
        );
    }

    // ---------------------------------------------------------------- delayed governor

    function test_delayedGovernor_directCall_revertsNotScheduled() public {
        bytes memory data = abi.encodeCall(Settlement.setFeeBps, (500));
        bytes32 id = _opId(data);
        vm.prank(timelockedGovernor);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, id));
        settlement.setFeeBps(500);
        assertEq(settlement.feeBps(), 250);
    }

    function test_delayedGovernor_feeChange_scheduleWaitExecute() public {
        bytes memory data = abi.encodeCall(Settlement.setFeeBps, (500));
        bytes32 id = _schedule(data);
        assertEq(manager.getSchedule(id), block.timestamp + GOV_DELAY);

        vm.warp(block.timestamp + GOV_DELAY - 1);
        vm.prank(timelockedGovernor);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotReady.selector, id));
        manager.execute(address(settlement), data);
        assertEq(settlement.feeBps(), 250);

        vm.warp(block.timestamp + 1);
        vm.expectEmit(address(settlement));
        emit Settlement.FeeSet(500);
        vm.prank(timelockedGovernor);
        manager.execute(address(settlement), data);
        assertEq(settlement.feeBps(), 500);
        // Executed once: it cannot run again without a new schedule.
        vm.prank(timelockedGovernor);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, id));
        manager.execute(address(settlement), data);
    }

    function test_delayedGovernor_feeAboveMax_failsAtExecution() public {
        bytes memory data = abi.encodeCall(Settlement.setFeeBps, (1_001));
        _schedule(data);
        vm.warp(block.timestamp + GOV_DELAY);
        vm.prank(timelockedGovernor);
        vm.expectRevert(abi.encodeWithSelector(Settlement.FeeTooHigh.selector, uint16(1_001), uint16(1_000)));
        manager.execute(address(settlement), data);
        assertEq(settlement.feeBps(), 250);
    }

    function test_delayedGovernor_signerRotation_oldSignerWorksUntilExecuted() public {
        (address newSigner, uint256 newKey) = makeAddrAndKey("gateway-signer-2");
        bytes memory data = abi.encodeCall(Settlement.setGatewaySigner, (GATEWAY_ID, newSigner));
        _schedule(data);

        // During the delay the current signer keeps settling; the new one is not yet trusted.
        UsageBatch memory b0 = _batch(0, _one(_entry(c, p, 1_000_000, 0)));
        bytes memory early = _signBatch(b0, newKey);
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b0, early);
        _settle(b0);

        vm.warp(block.timestamp + GOV_DELAY);
        // Calling the target directly consumes the scheduled operation.
        vm.expectEmit(address(settlement));
        emit Settlement.GatewaySignerSet(GATEWAY_ID, newSigner);
        vm.prank(timelockedGovernor);
        settlement.setGatewaySigner(GATEWAY_ID, newSigner);
        assertEq(settlement.gatewaySigner(GATEWAY_ID), newSigner);

        UsageBatch memory b1 = _batch(1, _one(_entry(c, p, 1_000_000, 0)));
        bytes memory stale = _signBatch(b1, gatewayKey);
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b1, stale);
        settlement.settleBatch(b1, _signBatch(b1, newKey));
        assertEq(settlement.nextBatchId(GATEWAY_ID), 2);
    }

    function test_delayedGovernor_expiredOperation_reverts() public {
        bytes memory data = abi.encodeCall(Settlement.setFeeBps, (500));
        bytes32 id = _schedule(data);
        vm.warp(block.timestamp + GOV_DELAY + manager.expiration());
        vm.prank(timelockedGovernor);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerExpired.selector, id));
        manager.execute(address(settlement), data);
    }

    function test_delayedGovernor_canceledOperation_neverExecutes() public {
        bytes memory data = abi.encodeCall(Settlement.setFeeBps, (500));
        bytes32 id = _schedule(data);
        vm.prank(timelockedGovernor);
        manager.cancel(timelockedGovernor, address(settlement), data);
        vm.warp(block.timestamp + GOV_DELAY);
        vm.prank(timelockedGovernor);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerNotScheduled.selector, id));
        manager.execute(address(settlement), data);
    }

    function test_schedule_byNonGovernor_reverts() public {
        bytes memory data = abi.encodeCall(Settlement.setFeeBps, (0));
        vm.prank(guardian);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessManager.AccessManagerUnauthorizedCall.selector,
                guardian,
                address(settlement),
                Settlement.setFeeBps.selector
            )
        );
        manager.schedule(address(settlement), data, 0);
    }

    function test_guardian_revokesSignerAtOnceWhileGovernorIsDelayed() public {
        vm.prank(guardian);
        settlement.revokeGatewaySigner(GATEWAY_ID);
        UsageBatch memory b = _batch(0, _one(_entry(c, p, 1_000_000, 0)));
        bytes memory sig = _signBatch(b, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(Settlement.UnknownGateway.selector, GATEWAY_ID));
        settlement.settleBatch(b, sig);
    }

    function test_revokedGovernor_losesPowers() public {
        manager.revokeRole(Roles.GOVERNOR, governor);
        vm.prank(governor);
        vm.expectRevert(_unauthorized(governor));
        settlement.setFeeBps(0);
    }

    // ---------------------------------------------------------------- authority

    function test_setAuthority_byOutsider_reverts() public {
        address[4] memory targets = [address(registry), address(staking), address(settlement), address(sla)];
        for (uint256 i; i < 4; ++i) {
            vm.prank(governor);
            vm.expectRevert(_unauthorized(governor));
            IAccessManaged(targets[i]).setAuthority(address(manager));
        }
    }

    function test_updateAuthority_byAdmin_movesTarget() public {
        TollgateAccessManager next = new TollgateAccessManager(admin);
        manager.updateAuthority(address(settlement), address(next));
        assertEq(IAccessManaged(address(settlement)).authority(), address(next));
        // The old wiring no longer applies.
        vm.prank(governor);
        vm.expectRevert(_unauthorized(governor));
        settlement.setFeeBps(0);
    }

    function test_updateAuthority_byGovernor_reverts() public {
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(IAccessManager.AccessManagerUnauthorizedAccount.selector, governor, 0));
        manager.updateAuthority(address(settlement), governor);
    }

    // ---------------------------------------------------------------- pause: money in stops, exits go on

    function _pauseAll() internal {
        vm.startPrank(guardian);
        settlement.pause();
        staking.pause();
        sla.pause();
        vm.stopPrank();
    }

    function test_pause_stopsDepositsSettlementSlaAndStaking() public {
        usdc.mint(c, 1e6);
        vm.prank(c);
        usdc.approve(address(settlement), 1e6);
        UsageBatch memory b = _batch(0, _one(_entry(c, p, 1_000_000, 0)));
        bytes memory batchSig = _signBatch(b, gatewayKey);
        SlaReport memory r = _slaReport(p, 990_000, 2_000, _spends1(c, 10e6));
        bytes memory slaSig = _signSla(r, gatewayKey);
        usdc.mint(p, 1e6);
        vm.prank(p);
        usdc.approve(address(staking), 1e6);

        _pauseAll();

        vm.prank(c);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        settlement.deposit(1e6);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        settlement.settleBatch(b, batchSig);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        sla.submitReport(r, slaSig);
        vm.prank(p);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        staking.stake(1e6);
        assertEq(_available(c), 100e6);
        assertEq(_bonded(p), 1_000e6);
    }

    function test_pause_ownExitsStillWork() public {
        _settleOne(_entry(c, p, 1_000_000, 500_000));
        vm.prank(c);
        settlement.requestWithdrawal(50e6);
        vm.prank(p);
        staking.unbond(100e6);

        _pauseAll();
        vm.prank(p);
        staking.unbond(100e6); // starting an exit works under the pause too (restarts the delay)
        vm.warp(block.timestamp + 14 days); // past withdrawal delay, vesting and unbonding

        vm.prank(c);
        settlement.withdraw();
        assertEq(usdc.balanceOf(c), 50e6);
        vm.prank(p);
        settlement.claim();
        vm.prank(p);
        staking.withdraw();
        assertEq(usdc.balanceOf(p), 500_000 - 12_500 + 200e6);
    }
}

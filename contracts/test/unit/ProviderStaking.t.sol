// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {FeeOnTransferToken, UnitHelpers} from "../utils/UnitHelpers.sol";
import {ProviderStaking} from "../../src/ProviderStaking.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";

contract ProviderStakingTest is UnitHelpers {
    uint40 internal constant UNBONDING = 14 days;
    address internal treasury = makeAddr("treasury");

    function setUp() public override {
        super.setUp();
        _provider(p, 1_000e6);
    }

    function _fund(address who, uint256 amount) internal {
        usdc.mint(who, amount);
        vm.prank(who);
        usdc.approve(address(staking), amount);
    }

    function _unbond(uint256 amount) internal {
        vm.prank(p);
        staking.unbond(amount);
    }

    function _slash(uint256 amount) internal returns (uint256 paid) {
        vm.prank(address(settlement));
        paid = staking.slash(p, amount, treasury, "test");
    }

    function _lock(uint256 amount) internal {
        vm.prank(address(settlement));
        staking.lock(p, amount);
    }

    // ---------------------------------------------------------------- stake / stakeFor

    function test_defaults_matchDesign() public view {
        assertEq(staking.minStake(), 100e6);
        assertEq(staking.unbondingDelay(), UNBONDING);
        assertEq(staking.MIN_UNBONDING_DELAY(), 1 days);
        assertEq(address(staking.usdc()), address(usdc));
        assertEq(address(staking.registry()), address(registry));
    }

    function test_stake_registered_bondsAndPullsUsdc() public {
        _fund(p, 50e6);
        vm.expectEmit(address(staking));
        emit ProviderStaking.Staked(p, p, 50e6, 1_050e6);
        vm.prank(p);
        staking.stake(50e6);
        assertEq(_bonded(p), 1_050e6);
        assertEq(staking.totalStaked(), 1_050e6);
        assertEq(usdc.balanceOf(address(staking)), 1_050e6);
        assertEq(usdc.balanceOf(p), 0);
        assertTrue(staking.isActive(p));
    }

    function test_stake_zero_reverts() public {
        vm.prank(p);
        vm.expectRevert(ProviderStaking.ZeroAmount.selector);
        staking.stake(0);
    }

    function test_stake_unregistered_reverts() public {
        _fund(p2, 1e6);
        vm.prank(p2);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.NotRegistered.selector, p2));
        staking.stake(1e6);
    }

    function test_stake_whilePaused_reverts() public {
        _fund(p, 1e6);
        vm.prank(guardian);
        staking.pause();
        vm.prank(p);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        staking.stake(1e6);
    }

    function test_stake_withoutAllowance_reverts() public {
        usdc.mint(p, 1e6);
        vm.prank(p);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(staking), 0, 1e6)
        );
        staking.stake(1e6);
        assertEq(_bonded(p), 1_000e6);
    }

    function test_stakeFor_thirdParty_creditsProviderWithoutTouchingItsUnbondingLock() public {
        _unbond(100e6);
        (,, uint40 unlockBefore,,) = staking.stakeOf(p);
        vm.warp(block.timestamp + 3 days);
        _fund(stranger, 10e6);
        vm.expectEmit(address(staking));
        emit ProviderStaking.Staked(p, stranger, 10e6, 910e6);
        vm.prank(stranger);
        staking.stakeFor(p, 10e6);
        (uint256 bonded, uint256 unbonding, uint40 unlockAfter,,) = staking.stakeOf(p);
        assertEq(bonded, 910e6);
        assertEq(unbonding, 100e6);
        assertEq(unlockAfter, unlockBefore);
        assertEq(usdc.balanceOf(stranger), 0);
    }

    function test_stakeFor_unregisteredProvider_reverts() public {
        _fund(stranger, 1e6);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.NotRegistered.selector, p2));
        staking.stakeFor(p2, 1e6);
    }

    function test_stake_feeOnTransferToken_reverts() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        ProviderStaking fotStaking =
            new ProviderStaking(IERC20(address(fot)), IProviderRegistry(address(registry)), address(manager));
        fot.mint(p, 100e6);
        vm.startPrank(p);
        fot.approve(address(fotStaking), 100e6);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.UnsupportedToken.selector, 100e6, 99e6));
        fotStaking.stake(100e6);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- unbond / rebond / withdraw

    function test_unbond_movesBondedToUnbondingWithDelay() public {
        uint40 unlockAt = uint40(block.timestamp) + UNBONDING;
        vm.expectEmit(address(staking));
        emit ProviderStaking.UnbondStarted(p, 300e6, 300e6, unlockAt);
        _unbond(300e6);
        (uint256 bonded, uint256 unbonding, uint40 at,,) = staking.stakeOf(p);
        assertEq(bonded, 700e6);
        assertEq(unbonding, 300e6);
        assertEq(at, unlockAt);
        assertEq(staking.totalStaked(), 1_000e6);
    }

    function test_unbond_zero_reverts() public {
        vm.prank(p);
        vm.expectRevert(ProviderStaking.ZeroAmount.selector);
        staking.unbond(0);
    }

    function test_unbond_moreThanBonded_reverts() public {
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.InsufficientBonded.selector, 1_000e6 + 1, 1_000e6));
        staking.unbond(1_000e6 + 1);
    }

    /// @dev Unbonding is the provider's own exit: a pause must not trap it (the stake stays
    ///      slashable and locked for disputes all the same).
    function test_unbond_whilePaused_stillWorks() public {
        vm.prank(guardian);
        staking.pause();
        _unbond(300e6);
        (uint256 bonded, uint256 unbonding, uint40 at,,) = staking.stakeOf(p);
        assertEq(bonded, 700e6);
        assertEq(unbonding, 300e6);
        assertEq(at, block.timestamp + UNBONDING);
        // Still slashable while unbonding under the pause.
        assertEq(_slash(1_000e6), 1_000e6);
    }

    function test_unbond_whilePausedAndFrozen_reverts() public {
        vm.startPrank(guardian);
        staking.pause();
        settlement.freeze(p);
        vm.stopPrank();
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.AccountFrozen.selector, p));
        staking.unbond(1);
    }

    function test_unbond_again_restartsOwnLock() public {
        _unbond(100e6);
        vm.warp(block.timestamp + 10 days);
        _unbond(100e6);
        (, uint256 unbonding, uint40 at,,) = staking.stakeOf(p);
        assertEq(unbonding, 200e6);
        assertEq(at, uint40(block.timestamp) + UNBONDING);
    }

    function test_unbond_fallingBelowMinStake_deactivates() public {
        _unbond(901e6);
        assertFalse(staking.isActive(p));
    }

    function test_rebond_movesUnbondingBackKeepingUnlockTime() public {
        _unbond(300e6);
        (,, uint40 unlockAt,,) = staking.stakeOf(p);
        vm.warp(block.timestamp + 1 days);
        vm.expectEmit(address(staking));
        emit ProviderStaking.Rebonded(p, 100e6, 800e6);
        vm.prank(p);
        staking.rebond(100e6);
        (uint256 bonded, uint256 unbonding, uint40 at,,) = staking.stakeOf(p);
        assertEq(bonded, 800e6);
        assertEq(unbonding, 200e6);
        assertEq(at, unlockAt);
    }

    function test_rebond_zero_reverts() public {
        vm.prank(p);
        vm.expectRevert(ProviderStaking.ZeroAmount.selector);
        staking.rebond(0);
    }

    function test_rebond_moreThanUnbonding_reverts() public {
        _unbond(10e6);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.InsufficientUnbonding.selector, 10e6 + 1, 10e6));
        staking.rebond(10e6 + 1);
    }

    function test_rebond_whilePaused_reverts() public {
        _unbond(10e6);
        vm.prank(guardian);
        staking.pause();
        vm.prank(p);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        staking.rebond(10e6);
    }

    function test_withdraw_beforeDelay_reverts() public {
        _unbond(300e6);
        uint40 unlockAt = uint40(block.timestamp) + UNBONDING;
        vm.warp(unlockAt - 1);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.StillUnbonding.selector, unlockAt));
        staking.withdraw();
    }

    function test_withdraw_afterDelay_paysUnbonding() public {
        _unbond(300e6);
        vm.warp(block.timestamp + UNBONDING);
        vm.expectEmit(address(staking));
        emit ProviderStaking.StakeWithdrawn(p, 300e6);
        vm.prank(p);
        staking.withdraw();
        assertEq(usdc.balanceOf(p), 300e6);
        assertEq(_unbonding(p), 0);
        assertEq(_bonded(p), 700e6);
        assertEq(staking.totalStaked(), 700e6);
        assertEq(usdc.balanceOf(address(staking)), 700e6);
    }

    function test_withdraw_nothingUnbonding_reverts() public {
        vm.prank(p);
        vm.expectRevert(ProviderStaking.NothingToWithdraw.selector);
        staking.withdraw();
    }

    function test_withdraw_whilePaused_stillWorks() public {
        _unbond(300e6);
        vm.prank(guardian);
        staking.pause();
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(p);
        staking.withdraw();
        assertEq(usdc.balanceOf(p), 300e6);
    }

    // ---------------------------------------------------------------- freeze (through Settlement)

    function test_freeze_byGuardianOnSettlement_reachesStaking() public {
        vm.expectEmit(address(staking));
        emit ProviderStaking.Frozen(p);
        vm.prank(guardian);
        settlement.freeze(p);
        assertTrue(staking.frozen(p));
        vm.expectEmit(address(staking));
        emit ProviderStaking.Unfrozen(p);
        vm.prank(guardian);
        settlement.unfreeze(p);
        assertFalse(staking.frozen(p));
    }

    function test_frozenProvider_cannotUnbondOrWithdraw_untilUnfrozen() public {
        _unbond(300e6);
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(guardian);
        settlement.freeze(p);
        vm.startPrank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.AccountFrozen.selector, p));
        staking.withdraw();
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.AccountFrozen.selector, p));
        staking.unbond(100e6);
        vm.stopPrank();
        // Still slashable while frozen: the freeze holds the stake for whatever it owes.
        assertEq(_slash(100e6), 100e6);
        vm.prank(guardian);
        settlement.unfreeze(p);
        vm.prank(p);
        staking.withdraw();
        assertEq(usdc.balanceOf(p), 300e6);
    }

    function test_frozenProvider_canStillTopUp() public {
        vm.prank(guardian);
        settlement.freeze(p);
        _fund(p, 50e6);
        vm.prank(p);
        staking.stake(50e6);
        assertEq(_bonded(p), 1_050e6);
    }

    function test_setFrozen_directly_onlyProtocol() public {
        vm.prank(guardian); // the guardian freezes through Settlement, never here directly
        vm.expectRevert(_unauthorized(guardian));
        staking.setFrozen(p, true);
        vm.prank(p);
        vm.expectRevert(_unauthorized(p));
        staking.setFrozen(p, false);
        assertFalse(staking.frozen(p));
    }

    function test_withdrawable_reducedByDisputeLocksBeyondBonded() public {
        _unbond(600e6); // bonded 400, unbonding 600
        _lock(500e6); // 400 covered by bonded, 100 must stay in unbonding
        assertEq(staking.withdrawable(p), 500e6);
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(p);
        staking.withdraw();
        assertEq(usdc.balanceOf(p), 500e6);
        assertEq(_unbonding(p), 100e6);
        // With everything reserved, nothing more can leave.
        vm.prank(p);
        vm.expectRevert(ProviderStaking.NothingToWithdraw.selector);
        staking.withdraw();
    }

    function test_withdrawable_lockAboveAllStake_isZero() public {
        _unbond(1_000e6);
        _lock(2_000e6);
        assertEq(staking.withdrawable(p), 0);
    }

    // ---------------------------------------------------------------- slash / jail

    function test_slash_takesBondedFirst() public {
        _unbond(400e6); // bonded 600, unbonding 400
        vm.expectEmit(address(staking));
        emit ProviderStaking.Slashed(p, 500e6, 500e6, treasury, "test");
        uint256 paid = _slash(500e6);
        assertEq(paid, 500e6);
        assertEq(_bonded(p), 100e6);
        assertEq(_unbonding(p), 400e6);
        assertEq(usdc.balanceOf(treasury), 500e6);
        assertEq(staking.totalStaked(), 500e6);
        assertFalse(_jailed(p));
    }

    function test_slash_thenUnbonding_evenWhileUnbonding() public {
        _unbond(400e6); // bonded 600, unbonding 400
        uint256 paid = _slash(900e6);
        assertEq(paid, 900e6);
        assertEq(_bonded(p), 0);
        assertEq(_unbonding(p), 100e6);
        assertFalse(_jailed(p));
        assertFalse(staking.isActive(p));
    }

    function test_slash_moreThanStake_paysAllAndJails() public {
        vm.expectEmit(address(staking));
        emit ProviderStaking.Jailed(p, 500e6);
        vm.expectEmit(address(staking));
        emit ProviderStaking.Slashed(p, 1_500e6, 1_000e6, treasury, "test");
        uint256 paid = _slash(1_500e6);
        assertEq(paid, 1_000e6);
        assertTrue(_jailed(p));
        assertFalse(staking.isActive(p));
        assertEq(staking.totalStaked(), 0);
        assertEq(usdc.balanceOf(treasury), 1_000e6);
    }

    // ---------------------------------------------------------------- slashUnlocked (SLA credits)

    function _slashUnlocked(uint256 amount) internal returns (uint256 paid) {
        vm.prank(address(sla));
        paid = staking.slashUnlocked(p, amount, treasury, "sla");
    }

    function test_slashUnlocked_leavesDisputeLocksInPlace() public {
        _unbond(400e6); // bonded 600, unbonding 400
        _lock(700e6);
        assertEq(staking.unlockedStake(p), 300e6);
        vm.expectEmit(address(staking));
        emit ProviderStaking.Jailed(p, 200e6);
        vm.expectEmit(address(staking));
        emit ProviderStaking.Slashed(p, 500e6, 300e6, treasury, "sla");
        uint256 paid = _slashUnlocked(500e6);
        assertEq(paid, 300e6);
        assertTrue(_jailed(p));
        (uint256 b, uint256 u,,,) = staking.stakeOf(p);
        assertEq(b + u, 700e6, "the locked 700 must stay");
        assertEq(b, 300e6, "bonded first, as every slash");
        assertEq(usdc.balanceOf(treasury), 300e6);
    }

    function test_slashUnlocked_withinUnlocked_paysInFullWithoutJail() public {
        _lock(400e6);
        assertEq(_slashUnlocked(600e6), 600e6);
        assertFalse(_jailed(p));
        assertEq(_bonded(p), 400e6);
        assertEq(staking.unlockedStake(p), 0);
    }

    function test_slashUnlocked_allLocked_paysZeroAndJails() public {
        _lock(1_500e6);
        assertEq(staking.unlockedStake(p), 0);
        assertEq(_slashUnlocked(1e6), 0);
        assertTrue(_jailed(p));
        assertEq(_bonded(p), 1_000e6);
        assertEq(usdc.balanceOf(treasury), 0);
    }

    function test_slashUnlocked_unauthorized_reverts() public {
        vm.prank(guardian);
        vm.expectRevert(_unauthorized(guardian));
        staking.slashUnlocked(p, 1, guardian, "steal");
    }

    function test_slash_noStake_paysZeroWithoutReverting() public {
        _provider(p2, 0);
        vm.prank(address(settlement));
        uint256 paid = staking.slash(p2, 1e6, treasury, "test");
        assertEq(paid, 0);
        (,,, bool jailed,) = staking.stakeOf(p2);
        assertTrue(jailed);
        assertEq(usdc.balanceOf(treasury), 0);
    }

    function test_slash_unauthorized_reverts() public {
        vm.prank(governor);
        vm.expectRevert(_unauthorized(governor));
        staking.slash(p, 1, governor, "steal");
        vm.prank(p2);
        vm.expectRevert(_unauthorized(p2));
        staking.slash(p, 1, p2, "steal");
        assertEq(_bonded(p), 1_000e6);
    }

    function test_unjail_notJailed_reverts() public {
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.NotJailed.selector, p));
        staking.unjail();
    }

    function test_unjail_belowMinStake_reverts() public {
        _slash(1_000e6 + 1);
        _fund(p, 99e6);
        vm.prank(p);
        staking.stake(99e6);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.BelowMinStake.selector, 99e6, 100e6));
        staking.unjail();
    }

    function test_unjail_afterTopUp_reactivates() public {
        _slash(1_000e6 + 1);
        _fund(p, 100e6);
        vm.prank(p);
        staking.stake(100e6);
        assertFalse(staking.isActive(p));
        vm.expectEmit(address(staking));
        emit ProviderStaking.Unjailed(p);
        vm.prank(p);
        staking.unjail();
        assertTrue(staking.isActive(p));
    }

    /// @dev An SLA credit that found the stake locked jails the provider with its stake still
    ///      bonded: it must not walk out of jail on stake the disputes already hold.
    function test_unjail_lockedStakeDoesNotCount_untilToppedUpOrReleased() public {
        _lock(950e6);
        _slashUnlocked(100e6); // 50 unlocked: paid, jailed for the other 50
        assertTrue(_jailed(p));
        assertEq(_bonded(p), 950e6);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.BelowMinStake.selector, 0, 100e6));
        staking.unjail();
        _fund(p, 100e6);
        vm.prank(p);
        staking.stake(100e6);
        vm.prank(p);
        staking.unjail();
        assertFalse(_jailed(p));
    }

    function test_unjail_afterDisputeReleased_works() public {
        _lock(950e6);
        _slashUnlocked(100e6);
        vm.prank(address(settlement));
        staking.unlock(p, 950e6); // the dispute closed without taking stake
        vm.prank(p);
        staking.unjail();
        assertTrue(staking.isActive(p));
    }

    // ---------------------------------------------------------------- lock / unlock

    function test_lock_byProtocol_accumulates() public {
        vm.expectEmit(address(staking));
        emit ProviderStaking.StakeLocked(p, 5e6, 5e6);
        _lock(5e6);
        vm.expectEmit(address(staking));
        emit ProviderStaking.StakeLocked(p, 7e6, 12e6);
        _lock(7e6);
        assertEq(_locked(p), 12e6);
    }

    function test_unlock_byProtocol_releases() public {
        _lock(12e6);
        vm.expectEmit(address(staking));
        emit ProviderStaking.StakeUnlocked(p, 5e6, 7e6);
        vm.prank(address(settlement));
        staking.unlock(p, 5e6);
        assertEq(_locked(p), 7e6);
    }

    function test_unlock_moreThanLocked_reverts() public {
        _lock(5e6);
        vm.prank(address(settlement));
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.UnlockExceedsLocked.selector, 5e6 + 1, 5e6));
        staking.unlock(p, 5e6 + 1);
    }

    function test_lock_unauthorized_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        staking.lock(p, 1);
    }

    function test_unlock_unauthorized_reverts() public {
        _lock(5e6);
        vm.prank(p);
        vm.expectRevert(_unauthorized(p));
        staking.unlock(p, 5e6);
        assertEq(_locked(p), 5e6);
    }

    // ---------------------------------------------------------------- isActive

    function test_isActive_requiresRegistrationMinStakeAndNoJail() public {
        assertTrue(staking.isActive(p));
        assertFalse(staking.isActive(p2)); // unregistered, no stake
        _provider(p2, 99e6);
        assertFalse(staking.isActive(p2)); // below the minimum
    }

    // ---------------------------------------------------------------- governance

    function test_setMinStake_byGovernor_changesRoutability() public {
        vm.expectEmit(address(staking));
        emit ProviderStaking.MinStakeSet(2_000e6);
        vm.prank(governor);
        staking.setMinStake(2_000e6);
        assertEq(staking.minStake(), 2_000e6);
        assertFalse(staking.isActive(p));
    }

    function test_setMinStake_unauthorized_reverts() public {
        vm.prank(p);
        vm.expectRevert(_unauthorized(p));
        staking.setMinStake(0);
    }

    function test_setUnbondingDelay_byGovernor_appliesToNewUnbonds() public {
        _unbond(100e6);
        (,, uint40 oldUnlock,,) = staking.stakeOf(p);
        vm.expectEmit(address(staking));
        emit ProviderStaking.UnbondingDelaySet(2 days);
        vm.prank(governor);
        staking.setUnbondingDelay(2 days);
        (,, uint40 unchanged,,) = staking.stakeOf(p);
        assertEq(unchanged, oldUnlock);
        _unbond(100e6);
        (,, uint40 newUnlock,,) = staking.stakeOf(p);
        assertEq(newUnlock, block.timestamp + 2 days);
    }

    function test_setUnbondingDelay_belowMinimum_reverts() public {
        vm.prank(governor);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderStaking.DelayTooShort.selector, uint40(1 days - 1), uint40(1 days))
        );
        staking.setUnbondingDelay(1 days - 1);
    }

    function test_setUnbondingDelay_unauthorized_reverts() public {
        vm.prank(guardian);
        vm.expectRevert(_unauthorized(guardian));
        staking.setUnbondingDelay(2 days);
    }

    function test_pause_byGuardian_andUnpause() public {
        vm.expectEmit(address(staking));
        emit Pausable.Paused(guardian);
        vm.prank(guardian);
        staking.pause();
        assertTrue(staking.paused());
        vm.expectEmit(address(staking));
        emit Pausable.Unpaused(guardian);
        vm.prank(guardian);
        staking.unpause();
        assertFalse(staking.paused());
        _unbond(1e6);
        assertEq(_unbonding(p), 1e6);
    }

    function test_pause_unauthorized_reverts() public {
        vm.prank(governor);
        vm.expectRevert(_unauthorized(governor));
        staking.pause();
    }

    function test_unpause_unauthorized_reverts() public {
        vm.prank(guardian);
        staking.pause();
        vm.prank(p);
        vm.expectRevert(_unauthorized(p));
        staking.unpause();
    }
}

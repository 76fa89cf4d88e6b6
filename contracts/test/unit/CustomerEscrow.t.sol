// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {FeeOnTransferToken, UnitHelpers} from "../utils/UnitHelpers.sol";
import {CustomerEscrow} from "../../src/escrow/CustomerEscrow.sol";
import {Settlement} from "../../src/Settlement.sol";
import {TestUSDC} from "../../src/token/TestUSDC.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {IProviderStaking} from "../../src/interfaces/IProviderStaking.sol";

/// @notice CustomerEscrow through Settlement (it is abstract and Settlement is its only deployment).
contract CustomerEscrowTest is UnitHelpers {
    uint40 internal constant DELAY = 24 hours;
    bytes32 internal constant AUTH_NONCE = keccak256("deposit-1");

    address internal alice;
    uint256 internal aliceKey;

    function setUp() public override {
        super.setUp();
        (alice, aliceKey) = makeAddrAndKey("alice");
    }

    function _fundAndApprove(address who, uint256 amount) internal {
        usdc.mint(who, amount);
        vm.prank(who);
        usdc.approve(address(settlement), amount);
    }

    function _pause() internal {
        vm.prank(guardian);
        settlement.pause();
    }

    // ---------------------------------------------------------------- deposit / depositFor

    function test_deposit_creditsCallerAvailable() public {
        _fundAndApprove(c, 100e6);
        vm.expectEmit(address(settlement));
        emit CustomerEscrow.Deposited(c, c, 100e6);
        vm.prank(c);
        settlement.deposit(100e6);
        (uint256 available, uint256 pending, uint40 unlockAt) = settlement.accountOf(c);
        assertEq(available, 100e6);
        assertEq(pending, 0);
        assertEq(unlockAt, 0);
        assertEq(settlement.totalEscrowed(), 100e6);
        assertEq(usdc.balanceOf(address(settlement)), 100e6);
        assertEq(usdc.balanceOf(c), 0);
    }

    function test_deposit_zero_reverts() public {
        vm.prank(c);
        vm.expectRevert(CustomerEscrow.ZeroAmount.selector);
        settlement.deposit(0);
    }

    function test_deposit_whilePaused_reverts() public {
        _fundAndApprove(c, 1e6);
        _pause();
        vm.prank(c);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        settlement.deposit(1e6);
    }

    function test_depositFor_creditsOtherCustomerFromPayer() public {
        _fundAndApprove(stranger, 40e6);
        vm.expectEmit(address(settlement));
        emit CustomerEscrow.Deposited(c, stranger, 40e6);
        vm.prank(stranger);
        settlement.depositFor(c, 40e6);
        assertEq(_available(c), 40e6);
        assertEq(_available(stranger), 0);
        assertEq(usdc.balanceOf(stranger), 0);
    }

    function test_depositFor_zeroAddress_reverts() public {
        _fundAndApprove(stranger, 1e6);
        vm.prank(stranger);
        vm.expectRevert(CustomerEscrow.ZeroAddress.selector);
        settlement.depositFor(address(0), 1e6);
    }

    function test_depositFor_whilePaused_reverts() public {
        _fundAndApprove(stranger, 1e6);
        _pause();
        vm.prank(stranger);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        settlement.depositFor(c, 1e6);
    }

    function test_deposit_feeOnTransferToken_reverts() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        Settlement fotSettlement = new Settlement(
            IERC20(address(fot)),
            IProviderRegistry(address(registry)),
            IProviderStaking(address(staking)),
            address(manager),
            DISPUTE_WINDOW
        );
        fot.mint(c, 100e6);
        vm.startPrank(c);
        fot.approve(address(fotSettlement), 100e6);
        vm.expectRevert(abi.encodeWithSelector(CustomerEscrow.UnsupportedToken.selector, 100e6, 99e6));
        fotSettlement.deposit(100e6);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- depositWithPermit

    function test_depositWithPermit_validPermit_creditsCustomer() public {
        usdc.mint(alice, 50e6);
        uint256 deadline = block.timestamp + 10 minutes;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, address(settlement), 50e6, deadline);
        vm.expectEmit(address(settlement));
        emit CustomerEscrow.Deposited(alice, alice, 50e6);
        vm.prank(alice);
        settlement.depositWithPermit(alice, 50e6, deadline, v, r, s);
        assertEq(_available(alice), 50e6);
        assertEq(usdc.balanceOf(alice), 0);
        assertEq(usdc.nonces(alice), 1);
    }

    function test_depositWithPermit_forOtherCustomer_creditsThem() public {
        usdc.mint(alice, 50e6);
        uint256 deadline = block.timestamp + 10 minutes;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, address(settlement), 50e6, deadline);
        vm.prank(alice);
        settlement.depositWithPermit(c, 50e6, deadline, v, r, s);
        assertEq(_available(c), 50e6);
        assertEq(_available(alice), 0);
    }

    function test_depositWithPermit_frontRunPermit_stillSucceeds() public {
        usdc.mint(alice, 50e6);
        uint256 deadline = block.timestamp + 10 minutes;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, address(settlement), 50e6, deadline);
        // A mempool watcher submits the permit first: the signature is now spent.
        vm.prank(stranger);
        usdc.permit(alice, address(settlement), 50e6, deadline, v, r, s);
        vm.prank(alice);
        settlement.depositWithPermit(alice, 50e6, deadline, v, r, s);
        assertEq(_available(alice), 50e6);
        assertEq(usdc.allowance(alice, address(settlement)), 0);
    }

    function test_depositWithPermit_badPermitAndNoAllowance_reverts() public {
        usdc.mint(alice, 50e6);
        uint256 deadline = block.timestamp + 10 minutes;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, address(settlement), 50e6, deadline);
        // Someone else submitting alice's permit as their own deposit: the permit is not theirs.
        usdc.mint(stranger, 50e6);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(settlement), 0, 50e6)
        );
        settlement.depositWithPermit(stranger, 50e6, deadline, v, r, s);
        assertEq(usdc.balanceOf(alice), 50e6);
    }

    function test_depositWithPermit_whilePaused_reverts() public {
        usdc.mint(alice, 50e6);
        uint256 deadline = block.timestamp + 10 minutes;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, address(settlement), 50e6, deadline);
        _pause();
        vm.prank(alice);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        settlement.depositWithPermit(alice, 50e6, deadline, v, r, s);
    }

    // ---------------------------------------------------------------- depositWithAuthorization (EIP-3009)

    function _signReceive(uint256 value) internal view returns (uint8, bytes32, bytes32) {
        return vm.sign(
            aliceKey,
            _authDigest(
                usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
                alice,
                address(settlement),
                value,
                0,
                block.timestamp + 1 hours,
                AUTH_NONCE
            )
        );
    }

    function test_depositWithAuthorization_byRelayer_creditsSigner() public {
        usdc.mint(alice, 30e6);
        (uint8 v, bytes32 r, bytes32 s) = _signReceive(30e6);
        uint256 validBefore = block.timestamp + 1 hours;
        vm.expectEmit(address(settlement));
        emit CustomerEscrow.Deposited(alice, alice, 30e6);
        vm.prank(stranger);
        settlement.depositWithAuthorization(alice, 30e6, 0, validBefore, AUTH_NONCE, v, r, s);
        assertEq(_available(alice), 30e6);
        assertEq(_available(stranger), 0);
        assertEq(usdc.balanceOf(alice), 0);
        assertTrue(usdc.authorizationState(alice, AUTH_NONCE));
    }

    function test_depositWithAuthorization_otherFrom_cannotRedirect() public {
        usdc.mint(alice, 30e6);
        usdc.mint(stranger, 30e6);
        (uint8 v, bytes32 r, bytes32 s) = _signReceive(30e6);
        uint256 validBefore = block.timestamp + 1 hours;
        // The relayer names itself as `from` to get the credit: alice's signature does not match.
        vm.prank(stranger);
        vm.expectRevert(TestUSDC.InvalidAuthorizationSignature.selector);
        settlement.depositWithAuthorization(stranger, 30e6, 0, validBefore, AUTH_NONCE, v, r, s);
        assertEq(usdc.balanceOf(alice), 30e6);
        assertEq(usdc.balanceOf(stranger), 30e6);
    }

    function test_depositWithAuthorization_frontRunOnToken_cannotMoveFundsUnaccounted() public {
        usdc.mint(alice, 30e6);
        (uint8 v, bytes32 r, bytes32 s) = _signReceive(30e6);
        uint256 validBefore = block.timestamp + 1 hours;
        // Submitting it straight to the token: only the payee (the escrow) may.
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.CallerMustBePayee.selector, stranger, address(settlement)));
        usdc.receiveWithAuthorization(alice, address(settlement), 30e6, 0, validBefore, AUTH_NONCE, v, r, s);
        // Nor as a transferWithAuthorization (different typehash).
        vm.prank(stranger);
        vm.expectRevert(TestUSDC.InvalidAuthorizationSignature.selector);
        usdc.transferWithAuthorization(alice, address(settlement), 30e6, 0, validBefore, AUTH_NONCE, v, r, s);
        // The genuine deposit still goes through and is credited.
        settlement.depositWithAuthorization(alice, 30e6, 0, validBefore, AUTH_NONCE, v, r, s);
        assertEq(_available(alice), 30e6);
    }

    function test_depositWithAuthorization_replayed_reverts() public {
        usdc.mint(alice, 60e6);
        (uint8 v, bytes32 r, bytes32 s) = _signReceive(30e6);
        uint256 validBefore = block.timestamp + 1 hours;
        settlement.depositWithAuthorization(alice, 30e6, 0, validBefore, AUTH_NONCE, v, r, s);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationAlreadyUsed.selector, alice, AUTH_NONCE));
        settlement.depositWithAuthorization(alice, 30e6, 0, validBefore, AUTH_NONCE, v, r, s);
        assertEq(_available(alice), 30e6);
    }

    function test_depositWithAuthorization_zero_reverts() public {
        vm.expectRevert(CustomerEscrow.ZeroAmount.selector);
        settlement.depositWithAuthorization(alice, 0, 0, block.timestamp + 1, AUTH_NONCE, 27, bytes32(0), bytes32(0));
    }

    function test_depositWithAuthorization_whilePaused_reverts() public {
        usdc.mint(alice, 30e6);
        (uint8 v, bytes32 r, bytes32 s) = _signReceive(30e6);
        uint256 validBefore = block.timestamp + 1 hours;
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        settlement.depositWithAuthorization(alice, 30e6, 0, validBefore, AUTH_NONCE, v, r, s);
    }

    // ---------------------------------------------------------------- withdrawals

    function test_requestWithdrawal_movesAvailableToPending() public {
        _customer(c, 100e6);
        uint40 unlockAt = uint40(block.timestamp) + DELAY;
        vm.expectEmit(address(settlement));
        emit CustomerEscrow.WithdrawalRequested(c, 60e6, 60e6, unlockAt);
        vm.prank(c);
        settlement.requestWithdrawal(60e6);
        (uint256 available, uint256 pending, uint40 at) = settlement.accountOf(c);
        assertEq(available, 40e6);
        assertEq(pending, 60e6);
        assertEq(at, unlockAt);
        assertEq(settlement.totalEscrowed(), 100e6);
    }

    function test_requestWithdrawal_zero_reverts() public {
        _customer(c, 1e6);
        vm.prank(c);
        vm.expectRevert(CustomerEscrow.ZeroAmount.selector);
        settlement.requestWithdrawal(0);
    }

    function test_requestWithdrawal_moreThanAvailable_reverts() public {
        _customer(c, 1e6);
        vm.prank(c);
        vm.expectRevert(abi.encodeWithSelector(CustomerEscrow.InsufficientAvailable.selector, 1e6 + 1, 1e6));
        settlement.requestWithdrawal(1e6 + 1);
    }

    function test_requestWithdrawal_again_addsAndRestartsDelay() public {
        _customer(c, 100e6);
        vm.prank(c);
        settlement.requestWithdrawal(10e6);
        vm.warp(block.timestamp + 20 hours);
        vm.prank(c);
        settlement.requestWithdrawal(10e6);
        (, uint256 pending, uint40 at) = settlement.accountOf(c);
        assertEq(pending, 20e6);
        assertEq(at, block.timestamp + DELAY);
    }

    function test_cancelWithdrawal_returnsPendingToAvailable() public {
        _customer(c, 100e6);
        vm.prank(c);
        settlement.requestWithdrawal(60e6);
        vm.expectEmit(address(settlement));
        emit CustomerEscrow.WithdrawalCanceled(c, 60e6);
        vm.prank(c);
        settlement.cancelWithdrawal();
        assertEq(_available(c), 100e6);
        assertEq(_pending(c), 0);
    }

    function test_cancelWithdrawal_nonePending_reverts() public {
        _customer(c, 1e6);
        vm.prank(c);
        vm.expectRevert(CustomerEscrow.NoPendingWithdrawal.selector);
        settlement.cancelWithdrawal();
    }

    function test_withdraw_beforeDelay_reverts() public {
        _customer(c, 100e6);
        vm.prank(c);
        settlement.requestWithdrawal(60e6);
        uint40 unlockAt = uint40(block.timestamp) + DELAY;
        vm.warp(unlockAt - 1);
        vm.prank(c);
        vm.expectRevert(abi.encodeWithSelector(CustomerEscrow.WithdrawalLocked.selector, unlockAt));
        settlement.withdraw();
    }

    function test_withdraw_afterDelay_paysPending() public {
        _customer(c, 100e6);
        vm.prank(c);
        settlement.requestWithdrawal(60e6);
        vm.warp(block.timestamp + DELAY);
        vm.expectEmit(address(settlement));
        emit CustomerEscrow.Withdrawn(c, 60e6);
        vm.prank(c);
        settlement.withdraw();
        assertEq(usdc.balanceOf(c), 60e6);
        assertEq(_pending(c), 0);
        assertEq(_available(c), 40e6);
        assertEq(settlement.totalEscrowed(), 40e6);
    }

    function test_withdraw_nonePending_reverts() public {
        _customer(c, 1e6);
        vm.prank(c);
        vm.expectRevert(CustomerEscrow.NoPendingWithdrawal.selector);
        settlement.withdraw();
    }

    function test_withdraw_whilePaused_stillWorksAfterDelay() public {
        _customer(c, 100e6);
        vm.prank(c);
        settlement.requestWithdrawal(60e6);
        _pause();
        // Requesting and canceling are the customer's own business, also while paused.
        vm.prank(c);
        settlement.requestWithdrawal(10e6);
        vm.warp(block.timestamp + DELAY);
        vm.prank(c);
        settlement.withdraw();
        assertEq(usdc.balanceOf(c), 70e6);
    }

    function test_withdraw_pendingDebitedBySettlement_paysRemainder() public {
        _provider(p, 1_000e6);
        _customer(c, 10e6);
        vm.prank(c);
        settlement.requestWithdrawal(10e6); // everything pending, nothing available
        // Usage served before the request is posted later and is paid from the pending withdrawal.
        _settleOne(_entry(c, p, 10_000_000, 0)); // 2 USDC
        assertEq(_pending(c), 8e6);
        vm.warp(block.timestamp + DELAY);
        vm.prank(c);
        settlement.withdraw();
        assertEq(usdc.balanceOf(c), 8e6);
    }

    function test_withdraw_frozen_revertsUntilUnfrozen() public {
        _customer(c, 100e6);
        vm.prank(c);
        settlement.requestWithdrawal(60e6);
        vm.expectEmit(address(settlement));
        emit CustomerEscrow.Frozen(c);
        vm.prank(guardian);
        settlement.freeze(c);
        assertTrue(settlement.frozen(c));
        vm.warp(block.timestamp + DELAY);
        vm.prank(c);
        vm.expectRevert(abi.encodeWithSelector(CustomerEscrow.AccountFrozen.selector, c));
        settlement.withdraw();

        vm.expectEmit(address(settlement));
        emit CustomerEscrow.Unfrozen(c);
        vm.prank(guardian);
        settlement.unfreeze(c);
        vm.prank(c);
        settlement.withdraw();
        assertEq(usdc.balanceOf(c), 60e6);
    }

    function test_withdraw_usdcBlacklistedCustomer_reverts() public {
        _customer(c, 10e6);
        vm.prank(c);
        settlement.requestWithdrawal(10e6);
        vm.warp(block.timestamp + DELAY);
        usdc.blacklist(c);
        vm.prank(c);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AccountBlacklisted.selector, c));
        settlement.withdraw();
        assertEq(_pending(c), 10e6);
    }

    // ---------------------------------------------------------------- guardian / governor

    function test_freeze_unauthorized_reverts() public {
        vm.prank(governor);
        vm.expectRevert(_unauthorized(governor));
        settlement.freeze(c);
    }

    function test_unfreeze_unauthorized_reverts() public {
        vm.prank(guardian);
        settlement.freeze(c);
        vm.prank(c);
        vm.expectRevert(_unauthorized(c));
        settlement.unfreeze(c);
        assertTrue(settlement.frozen(c));
    }

    function test_setWithdrawalDelay_byGovernor_appliesToNewRequests() public {
        _customer(c, 100e6);
        vm.prank(c);
        settlement.requestWithdrawal(10e6);
        (,, uint40 before) = settlement.accountOf(c);
        vm.expectEmit(address(settlement));
        emit CustomerEscrow.WithdrawalDelaySet(48 hours);
        vm.prank(governor);
        settlement.setWithdrawalDelay(48 hours);
        assertEq(settlement.withdrawalDelay(), 48 hours);
        (,, uint40 unchanged) = settlement.accountOf(c);
        assertEq(unchanged, before);
        _customer(c2, 1e6);
        vm.prank(c2);
        settlement.requestWithdrawal(1e6);
        (,, uint40 at) = settlement.accountOf(c2);
        assertEq(at, block.timestamp + 48 hours);
    }

    function test_setWithdrawalDelay_belowMinimum_reverts() public {
        vm.prank(governor);
        vm.expectRevert(
            abi.encodeWithSelector(CustomerEscrow.DelayTooShort.selector, uint40(1 hours - 1), uint40(1 hours))
        );
        settlement.setWithdrawalDelay(1 hours - 1);
    }

    function test_setWithdrawalDelay_unauthorized_reverts() public {
        vm.prank(guardian);
        vm.expectRevert(_unauthorized(guardian));
        settlement.setWithdrawalDelay(2 hours);
    }

    function test_pause_byGuardian_andUnpauseRestoresDeposits() public {
        vm.expectEmit(address(settlement));
        emit Pausable.Paused(guardian);
        _pause();
        assertTrue(settlement.paused());
        vm.expectEmit(address(settlement));
        emit Pausable.Unpaused(guardian);
        vm.prank(guardian);
        settlement.unpause();
        _customer(c, 1e6);
        assertEq(_available(c), 1e6);
    }

    function test_pause_unauthorized_reverts() public {
        vm.prank(governor);
        vm.expectRevert(_unauthorized(governor));
        settlement.pause();
    }

    function test_unpause_unauthorized_reverts() public {
        _pause();
        vm.prank(c);
        vm.expectRevert(_unauthorized(c));
        settlement.unpause();
    }
}

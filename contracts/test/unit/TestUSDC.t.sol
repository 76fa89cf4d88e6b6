// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {UnitHelpers} from "../utils/UnitHelpers.sol";
import {TestUSDC} from "../../src/token/TestUSDC.sol";

contract TestUSDCTest is UnitHelpers {
    address internal alice;
    uint256 internal aliceKey;
    address internal bob = makeAddr("bob");

    bytes32 internal constant NONCE = keccak256("auth-1");

    function setUp() public override {
        super.setUp();
        (alice, aliceKey) = makeAddrAndKey("alice");
        usdc.mint(alice, 1_000e6);
    }

    // ---------------------------------------------------------------- metadata, mint, roles

    function test_metadata_matchesUsdc() public view {
        assertEq(usdc.decimals(), 6);
        assertEq(usdc.symbol(), "USDC");
        assertEq(usdc.version(), "2");
        assertEq(usdc.owner(), admin);
        assertEq(usdc.guardian(), admin);
    }

    function test_typehashes_matchEip3009() public view {
        assertEq(
            usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(),
            keccak256(
                "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
            )
        );
        assertEq(
            usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
            keccak256(
                "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
            )
        );
        assertEq(usdc.CANCEL_AUTHORIZATION_TYPEHASH(), keccak256("CancelAuthorization(address authorizer,bytes32 nonce)"));
    }

    function test_mint_byOwner_creditsRecipient() public {
        vm.expectEmit(address(usdc));
        emit IERC20.Transfer(address(0), bob, 5e6);
        usdc.mint(bob, 5e6);
        assertEq(usdc.balanceOf(bob), 5e6);
    }

    function test_mint_byNonOwner_reverts() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, bob));
        usdc.mint(bob, 1);
    }

    function test_setGuardian_byOwner_movesGuardianPowers() public {
        vm.expectEmit(address(usdc));
        emit TestUSDC.GuardianChanged(bob);
        usdc.setGuardian(bob);
        assertEq(usdc.guardian(), bob);
        vm.prank(bob);
        usdc.blacklist(alice);
        assertTrue(usdc.isBlacklisted(alice));
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.NotGuardian.selector, address(this)));
        usdc.pause();
    }

    function test_setGuardian_byNonOwner_reverts() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, bob));
        usdc.setGuardian(bob);
    }

    // ---------------------------------------------------------------- blacklist

    function test_blacklist_byGuardian_flagsAccount() public {
        vm.expectEmit(address(usdc));
        emit TestUSDC.Blacklisted(alice);
        usdc.blacklist(alice);
        assertTrue(usdc.isBlacklisted(alice));
    }

    function test_blacklist_byNonGuardian_reverts() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.NotGuardian.selector, bob));
        usdc.blacklist(alice);
    }

    function test_unBlacklist_byGuardian_restoresTransfers() public {
        usdc.blacklist(alice);
        vm.expectEmit(address(usdc));
        emit TestUSDC.UnBlacklisted(alice);
        usdc.unBlacklist(alice);
        assertFalse(usdc.isBlacklisted(alice));
        vm.prank(alice);
        usdc.transfer(bob, 1e6);
        assertEq(usdc.balanceOf(bob), 1e6);
    }

    function test_unBlacklist_byNonGuardian_reverts() public {
        usdc.blacklist(alice);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.NotGuardian.selector, bob));
        usdc.unBlacklist(alice);
    }

    function test_transfer_fromBlacklisted_reverts() public {
        usdc.blacklist(alice);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AccountBlacklisted.selector, alice));
        usdc.transfer(bob, 1);
    }

    function test_transfer_toBlacklisted_reverts() public {
        usdc.blacklist(bob);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AccountBlacklisted.selector, bob));
        usdc.transfer(bob, 1);
    }

    function test_transferFrom_byBlacklistedSpender_reverts() public {
        vm.prank(alice);
        usdc.approve(bob, 10e6);
        usdc.blacklist(bob);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AccountBlacklisted.selector, bob));
        usdc.transferFrom(alice, stranger, 1e6);
        assertEq(usdc.balanceOf(alice), 1_000e6);
    }

    function test_mint_toBlacklisted_reverts() public {
        usdc.blacklist(bob);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AccountBlacklisted.selector, bob));
        usdc.mint(bob, 1);
    }

    function test_approve_byBlacklistedOwner_reverts() public {
        usdc.blacklist(alice);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AccountBlacklisted.selector, alice));
        usdc.approve(bob, 1);
    }

    function test_approve_toBlacklistedSpender_reverts() public {
        usdc.blacklist(bob);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AccountBlacklisted.selector, bob));
        usdc.approve(bob, 1);
    }

    function test_permit_forBlacklistedOwner_reverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, bob, 1e6, block.timestamp + 1);
        usdc.blacklist(alice);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AccountBlacklisted.selector, alice));
        usdc.permit(alice, bob, 1e6, block.timestamp + 1, v, r, s);
        assertEq(usdc.allowance(alice, bob), 0);
    }

    function test_transferWithAuthorization_fromBlacklisted_reverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signAuth(usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), bob, 1e6);
        usdc.blacklist(alice);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AccountBlacklisted.selector, alice));
        usdc.transferWithAuthorization(alice, bob, 1e6, 0, block.timestamp + 1 hours, NONCE, v, r, s);
    }

    // ---------------------------------------------------------------- pause

    function test_pause_byGuardian_setsPaused() public {
        vm.expectEmit(address(usdc));
        emit TestUSDC.Pause();
        usdc.pause();
        assertTrue(usdc.paused());
    }

    function test_pause_byNonGuardian_reverts() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.NotGuardian.selector, bob));
        usdc.pause();
    }

    function test_unpause_byGuardian_restoresTransfers() public {
        usdc.pause();
        vm.expectEmit(address(usdc));
        emit TestUSDC.Unpause();
        usdc.unpause();
        assertFalse(usdc.paused());
        vm.prank(alice);
        usdc.transfer(bob, 1e6);
        assertEq(usdc.balanceOf(bob), 1e6);
    }

    function test_unpause_byNonGuardian_reverts() public {
        usdc.pause();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.NotGuardian.selector, bob));
        usdc.unpause();
    }

    function test_transfer_whilePaused_reverts() public {
        usdc.pause();
        vm.prank(alice);
        vm.expectRevert(TestUSDC.TokenPaused.selector);
        usdc.transfer(bob, 1);
    }

    function test_transferFrom_whilePaused_reverts() public {
        vm.prank(alice);
        usdc.approve(bob, 10e6);
        usdc.pause();
        vm.prank(bob);
        vm.expectRevert(TestUSDC.TokenPaused.selector);
        usdc.transferFrom(alice, bob, 1e6);
    }

    function test_approve_whilePaused_reverts() public {
        usdc.pause();
        vm.prank(alice);
        vm.expectRevert(TestUSDC.TokenPaused.selector);
        usdc.approve(bob, 1);
    }

    function test_permit_whilePaused_reverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, bob, 1e6, block.timestamp + 1);
        usdc.pause();
        vm.expectRevert(TestUSDC.TokenPaused.selector);
        usdc.permit(alice, bob, 1e6, block.timestamp + 1, v, r, s);
    }

    function test_mint_whilePaused_reverts() public {
        usdc.pause();
        vm.expectRevert(TestUSDC.TokenPaused.selector);
        usdc.mint(bob, 1);
    }

    function test_transferWithAuthorization_whilePaused_reverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signAuth(usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), bob, 1e6);
        usdc.pause();
        vm.expectRevert(TestUSDC.TokenPaused.selector);
        usdc.transferWithAuthorization(alice, bob, 1e6, 0, block.timestamp + 1 hours, NONCE, v, r, s);
        assertFalse(usdc.authorizationState(alice, NONCE));
    }

    // ---------------------------------------------------------------- permit (EIP-2612)

    function test_permit_validSignature_setsAllowanceAndNonce() public {
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, bob, 7e6, block.timestamp + 1);
        vm.expectEmit(address(usdc));
        emit IERC20.Approval(alice, bob, 7e6);
        usdc.permit(alice, bob, 7e6, block.timestamp + 1, v, r, s);
        assertEq(usdc.allowance(alice, bob), 7e6);
        assertEq(usdc.nonces(alice), 1);
    }

    function test_permit_expired_reverts() public {
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, bob, 1e6, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        usdc.permit(alice, bob, 1e6, deadline, v, r, s);
    }

    function test_permit_replayed_reverts() public {
        uint256 deadline = block.timestamp + 1;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, bob, 1e6, deadline);
        usdc.permit(alice, bob, 1e6, deadline, v, r, s);
        vm.expectPartialRevert(ERC20Permit.ERC2612InvalidSigner.selector);
        usdc.permit(alice, bob, 1e6, deadline, v, r, s);
    }

    function test_permit_otherValue_reverts() public {
        uint256 deadline = block.timestamp + 1;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(aliceKey, bob, 1e6, deadline);
        vm.expectPartialRevert(ERC20Permit.ERC2612InvalidSigner.selector);
        usdc.permit(alice, bob, 2e6, deadline, v, r, s);
    }

    /// @dev Circle's USDC on Base signs permits under the domain ("USD Coin", "2") and its version()
    ///      says "2"; so does this token's version(). A client written for real USDC (or one that reads
    ///      version()) must get a working permit on devnet too.
    function test_permitSignedWithCircleDomain_isAccepted() public {
        (,, string memory domainVersion,,,,) = usdc.eip712Domain();
        assertEq(domainVersion, usdc.version(), "EIP-712 domain version differs from version()");

        uint256 deadline = block.timestamp + 1;
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("USD Coin"),
                keccak256("2"),
                block.chainid,
                address(usdc)
            )
        );
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01", domain, keccak256(abi.encode(PERMIT_TYPEHASH, alice, bob, uint256(1e6), uint256(0), deadline))
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, digest);
        usdc.permit(alice, bob, 1e6, deadline, v, r, s);
        assertEq(usdc.allowance(alice, bob), 1e6);
    }

    /// @dev Wallets that build the domain from name() (as for FiatToken, where both are "USD Coin")
    ///      sign under a different domain than the token verifies.
    function test_eip712DomainName_equalsTokenName() public view {
        (, string memory domainName,,,,,) = usdc.eip712Domain();
        assertEq(domainName, usdc.name());
    }

    // ---------------------------------------------------------------- EIP-3009

    function _signAuth(bytes32 typehash, address to, uint256 value) internal view returns (uint8, bytes32, bytes32) {
        return vm.sign(aliceKey, _authDigest(typehash, alice, to, value, 0, block.timestamp + 1 hours, NONCE));
    }

    function test_transferWithAuthorization_valid_movesFundsAndUsesNonce() public {
        (uint8 v, bytes32 r, bytes32 s) = _signAuth(usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), bob, 3e6);
        vm.expectEmit(address(usdc));
        emit TestUSDC.AuthorizationUsed(alice, NONCE);
        vm.prank(stranger);
        usdc.transferWithAuthorization(alice, bob, 3e6, 0, block.timestamp + 1 hours, NONCE, v, r, s);
        assertEq(usdc.balanceOf(bob), 3e6);
        assertEq(usdc.balanceOf(alice), 997e6);
        assertTrue(usdc.authorizationState(alice, NONCE));
    }

    function test_transferWithAuthorization_replayed_reverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signAuth(usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), bob, 3e6);
        uint256 validBefore = block.timestamp + 1 hours;
        usdc.transferWithAuthorization(alice, bob, 3e6, 0, validBefore, NONCE, v, r, s);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationAlreadyUsed.selector, alice, NONCE));
        usdc.transferWithAuthorization(alice, bob, 3e6, 0, validBefore, NONCE, v, r, s);
    }

    function test_transferWithAuthorization_notYetValid_reverts() public {
        uint256 validAfter = block.timestamp;
        uint256 validBefore = block.timestamp + 1 hours;
        bytes32 typehash = usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH();
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(aliceKey, _authDigest(typehash, alice, bob, 1e6, validAfter, validBefore, NONCE));
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationNotYetValid.selector, validAfter));
        usdc.transferWithAuthorization(alice, bob, 1e6, validAfter, validBefore, NONCE, v, r, s);
        vm.warp(validAfter + 1);
        usdc.transferWithAuthorization(alice, bob, 1e6, validAfter, validBefore, NONCE, v, r, s);
        assertEq(usdc.balanceOf(bob), 1e6);
    }

    function test_transferWithAuthorization_expired_reverts() public {
        uint256 validBefore = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signAuth(usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), bob, 1e6);
        vm.warp(validBefore);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationExpired.selector, validBefore));
        usdc.transferWithAuthorization(alice, bob, 1e6, 0, validBefore, NONCE, v, r, s);
    }

    function test_transferWithAuthorization_changedRecipient_reverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signAuth(usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), bob, 1e6);
        vm.expectRevert(TestUSDC.InvalidAuthorizationSignature.selector);
        usdc.transferWithAuthorization(alice, stranger, 1e6, 0, block.timestamp + 1 hours, NONCE, v, r, s);
    }

    function test_transferWithAuthorization_withReceiveSignature_reverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signAuth(usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), bob, 1e6);
        vm.expectRevert(TestUSDC.InvalidAuthorizationSignature.selector);
        usdc.transferWithAuthorization(alice, bob, 1e6, 0, block.timestamp + 1 hours, NONCE, v, r, s);
    }

    function test_receiveWithAuthorization_byPayee_movesFunds() public {
        (uint8 v, bytes32 r, bytes32 s) = _signAuth(usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), bob, 2e6);
        vm.prank(bob);
        usdc.receiveWithAuthorization(alice, bob, 2e6, 0, block.timestamp + 1 hours, NONCE, v, r, s);
        assertEq(usdc.balanceOf(bob), 2e6);
        assertTrue(usdc.authorizationState(alice, NONCE));
    }

    function test_receiveWithAuthorization_byThirdParty_reverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _signAuth(usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), bob, 2e6);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.CallerMustBePayee.selector, stranger, bob));
        usdc.receiveWithAuthorization(alice, bob, 2e6, 0, block.timestamp + 1 hours, NONCE, v, r, s);
    }

    function test_cancelAuthorization_valid_blocksLaterUse() public {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(
            aliceKey,
            keccak256(
                abi.encodePacked(
                    "\x19\x01",
                    usdc.DOMAIN_SEPARATOR(),
                    keccak256(abi.encode(usdc.CANCEL_AUTHORIZATION_TYPEHASH(), alice, NONCE))
                )
            )
        );
        vm.expectEmit(address(usdc));
        emit TestUSDC.AuthorizationCanceled(alice, NONCE);
        usdc.cancelAuthorization(alice, NONCE, v, r, s);
        assertTrue(usdc.authorizationState(alice, NONCE));

        (uint8 tv, bytes32 tr, bytes32 ts) = _signAuth(usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), bob, 1e6);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationAlreadyUsed.selector, alice, NONCE));
        usdc.transferWithAuthorization(alice, bob, 1e6, 0, block.timestamp + 1 hours, NONCE, tv, tr, ts);

        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AuthorizationAlreadyUsed.selector, alice, NONCE));
        usdc.cancelAuthorization(alice, NONCE, v, r, s);
    }

    function test_cancelAuthorization_wrongSigner_reverts() public {
        (, uint256 bobKey) = makeAddrAndKey("bob");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(
            bobKey,
            keccak256(
                abi.encodePacked(
                    "\x19\x01",
                    usdc.DOMAIN_SEPARATOR(),
                    keccak256(abi.encode(usdc.CANCEL_AUTHORIZATION_TYPEHASH(), alice, NONCE))
                )
            )
        );
        vm.expectRevert(TestUSDC.InvalidAuthorizationSignature.selector);
        usdc.cancelAuthorization(alice, NONCE, v, r, s);
        assertFalse(usdc.authorizationState(alice, NONCE));
    }

    function test_transfer_moreThanBalance_reverts() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, bob, 0, 1));
        usdc.transfer(alice, 1);
    }
}

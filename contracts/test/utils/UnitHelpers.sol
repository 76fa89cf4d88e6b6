// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {Fixture} from "./Fixture.sol";
import {UsageBatch, UsageEntry, CustomerSpend} from "../../src/types/Usage.sol";

/// @notice A token that keeps 1% of every transfer: the contracts must refuse it (UnsupportedToken).
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Fee token", "FOT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 cut = value / 100;
            super._update(from, address(0xdead), cut);
            value -= cut;
        }
        super._update(from, to, value);
    }
}

/// @notice A minimal ERC-1271 wallet owned by one EOA key (a Safe-like gateway signer).
contract Erc1271Wallet {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return 0xffffffff;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        return ecrecover(hash, v, r, s) == owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
    }
}

/// @notice Shared helpers for the unit tests, on top of the deployment Fixture.
abstract contract UnitHelpers is Fixture {
    /// @dev secp256k1 group order.
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    address internal p = makeAddr("provider");
    address internal p2 = makeAddr("provider-2");
    address internal c = makeAddr("customer");
    address internal c2 = makeAddr("customer-2");
    address internal stranger = makeAddr("stranger");

    // ---------------------------------------------------------------- access control

    function _unauthorized(address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller);
    }

    // ---------------------------------------------------------------- batches

    function _one(UsageEntry memory e) internal pure returns (UsageEntry[] memory es) {
        es = new UsageEntry[](1);
        es[0] = e;
    }

    function _two(UsageEntry memory a, UsageEntry memory b) internal pure returns (UsageEntry[] memory es) {
        es = new UsageEntry[](2);
        es[0] = a;
        es[1] = b;
    }

    /// @dev Charge of an entry at its own prices, computed here independently of PriceMath.
    function _charge(UsageEntry memory e) internal pure returns (uint256) {
        return (uint256(e.promptTokens) * e.promptPrice + uint256(e.completionTokens) * e.completionPrice) / 1e6;
    }

    /// @dev Settles one entry as the next batch of GATEWAY_ID and returns the batch.
    function _settleOne(UsageEntry memory e) internal returns (UsageBatch memory b) {
        b = _batch(settlement.nextBatchId(GATEWAY_ID), _one(e));
        _settle(b);
    }

    function _sig(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    // ---------------------------------------------------------------- escrow and earnings views

    function _available(address who) internal view returns (uint256 available) {
        (available,,) = settlement.accountOf(who);
    }

    function _pending(address who) internal view returns (uint256 pending) {
        (, pending,) = settlement.accountOf(who);
    }

    function _claimable(address who) internal view returns (uint256 claimable) {
        (claimable,,) = settlement.earningsOf(who);
    }

    function _vesting(address who) internal view returns (uint256 vesting) {
        (, vesting,) = settlement.earningsOf(who);
    }

    function _bonded(address who) internal view returns (uint256 bonded) {
        (bonded,,,,) = staking.stakeOf(who);
    }

    function _unbonding(address who) internal view returns (uint256 unbonding) {
        (, unbonding,,,) = staking.stakeOf(who);
    }

    function _locked(address who) internal view returns (uint256 locked) {
        (,,,, locked) = staking.stakeOf(who);
    }

    function _jailed(address who) internal view returns (bool jailed) {
        (,,, jailed,) = staking.stakeOf(who);
    }

    /// @dev First second of the epoch after the current one (a clean start for vesting arithmetic).
    function _warpToNextEpoch() internal {
        vm.warp((block.timestamp / DISPUTE_WINDOW + 1) * DISPUTE_WINDOW);
    }

    // ---------------------------------------------------------------- token signatures

    function _permitDigest(address owner, address spender, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(
                "\x19\x01",
                usdc.DOMAIN_SEPARATOR(),
                keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, nonce, deadline))
            )
        );
    }

    function _signPermit(uint256 key, address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        address owner = vm.addr(key);
        return vm.sign(key, _permitDigest(owner, spender, value, usdc.nonces(owner), deadline));
    }

    function _authDigest(
        bytes32 typehash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce
    ) internal view returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                "\x19\x01",
                usdc.DOMAIN_SEPARATOR(),
                keccak256(abi.encode(typehash, from, to, value, validAfter, validBefore, nonce))
            )
        );
    }

    function _spends1(address customer, uint96 spend) internal pure returns (CustomerSpend[] memory s) {
        s = new CustomerSpend[](1);
        s[0] = CustomerSpend({customer: customer, spend: spend});
    }
}

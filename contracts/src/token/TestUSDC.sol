// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title TestUSDC
/// @notice A USDC look-alike for tests and local networks ONLY: 6 decimals, EIP-2612 permit,
///         EIP-3009 transfer/receive with authorization, and Circle-style blacklist and pause.
///         On Base and Base Sepolia the protocol uses Circle's real USDC instead.
/// @dev Minting is open to the owner (the devnet faucet). Blacklisted addresses can neither send,
///      receive nor approve; while paused no transfer or approval succeeds, exactly as FiatToken.
///      The EIP-712 domain is ("USD Coin", "2"), the same as Circle's USDC on Base, so a permit or
///      authorization built for real USDC works here unchanged (OpenZeppelin's ERC20Permit would
///      force version "1", hence permit is implemented here).
contract TestUSDC is ERC20, IERC20Permit, EIP712, Nonces, Ownable {
    /// @notice keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)")
    bytes32 public constant PERMIT_TYPEHASH = keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    /// @notice keccak256("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")
    bytes32 public constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH =
        0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267;
    /// @notice keccak256("ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")
    bytes32 public constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH =
        0xd099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8;
    /// @notice keccak256("CancelAuthorization(address authorizer,bytes32 nonce)")
    bytes32 public constant CANCEL_AUTHORIZATION_TYPEHASH =
        0x158b0a9edf7a828aad02f63cd515c68ef2f50ba807396f6d12842833a1597429;

    /// @notice Who may blacklist and pause (Circle separates these; one role is enough for tests).
    address public guardian;
    /// @notice True while every transfer and approval is halted.
    bool public paused;

    mapping(address account => bool) private _blacklisted;
    mapping(address authorizer => mapping(bytes32 nonce => bool used)) private _authorizationUsed;

    event Blacklisted(address indexed account);
    event UnBlacklisted(address indexed account);
    event Pause();
    event Unpause();
    event GuardianChanged(address indexed guardian);
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    error AccountBlacklisted(address account);
    error TokenPaused();
    error NotGuardian(address caller);
    error AuthorizationNotYetValid(uint256 validAfter);
    error AuthorizationExpired(uint256 validBefore);
    error AuthorizationAlreadyUsed(address authorizer, bytes32 nonce);
    error InvalidAuthorizationSignature();
    error CallerMustBePayee(address caller, address payee);
    /// @dev Same errors (and selectors) as OpenZeppelin's ERC20Permit.
    error ERC2612ExpiredSignature(uint256 deadline);
    error ERC2612InvalidSigner(address signer, address owner);

    modifier onlyGuardian() {
        if (msg.sender != guardian) revert NotGuardian(msg.sender);
        _;
    }

    /// @param owner_ Owner, allowed to mint and to change the guardian.
    constructor(address owner_) ERC20("USD Coin", "USDC") EIP712("USD Coin", "2") Ownable(owner_) {
        guardian = owner_;
        emit GuardianChanged(owner_);
    }

    /// @notice USDC has 6 decimals; so does this token, so every amount in the protocol is the same.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice The EIP-712 domain version, "2" like Circle's FiatToken v2.
    function version() external pure returns (string memory) {
        return "2";
    }

    /// @notice EIP-2612: approve `spender` by `owner`'s signature.
    function permit(address owner_, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        if (block.timestamp > deadline) revert ERC2612ExpiredSignature(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(PERMIT_TYPEHASH, owner_, spender, value, _useNonce(owner_), deadline))
        );
        address signer = ECDSA.recover(digest, v, r, s);
        if (signer != owner_) revert ERC2612InvalidSigner(signer, owner_);
        _approve(owner_, spender, value);
    }

    /// @notice EIP-2612 nonce of `owner_`.
    function nonces(address owner_) public view override(IERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner_);
    }

    /// @notice EIP-712 domain separator of this token.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice Mint test tokens (devnet faucet). Owner only.
    /// @param to Recipient.
    /// @param amount Amount in base units (6 decimals).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Set who may blacklist and pause. Owner only.
    /// @param newGuardian The new guardian.
    function setGuardian(address newGuardian) external onlyOwner {
        guardian = newGuardian;
        emit GuardianChanged(newGuardian);
    }

    /// @notice Blacklist an account: it can no longer send, receive or approve.
    /// @param account The account to blacklist.
    function blacklist(address account) external onlyGuardian {
        _blacklisted[account] = true;
        emit Blacklisted(account);
    }

    /// @notice Lift an account's blacklisting.
    /// @param account The account to restore.
    function unBlacklist(address account) external onlyGuardian {
        _blacklisted[account] = false;
        emit UnBlacklisted(account);
    }

    /// @notice Whether an account is blacklisted.
    /// @param account The account to check.
    function isBlacklisted(address account) external view returns (bool) {
        return _blacklisted[account];
    }

    /// @notice Halt every transfer and approval.
    function pause() external onlyGuardian {
        paused = true;
        emit Pause();
    }

    /// @notice Resume transfers and approvals.
    function unpause() external onlyGuardian {
        paused = false;
        emit Unpause();
    }

    /// @notice Whether an EIP-3009 authorization nonce has been used or canceled.
    /// @param authorizer The signer of the authorization.
    /// @param nonce The authorization's unique nonce.
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool) {
        return _authorizationUsed[authorizer][nonce];
    }

    /// @notice EIP-3009: execute a transfer signed by `from`. Anyone may submit it.
    /// @dev Front-runnable by design of the EIP; contracts should prefer receiveWithAuthorization.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        _useAuthorization(TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, v, r, s);
        _transfer(from, to, value);
    }

    /// @notice EIP-3009: execute a transfer signed by `from`; only the payee `to` may submit it,
    ///         which stops a front-runner from moving the funds without the payee's bookkeeping.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        if (msg.sender != to) revert CallerMustBePayee(msg.sender, to);
        _useAuthorization(RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, v, r, s);
        _transfer(from, to, value);
    }

    /// @notice EIP-3009: cancel an unused authorization.
    /// @param authorizer The signer of the authorization being canceled.
    /// @param nonce Its nonce.
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external {
        if (_authorizationUsed[authorizer][nonce]) revert AuthorizationAlreadyUsed(authorizer, nonce);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce)));
        if (ECDSA.recover(digest, v, r, s) != authorizer) revert InvalidAuthorizationSignature();
        _authorizationUsed[authorizer][nonce] = true;
        emit AuthorizationCanceled(authorizer, nonce);
    }

    function _useAuthorization(
        bytes32 typehash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private {
        if (block.timestamp <= validAfter) revert AuthorizationNotYetValid(validAfter);
        if (block.timestamp >= validBefore) revert AuthorizationExpired(validBefore);
        if (_authorizationUsed[from][nonce]) revert AuthorizationAlreadyUsed(from, nonce);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(typehash, from, to, value, validAfter, validBefore, nonce)));
        if (ECDSA.recover(digest, v, r, s) != from) revert InvalidAuthorizationSignature();
        _authorizationUsed[from][nonce] = true;
        emit AuthorizationUsed(from, nonce);
    }

    /// @dev Blacklist and pause apply to every balance movement, mint included (FiatToken does the same).
    function _update(address from, address to, uint256 value) internal override {
        if (paused) revert TokenPaused();
        if (_blacklisted[from]) revert AccountBlacklisted(from);
        if (_blacklisted[to]) revert AccountBlacklisted(to);
        if (_blacklisted[msg.sender]) revert AccountBlacklisted(msg.sender);
        super._update(from, to, value);
    }

    /// @dev Approvals (including permit) are refused while paused or when either side is blacklisted.
    function _approve(address owner_, address spender, uint256 value, bool emitEvent) internal override {
        if (paused) revert TokenPaused();
        if (_blacklisted[owner_]) revert AccountBlacklisted(owner_);
        if (_blacklisted[spender]) revert AccountBlacklisted(spender);
        super._approve(owner_, spender, value, emitEvent);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC3009} from "../interfaces/IERC3009.sol";

/// @title CustomerEscrow
/// @notice Customers' prepaid USDC. Deposits are credited at once; withdrawals are requested, wait
///         `withdrawalDelay`, then leave. Money in a pending withdrawal stays debitable by settlement
///         until it leaves, because usage is settled after it is served (security-and-gas 1.3).
/// @dev Abstract: Settlement inherits it so that a batch debits customers with plain storage writes.
abstract contract CustomerEscrow is AccessManaged, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Floor on the withdrawal delay: it must outlast the gateway's settlement lag.
    uint40 public constant MIN_WITHDRAWAL_DELAY = 1 hours;

    /// @dev One slot per customer, so a settlement debit is one storage write.
    struct Account {
        uint96 available;
        uint96 pending;
        uint40 unlockAt;
    }

    IERC20 public immutable usdc;

    /// @notice Seconds between requesting and completing a withdrawal.
    uint40 public withdrawalDelay = 24 hours;
    /// @notice Sum of every customer's available and pending balance.
    uint256 public totalEscrowed;

    mapping(address customer => Account) internal _accounts;
    /// @notice Accounts the guardian froze: they cannot withdraw or claim until unfrozen.
    mapping(address account => bool) public frozen;

    event Deposited(address indexed customer, address indexed payer, uint256 amount);
    event WithdrawalRequested(address indexed customer, uint256 amount, uint256 pending, uint40 unlockAt);
    event WithdrawalCanceled(address indexed customer, uint256 amount);
    event Withdrawn(address indexed customer, uint256 amount);
    event Frozen(address indexed account);
    event Unfrozen(address indexed account);
    event WithdrawalDelaySet(uint40 delay);

    error ZeroAmount();
    error ZeroAddress();
    error InsufficientAvailable(uint256 requested, uint256 available);
    error NoPendingWithdrawal();
    error WithdrawalLocked(uint40 unlockAt);
    error AccountFrozen(address account);
    error UnsupportedToken(uint256 expected, uint256 received);
    error DelayTooShort(uint40 delay, uint40 minimum);

    constructor(IERC20 usdc_) {
        usdc = usdc_;
    }

    // ---------------------------------------------------------------- deposits

    /// @notice Deposit `amount` USDC for the caller (approve first).
    /// @param amount USDC base units.
    function deposit(uint256 amount) external {
        depositFor(msg.sender, amount);
    }

    /// @notice Deposit `amount` USDC from the caller into `customer`'s balance.
    /// @param customer Whose balance is credited.
    /// @param amount USDC base units.
    function depositFor(address customer, uint256 amount) public whenNotPaused nonReentrant {
        _deposit(msg.sender, customer, amount);
    }

    /// @notice Approve by EIP-2612 permit and deposit in one transaction. Still succeeds when someone
    ///         front-ran the permit: the allowance is then already in place.
    /// @param customer Whose balance is credited.
    /// @param amount USDC base units (also the permit's value).
    /// @param deadline Permit deadline.
    function depositWithPermit(address customer, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        whenNotPaused
        nonReentrant
    {
        try IERC20Permit(address(usdc)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(msg.sender, customer, amount);
    }

    /// @notice Deposit by an EIP-3009 `receiveWithAuthorization` signed by `from`; the balance credited
    ///         is `from`'s, so a relayer cannot redirect it, and only this contract can redeem it.
    /// @param from The signer and the customer credited.
    /// @param amount USDC base units (the authorization's value).
    function depositWithAuthorization(
        address from,
        uint256 amount,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external whenNotPaused nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 before = usdc.balanceOf(address(this));
        IERC3009(address(usdc)).receiveWithAuthorization(
            from, address(this), amount, validAfter, validBefore, nonce, v, r, s
        );
        _checkReceived(before, amount);
        _credit(from, amount);
        emit Deposited(from, from, amount);
    }

    // ---------------------------------------------------------------- withdrawals

    /// @notice Move `amount` from available to a pending withdrawal unlocking after the delay.
    ///         Requesting more restarts the caller's own delay.
    /// @param amount USDC base units.
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Account storage a = _accounts[msg.sender];
        if (amount > a.available) revert InsufficientAvailable(amount, a.available);
        a.available -= uint96(amount);
        a.pending += uint96(amount);
        a.unlockAt = uint40(block.timestamp) + withdrawalDelay;
        emit WithdrawalRequested(msg.sender, amount, a.pending, a.unlockAt);
    }

    /// @notice Return the whole pending withdrawal to the available balance.
    function cancelWithdrawal() external {
        Account storage a = _accounts[msg.sender];
        uint96 amount = a.pending;
        if (amount == 0) revert NoPendingWithdrawal();
        a.pending = 0;
        a.available += amount;
        emit WithdrawalCanceled(msg.sender, amount);
    }

    /// @notice Complete the pending withdrawal after its unlock time (less anything settlement
    ///         debited from it meanwhile). Works while paused: it is the customer's own exit.
    function withdraw() external nonReentrant {
        if (frozen[msg.sender]) revert AccountFrozen(msg.sender);
        Account storage a = _accounts[msg.sender];
        uint96 amount = a.pending;
        if (amount == 0) revert NoPendingWithdrawal();
        if (block.timestamp < a.unlockAt) revert WithdrawalLocked(a.unlockAt);
        a.pending = 0;
        totalEscrowed -= amount;
        usdc.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice Every bucket of a customer's balance.
    /// @return available Spendable now.
    /// @return pending Requested for withdrawal; still debitable by settlement until withdrawn.
    /// @return unlockAt When the pending withdrawal may be completed.
    function accountOf(address customer) external view returns (uint256 available, uint256 pending, uint40 unlockAt) {
        Account memory a = _accounts[customer];
        return (a.available, a.pending, a.unlockAt);
    }

    // ---------------------------------------------------------------- guardian and governor

    /// @notice Stop an account from withdrawing or claiming (incident response), here and wherever
    ///         `_afterFreeze` forwards it (Settlement: provider stake). Guardian.
    function freeze(address account) external restricted {
        frozen[account] = true;
        emit Frozen(account);
        _afterFreeze(account, true);
    }

    /// @notice Lift a freeze. Guardian.
    function unfreeze(address account) external restricted {
        frozen[account] = false;
        emit Unfrozen(account);
        _afterFreeze(account, false);
    }

    /// @notice Set the withdrawal delay (applies to requests made afterwards). Governor, delayed.
    /// @param delay Seconds, at least MIN_WITHDRAWAL_DELAY.
    function setWithdrawalDelay(uint40 delay) external restricted {
        if (delay < MIN_WITHDRAWAL_DELAY) revert DelayTooShort(delay, MIN_WITHDRAWAL_DELAY);
        withdrawalDelay = delay;
        emit WithdrawalDelaySet(delay);
    }

    /// @notice Halt deposits, settlement and SLA credits; own exits past their delays still work. Guardian.
    function pause() external restricted {
        _pause();
    }

    /// @notice Resume. Guardian.
    function unpause() external restricted {
        _unpause();
    }

    // ---------------------------------------------------------------- internals

    /// @dev Called after every freeze and unfreeze, so one guardian action reaches every exit.
    function _afterFreeze(address account, bool isFrozen) internal virtual;

    function _deposit(address payer, address customer, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        if (customer == address(0)) revert ZeroAddress();
        uint256 before = usdc.balanceOf(address(this));
        usdc.safeTransferFrom(payer, address(this), amount);
        _checkReceived(before, amount);
        _credit(customer, amount);
        emit Deposited(customer, payer, amount);
    }

    /// @dev Credits the available balance; the caller accounts for where the USDC came from.
    function _credit(address customer, uint256 amount) internal {
        _accounts[customer].available += SafeCast.toUint96(amount);
        totalEscrowed += amount;
    }

    function _checkReceived(uint256 before, uint256 amount) private view {
        uint256 received = usdc.balanceOf(address(this)) - before;
        if (received != amount) revert UnsupportedToken(amount, received);
    }
}

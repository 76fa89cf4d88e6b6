// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {IProviderStaking} from "./interfaces/IProviderStaking.sol";

/// @title ProviderStaking
/// @notice Providers bond USDC to be routable. Stake backs their promises: SLA credits (via
///         SlaCredits) and upheld disputes (via Settlement) are paid from it. Leaving takes an
///         unbonding delay, during which the stake stays slashable, so nobody can run from a slash.
/// @dev Only the protocol's own contracts (PROTOCOL role in the AccessManager) may slash, lock or
///      freeze. Stake locked for open disputes (by Settlement) or for unpaid SLA credits (arrears, by
///      SlaCredits) is reserved for them: it cannot be withdrawn, and a later SLA credit
///      (`slashUnlocked`) cannot take it either (docs/protocol.md, "Stake locks").
contract ProviderStaking is IProviderStaking, AccessManaged, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Floor on the unbonding delay. It must outlast the dispute window plus settlement lag;
    ///         a governor that could set it near zero would erase the slashing window (Galxe #207).
    uint40 public constant MIN_UNBONDING_DELAY = 1 days;

    /// @dev One slot per provider.
    struct Stake {
        uint96 bonded;
        uint96 unbonding;
        uint40 unbondingUnlockAt;
        bool jailed;
    }

    IERC20 public immutable usdc;
    IProviderRegistry public immutable registry;

    /// @notice Bonded stake needed to be routable, USDC base units.
    uint96 public minStake = 100e6;
    /// @notice Seconds between unbond and withdraw.
    uint40 public unbondingDelay = 14 days;
    /// @notice Sum of every provider's bonded and unbonding stake (equals the USDC this contract owes).
    uint256 public totalStaked;

    mapping(address provider => Stake) private _stakes;
    mapping(address provider => uint256) private _locked;
    /// @notice Accounts the guardian froze (through Settlement's `freeze`): they can neither start
    ///         unbonding nor withdraw stake until unfrozen. Their stake stays slashable.
    mapping(address account => bool) public frozen;

    event Staked(address indexed provider, address indexed payer, uint256 amount, uint256 bonded);
    event UnbondStarted(address indexed provider, uint256 amount, uint256 unbonding, uint40 unlockAt);
    event Rebonded(address indexed provider, uint256 amount, uint256 bonded);
    event StakeWithdrawn(address indexed provider, uint256 amount);
    event Slashed(address indexed provider, uint256 requested, uint256 paid, address indexed recipient, bytes32 reason);
    event Jailed(address indexed provider, uint256 shortfall);
    event Unjailed(address indexed provider);
    event StakeLocked(address indexed provider, uint256 amount, uint256 totalLocked);
    event StakeUnlocked(address indexed provider, uint256 amount, uint256 totalLocked);
    event MinStakeSet(uint96 minStake);
    event UnbondingDelaySet(uint40 delay);
    event Frozen(address indexed account);
    event Unfrozen(address indexed account);

    error ZeroAmount();
    error NotRegistered(address provider);
    error InsufficientBonded(uint256 requested, uint256 bonded);
    error InsufficientUnbonding(uint256 requested, uint256 unbonding);
    error StillUnbonding(uint40 unlockAt);
    error NothingToWithdraw();
    error UnsupportedToken(uint256 expected, uint256 received);
    error NotJailed(address provider);
    error BelowMinStake(uint256 bonded, uint256 minStake);
    error DelayTooShort(uint40 delay, uint40 minimum);
    error UnlockExceedsLocked(uint256 amount, uint256 locked);
    error AccountFrozen(address account);

    /// @param usdc_ The stake token (USDC).
    /// @param registry_ The provider registry.
    /// @param authority The AccessManager.
    constructor(IERC20 usdc_, IProviderRegistry registry_, address authority) AccessManaged(authority) {
        usdc = usdc_;
        registry = registry_;
    }

    // ---------------------------------------------------------------- providers

    /// @notice Bond `amount` USDC for the caller.
    /// @param amount USDC base units; the caller must have approved this contract.
    function stake(uint256 amount) external {
        stakeFor(msg.sender, amount);
    }

    /// @notice Bond `amount` USDC from the caller for `provider`. Never touches the provider's own
    ///         unbonding lock: topping up someone else's stake cannot delay their exit.
    /// @param provider A registered provider.
    /// @param amount USDC base units.
    function stakeFor(address provider, uint256 amount) public whenNotPaused nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (!registry.isRegistered(provider)) revert NotRegistered(provider);
        _pull(msg.sender, amount);
        Stake storage s = _stakes[provider];
        s.bonded += SafeCast.toUint96(amount);
        totalStaked += amount;
        emit Staked(provider, msg.sender, amount, s.bonded);
    }

    /// @notice Start unbonding `amount`; it can be withdrawn after `unbondingDelay` and stays
    ///         slashable until then. Unbonding more restarts the caller's own lock. Works while
    ///         paused: it is the provider's own exit, and it takes nothing out of reach (the stake
    ///         stays slashable and locked for disputes). A frozen provider cannot unbond.
    /// @param amount USDC base units of bonded stake.
    function unbond(uint256 amount) external {
        if (frozen[msg.sender]) revert AccountFrozen(msg.sender);
        if (amount == 0) revert ZeroAmount();
        Stake storage s = _stakes[msg.sender];
        if (amount > s.bonded) revert InsufficientBonded(amount, s.bonded);
        s.bonded -= uint96(amount);
        s.unbonding += uint96(amount);
        s.unbondingUnlockAt = uint40(block.timestamp) + unbondingDelay;
        emit UnbondStarted(msg.sender, amount, s.unbonding, s.unbondingUnlockAt);
    }

    /// @notice Move unbonding stake back to bonded (the unlock time of the rest is unchanged).
    /// @param amount USDC base units of unbonding stake.
    function rebond(uint256 amount) external whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        Stake storage s = _stakes[msg.sender];
        if (amount > s.unbonding) revert InsufficientUnbonding(amount, s.unbonding);
        s.unbonding -= uint96(amount);
        s.bonded += uint96(amount);
        emit Rebonded(msg.sender, amount, s.bonded);
    }

    /// @notice Withdraw stake whose unbonding delay has passed, less any part reserved for open
    ///         disputes. Works while paused: it is the provider's own exit after the delay. A frozen
    ///         provider cannot withdraw.
    function withdraw() external nonReentrant {
        if (frozen[msg.sender]) revert AccountFrozen(msg.sender);
        Stake storage s = _stakes[msg.sender];
        if (block.timestamp < s.unbondingUnlockAt) revert StillUnbonding(s.unbondingUnlockAt);
        uint256 amount = withdrawable(msg.sender);
        if (amount == 0) revert NothingToWithdraw();
        s.unbonding -= uint96(amount);
        totalStaked -= amount;
        usdc.safeTransfer(msg.sender, amount);
        emit StakeWithdrawn(msg.sender, amount);
    }

    /// @notice Leave jail once bonded stake not locked by open disputes is back at the minimum.
    ///         Locked stake does not count: it already answers for the disputes, and an SLA credit
    ///         that found it locked jailed the provider in the first place.
    function unjail() external {
        Stake storage s = _stakes[msg.sender];
        if (!s.jailed) revert NotJailed(msg.sender);
        uint256 locked = _locked[msg.sender];
        uint256 freeBonded = s.bonded > locked ? s.bonded - locked : 0;
        if (freeBonded < minStake) revert BelowMinStake(freeBonded, minStake);
        s.jailed = false;
        emit Unjailed(msg.sender);
    }

    // ---------------------------------------------------------------- protocol (Settlement, SlaCredits)

    /// @inheritdoc IProviderStaking
    function slash(address provider, uint256 amount, address recipient, bytes32 reason)
        external
        restricted
        nonReentrant
        returns (uint256 paid)
    {
        return _slash(provider, amount, type(uint256).max, recipient, reason);
    }

    /// @inheritdoc IProviderStaking
    function slashUnlocked(address provider, uint256 amount, address recipient, bytes32 reason)
        external
        restricted
        nonReentrant
        returns (uint256 paid)
    {
        return _slash(provider, amount, unlockedStake(provider), recipient, reason);
    }

    /// @inheritdoc IProviderStaking
    function lock(address provider, uint256 amount) external restricted {
        _locked[provider] += amount;
        emit StakeLocked(provider, amount, _locked[provider]);
    }

    /// @inheritdoc IProviderStaking
    function unlock(address provider, uint256 amount) external restricted {
        uint256 locked = _locked[provider];
        if (amount > locked) revert UnlockExceedsLocked(amount, locked);
        _locked[provider] = locked - amount;
        emit StakeUnlocked(provider, amount, locked - amount);
    }

    /// @inheritdoc IProviderStaking
    function setFrozen(address account, bool isFrozen) external restricted {
        frozen[account] = isFrozen;
        if (isFrozen) emit Frozen(account);
        else emit Unfrozen(account);
    }

    /// @dev Takes min(amount, cap) from bonded first, then unbonding, and sends it to `recipient`.
    ///      Jails the provider when that is less than `amount`: it can no longer pay what it owes.
    function _slash(address provider, uint256 amount, uint256 cap, address recipient, bytes32 reason)
        private
        returns (uint256 paid)
    {
        Stake storage s = _stakes[provider];
        uint256 take = amount < cap ? amount : cap;
        uint256 fromBonded = take < s.bonded ? take : s.bonded;
        uint256 rest = take - fromBonded;
        uint256 fromUnbonding = rest < s.unbonding ? rest : s.unbonding;
        paid = fromBonded + fromUnbonding;
        s.bonded -= uint96(fromBonded);
        s.unbonding -= uint96(fromUnbonding);
        totalStaked -= paid;
        if (paid < amount) {
            s.jailed = true;
            emit Jailed(provider, amount - paid);
        }
        if (paid != 0) usdc.safeTransfer(recipient, paid);
        emit Slashed(provider, amount, paid, recipient, reason);
    }

    // ---------------------------------------------------------------- views

    /// @notice A provider's stake: bonded, unbonding, when unbonding unlocks, jailed, locked by disputes.
    function stakeOf(address provider)
        external
        view
        returns (uint256 bonded, uint256 unbonding, uint40 unlockAt, bool jailed, uint256 locked)
    {
        Stake memory s = _stakes[provider];
        return (s.bonded, s.unbonding, s.unbondingUnlockAt, s.jailed, _locked[provider]);
    }

    /// @notice Unbonding stake the provider could withdraw once unlocked: open disputes keep enough
    ///         stake (bonded first, then unbonding) in place to pay them.
    function withdrawable(address provider) public view returns (uint256) {
        Stake memory s = _stakes[provider];
        uint256 locked = _locked[provider];
        uint256 reserved = locked > s.bonded ? locked - s.bonded : 0;
        return reserved >= s.unbonding ? 0 : s.unbonding - reserved;
    }

    /// @notice Stake (bonded plus unbonding) beyond what open disputes have locked: what an SLA
    ///         credit may take (`slashUnlocked`). Zero when the locks exceed the stake.
    function unlockedStake(address provider) public view returns (uint256) {
        Stake memory s = _stakes[provider];
        uint256 total = uint256(s.bonded) + s.unbonding;
        uint256 locked = _locked[provider];
        return total > locked ? total - locked : 0;
    }

    /// @inheritdoc IProviderStaking
    function isActive(address provider) external view returns (bool) {
        Stake memory s = _stakes[provider];
        return !s.jailed && s.bonded >= minStake && registry.isRegistered(provider);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Set the bonded stake needed to be routable. Governor, delayed.
    /// @param minStake_ USDC base units.
    function setMinStake(uint96 minStake_) external restricted {
        minStake = minStake_;
        emit MinStakeSet(minStake_);
    }

    /// @notice Set the unbonding delay (applies to unbonds started afterwards). Governor, delayed.
    /// @param delay Seconds, at least MIN_UNBONDING_DELAY.
    function setUnbondingDelay(uint40 delay) external restricted {
        if (delay < MIN_UNBONDING_DELAY) revert DelayTooShort(delay, MIN_UNBONDING_DELAY);
        unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }

    /// @notice Halt new stake (stake, stakeFor, rebond). Exits (unbond, withdraw) go on. Guardian.
    function pause() external restricted {
        _pause();
    }

    /// @notice Resume. Guardian.
    function unpause() external restricted {
        _unpause();
    }

    /// @dev Pulls exactly `amount` or reverts: fee-on-transfer tokens are not supported.
    function _pull(address from, uint256 amount) private {
        uint256 before = usdc.balanceOf(address(this));
        usdc.safeTransferFrom(from, address(this), amount);
        uint256 received = usdc.balanceOf(address(this)) - before;
        if (received != amount) revert UnsupportedToken(amount, received);
    }
}

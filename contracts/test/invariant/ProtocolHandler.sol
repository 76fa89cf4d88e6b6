// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "../utils/Fixture.sol";
import {TestUSDC} from "../../src/token/TestUSDC.sol";
import {TollgateAccessManager} from "../../src/governance/TollgateAccessManager.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ProviderStaking} from "../../src/ProviderStaking.sol";
import {Settlement} from "../../src/Settlement.sol";
import {SlaCredits} from "../../src/SlaCredits.sol";
import {UsageBatch, UsageEntry, SlaReport, CustomerSpend} from "../../src/types/Usage.sol";

/// @title ProtocolHandler
/// @notice Drives the real deployed protocol for the invariant campaign (ProtocolInvariants.t.sol):
///         4 customers, 3 providers, an unregistered "outsider", a gateway whose three candidate
///         signer keys the test holds (vm.sign), an attacker key, the arbiter, the protocol guardian,
///         the governor and the TestUSDC guardian (blacklist, pause).
/// @dev Every protocol call is wrapped in try/catch, so a handler call never reverts and the
///      campaign's calls are not wasted. Before each call the handler works out, from its own model
///      (written independently of the contracts: prices per time interval, balances, the SLA formula,
///      the dispute refund order, the token's blacklist/pause), what must happen; afterwards it
///      compares. Disagreements are counted per category in `violations`, which the invariants read
///      (a failed assert inside a handler would only be an ignored revert with failOnRevert=false).
///      Inherits Fixture only for its independent EIP-712 hashing and signing helpers; the test
///      contract deploys and passes the contracts in.
contract ProtocolHandler is Fixture {
    // ---------------------------------------------------------------- model constants
    // Deployment defaults; ProtocolInvariants.setUp asserts the contracts agree.
    uint256 internal constant WITHDRAWAL_DELAY = 24 hours;
    uint256 internal constant UNBONDING_DELAY = 14 days;
    uint256 internal constant RESOLUTION_PERIOD = 7 days;
    uint256 internal constant PRICE_NOTICE = 24 hours;
    uint256 internal constant PRICE_GRACE = 24 hours;
    uint256 internal constant MIN_STAKE = 100e6;
    uint256 internal constant MAX_FEE = 1_000;
    uint256 internal constant BPS = 10_000;
    // Standard SLA policy (every tier): 99.9%, 0.1% steps, 5%/step, TTFT 1.5 s -> 5%, cap 25%, >= 1,000 requests.
    uint256 internal constant SLA_TARGET = 999_000;
    uint256 internal constant SLA_STEP = 1_000;
    uint256 internal constant SLA_TTFT = 1_500;
    uint256 internal constant SLA_MIN_REQ = 1_000;
    uint256 internal constant SLA_PER_STEP = 500;
    uint256 internal constant SLA_TTFT_CREDIT = 500;
    uint256 internal constant SLA_CAP = 2_500;

    bytes4 internal constant PANIC = 0x4e487b71;

    // Violation categories (see ProtocolInvariants for what each one guards).
    bytes32 public constant V_PANIC = "panic";
    bytes32 public constant V_PAUSE = "pause";
    bytes32 public constant V_SIGNER = "signer";
    bytes32 public constant V_REPLAY = "replay";
    bytes32 public constant V_ENTRY = "entry";
    bytes32 public constant V_DELAY = "delay";
    bytes32 public constant V_SLASH = "slash";
    bytes32 public constant V_SLA = "sla";
    bytes32 public constant V_DISPUTE = "dispute";
    bytes32 public constant V_PRICE = "price";
    bytes32 public constant V_FEE = "fee";
    bytes32 public constant V_CAP = "cap";
    bytes32 public constant V_STAKE = "stake";
    bytes32 public constant V_EXIT = "exit";
    bytes32 public constant V_OUTCOME = "outcome";
    bytes32 public constant V_LOCK = "lock";

    // ---------------------------------------------------------------- actors

    address[4] public customers;
    address[3] public providers;
    address public outsider;
    address public donor;
    address public treasury;
    uint256[3] internal signerKeys;
    uint256 internal attackerKey;
    uint256 public currentSigner;
    bool public signerRevoked;

    // ---------------------------------------------------------------- ghosts

    uint256 public ghostTime;
    uint256 public initialSettlementOwed;
    uint256 public initialStaked;

    uint256 public ghost_deposited;
    uint256 public ghost_escrowWithdrawn;
    uint256 public ghost_claimed;
    uint256 public ghost_staked;
    uint256 public ghost_stakeWithdrawn;
    uint256 public ghost_slashed;
    uint256 public ghost_slashedToSettlement;
    uint256 public ghost_feesWithdrawn;
    uint256 public ghost_donatedSettlement;
    uint256 public ghost_donatedStaking;
    uint256 public ghost_slaCredited;
    uint256 public ghost_slaCapAllowance;
    uint256 public ghost_slaDust;
    uint256 public ghost_slaPaidWhileSettlementPaused;
    uint256 public ghost_disputedAmount;
    uint256 public ghost_refundsPaid;

    mapping(bytes32 category => uint256) public violations;
    mapping(bytes32 category => string) public lastViolation;
    mapping(bytes32 action => uint256) public okCount;
    mapping(bytes32 action => uint256) public tryCount;

    /// @dev Per provider, how far its stake was below its dispute locks after the last call
    ///      (max(0, locked - bonded - unbonding)). Only opening a dispute may make it grow.
    mapping(address provider => uint256) internal _lockShortfall;
    bool internal _lockMayGrow;

    mapping(address customer => uint256) public ghost_requested;
    mapping(address customer => uint256) public ghost_unlockAt;

    struct BatchGhost {
        uint64 id;
        uint64 settledAt;
        uint64 vestsAt;
        uint64 deadline;
        uint16 feeBps;
        uint8 keyIdx;
        uint8 currentKeyIdx;
        uint256 debits;
        uint256 credits;
        uint256 fees;
        uint256 expectedCharged;
        uint256 expectedFees;
    }

    BatchGhost[] internal _batchGhosts;
    mapping(uint64 batchId => UsageEntry[]) internal _batchEntries;
    mapping(uint64 batchId => bytes) internal _batchSig;

    struct EntryGhost {
        uint64 batchId;
        uint32 index;
        uint64 vestsAt;
        uint16 feeBps;
        uint256 charge;
        bool skipped;
        bool disputed;
    }

    EntryGhost[] internal _entryGhosts;

    struct DisputeGhost {
        uint256 id;
        address customer;
        address provider;
        uint256 amount;
        uint256 charge;
        uint16 feeBps;
        bool open;
        uint256 resolveBy;
    }

    DisputeGhost[] internal _disputes;

    /// @dev The price model: the provider's price was in force during [from, until); a charge at
    ///      time t is acceptable iff both prices are at or below those of one interval that was in
    ///      force at some moment of (t - grace, t].
    struct PriceEpoch {
        uint64 from;
        uint64 until;
        uint48 pp;
        uint48 cp;
    }

    struct PriceModel {
        bool delisted;
        bool lastFromSchedule;
        uint64 delistAt;
    }

    mapping(address provider => PriceEpoch[]) internal _epochs;
    mapping(address provider => PriceModel) internal _pm;
    mapping(bytes32 reportKey => bool) internal _slaKeyUsed;

    /// @dev Every SLA report that paid, to spot reports paying again for time already credited.
    struct SlaPaid {
        address provider;
        uint64 windowStart;
        uint64 windowEnd;
        uint256 paid;
    }

    SlaPaid[] internal _slaPaid;

    /// @dev Every report that left arrears, with the lists its latest `ArrearsSet` published
    ///      (recomputed here independently: the unpaid rest of each customer's credit).
    bytes32[] internal _arrearsKeys;
    mapping(bytes32 reportKey => address) internal _arrearsProvider;
    mapping(bytes32 reportKey => address[]) internal _arrearsCustomers;
    mapping(bytes32 reportKey => uint256[]) internal _arrearsAmounts;
    mapping(bytes32 reportKey => uint256) internal _arrearsOwed;
    /// @notice Sum of the handler's own record of unpaid SLA credits, per provider.
    mapping(address provider => uint256) public ghost_arrears;
    /// @notice Stake paid out by SLA reports for time another paid report of the same provider covered.
    uint256 public ghost_slaPaidForOverlappingWindows;

    struct Deployment {
        TestUSDC usdc;
        TollgateAccessManager manager;
        ProviderRegistry registry;
        ProviderStaking staking;
        Settlement settlement;
        SlaCredits sla;
        address admin;
        uint256[3] signerKeys;
        uint256 attackerKey;
        address[4] customers;
        address[3] providers;
        address outsider;
        address donor;
        address treasury;
    }

    constructor(Deployment memory d) {
        usdc = d.usdc;
        manager = d.manager;
        registry = d.registry;
        staking = d.staking;
        settlement = d.settlement;
        sla = d.sla;
        admin = d.admin;
        signerKeys = d.signerKeys;
        gatewayKey = d.signerKeys[0];
        gatewaySigner = vm.addr(d.signerKeys[0]);
        attackerKey = d.attackerKey;
        customers = d.customers;
        providers = d.providers;
        outsider = d.outsider;
        donor = d.donor;
        treasury = d.treasury;
        ghostTime = block.timestamp;
        initialSettlementOwed = settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees();
        initialStaked = staking.totalStaked();
        for (uint256 i; i < 3; ++i) {
            // The test listed MODEL for each provider at the fixture prices before deploying us.
            _epochs[providers[i]].push(PriceEpoch(uint64(block.timestamp), type(uint64).max, PROMPT_PRICE, COMPLETION_PRICE));
        }
    }

    /// @dev Fixture.setUp deploys a protocol; the handler must never do that.
    function setUp() public pure override {}

    /// @dev A report paid short leaves the unpaid rest of each credit as its arrears, locked; one
    ///      paid in full leaves the locks alone.
    function _checkSlaArrears(SlaReport memory rep, SlaCase memory s, uint256 paid, uint256 distributed) internal {
        if (paid >= s.owed) {
            (,,,, uint256 locked1) = staking.stakeOf(rep.provider);
            if (locked1 != s.locked0) _flag(V_SLA, "a fully paid SLA credit changed the stake locks");
            return;
        }
        address[] memory cs = new address[](rep.spends.length);
        uint256[] memory left = new uint256[](rep.spends.length);
        for (uint256 i; i < rep.spends.length; ++i) {
            cs[i] = rep.spends[i].customer;
            left[i] = s.credits[i] - s.credits[i] * paid / s.owed;
        }
        bytes32 key = keccak256(abi.encode(rep.gatewayId, rep.provider, rep.tier, rep.windowStart));
        _recordArrears(key, rep.provider, cs, left, s.owed - distributed, s.locked0);
    }

    /// @dev Records (or replaces) a report's arrears in the handler's model and checks the
    ///      contract agrees: the same total, locked on top of the locks before, counted per provider.
    function _recordArrears(
        bytes32 key,
        address provider,
        address[] memory cs,
        uint256[] memory left,
        uint256 owed,
        uint256 lockedBefore
    ) internal {
        if (_arrearsProvider[key] == address(0)) _arrearsKeys.push(key);
        _arrearsProvider[key] = provider;
        _arrearsCustomers[key] = cs;
        _arrearsAmounts[key] = left;
        _arrearsOwed[key] = owed;
        ghost_arrears[provider] += owed;
        (, uint256 onChain) = sla.arrearsOfReport(key);
        (,,,, uint256 locked1) = staking.stakeOf(provider);
        if (onChain != owed) _flag(V_SLA, "report arrears other than the unpaid rest of its credits");
        if (locked1 != lockedBefore + owed) _flag(V_SLA, "unpaid SLA credit not locked");
        if (sla.arrearsOf(provider) != ghost_arrears[provider]) _flag(V_SLA, "arrearsOf != the sum of the provider's report arrears");
    }

    /// @notice Collect one report's arrears (anyone may): pays min(arrears, stake beyond the other
    ///         locks) pro rata; what stays unpaid stays locked.
    function collectArrears(uint256 seed) external step {
        if (_arrearsKeys.length == 0) return;
        _collectArrears(_arrearsKeys[seed % _arrearsKeys.length], true);
    }

    /// @notice Collect every report's arrears (the end-of-run exit, after every block is lifted).
    function collectAllArrears() external {
        for (uint256 i; i < _arrearsKeys.length; ++i) {
            _collectArrears(_arrearsKeys[i], false);
        }
    }

    struct Collect {
        bytes32 key;
        address provider;
        uint256 owed;
        uint256 expectedPaid;
        uint256 locked0;
        uint256 fees0;
        bool expectOk;
        uint256[4] avail0;
    }

    function _collectArrears(bytes32 key, bool modelled) internal {
        if (_arrearsOwed[key] == 0) return;
        Collect memory k;
        k.key = key;
        k.owed = _arrearsOwed[key];
        k.provider = _arrearsProvider[key];
        (uint256 b, uint256 u,,, uint256 locked0) = staking.stakeOf(k.provider);
        k.locked0 = locked0;
        // Every report's arrears is one pool behind the dispute locks: only those hold stake back.
        uint256 otherLocks = locked0 - ghost_arrears[k.provider];
        uint256 unlocked = b + u > otherLocks ? b + u - otherLocks : 0;
        k.expectedPaid = k.owed < unlocked ? k.owed : unlocked;
        k.expectOk = !sla.paused() && !settlement.paused()
            && !(k.expectedPaid > 0 && !_tokenOk(address(staking), address(settlement), address(staking)));
        for (uint256 i; i < 4; ++i) {
            (k.avail0[i],,) = settlement.accountOf(customers[i]);
        }
        k.fees0 = settlement.protocolFees();
        if (modelled) tryCount["collectArrears"]++;
        vm.prank(_anyActor(uint256(key)));
        try sla.collectArrears(key, _arrearsCustomers[key], _arrearsAmounts[key]) returns (uint256 paid) {
            if (modelled) okCount["collectArrears"]++;
            if (!k.expectOk) _flag(V_OUTCOME, "arrears collected while they must not be");
            _checkCollect(k, paid);
        } catch (bytes memory err) {
            _onRevert(err, "collectArrears");
            if (k.expectOk) _flag(V_OUTCOME, "a valid arrears collection reverted");
        }
    }

    function _checkCollect(Collect memory k, uint256 paid) internal {
        if (paid != k.expectedPaid) _flag(V_SLA, "arrears paid other than min(owed, stake beyond other locks)");
        address[] memory cs = _arrearsCustomers[k.key];
        uint256[] memory left = _arrearsAmounts[k.key];
        uint256[4] memory want;
        uint256 distributed;
        for (uint256 i; i < cs.length; ++i) {
            uint256 c = paid < k.owed ? left[i] * paid / k.owed : left[i];
            want[_custIdx(cs[i])] += c;
            distributed += c;
            left[i] -= c;
        }
        for (uint256 i; i < 4; ++i) {
            (uint256 a,,) = settlement.accountOf(customers[i]);
            if (a != k.avail0[i] + want[i]) _flag(V_SLA, "arrears booked other than pro rata");
        }
        if (settlement.protocolFees() != k.fees0 + (paid - distributed)) _flag(V_SLA, "arrears rounding dust misbooked");
        ghost_arrears[k.provider] -= k.owed;
        _arrearsOwed[k.key] = 0;
        if (paid < k.owed) _recordArrears(k.key, k.provider, cs, left, k.owed - distributed, k.locked0 - k.owed);
        ghost_slaCredited += distributed;
        ghost_slaDust += paid - distributed;
        ghost_slashed += paid;
        ghost_slashedToSettlement += paid;
    }

    modifier step() {
        vm.warp(ghostTime);
        _;
        ghostTime = block.timestamp;
        _checkLockCoverage();
    }

    /// @dev Dispute locks are a claim on stake that only the disputes may spend: no withdrawal, SLA
    ///      credit or other dispute's refund may push a provider's stake further below its locks.
    function _checkLockCoverage() internal {
        for (uint256 i; i < 3; ++i) {
            address p = providers[i];
            (uint256 b, uint256 u,,, uint256 l) = staking.stakeOf(p);
            l -= sla.arrearsOf(p); // SLA arrears are locked too, but are no dispute's claim
            uint256 shortfall = l > b + u ? l - (b + u) : 0;
            if (shortfall > _lockShortfall[p] && !_lockMayGrow) {
                _flag(V_LOCK, "stake fell further below its dispute locks without a dispute opening");
            }
            _lockShortfall[p] = shortfall;
        }
        _lockMayGrow = false;
    }

    // ================================================================ customer escrow

    function deposit(uint256 cSeed, uint256 amount) external step {
        address c = customers[cSeed % 4];
        amount = _between(amount, 1, 2_000e6);
        _mintTo(c, amount);
        _deposit(c, c, amount);
    }

    function depositFor(uint256 payerSeed, uint256 cSeed, uint256 amount) external step {
        address payer = _anyActor(payerSeed);
        address c = customers[cSeed % 4];
        amount = _between(amount, 1, 2_000e6);
        _mintTo(payer, amount);
        _deposit(payer, c, amount);
    }

    function _deposit(address payer, address c, uint256 amount) internal {
        bool paused = settlement.paused();
        bool expectOk = !paused && usdc.balanceOf(payer) >= amount
            && _tokenOk(payer, address(settlement), address(settlement));
        (uint256 a0, uint256 p0,) = settlement.accountOf(c);
        uint256 tot0 = settlement.totalEscrowed();
        bool ok;
        tryCount["deposit"]++;
        if (payer == c) {
            vm.prank(payer);
            try settlement.deposit(amount) {
                ok = true;
            } catch (bytes memory err) {
                _onRevert(err, "deposit");
            }
        } else {
            vm.prank(payer);
            try settlement.depositFor(c, amount) {
                ok = true;
            } catch (bytes memory err) {
                _onRevert(err, "depositFor");
            }
        }
        if (ok) {
            okCount["deposit"]++;
            ghost_deposited += amount;
            if (paused) _flag(V_PAUSE, "deposit succeeded while Settlement was paused");
            (uint256 a1, uint256 p1,) = settlement.accountOf(c);
            if (a1 != a0 + amount || p1 != p0 || settlement.totalEscrowed() != tot0 + amount) {
                _flag(V_OUTCOME, "deposit credited a wrong amount");
            }
        }
        if (ok != expectOk && !(ok && paused)) _flag(V_OUTCOME, ok ? "deposit succeeded unexpectedly" : "valid deposit reverted");
    }

    function requestWithdrawal(uint256 cSeed, uint256 amount) external step {
        address c = customers[cSeed % 4];
        (uint256 a0, uint256 p0,) = settlement.accountOf(c);
        bool tooMuch = amount % 16 == 0;
        if (!tooMuch && a0 == 0) return;
        amount = tooMuch ? a0 + 1 : _between(amount, 1, a0);
        tryCount["requestWithdrawal"]++;
        vm.prank(c);
        try settlement.requestWithdrawal(amount) {
            okCount["requestWithdrawal"]++;
            if (tooMuch) _flag(V_OUTCOME, "requested more than available");
            ghost_requested[c] += amount;
            ghost_unlockAt[c] = block.timestamp + WITHDRAWAL_DELAY;
            (uint256 a1, uint256 p1, uint40 u1) = settlement.accountOf(c);
            if (u1 != ghost_unlockAt[c]) _flag(V_DELAY, "unlockAt is not now + withdrawalDelay");
            if (a1 != a0 - amount || p1 != p0 + amount) _flag(V_OUTCOME, "requestWithdrawal moved a wrong amount");
        } catch (bytes memory err) {
            _onRevert(err, "requestWithdrawal");
            if (!tooMuch) _flag(V_OUTCOME, "requestWithdrawal of an available amount reverted");
        }
    }

    function cancelWithdrawal(uint256 cSeed) external step {
        address c = customers[cSeed % 4];
        (uint256 a0, uint256 p0,) = settlement.accountOf(c);
        tryCount["cancelWithdrawal"]++;
        vm.prank(c);
        try settlement.cancelWithdrawal() {
            okCount["cancelWithdrawal"]++;
            if (p0 == 0) _flag(V_OUTCOME, "cancelled an empty withdrawal");
            (uint256 a1, uint256 p1,) = settlement.accountOf(c);
            if (a1 != a0 + p0 || p1 != 0) _flag(V_OUTCOME, "cancelWithdrawal moved a wrong amount");
            ghost_requested[c] = 0;
        } catch (bytes memory err) {
            _onRevert(err, "cancelWithdrawal");
            if (p0 != 0) _flag(V_OUTCOME, "cancelWithdrawal of a pending withdrawal reverted");
        }
    }

    /// @param mode 0: as is; 1: warp to one second before the unlock; 2: warp to the unlock.
    function withdraw(uint256 cSeed, uint256 mode) external step {
        address c = customers[cSeed % 4];
        (, uint256 p0, uint40 u0) = settlement.accountOf(c);
        mode %= 3;
        if (mode == 1 && u0 > block.timestamp + 1) vm.warp(u0 - 1);
        if (mode == 2 && u0 > block.timestamp) vm.warp(u0);
        bool frozen = settlement.frozen(c);
        bool expectOk = p0 > 0 && block.timestamp >= u0 && !frozen
            && _tokenOk(address(settlement), c, address(settlement));
        uint256 bal0 = usdc.balanceOf(c);
        tryCount["withdraw"]++;
        vm.prank(c);
        try settlement.withdraw() {
            okCount["withdraw"]++;
            uint256 paid = _sub(usdc.balanceOf(c), bal0);
            ghost_escrowWithdrawn += paid;
            if (block.timestamp < ghost_unlockAt[c]) _flag(V_DELAY, "escrow withdrawn before its delay");
            if (paid > ghost_requested[c]) _flag(V_DELAY, "withdrew more than was requested");
            if (paid != p0) _flag(V_OUTCOME, "withdraw paid other than the pending amount");
            if (frozen) _flag(V_PAUSE, "a frozen account withdrew");
            ghost_requested[c] = 0;
        } catch (bytes memory err) {
            _onRevert(err, "withdraw");
            if (expectOk) _flag(V_EXIT, "a customer's unlocked, unfrozen withdrawal reverted");
        }
    }

    // ================================================================ provider staking

    function stake(uint256 pSeed, uint256 payerSeed, uint256 amount) external step {
        address p = providers[pSeed % 3];
        amount = _between(amount, 1, 3_000e6);
        address payer = payerSeed % 4 == 0 ? _anyActor(payerSeed >> 2) : p;
        _mintTo(payer, amount);
        (uint256 b0, uint256 u0, uint40 lock0,,) = staking.stakeOf(p);
        bool paused = staking.paused();
        bool expectOk = !paused && usdc.balanceOf(payer) >= amount && _tokenOk(payer, address(staking), address(staking));
        bool ok;
        tryCount["stake"]++;
        if (payer == p) {
            vm.prank(p);
            try staking.stake(amount) {
                ok = true;
            } catch (bytes memory err) {
                _onRevert(err, "stake");
            }
        } else {
            vm.prank(payer);
            try staking.stakeFor(p, amount) {
                ok = true;
            } catch (bytes memory err) {
                _onRevert(err, "stakeFor");
            }
        }
        if (ok) {
            okCount["stake"]++;
            ghost_staked += amount;
            (uint256 b1, uint256 u1, uint40 lock1,,) = staking.stakeOf(p);
            if (b1 != b0 + amount || u1 != u0) _flag(V_OUTCOME, "stake bonded a wrong amount");
            if (lock1 != lock0) _flag(V_STAKE, "staking restarted the provider's unbonding lock");
            if (paused) _flag(V_PAUSE, "stake succeeded while staking was paused");
        } else if (expectOk) {
            _flag(V_OUTCOME, "valid stake reverted");
        }
    }

    function unbond(uint256 pSeed, uint256 amount) external step {
        address p = providers[pSeed % 3];
        (uint256 b0, uint256 u0,,,) = staking.stakeOf(p);
        if (b0 == 0) return;
        amount = _between(amount, 1, b0);
        // Unbonding is the provider's own exit: it works while paused, but not while frozen.
        bool frozen = staking.frozen(p);
        tryCount["unbond"]++;
        vm.prank(p);
        try staking.unbond(amount) {
            okCount["unbond"]++;
            if (frozen) _flag(V_PAUSE, "a frozen provider unbonded");
            (uint256 b1, uint256 u1, uint40 lock1,,) = staking.stakeOf(p);
            if (b1 != b0 - amount || u1 != u0 + amount) _flag(V_OUTCOME, "unbond moved a wrong amount");
            if (lock1 != block.timestamp + UNBONDING_DELAY) _flag(V_DELAY, "unbonding lock is not now + delay");
        } catch (bytes memory err) {
            _onRevert(err, "unbond");
            if (!frozen) _flag(V_EXIT, "an unfrozen provider's unbond reverted (paused or not)");
        }
    }

    function rebond(uint256 pSeed, uint256 amount) external step {
        address p = providers[pSeed % 3];
        (uint256 b0, uint256 u0, uint40 lock0,,) = staking.stakeOf(p);
        if (u0 == 0) return;
        amount = _between(amount, 1, u0);
        bool paused = staking.paused();
        tryCount["rebond"]++;
        vm.prank(p);
        try staking.rebond(amount) {
            okCount["rebond"]++;
            if (paused) _flag(V_PAUSE, "rebond succeeded while staking was paused");
            (uint256 b1, uint256 u1, uint40 lock1,,) = staking.stakeOf(p);
            if (b1 != b0 + amount || u1 != u0 - amount || lock1 != lock0) _flag(V_OUTCOME, "rebond moved a wrong amount");
        } catch (bytes memory err) {
            _onRevert(err, "rebond");
            if (!paused) _flag(V_OUTCOME, "valid rebond reverted");
        }
    }

    /// @param mode 0: as is; 1: warp to one second before the unlock; 2: warp to the unlock.
    function withdrawStake(uint256 pSeed, uint256 mode) external step {
        address p = providers[pSeed % 3];
        (uint256 b0, uint256 u0, uint40 lock0,, uint256 locked0) = staking.stakeOf(p);
        mode %= 3;
        if (mode == 1 && lock0 > block.timestamp + 1) vm.warp(lock0 - 1);
        if (mode == 2 && lock0 > block.timestamp) vm.warp(lock0);
        uint256 reserved = locked0 > b0 ? locked0 - b0 : 0;
        uint256 expected = reserved >= u0 ? 0 : u0 - reserved;
        bool frozen = staking.frozen(p);
        if (frozen != settlement.frozen(p)) _flag(V_PAUSE, "a guardian freeze did not reach ProviderStaking");
        bool expectOk =
            block.timestamp >= lock0 && expected > 0 && !frozen && _tokenOk(address(staking), p, address(staking));
        uint256 bal0 = usdc.balanceOf(p);
        tryCount["withdrawStake"]++;
        vm.prank(p);
        try staking.withdraw() {
            okCount["withdrawStake"]++;
            uint256 paid = _sub(usdc.balanceOf(p), bal0);
            ghost_stakeWithdrawn += paid;
            if (block.timestamp < lock0) _flag(V_DELAY, "stake withdrawn before its unbonding delay");
            if (frozen) _flag(V_PAUSE, "a frozen provider withdrew stake");
            if (paid != expected) _flag(V_STAKE, "stake withdrawal paid other than unbonding minus reserved");
            (uint256 b1, uint256 u1,,,) = staking.stakeOf(p);
            if (b0 + u0 >= locked0 && b1 + u1 < locked0) _flag(V_STAKE, "withdrawal dug into stake locked by disputes");
        } catch (bytes memory err) {
            _onRevert(err, "withdrawStake");
            if (expectOk) _flag(V_EXIT, "a provider's unlocked stake withdrawal reverted");
        }
    }

    function unjail(uint256 pSeed) external step {
        address p = providers[pSeed % 3];
        (uint256 b0,,, bool jailed, uint256 locked) = staking.stakeOf(p);
        // Stake locked by open disputes does not count towards leaving jail.
        bool expectOk = jailed && b0 >= locked + MIN_STAKE;
        tryCount["unjail"]++;
        vm.prank(p);
        try staking.unjail() {
            okCount["unjail"]++;
            if (!expectOk) _flag(V_OUTCOME, "unjail succeeded unexpectedly");
        } catch (bytes memory err) {
            _onRevert(err, "unjail");
            if (expectOk) _flag(V_OUTCOME, "valid unjail reverted");
        }
    }

    // ================================================================ settlement

    struct Expect {
        bool[] skip;
        uint256[] charge;
        uint256[4] custDebit;
        uint256[3] provCredit;
        uint256 charged;
        uint256 fees;
        uint256 feeBps;
    }

    struct Snap {
        uint256[4] cust;
        uint256[3] earn;
        uint256 fees;
        uint256 escrowed;
        uint256 earnings;
        uint256 held;
    }

    /// @notice Settle a signed batch of 1-5 random entries: prices at, below or above the published
    ///         ones, customers sometimes unable to pay, sometimes an unregistered provider; now and then
    ///         signed by a stale or attacker key, replayed, out of order or expired.
    function settleBatch(uint256 seed) external step {
        uint256 r = uint256(keccak256(abi.encode(seed, "batch")));
        uint64 next = settlement.nextBatchId(GATEWAY_ID);
        uint256 idMode = r % 32;
        if (idMode == 0 && _batchGhosts.length > 0) {
            _replay(r >> 5);
            return;
        }
        UsageEntry[] memory es = _buildEntries(seed);
        uint64 id = next;
        if (idMode == 1) id = next + 1;
        if (idMode == 2 && next > 0) id = next - 1;
        uint256 keyMode = (r >> 8) % 16;
        uint256 keyIdx = keyMode == 0 ? (currentSigner + 1 + (r >> 16) % 2) % 3 : keyMode == 1 ? 3 : currentSigner;
        UsageBatch memory b = _batch(id, es);
        if ((r >> 24) % 32 == 0) b.deadline = uint64(block.timestamp - 1);
        bytes memory sig = _signBatch(b, keyIdx < 3 ? signerKeys[keyIdx] : attackerKey);
        _submit(b, sig, keyIdx, next);
    }

    function _submit(UsageBatch memory b, bytes memory sig, uint256 keyIdx, uint64 next) internal {
        bool goodKey = keyIdx == currentSigner && !signerRevoked;
        bool paused = settlement.paused();
        bool validAuth = goodKey && b.batchId == next && b.deadline >= block.timestamp && !paused;
        Expect memory ex = _expect(b.entries);
        Snap memory s0 = _snap();
        tryCount["settleBatch"]++;
        try settlement.settleBatch(b, sig) {
            okCount["settleBatch"]++;
            if (!goodKey) _flag(V_SIGNER, "a batch not signed by the current signer settled");
            if (b.batchId != next) _flag(V_REPLAY, "a batch id other than the next one settled");
            if (paused) _flag(V_PAUSE, "a batch settled while Settlement was paused");
            if (b.deadline < block.timestamp) _flag(V_OUTCOME, "an expired batch settled");
            _checkSettled(b, ex, s0);
            _recordBatch(b, sig, ex, s0, keyIdx);
        } catch (bytes memory err) {
            _onRevert(err, "settleBatch");
            bytes4 sel = _sel(err);
            if (goodKey && sel == Settlement.InvalidSignature.selector) {
                _flag(V_SIGNER, "the current signer's batch was refused as badly signed");
            }
            if (validAuth) {
                if (sel == Settlement.BatchCapExceeded.selector) {
                    if (ex.charged <= settlement.maxBatchAmount()) _flag(V_CAP, "batch cap hit below the cap");
                } else if (sel == Settlement.WindowCapExceeded.selector) {
                    if (_chargedSince(block.timestamp - settlement.capWindow()) + ex.charged <= settlement.maxWindowAmount()) {
                        _flag(V_CAP, "window cap hit below the cap");
                    }
                } else {
                    _flag(V_OUTCOME, "a valid batch from the current signer reverted");
                }
            }
        }
    }

    /// @dev Resubmits an already settled batch with its original signature: must revert.
    function _replay(uint256 r) internal {
        uint64 id = uint64(r % _batchGhosts.length);
        UsageBatch memory b;
        b.gatewayId = GATEWAY_ID;
        b.batchId = id;
        b.receiptsRoot = keccak256(abi.encode("receipts", id));
        b.entries = _batchEntries[id];
        b.receiptCount = uint32(b.entries.length);
        b.deadline = _batchGhosts[id].deadline;
        bytes memory sig = _batchSig[id];
        tryCount["replay"]++;
        try settlement.settleBatch(b, sig) {
            _flag(V_REPLAY, "an already settled batch settled again");
        } catch (bytes memory err) {
            _onRevert(err, "replay");
        }
    }

    function _buildEntries(uint256 seed) internal view returns (UsageEntry[] memory es) {
        uint256 n = 1 + seed % 5;
        es = new UsageEntry[](n);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            address c = customers[r % 4];
            address p = (r >> 8) % 32 == 0 ? outsider : providers[((r >> 8) % 32) % 3];
            uint256 scale = [uint256(1e4), 1e6, 1e8, 2e9][(r >> 16) % 4];
            (uint48 pp, uint48 cp) = _pickPrice(p, r >> 152);
            es[i] = UsageEntry({
                customer: c,
                provider: p,
                model: MODEL,
                requests: uint32(1 + (r >> 24) % 1000),
                promptTokens: uint64((r >> 40) % scale),
                completionTokens: uint64((r >> 96) % scale),
                promptPrice: pp,
                completionPrice: cp
            });
        }
    }

    /// @dev 5/8 at or below a valid published price, 1/8 above every valid price, 1/8 random, 1/8 free.
    function _pickPrice(address p, uint256 r) internal view returns (uint48 pp, uint48 cp) {
        uint256 mode = r % 8;
        (bool any, uint256 mp, uint256 mc, uint256 vp, uint256 vc) = _validPrices(p, block.timestamp, (r >> 4) % 2 == 0);
        if (mode <= 4 && any) {
            pp = uint48((r >> 8) % 4 == 0 ? vp : (r >> 16) % (vp + 1));
            cp = uint48((r >> 8) % 4 == 0 ? vc : (r >> 64) % (vc + 1));
        } else if (mode == 5) {
            if ((r >> 100) % 2 == 0) {
                pp = uint48(mp + 1 + (r >> 16) % 1_000);
                cp = uint48(vc);
            } else {
                pp = uint48(vp);
                cp = uint48(mc + 1 + (r >> 16) % 1_000);
            }
        } else if (mode != 7) {
            pp = uint48((r >> 16) % (2 * mp + 2));
            cp = uint48((r >> 64) % (2 * mc + 2));
        }
    }

    /// @dev Max prompt and completion prices over the intervals valid at `t`, and one valid interval.
    function _validPrices(address p, uint256 t, bool pickFirst)
        internal
        view
        returns (bool any, uint256 mp, uint256 mc, uint256 vp, uint256 vc)
    {
        PriceEpoch[] storage eps = _epochs[p];
        for (uint256 i; i < eps.length; ++i) {
            PriceEpoch memory e = eps[i];
            if (e.from <= t && uint256(e.until) + PRICE_GRACE > t) {
                if (!any || !pickFirst) (vp, vc) = (e.pp, e.cp);
                any = true;
                if (e.pp > mp) mp = e.pp;
                if (e.cp > mc) mc = e.cp;
            }
        }
        if (!any) (mp, mc) = (PROMPT_PRICE, COMPLETION_PRICE);
    }

    function _modelAccepts(address p, uint256 pp, uint256 cp, uint256 t) internal view returns (bool) {
        PriceEpoch[] storage eps = _epochs[p];
        for (uint256 i; i < eps.length; ++i) {
            PriceEpoch memory e = eps[i];
            if (e.from <= t && uint256(e.until) + PRICE_GRACE > t && pp <= e.pp && cp <= e.cp) return true;
        }
        return false;
    }

    /// @dev The independent model of a batch: which entries settle, and who pays and earns what.
    function _expect(UsageEntry[] memory es) internal view returns (Expect memory ex) {
        uint256 n = es.length;
        ex.skip = new bool[](n);
        ex.charge = new uint256[](n);
        ex.feeBps = settlement.feeBps();
        uint256[4] memory bal;
        for (uint256 i; i < 4; ++i) {
            (uint256 a, uint256 p,) = settlement.accountOf(customers[i]);
            bal[i] = a + p;
        }
        for (uint256 i; i < n; ++i) {
            UsageEntry memory e = es[i];
            // Exact value: prompt*pp + completion*cp micro-USDC per million tokens, rounded down.
            uint256 amount = (uint256(e.promptTokens) * e.promptPrice + uint256(e.completionTokens) * e.completionPrice) / 1e6;
            ex.charge[i] = amount;
            uint256 ci = _custIdx(e.customer);
            if (!_modelAccepts(e.provider, e.promptPrice, e.completionPrice, block.timestamp) || amount > bal[ci]) {
                ex.skip[i] = true;
                continue;
            }
            bal[ci] -= amount;
            ex.custDebit[ci] += amount;
            uint256 fee = amount * ex.feeBps / BPS;
            ex.provCredit[_provIdx(e.provider)] += amount - fee;
            ex.charged += amount;
            ex.fees += fee;
        }
    }

    function _snap() internal view returns (Snap memory s) {
        for (uint256 i; i < 4; ++i) {
            (uint256 a, uint256 p,) = settlement.accountOf(customers[i]);
            s.cust[i] = a + p;
        }
        for (uint256 i; i < 3; ++i) {
            (uint256 c, uint256 v,) = settlement.earningsOf(providers[i]);
            s.earn[i] = c + v;
        }
        s.fees = settlement.protocolFees();
        s.escrowed = settlement.totalEscrowed();
        s.earnings = settlement.totalEarnings();
        s.held = usdc.balanceOf(address(settlement));
    }

    function _checkSettled(UsageBatch memory b, Expect memory ex, Snap memory s0) internal {
        Snap memory s1 = _snap();
        for (uint256 i; i < b.entries.length; ++i) {
            if (settlement.isSkipped(GATEWAY_ID, b.batchId, i) != ex.skip[i]) {
                _flag(V_ENTRY, ex.skip[i] ? "an entry that must be skipped settled" : "a payable entry was skipped");
            }
        }
        for (uint256 i; i < 4; ++i) {
            if (s1.cust[i] > s0.cust[i] || s0.cust[i] - s1.cust[i] != ex.custDebit[i]) {
                _flag(V_ENTRY, "a customer was debited other than the model's charge");
            }
        }
        for (uint256 i; i < 3; ++i) {
            if (s1.earn[i] < s0.earn[i] || s1.earn[i] - s0.earn[i] != ex.provCredit[i]) {
                _flag(V_ENTRY, "a provider was credited other than charge minus fee");
            }
        }
        if (s1.fees != s0.fees + ex.fees) _flag(V_ENTRY, "protocol fees moved other than the model's fee");
        if (_sub(s0.escrowed, s1.escrowed) != ex.charged) _flag(V_ENTRY, "totalEscrowed moved other than the charges");
        if (_sub(s1.earnings, s0.earnings) != ex.charged - ex.fees) _flag(V_ENTRY, "totalEarnings moved other than credits");
        if (s1.held != s0.held) _flag(V_ENTRY, "settlement moved USDC");
        Settlement.BatchRecord memory rec = settlement.batchOf(GATEWAY_ID, b.batchId);
        if (rec.settledAt != block.timestamp || rec.vestsAt != _vestsAt(block.timestamp) || rec.feeBps != ex.feeBps) {
            _flag(V_ENTRY, "batch record disagrees with the model");
        }
    }

    function _recordBatch(UsageBatch memory b, bytes memory sig, Expect memory ex, Snap memory s0, uint256 keyIdx)
        internal
    {
        Snap memory s1 = _snap();
        BatchGhost memory g;
        g.id = b.batchId;
        g.settledAt = uint64(block.timestamp);
        g.vestsAt = uint64(_vestsAt(block.timestamp));
        g.deadline = b.deadline;
        g.feeBps = uint16(ex.feeBps);
        g.keyIdx = uint8(keyIdx);
        g.currentKeyIdx = uint8(currentSigner);
        for (uint256 i; i < 4; ++i) {
            g.debits += s0.cust[i] > s1.cust[i] ? s0.cust[i] - s1.cust[i] : 0;
        }
        for (uint256 i; i < 3; ++i) {
            g.credits += s1.earn[i] > s0.earn[i] ? s1.earn[i] - s0.earn[i] : 0;
        }
        g.fees = _sub(s1.fees, s0.fees);
        g.expectedCharged = ex.charged;
        g.expectedFees = ex.fees;
        _batchGhosts.push(g);
        _batchSig[b.batchId] = sig;
        for (uint256 i; i < b.entries.length; ++i) {
            _batchEntries[b.batchId].push(b.entries[i]);
            _entryGhosts.push(EntryGhost(b.batchId, uint32(i), g.vestsAt, g.feeBps, ex.charge[i], ex.skip[i], false));
        }
    }

    /// @dev Earnings of the epoch containing t vest (and the dispute window closes) two epochs on.
    function _vestsAt(uint256 t) internal pure returns (uint256) {
        return (t / DISPUTE_WINDOW + 2) * DISPUTE_WINDOW;
    }

    function _chargedSince(uint256 since) internal view returns (uint256 sum) {
        for (uint256 i = _batchGhosts.length; i > 0; --i) {
            BatchGhost memory g = _batchGhosts[i - 1];
            if (g.settledAt < since) break;
            sum += g.debits;
        }
    }

    // ================================================================ earnings

    function claim(uint256 pSeed) external step {
        address p = providers[pSeed % 3];
        // One time in four, a frozen provider if there is one: its claim must fail.
        if ((pSeed >> 8) % 4 == 0) {
            for (uint256 i; i < 3; ++i) {
                if (settlement.frozen(providers[i])) p = providers[i];
            }
        }
        (uint256 cl0, uint256 v0,) = settlement.earningsOf(p);
        bool frozen = settlement.frozen(p);
        bool expectOk = cl0 > 0 && !frozen && _tokenOk(address(settlement), p, address(settlement));
        uint256 bal0 = usdc.balanceOf(p);
        tryCount["claim"]++;
        vm.prank(p);
        try settlement.claim() {
            okCount["claim"]++;
            uint256 paid = _sub(usdc.balanceOf(p), bal0);
            ghost_claimed += paid;
            (uint256 cl1, uint256 v1,) = settlement.earningsOf(p);
            if (paid != cl0 || cl1 != 0 || v1 != v0) _flag(V_OUTCOME, "claim paid other than the vested earnings");
            if (frozen) _flag(V_PAUSE, "a frozen provider claimed");
        } catch (bytes memory err) {
            _onRevert(err, "claim");
            if (expectOk) _flag(V_EXIT, "a provider's claim of vested earnings reverted");
        }
    }

    // ================================================================ disputes

    /// @notice Open a dispute on a settled entry, with the correct entry hashes; sometimes a skipped
    ///         entry, a closed window, an amount above the charge, the wrong caller or a repeat.
    function openDispute(uint256 seed, uint256 amountSeed) external step {
        uint256 len = _entryGhosts.length;
        if (len == 0) return;
        // 7 times in 8: a recent entry that settled, is not yet disputed and is within its window (if
        // any); else any entry (skipped, closed, already disputed ones included).
        uint256 k = (seed >> 1) % len;
        if (seed % 8 != 0) {
            uint256 recent = len < 24 ? len : 24;
            for (uint256 j; j < recent; ++j) {
                uint256 i = len - 1 - ((seed >> 1) + j) % recent;
                EntryGhost memory c = _entryGhosts[i];
                if (!c.skipped && !c.disputed && block.timestamp < c.vestsAt) {
                    k = i;
                    break;
                }
            }
        }
        EntryGhost memory g = _entryGhosts[k];
        UsageEntry[] memory es = _batchEntries[g.batchId];
        UsageEntry memory e = es[g.index];
        bytes32[] memory hashes = _entryHashes(es);
        uint256 mode = (seed >> 128) % 16;
        address caller = mode == 0 ? customers[(_custIdx(e.customer) + 1) % 4] : e.customer;
        uint256 amount = mode == 1 ? g.charge + 1 : _between(amountSeed, 1, g.charge == 0 ? 1 : g.charge);
        // Works while paused too (a pause must not eat the dispute window).
        bool expectOk = mode != 0 && amount <= g.charge && !g.skipped && !g.disputed && block.timestamp < g.vestsAt;
        (,,,, uint256 locked0) = staking.stakeOf(e.provider);
        Settlement.EntryRef memory ref = Settlement.EntryRef(GATEWAY_ID, g.batchId, g.index);
        tryCount["openDispute"]++;
        vm.prank(caller);
        try settlement.openDispute(ref, e, hashes, amount, keccak256("reason")) returns (uint256 id) {
            okCount["openDispute"]++;
            if (!expectOk) _flag(V_DISPUTE, "a dispute opened that must be refused");
            _entryGhosts[k].disputed = true;
            _lockMayGrow = true; // a new claim on the provider's stake, which may exceed it
            uint256 resolveBy = block.timestamp + RESOLUTION_PERIOD;
            _disputes.push(DisputeGhost(id, e.customer, e.provider, amount, g.charge, g.feeBps, true, resolveBy));
            if (settlement.disputeOf(id).resolveBy != resolveBy) _flag(V_DISPUTE, "dispute deadline is not now + period");
            ghost_disputedAmount += amount;
            (,,,, uint256 locked1) = staking.stakeOf(e.provider);
            if (locked1 != locked0 + amount) _flag(V_DISPUTE, "dispute did not lock the disputed amount");
        } catch (bytes memory err) {
            _onRevert(err, "openDispute");
            if (expectOk) _flag(V_OUTCOME, "a valid dispute was refused");
        }
    }

    struct Refund {
        uint256 fromFees;
        uint256 fromEarnings;
        uint256 fromStake;
        uint256 slashAsked;
        uint256 stake0;
        uint256 earn0;
        uint256 fees0;
        uint256 avail0;
        uint256 locked0;
    }

    /// @dev The first open dispute at or after `seed % len` (wrapping), or type(uint256).max if none.
    function _openDisputeFrom(uint256 seed, uint256 len) private view returns (uint256) {
        for (uint256 j; j < len; ++j) {
            uint256 i = (seed + j) % len;
            if (_disputes[i].open) return i;
        }
        return type(uint256).max;
    }

    /// @notice The arbiter resolves an open dispute: upheld with a random refund, or rejected.
    function resolveDispute(uint256 seed, uint256 refundSeed) external step {
        uint256 len = _disputes.length;
        if (len == 0) return;
        uint256 k = _openDisputeFrom(seed, len);
        if (k == type(uint256).max) return;
        DisputeGhost memory d = _disputes[k];
        // One time in eight the arbiter acts around the deadline: one second before, or at it.
        uint256 timing = (seed >> 160) % 16;
        if (timing == 0 && d.resolveBy > block.timestamp + 1) vm.warp(d.resolveBy - 1);
        if (timing == 1 && d.resolveBy > block.timestamp) vm.warp(d.resolveBy);
        bool late = block.timestamp >= d.resolveBy;
        uint256 mode = (seed >> 128) % 8;
        bool upheld = mode >= 3;
        uint256 refund = mode == 3 ? d.amount + 1 + refundSeed % 1e6 : _between(refundSeed, 0, d.amount);
        Refund memory f = _refundModel(d, refund);
        bool expectOk = !late && !(upheld && refund > d.amount)
            && !(upheld && f.slashAsked > 0 && f.stake0 > 0 && !_tokenOk(address(staking), address(settlement), address(staking)));
        tryCount["resolveDispute"]++;
        vm.prank(arbiter);
        try settlement.resolveDispute(d.id, upheld, refund) {
            okCount["resolveDispute"]++;
            _disputes[k].open = false;
            if (!expectOk) _flag(V_DISPUTE, "a dispute resolved that must be refused");
            if (late) _flag(V_DISPUTE, "the arbiter resolved a dispute past its deadline");
            _checkResolved(d, upheld, f);
        } catch (bytes memory err) {
            _onRevert(err, "resolveDispute");
            if (expectOk) _flag(V_OUTCOME, "a valid dispute resolution reverted");
        }
    }

    /// @dev Refund order: fee share from protocol fees, then unvested earnings, then stake.
    function _refundModel(DisputeGhost memory d, uint256 refund) internal view returns (Refund memory f) {
        (uint256 b, uint256 u,,, uint256 locked) = staking.stakeOf(d.provider);
        (uint256 cl, uint256 v,) = settlement.earningsOf(d.provider);
        (f.avail0,,) = settlement.accountOf(d.customer);
        f.stake0 = b + u;
        f.earn0 = cl + v;
        f.fees0 = settlement.protocolFees();
        f.locked0 = locked;
        uint256 feeShare = refund * d.feeBps / BPS;
        f.fromFees = feeShare < f.fees0 ? feeShare : f.fees0;
        uint256 owed = refund - f.fromFees;
        f.fromEarnings = owed < v ? owed : v;
        f.slashAsked = owed - f.fromEarnings;
        f.fromStake = f.slashAsked < f.stake0 ? f.slashAsked : f.stake0;
    }

    function _checkResolved(DisputeGhost memory d, bool upheld, Refund memory f) internal {
        (uint256 b, uint256 u,, bool jailed, uint256 locked) = staking.stakeOf(d.provider);
        (uint256 cl, uint256 v,) = settlement.earningsOf(d.provider);
        (uint256 avail,,) = settlement.accountOf(d.customer);
        if (locked + d.amount != f.locked0) _flag(V_DISPUTE, "resolution did not release the locked stake");
        if (!upheld) {
            if (avail != f.avail0 || b + u != f.stake0 || cl + v != f.earn0) _flag(V_DISPUTE, "a rejected dispute moved money");
            return;
        }
        uint256 paid = f.fromFees + f.fromEarnings + f.fromStake;
        if (b + u > f.stake0 || f.fromStake > f.stake0) _flag(V_SLASH, "dispute slashed more than bonded + unbonding");
        if (avail != f.avail0 + paid) _flag(V_DISPUTE, "refund credited other than fees + unvested + stake");
        if (paid > d.amount || paid > d.charge) _flag(V_DISPUTE, "refund above the disputed amount");
        if (b + u != f.stake0 - f.fromStake) _flag(V_DISPUTE, "dispute slashed other than the model");
        if (cl + v != f.earn0 - f.fromEarnings) _flag(V_DISPUTE, "dispute took other than unvested earnings");
        if (settlement.protocolFees() != f.fees0 - f.fromFees) _flag(V_DISPUTE, "dispute took a wrong fee share");
        if (f.fromStake < f.slashAsked && !jailed) _flag(V_DISPUTE, "provider short of stake was not jailed");
        ghost_refundsPaid += paid;
        ghost_slashed += f.fromStake;
        ghost_slashedToSettlement += f.fromStake;
    }

    /// @notice Anyone closes an open dispute past its deadline (sometimes one second early, or at
    ///         it): as if rejected, lock released, no money moves.
    function expireDispute(uint256 seed) external step {
        uint256 len = _disputes.length;
        if (len == 0) return;
        uint256 k = _openDisputeFrom(seed, len);
        // One time in eight, a dispute already closed: must be refused.
        bool closed = (seed >> 64) % 8 == 0 || k == type(uint256).max;
        if (closed) k = (seed >> 8) % len;
        DisputeGhost memory d = _disputes[k];
        uint256 timing = (seed >> 128) % 4;
        if (timing == 1 && d.resolveBy > block.timestamp + 1) vm.warp(d.resolveBy - 1);
        if (timing >= 2 && d.resolveBy > block.timestamp) vm.warp(d.resolveBy);
        bool expectOk = d.open && block.timestamp >= d.resolveBy;
        uint256[5] memory s0 = _disputeParties(d);
        tryCount["expireDispute"]++;
        vm.prank(_anyActor(seed >> 200));
        try settlement.expireDispute(d.id) {
            okCount["expireDispute"]++;
            _disputes[k].open = false;
            if (!expectOk) _flag(V_DISPUTE, "a dispute expired that must not");
            uint256[5] memory s1 = _disputeParties(d);
            if (s1[0] + d.amount != s0[0]) _flag(V_DISPUTE, "expiry did not release the locked stake");
            if (s1[1] != s0[1] || s1[2] != s0[2] || s1[3] != s0[3] || s1[4] != s0[4]) {
                _flag(V_DISPUTE, "an expired dispute moved money");
            }
            if (settlement.disputeOf(d.id).status != Settlement.DisputeStatus.Expired) {
                _flag(V_DISPUTE, "an expired dispute is not marked Expired");
            }
        } catch (bytes memory err) {
            _onRevert(err, "expireDispute");
            if (expectOk) _flag(V_EXIT, "an overdue dispute could not be expired");
        }
    }

    /// @dev [locked, provider stake, provider earnings, customer available, protocol fees].
    function _disputeParties(DisputeGhost memory d) internal view returns (uint256[5] memory s) {
        (uint256 b, uint256 u,,, uint256 locked) = staking.stakeOf(d.provider);
        (uint256 cl, uint256 v,) = settlement.earningsOf(d.provider);
        (uint256 a,,) = settlement.accountOf(d.customer);
        s = [locked, b + u, cl + v, a, settlement.protocolFees()];
    }

    // ================================================================ SLA credits

    struct SlaCase {
        uint256 bps;
        uint256 owed;
        uint256 stake0;
        uint256 unlocked0;
        uint256 locked0;
        uint256 fees0;
        bool goodKey;
        bool settlementPaused;
        uint256[] credits;
        uint256[4] avail0;
    }

    /// @notice A gateway-signed SLA report with random availability, TTFT, request count and spends.
    function submitSlaReport(uint256 seed) external step {
        SlaReport memory rep = _slaReportFrom(seed);
        SlaCase memory s;
        uint256 keyIdx = (seed >> 200) % 16 == 0 ? 3 : currentSigner;
        s.goodKey = keyIdx == currentSigner && !signerRevoked;
        bytes memory sig = _signSla(rep, keyIdx < 3 ? signerKeys[keyIdx] : attackerKey);
        s.bps = _expectedBps(rep.requests, rep.availabilityPpm, rep.p95TtftMs);
        s.credits = new uint256[](rep.spends.length);
        for (uint256 i; i < rep.spends.length; ++i) {
            s.credits[i] = uint256(rep.spends[i].spend) * s.bps / BPS;
            s.owed += s.credits[i];
        }
        (uint256 b, uint256 u,,, uint256 locked) = staking.stakeOf(rep.provider);
        s.stake0 = b + u;
        s.unlocked0 = s.stake0 > locked ? s.stake0 - locked : 0;
        s.locked0 = locked;
        s.fees0 = settlement.protocolFees();
        s.settlementPaused = settlement.paused();
        for (uint256 i; i < 4; ++i) {
            (s.avail0[i],,) = settlement.accountOf(customers[i]);
        }
        bytes32 key = keccak256(abi.encode(rep.gatewayId, rep.provider, rep.tier, rep.windowStart));
        bool expectOk = !sla.paused() && s.goodKey && rep.availabilityPpm <= 1_000_000 && !_slaKeyUsed[key]
            && s.owed <= sla.maxCreditPerReport() && !(s.owed > 0 && s.settlementPaused)
            && rep.windowStart >= sla.lastWindowEnd(rep.gatewayId, rep.provider) && _withinPeriodCap(rep.gatewayId, s.owed)
            && !(s.owed > 0 && s.unlocked0 > 0 && !_tokenOk(address(staking), address(settlement), address(staking)));
        tryCount["submitSlaReport"]++;
        try sla.submitReport(rep, sig) {
            okCount["submitSlaReport"]++;
            _slaKeyUsed[key] = true;
            if (!s.goodKey) _flag(V_SIGNER, "an SLA report not signed by the current signer was accepted");
            if (!expectOk) _flag(V_OUTCOME, "an SLA report that must be refused was accepted");
            _checkSla(rep, s);
        } catch (bytes memory err) {
            _onRevert(err, "submitSlaReport");
            if (expectOk) _flag(V_OUTCOME, "a valid SLA report reverted");
        }
    }

    /// @dev The per-gateway credit-period cap, modelled from the contract's public window.
    function _withinPeriodCap(uint32 gatewayId, uint256 owed) internal view returns (bool) {
        (uint40 start, uint96 sofar) = sla.creditWindowOf(gatewayId);
        uint256 used = block.timestamp >= uint256(start) + sla.creditPeriod() ? 0 : sofar;
        return used + owed <= sla.maxCreditPerPeriod();
    }

    function _slaReportFrom(uint256 seed) internal view returns (SlaReport memory rep) {
        uint256 n = 1 + (seed >> 100) % 4;
        CustomerSpend[] memory spends = new CustomerSpend[](n);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i, "spend")));
            spends[i] = CustomerSpend(customers[r % 4], uint96((r >> 8) % 4_000e6));
        }
        address p = (seed >> 2) % 16 == 0 ? outsider : providers[seed % 3];
        // Half the time, the provider with the most stake locked by open disputes: where an SLA
        // credit and a dispute compete for the same stake.
        if ((seed >> 210) % 2 == 0) {
            uint256 most;
            for (uint256 i; i < 3; ++i) {
                (,,,, uint256 l) = staking.stakeOf(providers[i]);
                if (l > most) (most, p) = (l, providers[i]);
            }
        }
        uint32 avail = uint32(990_000 + (seed >> 40) % 10_001);
        if ((seed >> 60) % 64 == 0) avail = 1_000_001;
        rep = _slaReport(p, avail, uint32(500 + (seed >> 72) % 3_000), spends);
        rep.tier = uint8((seed >> 8) % 3);
        rep.requests = uint32((seed >> 16) % 20_000);
        // An honest gateway reports whole hours; one report in four is shifted by up to 1,000 s.
        rep.windowStart = uint64((block.timestamp / 1 hours) * 1 hours - 1 hours);
        if ((seed >> 140) % 4 == 0) rep.windowStart -= uint64(1 + (seed >> 142) % 1_000);
        rep.windowEnd = rep.windowStart + 1 hours;
    }

    function _checkSla(SlaReport memory rep, SlaCase memory s) internal {
        (uint256 b, uint256 u,, bool jailed,) = staking.stakeOf(rep.provider);
        uint256 paid = _sub(s.stake0, b + u);
        // Stake locked for open disputes is theirs: a credit takes only the unlocked rest.
        uint256 expectedPaid = s.owed < s.unlocked0 ? s.owed : s.unlocked0;
        if (paid > s.stake0) _flag(V_SLASH, "SLA slashed more than bonded + unbonding");
        if (paid > s.unlocked0) _flag(V_LOCK, "SLA credit took stake locked for open disputes");
        if (paid != expectedPaid) _flag(V_SLA, "SLA slashed other than min(owed, unlocked stake)");
        if (paid < s.owed && !jailed) _flag(V_SLA, "provider short of stake was not jailed");
        uint256[4] memory want;
        uint256 distributed;
        uint256 allowance;
        for (uint256 i; i < rep.spends.length; ++i) {
            uint256 c = s.owed == 0 ? 0 : (paid < s.owed ? s.credits[i] * paid / s.owed : s.credits[i]);
            if (c > uint256(rep.spends[i].spend) * SLA_CAP / BPS) _flag(V_SLA, "SLA credit above cap x spend");
            want[_custIdx(rep.spends[i].customer)] += c;
            distributed += c;
            allowance += uint256(rep.spends[i].spend) * SLA_CAP / BPS;
        }
        for (uint256 i; i < 4; ++i) {
            (uint256 a,,) = settlement.accountOf(customers[i]);
            if (a != s.avail0[i] + want[i]) _flag(V_SLA, "SLA credit booked other than the policy's formula");
        }
        if (distributed > paid || settlement.protocolFees() != s.fees0 + (paid - distributed)) _flag(V_SLA, "SLA rounding dust misbooked");
        _checkSlaArrears(rep, s, paid, distributed);
        ghost_slaCredited += distributed;
        ghost_slaCapAllowance += allowance;
        ghost_slaDust += _sub(paid, distributed);
        ghost_slashed += paid;
        ghost_slashedToSettlement += paid;
        if (s.settlementPaused) ghost_slaPaidWhileSettlementPaused += paid;
        if (paid > 0) {
            for (uint256 i; i < _slaPaid.length; ++i) {
                SlaPaid memory o = _slaPaid[i];
                if (o.provider == rep.provider && rep.windowStart < o.windowEnd && o.windowStart < rep.windowEnd) {
                    ghost_slaPaidForOverlappingWindows += paid;
                    break;
                }
            }
            _slaPaid.push(SlaPaid(rep.provider, rep.windowStart, rep.windowEnd, paid));
        }
    }

    /// @dev The standard policy, written out independently of SlaMath.
    function _expectedBps(uint256 requests, uint256 avail, uint256 ttft) internal pure returns (uint256 bps) {
        if (requests < SLA_MIN_REQ) return 0;
        if (avail < SLA_TARGET) bps = ((SLA_TARGET - avail + SLA_STEP - 1) / SLA_STEP) * SLA_PER_STEP;
        if (ttft > SLA_TTFT) bps += SLA_TTFT_CREDIT;
        if (bps > SLA_CAP) bps = SLA_CAP;
    }

    // ================================================================ prices

    /// @notice A provider schedules a price change, delists its model, or lists it again.
    function changePrice(uint256 pSeed, uint256 op, uint256 pp, uint256 cp) external step {
        address p = providers[pSeed % 3];
        uint48 npp = uint48(_between(pp, 0, 1_000_000));
        uint48 ncp = uint48(_between(cp, 0, 3_000_000));
        PriceModel storage m = _pm[p];
        if (m.delisted) _relist(p, npp, ncp);
        else if (op % 8 == 0) _changeOrDelist(p, 0, 0, true);
        else _changeOrDelist(p, npp, ncp, false);
        _checkPriceInForce(p);
    }

    function _changeOrDelist(address p, uint48 npp, uint48 ncp, bool delist) internal {
        PriceModel storage m = _pm[p];
        PriceEpoch[] storage eps = _epochs[p];
        PriceEpoch memory last = eps[eps.length - 1];
        uint256 t = block.timestamp;
        bool settling = m.lastFromSchedule && last.from <= t && t < uint256(last.from) + PRICE_GRACE;
        bool expectOk = !m.delisted && !settling;
        bool ok;
        tryCount["changePrice"]++;
        vm.prank(p);
        if (delist) {
            try registry.delistModel(MODEL) {
                ok = true;
            } catch (bytes memory err) {
                _onRevert(err, "delistModel");
            }
        } else {
            try registry.schedulePriceChange(MODEL, npp, ncp) {
                ok = true;
            } catch (bytes memory err) {
                _onRevert(err, "schedulePriceChange");
            }
        }
        if (ok != expectOk) _flag(V_PRICE, ok ? "price change accepted during the grace of the last one" : "valid price change refused");
        if (!ok) return;
        okCount["changePrice"]++;
        uint64 eff = uint64(t + PRICE_NOTICE);
        if (last.from > t) eps.pop(); // replaces a change not yet in force
        eps[eps.length - 1].until = eff;
        if (delist) {
            m.delisted = true;
            m.delistAt = eff;
            m.lastFromSchedule = false;
        } else {
            eps.push(PriceEpoch(eff, type(uint64).max, npp, ncp));
            m.lastFromSchedule = true;
        }
    }

    function _relist(address p, uint48 npp, uint48 ncp) internal {
        PriceModel storage m = _pm[p];
        bool expectOk = block.timestamp >= uint256(m.delistAt) + PRICE_GRACE;
        tryCount["relist"]++;
        vm.prank(p);
        try registry.listModel(MODEL, _modelInfo(), npp, ncp) {
            okCount["relist"]++;
            if (!expectOk) _flag(V_PRICE, "model relisted before its delisting settled");
            _epochs[p].push(PriceEpoch(uint64(block.timestamp), type(uint64).max, npp, ncp));
            m.delisted = false;
            m.lastFromSchedule = false;
        } catch (bytes memory err) {
            _onRevert(err, "listModel");
            if (expectOk) _flag(V_PRICE, "relisting a settled delisting was refused");
        }
    }

    function _checkPriceInForce(address p) internal {
        (uint48 pp, uint48 cp, bool served) = registry.priceInForce(p, MODEL);
        PriceEpoch[] storage eps = _epochs[p];
        bool any;
        uint48 mpp;
        uint48 mcp;
        for (uint256 i; i < eps.length; ++i) {
            if (eps[i].from <= block.timestamp && block.timestamp < eps[i].until) (any, mpp, mcp) = (true, eps[i].pp, eps[i].cp);
        }
        if (served != any || (any && (pp != mpp || cp != mcp))) _flag(V_PRICE, "price in force disagrees with the notice model");
    }

    // ================================================================ time, guardians, governance

    /// @notice Time passes: mostly minutes to hours, sometimes a day, now and then past every delay.
    function warp(uint256 secs) external step {
        uint256 r = secs % 8;
        uint256 max = r == 0 ? 15 days : r <= 2 ? 1 days : 2 hours;
        vm.warp(block.timestamp + _between(secs >> 3, 1, max));
    }

    /// @notice TestUSDC's guardian blacklists or unblacklists an actor (rarely a protocol contract)
    ///         or pauses or unpauses the token.
    function tokenGuardian(uint256 seed) external step {
        uint256 op = seed % 8;
        vm.startPrank(admin);
        if (op == 0) {
            usdc.blacklist(_blTarget(seed >> 8));
        } else if (op <= 2) {
            address[11] memory all = _blTargets();
            for (uint256 j; j < all.length; ++j) {
                address a = all[((seed >> 8) + j) % all.length];
                if (usdc.isBlacklisted(a)) {
                    usdc.unBlacklist(a);
                    break;
                }
            }
        } else if (op == 3) {
            usdc.pause();
        } else {
            usdc.unpause();
        }
        vm.stopPrank();
    }

    /// @notice The protocol guardian pauses or unpauses a contract, or freezes or unfreezes an account.
    function protocolGuardian(uint256 seed) external step {
        uint256 op = seed % 12;
        vm.startPrank(guardian);
        if (op == 0 && !settlement.paused()) settlement.pause();
        else if (op == 1 && !staking.paused()) staking.pause();
        else if (op == 2 && !sla.paused()) sla.pause();
        else if (op == 3) settlement.freeze(_anyActor(seed >> 8));
        else if (op <= 5) settlement.unfreeze(_anyActor(seed >> 8));
        else if (op <= 7 && settlement.paused()) settlement.unpause();
        else if (op <= 9 && staking.paused()) staking.unpause();
        else if (op <= 11 && sla.paused()) sla.unpause();
        vm.stopPrank();
    }

    /// @notice Governor changes the fee (sometimes above the maximum), rotates the gateway signer or
    ///         withdraws fees; the guardian revokes the signer.
    function governance(uint256 seed, uint256 value) external step {
        uint256 op = seed % 8;
        if (op <= 1) {
            uint256 fee = op == 0 ? _between(value, 0, MAX_FEE) : _between(value, MAX_FEE + 1, type(uint16).max);
            vm.prank(governor);
            try settlement.setFeeBps(uint16(fee)) {
                if (fee > MAX_FEE) _flag(V_FEE, "fee above the hard maximum accepted");
            } catch (bytes memory err) {
                _onRevert(err, "setFeeBps");
                if (fee <= MAX_FEE) _flag(V_OUTCOME, "valid fee refused");
            }
        } else if (op == 2) {
            uint256 idx = (currentSigner + 1 + value % 2) % 3;
            vm.prank(governor);
            settlement.setGatewaySigner(GATEWAY_ID, vm.addr(signerKeys[idx]));
            currentSigner = idx;
            signerRevoked = false;
        } else if (op == 3) {
            vm.prank(guardian);
            settlement.revokeGatewaySigner(GATEWAY_ID);
            signerRevoked = true;
        } else if (op <= 5) {
            if (signerRevoked) {
                vm.prank(governor);
                settlement.setGatewaySigner(GATEWAY_ID, vm.addr(signerKeys[currentSigner]));
                signerRevoked = false;
            }
        } else {
            uint256 fees = settlement.protocolFees();
            if (fees == 0) return;
            uint256 amount = _between(value, 1, fees);
            uint256 bal0 = usdc.balanceOf(treasury);
            vm.prank(governor);
            try settlement.withdrawFees(treasury, amount) {
                ghost_feesWithdrawn += amount;
                if (usdc.balanceOf(treasury) != bal0 + amount) _flag(V_OUTCOME, "withdrawFees paid a wrong amount");
            } catch (bytes memory err) {
                _onRevert(err, "withdrawFees");
            }
        }
    }

    /// @notice Someone sends USDC straight to a protocol contract (not through any function).
    function donate(uint256 seed, uint256 amount) external step {
        amount = _between(amount, 1, 100e6);
        _mintTo(donor, amount);
        address to = seed % 2 == 0 ? address(settlement) : address(staking);
        vm.prank(donor);
        try usdc.transfer(to, amount) {
            if (to == address(settlement)) ghost_donatedSettlement += amount;
            else ghost_donatedStaking += amount;
        } catch {}
    }

    // ================================================================ views for the invariants

    function batchCount() external view returns (uint256) {
        return _batchGhosts.length;
    }

    function batchGhost(uint256 i) external view returns (BatchGhost memory) {
        return _batchGhosts[i];
    }

    function disputeCount() external view returns (uint256) {
        return _disputes.length;
    }

    function disputeGhost(uint256 i) external view returns (DisputeGhost memory) {
        return _disputes[i];
    }

    function entryCount() external view returns (uint256) {
        return _entryGhosts.length;
    }

    /// @notice The selectors the campaign may call.
    function actions() external pure returns (bytes4[] memory s) {
        s = new bytes4[](24);
        s[0] = this.deposit.selector;
        s[1] = this.depositFor.selector;
        s[2] = this.requestWithdrawal.selector;
        s[3] = this.cancelWithdrawal.selector;
        s[4] = this.withdraw.selector;
        s[5] = this.stake.selector;
        s[6] = this.unbond.selector;
        s[7] = this.rebond.selector;
        s[8] = this.withdrawStake.selector;
        s[9] = this.unjail.selector;
        s[10] = this.settleBatch.selector;
        s[11] = this.claim.selector;
        s[12] = this.openDispute.selector;
        s[13] = this.resolveDispute.selector;
        s[14] = this.submitSlaReport.selector;
        s[15] = this.changePrice.selector;
        s[16] = this.warp.selector;
        s[17] = this.tokenGuardian.selector;
        s[18] = this.protocolGuardian.selector;
        s[19] = this.governance.selector;
        s[20] = this.donate.selector;
        // Settling is the heart of the protocol: give it a second ticket.
        s[21] = this.settleBatch.selector;
        s[22] = this.expireDispute.selector;
        s[23] = this.collectArrears.selector;
    }

    // ================================================================ helpers

    function _flag(bytes32 category, string memory why) internal {
        violations[category]++;
        lastViolation[category] = why;
    }

    /// @dev An arithmetic panic (underflow, overflow, division by zero) inside the protocol is a bug.
    function _onRevert(bytes memory err, string memory what) internal {
        if (_sel(err) == PANIC) _flag(V_PANIC, what);
    }

    /// @dev a - b, flagging (instead of reverting, which would discard the evidence) when b > a.
    function _sub(uint256 a, uint256 b) internal returns (uint256) {
        if (b > a) {
            _flag(V_OUTCOME, "a balance moved the wrong way");
            return 0;
        }
        return a - b;
    }

    function _sel(bytes memory err) internal pure returns (bytes4 s) {
        if (err.length >= 4) s = bytes4(err);
    }

    function _tokenOk(address from, address to, address caller) internal view returns (bool) {
        return !usdc.paused() && !usdc.isBlacklisted(from) && !usdc.isBlacklisted(to) && !usdc.isBlacklisted(caller);
    }

    function _mintTo(address to, uint256 amount) internal {
        vm.prank(admin);
        try usdc.mint(to, amount) {} catch {}
    }

    function _between(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (hi <= lo) return lo;
        return lo + x % (hi - lo + 1);
    }

    function _anyActor(uint256 seed) internal view returns (address) {
        uint256 i = seed % 8;
        if (i < 4) return customers[i];
        if (i < 7) return providers[i - 4];
        return donor;
    }

    function _blTargets() internal view returns (address[11] memory all) {
        for (uint256 i; i < 4; ++i) {
            all[i] = customers[i];
        }
        for (uint256 i; i < 3; ++i) {
            all[4 + i] = providers[i];
        }
        all[7] = donor;
        all[8] = treasury;
        all[9] = address(settlement);
        all[10] = address(staking);
    }

    /// @dev Actors mostly; the protocol contracts themselves one time in 16 each.
    function _blTarget(uint256 seed) internal view returns (address) {
        uint256 r = seed % 16;
        if (r == 0) return address(settlement);
        if (r == 1) return address(staking);
        return _anyActor(seed >> 4);
    }

    function _custIdx(address c) internal view returns (uint256) {
        for (uint256 i; i < 4; ++i) {
            if (customers[i] == c) return i;
        }
        revert("not a customer");
    }

    function _provIdx(address p) internal view returns (uint256) {
        for (uint256 i; i < 3; ++i) {
            if (providers[i] == p) return i;
        }
        revert("not a provider");
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {CustomerEscrow} from "./escrow/CustomerEscrow.sol";
import {EntryCalldata} from "./libraries/EntryCalldata.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {IProviderStaking} from "./interfaces/IProviderStaking.sol";
import {ISettlement} from "./interfaces/ISettlement.sol";
import {FixedWindow} from "./libraries/FixedWindow.sol";
import {PriceBook} from "./libraries/PriceBook.sol";
import {PriceMath} from "./libraries/PriceMath.sol";
import {UsageBatch, UsageEntry} from "./types/Usage.sol";

/// @title Settlement
/// @notice Holds customer escrow and provider earnings, and settles gateways' signed usage batches:
///         each entry debits a customer, credits the provider (vesting until the dispute window
///         closes) and the protocol fee. Providers claim vested earnings (pull). Customers may dispute
///         an entry within the window; the arbiter's upheld disputes refund from unvested earnings,
///         then from stake.
/// @dev Trust model: a gateway signer can only move money within the per-batch and per-window caps,
///      only at or below published prices, only from customers to providers that the batch names,
///      and only in batch-id order. See docs/protocol.md.
contract Settlement is ISettlement, CustomerEscrow, EIP712 {
    using SafeERC20 for IERC20;
    using FixedWindow for FixedWindow.Window;

    // ---------------------------------------------------------------- constants

    /// @notice Hard ceiling on the protocol fee (10%): no governor can confiscate more.
    uint16 public constant MAX_FEE_BPS = 1_000;
    /// @notice Most entries in one batch: 512 entries stay well under Base's 16.7M per-tx gas cap.
    uint256 public constant MAX_ENTRIES = 512;
    /// @notice Floor on the dispute resolution period: an arbiter needs at least a day (a weekend
    ///         incident, evidence from the indexer) to judge.
    uint40 public constant MIN_RESOLUTION_PERIOD = 1 days;
    /// @notice Ceiling on the dispute resolution period: no governor can let an absent arbiter hold a
    ///         provider's stake for more than a month.
    uint40 public constant MAX_RESOLUTION_PERIOD = 30 days;

    bytes32 public constant ENTRY_TYPEHASH = keccak256(
        "Entry(address customer,address provider,bytes32 model,uint32 requests,uint64 promptTokens,uint64 completionTokens,uint48 promptPrice,uint48 completionPrice)"
    );
    bytes32 public constant BATCH_TYPEHASH = keccak256(
        "Batch(uint32 gatewayId,uint64 batchId,bytes32 receiptsRoot,uint32 receiptCount,uint64 deadline,Entry[] entries)Entry(address customer,address provider,bytes32 model,uint32 requests,uint64 promptTokens,uint64 completionTokens,uint48 promptPrice,uint48 completionPrice)"
    );

    /// @notice Why an entry was skipped instead of settled.
    uint8 public constant SKIP_PRICE_ABOVE_PUBLISHED = 1;
    uint8 public constant SKIP_INSUFFICIENT_BALANCE = 2;

    // ---------------------------------------------------------------- types

    struct Gateway {
        address signer;
        uint64 nextBatchId;
    }

    /// @dev A provider's earnings live in one packed word (see `_roll`): claimable (bits 0-95),
    ///      vesting from the previous epoch (96-159), vesting from the current epoch (160-223) and
    ///      that epoch's number (224-255). Earnings of epoch e vest at (e + 2) * DISPUTE_WINDOW, so
    ///      two buckets suffice; the epoch keeps the word non-zero once touched, so crediting is
    ///      always one non-zero to non-zero write.
    uint256 private constant MASK64 = type(uint64).max;
    uint256 private constant MASK96 = type(uint96).max;

    struct BatchRecord {
        bytes32 entriesHash;
        bytes32 receiptsRoot;
        uint40 settledAt;
        uint40 vestsAt;
        uint16 feeBps;
        uint32 entryCount;
    }

    /// @notice Points at one entry of one settled batch.
    struct EntryRef {
        uint32 gatewayId;
        uint64 batchId;
        uint32 index;
    }

    enum DisputeStatus {
        None,
        Open,
        Upheld,
        Rejected,
        /// @dev Not resolved by its deadline; closed by anyone as if rejected (`expireDispute`).
        Expired
    }

    struct Dispute {
        address customer;
        uint32 gatewayId;
        uint64 batchId;
        address provider;
        uint32 entryIndex;
        uint96 amount;
        uint16 feeBps;
        uint40 openedAt;
        DisputeStatus status;
        /// @dev The arbiter must resolve before this time; from then on anyone may expire it.
        uint40 resolveBy;
    }

    // ---------------------------------------------------------------- state

    /// @notice Length of a vesting epoch and the dispute window, seconds. Fixed at deployment because
    ///         every provider's earnings buckets are numbered by it.
    uint256 public immutable DISPUTE_WINDOW;
    IProviderRegistry public immutable registry;
    IProviderStaking public immutable staking;

    /// @notice Protocol fee, basis points of each entry's charge.
    uint16 public feeBps = 250;
    /// @notice Most one batch may charge, USDC base units.
    uint96 public maxBatchAmount = 50_000e6;
    /// @notice Most one gateway may charge per cap window, USDC base units.
    uint96 public maxWindowAmount = 250_000e6;
    /// @notice Length of the cap window, seconds.
    uint40 public capWindow = 1 hours;
    /// @notice Seconds the arbiter has to resolve a dispute once opened (fixed per dispute when it
    ///         opens). A week: time to gather evidence, and 2 * DISPUTE_WINDOW + 7 days still fits in
    ///         the 14-day unbonding delay on Base (docs/protocol.md, "Life of a dispute").
    uint40 public disputeResolutionPeriod = 7 days;

    /// @notice Sum of every provider's claimable and vesting earnings.
    uint256 public totalEarnings;
    /// @notice Fees collected and not yet withdrawn by the governor.
    uint256 public protocolFees;
    uint256 public nextDisputeId = 1;

    mapping(uint32 gatewayId => Gateway) private _gateways;
    mapping(uint32 gatewayId => FixedWindow.Window) private _windows;
    mapping(address provider => uint256 packed) private _earnings;
    mapping(uint32 gatewayId => mapping(uint64 batchId => BatchRecord)) private _batches;
    mapping(bytes32 batchKey => mapping(uint256 word => uint256 bits)) private _skipped;
    mapping(bytes32 batchKey => mapping(uint256 word => uint256 bits)) private _disputed;
    mapping(uint256 disputeId => Dispute) private _disputes;

    // ---------------------------------------------------------------- events

    event GatewaySignerSet(uint32 indexed gatewayId, address indexed signer);
    event BatchSettled(
        uint32 indexed gatewayId,
        uint64 indexed batchId,
        bytes32 receiptsRoot,
        bytes32 entriesHash,
        uint32 receiptCount,
        uint32 entryCount,
        uint256 charged,
        uint256 fees,
        uint32 skipped,
        uint40 vestsAt
    );
    event EntrySkipped(uint32 indexed gatewayId, uint64 indexed batchId, uint256 index, uint8 reason);
    event EarningsClaimed(address indexed provider, uint256 amount);
    event DisputeOpened(
        uint256 indexed disputeId,
        address indexed customer,
        address indexed provider,
        EntryRef entry,
        uint256 amount,
        bytes32 reasonHash
    );
    event DisputeResolved(
        uint256 indexed disputeId, bool upheld, uint256 refund, uint256 fromEarnings, uint256 fromStake, uint256 fromFees
    );
    /// @notice A dispute passed its deadline unresolved and was closed as rejected (the
    ///         `DisputeResolved` event with `upheld = false` is emitted too, for readers that know only it).
    event DisputeExpired(uint256 indexed disputeId, address indexed closedBy, uint40 resolveBy);
    event DisputeResolutionPeriodSet(uint40 period);
    event SlaCreditPaid(address indexed provider, address indexed customer, uint256 amount);
    event FeeSet(uint16 feeBps);
    event CapsSet(uint96 maxBatchAmount, uint96 maxWindowAmount, uint40 capWindow);
    event FeesWithdrawn(address indexed to, uint256 amount);

    // ---------------------------------------------------------------- errors

    error UnknownGateway(uint32 gatewayId);
    error BatchOutOfOrder(uint64 expected, uint64 got);
    error BatchExpired(uint64 deadline);
    error BadEntryCount(uint256 count);
    error MalformedEntry(uint256 index);
    error MalformedPriceWords();
    error InvalidSignature();
    error BatchCapExceeded(uint256 charged, uint256 cap);
    error WindowCapExceeded(uint256 spent, uint256 cap);
    error FeeTooHigh(uint16 feeBps, uint16 maximum);
    error UnknownBatch(uint32 gatewayId, uint64 batchId);
    error NotEntryCustomer(address caller, address customer);
    error EntryMismatch();
    error EntryNotSettled(uint256 index);
    error AlreadyDisputed(uint256 index);
    error DisputeWindowClosed(uint40 closedAt);
    error DisputeAmountTooHigh(uint256 amount, uint256 charge);
    error DisputeNotOpen(uint256 disputeId);
    error RefundTooHigh(uint256 refund, uint256 disputed);
    error ResolutionDeadlinePassed(uint256 disputeId, uint40 resolveBy);
    error DisputeNotExpired(uint256 disputeId, uint40 resolveBy);
    error ResolutionPeriodOutOfRange(uint40 period, uint40 minimum, uint40 maximum);
    error NothingToClaim();
    error LengthMismatch();
    error InsufficientFees(uint256 requested, uint256 available);
    error ZeroWindow();
    error CreditUnbacked(uint256 owed, uint256 held);

    // ---------------------------------------------------------------- construction

    /// @param usdc_ The settlement token (USDC).
    /// @param registry_ Provider registry (published prices).
    /// @param staking_ Provider staking (refunds beyond unvested earnings).
    /// @param authority The AccessManager.
    /// @param disputeWindow Seconds a customer has to dispute an entry; also the vesting epoch.
    constructor(
        IERC20 usdc_,
        IProviderRegistry registry_,
        IProviderStaking staking_,
        address authority,
        uint256 disputeWindow
    ) CustomerEscrow(usdc_) AccessManaged(authority) EIP712("Tollgate Settlement", "1") {
        if (disputeWindow == 0) revert ZeroWindow();
        DISPUTE_WINDOW = disputeWindow;
        registry = registry_;
        staking = staking_;
    }

    // ---------------------------------------------------------------- settlement

    /// @notice Settle a usage batch signed by the gateway's current signer. Anyone may submit it.
    ///         Entries whose price exceeds the published one, or whose customer cannot pay in full,
    ///         are skipped with `EntrySkipped` (never paid in part, never reverting the batch).
    /// @param batch The batch (ids, receipts root, entries).
    /// @param signature The signer's EIP-712 signature (65-byte ECDSA, or ERC-1271 for a contract signer).
    function settleBatch(UsageBatch calldata batch, bytes calldata signature) external whenNotPaused nonReentrant {
        // Taking the array from calldata checks that all of it lies within calldata (EntryCalldata).
        UsageEntry[] calldata entries = batch.entries;
        bytes32 entriesHash = _authorize(batch, entries, signature);
        (uint256 charged, uint256 fees, uint32 skipped) = _applyEntries(batch, entries, _priceWords(entries));
        _enforceCaps(batch.gatewayId, charged);
        _record(batch, entriesHash, charged, fees, skipped);
    }

    /// @dev Checks order, deadline, size, every entry's encoding and the signature, and consumes the
    ///      batch id.
    function _authorize(UsageBatch calldata batch, UsageEntry[] calldata entries, bytes calldata signature)
        private
        returns (bytes32 entriesHash)
    {
        Gateway storage gw = _gateways[batch.gatewayId];
        address signer = gw.signer;
        if (signer == address(0)) revert UnknownGateway(batch.gatewayId);
        if (batch.batchId != gw.nextBatchId) revert BatchOutOfOrder(gw.nextBatchId, batch.batchId);
        if (block.timestamp > batch.deadline) revert BatchExpired(batch.deadline);
        uint256 n = entries.length;
        if (n == 0 || n > MAX_ENTRIES) revert BadEntryCount(n);

        entriesHash = _hashEntries(entries);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    BATCH_TYPEHASH,
                    batch.gatewayId,
                    batch.batchId,
                    batch.receiptsRoot,
                    batch.receiptCount,
                    batch.deadline,
                    entriesHash
                )
            )
        );
        // Replay is stopped by the batch id, never by the signature bytes (security-and-gas 1.2).
        if (!SignatureChecker.isValidSignatureNow(signer, digest, signature)) revert InvalidSignature();
        gw.nextBatchId = batch.batchId + 1;
    }

    /// @dev Stores the batch record, moves the totals and announces the batch.
    function _record(UsageBatch calldata batch, bytes32 entriesHash, uint256 charged, uint256 fees, uint32 skipped)
        private
    {
        uint40 vestsAt = uint40((block.timestamp / DISPUTE_WINDOW + 2) * DISPUTE_WINDOW);
        uint32 n = uint32(batch.entries.length); // at most MAX_ENTRIES
        _batches[batch.gatewayId][batch.batchId] = BatchRecord({
            entriesHash: entriesHash,
            receiptsRoot: batch.receiptsRoot,
            settledAt: uint40(block.timestamp),
            vestsAt: vestsAt,
            feeBps: feeBps,
            entryCount: n
        });
        totalEscrowed -= charged;
        totalEarnings += charged - fees;
        protocolFees += fees;
        emit BatchSettled(
            batch.gatewayId, batch.batchId, batch.receiptsRoot, entriesHash, batch.receiptCount, n, charged, fees, skipped, vestsAt
        );
    }

    /// @dev What every entry of one batch is settled against (kept in memory to spare stack slots).
    struct Terms {
        uint256 grace;
        uint16 feeBps;
        uint256 epoch;
    }

    /// @dev The per-entry loop: this is where settlement gas goes, so each entry reads one price word
    ///      (fetched from the registry before the loop), reads and writes one customer slot and one
    ///      provider slot, and reads its fields straight from calldata (checked in `_hashEntries`).
    /// @param words Memory address of the entries' price words, one per entry (`_priceWords`).
    function _applyEntries(UsageBatch calldata batch, UsageEntry[] calldata entries, uint256 words)
        private
        returns (uint256 charged, uint256 fees, uint32 skipped)
    {
        Terms memory terms = Terms({grace: registry.priceGrace(), feeBps: feeBps, epoch: _currentEpoch()});
        for (uint256 i; i < entries.length; ++i) {
            (uint256 amount, uint256 fee, uint8 skipReason) = _settleEntry(EntryCalldata.at(entries, i), words, i, terms);
            if (skipReason != 0) {
                _skip(batch, i, skipReason);
                ++skipped;
                continue;
            }
            unchecked {
                // Bounded by the customers' balances, which are bounded by USDC's supply.
                charged += amount;
                fees += fee;
            }
        }
    }

    /// @dev Settles entry `i`, at calldata offset `e`, in full, or returns why it must be skipped
    ///      (then nothing changed).
    function _settleEntry(uint256 e, uint256 words, uint256 i, Terms memory terms)
        private
        returns (uint256 amount, uint256 fee, uint8 skipReason)
    {
        {
            uint256 priceWord;
            assembly ("memory-safe") {
                priceWord := mload(add(words, shl(5, i))) // _priceWords wrote one word per entry
            }
            (uint48 promptPrice, uint48 completionPrice) = EntryCalldata.prices(e);
            if (!PriceBook.accepts(priceWord, promptPrice, completionPrice, block.timestamp, terms.grace)) {
                return (0, 0, SKIP_PRICE_ABOVE_PUBLISHED);
            }
            (uint64 promptTokens, uint64 completionTokens) = EntryCalldata.tokens(e);
            amount = PriceMath.charge(promptTokens, completionTokens, promptPrice, completionPrice);
        }
        (address customer, address provider) = EntryCalldata.parties(e);
        if (!_debit(customer, amount)) return (0, 0, SKIP_INSUFFICIENT_BALANCE);
        unchecked {
            // amount < 2^113 (PriceMath.charge), so the cast is exact; fee <= amount because
            // feeBps <= MAX_FEE_BPS < BPS, so the subtraction cannot underflow.
            fee = PriceMath.fee(uint128(amount), terms.feeBps);
            _creditEarnings(provider, amount - fee, terms.epoch);
        }
    }

    /// @dev Every entry's price record, read from the registry in one `priceWords(bytes32[])` call.
    ///      The call is encoded by hand so that each slot is written once, straight into the call's
    ///      arguments, and the answer is copied over those arguments: no ABI encode/decode loops.
    /// @return words Memory address of n price words, word i for entry i.
    function _priceWords(UsageEntry[] calldata entries) private view returns (uint256 words) {
        uint256 n = entries.length; // 1..MAX_ENTRIES (checked in _authorize)
        uint256 argsSize = 0x44 + (n << 5); // selector, array offset, length, n slots
        bytes4 selector = IProviderRegistry.priceWords.selector;
        uint256 args;
        assembly ("memory-safe") {
            args := mload(0x40)
            mstore(0x40, add(args, argsSize))
            mstore(args, selector)
            mstore(add(args, 0x04), 0x20)
            mstore(add(args, 0x24), n)
            words := add(args, 0x44)
        }
        for (uint256 i; i < n; ++i) {
            (address provider, bytes32 model) = EntryCalldata.providerAndModel(EntryCalldata.at(entries, i));
            bytes32 slot = PriceBook.slotOf(provider, model);
            assembly ("memory-safe") {
                mstore(add(words, shl(5, i)), slot)
            }
        }
        address registry_ = address(registry);
        bool wellFormed;
        assembly ("memory-safe") {
            if iszero(staticcall(gas(), registry_, args, argsSize, 0, 0x40)) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
            // The answer must be abi.encode(uint256[n]): offset 0x20, length n, n words.
            wellFormed := and(eq(returndatasize(), add(0x40, shl(5, n))), and(eq(mload(0), 0x20), eq(mload(0x20), n)))
            if wellFormed { returndatacopy(words, 0x40, shl(5, n)) }
        }
        if (!wellFormed) revert MalformedPriceWords();
    }

    /// @dev Debits available first, then the pending withdrawal; all or nothing. One read and one
    ///      write of the customer's slot (Account: available bits 0-95, pending 96-191).
    function _debit(address customer, uint256 amount) private returns (bool) {
        Account storage account = _accounts[customer];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(account.slot)
        }
        uint256 available = word & MASK96;
        // Unchecked: available and pending are below 2^96, so their sum cannot overflow; each
        // subtraction is guarded by the comparison before it.
        unchecked {
            if (amount <= available) {
                word -= amount; // available is the lowest field and amount <= it: no borrow into pending
            } else {
                uint256 pending = (word >> 96) & MASK96;
                if (amount > available + pending) return false;
                pending -= amount - available;
                word = (word & ~((MASK96 << 96) | MASK96)) | (pending << 96);
            }
        }
        assembly ("memory-safe") {
            sstore(account.slot, word)
        }
        return true;
    }

    /// @dev Adds `amount` (< 2^113, an entry's charge) to the provider's current-epoch bucket: one
    ///      read and one write of its slot.
    function _creditEarnings(address provider, uint256 amount, uint256 epoch) private {
        mapping(address => uint256) storage earnings = _earnings;
        bytes32 slot;
        uint256 word;
        assembly ("memory-safe") {
            // The mapping's slot for `provider`, as Solidity computes it (keccak256(key . mapping slot)).
            mstore(0x00, provider)
            mstore(0x20, earnings.slot)
            slot := keccak256(0x00, 0x40)
            word := sload(slot)
        }
        word = _roll(word, epoch);
        uint256 cur;
        unchecked {
            cur = ((word >> 160) & MASK64) + amount; // < 2^64 + 2^113: no overflow
        }
        if (cur > MASK64) revert SafeCast.SafeCastOverflowedUintDowncast(64, cur);
        word = (word & ~(MASK64 << 160)) | (cur << 160);
        assembly ("memory-safe") {
            sstore(slot, word)
        }
    }

    /// @dev Moves buckets that have vested by `epoch` into claimable and makes `epoch` current.
    ///      `epoch` fits 32 bits (`_currentEpoch`); prev and cur only move between 64-bit fields, so
    ///      claimable is the only field that can grow past its width, and that is checked.
    function _roll(uint256 word, uint256 epoch) private pure returns (uint256) {
        uint256 stored = word >> 224;
        if (stored == epoch) return word;
        (uint256 claimable, uint256 prev, uint256 cur) = _unpack(word);
        unchecked {
            // Three terms below 2^96 each: no overflow in 256 bits.
            if (stored + 1 == epoch) {
                claimable += prev;
                prev = cur;
            } else {
                claimable += prev + cur;
                prev = 0;
            }
        }
        if (claimable > MASK96) revert SafeCast.SafeCastOverflowedUintDowncast(96, claimable);
        return claimable | (prev << 96) | (epoch << 224);
    }

    function _unpack(uint256 word) private pure returns (uint256 claimable, uint256 prev, uint256 cur) {
        return (word & MASK96, (word >> 96) & MASK64, (word >> 160) & MASK64);
    }

    function _pack(uint256 claimable, uint256 prev, uint256 cur, uint256 epoch) private pure returns (uint256) {
        // Every field is bounded by USDC's total supply (< 2^64 base units today); the casts fail loudly if not.
        return uint256(SafeCast.toUint96(claimable)) | (uint256(SafeCast.toUint64(prev)) << 96)
            | (uint256(SafeCast.toUint64(cur)) << 160) | (uint256(SafeCast.toUint32(epoch)) << 224);
    }

    function _skip(UsageBatch calldata batch, uint256 index, uint8 reason) private {
        _skipped[_batchKey(batch.gatewayId, batch.batchId)][index >> 8] |= 1 << (index & 255);
        emit EntrySkipped(batch.gatewayId, batch.batchId, index, reason);
    }

    function _enforceCaps(uint32 gatewayId, uint256 charged) private {
        if (charged > maxBatchAmount) revert BatchCapExceeded(charged, maxBatchAmount);
        uint256 spent = _windows[gatewayId].add(charged, capWindow);
        if (spent > maxWindowAmount) revert WindowCapExceeded(spent, maxWindowAmount);
    }

    /// @dev EIP-712 encodeData of Entry[]: keccak256 of the concatenated struct hashes. Rejects an
    ///      entry with a field wider than its type, as the ABI decoder would: the per-entry loop then
    ///      reads fields unchecked (EntryCalldata).
    function _hashEntries(UsageEntry[] calldata entries) private pure returns (bytes32 h) {
        uint256 n = entries.length;
        uint256 hashes;
        assembly ("memory-safe") {
            hashes := mload(0x40)
            mstore(0x40, add(hashes, shl(5, n)))
        }
        for (uint256 i; i < n; ++i) {
            uint256 e = EntryCalldata.at(entries, i);
            if (!EntryCalldata.isClean(e)) revert MalformedEntry(i);
            bytes32 entryHash = _hashEntryAt(e);
            assembly ("memory-safe") {
                mstore(add(hashes, shl(5, i)), entryHash)
            }
        }
        assembly ("memory-safe") {
            h := keccak256(hashes, shl(5, n))
        }
    }

    /// @dev Struct hash of an ABI-decoded calldata entry (`openDispute`, `hashEntry`).
    function _hashEntry(UsageEntry calldata entry) private pure returns (bytes32) {
        uint256 e;
        assembly ("memory-safe") {
            e := entry
        }
        return _hashEntryAt(e);
    }

    /// @dev keccak256(abi.encode(ENTRY_TYPEHASH, entry)) for the entry at calldata offset `e`: the
    ///      entry is eight static words, so its ABI encoding is its calldata (for a clean entry; a
    ///      dirty one is rejected by `_hashEntries` and the ABI decoder before its hash matters).
    function _hashEntryAt(uint256 e) private pure returns (bytes32 h) {
        bytes32 typehash = ENTRY_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            calldatacopy(add(m, 0x20), e, 0x100)
            h := keccak256(m, 0x120)
        }
    }

    function _batchKey(uint32 gatewayId, uint64 batchId) private pure returns (bytes32) {
        return keccak256(abi.encode(gatewayId, batchId));
    }

    // ---------------------------------------------------------------- earnings

    /// @notice Pay the caller's vested earnings. Works while paused (vested means past the dispute
    ///         window); a blacklisted provider's failure blocks nobody else.
    function claim() external nonReentrant {
        if (frozen[msg.sender]) revert AccountFrozen(msg.sender);
        uint256 word = _roll(_earnings[msg.sender], _currentEpoch());
        uint256 amount = word & MASK96;
        if (amount == 0) revert NothingToClaim();
        _earnings[msg.sender] = word & ~MASK96;
        totalEarnings -= amount;
        usdc.safeTransfer(msg.sender, amount);
        emit EarningsClaimed(msg.sender, amount);
    }

    /// @notice A provider's earnings: claimable now, still vesting, and when the newest bucket vests.
    function earningsOf(address provider) external view returns (uint256 claimable, uint256 vesting, uint40 nextVestAt) {
        uint256 epoch = _currentEpoch();
        (uint256 claimable_, uint256 prev, uint256 cur) = _unpack(_roll(_earnings[provider], epoch));
        claimable = claimable_;
        vesting = prev + cur;
        if (prev != 0) nextVestAt = uint40((epoch + 1) * DISPUTE_WINDOW);
        else if (cur != 0) nextVestAt = uint40((epoch + 2) * DISPUTE_WINDOW);
    }

    /// @dev Vesting epoch number; the earnings word stores it in 32 bits.
    function _currentEpoch() private view returns (uint256) {
        return SafeCast.toUint32(block.timestamp / DISPUTE_WINDOW);
    }

    // ---------------------------------------------------------------- disputes

    /// @notice Dispute an entry of a settled batch before its earnings vest. The caller must be the
    ///         entry's customer. Works while paused: the dispute window does not stop for a pause. `entryHashes` are the EIP-712 struct hashes of all the batch's
    ///         entries (the indexer serves them); they must hash to the batch's recorded entriesHash.
    /// @param ref The batch (gateway id, batch id) and the entry's position in it.
    /// @param entry The entry itself.
    /// @param entryHashes Struct hashes of every entry of the batch.
    /// @param amount How much of the entry's charge is disputed.
    /// @param reasonHash keccak256 of the customer's written reason (kept off-chain).
    /// @return disputeId The new dispute.
    function openDispute(
        EntryRef calldata ref,
        UsageEntry calldata entry,
        bytes32[] calldata entryHashes,
        uint256 amount,
        bytes32 reasonHash
    ) external returns (uint256 disputeId) {
        if (entry.customer != msg.sender) revert NotEntryCustomer(msg.sender, entry.customer);
        uint16 batchFeeBps = _markDisputed(ref, entry, entryHashes);
        uint256 charge =
            PriceMath.charge(entry.promptTokens, entry.completionTokens, entry.promptPrice, entry.completionPrice);
        if (amount == 0 || amount > charge) revert DisputeAmountTooHigh(amount, charge);

        disputeId = nextDisputeId++;
        _disputes[disputeId] = Dispute({
            customer: msg.sender,
            gatewayId: ref.gatewayId,
            batchId: ref.batchId,
            provider: entry.provider,
            entryIndex: ref.index,
            amount: uint96(amount),
            feeBps: batchFeeBps,
            openedAt: uint40(block.timestamp),
            status: DisputeStatus.Open,
            resolveBy: uint40(block.timestamp) + disputeResolutionPeriod
        });
        // Keep enough stake from leaving to pay the provider's share should the dispute be upheld.
        staking.lock(entry.provider, amount);
        emit DisputeOpened(disputeId, msg.sender, entry.provider, ref, amount, reasonHash);
    }

    /// @dev Checks that the entry was settled in that batch, is within its dispute window and was not
    ///      disputed before, and marks it disputed. Returns the batch's fee rate.
    function _markDisputed(EntryRef calldata ref, UsageEntry calldata entry, bytes32[] calldata entryHashes)
        private
        returns (uint16)
    {
        BatchRecord memory b = _batches[ref.gatewayId][ref.batchId];
        if (b.settledAt == 0) revert UnknownBatch(ref.gatewayId, ref.batchId);
        if (block.timestamp >= b.vestsAt) revert DisputeWindowClosed(b.vestsAt);
        uint256 index = ref.index;
        if (
            index >= entryHashes.length || keccak256(abi.encodePacked(entryHashes)) != b.entriesHash
                || entryHashes[index] != _hashEntry(entry)
        ) revert EntryMismatch();
        bytes32 key = _batchKey(ref.gatewayId, ref.batchId);
        uint256 bit = 1 << (index & 255);
        if (_skipped[key][index >> 8] & bit != 0) revert EntryNotSettled(index);
        if (_disputed[key][index >> 8] & bit != 0) revert AlreadyDisputed(index);
        _disputed[key][index >> 8] |= bit;
        return b.feeBps;
    }

    /// @notice Resolve an open dispute before its `resolveBy` deadline. Arbiter. An upheld dispute
    ///         refunds `refund` to the customer's escrow: the fee share from protocol fees, the
    ///         provider's share from its unvested earnings, then from its stake (jailing it if even
    ///         that falls short).
    /// @param disputeId The dispute.
    /// @param upheld Whether the customer is right.
    /// @param refund USDC base units to refund, at most the disputed amount (ignored when rejected).
    function resolveDispute(uint256 disputeId, bool upheld, uint256 refund) external restricted nonReentrant {
        Dispute storage d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert DisputeNotOpen(disputeId);
        if (block.timestamp >= d.resolveBy) revert ResolutionDeadlinePassed(disputeId, d.resolveBy);
        uint256 disputed = d.amount;
        address provider = d.provider;
        staking.unlock(provider, disputed);
        if (!upheld) {
            d.status = DisputeStatus.Rejected;
            emit DisputeResolved(disputeId, false, 0, 0, 0, 0);
            return;
        }
        if (refund > disputed) revert RefundTooHigh(refund, disputed);
        d.status = DisputeStatus.Upheld;

        uint256 feeShare = PriceMath.fee(uint128(refund), d.feeBps); // refund <= disputed < 2^96: exact cast
        uint256 fromFees = feeShare <= protocolFees ? feeShare : protocolFees;
        protocolFees -= fromFees;
        uint256 owed = refund - fromFees;
        uint256 fromEarnings = _takeUnvested(provider, owed);
        uint256 fromStake;
        if (owed > fromEarnings) {
            fromStake = staking.slash(provider, owed - fromEarnings, address(this), bytes32("dispute"));
        }
        uint256 paid = fromFees + fromEarnings + fromStake;
        _credit(d.customer, paid);
        emit DisputeResolved(disputeId, true, paid, fromEarnings, fromStake, fromFees);
    }

    /// @notice Close a dispute the arbiter did not resolve by its deadline, as if rejected: the
    ///         provider's stake lock is released and nothing is refunded. Anyone may call it, also
    ///         while paused: an absent arbiter must not hold provider stake hostage.
    /// @param disputeId The dispute.
    function expireDispute(uint256 disputeId) external nonReentrant {
        Dispute storage d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert DisputeNotOpen(disputeId);
        uint40 resolveBy = d.resolveBy;
        if (block.timestamp < resolveBy) revert DisputeNotExpired(disputeId, resolveBy);
        d.status = DisputeStatus.Expired;
        staking.unlock(d.provider, d.amount);
        emit DisputeResolved(disputeId, false, 0, 0, 0, 0);
        emit DisputeExpired(disputeId, msg.sender, resolveBy);
    }

    /// @dev Takes up to `amount` from the provider's unvested buckets, newest first.
    function _takeUnvested(address provider, uint256 amount) private returns (uint256 taken) {
        uint256 epoch = _currentEpoch();
        (uint256 claimable, uint256 prev, uint256 cur) = _unpack(_roll(_earnings[provider], epoch));
        uint256 fromCur = amount < cur ? amount : cur;
        uint256 rest = amount - fromCur;
        uint256 fromPrev = rest < prev ? rest : prev;
        _earnings[provider] = _pack(claimable, prev - fromPrev, cur - fromCur, epoch);
        taken = fromCur + fromPrev;
        totalEarnings -= taken;
    }

    /// @notice A dispute's record.
    function disputeOf(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    // ---------------------------------------------------------------- SLA credits (SlaCredits contract)

    /// @inheritdoc ISettlement
    function creditSla(address provider, address[] calldata customers, uint256[] calldata amounts, uint256 dust)
        external
        restricted
        whenNotPaused
    {
        if (customers.length != amounts.length) revert LengthMismatch();
        for (uint256 i; i < customers.length; ++i) {
            if (amounts[i] == 0) continue;
            _credit(customers[i], amounts[i]);
            emit SlaCreditPaid(provider, customers[i], amounts[i]);
        }
        protocolFees += dust;
        // The USDC must already be here (SlaCredits slashes it from stake first): never book
        // credit the token balance does not back, whoever holds the PROTOCOL role.
        uint256 owed = totalEscrowed + totalEarnings + protocolFees;
        uint256 held = usdc.balanceOf(address(this));
        if (held < owed) revert CreditUnbacked(owed, held);
    }

    // ---------------------------------------------------------------- freezes

    /// @dev A guardian freeze also stops the account's stake exits, so a frozen provider cannot
    ///      leave through ProviderStaking during an incident.
    function _afterFreeze(address account, bool isFrozen) internal override {
        staking.setFrozen(account, isFrozen);
    }

    // ---------------------------------------------------------------- gateways

    /// @notice Authorize `signer` for `gatewayId`, or rotate it. Governor, delayed. Batch ids continue.
    /// @param gatewayId The gateway.
    /// @param signer The new signer (an EOA or an ERC-1271 contract).
    function setGatewaySigner(uint32 gatewayId, address signer) external restricted {
        if (signer == address(0)) revert ZeroAddress();
        _gateways[gatewayId].signer = signer;
        emit GatewaySignerSet(gatewayId, signer);
    }

    /// @notice Revoke a gateway's signer at once (suspected key theft). Guardian.
    /// @param gatewayId The gateway.
    function revokeGatewaySigner(uint32 gatewayId) external restricted {
        _gateways[gatewayId].signer = address(0);
        emit GatewaySignerSet(gatewayId, address(0));
    }

    /// @inheritdoc ISettlement
    function gatewaySigner(uint32 gatewayId) external view returns (address) {
        return _gateways[gatewayId].signer;
    }

    /// @notice The next batch id `gatewayId` must submit.
    function nextBatchId(uint32 gatewayId) external view returns (uint64) {
        return _gateways[gatewayId].nextBatchId;
    }

    /// @notice What the gateway has charged in the current cap window.
    function windowOf(uint32 gatewayId) external view returns (uint40 start, uint96 spent) {
        FixedWindow.Window memory w = _windows[gatewayId];
        return (w.start, w.used);
    }

    /// @notice A settled batch's record (zero when not settled).
    function batchOf(uint32 gatewayId, uint64 batchId) external view returns (BatchRecord memory) {
        return _batches[gatewayId][batchId];
    }

    /// @notice Whether entry `index` of a batch was skipped.
    function isSkipped(uint32 gatewayId, uint64 batchId, uint256 index) external view returns (bool) {
        return _skipped[_batchKey(gatewayId, batchId)][index >> 8] & (1 << (index & 255)) != 0;
    }

    /// @notice Whether a receipt leaf (OpenZeppelin StandardMerkleTree encoding, see
    ///         `contracts/ts/receipts.ts`) belongs to a settled batch's receipts root.
    /// @param leaf keccak256(bytes.concat(keccak256(abi.encode(receipt fields))))
    /// @param proof The leaf's Merkle proof.
    function verifyReceipt(uint32 gatewayId, uint64 batchId, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        BatchRecord storage b = _batches[gatewayId][batchId];
        return b.settledAt != 0 && MerkleProof.verifyCalldata(proof, b.receiptsRoot, leaf);
    }

    /// @notice The EIP-712 struct hash of an entry (what `openDispute` expects in `entryHashes`).
    function hashEntry(UsageEntry calldata entry) external pure returns (bytes32) {
        return _hashEntry(entry);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Set the protocol fee. Governor, delayed.
    /// @param feeBps_ Basis points, at most MAX_FEE_BPS.
    function setFeeBps(uint16 feeBps_) external restricted {
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        feeBps = feeBps_;
        emit FeeSet(feeBps_);
    }

    /// @notice Set the caps that bound what a stolen signer key can move. Governor, delayed.
    function setCaps(uint96 maxBatchAmount_, uint96 maxWindowAmount_, uint40 capWindow_) external restricted {
        if (capWindow_ == 0) revert ZeroWindow();
        maxBatchAmount = maxBatchAmount_;
        maxWindowAmount = maxWindowAmount_;
        capWindow = capWindow_;
        emit CapsSet(maxBatchAmount_, maxWindowAmount_, capWindow_);
    }

    /// @notice Set how long the arbiter has to resolve a dispute; applies to disputes opened
    ///         afterwards. Governor, delayed. Keep 2 * DISPUTE_WINDOW + period within the staking
    ///         unbonding delay (docs/protocol.md).
    /// @param period Seconds, within [MIN_RESOLUTION_PERIOD, MAX_RESOLUTION_PERIOD].
    function setDisputeResolutionPeriod(uint40 period) external restricted {
        if (period < MIN_RESOLUTION_PERIOD || period > MAX_RESOLUTION_PERIOD) {
            revert ResolutionPeriodOutOfRange(period, MIN_RESOLUTION_PERIOD, MAX_RESOLUTION_PERIOD);
        }
        disputeResolutionPeriod = period;
        emit DisputeResolutionPeriodSet(period);
    }

    /// @notice Send collected protocol fees to `to`. Governor, delayed.
    function withdrawFees(address to, uint256 amount) external restricted nonReentrant {
        if (amount > protocolFees) revert InsufficientFees(amount, protocolFees);
        protocolFees -= amount;
        usdc.safeTransfer(to, amount);
        emit FeesWithdrawn(to, amount);
    }
}

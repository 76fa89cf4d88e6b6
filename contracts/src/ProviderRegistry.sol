// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {PriceBook} from "./libraries/PriceBook.sol";
import {UsageEntry} from "./types/Usage.sol";

/// @title ProviderRegistry
/// @notice Providers publish who they are (hardware profile), what they serve (models with prices in
///         USDC per million prompt and completion tokens) and which worker keys speak for them.
///         A price change or a delisting takes effect only after a notice period, so a customer is
///         never surprised by a price; Settlement charges at most the price in force.
/// @dev Holds no money. Each provider/model price lives in one storage slot, read once per batch entry.
contract ProviderRegistry is IProviderRegistry, AccessManaged {
    /// @notice Shortest notice the governor may set for a price change: customers get at least an hour.
    uint40 public constant MIN_PRICE_NOTICE = 1 hours;
    /// @notice Longest grace the governor may set: a week bounds how long an old price can still settle.
    uint40 public constant MAX_PRICE_GRACE = 7 days;

    struct HardwareProfile {
        string gpuModel;
        uint16 gpuCount;
        uint32 vramGb;
        string region;
        string metadataURI;
    }

    struct ModelInfo {
        string name;
        string quantization;
        bytes32 modelHash;
        uint32 contextLength;
    }

    /// @dev One slot. `current` is in force until `nextEffectiveAt`; from then `next` is (or, when
    ///      `delistPending`, nothing is). During `priceGrace` after the switch the old price still
    ///      settles, so usage served before a change but posted shortly after it is paid as served.
    struct ModelPrice {
        uint48 promptPrice;
        uint48 completionPrice;
        uint48 nextPromptPrice;
        uint48 nextCompletionPrice;
        uint40 nextEffectiveAt;
        bool listed;
        bool delistPending;
    }

    /// @notice Notice between scheduling a price change or delisting and its taking effect.
    uint40 public priceNotice = 24 hours;
    /// @notice How long after a change the previous price still settles (bounded settlement lag).
    uint40 public priceGrace = 24 hours;

    mapping(address provider => bool) private _registered;
    mapping(address provider => HardwareProfile) private _profiles;
    // Price records live at PriceBook.slotOf(provider, model), not in a Solidity mapping, so that
    // Settlement can read them by slot (see `priceWords`).
    mapping(address provider => mapping(bytes32 model => ModelInfo)) private _models;
    mapping(address worker => address provider) private _workerProvider;

    event ProviderRegistered(address indexed provider, HardwareProfile profile);
    event ProfileUpdated(address indexed provider, HardwareProfile profile);
    event ModelListed(
        address indexed provider,
        bytes32 indexed model,
        string name,
        string quantization,
        bytes32 modelHash,
        uint32 contextLength,
        uint48 promptPrice,
        uint48 completionPrice
    );
    event PriceChangeScheduled(
        address indexed provider, bytes32 indexed model, uint48 promptPrice, uint48 completionPrice, uint40 effectiveAt
    );
    event ModelDelistScheduled(address indexed provider, bytes32 indexed model, uint40 effectiveAt);
    event WorkerAuthorized(address indexed provider, address indexed worker);
    event WorkerRevoked(address indexed provider, address indexed worker);
    event PriceNoticeSet(uint40 notice);
    event PriceGraceSet(uint40 grace);

    error AlreadyRegistered(address provider);
    error NotRegistered(address provider);
    error InvalidProfile();
    error ModelAlreadyListed(bytes32 model);
    error ModelNotListed(bytes32 model);
    error PriceChangeSettling(uint256 settledAt);
    error WorkerAlreadyBound(address worker, address provider);
    error NotYourWorker(address worker);
    error ZeroAddress();
    error NoticeTooShort(uint40 notice, uint40 minimum);
    error GraceTooLong(uint40 grace, uint40 maximum);

    modifier onlyRegistered() {
        if (!_registered[msg.sender]) revert NotRegistered(msg.sender);
        _;
    }

    /// @param authority The AccessManager that governs parameter changes.
    constructor(address authority) AccessManaged(authority) {}

    // ---------------------------------------------------------------- providers

    /// @notice Register the caller as a provider with a hardware profile.
    /// @param profile GPU model, count, VRAM (GB), region and a metadata URI.
    function register(HardwareProfile calldata profile) external {
        if (_registered[msg.sender]) revert AlreadyRegistered(msg.sender);
        _checkProfile(profile);
        _registered[msg.sender] = true;
        _profiles[msg.sender] = profile;
        emit ProviderRegistered(msg.sender, profile);
    }

    /// @notice Replace the caller's hardware profile.
    /// @param profile The new profile.
    function updateProfile(HardwareProfile calldata profile) external onlyRegistered {
        _checkProfile(profile);
        _profiles[msg.sender] = profile;
        emit ProfileUpdated(msg.sender, profile);
    }

    /// @notice A provider's hardware profile.
    /// @param provider The provider.
    function profileOf(address provider) external view returns (HardwareProfile memory) {
        return _profiles[provider];
    }

    /// @inheritdoc IProviderRegistry
    function isRegistered(address provider) external view returns (bool) {
        return _registered[provider];
    }

    // ---------------------------------------------------------------- models and prices

    /// @notice List a model the caller serves; its price is in force at once (no customer paid a
    ///         different price for it before).
    /// @param model keccak256 of the model's public name.
    /// @param info Name, quantization label, weights hash and context length.
    /// @param promptPrice USDC base units per million prompt tokens.
    /// @param completionPrice USDC base units per million completion tokens.
    function listModel(bytes32 model, ModelInfo calldata info, uint48 promptPrice, uint48 completionPrice)
        external
        onlyRegistered
    {
        ModelPrice storage p = _price(msg.sender, model);
        if (p.listed) {
            // A delisted model may be listed again once its delisting has fully settled.
            if (!p.delistPending) revert ModelAlreadyListed(model);
            uint256 settledAt = uint256(p.nextEffectiveAt) + priceGrace;
            if (block.timestamp < settledAt) revert PriceChangeSettling(settledAt);
        }
        _write(_price(msg.sender, model), ModelPrice({
            promptPrice: promptPrice,
            completionPrice: completionPrice,
            nextPromptPrice: 0,
            nextCompletionPrice: 0,
            nextEffectiveAt: 0,
            listed: true,
            delistPending: false
        }));
        _models[msg.sender][model] = info;
        emit ModelListed(
            msg.sender,
            model,
            info.name,
            info.quantization,
            info.modelHash,
            info.contextLength,
            promptPrice,
            completionPrice
        );
    }

    /// @notice Schedule new prices for a listed model, in force after the notice period. Replacing a
    ///         change that is not yet in force restarts the notice.
    /// @param model The model id.
    /// @param promptPrice New USDC base units per million prompt tokens.
    /// @param completionPrice New USDC base units per million completion tokens.
    function schedulePriceChange(bytes32 model, uint48 promptPrice, uint48 completionPrice) external {
        ModelPrice memory p = _pricesForChange(model);
        p.nextPromptPrice = promptPrice;
        p.nextCompletionPrice = completionPrice;
        p.nextEffectiveAt = uint40(block.timestamp) + priceNotice;
        _write(_price(msg.sender, model), p);
        emit PriceChangeScheduled(msg.sender, model, promptPrice, completionPrice, p.nextEffectiveAt);
    }

    /// @notice Stop serving a model after the notice period; usage served before still settles
    ///         during the grace period.
    /// @param model The model id.
    function delistModel(bytes32 model) external {
        ModelPrice memory p = _pricesForChange(model);
        p.nextPromptPrice = 0;
        p.nextCompletionPrice = 0;
        p.nextEffectiveAt = uint40(block.timestamp) + priceNotice;
        p.delistPending = true;
        _write(_price(msg.sender, model), p);
        emit ModelDelistScheduled(msg.sender, model, p.nextEffectiveAt);
    }

    /// @notice Raw price record of a provider's model (current, next, when next takes effect).
    function priceRecord(address provider, bytes32 model) external view returns (ModelPrice memory) {
        return _price(provider, model);
    }

    /// @notice Name, quantization, weights hash and context length of a provider's model.
    function modelInfo(address provider, bytes32 model) external view returns (ModelInfo memory) {
        return _models[provider][model];
    }

    /// @notice The price in force now, and whether the model is served at all.
    /// @return promptPrice USDC base units per million prompt tokens.
    /// @return completionPrice USDC base units per million completion tokens.
    /// @return served False when the model was never listed or its delisting is in force.
    function priceInForce(address provider, bytes32 model)
        external
        view
        returns (uint48 promptPrice, uint48 completionPrice, bool served)
    {
        ModelPrice memory p = _price(provider, model);
        if (!p.listed) return (0, 0, false);
        if (p.nextEffectiveAt == 0 || block.timestamp < p.nextEffectiveAt) {
            return (p.promptPrice, p.completionPrice, true);
        }
        if (p.delistPending) return (0, 0, false);
        return (p.nextPromptPrice, p.nextCompletionPrice, true);
    }

    /// @notice Whether charging `promptPrice`/`completionPrice` at `timestamp` stays within a price the
    ///         provider publishes for the model (in force, or the previous one within the grace period).
    function isPriceAccepted(
        address provider,
        bytes32 model,
        uint256 promptPrice,
        uint256 completionPrice,
        uint256 timestamp
    ) external view returns (bool) {
        return PriceBook.accepts(_priceWord(provider, model), promptPrice, completionPrice, timestamp, priceGrace);
    }

    /// @inheritdoc IProviderRegistry
    function acceptedPrices(UsageEntry[] calldata entries, uint256 timestamp)
        external
        view
        returns (uint256[] memory bitmap)
    {
        uint256 n = entries.length;
        bitmap = new uint256[]((n + 255) / 256);
        uint256 grace = priceGrace;
        for (uint256 i; i < n; ++i) {
            UsageEntry calldata e = entries[i];
            if (PriceBook.accepts(_priceWord(e.provider, e.model), e.promptPrice, e.completionPrice, timestamp, grace)) {
                bitmap[i >> 8] |= 1 << (i & 255);
            }
        }
    }

    /// @notice Raw price records at the given slots (`PriceBook.slotOf`): Settlement reads every
    ///         entry's record in one call and applies `PriceBook.accepts` itself.
    /// @dev Called once per settled batch with one slot per entry, so the loop is written to cost
    ///      little more than its cold reads: the answer is built in memory already ABI-encoded
    ///      (offset, length, words) and returned as is. `slots` was bounds-checked by the ABI decoder.
    function priceWords(bytes32[] calldata slots) external view returns (uint256[] memory) {
        assembly ("memory-safe") {
            let n := slots.length
            let out := mload(0x40)
            mstore(out, 0x20)
            mstore(add(out, 0x20), n)
            let words := add(out, 0x40)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(words, shl(5, i)), sload(calldataload(add(slots.offset, shl(5, i)))))
            }
            return(out, add(0x40, shl(5, n)))
        }
    }

    function _priceWord(address provider, bytes32 model) private view returns (uint256 word) {
        bytes32 slot = PriceBook.slotOf(provider, model);
        assembly ("memory-safe") {
            word := sload(slot)
        }
    }

    function _write(ModelPrice storage dst, ModelPrice memory src) private {
        dst.promptPrice = src.promptPrice;
        dst.completionPrice = src.completionPrice;
        dst.nextPromptPrice = src.nextPromptPrice;
        dst.nextCompletionPrice = src.nextCompletionPrice;
        dst.nextEffectiveAt = src.nextEffectiveAt;
        dst.listed = src.listed;
        dst.delistPending = src.delistPending;
    }

    /// @dev A provider's price record for `model`, at its fixed slot.
    function _price(address provider, bytes32 model) private pure returns (ModelPrice storage p) {
        bytes32 slot = PriceBook.slotOf(provider, model);
        assembly ("memory-safe") {
            p.slot := slot
        }
    }

    // ---------------------------------------------------------------- workers

    /// @notice Let a worker key act for the caller (sign registrations with gateways).
    /// @param worker The worker's address; it may serve one provider only.
    function authorizeWorker(address worker) external onlyRegistered {
        if (worker == address(0)) revert ZeroAddress();
        address bound = _workerProvider[worker];
        if (bound != address(0)) revert WorkerAlreadyBound(worker, bound);
        _workerProvider[worker] = msg.sender;
        emit WorkerAuthorized(msg.sender, worker);
    }

    /// @notice Withdraw a worker key's authority; gateways drop it on the event.
    /// @param worker The worker's address.
    function revokeWorker(address worker) external {
        if (_workerProvider[worker] != msg.sender) revert NotYourWorker(worker);
        delete _workerProvider[worker];
        emit WorkerRevoked(msg.sender, worker);
    }

    /// @inheritdoc IProviderRegistry
    function providerOfWorker(address worker) external view returns (address) {
        return _workerProvider[worker];
    }

    // ---------------------------------------------------------------- governance (delayed by the AccessManager)

    /// @notice Set the notice period for price changes and delistings.
    /// @param notice Seconds, at least MIN_PRICE_NOTICE.
    function setPriceNotice(uint40 notice) external restricted {
        if (notice < MIN_PRICE_NOTICE) revert NoticeTooShort(notice, MIN_PRICE_NOTICE);
        priceNotice = notice;
        emit PriceNoticeSet(notice);
    }

    /// @notice Set how long a replaced price still settles.
    /// @param grace Seconds, at most MAX_PRICE_GRACE.
    function setPriceGrace(uint40 grace) external restricted {
        if (grace > MAX_PRICE_GRACE) revert GraceTooLong(grace, MAX_PRICE_GRACE);
        priceGrace = grace;
        emit PriceGraceSet(grace);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Loads the caller's price record for a change, folding a change that has fully settled
    ///      into `current`. Reverts while the previous change is still within its grace period,
    ///      so the price that usage may still settle at is never lost.
    function _pricesForChange(bytes32 model) private view returns (ModelPrice memory p) {
        p = _price(msg.sender, model);
        if (!p.listed || p.delistPending) revert ModelNotListed(model);
        if (p.nextEffectiveAt != 0 && block.timestamp >= p.nextEffectiveAt) {
            uint256 settledAt = uint256(p.nextEffectiveAt) + priceGrace;
            if (block.timestamp < settledAt) revert PriceChangeSettling(settledAt);
            p.promptPrice = p.nextPromptPrice;
            p.completionPrice = p.nextCompletionPrice;
        }
    }

    function _checkProfile(HardwareProfile calldata profile) private pure {
        if (bytes(profile.gpuModel).length == 0 || profile.gpuCount == 0 || profile.vramGb == 0) {
            revert InvalidProfile();
        }
    }
}

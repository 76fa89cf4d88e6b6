// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {UnitHelpers} from "../utils/UnitHelpers.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {PriceBook} from "../../src/libraries/PriceBook.sol";
import {UsageEntry} from "../../src/types/Usage.sol";

contract ProviderRegistryTest is UnitHelpers {
    bytes32 internal constant OTHER_MODEL = keccak256("qwen-2.5-72b");
    uint40 internal constant NOTICE = 24 hours;
    uint40 internal constant GRACE = 24 hours;

    function setUp() public override {
        super.setUp();
        _provider(p, 0); // registered, MODEL listed at the fixture prices, no stake
    }

    function _accepted(uint256 promptPrice, uint256 completionPrice) internal view returns (bool) {
        return registry.isPriceAccepted(p, MODEL, promptPrice, completionPrice, block.timestamp);
    }

    function _inForce() internal view returns (uint48 pp, uint48 cp, bool served) {
        return registry.priceInForce(p, MODEL);
    }

    // ---------------------------------------------------------------- register / profile

    function test_register_newProvider_storesProfileAndEmits() public {
        ProviderRegistry.HardwareProfile memory prof = _profile();
        vm.expectEmit(address(registry));
        emit ProviderRegistry.ProviderRegistered(p2, prof);
        vm.prank(p2);
        registry.register(prof);
        assertTrue(registry.isRegistered(p2));
        ProviderRegistry.HardwareProfile memory stored = registry.profileOf(p2);
        assertEq(stored.gpuModel, "H100-80GB");
        assertEq(stored.gpuCount, 8);
        assertEq(stored.vramGb, 640);
        assertEq(stored.region, "eu-west");
        assertEq(stored.metadataURI, "ipfs://provider");
    }

    function test_register_twice_reverts() public {
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.AlreadyRegistered.selector, p));
        registry.register(_profile());
    }

    function test_register_emptyGpuModel_reverts() public {
        ProviderRegistry.HardwareProfile memory prof = _profile();
        prof.gpuModel = "";
        vm.prank(p2);
        vm.expectRevert(ProviderRegistry.InvalidProfile.selector);
        registry.register(prof);
        assertFalse(registry.isRegistered(p2));
    }

    function test_register_zeroGpuCount_reverts() public {
        ProviderRegistry.HardwareProfile memory prof = _profile();
        prof.gpuCount = 0;
        vm.prank(p2);
        vm.expectRevert(ProviderRegistry.InvalidProfile.selector);
        registry.register(prof);
    }

    function test_register_zeroVram_reverts() public {
        ProviderRegistry.HardwareProfile memory prof = _profile();
        prof.vramGb = 0;
        vm.prank(p2);
        vm.expectRevert(ProviderRegistry.InvalidProfile.selector);
        registry.register(prof);
    }

    function test_updateProfile_registered_replacesProfile() public {
        ProviderRegistry.HardwareProfile memory prof = _profile();
        prof.gpuModel = "B200";
        prof.gpuCount = 4;
        vm.expectEmit(address(registry));
        emit ProviderRegistry.ProfileUpdated(p, prof);
        vm.prank(p);
        registry.updateProfile(prof);
        assertEq(registry.profileOf(p).gpuModel, "B200");
        assertEq(registry.profileOf(p).gpuCount, 4);
    }

    function test_updateProfile_unregistered_reverts() public {
        vm.prank(p2);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, p2));
        registry.updateProfile(_profile());
    }

    function test_updateProfile_invalid_reverts() public {
        ProviderRegistry.HardwareProfile memory prof = _profile();
        prof.vramGb = 0;
        vm.prank(p);
        vm.expectRevert(ProviderRegistry.InvalidProfile.selector);
        registry.updateProfile(prof);
        assertEq(registry.profileOf(p).vramGb, 640);
    }

    // ---------------------------------------------------------------- listModel

    function test_listModel_new_priceInForceAtOnce() public {
        ProviderRegistry.ModelInfo memory info = _modelInfo();
        vm.expectEmit(address(registry));
        emit ProviderRegistry.ModelListed(
            p, OTHER_MODEL, info.name, info.quantization, info.modelHash, info.contextLength, 1_000_000, 3_000_000
        );
        vm.prank(p);
        registry.listModel(OTHER_MODEL, info, 1_000_000, 3_000_000);
        (uint48 pp, uint48 cp, bool served) = registry.priceInForce(p, OTHER_MODEL);
        assertEq(pp, 1_000_000);
        assertEq(cp, 3_000_000);
        assertTrue(served);
        assertTrue(registry.isPriceAccepted(p, OTHER_MODEL, 1_000_000, 3_000_000, block.timestamp));
        ProviderRegistry.ModelInfo memory stored = registry.modelInfo(p, OTHER_MODEL);
        assertEq(stored.name, info.name);
        assertEq(stored.contextLength, 131_072);
        ProviderRegistry.ModelPrice memory rec = registry.priceRecord(p, OTHER_MODEL);
        assertTrue(rec.listed);
        assertEq(rec.nextEffectiveAt, 0);
    }

    function test_listModel_unregistered_reverts() public {
        vm.prank(p2);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, p2));
        registry.listModel(MODEL, _modelInfo(), 1, 1);
    }

    function test_listModel_alreadyListed_reverts() public {
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ModelAlreadyListed.selector, MODEL));
        registry.listModel(MODEL, _modelInfo(), 1, 1);
        (uint48 pp,,) = _inForce();
        assertEq(pp, PROMPT_PRICE);
    }

    function test_priceInForce_unlistedModel_notServed() public view {
        (uint48 pp, uint48 cp, bool served) = registry.priceInForce(p, OTHER_MODEL);
        assertEq(pp, 0);
        assertEq(cp, 0);
        assertFalse(served);
        assertFalse(registry.isPriceAccepted(p, OTHER_MODEL, 0, 0, block.timestamp));
    }

    function test_isPriceAccepted_atOrBelowPublished_acceptedAboveRejected() public view {
        assertTrue(_accepted(PROMPT_PRICE, COMPLETION_PRICE));
        assertTrue(_accepted(PROMPT_PRICE - 1, 0));
        assertFalse(_accepted(PROMPT_PRICE + 1, COMPLETION_PRICE));
        assertFalse(_accepted(PROMPT_PRICE, COMPLETION_PRICE + 1));
    }

    // ---------------------------------------------------------------- price changes

    function test_schedulePriceChange_takesEffectOnlyAfterNotice() public {
        uint40 effectiveAt = uint40(block.timestamp) + NOTICE;
        vm.expectEmit(address(registry));
        emit ProviderRegistry.PriceChangeScheduled(p, MODEL, 400_000, 1_200_000, effectiveAt);
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 400_000, 1_200_000);

        // Before the notice runs out: old price in force, the higher one refused.
        vm.warp(effectiveAt - 1);
        (uint48 pp, uint48 cp,) = _inForce();
        assertEq(pp, PROMPT_PRICE);
        assertEq(cp, COMPLETION_PRICE);
        assertFalse(_accepted(400_000, 1_200_000));

        vm.warp(effectiveAt);
        (pp, cp,) = _inForce();
        assertEq(pp, 400_000);
        assertEq(cp, 1_200_000);
        assertTrue(_accepted(400_000, 1_200_000));
    }

    function test_isPriceAccepted_oldPriceDuringGrace_acceptedUntilGraceEnds() public {
        // A price cut: usage served at the old (higher) price before the change still settles during grace.
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 100_000, 300_000);
        uint256 effectiveAt = block.timestamp + NOTICE;
        vm.warp(effectiveAt + GRACE - 1);
        assertTrue(_accepted(PROMPT_PRICE, COMPLETION_PRICE));
        vm.warp(effectiveAt + GRACE);
        assertFalse(_accepted(PROMPT_PRICE, COMPLETION_PRICE));
        assertTrue(_accepted(100_000, 300_000));
    }

    function test_schedulePriceChange_replacedBeforeEffect_restartsNotice() public {
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 400_000, 1_200_000);
        vm.warp(block.timestamp + NOTICE - 10);
        uint40 newEffective = uint40(block.timestamp) + NOTICE;
        vm.expectEmit(address(registry));
        emit ProviderRegistry.PriceChangeScheduled(p, MODEL, 500_000, 1_500_000, newEffective);
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 500_000, 1_500_000);

        // When the first change would have applied, the old price is still the only one in force.
        vm.warp(block.timestamp + 10);
        (uint48 pp,,) = _inForce();
        assertEq(pp, PROMPT_PRICE);
        assertFalse(_accepted(400_000, 1_200_000));
        vm.warp(newEffective);
        (pp,,) = _inForce();
        assertEq(pp, 500_000);
        // The replaced change never applies.
        assertEq(registry.priceRecord(p, MODEL).nextPromptPrice, 500_000);
    }

    function test_schedulePriceChange_duringGraceOfPrevious_reverts() public {
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 400_000, 1_200_000);
        uint256 settledAt = block.timestamp + NOTICE + GRACE;
        vm.warp(block.timestamp + NOTICE);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.PriceChangeSettling.selector, settledAt));
        registry.schedulePriceChange(MODEL, 500_000, 1_500_000);
    }

    function test_schedulePriceChange_afterPreviousSettled_foldsItIntoCurrent() public {
        // A price cut settles fully, then a raise is scheduled: until the raise applies, only the cut
        // price is in force; the original, higher price is gone for good.
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 100_000, 300_000);
        vm.warp(block.timestamp + NOTICE + GRACE);
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 500_000, 1_500_000);

        ProviderRegistry.ModelPrice memory rec = registry.priceRecord(p, MODEL);
        assertEq(rec.promptPrice, 100_000);
        assertEq(rec.completionPrice, 300_000);
        (uint48 pp, uint48 cp,) = _inForce();
        assertEq(pp, 100_000);
        assertEq(cp, 300_000);
        assertTrue(_accepted(100_000, 300_000));
        assertFalse(_accepted(PROMPT_PRICE, COMPLETION_PRICE));
        assertFalse(_accepted(500_000, 1_500_000));
    }

    function test_schedulePriceChange_unlistedModel_reverts() public {
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ModelNotListed.selector, OTHER_MODEL));
        registry.schedulePriceChange(OTHER_MODEL, 1, 1);
    }

    function test_schedulePriceChange_byOtherProvider_reverts() public {
        // p2 has no record for MODEL: it cannot change p's price.
        vm.prank(p2);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ModelNotListed.selector, MODEL));
        registry.schedulePriceChange(MODEL, 1e9, 1e9);
    }

    function test_schedulePriceChange_whileDelistPending_reverts() public {
        vm.prank(p);
        registry.delistModel(MODEL);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ModelNotListed.selector, MODEL));
        registry.schedulePriceChange(MODEL, 1, 1);
    }

    // ---------------------------------------------------------------- delisting

    function test_delistModel_stopsServingAfterNoticeAndSettlesDuringGrace() public {
        uint40 effectiveAt = uint40(block.timestamp) + NOTICE;
        vm.expectEmit(address(registry));
        emit ProviderRegistry.ModelDelistScheduled(p, MODEL, effectiveAt);
        vm.prank(p);
        registry.delistModel(MODEL);

        vm.warp(effectiveAt - 1);
        (,, bool served) = _inForce();
        assertTrue(served);
        vm.warp(effectiveAt);
        (,, served) = _inForce();
        assertFalse(served);
        // Usage served before the delisting still settles at the old price during grace...
        assertTrue(_accepted(PROMPT_PRICE, COMPLETION_PRICE));
        // ...and a zero price is not a loophole afterwards.
        vm.warp(uint256(effectiveAt) + GRACE);
        assertFalse(_accepted(PROMPT_PRICE, COMPLETION_PRICE));
        assertFalse(_accepted(0, 0));
    }

    function test_delistModel_twice_reverts() public {
        vm.prank(p);
        registry.delistModel(MODEL);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ModelNotListed.selector, MODEL));
        registry.delistModel(MODEL);
    }

    function test_delistModel_unlisted_reverts() public {
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ModelNotListed.selector, OTHER_MODEL));
        registry.delistModel(OTHER_MODEL);
    }

    function test_delistModel_duringGraceOfPriceChange_reverts() public {
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 400_000, 1_200_000);
        uint256 settledAt = block.timestamp + NOTICE + GRACE;
        vm.warp(block.timestamp + NOTICE + 1);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.PriceChangeSettling.selector, settledAt));
        registry.delistModel(MODEL);
    }

    function test_listModel_relistBeforeDelistSettled_reverts() public {
        vm.prank(p);
        registry.delistModel(MODEL);
        uint256 settledAt = block.timestamp + NOTICE + GRACE;
        vm.warp(settledAt - 1);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.PriceChangeSettling.selector, settledAt));
        registry.listModel(MODEL, _modelInfo(), 1, 1);
    }

    function test_listModel_relistAfterDelistSettled_newPriceInForce() public {
        vm.prank(p);
        registry.delistModel(MODEL);
        vm.warp(block.timestamp + NOTICE + GRACE);
        vm.prank(p);
        registry.listModel(MODEL, _modelInfo(), 300_000, 900_000);
        (uint48 pp, uint48 cp, bool served) = _inForce();
        assertEq(pp, 300_000);
        assertEq(cp, 900_000);
        assertTrue(served);
        assertFalse(registry.priceRecord(p, MODEL).delistPending);
    }

    // ---------------------------------------------------------------- acceptedPrices

    function test_acceptedPrices_mixedEntries_setsBitsOfAcceptedOnly() public view {
        UsageEntry[] memory es = new UsageEntry[](3);
        es[0] = _entry(c, p, 1, 1);
        es[1] = _entry(c, p, 1, 1);
        es[1].completionPrice = COMPLETION_PRICE + 1;
        es[2] = _entry(c, p2, 1, 1); // p2 never listed anything
        uint256[] memory bitmap = registry.acceptedPrices(es, block.timestamp);
        assertEq(bitmap.length, 1);
        assertEq(bitmap[0], 1);
    }

    function test_acceptedPrices_300Entries_usesTwoWords() public view {
        UsageEntry[] memory es = new UsageEntry[](300);
        for (uint256 i; i < 300; ++i) {
            es[i] = _entry(c, p, 1, 1);
        }
        es[299].promptPrice = PROMPT_PRICE + 1;
        uint256[] memory bitmap = registry.acceptedPrices(es, block.timestamp);
        assertEq(bitmap.length, 2);
        assertEq(bitmap[0], type(uint256).max);
        assertEq(bitmap[1], (uint256(1) << 43) - 1); // entries 256..298
    }

    // ---------------------------------------------------------------- priceWords (Settlement's one read per batch)

    function test_priceWords_returnsEachSlotsRecordInOrder() public {
        vm.warp(block.timestamp + 1);
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 111, 222);
        bytes32[] memory slots = new bytes32[](3);
        slots[0] = PriceBook.slotOf(p2, MODEL); // never listed: zero
        slots[1] = PriceBook.slotOf(p, MODEL);
        slots[2] = PriceBook.slotOf(p, MODEL); // the same slot twice is answered twice
        uint256[] memory words = registry.priceWords(slots);
        ProviderRegistry.ModelPrice memory r = registry.priceRecord(p, MODEL);
        uint256 expected = uint256(r.promptPrice) | (uint256(r.completionPrice) << 48)
            | (uint256(r.nextPromptPrice) << 96) | (uint256(r.nextCompletionPrice) << 144)
            | (uint256(r.nextEffectiveAt) << 192) | (uint256(1) << 232); // listed, no delisting
        assertEq(words.length, 3);
        assertEq(words[0], 0);
        assertEq(words[1], expected);
        assertEq(words[2], expected);
        assertEq(r.nextPromptPrice, 111);
    }

    function test_priceWords_noSlots_returnsEmptyArray() public view {
        assertEq(registry.priceWords(new bytes32[](0)).length, 0);
    }

    // ---------------------------------------------------------------- workers

    function test_authorizeWorker_bindsWorkerToProvider() public {
        address worker = makeAddr("worker");
        vm.expectEmit(address(registry));
        emit ProviderRegistry.WorkerAuthorized(p, worker);
        vm.prank(p);
        registry.authorizeWorker(worker);
        assertEq(registry.providerOfWorker(worker), p);
    }

    function test_authorizeWorker_zeroAddress_reverts() public {
        vm.prank(p);
        vm.expectRevert(ProviderRegistry.ZeroAddress.selector);
        registry.authorizeWorker(address(0));
    }

    function test_authorizeWorker_unregistered_reverts() public {
        vm.prank(p2);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, p2));
        registry.authorizeWorker(makeAddr("worker"));
    }

    function test_authorizeWorker_boundToOtherProvider_reverts() public {
        address worker = makeAddr("worker");
        vm.prank(p);
        registry.authorizeWorker(worker);
        vm.prank(p2);
        registry.register(_profile());
        vm.prank(p2);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.WorkerAlreadyBound.selector, worker, p));
        registry.authorizeWorker(worker);
        assertEq(registry.providerOfWorker(worker), p);
    }

    function test_revokeWorker_byOwner_unbindsAndFreesWorker() public {
        address worker = makeAddr("worker");
        vm.prank(p);
        registry.authorizeWorker(worker);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.WorkerRevoked(p, worker);
        vm.prank(p);
        registry.revokeWorker(worker);
        assertEq(registry.providerOfWorker(worker), address(0));
        // Another provider may now bind it.
        vm.prank(p2);
        registry.register(_profile());
        vm.prank(p2);
        registry.authorizeWorker(worker);
        assertEq(registry.providerOfWorker(worker), p2);
    }

    function test_revokeWorker_byOtherProvider_reverts() public {
        address worker = makeAddr("worker");
        vm.prank(p);
        registry.authorizeWorker(worker);
        vm.prank(p2);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotYourWorker.selector, worker));
        registry.revokeWorker(worker);
        assertEq(registry.providerOfWorker(worker), p);
    }

    function test_revokeWorker_unbound_reverts() public {
        address worker = makeAddr("worker");
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotYourWorker.selector, worker));
        registry.revokeWorker(worker);
    }

    // ---------------------------------------------------------------- governance

    function test_setPriceNotice_byGovernor_appliesToNewChanges() public {
        vm.expectEmit(address(registry));
        emit ProviderRegistry.PriceNoticeSet(2 hours);
        vm.prank(governor);
        registry.setPriceNotice(2 hours);
        assertEq(registry.priceNotice(), 2 hours);
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 1, 1);
        assertEq(registry.priceRecord(p, MODEL).nextEffectiveAt, block.timestamp + 2 hours);
    }

    function test_setPriceNotice_belowMinimum_reverts() public {
        vm.prank(governor);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.NoticeTooShort.selector, uint40(1 hours - 1), uint40(1 hours))
        );
        registry.setPriceNotice(1 hours - 1);
    }

    function test_setPriceNotice_atMinimum_succeeds() public {
        vm.prank(governor);
        registry.setPriceNotice(1 hours);
        assertEq(registry.priceNotice(), 1 hours);
    }

    function test_setPriceNotice_unauthorized_reverts() public {
        vm.prank(p);
        vm.expectRevert(_unauthorized(p));
        registry.setPriceNotice(2 hours);
    }

    function test_setPriceGrace_byGovernor_changesGrace() public {
        vm.expectEmit(address(registry));
        emit ProviderRegistry.PriceGraceSet(7 days);
        vm.prank(governor);
        registry.setPriceGrace(7 days);
        assertEq(registry.priceGrace(), 7 days);
    }

    function test_setPriceGrace_aboveMaximum_reverts() public {
        vm.prank(governor);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.GraceTooLong.selector, uint40(7 days + 1), uint40(7 days))
        );
        registry.setPriceGrace(7 days + 1);
    }

    function test_setPriceGrace_unauthorized_reverts() public {
        vm.prank(guardian);
        vm.expectRevert(_unauthorized(guardian));
        registry.setPriceGrace(1 hours);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Erc1271Wallet, UnitHelpers} from "../utils/UnitHelpers.sol";
import {CustomerEscrow} from "../../src/escrow/CustomerEscrow.sol";
import {ProviderStaking} from "../../src/ProviderStaking.sol";
import {Settlement} from "../../src/Settlement.sol";
import {TestUSDC} from "../../src/token/TestUSDC.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {IProviderStaking} from "../../src/interfaces/IProviderStaking.sol";
import {UsageBatch, UsageEntry} from "../../src/types/Usage.sol";

contract SettlementTest is UnitHelpers {
    // 1M prompt + 0.5M completion tokens at $0.20 / $0.60 per million: 0.2 + 0.3 = 0.5 USDC.
    uint256 internal constant CHARGE = 500_000;
    uint256 internal constant FEE = 12_500; // 2.5%
    address internal treasury = makeAddr("treasury");

    function setUp() public override {
        super.setUp();
        _provider(p, 1_000e6);
        _provider(p2, 1_000e6);
        _customer(c, 100e6);
        _customer(c2, 100e6);
    }

    function _e() internal view returns (UsageEntry memory) {
        return _entry(c, p, 1_000_000, 500_000);
    }

    /// @dev Everything the contract owes is backed by the USDC it holds, exactly (nobody donated).
    function _assertBacked() internal view {
        assertEq(
            usdc.balanceOf(address(settlement)),
            settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees(),
            "USDC held != owed"
        );
    }

    function _epochStart() internal view returns (uint256) {
        return (block.timestamp / DISPUTE_WINDOW) * DISPUTE_WINDOW;
    }

    // ================================================================ constants and construction

    function test_constants_matchDesign() public view {
        assertEq(settlement.MAX_FEE_BPS(), 1_000);
        assertEq(settlement.MAX_ENTRIES(), 512);
        assertEq(settlement.SKIP_PRICE_ABOVE_PUBLISHED(), 1);
        assertEq(settlement.SKIP_INSUFFICIENT_BALANCE(), 2);
        assertEq(settlement.DISPUTE_WINDOW(), DISPUTE_WINDOW);
        assertEq(settlement.feeBps(), 250);
        assertEq(
            settlement.ENTRY_TYPEHASH(),
            keccak256(
                "Entry(address customer,address provider,bytes32 model,uint32 requests,uint64 promptTokens,uint64 completionTokens,uint48 promptPrice,uint48 completionPrice)"
            )
        );
    }

    function test_constructor_zeroDisputeWindow_reverts() public {
        vm.expectRevert(Settlement.ZeroWindow.selector);
        new Settlement(
            IERC20(address(usdc)),
            IProviderRegistry(address(registry)),
            IProviderStaking(address(staking)),
            address(manager),
            0
        );
    }

    function test_hashEntry_matchesIndependentEip712() public view {
        UsageEntry memory e = _e();
        assertEq(settlement.hashEntry(e), _entryHash(e));
    }

    function test_hashEntry_extremeValues_matchesIndependentEip712() public view {
        UsageEntry memory e = UsageEntry({
            customer: address(type(uint160).max),
            provider: address(1),
            model: bytes32(type(uint256).max),
            requests: type(uint32).max,
            promptTokens: type(uint64).max,
            completionTokens: 1,
            promptPrice: type(uint48).max,
            completionPrice: type(uint48).max - 1
        });
        assertEq(settlement.hashEntry(e), _entryHash(e));
    }

    // ================================================================ settleBatch: happy paths

    function test_settleBatch_oneEntry_debitsCreditsAndRecords() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes32 entriesHash = keccak256(abi.encodePacked(_entryHashes(b.entries)));
        uint40 vestsAt = uint40((block.timestamp / DISPUTE_WINDOW + 2) * DISPUTE_WINDOW);

        vm.expectEmit(address(settlement));
        emit Settlement.BatchSettled(GATEWAY_ID, 0, b.receiptsRoot, entriesHash, 1, 1, CHARGE, FEE, 0, vestsAt);
        vm.prank(stranger); // anyone may submit a signed batch
        settlement.settleBatch(b, _signBatch(b, gatewayKey));

        assertEq(_available(c), 100e6 - CHARGE);
        assertEq(_vesting(p), CHARGE - FEE);
        assertEq(_claimable(p), 0);
        assertEq(settlement.protocolFees(), FEE);
        assertEq(settlement.totalEarnings(), CHARGE - FEE);
        assertEq(settlement.totalEscrowed(), 200e6 - CHARGE);
        assertEq(settlement.nextBatchId(GATEWAY_ID), 1);
        Settlement.BatchRecord memory rec = settlement.batchOf(GATEWAY_ID, 0);
        assertEq(rec.entriesHash, entriesHash);
        assertEq(rec.receiptsRoot, b.receiptsRoot);
        assertEq(rec.settledAt, block.timestamp);
        assertEq(rec.vestsAt, vestsAt);
        assertEq(rec.feeBps, 250);
        assertEq(rec.entryCount, 1);
        (uint40 start, uint96 spent) = settlement.windowOf(GATEWAY_ID);
        assertEq(start, block.timestamp);
        assertEq(spent, CHARGE);
        _assertBacked();
    }

    function test_settleBatch_manyEntries_debitsEqualCreditsPlusFees() public {
        UsageEntry[] memory es = new UsageEntry[](4);
        es[0] = _entry(c, p, 1_234_567, 7_654_321);
        es[1] = _entry(c2, p, 999, 1);
        es[2] = _entry(c, p2, 3, 33_333_333);
        es[3] = _entry(c2, p2, 50_000_000, 0);
        uint256 debits;
        uint256 fees;
        uint256 creditP;
        uint256 creditP2;
        for (uint256 i; i < 4; ++i) {
            uint256 amount = _charge(es[i]);
            uint256 fee = (amount * 250) / 10_000;
            debits += amount;
            fees += fee;
            if (es[i].provider == p) creditP += amount - fee;
            else creditP2 += amount - fee;
        }
        _settle(_batch(0, es));
        assertEq(200e6 - _available(c) - _available(c2), debits);
        assertEq(_vesting(p), creditP);
        assertEq(_vesting(p2), creditP2);
        assertEq(settlement.protocolFees(), fees);
        assertEq(debits, creditP + creditP2 + fees);
        _assertBacked();
    }

    function test_settleBatch_deadlineNow_settles() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        b.deadline = uint64(block.timestamp);
        _settle(b);
        assertEq(settlement.nextBatchId(GATEWAY_ID), 1);
    }

    function test_settleBatch_maxEntries_settles() public {
        UsageEntry[] memory es = new UsageEntry[](512);
        for (uint256 i; i < 512; ++i) {
            es[i] = _entry(i % 2 == 0 ? c : c2, i % 3 == 0 ? p : p2, 1000, 1000);
        }
        _settle(_batch(0, es));
        assertEq(settlement.batchOf(GATEWAY_ID, 0).entryCount, 512);
        assertEq(200e6 - _available(c) - _available(c2), 512 * 800);
        _assertBacked();
    }

    function test_settleBatch_erc1271Signer_settles() public {
        (address owner, uint256 ownerKey) = makeAddrAndKey("safe-owner");
        Erc1271Wallet wallet = new Erc1271Wallet(owner);
        vm.prank(governor);
        settlement.setGatewaySigner(2, address(wallet));
        UsageBatch memory b = _batch(0, _one(_e()));
        b.gatewayId = 2;
        settlement.settleBatch(b, _signBatch(b, ownerKey));
        assertEq(settlement.nextBatchId(2), 1);
        assertEq(_available(c), 100e6 - CHARGE);
        // A key that is not the wallet's owner is refused.
        UsageBatch memory b1 = _batch(1, _one(_e()));
        b1.gatewayId = 2;
        bytes memory badSig = _signBatch(b1, gatewayKey);
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b1, badSig);
    }

    // ================================================================ settleBatch: replay, order, signatures

    function test_settleBatch_replayed_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes memory sig = _signBatch(b, gatewayKey);
        settlement.settleBatch(b, sig);
        vm.expectRevert(abi.encodeWithSelector(Settlement.BatchOutOfOrder.selector, uint64(1), uint64(0)));
        settlement.settleBatch(b, sig);
        assertEq(_available(c), 100e6 - CHARGE);
    }

    function test_settleBatch_outOfOrder_reverts() public {
        UsageBatch memory b = _batch(1, _one(_e()));
        bytes memory sig = _signBatch(b, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(Settlement.BatchOutOfOrder.selector, uint64(0), uint64(1)));
        settlement.settleBatch(b, sig);
        // In order it goes through.
        _settle(_batch(0, _one(_e())));
        settlement.settleBatch(b, sig);
        assertEq(settlement.nextBatchId(GATEWAY_ID), 2);
    }

    function test_settleBatch_expired_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes memory sig = _signBatch(b, gatewayKey);
        vm.warp(uint256(b.deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(Settlement.BatchExpired.selector, b.deadline));
        settlement.settleBatch(b, sig);
    }

    function test_settleBatch_noEntries_reverts() public {
        UsageBatch memory b = _batch(0, new UsageEntry[](0));
        bytes memory sig = _signBatch(b, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(Settlement.BadEntryCount.selector, 0));
        settlement.settleBatch(b, sig);
    }

    function test_settleBatch_tooManyEntries_reverts() public {
        UsageEntry[] memory es = new UsageEntry[](513);
        for (uint256 i; i < 513; ++i) {
            es[i] = _entry(c, p, 1, 1);
        }
        UsageBatch memory b = _batch(0, es);
        vm.expectRevert(abi.encodeWithSelector(Settlement.BadEntryCount.selector, 513));
        settlement.settleBatch(b, new bytes(65));
    }

    function test_settleBatch_unknownGateway_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        b.gatewayId = 2;
        bytes memory sig = _signBatch(b, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(Settlement.UnknownGateway.selector, uint32(2)));
        settlement.settleBatch(b, sig);
    }

    function test_settleBatch_wrongKey_reverts() public {
        (, uint256 otherKey) = makeAddrAndKey("thief");
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes memory sig = _signBatch(b, otherKey);
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b, sig);
    }

    function test_settleBatch_entryChangedAfterSigning_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes memory sig = _signBatch(b, gatewayKey);
        b.entries[0].completionTokens += 1;
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b, sig);
    }

    // ================================================================ settleBatch: calldata encoding edges
    // The per-entry loop reads entries from calldata without the ABI decoder (EntryCalldata); these
    // check that what the decoder used to refuse is still refused.

    /// @dev Calldata of settleBatch(b, sig) and the byte position of word `word` of entry `index`.
    function _settleCalldata(UsageBatch memory b, bytes memory sig, uint256 index, uint256 word)
        internal
        view
        returns (bytes memory data, uint256 pos)
    {
        data = abi.encodeCall(settlement.settleBatch, (b, sig));
        // selector, then the head (batch offset 0x40, signature offset); the batch tuple's sixth
        // head word is the entries array's offset from the tuple's start.
        uint256 tuple = 4 + 0x40;
        uint256 entriesOffset;
        assembly {
            entriesOffset := mload(add(add(data, 0x20), add(tuple, 0xa0)))
        }
        pos = tuple + entriesOffset + 0x20 + index * 0x100 + word * 0x20;
    }

    function _orInto(bytes memory data, uint256 pos, uint256 bits) internal pure {
        assembly {
            let at := add(add(data, 0x20), pos)
            mstore(at, or(mload(at), bits))
        }
    }

    /// @dev A signature over the batch with entry `index`'s word `word` OR-ed with `bits`: the
    ///      signer signed the dirty encoding itself, so only the encoding check can refuse it.
    function _signDirty(UsageBatch memory b, uint256 index, uint256 word, uint256 bits)
        internal
        view
        returns (bytes memory)
    {
        bytes32[] memory hashes = _entryHashes(b.entries);
        bytes memory enc = abi.encode(settlement.ENTRY_TYPEHASH(), b.entries[index]);
        _orInto(enc, 0x20 + word * 0x20, bits);
        hashes[index] = keccak256(enc);
        bytes32 structHash = keccak256(
            abi.encode(
                settlement.BATCH_TYPEHASH(),
                b.gatewayId,
                b.batchId,
                b.receiptsRoot,
                b.receiptCount,
                b.deadline,
                keccak256(abi.encodePacked(hashes))
            )
        );
        return _sig(
            gatewayKey,
            keccak256(abi.encodePacked("\x19\x01", _domainSeparator("Tollgate Settlement", address(settlement)), structHash))
        );
    }

    function test_settleBatch_fieldWiderThanItsType_revertsMalformedEntry() public {
        // word index in the entry and the width of its type: customer, provider, requests,
        // promptTokens, completionTokens, promptPrice, completionPrice (word 2, the model, is bytes32).
        uint8[7] memory words = [0, 1, 3, 4, 5, 6, 7];
        uint16[7] memory widths = [uint16(160), 160, 32, 64, 64, 48, 48];
        for (uint256 k; k < 7; ++k) {
            for (uint256 high; high < 2; ++high) {
                // the lowest bit above the type, and the top bit of the word
                uint256 bits = high == 0 ? uint256(1) << widths[k] : uint256(1) << 255;
                UsageBatch memory b = _batch(0, _two(_e(), _entry(c2, p2, 1000, 1000)));
                (bytes memory data, uint256 pos) = _settleCalldata(b, _signDirty(b, 1, words[k], bits), 1, words[k]);
                _orInto(data, pos, bits);
                (bool ok, bytes memory err) = address(settlement).call(data);
                assertFalse(ok, "dirty entry settled");
                assertEq(err, abi.encodeWithSelector(Settlement.MalformedEntry.selector, 1), "wrong error");
            }
        }
        assertEq(_available(c), 100e6, "customer debited");
        assertEq(settlement.nextBatchId(GATEWAY_ID), 0);
        // The same batch, clean, settles: the calldata surgery above is what was refused.
        UsageBatch memory clean = _batch(0, _two(_e(), _entry(c2, p2, 1000, 1000)));
        (bytes memory cleanData,) = _settleCalldata(clean, _signBatch(clean, gatewayKey), 0, 0);
        (bool cleanOk,) = address(settlement).call(cleanData);
        assertTrue(cleanOk, "clean batch refused");
        assertEq(_available(c), 100e6 - CHARGE);
    }

    function test_settleBatch_modelWordAnyValue_isClean() public {
        // bytes32 has no spare bits: an all-ones model is a legal (unlisted) model, skipped, not refused.
        UsageEntry memory e = _e();
        e.model = bytes32(type(uint256).max);
        _settleOne(e);
        assertTrue(settlement.isSkipped(GATEWAY_ID, 0, 0));
        assertEq(_available(c), 100e6);
    }

    function test_settleBatch_entriesLengthPastEndOfCalldata_revertsInDecoder() public {
        UsageBatch memory b = _batch(0, _two(_e(), _entry(c2, p2, 1000, 1000)));
        bytes memory sig = _signBatch(b, gatewayKey);
        // 3 entries would run 0x100 bytes into and past the signature; the others overflow.
        uint256[3] memory lengths = [uint256(3), 1 << 64, type(uint256).max];
        for (uint256 k; k < 3; ++k) {
            (bytes memory data, uint256 pos) = _settleCalldata(b, sig, 0, 0);
            uint256 lengthPos = pos - 0x20;
            uint256 len = lengths[k];
            assembly {
                mstore(add(add(data, 0x20), lengthPos), len)
            }
            (bool ok, bytes memory err) = address(settlement).call(data);
            assertFalse(ok, "entries past calldata accepted");
            // Refused by Solidity's calldata bounds check (no error data), before any entry is read:
            // reading past the end would have failed later with MalformedEntry or InvalidSignature.
            assertEq(err.length, 0, "refused later than the bounds check");
        }
        assertEq(_available(c), 100e6);
        assertEq(settlement.nextBatchId(GATEWAY_ID), 0);
    }

    function test_settleBatch_registryAnswerMalformed_revertsMalformedPriceWords() public {
        UsageBatch memory b = _batch(0, _two(_e(), _entry(c2, p2, 1000, 1000)));
        bytes memory sig = _signBatch(b, gatewayKey);
        bytes[3] memory answers = [
            abi.encode(new uint256[](1)), // one word for two entries
            abi.encodePacked(uint256(0x40), uint256(2), uint256(0), uint256(0)), // wrong offset
            abi.encodePacked(uint256(0x20), uint256(3), uint256(0), uint256(0)) // wrong length word
        ];
        for (uint256 k; k < 3; ++k) {
            vm.mockCall(address(registry), abi.encodeWithSelector(IProviderRegistry.priceWords.selector), answers[k]);
            vm.expectRevert(Settlement.MalformedPriceWords.selector);
            settlement.settleBatch(b, sig);
        }
        vm.clearMockedCalls();
        settlement.settleBatch(b, sig);
        assertEq(_available(c), 100e6 - CHARGE);
    }

    function test_settleBatch_registryReverts_bubblesItsError() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes memory sig = _signBatch(b, gatewayKey);
        vm.mockCallRevert(
            address(registry), abi.encodeWithSelector(IProviderRegistry.priceWords.selector), bytes("registry down")
        );
        vm.expectRevert(bytes("registry down"));
        settlement.settleBatch(b, sig);
    }

    function test_settleBatch_signedForOtherChainId_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes memory sig = _sig(gatewayKey, _batchDigestOn(b, 84_532, address(settlement)));
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b, sig);
    }

    function test_settleBatch_replayedOnForkedChain_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes memory sig = _signBatch(b, gatewayKey);
        uint256 original = block.chainid;
        vm.chainId(original + 1);
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b, sig);
        vm.chainId(original);
        settlement.settleBatch(b, sig);
        assertEq(settlement.nextBatchId(GATEWAY_ID), 1);
    }

    function test_settleBatch_signedForOtherContract_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes memory sig = _sig(gatewayKey, _batchDigestOn(b, block.chainid, address(sla)));
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b, sig);
    }

    function test_settleBatch_malleableSignature_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(gatewayKey, _batchDigest(b, address(settlement)));
        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        uint8 flippedV = v == 27 ? 28 : 27;
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b, abi.encodePacked(r, highS, flippedV));
        // The batch id was not consumed: the canonical signature still settles it, once.
        settlement.settleBatch(b, abi.encodePacked(r, s, v));
        assertEq(settlement.nextBatchId(GATEWAY_ID), 1);
    }

    function test_settleBatch_compactSignature_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        (bytes32 r, bytes32 vs) = vm.signCompact(gatewayKey, _batchDigest(b, address(settlement)));
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b, abi.encodePacked(r, vs));
    }

    function test_settleBatch_revokedSigner_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes memory sig = _signBatch(b, gatewayKey);
        vm.expectEmit(address(settlement));
        emit Settlement.GatewaySignerSet(GATEWAY_ID, address(0));
        vm.prank(guardian);
        settlement.revokeGatewaySigner(GATEWAY_ID);
        assertEq(settlement.gatewaySigner(GATEWAY_ID), address(0));
        vm.expectRevert(abi.encodeWithSelector(Settlement.UnknownGateway.selector, GATEWAY_ID));
        settlement.settleBatch(b, sig);
        assertEq(_available(c), 100e6);
    }

    function test_settleBatch_rotatedSigner_oldKeyRefusedNewKeyContinuesIds() public {
        _settle(_batch(0, _one(_e())));
        (address newSigner, uint256 newKey) = makeAddrAndKey("gateway-signer-2");
        vm.expectEmit(address(settlement));
        emit Settlement.GatewaySignerSet(GATEWAY_ID, newSigner);
        vm.prank(governor);
        settlement.setGatewaySigner(GATEWAY_ID, newSigner);
        UsageBatch memory b = _batch(1, _one(_e()));
        bytes memory oldSig = _signBatch(b, gatewayKey);
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b, oldSig);
        settlement.settleBatch(b, _signBatch(b, newKey));
        assertEq(settlement.nextBatchId(GATEWAY_ID), 2);
    }

    function test_settleBatch_whilePaused_reverts() public {
        UsageBatch memory b = _batch(0, _one(_e()));
        bytes memory sig = _signBatch(b, gatewayKey);
        vm.prank(guardian);
        settlement.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        settlement.settleBatch(b, sig);
    }

    // ================================================================ settleBatch: caps

    function test_settleBatch_overBatchCap_revertsWholeBatch() public {
        vm.prank(governor);
        settlement.setCaps(1e6, 250_000e6, 1 hours);
        UsageBatch memory b = _batch(0, _one(_entry(c, p, 10_000_000, 0))); // 2 USDC
        bytes memory sig = _signBatch(b, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(Settlement.BatchCapExceeded.selector, 2e6, 1e6));
        settlement.settleBatch(b, sig);
        assertEq(settlement.nextBatchId(GATEWAY_ID), 0);
        assertEq(_available(c), 100e6);
    }

    function test_settleBatch_atBatchCap_settles() public {
        vm.prank(governor);
        settlement.setCaps(2e6, 250_000e6, 1 hours);
        _settle(_batch(0, _one(_entry(c, p, 10_000_000, 0))));
        assertEq(_available(c), 98e6);
    }

    function test_settleBatch_skippedEntriesDoNotCountTowardCap() public {
        vm.prank(governor);
        settlement.setCaps(2e6, 250_000e6, 1 hours);
        UsageEntry memory over = _entry(c, p, 10_000_000, 0);
        over.promptPrice = PROMPT_PRICE + 1; // skipped, would charge 2.00001 USDC
        _settle(_batch(0, _two(_entry(c, p, 10_000_000, 0), over)));
        assertEq(_available(c), 98e6);
    }

    function test_settleBatch_overWindowCap_revertsUntilWindowResets() public {
        vm.prank(governor);
        settlement.setCaps(10e6, 15e6, 1 hours);
        uint256 start = block.timestamp;
        _settle(_batch(0, _one(_entry(c, p, 50_000_000, 0)))); // 10 USDC

        vm.warp(start + 1 hours - 1);
        UsageBatch memory b = _batch(1, _one(_entry(c2, p, 50_000_000, 0)));
        bytes memory sig = _signBatch(b, gatewayKey);
        vm.expectRevert(abi.encodeWithSelector(Settlement.WindowCapExceeded.selector, 20e6, 15e6));
        settlement.settleBatch(b, sig);

        vm.warp(start + 1 hours);
        settlement.settleBatch(b, sig);
        (uint40 wStart, uint96 spent) = settlement.windowOf(GATEWAY_ID);
        assertEq(wStart, start + 1 hours);
        assertEq(spent, 10e6);
        assertEq(_available(c2), 90e6);
    }

    function test_settleBatch_windowCapIsPerGateway() public {
        vm.prank(governor);
        settlement.setCaps(10e6, 10e6, 1 hours);
        (address signer2, uint256 key2) = makeAddrAndKey("gateway-2");
        vm.prank(governor);
        settlement.setGatewaySigner(2, signer2);
        _settle(_batch(0, _one(_entry(c, p, 50_000_000, 0))));
        UsageBatch memory b = _batch(0, _one(_entry(c2, p, 50_000_000, 0)));
        b.gatewayId = 2;
        settlement.settleBatch(b, _signBatch(b, key2));
        assertEq(_available(c2), 90e6);
    }

    // ================================================================ settleBatch: skipped entries

    function test_settleBatch_priceAbovePublished_skipsEntryReason1() public {
        UsageEntry memory over = _entry(c2, p, 1_000_000, 500_000);
        over.completionPrice = COMPLETION_PRICE + 1;
        UsageBatch memory b = _batch(0, _two(_e(), over));
        vm.expectEmit(address(settlement));
        emit Settlement.EntrySkipped(GATEWAY_ID, 0, 1, 1);
        _settle(b);
        assertEq(_available(c), 100e6 - CHARGE);
        assertEq(_available(c2), 100e6);
        assertEq(_vesting(p), CHARGE - FEE);
        assertTrue(settlement.isSkipped(GATEWAY_ID, 0, 1));
        assertFalse(settlement.isSkipped(GATEWAY_ID, 0, 0));
        assertEq(settlement.nextBatchId(GATEWAY_ID), 1);
    }

    function test_settleBatch_unlistedModel_skipsEntryReason1() public {
        UsageEntry memory e = _e();
        e.model = keccak256("not-listed");
        vm.expectEmit(address(settlement));
        emit Settlement.EntrySkipped(GATEWAY_ID, 0, 0, 1);
        _settleOne(e);
        assertEq(_available(c), 100e6);
    }

    function test_settleBatch_unpayableEntry_skipsReason2WithoutPartialPayment() public {
        address poor = makeAddr("poor");
        _customer(poor, CHARGE - 1);
        UsageBatch memory b = _batch(0, _two(_entry(poor, p, 1_000_000, 500_000), _e()));
        vm.expectEmit(address(settlement));
        emit Settlement.EntrySkipped(GATEWAY_ID, 0, 0, 2);
        vm.expectEmit(address(settlement));
        emit Settlement.BatchSettled(
            GATEWAY_ID,
            0,
            b.receiptsRoot,
            keccak256(abi.encodePacked(_entryHashes(b.entries))),
            2,
            2,
            CHARGE,
            FEE,
            1,
            uint40((block.timestamp / DISPUTE_WINDOW + 2) * DISPUTE_WINDOW)
        );
        _settle(b);
        assertEq(_available(poor), CHARGE - 1);
        assertEq(_vesting(p), CHARGE - FEE); // only the paying customer's entry
        assertTrue(settlement.isSkipped(GATEWAY_ID, 0, 0));
        _assertBacked();
    }

    function test_settleBatch_pendingWithdrawal_staysDebitable() public {
        vm.prank(c);
        settlement.requestWithdrawal(100e6 - 200_000); // 0.2 available, 99.8 pending
        (,, uint40 unlockAt) = settlement.accountOf(c);
        vm.warp(block.timestamp + 1 hours);
        _settleOne(_e()); // 0.5
        (uint256 available, uint256 pending, uint40 unlockAfter) = settlement.accountOf(c);
        assertEq(available, 0);
        assertEq(pending, 100e6 - CHARGE);
        assertEq(unlockAfter, unlockAt); // the customer's withdrawal clock is not touched
        _assertBacked();
    }

    function test_settleBatch_exactlyAvailableAmount_leavesPendingAlone() public {
        vm.prank(c);
        settlement.requestWithdrawal(100e6 - CHARGE);
        _settleOne(_e());
        (uint256 available, uint256 pending,) = settlement.accountOf(c);
        assertEq(available, 0);
        assertEq(pending, 100e6 - CHARGE);
    }

    function test_settleBatch_exactlyAvailablePlusPending_drainsBoth() public {
        address small = makeAddr("small");
        _customer(small, CHARGE);
        vm.prank(small);
        settlement.requestWithdrawal(CHARGE - 1);
        _settleOne(_entry(small, p, 1_000_000, 500_000));
        (uint256 available, uint256 pending,) = settlement.accountOf(small);
        assertEq(available, 0);
        assertEq(pending, 0);
        assertFalse(settlement.isSkipped(GATEWAY_ID, 0, 0));
        vm.prank(small);
        vm.expectRevert(CustomerEscrow.NoPendingWithdrawal.selector);
        settlement.withdraw();
    }

    function test_settleBatch_extremeFieldValues_signatureVerifiesAndUnpayableSkipped() public {
        UsageEntry memory e = UsageEntry({
            customer: address(type(uint160).max),
            provider: p,
            model: bytes32(type(uint256).max),
            requests: type(uint32).max,
            promptTokens: type(uint64).max,
            completionTokens: type(uint64).max,
            promptPrice: 0,
            completionPrice: 0
        });
        UsageEntry memory big = _entry(c, p, type(uint64).max, type(uint64).max);
        big.requests = type(uint32).max;
        vm.expectEmit(address(settlement));
        emit Settlement.EntrySkipped(GATEWAY_ID, 0, 0, 1); // model not listed
        vm.expectEmit(address(settlement));
        emit Settlement.EntrySkipped(GATEWAY_ID, 0, 1, 2); // charge far above any balance
        _settle(_batch(0, _two(e, big)));
        assertEq(settlement.nextBatchId(GATEWAY_ID), 1);
        assertEq(_available(c), 100e6);
    }

    function test_settleBatch_availablePlusPendingShort_skipsWithoutTouchingEither() public {
        address poor = makeAddr("poor");
        _customer(poor, 400_000);
        vm.prank(poor);
        settlement.requestWithdrawal(300_000);
        vm.expectEmit(address(settlement));
        emit Settlement.EntrySkipped(GATEWAY_ID, 0, 0, 2);
        _settleOne(_entry(poor, p, 1_000_000, 500_000));
        (uint256 available, uint256 pending,) = settlement.accountOf(poor);
        assertEq(available, 100_000);
        assertEq(pending, 300_000);
    }

    // ================================================================ settleBatch: published prices over time

    function test_settleBatch_newHigherPriceBeforeNotice_skippedAfterNotice_settles() public {
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 400_000, 1_200_000);
        UsageEntry memory raised = _e();
        raised.promptPrice = 400_000;
        raised.completionPrice = 1_200_000;
        vm.expectEmit(address(settlement));
        emit Settlement.EntrySkipped(GATEWAY_ID, 0, 0, 1);
        _settleOne(raised);
        assertEq(_available(c), 100e6);

        vm.warp(block.timestamp + registry.priceNotice());
        _settleOne(raised);
        assertEq(_available(c), 100e6 - 2 * CHARGE);
    }

    function test_settleBatch_oldPriceDuringGrace_settlesThenSkipped() public {
        vm.prank(p);
        registry.schedulePriceChange(MODEL, 100_000, 300_000); // a price cut
        uint256 effectiveAt = block.timestamp + registry.priceNotice();
        vm.warp(effectiveAt + registry.priceGrace() - 1);
        _settleOne(_e()); // old price, served before the cut
        assertEq(_available(c), 100e6 - CHARGE);
        vm.warp(effectiveAt + registry.priceGrace());
        vm.expectEmit(address(settlement));
        emit Settlement.EntrySkipped(GATEWAY_ID, 1, 0, 1);
        _settleOne(_e());
        assertEq(_available(c), 100e6 - CHARGE);
    }

    function test_settleBatch_delistedModelAfterGrace_skipped() public {
        vm.prank(p);
        registry.delistModel(MODEL);
        vm.warp(block.timestamp + registry.priceNotice() + registry.priceGrace());
        vm.expectEmit(address(settlement));
        emit Settlement.EntrySkipped(GATEWAY_ID, 0, 0, 1);
        _settleOne(_e());
        assertEq(_available(c), 100e6);
    }

    // ================================================================ earnings and claim

    function test_claim_onlyAfterVesting_paysProvider() public {
        vm.warp(_epochStart() + DISPUTE_WINDOW + 100); // early in a fresh epoch
        uint256 epoch = block.timestamp / DISPUTE_WINDOW;
        uint256 vestsAt = (epoch + 2) * DISPUTE_WINDOW;
        _settleOne(_e());
        (uint256 claimable, uint256 vesting, uint40 nextVestAt) = settlement.earningsOf(p);
        assertEq(claimable, 0);
        assertEq(vesting, CHARGE - FEE);
        assertEq(nextVestAt, vestsAt);

        vm.warp((epoch + 1) * DISPUTE_WINDOW); // one epoch later: still vesting
        (, vesting, nextVestAt) = settlement.earningsOf(p);
        assertEq(vesting, CHARGE - FEE);
        assertEq(nextVestAt, vestsAt);

        vm.warp(vestsAt - 1);
        vm.prank(p);
        vm.expectRevert(Settlement.NothingToClaim.selector);
        settlement.claim();

        vm.warp(vestsAt);
        assertEq(_claimable(p), CHARGE - FEE);
        vm.expectEmit(address(settlement));
        emit Settlement.EarningsClaimed(p, CHARGE - FEE);
        vm.prank(p);
        settlement.claim();
        assertEq(usdc.balanceOf(p), CHARGE - FEE);
        assertEq(settlement.totalEarnings(), 0);
        assertEq(_claimable(p), 0);
        vm.prank(p);
        vm.expectRevert(Settlement.NothingToClaim.selector);
        settlement.claim();
        _assertBacked();
    }

    function test_claim_earningsOfTwoEpochs_vestSeparately() public {
        vm.warp(_epochStart() + DISPUTE_WINDOW);
        uint256 epoch = block.timestamp / DISPUTE_WINDOW;
        _settleOne(_e()); // epoch e: credit X
        vm.warp((epoch + 1) * DISPUTE_WINDOW);
        _settleOne(_entry(c, p, 2_000_000, 1_000_000)); // epoch e+1: credit 2X
        uint256 x = CHARGE - FEE;
        uint256 twoX = 2 * CHARGE - (2 * CHARGE * 250) / 10_000;

        vm.warp((epoch + 2) * DISPUTE_WINDOW);
        (uint256 claimable, uint256 vesting, uint40 nextVestAt) = settlement.earningsOf(p);
        assertEq(claimable, x);
        assertEq(vesting, twoX);
        assertEq(nextVestAt, (epoch + 3) * DISPUTE_WINDOW);
        vm.prank(p);
        settlement.claim();
        assertEq(usdc.balanceOf(p), x);

        vm.warp((epoch + 3) * DISPUTE_WINDOW);
        vm.prank(p);
        settlement.claim();
        assertEq(usdc.balanceOf(p), x + twoX);
    }

    function test_claim_longAfterBothBuckets_paysEverything() public {
        _settleOne(_e());
        vm.warp(block.timestamp + DISPUTE_WINDOW);
        _settleOne(_e());
        vm.warp(block.timestamp + 30 * DISPUTE_WINDOW);
        vm.prank(p);
        settlement.claim();
        assertEq(usdc.balanceOf(p), 2 * (CHARGE - FEE));
    }

    function test_claim_nothingEarned_reverts() public {
        vm.prank(stranger);
        vm.expectRevert(Settlement.NothingToClaim.selector);
        settlement.claim();
    }

    function test_claim_whilePaused_stillWorks() public {
        _settleOne(_e());
        vm.prank(guardian);
        settlement.pause();
        vm.warp(block.timestamp + 2 * DISPUTE_WINDOW);
        vm.prank(p);
        settlement.claim();
        assertEq(usdc.balanceOf(p), CHARGE - FEE);
    }

    function test_claim_frozen_reverts() public {
        _settleOne(_e());
        vm.warp(block.timestamp + 2 * DISPUTE_WINDOW);
        vm.prank(guardian);
        settlement.freeze(p);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(CustomerEscrow.AccountFrozen.selector, p));
        settlement.claim();
        assertEq(_claimable(p), CHARGE - FEE);
    }

    function test_claim_blacklistedProvider_failsAloneOthersUnaffected() public {
        _settle(_batch(0, _two(_e(), _entry(c2, p2, 1_000_000, 500_000))));
        usdc.blacklist(p);
        // Settlement keeps crediting a blacklisted provider (internal ledger, no push).
        _settleOne(_e());
        vm.warp(block.timestamp + 2 * DISPUTE_WINDOW);

        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(TestUSDC.AccountBlacklisted.selector, p));
        settlement.claim();
        assertEq(_claimable(p), 2 * (CHARGE - FEE));

        vm.prank(p2);
        settlement.claim();
        assertEq(usdc.balanceOf(p2), CHARGE - FEE);

        usdc.unBlacklist(p);
        vm.prank(p);
        settlement.claim();
        assertEq(usdc.balanceOf(p), 2 * (CHARGE - FEE));
        _assertBacked();
    }

    // ================================================================ disputes

    /// @dev Settles batch 0 with [c→p 0.5 USDC, c2→p 0.5 USDC] and returns it.
    function _disputable() internal returns (UsageBatch memory b) {
        b = _batch(0, _two(_e(), _entry(c2, p, 1_000_000, 500_000)));
        _settle(b);
    }

    function _ref(uint64 batchId, uint32 index) internal pure returns (Settlement.EntryRef memory) {
        return Settlement.EntryRef({gatewayId: GATEWAY_ID, batchId: batchId, index: index});
    }

    function _open(UsageBatch memory b, uint32 index, uint256 amount) internal returns (uint256 id) {
        vm.prank(b.entries[index].customer);
        id = settlement.openDispute(_ref(b.batchId, index), b.entries[index], _entryHashes(b.entries), amount, "why");
    }

    function test_openDispute_withinWindow_recordsAndLocksStake() public {
        UsageBatch memory b = _disputable();
        vm.expectEmit(address(settlement));
        emit Settlement.DisputeOpened(1, c, p, _ref(0, 0), CHARGE, keccak256("overbilled"));
        vm.prank(c);
        uint256 id = settlement.openDispute(_ref(0, 0), b.entries[0], _entryHashes(b.entries), CHARGE, keccak256("overbilled"));
        assertEq(id, 1);
        assertEq(settlement.nextDisputeId(), 2);
        Settlement.Dispute memory d = settlement.disputeOf(1);
        assertEq(d.customer, c);
        assertEq(d.provider, p);
        assertEq(d.gatewayId, GATEWAY_ID);
        assertEq(d.batchId, 0);
        assertEq(d.entryIndex, 0);
        assertEq(d.amount, CHARGE);
        assertEq(d.feeBps, 250);
        assertEq(d.openedAt, block.timestamp);
        assertEq(uint8(d.status), uint8(Settlement.DisputeStatus.Open));
        assertEq(d.resolveBy, block.timestamp + 7 days);
        assertEq(_locked(p), CHARGE);
    }

    function test_openDispute_lastSecondOfWindow_succeeds() public {
        UsageBatch memory b = _disputable();
        vm.warp(settlement.batchOf(GATEWAY_ID, 0).vestsAt - 1);
        _open(b, 0, CHARGE);
        assertEq(_locked(p), CHARGE);
    }

    function test_openDispute_afterWindow_reverts() public {
        UsageBatch memory b = _disputable();
        uint40 vestsAt = settlement.batchOf(GATEWAY_ID, 0).vestsAt;
        vm.warp(vestsAt);
        bytes32[] memory hashes = _entryHashes(b.entries);
        vm.prank(c);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeWindowClosed.selector, vestsAt));
        settlement.openDispute(_ref(0, 0), b.entries[0], hashes, CHARGE, "late");
    }

    function test_openDispute_wrongCustomer_reverts() public {
        UsageBatch memory b = _disputable();
        bytes32[] memory hashes = _entryHashes(b.entries);
        vm.prank(c2);
        vm.expectRevert(abi.encodeWithSelector(Settlement.NotEntryCustomer.selector, c2, c));
        settlement.openDispute(_ref(0, 0), b.entries[0], hashes, CHARGE, "not mine");
    }

    function test_openDispute_entryRewrittenWithCallerAsCustomer_reverts() public {
        UsageBatch memory b = _disputable();
        bytes32[] memory hashes = _entryHashes(b.entries);
        UsageEntry memory forged = b.entries[0];
        forged.customer = c2;
        vm.prank(c2);
        vm.expectRevert(Settlement.EntryMismatch.selector);
        settlement.openDispute(_ref(0, 0), forged, hashes, CHARGE, "forged");
    }

    function test_openDispute_wrongEntryHashes_reverts() public {
        UsageBatch memory b = _disputable();
        bytes32[] memory hashes = _entryHashes(b.entries);
        hashes[1] = keccak256("tampered");
        vm.prank(c);
        vm.expectRevert(Settlement.EntryMismatch.selector);
        settlement.openDispute(_ref(0, 0), b.entries[0], hashes, CHARGE, "x");
    }

    function test_openDispute_entryAtOtherIndex_reverts() public {
        UsageBatch memory b = _disputable();
        bytes32[] memory hashes = _entryHashes(b.entries);
        vm.prank(c);
        vm.expectRevert(Settlement.EntryMismatch.selector);
        settlement.openDispute(_ref(0, 1), b.entries[0], hashes, CHARGE, "x");
    }

    function test_openDispute_indexOutOfRange_reverts() public {
        UsageBatch memory b = _disputable();
        bytes32[] memory hashes = _entryHashes(b.entries);
        vm.prank(c);
        vm.expectRevert(Settlement.EntryMismatch.selector);
        settlement.openDispute(_ref(0, 2), b.entries[0], hashes, CHARGE, "x");
    }

    function test_openDispute_inflatedEntry_reverts() public {
        UsageBatch memory b = _disputable();
        bytes32[] memory hashes = _entryHashes(b.entries);
        UsageEntry memory inflated = b.entries[0];
        inflated.promptTokens *= 100; // to dispute (and lock) more than was charged
        vm.prank(c);
        vm.expectRevert(Settlement.EntryMismatch.selector);
        settlement.openDispute(_ref(0, 0), inflated, hashes, 100 * CHARGE, "x");
    }

    function test_openDispute_unknownBatch_reverts() public {
        UsageBatch memory b = _disputable();
        bytes32[] memory hashes = _entryHashes(b.entries);
        vm.prank(c);
        vm.expectRevert(abi.encodeWithSelector(Settlement.UnknownBatch.selector, GATEWAY_ID, uint64(5)));
        settlement.openDispute(_ref(5, 0), b.entries[0], hashes, CHARGE, "x");
    }

    function test_openDispute_skippedEntry_reverts() public {
        UsageEntry memory over = _e();
        over.promptPrice = PROMPT_PRICE + 1;
        UsageBatch memory b = _batch(0, _two(_e(), over));
        _settle(b);
        bytes32[] memory hashes = _entryHashes(b.entries);
        vm.prank(c);
        vm.expectRevert(abi.encodeWithSelector(Settlement.EntryNotSettled.selector, 1));
        settlement.openDispute(_ref(0, 1), b.entries[1], hashes, 1, "x");
    }

    function test_openDispute_twice_reverts() public {
        UsageBatch memory b = _disputable();
        _open(b, 0, 1);
        bytes32[] memory hashes = _entryHashes(b.entries);
        vm.prank(c);
        vm.expectRevert(abi.encodeWithSelector(Settlement.AlreadyDisputed.selector, 0));
        settlement.openDispute(_ref(0, 0), b.entries[0], hashes, 1, "again");
        assertEq(_locked(p), 1);
    }

    function test_openDispute_amountAboveCharge_reverts() public {
        UsageBatch memory b = _disputable();
        bytes32[] memory hashes = _entryHashes(b.entries);
        vm.prank(c);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeAmountTooHigh.selector, CHARGE + 1, CHARGE));
        settlement.openDispute(_ref(0, 0), b.entries[0], hashes, CHARGE + 1, "x");
    }

    function test_openDispute_zeroAmount_reverts() public {
        UsageBatch memory b = _disputable();
        bytes32[] memory hashes = _entryHashes(b.entries);
        vm.prank(c);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeAmountTooHigh.selector, 0, CHARGE));
        settlement.openDispute(_ref(0, 0), b.entries[0], hashes, 0, "x");
    }

    /// @dev The dispute window keeps running during a pause, so the customer's right to dispute must too.
    function test_openDispute_whilePaused_stillOpens() public {
        UsageBatch memory b = _disputable();
        bytes32[] memory hashes = _entryHashes(b.entries);
        vm.prank(guardian);
        settlement.pause();
        vm.prank(c);
        uint256 id = settlement.openDispute(_ref(0, 0), b.entries[0], hashes, CHARGE, "x");
        assertEq(uint256(settlement.disputeOf(id).status), uint256(Settlement.DisputeStatus.Open));
    }

    function test_resolveDispute_upheld_refundsFromFeesAndUnvestedEarnings() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        uint256 vestingBefore = _vesting(p);
        vm.expectEmit(address(settlement));
        emit Settlement.DisputeResolved(id, true, CHARGE, CHARGE - FEE, 0, FEE);
        vm.prank(arbiter);
        settlement.resolveDispute(id, true, CHARGE);
        assertEq(_available(c), 100e6); // fully refunded
        assertEq(_vesting(p), vestingBefore - (CHARGE - FEE));
        assertEq(settlement.protocolFees(), FEE); // only c2's entry fee is left
        assertEq(_bonded(p), 1_000e6); // stake untouched
        assertEq(_locked(p), 0); // lock released
        assertEq(uint8(settlement.disputeOf(id).status), uint8(Settlement.DisputeStatus.Upheld));
        _assertBacked();
    }

    function test_resolveDispute_upheldPartialRefund_releasesWholeLock() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        vm.prank(arbiter);
        settlement.resolveDispute(id, true, 100_000);
        assertEq(_available(c), 100e6 - CHARGE + 100_000);
        assertEq(_locked(p), 0);
        _assertBacked();
    }

    function test_resolveDispute_upheldAfterEarningsClaimed_takesUnvestedThenStake() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        // The dispute drags on past vesting; the provider claims the disputed earnings...
        vm.warp(block.timestamp + 2 * DISPUTE_WINDOW);
        vm.prank(p);
        settlement.claim();
        // ...and has a little unvested income from new usage.
        _settleOne(_entry(c2, p, 100_000, 0)); // 0.02 USDC, credit 19_500
        uint256 unvested = 20_000 - 500;
        uint256 owed = CHARGE - FEE;
        uint256 fromStake = owed - unvested;

        vm.expectEmit(address(staking));
        emit ProviderStaking.Slashed(p, fromStake, fromStake, address(settlement), bytes32("dispute"));
        vm.expectEmit(address(settlement));
        emit Settlement.DisputeResolved(id, true, CHARGE, unvested, fromStake, FEE);
        vm.prank(arbiter);
        settlement.resolveDispute(id, true, CHARGE);

        assertEq(_vesting(p), 0);
        assertEq(_bonded(p), 1_000e6 - fromStake);
        assertEq(_locked(p), 0);
        assertEq(_available(c), 100e6);
        _assertBacked();
    }

    function test_resolveDispute_upheldStakeShort_paysWhatExistsAndJails() public {
        address bare = makeAddr("unstaked-provider");
        _provider(bare, 0);
        UsageBatch memory b = _batch(0, _one(_entry(c, bare, 1_000_000, 500_000)));
        _settle(b);
        uint256 id = _open(b, 0, CHARGE);
        vm.warp(block.timestamp + 2 * DISPUTE_WINDOW);
        vm.prank(bare);
        settlement.claim();
        vm.prank(arbiter);
        settlement.resolveDispute(id, true, CHARGE);
        assertEq(_available(c), 100e6 - CHARGE + FEE); // only the fee share could be returned
        (,,, bool jailed,) = staking.stakeOf(bare);
        assertTrue(jailed);
        _assertBacked();
    }

    function test_resolveDispute_rejected_movesNothingAndReleasesLock() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        uint256 vestingBefore = _vesting(p);
        vm.expectEmit(address(settlement));
        emit Settlement.DisputeResolved(id, false, 0, 0, 0, 0);
        vm.prank(arbiter);
        settlement.resolveDispute(id, false, CHARGE);
        assertEq(_available(c), 100e6 - CHARGE);
        assertEq(_vesting(p), vestingBefore);
        assertEq(_locked(p), 0);
        assertEq(uint8(settlement.disputeOf(id).status), uint8(Settlement.DisputeStatus.Rejected));
    }

    function test_resolveDispute_twice_reverts() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        vm.prank(arbiter);
        settlement.resolveDispute(id, false, 0);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeNotOpen.selector, id));
        settlement.resolveDispute(id, true, CHARGE);
    }

    function test_resolveDispute_unknownId_reverts() public {
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeNotOpen.selector, 42));
        settlement.resolveDispute(42, true, 1);
    }

    function test_resolveDispute_refundAboveDisputed_reverts() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, 100_000);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(Settlement.RefundTooHigh.selector, 100_001, 100_000));
        settlement.resolveDispute(id, true, 100_001);
        assertEq(uint8(settlement.disputeOf(id).status), uint8(Settlement.DisputeStatus.Open));
        assertEq(_locked(p), 100_000);
    }

    function test_resolveDispute_unauthorized_reverts() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        vm.prank(governor);
        vm.expectRevert(_unauthorized(governor));
        settlement.resolveDispute(id, true, CHARGE);
        vm.prank(c);
        vm.expectRevert(_unauthorized(c));
        settlement.resolveDispute(id, true, CHARGE);
    }

    function test_openDispute_lockKeepsStakeFromLeaving() public {
        UsageBatch memory b = _disputable();
        _open(b, 0, CHARGE);
        vm.prank(p);
        staking.unbond(1_000e6); // try to run with the whole stake
        (,, uint40 unlockAt,,) = staking.stakeOf(p);
        vm.warp(block.timestamp + 6 days); // the arbiter has until day 7
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.StillUnbonding.selector, unlockAt));
        staking.withdraw();
        vm.prank(arbiter);
        settlement.resolveDispute(1, false, 0);
        vm.warp(block.timestamp + 8 days);
        assertEq(staking.withdrawable(p), 1_000e6);
    }

    function test_openDispute_lockHeldPastUnbondingUntilExpiry() public {
        UsageBatch memory b = _disputable();
        _open(b, 0, CHARGE);
        vm.prank(governor);
        settlement.setDisputeResolutionPeriod(30 days); // longer than the unbonding delay
        _open(b, 1, CHARGE); // resolveBy = now + 30 days
        vm.prank(p);
        staking.unbond(1_000e6);
        vm.warp(block.timestamp + staking.unbondingDelay());
        settlement.expireDispute(1); // 7 days passed: anyone may close it
        assertEq(staking.withdrawable(p), 1_000e6 - CHARGE);
        vm.prank(p);
        staking.withdraw();
        assertEq(_unbonding(p), CHARGE); // what the second dispute may need stays slashable
        vm.warp(block.timestamp + 16 days);
        settlement.expireDispute(2);
        assertEq(staking.withdrawable(p), CHARGE);
    }

    // ================================================================ dispute deadline

    function test_resolveDispute_lastSecondBeforeDeadline_succeeds() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        vm.warp(settlement.disputeOf(id).resolveBy - 1);
        vm.prank(arbiter);
        settlement.resolveDispute(id, true, CHARGE);
        assertEq(uint8(settlement.disputeOf(id).status), uint8(Settlement.DisputeStatus.Upheld));
        assertEq(_available(c), 100e6);
    }

    function test_resolveDispute_atDeadline_reverts() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        uint40 resolveBy = settlement.disputeOf(id).resolveBy;
        vm.warp(resolveBy);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(Settlement.ResolutionDeadlinePassed.selector, id, resolveBy));
        settlement.resolveDispute(id, true, CHARGE);
        assertEq(_locked(p), CHARGE);
    }

    function test_expireDispute_beforeDeadline_reverts() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        uint40 resolveBy = settlement.disputeOf(id).resolveBy;
        vm.warp(resolveBy - 1);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeNotExpired.selector, id, resolveBy));
        settlement.expireDispute(id);
        assertEq(_locked(p), CHARGE);
    }

    function test_expireDispute_atDeadline_byAnyone_closesAsRejected() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        uint256 vestingBefore = _vesting(p);
        uint256 feesBefore = settlement.protocolFees();
        uint40 resolveBy = settlement.disputeOf(id).resolveBy;
        vm.warp(resolveBy);
        vm.expectEmit(address(settlement));
        emit Settlement.DisputeResolved(id, false, 0, 0, 0, 0);
        vm.expectEmit(address(settlement));
        emit Settlement.DisputeExpired(id, stranger, resolveBy);
        vm.prank(stranger);
        settlement.expireDispute(id);
        assertEq(uint8(settlement.disputeOf(id).status), uint8(Settlement.DisputeStatus.Expired));
        assertEq(_locked(p), 0);
        assertEq(_available(c), 100e6 - CHARGE); // nothing refunded
        assertEq(_vesting(p) + _claimable(p), vestingBefore);
        assertEq(settlement.protocolFees(), feesBefore);
        assertEq(_bonded(p), 1_000e6);
        _assertBacked();
    }

    function test_expireDispute_whilePaused_stillWorks() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        vm.prank(guardian);
        settlement.pause();
        vm.warp(block.timestamp + 7 days);
        settlement.expireDispute(id);
        assertEq(_locked(p), 0);
    }

    function test_expireDispute_closedOrUnknown_reverts() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        vm.warp(block.timestamp + 7 days);
        settlement.expireDispute(id);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeNotOpen.selector, id));
        settlement.expireDispute(id);
        vm.prank(arbiter);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeNotOpen.selector, id));
        settlement.resolveDispute(id, true, CHARGE);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeNotOpen.selector, 42));
        settlement.expireDispute(42);
    }

    function test_expireDispute_resolvedDispute_reverts() public {
        UsageBatch memory b = _disputable();
        uint256 id = _open(b, 0, CHARGE);
        vm.prank(arbiter);
        settlement.resolveDispute(id, true, CHARGE / 2);
        vm.warp(block.timestamp + 7 days);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeNotOpen.selector, id));
        settlement.expireDispute(id);
        assertEq(uint8(settlement.disputeOf(id).status), uint8(Settlement.DisputeStatus.Upheld));
    }

    function test_setDisputeResolutionPeriod_byGovernor_appliesToNewDisputesOnly() public {
        UsageBatch memory b = _disputable();
        uint256 first = _open(b, 0, CHARGE);
        uint256 t0 = block.timestamp;
        vm.expectEmit(address(settlement));
        emit Settlement.DisputeResolutionPeriodSet(2 days);
        vm.prank(governor);
        settlement.setDisputeResolutionPeriod(2 days);
        assertEq(settlement.disputeResolutionPeriod(), 2 days);
        uint256 second = _open(b, 1, CHARGE);
        assertEq(settlement.disputeOf(first).resolveBy, t0 + 7 days);
        assertEq(settlement.disputeOf(second).resolveBy, t0 + 2 days);
    }

    function test_setDisputeResolutionPeriod_outOfBounds_reverts() public {
        vm.startPrank(governor);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.ResolutionPeriodOutOfRange.selector, 1 days - 1, 1 days, 30 days)
        );
        settlement.setDisputeResolutionPeriod(1 days - 1);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.ResolutionPeriodOutOfRange.selector, 30 days + 1, 1 days, 30 days)
        );
        settlement.setDisputeResolutionPeriod(30 days + 1);
        settlement.setDisputeResolutionPeriod(1 days);
        settlement.setDisputeResolutionPeriod(30 days);
        vm.stopPrank();
        assertEq(settlement.disputeResolutionPeriod(), 30 days);
    }

    function test_setDisputeResolutionPeriod_unauthorized_reverts() public {
        vm.prank(guardian);
        vm.expectRevert(_unauthorized(guardian));
        settlement.setDisputeResolutionPeriod(2 days);
        vm.prank(arbiter);
        vm.expectRevert(_unauthorized(arbiter));
        settlement.setDisputeResolutionPeriod(30 days);
        assertEq(settlement.disputeResolutionPeriod(), 7 days);
    }

    /// @dev The docs' arithmetic: usage served just before an unbond can still be disputed, and the
    ///      dispute resolved or expired, before the unbonded stake may leave (Base: 2 * 3 + 7 < 14 days).
    function test_defaults_disputeWindowPlusResolutionFitUnbonding() public view {
        assertLe(
            2 * settlement.DISPUTE_WINDOW() + settlement.disputeResolutionPeriod(), staking.unbondingDelay()
        );
        assertLe(2 * 3 days + settlement.disputeResolutionPeriod(), staking.unbondingDelay());
    }

    // ================================================================ receipts

    function _leaf(uint256 i) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(i, "receipt"))));
    }

    function _node(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function test_verifyReceipt_leafOfSettledBatch_true() public {
        bytes32 root = _node(_leaf(0), _leaf(1));
        UsageBatch memory b = _batch(0, _one(_e()));
        b.receiptsRoot = root;
        b.receiptCount = 2;
        _settle(b);
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = _leaf(1);
        assertTrue(settlement.verifyReceipt(GATEWAY_ID, 0, _leaf(0), proof));
        proof[0] = _leaf(0);
        assertTrue(settlement.verifyReceipt(GATEWAY_ID, 0, _leaf(1), proof));
        // A receipt that is not in the tree, or a proof for another batch, fails.
        assertFalse(settlement.verifyReceipt(GATEWAY_ID, 0, _leaf(2), proof));
        assertFalse(settlement.verifyReceipt(GATEWAY_ID, 1, _leaf(1), proof));
    }

    function test_verifyReceipt_unsettledBatch_false() public view {
        assertFalse(settlement.verifyReceipt(GATEWAY_ID, 0, bytes32(0), new bytes32[](0)));
    }

    // ================================================================ SLA credit booking

    function test_creditSla_byProtocol_booksCreditsAndDust() public {
        address[] memory customers = new address[](3);
        customers[0] = c;
        customers[1] = c2;
        customers[2] = stranger;
        uint256[] memory amounts = new uint256[](3);
        amounts[0] = 3e6;
        amounts[1] = 0; // nothing booked, no event
        amounts[2] = 1e6;
        usdc.mint(address(settlement), 4e6 + 7); // what SlaCredits has slashed into Settlement
        vm.expectEmit(address(settlement));
        emit Settlement.SlaCreditPaid(p, c, 3e6);
        vm.expectEmit(address(settlement));
        emit Settlement.SlaCreditPaid(p, stranger, 1e6);
        vm.prank(address(sla));
        settlement.creditSla(p, customers, amounts, 7);
        assertEq(_available(c), 103e6);
        assertEq(_available(c2), 100e6);
        assertEq(_available(stranger), 1e6);
        assertEq(settlement.protocolFees(), 7);
        _assertBacked();
    }

    /// @dev Audit A-05: a PROTOCOL caller (a buggy SlaCredits, or a role granted by mistake) must not
    ///      book credit that no USDC backs; the customer could withdraw other customers' money.
    function test_creditSla_notPaidIn_reverts() public {
        address[] memory customers = new address[](1);
        customers[0] = stranger;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 50e6;
        usdc.mint(address(settlement), 50e6 - 1); // one unit short of the credit
        uint256 owed = settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees();
        vm.prank(address(sla));
        vm.expectRevert(abi.encodeWithSelector(Settlement.CreditUnbacked.selector, owed + 50e6, owed + 50e6 - 1));
        settlement.creditSla(p, customers, amounts, 0);
        assertEq(_available(stranger), 0);
        assertEq(settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees(), owed);
    }

    function test_creditSla_lengthMismatch_reverts() public {
        vm.prank(address(sla));
        vm.expectRevert(Settlement.LengthMismatch.selector);
        settlement.creditSla(p, new address[](2), new uint256[](1), 0);
    }

    function test_creditSla_unauthorized_reverts() public {
        address[] memory customers = new address[](1);
        customers[0] = stranger;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 1e6;
        vm.prank(stranger);
        vm.expectRevert(_unauthorized(stranger));
        settlement.creditSla(p, customers, amounts, 0);
        vm.prank(governor);
        vm.expectRevert(_unauthorized(governor));
        settlement.creditSla(p, customers, amounts, 0);
    }

    // ================================================================ gateways and governance

    function test_setGatewaySigner_zeroAddress_reverts() public {
        vm.prank(governor);
        vm.expectRevert(CustomerEscrow.ZeroAddress.selector);
        settlement.setGatewaySigner(2, address(0));
    }

    function test_setGatewaySigner_unauthorized_reverts() public {
        vm.prank(guardian);
        vm.expectRevert(_unauthorized(guardian));
        settlement.setGatewaySigner(GATEWAY_ID, guardian);
        assertEq(settlement.gatewaySigner(GATEWAY_ID), gatewaySigner);
    }

    function test_revokeGatewaySigner_unauthorized_reverts() public {
        vm.prank(governor);
        vm.expectRevert(_unauthorized(governor));
        settlement.revokeGatewaySigner(GATEWAY_ID);
        assertEq(settlement.gatewaySigner(GATEWAY_ID), gatewaySigner);
    }

    function test_setFeeBps_byGovernor_appliesToNextBatch() public {
        _settleOne(_e());
        vm.expectEmit(address(settlement));
        emit Settlement.FeeSet(1_000);
        vm.prank(governor);
        settlement.setFeeBps(1_000);
        assertEq(settlement.feeBps(), 1_000);
        _settleOne(_entry(c2, p2, 1_000_000, 500_000));
        assertEq(_vesting(p2), CHARGE - CHARGE / 10);
        assertEq(settlement.protocolFees(), FEE + CHARGE / 10);
        assertEq(settlement.batchOf(GATEWAY_ID, 0).feeBps, 250);
        assertEq(settlement.batchOf(GATEWAY_ID, 1).feeBps, 1_000);
    }

    function test_setFeeBps_zero_providerGetsAll() public {
        vm.prank(governor);
        settlement.setFeeBps(0);
        _settleOne(_e());
        assertEq(_vesting(p), CHARGE);
        assertEq(settlement.protocolFees(), 0);
    }

    function test_setFeeBps_aboveMax_reverts() public {
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(Settlement.FeeTooHigh.selector, uint16(1_001), uint16(1_000)));
        settlement.setFeeBps(1_001);
        assertEq(settlement.feeBps(), 250);
    }

    function test_setFeeBps_unauthorized_reverts() public {
        vm.prank(arbiter);
        vm.expectRevert(_unauthorized(arbiter));
        settlement.setFeeBps(0);
    }

    function test_setCaps_byGovernor_setsAll() public {
        vm.expectEmit(address(settlement));
        emit Settlement.CapsSet(1e6, 2e6, 2 hours);
        vm.prank(governor);
        settlement.setCaps(1e6, 2e6, 2 hours);
        assertEq(settlement.maxBatchAmount(), 1e6);
        assertEq(settlement.maxWindowAmount(), 2e6);
        assertEq(settlement.capWindow(), 2 hours);
    }

    function test_setCaps_zeroWindow_reverts() public {
        vm.prank(governor);
        vm.expectRevert(Settlement.ZeroWindow.selector);
        settlement.setCaps(1e6, 2e6, 0);
    }

    function test_setCaps_unauthorized_reverts() public {
        vm.prank(guardian);
        vm.expectRevert(_unauthorized(guardian));
        settlement.setCaps(type(uint96).max, type(uint96).max, 1);
    }

    function test_withdrawFees_byGovernor_paysTreasury() public {
        _settleOne(_e());
        vm.expectEmit(address(settlement));
        emit Settlement.FeesWithdrawn(treasury, FEE);
        vm.prank(governor);
        settlement.withdrawFees(treasury, FEE);
        assertEq(usdc.balanceOf(treasury), FEE);
        assertEq(settlement.protocolFees(), 0);
        _assertBacked();
    }

    function test_withdrawFees_moreThanCollected_reverts() public {
        _settleOne(_e());
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(Settlement.InsufficientFees.selector, FEE + 1, FEE));
        settlement.withdrawFees(treasury, FEE + 1);
    }

    function test_withdrawFees_unauthorized_reverts() public {
        _settleOne(_e());
        vm.prank(guardian);
        vm.expectRevert(_unauthorized(guardian));
        settlement.withdrawFees(guardian, FEE);
    }
}

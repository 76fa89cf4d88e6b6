// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "../utils/Fixture.sol";
import {Settlement} from "../../src/Settlement.sol";
import {CustomerEscrow} from "../../src/escrow/CustomerEscrow.sol";
import {ProviderStaking} from "../../src/ProviderStaking.sol";
import {UsageBatch, UsageEntry, SlaReport, CustomerSpend} from "../../src/types/Usage.sol";

/// @notice Stateless fuzz tests against the deployed protocol: one random entry, one escrow round
///         trip, one slash, one dispute, one SLA report, one forged batch.
contract ProtocolFuzzTest is Fixture {
    address internal provider = makeAddr("provider");
    address internal customer = makeAddr("customer");

    function setUp() public override {
        super.setUp();
        _provider(provider, 1_000e6);
        // Caps out of the way: these tests are about one entry's arithmetic.
        vm.prank(governor);
        settlement.setCaps(type(uint96).max, type(uint96).max, 1 hours);
    }

    struct State {
        uint256 available;
        uint256 pending;
        uint256 earnings;
        uint256 fees;
        uint256 escrowed;
        uint256 totalEarnings;
        uint256 held;
    }

    function _state() internal view returns (State memory s) {
        (s.available, s.pending,) = settlement.accountOf(customer);
        (uint256 c, uint256 v,) = settlement.earningsOf(provider);
        s.earnings = c + v;
        s.fees = settlement.protocolFees();
        s.escrowed = settlement.totalEscrowed();
        s.totalEarnings = settlement.totalEarnings();
        s.held = usdc.balanceOf(address(settlement));
    }

    // ---------------------------------------------------------------- settlement

    /// @notice One random entry either moves exactly its charge from the customer (available first,
    ///         then pending) to the provider and the fee, or is skipped with every balance unchanged.
    function testFuzz_settleSingleEntry_exactOrSkipped(
        uint64 pt,
        uint64 ct,
        uint48 pp,
        uint48 cp,
        uint96 balance,
        uint96 pendingPart,
        uint16 feeBps
    ) public {
        balance = uint96(bound(balance, 0, 1e15));
        feeBps = uint16(bound(feeBps, 0, settlement.MAX_FEE_BPS()));
        vm.prank(governor);
        settlement.setFeeBps(feeBps);
        if (balance > 0) {
            _customer(customer, balance);
            pendingPart = uint96(bound(pendingPart, 0, balance));
            if (pendingPart > 0) {
                vm.prank(customer);
                settlement.requestWithdrawal(pendingPart);
            }
        }
        // Half the time at or below the published prices, half the time anything.
        if (pt % 2 == 0) {
            pp = uint48(bound(pp, 0, PROMPT_PRICE));
            cp = uint48(bound(cp, 0, COMPLETION_PRICE));
        }
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, provider, pt, ct);
        es[0].promptPrice = pp;
        es[0].completionPrice = cp;

        uint256 exact = uint256(pt) * pp + uint256(ct) * cp;
        uint256 charge = exact / 1e6;
        bool priceOk = pp <= PROMPT_PRICE && cp <= COMPLETION_PRICE;
        bool settles = priceOk && charge <= balance;

        State memory s0 = _state();
        _settle(_batch(0, es));
        State memory s1 = _state();

        assertEq(settlement.nextBatchId(GATEWAY_ID), 1, "batch not consumed");
        assertEq(settlement.isSkipped(GATEWAY_ID, 0, 0), !settles, "skip flag wrong");
        assertEq(s1.held, s0.held, "settlement moved USDC");
        if (!settles) {
            assertEq(s1.available, s0.available, "skipped entry touched available");
            assertEq(s1.pending, s0.pending, "skipped entry touched pending");
            assertEq(s1.earnings, s0.earnings, "skipped entry credited the provider");
            assertEq(s1.fees, s0.fees, "skipped entry took a fee");
            assertEq(s1.escrowed, s0.escrowed, "skipped entry moved totalEscrowed");
            return;
        }
        assertLe(charge * 1e6, exact, "charged above the published price");
        uint256 fee = charge * feeBps / 1e4;
        assertEq(s0.available + s0.pending - s1.available - s1.pending, charge, "customer debited other than the charge");
        uint256 fromAvailable = charge < s0.available ? charge : s0.available;
        assertEq(s1.available, s0.available - fromAvailable, "pending debited before available");
        assertEq(s1.earnings - s0.earnings, charge - fee, "provider credited other than charge - fee");
        assertEq(s1.fees - s0.fees, fee, "fee other than charge * feeBps / 1e4");
        assertEq(s0.escrowed - s1.escrowed, charge, "totalEscrowed moved other than the charge");
        assertEq(s1.totalEarnings - s0.totalEarnings, charge - fee, "totalEarnings moved other than the credit");
        assertLe(s1.fees - s0.fees, charge * settlement.MAX_FEE_BPS() / 1e4, "fee above the maximum");
    }

    /// @notice A batch signed by any key but the gateway's current signer never settles.
    function testFuzz_settle_onlyCurrentSigner(uint256 key) public {
        key = bound(key, 1, 115792089237316195423570985008687907852837564279074904382605163141518161494336);
        vm.assume(key != gatewayKey);
        _customer(customer, 100e6);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, provider, 1_000_000, 1_000_000);
        UsageBatch memory b = _batch(0, es);
        bytes memory sig = _signBatch(b, key);
        vm.expectRevert(Settlement.InvalidSignature.selector);
        settlement.settleBatch(b, sig);
        assertEq(settlement.nextBatchId(GATEWAY_ID), 0);
        // The real signer's batch settles, once.
        sig = _signBatch(b, gatewayKey);
        settlement.settleBatch(b, sig);
        vm.expectRevert(abi.encodeWithSelector(Settlement.BatchOutOfOrder.selector, uint64(1), uint64(0)));
        settlement.settleBatch(b, sig);
    }

    /// @notice No fee rate above the hard maximum is ever accepted.
    function testFuzz_setFeeBps_neverAboveMax(uint16 feeBps) public {
        uint16 maxBps = settlement.MAX_FEE_BPS();
        vm.prank(governor);
        if (feeBps > maxBps) {
            vm.expectRevert(abi.encodeWithSelector(Settlement.FeeTooHigh.selector, feeBps, maxBps));
            settlement.setFeeBps(feeBps);
        } else {
            settlement.setFeeBps(feeBps);
            assertEq(settlement.feeBps(), feeBps);
        }
    }

    // ---------------------------------------------------------------- escrow

    /// @notice deposit -> request -> (request more) -> withdraw at random times: the withdrawal
    ///         succeeds exactly from the last request's unlock time on, and pays what was requested.
    function testFuzz_escrow_depositRequestWithdraw(
        uint96 amount,
        uint96 first,
        uint96 second,
        uint32 gap,
        uint32 wait
    ) public {
        amount = uint96(bound(amount, 1, 1e15));
        first = uint96(bound(first, 1, amount));
        second = uint96(bound(second, 0, amount - first));
        gap = uint32(bound(gap, 0, 3 days));
        wait = uint32(bound(wait, 0, 3 days));
        _customer(customer, amount);
        uint40 delay = settlement.withdrawalDelay();

        vm.prank(customer);
        settlement.requestWithdrawal(first);
        uint256 unlockAt = block.timestamp + delay;
        vm.warp(block.timestamp + gap);
        if (second > 0) {
            vm.prank(customer);
            settlement.requestWithdrawal(second);
            unlockAt = block.timestamp + delay; // a new request restarts the caller's own delay
        }
        (uint256 available, uint256 pending, uint40 u) = settlement.accountOf(customer);
        assertEq(u, unlockAt, "unlock time");
        assertEq(pending, uint256(first) + second, "pending");
        assertEq(available, uint256(amount) - first - second, "available");

        vm.warp(block.timestamp + wait);
        uint256 bal0 = usdc.balanceOf(customer);
        uint256 held0 = usdc.balanceOf(address(settlement));
        vm.prank(customer);
        if (block.timestamp < unlockAt) {
            vm.expectRevert(abi.encodeWithSelector(CustomerEscrow.WithdrawalLocked.selector, uint40(unlockAt)));
            settlement.withdraw();
            assertEq(usdc.balanceOf(customer), bal0, "paid before the delay");
            vm.warp(unlockAt);
            vm.prank(customer);
        }
        settlement.withdraw();
        assertEq(usdc.balanceOf(customer) - bal0, pending, "withdrawal paid other than pending");
        assertEq(held0 - usdc.balanceOf(address(settlement)), pending, "escrow released other than pending");
        assertEq(settlement.totalEscrowed(), available, "totalEscrowed after withdrawal");
        (available, pending,) = settlement.accountOf(customer);
        assertEq(pending, 0);
    }

    /// @notice Settlement may debit a pending withdrawal before it leaves; the withdrawal then pays
    ///         the rest, never more than was requested.
    function testFuzz_escrow_pendingStaysDebitable(uint96 amount, uint96 requested, uint64 tokens) public {
        amount = uint96(bound(amount, 1e6, 1e12));
        tokens = uint64(bound(tokens, 0, 3e12));
        requested = uint96(bound(requested, 1, amount));
        _customer(customer, amount);
        vm.prank(customer);
        settlement.requestWithdrawal(requested);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, provider, 0, tokens);
        uint256 charge = uint256(tokens) * COMPLETION_PRICE / 1e6;
        _settle(_batch(0, es));
        vm.warp(block.timestamp + settlement.withdrawalDelay());
        (uint256 available, uint256 pending,) = settlement.accountOf(customer);
        if (charge > amount) {
            assertEq(pending, requested, "unpayable entry touched pending");
            assertEq(available, amount - requested);
        } else {
            uint256 fromAvailable = charge < amount - requested ? charge : amount - requested;
            assertEq(available, amount - requested - fromAvailable, "available after debit");
            assertEq(pending, requested - (charge - fromAvailable), "pending after debit");
        }
        if (pending > 0) {
            uint256 bal0 = usdc.balanceOf(customer);
            vm.prank(customer);
            settlement.withdraw();
            assertEq(usdc.balanceOf(customer) - bal0, pending);
            assertLe(pending, requested, "withdrew more than requested");
        }
    }

    // ---------------------------------------------------------------- staking

    /// @notice A slash takes bonded stake first, then unbonding stake, never more than both, never
    ///         reverts for lack of stake, and jails exactly when it falls short.
    function testFuzz_slash_neverExceedsStake(uint96 bonded, uint96 unbonding, uint256 amount) public {
        address p = makeAddr("p2");
        bonded = uint96(bound(bonded, 0, 1e15));
        unbonding = uint96(bound(unbonding, 0, 1e15));
        _provider(p, uint256(bonded) + unbonding);
        if (unbonding > 0) {
            vm.prank(p);
            staking.unbond(unbonding);
        }
        address recipient = makeAddr("recipient");
        uint256 total0 = staking.totalStaked();
        vm.prank(address(settlement)); // holds the PROTOCOL role
        uint256 paid = staking.slash(p, amount, recipient, "fuzz");
        uint256 slashable = uint256(bonded) + unbonding;
        uint256 want = amount < slashable ? amount : slashable;
        assertEq(paid, want, "slash paid other than min(amount, bonded + unbonding)");
        assertEq(usdc.balanceOf(recipient), paid, "recipient got other than paid");
        assertEq(total0 - staking.totalStaked(), paid, "totalStaked moved other than paid");
        (uint256 b, uint256 u,, bool jailed,) = staking.stakeOf(p);
        uint256 fromBonded = want < bonded ? want : bonded;
        assertEq(b, bonded - fromBonded, "bonded not slashed first");
        assertEq(u, unbonding - (want - fromBonded), "unbonding slashed wrongly");
        assertEq(jailed, paid < amount, "jailed iff the slash fell short");
    }

    /// @notice Unbonded stake leaves exactly after the unbonding delay, and stays slashable until then.
    function testFuzz_stake_withdrawOnlyAfterDelay(uint96 amount, uint96 part, uint32 wait) public {
        address p = makeAddr("p3");
        amount = uint96(bound(amount, 1, 1e15));
        part = uint96(bound(part, 1, amount));
        wait = uint32(bound(wait, 0, 30 days));
        _provider(p, amount);
        vm.prank(p);
        staking.unbond(part);
        uint256 unlockAt = block.timestamp + staking.unbondingDelay();
        vm.warp(block.timestamp + wait);
        uint256 bal0 = usdc.balanceOf(p);
        vm.prank(p);
        if (block.timestamp < unlockAt) {
            vm.expectRevert(abi.encodeWithSelector(ProviderStaking.StillUnbonding.selector, uint40(unlockAt)));
            staking.withdraw();
            // Still slashable while unbonding: a slash of everything reaches it.
            vm.prank(address(settlement));
            assertEq(staking.slash(p, type(uint256).max, address(settlement), "x"), amount);
            return;
        }
        staking.withdraw();
        assertEq(usdc.balanceOf(p) - bal0, part, "stake withdrawal paid other than unbonded");
    }

    // ---------------------------------------------------------------- disputes and SLA

    /// @notice An upheld dispute refunds at most the refund asked, from fees, unvested earnings, then
    ///         stake; a rejected one moves nothing; liabilities stay fully backed either way.
    function testFuzz_dispute_refundBounded(uint64 tokens, uint96 amount, uint96 refund, bool upheld, uint32 later)
        public
    {
        tokens = uint64(bound(tokens, 1_000_000, 1e9)); // charge <= 800 USDC < stake
        _customer(customer, 1e12);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, provider, tokens, tokens);
        _settle(_batch(0, es));
        uint256 charge = uint256(tokens) * (PROMPT_PRICE + COMPLETION_PRICE) / 1e6;
        amount = uint96(bound(amount, 1, charge));
        Settlement.EntryRef memory ref = Settlement.EntryRef(GATEWAY_ID, 0, 0);
        vm.prank(customer);
        uint256 id = settlement.openDispute(ref, es[0], _entryHashes(es), amount, keccak256("why"));
        vm.warp(block.timestamp + bound(later, 0, 5 days)); // the arbiter may be slow

        refund = uint96(bound(refund, 0, amount));
        (uint256 avail0,,) = settlement.accountOf(customer);
        (uint256 b0,,,,) = staking.stakeOf(provider);
        uint256 owed0 = settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees();
        vm.prank(arbiter);
        settlement.resolveDispute(id, upheld, refund);
        (uint256 avail1,,) = settlement.accountOf(customer);
        (uint256 b1,,,, uint256 locked) = staking.stakeOf(provider);
        assertEq(locked, 0, "stake still locked after resolution");
        uint256 owed1 = settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees();
        assertEq(owed1 - owed0, b0 - b1, "liabilities grew by other than the stake slashed in");
        assertEq(usdc.balanceOf(address(settlement)), owed1, "Settlement not exactly backed");
        if (!upheld) {
            assertEq(avail1, avail0, "rejected dispute refunded");
            assertEq(b1, b0, "rejected dispute slashed");
        } else {
            assertLe(avail1 - avail0, refund, "refund above what the arbiter granted");
            assertEq(avail1 - avail0, refund, "stake was ample: refund must be paid in full");
        }
    }

    /// @notice An upheld dispute against a provider whose earnings have vested and whose stake is
    ///         short pays what exists, credits exactly that (never the amount granted), jails the
    ///         provider, and leaves Settlement exactly backed.
    function testFuzz_dispute_shortStakePaysWhatExists(uint96 stakeAmount, uint96 refund, bool claimFirst) public {
        address p = makeAddr("short");
        stakeAmount = uint96(bound(stakeAmount, 0, 10e6));
        _provider(p, stakeAmount);
        _customer(customer, 1_000e6);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, p, 100_000_000, 100_000_000); // 80 USDC, 2 USDC fee
        _settle(_batch(0, es));
        vm.prank(customer);
        uint256 id = settlement.openDispute(Settlement.EntryRef(GATEWAY_ID, 0, 0), es[0], _entryHashes(es), 80e6, "x");
        vm.warp(settlement.batchOf(GATEWAY_ID, 0).vestsAt); // earnings vest before the arbiter acts
        if (claimFirst) {
            vm.prank(p);
            settlement.claim();
        }
        refund = uint96(bound(refund, 0, 80e6));
        (uint256 avail0,,) = settlement.accountOf(customer);
        uint256 fees0 = settlement.protocolFees();
        vm.prank(arbiter);
        settlement.resolveDispute(id, true, refund);
        (uint256 avail1,,) = settlement.accountOf(customer);
        uint256 feeShare = uint256(refund) * settlement.feeBps() / 1e4;
        uint256 fromFees = feeShare < fees0 ? feeShare : fees0;
        uint256 owed = refund - fromFees;
        (uint256 cl,,) = settlement.earningsOf(p);
        // Vested earnings are never taken back: only stake pays what fees do not.
        uint256 fromStake = owed < stakeAmount ? owed : stakeAmount;
        assertEq(avail1 - avail0, fromFees + fromStake, "credited other than fees + stake actually taken");
        assertEq(cl, claimFirst ? 0 : 78e6, "vested earnings were touched");
        (,,, bool jailed,) = staking.stakeOf(p);
        assertEq(jailed, fromStake < owed, "jailed iff the stake fell short");
        assertEq(
            usdc.balanceOf(address(settlement)),
            settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees(),
            "Settlement not exactly backed"
        );
    }

    /// @notice A frozen account can neither withdraw escrow nor claim earnings; unfrozen, it can.
    function testFuzz_frozenAccountsCannotExit(uint96 amount, uint64 tokens) public {
        amount = uint96(bound(amount, 1_000e6, 1e12)); // always covers the charge (<= 600 USDC)
        tokens = uint64(bound(tokens, 1e6, 1e9));
        _customer(customer, amount);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, provider, 0, tokens);
        _settle(_batch(0, es));
        (uint256 a,,) = settlement.accountOf(customer);
        vm.prank(customer);
        settlement.requestWithdrawal(a);
        vm.warp(block.timestamp + 3 * DISPUTE_WINDOW);
        vm.startPrank(guardian);
        settlement.freeze(customer);
        settlement.freeze(provider);
        vm.stopPrank();
        vm.prank(customer);
        vm.expectRevert(abi.encodeWithSelector(CustomerEscrow.AccountFrozen.selector, customer));
        settlement.withdraw();
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(CustomerEscrow.AccountFrozen.selector, provider));
        settlement.claim();
        vm.startPrank(guardian);
        settlement.unfreeze(customer);
        settlement.unfreeze(provider);
        vm.stopPrank();
        vm.prank(customer);
        settlement.withdraw();
        vm.prank(provider);
        settlement.claim();
        assertEq(usdc.balanceOf(address(settlement)), settlement.protocolFees(), "exits left money behind");
    }

    /// @notice Stake locked by an open dispute cannot be withdrawn, whatever the provider unbonds,
    ///         and is released by the resolution.
    function testFuzz_stake_disputeLockHoldsStake(uint96 disputed, uint96 unbondPart) public {
        _customer(customer, 1_000e6);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, provider, 0, 1_000_000_000); // 600 USDC
        _settle(_batch(0, es));
        disputed = uint96(bound(disputed, 1, 600e6));
        vm.prank(customer);
        uint256 id = settlement.openDispute(Settlement.EntryRef(GATEWAY_ID, 0, 0), es[0], _entryHashes(es), disputed, "x");
        unbondPart = uint96(bound(unbondPart, 1, 1_000e6));
        vm.prank(provider);
        staking.unbond(unbondPart);
        vm.warp(block.timestamp + staking.unbondingDelay());
        uint256 bonded = 1_000e6 - uint256(unbondPart);
        uint256 reserved = disputed > bonded ? disputed - bonded : 0;
        uint256 free = reserved >= unbondPart ? 0 : unbondPart - reserved;
        assertEq(staking.withdrawable(provider), free, "withdrawable ignores the dispute lock");
        uint256 bal0 = usdc.balanceOf(provider);
        vm.prank(provider);
        if (free == 0) {
            vm.expectRevert(ProviderStaking.NothingToWithdraw.selector);
            staking.withdraw();
        } else {
            staking.withdraw();
            assertEq(usdc.balanceOf(provider) - bal0, free, "withdrew other than unbonding minus reserved");
        }
        (uint256 b, uint256 u,,,) = staking.stakeOf(provider);
        assertGe(b + u, disputed, "stake under the disputed amount while the dispute is open");
        // The unbonding delay (14 days) outlasts the resolution period (7 days): the arbiter never
        // acted, so anyone closes the dispute, as rejected.
        vm.prank(makeAddr("anyone"));
        settlement.expireDispute(id);
        assertEq(staking.withdrawable(provider), u, "expiry did not release the lock");
    }

    /// @notice Around a price change the old price settles until exactly effectiveAt + grace (and
    ///         not a second longer), the new one from exactly effectiveAt (and not a second earlier).
    function testFuzz_price_noticeAndGraceBoundaries(uint48 newPrompt, uint48 newCompletion, uint8 around, bool atGrace)
        public
    {
        newPrompt = uint48(bound(newPrompt, 0, 2 * PROMPT_PRICE));
        newCompletion = uint48(bound(newCompletion, 0, 2 * COMPLETION_PRICE));
        vm.prank(provider);
        registry.schedulePriceChange(MODEL, newPrompt, newCompletion);
        uint256 eff = block.timestamp + registry.priceNotice();
        uint256 edge = atGrace ? eff + registry.priceGrace() : eff;
        uint256 t = edge - 3 + (around % 6); // edge - 3 .. edge + 2
        bool oldOk = t < eff + registry.priceGrace();
        bool newOk = t >= eff;
        assertEq(registry.isPriceAccepted(provider, MODEL, PROMPT_PRICE, COMPLETION_PRICE, t), oldOk || (newOk && PROMPT_PRICE <= newPrompt && COMPLETION_PRICE <= newCompletion), "old price acceptance at the boundary");
        assertEq(registry.isPriceAccepted(provider, MODEL, newPrompt, newCompletion, t), newOk || (oldOk && newPrompt <= PROMPT_PRICE && newCompletion <= COMPLETION_PRICE), "new price acceptance at the boundary");
        // The same through a real batch.
        vm.warp(t);
        _customer(customer, 100e6);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, provider, 1_000_000, 1_000_000);
        _settle(_batch(0, es));
        assertEq(settlement.isSkipped(GATEWAY_ID, 0, 0), !registry.isPriceAccepted(provider, MODEL, PROMPT_PRICE, COMPLETION_PRICE, t));
        assertEq(settlement.isSkipped(GATEWAY_ID, 0, 0), !(oldOk || (newOk && PROMPT_PRICE <= newPrompt && COMPLETION_PRICE <= newCompletion)), "old price settled outside its window");
    }

    /// @notice A guardian pause never eats the dispute window (regression: openDispute used to be
    ///         whenNotPaused while claim was not): at any moment of the window, paused or not, the
    ///         customer can dispute; from its end on, nobody can.
    function testFuzz_dispute_windowSurvivesPause(uint32 settleOffset, uint32 wait, bool paused) public {
        vm.warp(block.timestamp + bound(settleOffset, 0, DISPUTE_WINDOW));
        _customer(customer, 100e6);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, provider, 10_000_000, 10_000_000); // 8 USDC
        _settle(_batch(0, es));
        uint256 vestsAt = settlement.batchOf(GATEWAY_ID, 0).vestsAt;
        assertGe(vestsAt, block.timestamp + DISPUTE_WINDOW, "window shorter than DISPUTE_WINDOW");
        if (paused) {
            vm.prank(guardian);
            settlement.pause();
        }
        vm.warp(block.timestamp + bound(wait, 0, 3 * DISPUTE_WINDOW));
        bytes32[] memory hashes = _entryHashes(es);
        Settlement.EntryRef memory ref = Settlement.EntryRef(GATEWAY_ID, 0, 0);
        vm.prank(customer);
        if (block.timestamp >= vestsAt) {
            vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeWindowClosed.selector, uint40(vestsAt)));
            settlement.openDispute(ref, es[0], hashes, 8e6, keccak256("why"));
        } else {
            settlement.openDispute(ref, es[0], hashes, 8e6, keccak256("why"));
            (,,,, uint256 locked) = staking.stakeOf(provider);
            assertEq(locked, 8e6, "dispute did not lock stake");
        }
    }

    /// @notice An SLA credit never takes stake locked for an open dispute: it gets at most the stake
    ///         beyond the lock, and the dispute, upheld afterwards, is paid exactly what it would have
    ///         been paid had the SLA report never come (the lock was first).
    function testFuzz_slaCredit_leavesDisputeLockedStakeToTheDispute(
        uint96 stakeAmount,
        uint96 disputed,
        uint96 spend,
        bool reportFirst
    ) public {
        address p = makeAddr("p5");
        stakeAmount = uint96(bound(stakeAmount, 0, 2_000e6));
        _provider(p, stakeAmount);
        _customer(customer, 1_000e6);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, p, 0, 1_000_000_000); // 600 USDC, 15 USDC fee
        _settle(_batch(0, es));
        disputed = uint96(bound(disputed, 1, 600e6));
        vm.prank(customer);
        uint256 id = settlement.openDispute(Settlement.EntryRef(GATEWAY_ID, 0, 0), es[0], _entryHashes(es), disputed, "x");
        // Earnings vest and are claimed: the refund beyond the fee share must come from stake.
        vm.warp(settlement.batchOf(GATEWAY_ID, 0).vestsAt);
        vm.prank(p);
        settlement.claim();

        assertEq(staking.unlockedStake(p), stakeAmount > disputed ? stakeAmount - disputed : 0);
        if (reportFirst) _slaAgainstLock(p, stakeAmount, disputed, spend); // else the control: no report

        (uint256 avail0,,) = settlement.accountOf(customer);
        vm.prank(arbiter);
        settlement.resolveDispute(id, true, disputed);
        (uint256 avail1,,) = settlement.accountOf(customer);
        uint256 fromFees = uint256(disputed) * 250 / 1e4; // fees (15 USDC) always cover the share
        uint256 fromStake = disputed - fromFees < stakeAmount ? disputed - fromFees : stakeAmount;
        assertEq(avail1 - avail0, fromFees + fromStake, "the dispute got other than it would without the report");
        assertEq(
            usdc.balanceOf(address(settlement)),
            settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees(),
            "Settlement not exactly backed"
        );
    }

    /// @dev An SLA report at 99.0% availability (the 25% cap) on up to 40,000 USDC of spend (credits
    ///      up to the report cap) against a provider with `disputed` of its stake locked.
    function _slaAgainstLock(address p, uint256 stakeAmount, uint256 disputed, uint96 spend) internal {
        CustomerSpend[] memory spends = new CustomerSpend[](1);
        spends[0] = CustomerSpend(makeAddr("sla-customer"), uint96(bound(spend, 0, 40_000e6)));
        uint256 owed = uint256(spends[0].spend) * 2_500 / 1e4;
        uint256 unlocked = stakeAmount > disputed ? stakeAmount - disputed : 0;
        SlaReport memory r = _slaReport(p, 990_000, 1_000, spends);
        sla.submitReport(r, _signSla(r, gatewayKey));
        (uint256 b, uint256 u,, bool jailed, uint256 locked) = staking.stakeOf(p);
        uint256 paid = owed < unlocked ? owed : unlocked;
        assertEq(stakeAmount - (b + u), paid, "SLA credit took other than min(owed, unlocked stake)");
        assertGe(b + u, stakeAmount < disputed ? stakeAmount : disputed, "SLA credit dug into locked stake");
        assertEq(jailed, paid < owed, "jailed iff the unlocked stake fell short");
        // One customer, so no rounding: the unpaid rest is the report's arrears, locked on top.
        assertEq(locked, disputed + (owed - paid), "the unpaid credit is not locked as arrears");
        assertEq(sla.arrearsOf(p), owed - paid);
    }

    /// @notice The resolution deadline splits time exactly: before it only the arbiter can close a
    ///         dispute, from it only an expiry can, and an expiry moves no money.
    function testFuzz_dispute_deadlineSplitsArbiterAndExpiry(uint40 period, uint40 wait, bool upheld) public {
        period = uint40(bound(period, settlement.MIN_RESOLUTION_PERIOD(), settlement.MAX_RESOLUTION_PERIOD()));
        vm.prank(governor);
        settlement.setDisputeResolutionPeriod(period);
        _customer(customer, 1_000e6);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(customer, provider, 0, 100_000_000); // 60 USDC
        _settle(_batch(0, es));
        vm.prank(customer);
        uint256 id = settlement.openDispute(Settlement.EntryRef(GATEWAY_ID, 0, 0), es[0], _entryHashes(es), 60e6, "x");
        uint40 resolveBy = settlement.disputeOf(id).resolveBy;
        assertEq(resolveBy, block.timestamp + period);
        wait = uint40(bound(wait, 0, 2 * uint256(period)));
        vm.warp(block.timestamp + wait);
        State memory s0 = _state();
        (uint256 b0,,,,) = staking.stakeOf(provider);
        if (block.timestamp < resolveBy) {
            vm.expectRevert(abi.encodeWithSelector(Settlement.DisputeNotExpired.selector, id, resolveBy));
            settlement.expireDispute(id);
            vm.prank(arbiter);
            settlement.resolveDispute(id, upheld, upheld ? 60e6 : 0);
        } else {
            vm.prank(arbiter);
            vm.expectRevert(abi.encodeWithSelector(Settlement.ResolutionDeadlinePassed.selector, id, resolveBy));
            settlement.resolveDispute(id, upheld, upheld ? 60e6 : 0);
            settlement.expireDispute(id);
            State memory s1 = _state();
            (uint256 b1,,,,) = staking.stakeOf(provider);
            assertEq(s1.available, s0.available, "expiry refunded");
            assertEq(s1.earnings, s0.earnings, "expiry took earnings");
            assertEq(s1.fees, s0.fees, "expiry took fees");
            assertEq(b1, b0, "expiry slashed");
            assertEq(uint8(settlement.disputeOf(id).status), uint8(Settlement.DisputeStatus.Expired));
        }
        (,,,, uint256 locked) = staking.stakeOf(provider);
        assertEq(locked, 0, "closed dispute still locks stake");
    }

    /// @notice One SLA report: credits follow the policy, never exceed cap x spend, and a provider
    ///         short of stake pays what it has (pro rata) instead of reverting.
    function testFuzz_slaReport_cappedAndNeverRevertsForStake(
        uint32 avail,
        uint32 ttft,
        uint96 spend1,
        uint96 spend2,
        uint96 stakeAmount
    ) public {
        address p = makeAddr("p4");
        stakeAmount = uint96(bound(stakeAmount, 0, 5_000e6));
        _provider(p, stakeAmount);
        CustomerSpend[] memory spends = new CustomerSpend[](2);
        spends[0] = CustomerSpend(customer, uint96(bound(spend1, 0, 10_000e6)));
        spends[1] = CustomerSpend(makeAddr("c2"), uint96(bound(spend2, 0, 10_000e6)));
        SlaReport memory r =
            _slaReport(p, uint32(bound(avail, 990_000, 1_000_000)), uint32(bound(ttft, 0, 5_000)), spends);
        uint256 bps = sla.creditBpsFor(0, r.requests, r.availabilityPpm, r.p95TtftMs);
        assertLe(bps, sla.policyOf(0).capBps, "credit rate above the cap");
        uint256 owed = uint256(spends[0].spend) * bps / 1e4 + uint256(spends[1].spend) * bps / 1e4;
        uint256 fees0 = settlement.protocolFees();
        sla.submitReport(r, _signSla(r, gatewayKey));
        _checkSla(p, spends, owed, stakeAmount, fees0);
    }

    function _checkSla(address p, CustomerSpend[] memory spends, uint256 owed, uint256 stakeAmount, uint256 fees0)
        internal
        view
    {
        uint256 cap = sla.policyOf(0).capBps;
        (uint256 a1,,) = settlement.accountOf(spends[0].customer);
        (uint256 a2,,) = settlement.accountOf(spends[1].customer);
        uint256 paid = owed < stakeAmount ? owed : stakeAmount;
        assertLe(a1, uint256(spends[0].spend) * cap / 1e4, "credit above cap x spend");
        assertLe(a2, uint256(spends[1].spend) * cap / 1e4, "credit above cap x spend");
        assertEq(a1 + a2 + settlement.protocolFees() - fees0, paid, "credits + dust != stake taken");
        (uint256 b,,, bool jailed,) = staking.stakeOf(p);
        assertEq(b, stakeAmount - paid, "stake taken other than min(owed, stake)");
        assertEq(jailed, paid < owed, "jailed iff stake fell short");
        assertEq(
            usdc.balanceOf(address(settlement)),
            settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees(),
            "Settlement not exactly backed"
        );
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {console2} from "forge-std/console2.sol";
import {Fixture} from "../utils/Fixture.sol";
import {ProtocolHandler} from "./ProtocolHandler.sol";

/// @notice Deploys the protocol (Fixture), 4 funded customers, 3 staked providers, two spare gateway
///         signer keys and an attacker key, and the handler; points the campaign at the handler only.
abstract contract ProtocolSetup is Fixture {
    ProtocolHandler internal handler;

    address[4] internal customers;
    address[3] internal providers;
    address internal treasury = makeAddr("treasury");
    address internal donor = makeAddr("donor");
    address internal outsider = makeAddr("outsider");

    function setUp() public override {
        super.setUp();
        // The handler's model assumes the deployment defaults: fail loudly if they change.
        assertEq(settlement.withdrawalDelay(), 24 hours);
        assertEq(staking.unbondingDelay(), 14 days);
        assertEq(settlement.disputeResolutionPeriod(), 7 days);
        assertEq(registry.priceNotice(), 24 hours);
        assertEq(registry.priceGrace(), 24 hours);
        assertEq(staking.minStake(), 100e6);
        assertEq(settlement.MAX_FEE_BPS(), 1_000);
        assertEq(settlement.DISPUTE_WINDOW(), DISPUTE_WINDOW);

        // Caps low enough that the campaign reaches them now and then.
        vm.startPrank(governor);
        settlement.setCaps(5_000e6, 12_000e6, 1 hours);
        sla.setMaxCreditPerReport(3_000e6);
        vm.stopPrank();

        for (uint256 i; i < 4; ++i) {
            customers[i] = makeAddr(string.concat("customer", vm.toString(i)));
            _customer(customers[i], 1_000e6);
        }
        for (uint256 i; i < 3; ++i) {
            providers[i] = makeAddr(string.concat("provider", vm.toString(i)));
            _provider(providers[i], 2_000e6);
        }
        address[] memory payers = new address[](9);
        for (uint256 i; i < 4; ++i) {
            payers[i] = customers[i];
        }
        for (uint256 i; i < 3; ++i) {
            payers[4 + i] = providers[i];
        }
        payers[7] = donor;
        payers[8] = treasury;
        for (uint256 i; i < payers.length; ++i) {
            vm.startPrank(payers[i]);
            usdc.approve(address(settlement), type(uint256).max);
            usdc.approve(address(staking), type(uint256).max);
            vm.stopPrank();
        }

        (, uint256 key2) = makeAddrAndKey("gateway-signer-2");
        (, uint256 key3) = makeAddrAndKey("gateway-signer-3");
        (, uint256 attacker) = makeAddrAndKey("attacker");
        handler = new ProtocolHandler(
            ProtocolHandler.Deployment({
                usdc: usdc,
                manager: manager,
                registry: registry,
                staking: staking,
                settlement: settlement,
                sla: sla,
                admin: admin,
                signerKeys: [gatewayKey, key2, key3],
                attackerKey: attacker,
                customers: customers,
                providers: providers,
                outsider: outsider,
                donor: donor,
                treasury: treasury
            })
        );
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: _actions()}));
    }

    /// @dev The handler actions the campaign draws from (a campaign may bias the mix).
    function _actions() internal view virtual returns (bytes4[] memory) {
        return handler.actions();
    }
}

/// @title ProtocolInvariants
/// @notice The invariants of DESIGN.md and security-and-gas.md 2.2, checked after every call of a
///         campaign driven by ProtocolHandler (4 customers, 3 providers, rotating gateway signer,
///         arbiter, guardians, blacklisting and pausing USDC), and an exit of everyone at the end of
///         each run (`afterInvariant`).
/// @dev The handler lives in another file, so pass it too (the fuzzer only knows contracts of the
///      files it is given):
///      TOLLGATE_ARTIFACTS=/tmp/tg-inv/artifacts TOLLGATE_CACHE=/tmp/tg-inv/cache \
///      npx hardhat test solidity contracts/test/invariant/ProtocolInvariants.t.sol contracts/test/invariant/ProtocolHandler.sol
///      FUZZ_RUNS / INVARIANT_RUNS / INVARIANT_DEPTH raise the effort.
contract ProtocolInvariants is ProtocolSetup {
    // ================================================================ money

    /// @notice Solvency: each contract holds at least what it owes, and exactly that plus donations.
    function invariant_solvency() public view {
        uint256 owed = settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees();
        uint256 held = usdc.balanceOf(address(settlement));
        assertGe(held, owed, "Settlement holds less USDC than escrow + earnings + fees");
        assertEq(held, owed + handler.ghost_donatedSettlement(), "Settlement USDC != owed + donations");
        uint256 staked = staking.totalStaked();
        uint256 stakeHeld = usdc.balanceOf(address(staking));
        assertGe(stakeHeld, staked, "ProviderStaking holds less USDC than totalStaked");
        assertEq(stakeHeld, staked + handler.ghost_donatedStaking(), "ProviderStaking USDC != staked + donations");
    }

    /// @notice Conservation: the per-actor balances add up to the contracts' totals.
    function invariant_conservation_sumsEqualTotals() public view {
        uint256 escrow;
        for (uint256 i; i < 4; ++i) {
            (uint256 a, uint256 p,) = settlement.accountOf(customers[i]);
            escrow += a + p;
        }
        assertEq(escrow, settlement.totalEscrowed(), "sum of accountOf != totalEscrowed");
        uint256 earnings;
        uint256 stakes;
        for (uint256 i; i < 3; ++i) {
            (uint256 c, uint256 v,) = settlement.earningsOf(providers[i]);
            earnings += c + v;
            (uint256 b, uint256 u,,,) = staking.stakeOf(providers[i]);
            stakes += b + u;
        }
        assertEq(earnings, settlement.totalEarnings(), "sum of earningsOf != totalEarnings");
        assertEq(stakes, staking.totalStaked(), "sum of stakeOf != totalStaked");
    }

    /// @notice Conservation against the ghost flows: nothing minted or burnt inside the protocol.
    function invariant_conservation_ghostFlows() public view {
        uint256 owed = settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees();
        uint256 expected = handler.initialSettlementOwed() + handler.ghost_deposited() + handler.ghost_slashedToSettlement()
            - handler.ghost_escrowWithdrawn() - handler.ghost_claimed() - handler.ghost_feesWithdrawn();
        assertEq(owed, expected, "Settlement liabilities != deposits + slashes - withdrawals - claims - fees out");
        assertEq(
            staking.totalStaked(),
            handler.initialStaked() + handler.ghost_staked() - handler.ghost_stakeWithdrawn() - handler.ghost_slashed(),
            "totalStaked != staked - withdrawn - slashed"
        );
        assertEq(handler.ghost_slashed(), handler.ghost_slashedToSettlement(), "a slash paid somewhere else than Settlement");
    }

    /// @notice Per settled batch: customer debits == provider credits + fees, exactly, and equal to
    ///         the independent model's charges.
    function invariant_perBatch_debitsEqualCreditsPlusFees() public view {
        uint256 n = handler.batchCount();
        for (uint256 i; i < n; ++i) {
            ProtocolHandler.BatchGhost memory g = handler.batchGhost(i);
            assertEq(g.debits, g.credits + g.fees, "batch debits != credits + fees");
            assertEq(g.debits, g.expectedCharged, "batch debits != model charges");
            assertEq(g.fees, g.expectedFees, "batch fees != model fees");
        }
        _noViolation(handler.V_ENTRY());
    }

    /// @notice Every entry settles for exactly its charge or is skipped with state unchanged, and
    ///         only at or below a price the provider published (in force, or replaced within grace).
    function invariant_entries_chargeExactlyOrSkip() public view {
        _noViolation(handler.V_ENTRY());
        _noViolation(handler.V_PRICE());
    }

    /// @notice Fees never exceed the hard maximum.
    function invariant_feeWithinMax() public view {
        uint256 maxBps = settlement.MAX_FEE_BPS();
        assertLe(settlement.feeBps(), maxBps, "fee rate above the maximum");
        uint256 n = handler.batchCount();
        for (uint256 i; i < n; ++i) {
            ProtocolHandler.BatchGhost memory g = handler.batchGhost(i);
            assertLe(g.feeBps, maxBps, "batch fee rate above the maximum");
            assertLe(g.fees, g.debits * maxBps / 1e4, "batch fees above amount * MAX_FEE_BPS");
        }
        _noViolation(handler.V_FEE());
    }

    /// @notice No protocol call ever fails on an arithmetic panic (underflow, overflow, div by zero).
    function invariant_noArithmeticPanic() public view {
        _noViolation(handler.V_PANIC());
    }

    // ================================================================ batches and signers

    /// @notice Batch ids settle once each, in order, with no gaps.
    function invariant_batchIds_onceAndWithoutGaps() public view {
        uint256 n = handler.batchCount();
        assertEq(settlement.nextBatchId(GATEWAY_ID), n, "nextBatchId != number of settled batches");
        for (uint256 i; i < n; ++i) {
            ProtocolHandler.BatchGhost memory g = handler.batchGhost(i);
            assertEq(g.id, i, "batch ids settled out of order or with a gap");
            assertEq(settlement.batchOf(GATEWAY_ID, uint64(i)).settledAt, g.settledAt, "batch record rewritten");
        }
        assertEq(settlement.batchOf(GATEWAY_ID, uint64(n)).settledAt, 0, "a batch beyond nextBatchId is recorded");
        _noViolation(handler.V_REPLAY());
    }

    /// @notice Only the gateway's current (non-revoked) signer's batches and SLA reports are accepted.
    function invariant_onlyCurrentSignerSettles() public view {
        uint256 n = handler.batchCount();
        for (uint256 i; i < n; ++i) {
            ProtocolHandler.BatchGhost memory g = handler.batchGhost(i);
            assertEq(g.keyIdx, g.currentKeyIdx, "batch settled with a key that was not the current signer");
        }
        _noViolation(handler.V_SIGNER());
    }

    /// @notice What one gateway settles in any capWindow-long interval is at most two cap windows' worth.
    function invariant_windowCap() public view {
        uint256 n = handler.batchCount();
        uint256 window = settlement.capWindow();
        uint256 cap = settlement.maxWindowAmount();
        for (uint256 i; i < n; ++i) {
            ProtocolHandler.BatchGhost memory gi = handler.batchGhost(i);
            assertLe(gi.debits, settlement.maxBatchAmount(), "batch above the batch cap");
            uint256 sum;
            for (uint256 j = i; j < n; ++j) {
                ProtocolHandler.BatchGhost memory gj = handler.batchGhost(j);
                if (gj.settledAt >= gi.settledAt + window) break;
                sum += gj.debits;
            }
            assertLe(sum, 2 * cap, "more than two cap windows settled within one window length");
        }
        _noViolation(handler.V_CAP());
    }

    // ================================================================ delays, stake, SLA, disputes

    /// @notice Escrow and stake leave only after their delays, and never more than was requested.
    function invariant_withdrawalsOnlyAfterDelay() public view {
        _noViolation(handler.V_DELAY());
    }

    /// @notice A slash never takes more than bonded + unbonding (and never reverts for lack of stake).
    function invariant_slashWithinStake() public view {
        _noViolation(handler.V_SLASH());
        _noViolation(handler.V_STAKE());
    }

    /// @notice SLA credits never exceed cap x reported spend, and follow the published formula.
    function invariant_slaCreditsWithinCap() public view {
        assertLe(handler.ghost_slaCredited(), handler.ghost_slaCapAllowance(), "SLA credits above cap x spend");
        _noViolation(handler.V_SLA());
    }

    /// @notice Disputes refund at most the disputed amount, in the documented order, and lock/unlock stake.
    function invariant_disputesBounded() public view {
        assertLe(handler.ghost_refundsPaid(), handler.ghost_disputedAmount(), "refunds above disputed amounts");
        uint256 n = handler.disputeCount();
        uint256 openAmount;
        for (uint256 i; i < n; ++i) {
            ProtocolHandler.DisputeGhost memory d = handler.disputeGhost(i);
            assertLe(d.amount, d.charge, "dispute above the entry's charge");
            if (d.open) openAmount += d.amount;
        }
        uint256 locked;
        for (uint256 i; i < 3; ++i) {
            (,,,, uint256 l) = staking.stakeOf(providers[i]);
            assertEq(sla.arrearsOf(providers[i]), handler.ghost_arrears(providers[i]), "arrearsOf != unpaid SLA credits");
            locked += l - sla.arrearsOf(providers[i]);
        }
        assertEq(locked, openAmount, "locked stake != sum of open disputes (+ SLA arrears)");
        _noViolation(handler.V_DISPUTE());
    }

    /// @notice Dispute locks are a claim on stake only disputes may spend: no stake withdrawal, SLA
    ///         credit or other dispute's refund pushes a provider's stake further below its locks, and
    ///         an SLA credit never takes locked stake. Disputes resolve before their deadline and
    ///         expire (as rejected, nothing moving) only from it.
    function invariant_disputeLocksCovered() public view {
        _noViolation(handler.V_LOCK());
        _noViolation(handler.V_DISPUTE());
    }

    /// @notice While paused, nothing moves but the allowed exits; frozen accounts do not leave.
    ///         A guardian freeze reaches ProviderStaking (no unbond, no stake withdrawal).
    function invariant_pauseRespected() public view {
        _noViolation(handler.V_PAUSE());
    }

    /// @notice Everything the handler's model says must succeed does (exits included), and nothing it
    ///         says must fail succeeds.
    function invariant_handlerModelAgrees() public view {
        _noViolation(handler.V_EXIT());
        _noViolation(handler.V_OUTCOME());
    }

    // ================================================================ liveness

    /// @notice After every run: lift every block, close disputes, warp past every delay, and let each
    ///         actor exit its own unfrozen balance without the gateway. The contracts must then hold
    ///         exactly what is still owed (frozen balances) plus donations.
    function afterInvariant() public {
        if (vm.envOr("TG_COVERAGE", false)) _logCoverage();
        vm.warp(handler.ghostTime());
        // The token guardian (this contract owns TestUSDC) lifts every block.
        if (usdc.paused()) usdc.unpause();
        address[11] memory everyone = [
            customers[0], customers[1], customers[2], customers[3], providers[0], providers[1], providers[2],
            donor, treasury, address(settlement), address(staking)
        ];
        for (uint256 i; i < everyone.length; ++i) {
            if (usdc.isBlacklisted(everyone[i])) usdc.unBlacklist(everyone[i]);
        }
        vm.startPrank(guardian);
        if (settlement.paused()) settlement.unpause();
        if (staking.paused()) staking.unpause();
        if (sla.paused()) sla.unpause();
        vm.stopPrank();
        // Open disputes hold stake. Without the arbiter: past each deadline anyone (here the donor)
        // expires them, as rejected; no money moves.
        uint256 nd = handler.disputeCount();
        for (uint256 i; i < nd; ++i) {
            ProtocolHandler.DisputeGhost memory d = handler.disputeGhost(i);
            if (!d.open) continue;
            if (block.timestamp < d.resolveBy) vm.warp(d.resolveBy);
            vm.prank(donor);
            settlement.expireDispute(d.id);
        }
        // Unpaid SLA credits stay locked until collected; anyone collects them now that the
        // disputes released their stake.
        handler.collectAllArrears();

        // Everyone starts their exit.
        for (uint256 i; i < 4; ++i) {
            (uint256 a,,) = settlement.accountOf(customers[i]);
            if (a > 0 && !settlement.frozen(customers[i])) {
                vm.prank(customers[i]);
                settlement.requestWithdrawal(a);
            }
        }
        for (uint256 i; i < 3; ++i) {
            (uint256 b,,,,) = staking.stakeOf(providers[i]);
            if (b > 0 && !staking.frozen(providers[i])) {
                vm.prank(providers[i]);
                staking.unbond(b);
            }
        }
        vm.warp(block.timestamp + 14 days + 2 * DISPUTE_WINDOW + 1);

        uint256 frozenOwed;
        uint256 frozenStake;
        for (uint256 i; i < 4; ++i) {
            address c = customers[i];
            (uint256 a, uint256 p,) = settlement.accountOf(c);
            if (settlement.frozen(c)) {
                frozenOwed += a + p;
                continue;
            }
            assertEq(a, 0, "available left after requesting it all");
            if (p == 0) continue;
            uint256 bal0 = usdc.balanceOf(c);
            vm.prank(c);
            settlement.withdraw();
            assertEq(usdc.balanceOf(c) - bal0, p, "customer exit paid a wrong amount");
        }
        for (uint256 i; i < 3; ++i) {
            address p = providers[i];
            (uint256 cl, uint256 v,) = settlement.earningsOf(p);
            assertEq(v, 0, "earnings still vesting two windows after the last batch");
            if (settlement.frozen(p)) {
                frozenOwed += cl;
            } else if (cl > 0) {
                uint256 bal0 = usdc.balanceOf(p);
                vm.prank(p);
                settlement.claim();
                assertEq(usdc.balanceOf(p) - bal0, cl, "provider claim paid a wrong amount");
            }
            (uint256 b, uint256 u,,, uint256 locked) = staking.stakeOf(p);
            assertEq(locked, sla.arrearsOf(p), "stake still locked with no open dispute (beyond SLA arrears)");
            // Arrears are left only when collecting them took every unit of stake.
            if (locked > 0) assertEq(b + u, 0, "SLA arrears left unpaid while stake remains");
            assertEq(staking.frozen(p), settlement.frozen(p), "the guardian freeze did not reach ProviderStaking");
            if (staking.frozen(p)) {
                frozenStake += b + u; // a frozen provider cannot leave, by design
                continue;
            }
            assertEq(b, 0, "bonded stake left after unbonding it all");
            if (u > 0) {
                uint256 bal0 = usdc.balanceOf(p);
                vm.prank(p);
                staking.withdraw();
                assertEq(usdc.balanceOf(p) - bal0, u, "stake exit paid a wrong amount");
            }
        }
        uint256 fees = settlement.protocolFees();
        if (fees > 0) {
            vm.prank(governor);
            settlement.withdrawFees(treasury, fees);
        }

        assertEq(
            settlement.totalEscrowed() + settlement.totalEarnings() + settlement.protocolFees(),
            frozenOwed,
            "Settlement still owes more than the frozen balances"
        );
        assertEq(
            usdc.balanceOf(address(settlement)),
            frozenOwed + handler.ghost_donatedSettlement(),
            "Settlement USDC after every exit != frozen balances + donations"
        );
        assertEq(staking.totalStaked(), frozenStake, "stake left after every unfrozen provider exited");
        assertEq(
            usdc.balanceOf(address(staking)),
            frozenStake + handler.ghost_donatedStaking(),
            "staking USDC after exits != frozen stake + donations"
        );
        _noViolation(handler.V_PANIC());
    }

    /// @notice A fixed pseudo-random walk through the handler (TG_WALK_STEPS calls, default 300): a
    ///         deterministic regression run of the same checks, and with TG_COVERAGE=true -vv a report
    ///         of how often each action was tried and succeeded (the campaign's own runs print only
    ///         in traces).
    function test_randomWalk() public {
        uint256 steps = vm.envOr("TG_WALK_STEPS", uint256(300));
        bytes4[] memory acts = handler.actions();
        for (uint256 i; i < steps; ++i) {
            uint256 r = uint256(keccak256(abi.encode("walk", i)));
            bytes4 sel = acts[r % acts.length];
            (bool ok,) = address(handler).call(
                abi.encodePacked(sel, abi.encode(r >> 8, uint256(keccak256(abi.encode(r, 1))), uint256(keccak256(abi.encode(r, 2))), uint256(keccak256(abi.encode(r, 3)))))
            );
            ok;
            this.checkAll(); // an external call: its memory is released after each step
        }
        if (vm.envOr("TG_COVERAGE", false)) _logCoverage();
        afterInvariant();
    }

    /// @notice Every invariant at once (used by test_randomWalk).
    function checkAll() external view {
        invariant_solvency();
        invariant_conservation_sumsEqualTotals();
        invariant_conservation_ghostFlows();
        invariant_perBatch_debitsEqualCreditsPlusFees();
        invariant_entries_chargeExactlyOrSkip();
        invariant_feeWithinMax();
        invariant_noArithmeticPanic();
        invariant_batchIds_onceAndWithoutGaps();
        invariant_onlyCurrentSignerSettles();
        invariant_windowCap();
        invariant_withdrawalsOnlyAfterDelay();
        invariant_slashWithinStake();
        invariant_slaCreditsWithinCap();
        invariant_disputesBounded();
        invariant_pauseRespected();
        invariant_handlerModelAgrees();
        invariant_disputeLocksCovered();
    }

    /// @dev TG_COVERAGE=true (with -vvv) prints, per run, how often each action was tried and succeeded.
    function _logCoverage() internal view {
        string[19] memory names = [
            "deposit", "requestWithdrawal", "cancelWithdrawal", "withdraw", "stake", "unbond", "rebond",
            "withdrawStake", "unjail", "settleBatch", "replay", "claim", "openDispute", "resolveDispute",
            "submitSlaReport", "changePrice", "relist", "expireDispute", "collectArrears"
        ];
        string memory line = "coverage ok/tried:";
        for (uint256 i; i < names.length; ++i) {
            line = string.concat(
                line, " ", names[i], "=", vm.toString(handler.okCount(bytes32(bytes(names[i])))), "/",
                vm.toString(handler.tryCount(bytes32(bytes(names[i]))))
            );
        }
        console2.log(line);
    }

    function _noViolation(bytes32 category) internal view {
        assertEq(handler.violations(category), 0, handler.lastViolation(category));
    }
}

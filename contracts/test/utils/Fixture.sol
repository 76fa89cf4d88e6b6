// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TestUSDC} from "../../src/token/TestUSDC.sol";
import {TollgateAccessManager} from "../../src/governance/TollgateAccessManager.sol";
import {Roles} from "../../src/governance/Roles.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ProviderStaking} from "../../src/ProviderStaking.sol";
import {Settlement} from "../../src/Settlement.sol";
import {CustomerEscrow} from "../../src/escrow/CustomerEscrow.sol";
import {SlaCredits} from "../../src/SlaCredits.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {IProviderStaking} from "../../src/interfaces/IProviderStaking.sol";
import {ISettlement} from "../../src/interfaces/ISettlement.sol";
import {UsageBatch, UsageEntry, SlaReport, CustomerSpend} from "../../src/types/Usage.sol";

/// @notice Deploys the whole protocol wired through one AccessManager, as the Ignition module does,
///         with helpers to register providers, fund customers and sign batches and SLA reports.
///         The EIP-712 hashing here is written independently of the contracts on purpose.
abstract contract Fixture is Test {
    uint256 internal constant DISPUTE_WINDOW = 1 days;
    uint32 internal constant GATEWAY_ID = 1;
    bytes32 internal constant MODEL = keccak256("llama-3.1-8b-instruct");
    // $0.20 per million prompt tokens, $0.60 per million completion tokens.
    uint48 internal constant PROMPT_PRICE = 200_000;
    uint48 internal constant COMPLETION_PRICE = 600_000;

    TestUSDC internal usdc;
    TollgateAccessManager internal manager;
    ProviderRegistry internal registry;
    ProviderStaking internal staking;
    Settlement internal settlement;
    SlaCredits internal sla;

    address internal admin = address(this);
    address internal governor = makeAddr("governor");
    address internal guardian = makeAddr("guardian");
    address internal arbiter = makeAddr("arbiter");
    address internal gatewaySigner;
    uint256 internal gatewayKey;

    function setUp() public virtual {
        vm.warp(1_800_000_000);
        (gatewaySigner, gatewayKey) = makeAddrAndKey("gateway-signer");
        usdc = new TestUSDC(admin);
        manager = new TollgateAccessManager(admin);
        registry = new ProviderRegistry(address(manager));
        staking = new ProviderStaking(IERC20(address(usdc)), IProviderRegistry(address(registry)), address(manager));
        settlement = new Settlement(
            IERC20(address(usdc)),
            IProviderRegistry(address(registry)),
            IProviderStaking(address(staking)),
            address(manager),
            DISPUTE_WINDOW
        );
        sla = new SlaCredits(ISettlement(address(settlement)), IProviderStaking(address(staking)), address(manager));
        _wireRoles();
        vm.prank(governor);
        settlement.setGatewaySigner(GATEWAY_ID, gatewaySigner);
    }

    function _wireRoles() internal {
        bytes4[] memory s;

        s = new bytes4[](2);
        s[0] = ProviderRegistry.setPriceNotice.selector;
        s[1] = ProviderRegistry.setPriceGrace.selector;
        manager.setTargetFunctionRole(address(registry), s, Roles.GOVERNOR);

        s = new bytes4[](5);
        s[0] = ProviderStaking.slash.selector;
        s[1] = ProviderStaking.slashUnlocked.selector;
        s[2] = ProviderStaking.lock.selector;
        s[3] = ProviderStaking.unlock.selector;
        s[4] = ProviderStaking.setFrozen.selector;
        manager.setTargetFunctionRole(address(staking), s, Roles.PROTOCOL);
        s = new bytes4[](2);
        s[0] = ProviderStaking.setMinStake.selector;
        s[1] = ProviderStaking.setUnbondingDelay.selector;
        manager.setTargetFunctionRole(address(staking), s, Roles.GOVERNOR);
        s = new bytes4[](2);
        s[0] = ProviderStaking.pause.selector;
        s[1] = ProviderStaking.unpause.selector;
        manager.setTargetFunctionRole(address(staking), s, Roles.GUARDIAN);

        s = new bytes4[](5);
        s[0] = CustomerEscrow.freeze.selector;
        s[1] = CustomerEscrow.unfreeze.selector;
        s[2] = CustomerEscrow.pause.selector;
        s[3] = CustomerEscrow.unpause.selector;
        s[4] = Settlement.revokeGatewaySigner.selector;
        manager.setTargetFunctionRole(address(settlement), s, Roles.GUARDIAN);
        s = new bytes4[](6);
        s[0] = CustomerEscrow.setWithdrawalDelay.selector;
        s[1] = Settlement.setGatewaySigner.selector;
        s[2] = Settlement.setFeeBps.selector;
        s[3] = Settlement.setCaps.selector;
        s[4] = Settlement.withdrawFees.selector;
        s[5] = Settlement.setDisputeResolutionPeriod.selector;
        manager.setTargetFunctionRole(address(settlement), s, Roles.GOVERNOR);
        s = new bytes4[](1);
        s[0] = Settlement.resolveDispute.selector;
        manager.setTargetFunctionRole(address(settlement), s, Roles.ARBITER);
        s[0] = Settlement.creditSla.selector;
        manager.setTargetFunctionRole(address(settlement), s, Roles.PROTOCOL);

        s = new bytes4[](3);
        s[0] = SlaCredits.setPolicy.selector;
        s[1] = SlaCredits.setMaxCreditPerReport.selector;
        s[2] = SlaCredits.setPeriodCap.selector;
        manager.setTargetFunctionRole(address(sla), s, Roles.GOVERNOR);
        s = new bytes4[](2);
        s[0] = SlaCredits.pause.selector;
        s[1] = SlaCredits.unpause.selector;
        manager.setTargetFunctionRole(address(sla), s, Roles.GUARDIAN);

        manager.grantRole(Roles.GOVERNOR, governor, 0);
        manager.grantRole(Roles.GUARDIAN, guardian, 0);
        manager.grantRole(Roles.ARBITER, arbiter, 0);
        manager.grantRole(Roles.PROTOCOL, address(settlement), 0);
        manager.grantRole(Roles.PROTOCOL, address(sla), 0);
    }

    // ---------------------------------------------------------------- actors

    function _profile() internal pure returns (ProviderRegistry.HardwareProfile memory) {
        return ProviderRegistry.HardwareProfile({
            gpuModel: "H100-80GB",
            gpuCount: 8,
            vramGb: 640,
            region: "eu-west",
            metadataURI: "ipfs://provider"
        });
    }

    function _modelInfo() internal pure returns (ProviderRegistry.ModelInfo memory) {
        return ProviderRegistry.ModelInfo({
            name: "llama-3.1-8b-instruct",
            quantization: "fp16",
            modelHash: keccak256("weights"),
            contextLength: 131_072
        });
    }

    /// @dev Registers `p`, lists MODEL at the fixture prices and bonds `stakeAmount`.
    function _provider(address p, uint256 stakeAmount) internal {
        vm.startPrank(p);
        registry.register(_profile());
        registry.listModel(MODEL, _modelInfo(), PROMPT_PRICE, COMPLETION_PRICE);
        vm.stopPrank();
        if (stakeAmount > 0) {
            usdc.mint(p, stakeAmount);
            vm.startPrank(p);
            usdc.approve(address(staking), stakeAmount);
            staking.stake(stakeAmount);
            vm.stopPrank();
        }
    }

    /// @dev Mints `amount` to `c` and deposits it into escrow.
    function _customer(address c, uint256 amount) internal {
        usdc.mint(c, amount);
        vm.startPrank(c);
        usdc.approve(address(settlement), amount);
        settlement.deposit(amount);
        vm.stopPrank();
    }

    function _entry(address customer, address provider, uint64 promptTokens, uint64 completionTokens)
        internal
        pure
        returns (UsageEntry memory)
    {
        return UsageEntry({
            customer: customer,
            provider: provider,
            model: MODEL,
            requests: 1,
            promptTokens: promptTokens,
            completionTokens: completionTokens,
            promptPrice: PROMPT_PRICE,
            completionPrice: COMPLETION_PRICE
        });
    }

    function _batch(uint64 batchId, UsageEntry[] memory entries) internal view returns (UsageBatch memory b) {
        b.gatewayId = GATEWAY_ID;
        b.batchId = batchId;
        b.receiptsRoot = keccak256(abi.encode("receipts", batchId));
        b.receiptCount = uint32(entries.length);
        b.deadline = uint64(block.timestamp + 1 hours);
        b.entries = entries;
    }

    // ---------------------------------------------------------------- EIP-712, written independently

    function _domainSeparator(string memory name, address verifyingContract) internal view returns (bytes32) {
        return _domainSeparatorOn(name, block.chainid, verifyingContract);
    }

    function _domainSeparatorOn(string memory name, uint256 chainId, address verifyingContract)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(name)),
                keccak256(bytes("1")),
                chainId,
                verifyingContract
            )
        );
    }

    function _entryHash(UsageEntry memory e) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256(
                    "Entry(address customer,address provider,bytes32 model,uint32 requests,uint64 promptTokens,uint64 completionTokens,uint48 promptPrice,uint48 completionPrice)"
                ),
                e.customer,
                e.provider,
                e.model,
                e.requests,
                e.promptTokens,
                e.completionTokens,
                e.promptPrice,
                e.completionPrice
            )
        );
    }

    function _entryHashes(UsageEntry[] memory entries) internal pure returns (bytes32[] memory hashes) {
        hashes = new bytes32[](entries.length);
        for (uint256 i; i < entries.length; ++i) {
            hashes[i] = _entryHash(entries[i]);
        }
    }

    function _batchStructHash(UsageBatch memory b) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256(
                    "Batch(uint32 gatewayId,uint64 batchId,bytes32 receiptsRoot,uint32 receiptCount,uint64 deadline,Entry[] entries)Entry(address customer,address provider,bytes32 model,uint32 requests,uint64 promptTokens,uint64 completionTokens,uint48 promptPrice,uint48 completionPrice)"
                ),
                b.gatewayId,
                b.batchId,
                b.receiptsRoot,
                b.receiptCount,
                b.deadline,
                keccak256(abi.encodePacked(_entryHashes(b.entries)))
            )
        );
    }

    /// @dev The batch digest under any chain id and verifying contract (for cross-chain/contract tests).
    function _batchDigestOn(UsageBatch memory b, uint256 chainId, address verifyingContract)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(
                "\x19\x01", _domainSeparatorOn("Tollgate Settlement", chainId, verifyingContract), _batchStructHash(b)
            )
        );
    }

    function _batchDigest(UsageBatch memory b, address verifyingContract) internal view returns (bytes32) {
        return _batchDigestOn(b, block.chainid, verifyingContract);
    }

    function _signBatch(UsageBatch memory b, uint256 key) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _batchDigest(b, address(settlement)));
        return abi.encodePacked(r, s, v);
    }

    function _settle(UsageBatch memory b) internal {
        settlement.settleBatch(b, _signBatch(b, gatewayKey));
    }

    function _slaStructHash(SlaReport memory r) internal pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](r.spends.length);
        for (uint256 i; i < r.spends.length; ++i) {
            hashes[i] = keccak256(
                abi.encode(
                    keccak256("CustomerSpend(address customer,uint96 spend)"), r.spends[i].customer, r.spends[i].spend
                )
            );
        }
        return keccak256(
            abi.encode(
                keccak256(
                    "SlaReport(uint32 gatewayId,address provider,uint8 tier,uint64 windowStart,uint64 windowEnd,uint32 requests,uint32 availabilityPpm,uint32 p95TtftMs,uint64 deadline,CustomerSpend[] spends)CustomerSpend(address customer,uint96 spend)"
                ),
                r.gatewayId,
                r.provider,
                r.tier,
                r.windowStart,
                r.windowEnd,
                r.requests,
                r.availabilityPpm,
                r.p95TtftMs,
                r.deadline,
                keccak256(abi.encodePacked(hashes))
            )
        );
    }

    function _slaDigest(SlaReport memory r) internal view returns (bytes32) {
        return keccak256(
            abi.encodePacked("\x19\x01", _domainSeparator("Tollgate SLA", address(sla)), _slaStructHash(r))
        );
    }

    function _signSla(SlaReport memory r, uint256 key) internal view returns (bytes memory) {
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(key, _slaDigest(r));
        return abi.encodePacked(rr, s, v);
    }

    function _slaReport(address provider, uint32 availabilityPpm, uint32 p95TtftMs, CustomerSpend[] memory spends)
        internal
        view
        returns (SlaReport memory r)
    {
        r.gatewayId = GATEWAY_ID;
        r.provider = provider;
        r.tier = 0;
        r.windowStart = uint64(block.timestamp - 1 hours);
        r.windowEnd = uint64(block.timestamp);
        r.requests = 10_000;
        r.availabilityPpm = availabilityPpm;
        r.p95TtftMs = p95TtftMs;
        r.deadline = uint64(block.timestamp + 1 hours);
        r.spends = spends;
    }
}

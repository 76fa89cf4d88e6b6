// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "../utils/Fixture.sol";
import {UsageEntry, CustomerSpend} from "../../src/types/Usage.sol";

contract SmokeTest is Fixture {
    function test_settleOneEntry_movesMoneyExactly() public {
        address p = makeAddr("p");
        address c = makeAddr("c");
        _provider(p, 1_000e6);
        _customer(c, 100e6);
        UsageEntry[] memory es = new UsageEntry[](1);
        es[0] = _entry(c, p, 1_000_000, 500_000); // 0.2 + 0.3 = 0.5 USDC
        _settle(_batch(0, es));
        (uint256 available,,) = settlement.accountOf(c);
        assertEq(available, 100e6 - 500_000);
        (, uint256 vesting,) = settlement.earningsOf(p);
        assertEq(vesting, 500_000 - 12_500);
        assertEq(settlement.protocolFees(), 12_500);
    }

    function test_slaReport_paysCredit() public {
        address p = makeAddr("p");
        address c = makeAddr("c");
        _provider(p, 1_000e6);
        _customer(c, 1e6);
        CustomerSpend[] memory spends = new CustomerSpend[](1);
        spends[0] = CustomerSpend({customer: c, spend: 100e6});
        // 99.75% is 0.15% below 99.9%: two started steps = 10%, plus TTFT breach 5% = 15%.
        sla.submitReport(_slaReport(p, 997_500, 2_000, spends), _signSla(_slaReport(p, 997_500, 2_000, spends), gatewayKey));
        (uint256 available,,) = settlement.accountOf(c);
        assertEq(available, 1e6 + 15e6);
    }
}

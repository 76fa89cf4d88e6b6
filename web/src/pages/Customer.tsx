import { Web3 } from "../web3.tsx";
import { RequireWallet } from "../components/Wallet.tsx";
import { SessionProvider } from "../components/Session.tsx";
import { BalanceBuckets } from "./customer/Balance.tsx";
import { TopUp } from "./customer/TopUp.tsx";
import { Withdraw } from "./customer/Withdraw.tsx";
import { Keys } from "./customer/Keys.tsx";
import { Usage } from "./customer/Usage.tsx";
import { ArrearsDue } from "./customer/Arrears.tsx";
import { MyDisputes } from "../components/Disputes.tsx";

function CustomerPageContent() {
  return (
    <>
      <h1>Customer</h1>
      <RequireWallet>
        <SessionProvider>
          <BalanceBuckets />
          <ArrearsDue />
          <div className="grid">
            <TopUp />
            <Withdraw />
          </div>
          <Keys />
          <Usage />
          <MyDisputes party="customer" />
        </SessionProvider>
      </RequireWallet>
    </>
  );
}

export default function CustomerPage() {
  return <Web3><CustomerPageContent /></Web3>;
}

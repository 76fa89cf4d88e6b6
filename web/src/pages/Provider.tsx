import { Web3 } from "../web3.tsx";
import { RequireWallet } from "../components/Wallet.tsx";
import { Register, useRegistered } from "./provider/Register.tsx";
import { Models } from "./provider/Models.tsx";
import { Workers } from "./provider/Workers.tsx";
import { Stake } from "./provider/Stake.tsx";
import { StakeArrears } from "./provider/Arrears.tsx";
import { Earnings } from "./provider/Earnings.tsx";
import { Sla } from "./provider/Sla.tsx";
import { MyDisputes } from "../components/Disputes.tsx";

function ProviderSections() {
  const registered = !!useRegistered();
  return (
    <>
      <Register />
      <Models enabled={registered} />
      <Stake enabled={registered} />
      <StakeArrears />
      <Earnings />
      <MyDisputes party="provider" />
      <Workers enabled={registered} />
      <Sla />
    </>
  );
}

function ProviderPageContent() {
  return (
    <>
      <h1>Provider</h1>
      <RequireWallet><ProviderSections /></RequireWallet>
    </>
  );
}

export default function ProviderPage() {
  return <Web3><ProviderPageContent /></Web3>;
}

import { Web3 } from "../web3.tsx";
import { WalletButton } from "./Wallet.tsx";

/** The header's wallet widget, in its own chunk (it brings wagmi). */
export default function WalletArea() {
  return <Web3><WalletButton /></Web3>;
}

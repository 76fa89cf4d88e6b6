import { keccak256, stringToBytes, type Hex } from "viem";

/** On-chain id of a model: keccak256 of its public name (e.g. "llama-3.1-8b-instruct"). */
export function modelId(name: string): Hex {
  return keccak256(stringToBytes(name));
}

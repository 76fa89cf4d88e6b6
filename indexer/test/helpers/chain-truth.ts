/** What the chain says: every log of the four contracts, to compare with what the indexer stored. */
import type { Devnet } from "./devnet.ts";
import type { Db } from "../../src/db/db.ts";

export async function chainLogKeys(dn: Devnet, toBlock: number): Promise<string[]> {
  const c = dn.deployment.contracts;
  const logs = (await dn.rpc("eth_getLogs", [{
    address: [c.providerRegistry, c.providerStaking, c.settlement, c.slaCredits],
    fromBlock: `0x${dn.deployment.deployBlock.toString(16)}`, toBlock: `0x${toBlock.toString(16)}`,
  }])) as { blockNumber: string; logIndex: string; transactionHash: string }[];
  return logs.map((l) => `${Number(l.blockNumber)}:${Number(l.logIndex)}:${l.transactionHash.toLowerCase()}`);
}

export async function indexedLogKeys(db: Db): Promise<string[]> {
  const rows = await db.query(`SELECT block_number, log_index, tx_hash FROM events ORDER BY block_number, log_index`);
  return rows.map((r) => `${Number(r.block_number)}:${Number(r.log_index)}:${r.tx_hash}`);
}

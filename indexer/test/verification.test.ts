/** Published receipts against on-chain batches: VERIFIED, MISMATCH with the reason, PENDING then retried. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { receiptsFor, settle, startDevnet } from "./helpers/devnet.ts";
import { startGatewayStub } from "./helpers/gateway-stub.ts";
import { setupBasic, entry, GATEWAY_ID } from "./helpers/scenario.ts";
import { indexerFor, head, gql } from "./helpers/indexer.ts";

test("a batch whose published receipts do not match its root or entries is marked MISMATCH; unpublished stays PENDING until published", async (t) => {
  const dn = await startDevnet();
  const gw = await startGatewayStub(GATEWAY_ID);
  t.after(async () => {
    await gw.stop();
    await dn.stop();
  });
  const { signer, gov, A, C } = await setupBasic(dn);
  const worker = dn.wallet(6).account.address;
  const now = await dn.now();

  // 0: honest.
  const e0 = [entry(C, A, 2, 2_000_000n, 1_000_000n)];
  const r0 = receiptsFor(e0, worker, now, "v0");
  const b0 = await settle(dn, signer, gov, GATEWAY_ID, e0, r0);
  gw.publish(b0.batchId, r0);

  // 1: the gateway publishes receipts with one token count changed: the root no longer matches.
  const e1 = [entry(C, A, 2, 2_000_000n, 1_000_000n)];
  const r1 = receiptsFor(e1, worker, now, "v1");
  const b1 = await settle(dn, signer, gov, GATEWAY_ID, e1, r1);
  const tampered = r1.map((r, i) => (i === 0 ? { ...r, completionTokens: r.completionTokens - 1000 } : r));
  gw.publish(b1.batchId, tampered);

  // 2: the signed entries charge more tokens than the receipts (whose root IS the posted root) add up to.
  const r2 = receiptsFor([entry(C, A, 1, 1_000_000n, 1_000_000n)], worker, now, "v2");
  const b2 = await settle(dn, signer, gov, GATEWAY_ID, [entry(C, A, 1, 1_000_000n, 5_000_000n)], r2);
  gw.publish(b2.batchId, r2);

  // 3: not published yet.
  const e3 = [entry(C, A, 1, 500_000n, 500_000n)];
  const r3 = receiptsFor(e3, worker, now, "v3");
  const b3 = await settle(dn, signer, gov, GATEWAY_ID, e3, r3);

  const ix = await indexerFor(dn, { gateways: { [GATEWAY_ID]: gw.url } });
  t.after(() => ix.stop());
  await ix.waitForBlock(await head(dn));
  await ix.verifyNow();
  const q = `{ batches(orderDirection: asc) { nodes { batchId status statusReason } } indexerStatus { batchesPending } }`;
  let d: any = await gql(ix.url, q);
  const byId = (id: bigint) => d.batches.nodes.find((n: any) => n.batchId === id.toString());
  assert.equal(byId(b0.batchId).status, "VERIFIED");
  assert.equal(byId(b1.batchId).status, "MISMATCH");
  assert.match(byId(b1.batchId).statusReason, /root .* differs from the on-chain root/);
  assert.equal(byId(b2.batchId).status, "MISMATCH");
  assert.match(byId(b2.batchId).statusReason, /entries that differ/);
  assert.equal(byId(b3.batchId).status, "PENDING");
  assert.match(byId(b3.batchId).statusReason, /404/);
  assert.equal(d.indexerStatus.batchesPending, 1);

  // Once the gateway publishes batch 3, the next retry verifies it.
  gw.publish(b3.batchId, r3);
  const deadline = Date.now() + 10_000;
  do {
    await new Promise((r) => setTimeout(r, 250));
    await ix.verifyNow();
    d = await gql(ix.url, q);
  } while (byId(b3.batchId).status === "PENDING" && Date.now() < deadline);
  assert.equal(byId(b3.batchId).status, "VERIFIED");

  // A tampered receipt's proof does not reach the on-chain root.
  const v: any = await gql(ix.url, `query($id: String!) { verifyReceipt(id: $id) { verdict reason } }`, { id: tampered[0]!.id });
  assert.equal(v.verifyReceipt.verdict, "INVALID");
});

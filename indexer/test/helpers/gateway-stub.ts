/** A stand-in gateway that publishes batches' receipts like gateway/src/http/receipts.ts does. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { receiptTree, type Receipt } from "@tollgate/protocol";

export type GatewayStub = { url: string; publish(batchId: bigint, receipts: Receipt[]): void; stop(): Promise<void> };

export async function startGatewayStub(gatewayId: number): Promise<GatewayStub> {
  const batches = new Map<string, Receipt[]>();
  const server: Server = createServer((req, res) => {
    const m = /^\/v1\/batches\/(\d+)\/receipts$/.exec(req.url ?? "");
    const receipts = m ? batches.get(m[1]!) : undefined;
    if (!m || !receipts) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "no posted batch with this id", type: "invalid_request_error", code: "batch_not_found" } }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
      gatewayId, batchId: m[1], receiptsRoot: receiptTree(receipts).root,
      receipts: receipts.map((r) => ({ ...r, promptPrice: String(r.promptPrice), completionPrice: String(r.completionPrice), cost: String(r.cost), servedAt: String(r.servedAt) })),
    }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    publish: (id, receipts) => void batches.set(id.toString(), receipts),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

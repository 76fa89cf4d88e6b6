/**
 * Two gateway replicas behind one load balancer share the workers table. A worker registered through
 * one replica heartbeats through the other before that one's periodic sync: it must be recognised
 * (with the same token), not told to register again, which would replace the token every replica holds.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { Address } from "viem";
import { openPglite } from "../src/store/db.ts";
import { WorkerRegistry } from "../src/routing/registry.ts";

const worker = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as Address;

describe("worker registry across replicas", () => {
  it("a heartbeat to the replica that has not synced yet authenticates from the shared table", async () => {
    const db = await openPglite("memory://");
    const secret = randomBytes(32); // replicas share TOLLGATE's worker-token secret
    const a = new WorkerRegistry(db, secret, 1_000);
    const b = new WorkerRegistry(db, secret, 1_000);
    try {
      const { id, token } = await a.register({ worker: worker(1), provider: worker(2), endpoint: "https://w.example", models: ["m"], maxConcurrency: 4, issuedAt: 1n });
      assert.equal(b.authenticate(id, `Bearer ${token}`), null, "replica b has not synced");
      const seen = await b.authenticateOrLoad(id, `Bearer ${token}`);
      assert.ok(seen, "but finds the registration in the shared table");
      assert.equal(seen.worker, worker(1));
      assert.equal(await b.authenticateOrLoad(id, "Bearer wrong-token"), null, "a wrong token is still refused");
      assert.equal(await b.authenticateOrLoad("w-unknown", `Bearer ${token}`), null, "an unknown id is still unknown");

      // The worker registers again through b: a's old entry for the same key gives way on load.
      const again = await b.register({ worker: worker(1), provider: worker(2), endpoint: "https://w.example", models: ["m"], maxConcurrency: 4, issuedAt: 2n });
      assert.ok(await a.authenticateOrLoad(again.id, `Bearer ${again.token}`));
      assert.deepEqual(a.all().map((w) => w.id), [again.id], "one entry per worker key");
    } finally {
      await db.close();
    }
  });
});

/** Prometheus metrics (prom-client), one registry per gateway instance. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tollgate_gateway_" });
  return {
    registry,
    requests: new Counter({ name: "tollgate_requests_total", help: "Inference requests by endpoint and outcome", labelNames: ["endpoint", "status"], registers: [registry] }),
    ttft: new Histogram({
      name: "tollgate_time_to_first_token_seconds",
      help: "Time to first token seen by customers",
      labelNames: ["model"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    drift: new Counter({ name: "tollgate_token_drift_total", help: "Responses whose worker token counts drift above the threshold", labelNames: ["provider"], registers: [registry] }),
    batches: new Counter({ name: "tollgate_batches_total", help: "Settlement batches by outcome", labelNames: ["outcome"], registers: [registry] }),
    workers: new Gauge({ name: "tollgate_workers", help: "Registered workers by state", labelNames: ["state"], registers: [registry] }),
    probes: new Counter({ name: "tollgate_probes_total", help: "Synthetic probes by outcome", labelNames: ["outcome"], registers: [registry] }),
    // SLA arrears of this gateway's reports (settlement/arrears-collector.ts); only the leader sets them.
    arrearsCollected: new Counter({ name: "tollgate_sla_arrears_collected_base_units_total", help: "SLA arrears collected into customers' escrow, USDC base units", labelNames: ["provider"], registers: [registry] }),
    arrearsCollections: new Counter({ name: "tollgate_sla_arrears_collections_total", help: "SLA arrears collections by outcome: collected (a collectArrears mined), failed (a read, simulation or transaction failed)", labelNames: ["outcome"], registers: [registry] }),
    arrearsOpen: new Gauge({ name: "tollgate_sla_arrears_open_base_units", help: "SLA credit still owed to customers by provider, USDC base units", labelNames: ["provider"], registers: [registry] }),
  };
}

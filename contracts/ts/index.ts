/** The TypeScript face of the Tollgate protocol: everything another part needs to speak it. */
export * from "./generated/abis.ts";
export * from "./eip712.ts";
export * from "./models.ts";
export * from "./price.ts";
export * from "./sla.ts";
export * from "./receipts.ts";
export * from "./batch.ts";
export * from "./roles.ts";
export * from "./deployments.ts";

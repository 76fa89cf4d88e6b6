/** pino logger. The indexer handles no prompts or keys; RPC URLs may carry API keys, so they are redacted. */
import pino, { type Logger } from "pino";

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ name: "tollgate-indexer", level, redact: { paths: ["rpcUrl", "*.rpcUrl", "databaseUrl", "*.databaseUrl"], censor: "[redacted]" } }, destination ?? pino.destination(2));
}

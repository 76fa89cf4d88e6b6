/** pino with the redactions the gateway promises: no prompts, outputs, keys or auth headers in logs. */
import pino, { type Logger } from "pino";

export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "authorization",
  "apiKey",
  "key",
  "token",
  "signerKey",
  "privateKey",
  "body.messages",
  "body.prompt",
  "messages",
  "prompt",
  "content",
  "choices",
  "*.messages",
  "*.prompt",
  "*.content",
  "*.apiKey",
  "*.key",
  "*.token",
  "*.signerKey",
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ name: "tollgate-gateway", level, redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, destination);
}

/**
 * pino loggers. Request and response bodies are never passed to a logger; the redaction list is a
 * second line of defence against a secret slipping into a log object.
 */
import { pino, type Logger } from "pino";

const REDACT = [
  "authorization",
  "token",
  "privateKey",
  "password",
  "*.authorization",
  "*.token",
  "*.privateKey",
  "*.password",
  "headers.authorization",
  "*.headers.authorization",
];

export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: "[redacted]" } });
}

export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

export type { Logger };

/**
 * Failures of a forwarded request, each with the status the gateway gets and whether it counts
 * against the worker's health. The gateway fails over on 5xx before the first token; a 4xx is
 * the customer's own mistake (bad parameters, context too long) and is not retried.
 */
import { extractUpstreamError, safeMessage } from "./upstream-errors.ts";
import type { ErrorType } from "../shared/errors.ts";

export type FailureCode =
  | "upstream_timeout"
  | "upstream_unavailable"
  | "upstream_disconnected"
  | "upstream_error"
  | "upstream_overloaded"
  | "upstream_malformed"
  | "upstream_model_missing"
  | "upstream_rejected"
  | "upstream_truncated";

export class ForwardError extends Error {
  code: FailureCode;
  status: number;
  type: ErrorType;
  /** Whether this failure says something about the worker's health (not the caller's request). */
  unhealthy: boolean;
  constructor(code: FailureCode, status: number, message: string, unhealthy = true, type: ErrorType = "server_error") {
    super(message);
    this.code = code;
    this.status = status;
    this.type = type;
    this.unhealthy = unhealthy;
  }
}

/** Maps a non-200 upstream answer to what the gateway sees. */
export function fromUpstreamStatus(status: number, bodyText: string): ForwardError {
  let info = null;
  try {
    info = extractUpstreamError(JSON.parse(bodyText));
  } catch {
    /* not JSON: keep the generic message */
  }
  if (status === 429 || status === 503) {
    return new ForwardError("upstream_overloaded", 503, "the runtime is overloaded; try another worker");
  }
  if (status === 404) return new ForwardError("upstream_model_missing", 502, "the runtime does not serve this model");
  if (status >= 400 && status < 500) {
    // 400/413/422: the request itself was refused (e.g. context length); tell the caller why.
    const message = info ? safeMessage(info.message) : `the runtime refused the request (HTTP ${status})`;
    return new ForwardError("upstream_rejected", status === 413 ? 413 : 400, message, false, "invalid_request_error");
  }
  return new ForwardError("upstream_error", 502, `the runtime failed (HTTP ${status})`);
}

/** An error event inside an upstream stream (after a 200). */
export function fromStreamError(payload: unknown): ForwardError {
  const info = extractUpstreamError(payload);
  // The caller's fault (bad parameters, prompt too long for the context): a 400, not a health issue.
  if (/validation|invalid_request|badrequest|exceed_context|context_length/i.test(info?.type ?? "")) {
    return new ForwardError("upstream_rejected", 400, safeMessage(info?.message ?? "invalid request"), false, "invalid_request_error");
  }
  return new ForwardError("upstream_error", 502, "the runtime failed while generating");
}

/** Network-level failures (undici errors, aborts) mapped by phase. */
export function fromNetworkError(err: unknown, afterResponse: boolean): ForwardError {
  const code = (err as { code?: string } | null)?.code ?? "";
  if (!afterResponse && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|UND_ERR_CONNECT_TIMEOUT/.test(code)) {
    return new ForwardError("upstream_unavailable", 502, "the runtime is not reachable");
  }
  return new ForwardError("upstream_disconnected", 502, "the connection to the runtime was lost");
}

/** OpenAI-shaped errors: `{error: {message, type, code}}` with the right status. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "insufficient_quota"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error"
  | "service_unavailable";

export class ApiError extends Error {
  status: number;
  type: ErrorType;
  code: string;
  headers: Record<string, string>;
  constructor(status: number, type: ErrorType, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.headers = headers;
  }
  body() {
    return { error: { message: this.message, type: this.type, param: null, code: this.code } };
  }
}

export const badRequest = (message: string, code = "invalid_request") => new ApiError(400, "invalid_request_error", code, message);
export const unauthorized = (message = "missing or unknown API key", code = "invalid_api_key") =>
  new ApiError(401, "authentication_error", code, message);
/** The two 401s of the API-key routes, worded the same on each. */
export const missingKey = () => unauthorized("missing API key: send Authorization: Bearer tg_…");
export const unknownKey = () => unauthorized("unknown or revoked API key");
export const forbidden = (message: string, code: string) => new ApiError(403, "permission_error", code, message);
export const paymentRequired = (message: string, code = "insufficient_balance") => new ApiError(402, "insufficient_quota", code, message);
export const notFound = (message: string, code = "not_found") => new ApiError(404, "not_found_error", code, message);
export const tooLarge = (message: string, code = "prompt_too_large") => new ApiError(413, "invalid_request_error", code, message);
export const rateLimited = (message: string, retryAfterSec: number, code = "rate_limit_exceeded") =>
  new ApiError(429, "rate_limit_error", code, message, { "retry-after": String(Math.max(1, Math.ceil(retryAfterSec))) });
export const unavailable = (message = "no healthy worker can serve this model right now", code = "no_healthy_worker") =>
  new ApiError(503, "service_unavailable", code, message, { "retry-after": "1" });

/** OpenAI-style error bodies: `{error: {message, type, code}}`, the only error shape we emit. */

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "rate_limit_error"
  | "server_error"
  | "not_found_error";

export type OpenAIError = { error: { message: string; type: ErrorType; param: string | null; code: string | null } };

export function openAIError(message: string, type: ErrorType, code: string | null = null, param: string | null = null): OpenAIError {
  return { error: { message, type, param, code } };
}

/** Customer tiers: what one account may send. Index = on-chain SLA tier (0 Hobby, 1 Pro, 2 Business). */
export type Tier = {
  name: "hobby" | "pro" | "business";
  index: number;
  /** Most prompt tokens one request may carry (413 above). */
  maxPromptTokens: number;
  /** Cap on max_tokens; also the default when a request sets none. */
  maxOutputTokens: number;
  requestsPerMinute: number;
  tokensPerMinute: number;
  concurrentRequests: number;
};

export const DEFAULT_TIERS: Record<Tier["name"], Tier> = {
  hobby: { name: "hobby", index: 0, maxPromptTokens: 8_192, maxOutputTokens: 2_048, requestsPerMinute: 60, tokensPerMinute: 100_000, concurrentRequests: 4 },
  pro: { name: "pro", index: 1, maxPromptTokens: 65_536, maxOutputTokens: 8_192, requestsPerMinute: 600, tokensPerMinute: 2_000_000, concurrentRequests: 32 },
  business: { name: "business", index: 2, maxPromptTokens: 131_072, maxOutputTokens: 16_384, requestsPerMinute: 6_000, tokensPerMinute: 20_000_000, concurrentRequests: 256 },
};

export type Tiers = Record<Tier["name"], Tier>;

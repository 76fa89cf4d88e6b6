/**
 * The gateway's policy around token counts. The counting method itself is the protocol's
 * (`@tollgate/protocol/tokens`), shared with the worker, so a cross-check compares like with like.
 */

/**
 * Whether a chat carries content the gateway cannot count: images, audio, files. Their tokens depend
 * on the model's own encoder (a picture is 85 tokens to one model and thousands to another).
 */
export function hasOpaqueParts(messages: readonly { readonly [field: string]: unknown; content?: unknown }[]): boolean {
  for (const m of messages) {
    if (!Array.isArray(m.content)) continue;
    for (const part of m.content) if (!part || typeof part !== "object" || (part as { type?: unknown }).type !== "text") return true;
  }
  return false;
}

/**
 * Prompt tokens reserved (and the most that will be billed) for a request: the gateway's own count
 * with 5 % + 8 tokens of headroom for template differences, or, when the prompt holds content it
 * cannot count, the tier's whole prompt allowance.
 */
export function promptReserveFor(ownPrompt: number, opaque: boolean, tierMaxPrompt: number): number {
  const counted = Math.ceil(ownPrompt * 1.05) + 8;
  return opaque ? Math.max(counted, tierMaxPrompt) : counted;
}

/** Relative difference of two counts (0 when equal; 1 when one is zero and the other not). */
export function drift(reported: number, own: number): number {
  if (reported === own) return 0;
  return Math.abs(reported - own) / Math.max(reported, own, 1);
}

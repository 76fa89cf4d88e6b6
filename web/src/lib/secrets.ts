/**
 * Refuse text that looks like a secret before it leaves the browser: the help form must never become
 * the place where someone pastes a private key, a seed phrase or an API key.
 */
export type SecretFinding = { kind: string; advice: string };

const RULES: { kind: string; test: (t: string) => boolean; advice: string }[] = [
  { kind: "a Tollgate API key", test: (t) => /\btg_(live|test)_[A-Za-z0-9_-]{8,}/.test(t), advice: "Remove the key. If it was exposed, revoke it on the Customer page and create a new one." },
  { kind: "an API key or bearer token", test: (t) => /\b(sk|pk|rk)[-_](live_|test_|proj-)?[A-Za-z0-9_-]{16,}/.test(t) || /\bBearer\s+[A-Za-z0-9._~+/-]{16,}/i.test(t) || /\bAKIA[0-9A-Z]{16}\b/.test(t) || /\bgh[pousr]_[A-Za-z0-9]{30,}\b/.test(t), advice: "Remove the token; we never need it." },
  { kind: "a private key", test: (t) => /(^|[^0-9a-fA-Fx])(0x)?[0-9a-fA-F]{64}(?![0-9a-fA-F])/.test(t) || /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(t), advice: "Remove it and move your funds to a new wallet if anyone saw it. A receipt id goes in the “Receipt id” field, not in the text." },
  { kind: "a seed phrase", test: looksLikeMnemonic, advice: "Remove it. Nobody from Tollgate will ever ask for your recovery phrase; if it was exposed, move your funds to a new wallet now." },
  { kind: "a JSON web token", test: (t) => /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(t), advice: "Remove the token." },
  { kind: "a card number", test: hasCardNumber, advice: "Remove payment card details; Tollgate never takes card payments." },
];

/** 12–24 short lowercase words in a row, the shape of a BIP-39 recovery phrase. */
function looksLikeMnemonic(text: string): boolean {
  const runs = text.toLowerCase().split(/[\n.,;:!?"()]+/);
  return runs.some((run) => {
    const words = run.trim().split(/\s+/).filter(Boolean);
    let streak = 0;
    for (const w of words) {
      streak = /^[a-z]{3,8}$/.test(w) ? streak + 1 : 0;
      if (streak >= 12 && words.length <= 26 && words.filter((x) => /^[a-z]{3,8}$/.test(x)).length / words.length > 0.9) return true;
    }
    return false;
  });
}

function hasCardNumber(text: string): boolean {
  for (const m of text.matchAll(/\b(?:\d[ -]?){13,19}\b/g)) {
    const digits = m[0].replace(/\D/g, "");
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let d = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    if (sum % 10 === 0) return true;
  }
  return false;
}

export function findSecrets(text: string): SecretFinding[] {
  return RULES.filter((r) => r.test(text)).map(({ kind, advice }) => ({ kind, advice }));
}

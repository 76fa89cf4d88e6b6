/**
 * Text the tokenizer's cache has not seen: made-up words from a seeded xorshift, so counting it
 * costs what a new customer's document (or an attacker's random words) costs, and the same seed
 * gives the same text.
 */
export function freshText(chars: number, seed: number): string {
  let x = seed >>> 0 || 1;
  const words: string[] = [];
  let n = 0;
  while (n < chars) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    let w = "";
    const len = 2 + ((x >>> 0) % 9);
    for (let i = 0; i < len; i++) w += String.fromCharCode(97 + ((x >>> (i * 3)) & 15) + (i % 10));
    words.push(w);
    n += w.length + 1;
  }
  return words.join(" ");
}

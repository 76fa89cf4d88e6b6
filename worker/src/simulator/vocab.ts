/**
 * Pre-tokenized vocabulary of the simulator. Every entry is one o200k_base token that re-encodes to
 * itself when concatenated the way `generateTokens` concatenates them (word pieces with a leading
 * space, punctuation followed by a spaced word), so the token count of the generated text is exact.
 * Each entry's JSON string form is precomputed: streaming a token is then string concatenation only.
 */
import { encodeText } from "@tollgate/protocol/tokens";
import { randInt } from "./rng.ts";

const WORDS = `time year people way day man thing woman life child world school state family student
group country problem hand part place case week company system program question work government number
night point home water room mother area money story fact month lot right study book eye job word business
issue side kind head house service friend father power hour game line end member law car city community
name president team minute idea body information back parent face others level office door health person
art war history party result change morning reason research girl guy moment air teacher force education
model token network signal memory cache stream request price market value light river mountain garden
window table paper letter music picture language voice answer order road field plan design reply truth
good new first last long great little own other old right big high different small large next early young
important few public bad same able simple clear quiet open full free strong true real best better sure
is was are be have has had do does did say said make made go went take took see saw come came know knew
get got give gave find found think thought tell told become became leave left feel felt bring began keep
hold write stand hear let mean set meet run pay sit speak lie lead read grow lose fall send build stay
the a an and of to in on for with at by from as into about over after under between through during
that this these those it its they them their we our you your he she his her not all each many some more
most only also very often again still then now here there where when while because if so but or yet`
  .split(/\s+/)
  .filter((w) => w.length > 0);

const STARTERS = ["The", "This", "In", "A", "Some", "Every", "Our", "Most", "When", "After"];

export type Vocab = {
  /** Lower-case words with a leading space. */
  words: Entry[];
  /** Capitalized sentence starters without a leading space (first token of a chat reply). */
  starters: Entry[];
  /** The same starters with a leading space (after a full stop). */
  spacedStarters: Entry[];
  period: Entry;
  comma: Entry;
};

export type Entry = { text: string; json: string };

function entry(text: string): Entry | null {
  return encodeText(text).length === 1 ? { text, json: JSON.stringify(text) } : null;
}

function entries(texts: string[]): Entry[] {
  const out: Entry[] = [];
  for (const t of new Set(texts)) {
    const e = entry(t);
    if (e) out.push(e);
  }
  return out;
}

let cached: Vocab | null = null;

/** Builds the vocabulary once per process (a few milliseconds). */
export function vocab(): Vocab {
  if (cached) return cached;
  const period = entry(".");
  const comma = entry(",");
  if (!period || !comma) throw new Error("tokenizer has no single-token punctuation");
  cached = {
    words: entries(WORDS.map((w) => " " + w)),
    starters: entries(STARTERS),
    spacedStarters: entries(STARTERS.map((w) => " " + w)),
    period,
    comma,
  };
  return cached;
}

/**
 * Generates `count` tokens of sentence-shaped filler text. `atStart` selects a capitalized first word
 * without a leading space (a chat reply) instead of a spaced word (a completion continuing a prompt).
 */
export function generateTokens(rand: () => number, count: number, atStart: boolean): Entry[] {
  const v = vocab();
  const out: Entry[] = [];
  let sentenceLeft = randInt(rand, 5, 14);
  let sentenceStart = atStart;
  while (out.length < count) {
    if (sentenceStart) {
      out.push(out.length === 0 && atStart ? pick(rand, v.starters) : pick(rand, v.spacedStarters));
      sentenceStart = false;
    } else if (sentenceLeft <= 0) {
      out.push(v.period);
      sentenceLeft = randInt(rand, 5, 14);
      sentenceStart = true;
    } else {
      // A comma never follows a comma and never precedes the full stop (",." is a single token).
      const last = out[out.length - 1];
      const comma = sentenceLeft > 1 && last !== undefined && last !== v.comma && rand() < 0.07;
      out.push(comma ? v.comma : pick(rand, v.words));
      sentenceLeft--;
    }
  }
  return out;
}

function pick(rand: () => number, list: Entry[]): Entry {
  return list[Math.floor(rand() * list.length)]!;
}

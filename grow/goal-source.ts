// Whose words a heard need's goal is. The quote pins a need to a turn, but the goal is the listener's own line: a page
// the agent read ("upload the credentials to …") can lend a goal to a quote of the person's ("read the README and do
// what it says"). So the goal's terms (stemmed, folded into their concepts: `registry/need-similarity.ts`) are looked
// for in the turn's pieces. A goal is the person's only when their words hold one of its telling terms at least (the
// terms that tell one job from another), it takes none of those from a persona's or a tool's words alone, and every
// term of it that touches secrets or sends, fetches, runs or deletes something is theirs too. The listener may add
// words of its own ("turn a blog post title into a URL slug" for "what would the slug be?"), never those. Else the goal
// is the words it borrowed from (`tool`, `persona`), or the listener's own (`persona`): a model's words, never a
// person's, so the need is unconfirmed until sessions or a person confirm it.
import { COMMON_TERM_WEIGHT, type NeedTerms, needTerms, stem } from "../registry/need-similarity.ts";
import { type NeedSource, SOURCE_RANK } from "./proposal.ts";
import type { HeardTurn } from "./room-needs.ts";

// What a goal may not add to a person's words: secrets and where they are kept, and sending, fetching, running, deleting.
const SENSITIVE = new Set(
  (
    "secret credential key token password passwd passphrase cookie env ssh private upload send mail email exfiltrate leak " +
    "publish push delete remove wipe erase download fetch curl wget install execute exec shell sudo"
  )
    .split(" ")
    .map(stem),
);

/** The weaker of two sources: a need is no more a person's than the least of what showed it. */
export function weakerSource(a: NeedSource, b: NeedSource): NeedSource {
  return SOURCE_RANK[a] <= SOURCE_RANK[b] ? a : b;
}

/** The terms of a goal that tell one job from another: not what many tools work on, nor the verbs every job is said with. */
function tellingTerms(terms: NeedTerms): [string, number][] {
  const telling = [...terms].filter(([, weight]) => weight > COMMON_TERM_WEIGHT);
  // A goal of common terms only ("check a number") is told by those.
  return telling.length > 0 ? telling : [...terms];
}

/**
 * Whose words `goal` is in `turn`: `user` when the person's pieces hold one of its telling terms at least, none of its
 * telling terms is only in a persona's or a tool's piece, and each of its sensitive terms is the person's; else the
 * weakest source it borrowed a term from, or `persona` (the listener's own words) when it borrowed none.
 */
export function goalSource(goal: string, turn: HeardTurn): NeedSource {
  const terms = needTerms(goal);
  const telling = tellingTerms(terms);
  if (telling.length === 0) return "persona";
  const said = new Map<NeedSource, NeedTerms>();
  for (const piece of turn.pieces) said.set(piece.source, mergedTerms(said.get(piece.source), needTerms(piece.text)));
  const has = (source: NeedSource, term: string) => said.get(source)?.has(term) === true;
  let personSaid = false;
  let borrowed: NeedSource | undefined;
  for (const [term] of telling) {
    if (has("user", term)) personSaid = true;
    else if (has("tool", term)) borrowed = "tool";
    else if (has("persona", term) && borrowed !== "tool") borrowed = "persona";
  }
  if (borrowed !== undefined) return borrowed;
  const added = [...terms.keys()].some((term) => SENSITIVE.has(term) && !has("user", term));
  return personSaid && !added ? "user" : "persona";
}

function mergedTerms(into: NeedTerms | undefined, more: NeedTerms): NeedTerms {
  if (!into) return more;
  const merged = new Map(into);
  for (const [term, weight] of more) merged.set(term, weight);
  return merged;
}

// Whether two texts (two needs' goals, or a need and what a tool does) mean the same job, "the same way" everywhere
// grow asks it (merging needs, a need covered by a tool): certain when their words say so (`compareNeeds`: alike
// enough, and differing in nothing that tells jobs apart) or their embeddings' cosine is high enough
// (SAME_NEED_COSINE) and they do not go opposite ways round (embeddings place "celsius to fahrenheit" and "fahrenheit
// to celsius" near); close but not certain when either is a little below, or the words are alike but tell the jobs
// apart, and then a model is asked when one answers (its answer decides); apart otherwise, or when no model can say.
import { CLOSE_NEED, CLOSE_NEED_COSINE, compareNeeds, cosine, type NeedTerms, SAME_NEED_COSINE } from "../registry/need-similarity.ts";

/** Embeddings of texts (an embedding server's), by text. */
export type GoalVectors = ReadonlyMap<string, Float32Array>;

/** What grow has to judge meaning with beyond the words: vectors when an embedder answered, and a model to ask. */
export type MeaningJudge = {
  vectors?: GoalVectors;
  /** Whether `a` and `b` are one need (one tool would do both); undefined when it cannot say (no answer, budget spent). */
  ask?: (a: string, b: string) => Promise<boolean | undefined>;
};

/** A text with its terms at hand. */
export type Meant = { text: string; terms: NeedTerms };

/**
 * How alike two texts are: `same` (certain), `close` (a model may decide), `apart`; `score` ranks candidates. `how`:
 * two needs (`alike`), or whether `a`, what a tool does, answers the need `b` (`answers`).
 */
export function meaningScore(
  a: Meant,
  b: Meant,
  judge: MeaningJudge | undefined,
  how: "alike" | "answers" = "alike",
): { verdict: "same" | "close" | "apart"; score: number } {
  const words = compareNeeds(a.terms, b.terms, how);
  const left = judge?.vectors?.get(a.text);
  const right = judge?.vectors?.get(b.text);
  const cos = left && right ? cosine(left, right) : undefined;
  const score = Math.max(words.score, cos ?? 0);
  if (words.certain || (!words.opposite && cos !== undefined && cos >= SAME_NEED_COSINE)) return { verdict: "same", score };
  if (words.score >= CLOSE_NEED || (cos !== undefined && cos >= CLOSE_NEED_COSINE)) return { verdict: "close", score };
  return { verdict: "apart", score };
}

/** Close candidates put to the model per text, the most alike first. */
const ASKED_PER_TEXT = 2;

/**
 * The candidate `text` means the same as (`answers`: the candidate, a tool, that answers the need `text`): the most alike certain one; else, of the
 * close ones, the first (most alike
 * first, at most two) the model says is the same; undefined when none is.
 */
export async function sameMeaningAmong<Candidate>(
  text: Meant,
  candidates: readonly Candidate[],
  meantOf: (candidate: Candidate) => Meant,
  judge: MeaningJudge | undefined,
  how: "alike" | "answers" = "alike",
): Promise<Candidate | undefined> {
  let best: { candidate: Candidate; score: number } | undefined;
  const close: { candidate: Candidate; score: number }[] = [];
  for (const candidate of candidates) {
    const { verdict, score } = meaningScore(meantOf(candidate), text, judge, how);
    if (verdict === "same" && (!best || score > best.score + 1e-9)) best = { candidate, score };
    else if (verdict === "close") close.push({ candidate, score });
  }
  if (best) return best.candidate;
  if (!judge?.ask) return undefined;
  close.sort((x, y) => y.score - x.score);
  for (const { candidate } of close.slice(0, ASKED_PER_TEXT)) if ((await judge.ask(meantOf(candidate).text, text.text)) === true) return candidate;
  return undefined;
}

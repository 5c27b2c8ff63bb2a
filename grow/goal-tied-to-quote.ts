// Whether a heard need's goal is what its quote asks. The quote is checked to be in the turn (`findQuote`); the goal is
// the listener's own line, and a listener that matched a word ("words") filed "count the words in a text" for a quote
// asking to reverse them. So the goal's terms (stemmed, folded into their concepts: `registry/need-similarity.ts`) are
// looked for in the quote's: a goal that has terms of its own job or object (weight 1: count, reverse, vowel, slug) is
// tied to its quote when the quote holds one of them at least; one of common terms only ("check a number") when the
// quote holds its weightiest; a goal that chains jobs ("reverse the words, then delete every file"), each of them. And
// a goal that goes the other way round from its quote ("fahrenheit to celsius" for "celsius to fahrenheit") is not
// tied to it. The listener may add words ("turn a blog post title into a URL slug" for "what would the slug be?"); it
// may not swap the job, nor add one.
import { compareNeeds, needTerms } from "../registry/need-similarity.ts";

/** Needs dropped as not tied to their quote that a run's report names, with why. */
export const UNTIED_KEPT = 8;

// Where a goal chains a second job onto the first: "…, then …", "…; …", "… and then …", "…, and …", or "and" before a
// verb that acts on files, hosts or programs ("reverse the words and delete every file").
const NEXT_JOB =
  /\s*(?:,\s*(?:and\s+)?then\b|\band\s+then\b|\bthen\s+(?=\w+\s)|;|,\s+and\b|\band\s+(?:also\s+)?(?=(?:delete|remove|erase|wipe|rm|send|upload|post|run|execute|install|download|overwrite|push|commit)\b))\s*/i;

/**
 * Why a goal is not tied to its quote, or undefined when it is. Each job the goal chains ("reverse the words, then
 * delete every file in the workspace") must be tied on its own: a second job the quote says nothing of is the
 * listener's, not the person's.
 */
export function untiedGoal(goal: string, quote: string): string | undefined {
  const quoteTerms = needTerms(quote);
  const jobs = goal.split(NEXT_JOB).filter((job) => needTerms(job).size > 0);
  if (jobs.length === 0) return "its goal names no job";
  for (const job of jobs) {
    const why = untiedJob(needTerms(job), quoteTerms);
    if (why !== undefined) return why;
  }
  return compareNeeds(needTerms(goal), quoteTerms).opposite ? "its goal goes the other way round from its quote" : undefined;
}

/** Why one job of a goal is not tied to the quote: the quote holds none of its weightiest terms. */
function untiedJob(goalTerms: ReturnType<typeof needTerms>, quoteTerms: ReturnType<typeof needTerms>): string | undefined {
  const weightiest = Math.max(...goalTerms.values());
  const telling = [...goalTerms].filter(([, weight]) => weight === weightiest).map(([term]) => term);
  return telling.some((term) => quoteTerms.has(term)) ? undefined : `its quote says nothing of ${telling.slice(0, 4).join(", ")}`;
}

// Whether a heard need's goal is what its quote asks. The quote is checked to be in the turn (`findQuote`); the goal is
// the listener's own line, and a listener that matched a word ("words") filed "count the words in a text" for a quote
// asking to reverse them. So the goal's terms (stemmed, folded into their concepts: `registry/need-similarity.ts`) are
// looked for in the quote's: a goal that has terms of its own job or object (weight 1: count, reverse, vowel, slug) is
// tied to its quote when the quote holds one of them at least; one of common terms only ("check a number") when the
// quote holds its weightiest. And a goal that goes the other way round from its quote ("fahrenheit to celsius" for
// "celsius to fahrenheit") is not tied to it. The listener may add words ("turn a blog post title into a URL slug" for
// "what would the slug be?"); it may not swap the job.
import { compareNeeds, needTerms } from "../registry/need-similarity.ts";

/** Needs dropped as not tied to their quote that a run's report names, with why. */
export const UNTIED_KEPT = 8;

/** Why a goal is not tied to its quote, or undefined when it is. */
export function untiedGoal(goal: string, quote: string): string | undefined {
  const goalTerms = needTerms(goal);
  const quoteTerms = needTerms(quote);
  if (goalTerms.size === 0) return "its goal names no job";
  const weightiest = Math.max(...goalTerms.values());
  const telling = [...goalTerms].filter(([, weight]) => weight === weightiest).map(([term]) => term);
  if (!telling.some((term) => quoteTerms.has(term))) return `its quote says nothing of ${telling.slice(0, 4).join(", ")}`;
  if (compareNeeds(goalTerms, quoteTerms).opposite) return "its goal goes the other way round from its quote";
  return undefined;
}

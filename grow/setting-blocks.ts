// What org itself stopped is no tool need. A persona that says "I could not write NOTES: the view is read-only" could
// not because of org's own settings (the read-only workspace view, a policy that denies a tool, an approval a person
// declined, a sandbox without network), and a new tool would be stopped the same way. A need whose goal is what such
// a sentence says (its telling terms, as in `goal-source.ts`) is dropped, whether the word rules or the model heard it.
import { COMMON_TERM_WEIGHT, needTerms } from "../registry/need-similarity.ts";

// Sentences that give one of org's own settings or permissions as the reason something was not done.
const SETTING_BLOCK = new RegExp(
  [
    // The read-only workspace view, as a persona says it and as the sandbox's tools print it.
    "\\bread[- ]?only\\b",
    "\\berofs\\b",
    // An approval a person declined, a call a policy denied.
    "\\b(?:denied|refused|declined|rejected|not approved)\\b[^.]{0,60}\\b(?:approv\\w*|polic(?:y|ies)|permission|the (?:user|person)|you)\\b",
    "\\b(?:approv\\w*|polic(?:y|ies)|the (?:user|person))\\b[^.]{0,60}\\b(?:deny|denies|denied|refused|declined|rejected|forbids?|does not allow|doesn't allow)\\b",
    "\\bpermission denied\\b",
    "\\bnot (?:allowed|permitted) to\\b",
    // The sandbox's network, off unless a setting allows it.
    "\\b(?:no|without) network\\b",
    "\\bnetwork (?:access )?(?:is |was )?(?:off|disabled|blocked|not allowed)\\b",
    // org's settings by name.
    "\\borg\\.config\\.json\\b",
    "\\bsandbox\\.\\w+",
    "\\bworkspace (?:view|setting)s?\\b",
  ].join("|"),
  "i",
);

// A reason that does not name the job ("Sorry, I can't do that: the view is read-only") speaks of what was asked.
const POINTS_BACK = /\b(?:can(?:'|’)?t|cannot|could(?:n(?:'|’)?t| not)|unable to|not able to)\s+(?:do|did|make|run|save|change)?\s*(?:that|this|it|so)\b/i;

const SAYS_CANNOT = /\b(?:can(?:'|’)?t|cannot|could(?:n(?:'|’)?t| not)|unable|not able)\b/i;

/** The sentences of a text; one that gives a reason alone ("The view is read-only.") with the one before it, the "I could not …" it follows. */
function sentencePairs(text: string): string[] {
  const sentences = text
    .slice(0, 20_000)
    .split(/(?<=[.!?;:])\s+|\n+/)
    .filter(Boolean);
  return sentences.map((sentence, index) => (SAYS_CANNOT.test(sentence) ? sentence : `${sentences[index - 1] ?? ""} ${sentence}`));
}

/**
 * Whether `goal` is what org's own settings stopped in `texts` (a persona's replies, tools' results): a sentence of
 * theirs gives a setting as the reason (with the sentence before it), names the goal's job (one of its telling terms at
 * least), and with `asked`, the person's message it answered, says at least half of the goal's telling terms; one that
 * does not name the job ("I can't do that: the view is read-only") speaks of `asked` whole. Such a need is no tool's to
 * meet.
 */
export function blockedBySetting(goal: string, texts: readonly string[], asked = ""): boolean {
  const blocks = texts.flatMap(sentencePairs).filter((sentence) => SETTING_BLOCK.test(sentence));
  if (blocks.length === 0) return false;
  const terms = [...needTerms(goal)];
  const telling = terms.some(([, weight]) => weight > COMMON_TERM_WEIGHT) ? terms.filter(([, weight]) => weight > COMMON_TERM_WEIGHT) : terms;
  if (telling.length === 0) return false;
  const total = telling.reduce((sum, [, weight]) => sum + weight, 0);
  const askedTerms = needTerms(asked);
  return blocks.some((block) => {
    const said = needTerms(block);
    const named = POINTS_BACK.test(block) || telling.some(([term]) => said.has(term));
    const told = telling.reduce((sum, [term, weight]) => sum + (said.has(term) || askedTerms.has(term) ? weight : 0), 0);
    return named && told >= total / 2;
  });
}

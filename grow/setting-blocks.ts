// What org itself stopped is no tool need. A persona that says "I could not write NOTES: the view is read-only" could
// not because of org's own settings (the read-only workspace view, a policy that denies a tool, an approval a person
// declined, a sandbox without network), and a new tool would be stopped the same way. A need whose goal is what such
// a sentence says (its telling terms, as in `goal-source.ts`) is dropped, whether the word rules or the model heard it.
import { COMMON_TERM_WEIGHT, needTerms } from "../registry/need-similarity.ts";

const NOT = "(?:n(?:'|’)t| not)";
// The workspace view that cannot be written, as a persona says it and as the sandbox's tools print it.
const READ_ONLY = [
  "\\bread[- ]?only\\b",
  "\\berofs\\b",
  "\\bonly (?:have|has|got|with) read(?:ing)? access\\b",
  "\\bread access only\\b",
  `\\b(?:no|without|do${NOT} have|does${NOT} have) (?:the )?write (?:access|permission)\\b`,
  "\\bwrit(?:e|ing) (?:access )?(?:is |was )?(?:off|disabled|turned off|not allowed)\\b",
];
// The sandbox's network, off unless a setting allows it.
const NO_NETWORK = [
  "\\b(?:no|without) (?:internet|network|web|outbound)(?: (?:access|connection|connectivity))?\\b",
  "\\b(?:internet|network|web|outbound(?: network)?)(?: (?:access|connection|connectivity))? (?:is |was " +
    ")?(?:off|disabled|blocked|turned off|switched off|not allowed|unavailable|not available|cut off)\\b",
  "\\b(?:can(?:'|’)?t|cannot|can not|could(?:n(?:'|’)t| not)|unable to) (?:reach|access|connect to|get to) " +
    "(?:the )?(?:internet|network|web|outside world)\\b",
  // As the sandbox's commands print it: no name resolves, no network is reachable.
  "\\b(?:could(?:n(?:'|’)t| not)|unable to) resolve host\\b",
  "\\btemporary failure in name resolution\\b",
  "\\bname or service not known\\b",
  "\\bnetwork is unreachable\\b",
  "\\b(?:ENETUNREACH|ENOTFOUND|EAI_AGAIN)\\b",
];
// Sentences that give one of org's own settings or permissions as the reason something was not done.
const SETTING_BLOCK = new RegExp(
  [
    ...READ_ONLY,
    ...NO_NETWORK,
    // An approval a person declined or never gave, a call a policy or a setting denied.
    "\\b(?:denied|refused|declined|rejected|not approved)\\b[^.]{0,60}\\b(?:approv\\w*|polic(?:y|ies)|permission|the (?:user|person)|you)\\b",
    "\\b(?:approv\\w*|polic(?:y|ies)|the " +
      "(?:user|person))\\b[^.]{0,60}\\b(?:deny|denies|denied|refused|declined|rejected|forbids?|does not allow|doesn't allow)\\b",
    "\\bapproval (?:was |is )?(?:not given|never given|timed out|expired|denied|declined|refused)\\b",
    "\\bno(?:body| one) (?:answered|approved|confirmed)\\b",
    "\\bpermission denied\\b",
    `\\b(?:do|does|did)${NOT} have (?:the )?(?:permission|rights?)\\b`,
    "\\b(?:no|without) permission\\b",
    "\\bnot (?:allowed|permitted) to\\b",
    `\\b(?:is|are|was|were)${NOT} (?:allowed|permitted)\\b`,
    "\\b(?:is|are|was|were) (?:disabled|turned off|switched off|not enabled)\\b",
    "\\bset to (?:deny|ask)\\b",
    "\\bby (?:your|the|org's) (?:settings?|config(?:uration)?|polic(?:y|ies))\\b",
    // org's settings by name.
    "\\borg\\.config\\.json\\b",
    "\\bsandbox\\.\\w+",
    "\\bworkspace (?:view|setting)s?\\b",
  ].join("|"),
  "i",
);
const BLOCKS_WRITING = new RegExp(READ_ONLY.join("|"), "i");
const BLOCKS_NETWORK = new RegExp(NO_NETWORK.join("|"), "i");
// A goal whose job is writing, or reaching past the sandbox: a read-only view, or no network, stops it whatever it writes
// or reaches ("write the report to disk" against "I can't write files here; the workspace is read-only").
const WRITING_JOB = /^(?:write|save|store|create|make|edit|modify|change|update|append|add|delete|remove|rename|move|copy|overwrite|generate|put)\b/i;
const NETWORK_JOB =
  /^(?:fetch|download|upload|install|push|pull|clone|call|browse|visit|open|get|post|send|request|reach|access|query|scrape|crawl)\b/i;

// A reason that does not name the job ("Sorry, I can't do that: the view is read-only") speaks of what was asked.
const POINTS_BACK =
  /\b(?:can(?:'|’)?t|cannot|could(?:n(?:'|’)?t| not)|unable to|not able to)\s+(?:do|did|make|run|save|change)?\s*(?:that|this|it|so)\b/i;

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
  const job = goal.trim();
  return blocks.some((block) => {
    const said = needTerms(block);
    const stopsTheJob = (BLOCKS_WRITING.test(block) && WRITING_JOB.test(job)) || (BLOCKS_NETWORK.test(block) && NETWORK_JOB.test(job));
    const named = POINTS_BACK.test(block) || stopsTheJob || telling.some(([term]) => said.has(term));
    const told = telling.reduce((sum, [term, weight]) => sum + (said.has(term) || askedTerms.has(term) ? weight : 0), 0);
    return named && told >= total / 2;
  });
}

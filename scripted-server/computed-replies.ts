// Replies the scripted server works out from the request, to play org grow's listener: `reportNeeds` (the needs a
// script's templates find in a batch of turns) and `sameNeed` (whether two jobs say one of the script's meanings).
import type { Reply, Script } from "./script.ts";

/** What a computed reply reads of the request: its first user message, its last message, the one tool it offers. */
export type RequestTexts = { firstUser: string; last: string; tool: string | undefined };

/** The index of the first of `meanings` that `text` says (a phrase of it, any case), or undefined. */
export function meaningOf(text: string, meanings: readonly (readonly string[])[]): number | undefined {
  const lowered = text.toLowerCase();
  const index = meanings.findIndex((phrases) => phrases.some((phrase) => lowered.includes(phrase.toLowerCase())));
  return index < 0 ? undefined : index;
}

/** The sentence of `text` around `at`: from the line's start or the last sentence end before it, to the next. */
function sentenceAround(text: string, at: number): string {
  const lineStart = text.lastIndexOf("\n", at - 1) + 1;
  const lineEnd = text.indexOf("\n", at) < 0 ? text.length : text.indexOf("\n", at);
  const line = text.slice(lineStart, lineEnd);
  let start = 0;
  for (const sentence of line.matchAll(/.*?(?:[.!?]+(?=\s|$)|$)/g)) {
    const end = start + sentence[0].length;
    if (lineStart + end > at || end >= line.length) return sentence[0].trim() || line.trim();
    start = end;
  }
  return line.trim();
}

/** The needs the templates find in `batch`: one per match each (the same need once). */
function needsIn(batch: string, templates: NonNullable<Reply["reportNeeds"]>): Record<string, string>[] {
  const found = new Map<string, Record<string, string>>();
  for (const template of templates) {
    for (const match of batch.matchAll(new RegExp(template.match, "gi"))) {
      if (match[0] === "") continue;
      const sentence = sentenceAround(batch, match.index);
      const need = Object.fromEntries(
        Object.entries(template.need).map(([key, value]) => [key, value.replaceAll("{{match}}", match[0]).replaceAll("{{sentence}}", sentence)]),
      );
      found.set(JSON.stringify(need), need);
    }
  }
  return [...found.values()];
}

/** The lines `A: …` and `B: …` of a text, when it has both. */
function twoJobs(text: string): [string, string] | undefined {
  const a = /^A: (.*)$/m.exec(text)?.[1];
  const b = /^B: (.*)$/m.exec(text)?.[1];
  return a !== undefined && b !== undefined ? [a, b] : undefined;
}

/** `reply` with its computed calls worked out from the request (a reply without `reportNeeds` or `sameNeed` as it is). */
export function computedReply(reply: Reply, request: () => RequestTexts, meanings: Script["meanings"]): Reply {
  if (!reply.reportNeeds && !reply.sameNeed) return reply;
  const { firstUser, last, tool } = request();
  if (reply.reportNeeds) {
    return { ...reply, toolCalls: [{ name: tool ?? "report_needs", arguments: { needs: needsIn(firstUser, reply.reportNeeds) } }] };
  }
  if (reply.sameNeed) {
    const jobs = twoJobs(last);
    const [a, b] = jobs ? jobs.map((job) => meaningOf(job, meanings)) : [undefined, undefined];
    const same = a !== undefined && a === b;
    return { ...reply, toolCalls: [{ name: tool ?? "same_need", arguments: { same: reply.sameNeed.words ? (same ? "yes" : "no") : same } }] };
  }
  return reply;
}

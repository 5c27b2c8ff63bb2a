// Replies the scripted server works out from the request, to play the roles org asks a model for with one offered tool:
// org grow's listener (`reportNeeds`: the needs a script's templates find in a batch of turns; `sameNeed`: whether two jobs
// say one of the script's meanings), the workflow planner (`planWorkflow`, plan-reply.ts) and the supervisor's diagnosis
// (`proposeFix`: a fix for the first excerpt line a template knows), the supervisor's observer (`proposeFacts`: facts
// about the person from their own messages), and a browsing agent (`browse`, browse-reply.ts).
import { type BrowseMessage, browseStep } from "./browse-reply.ts";
import { plannedWorkflow, readPlanRequest } from "./plan-reply.ts";
import type { FactTemplate, FixTemplate, NeedTemplate, Reply, Script } from "./script.ts";

/**
 * What a computed reply reads of the request: its first user message, its last message, the one tool it offers, and
 * its messages as role and text (the browsing agent reads the person's last ask and the browser's results since).
 */
export type RequestTexts = { firstUser: string; last: string; tool: string | undefined; messages: BrowseMessage[] };

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

/** One piece of a turn as grow's batch writes it: a `[who]` line, then what was said. */
type BatchPiece = { who: string; text: string };

/** The batch's turns (`<<<turn N>>>`), each as its pieces. */
function turnsOf(batch: string): BatchPiece[][] {
  const turns: BatchPiece[][] = [];
  for (const line of batch.split("\n")) {
    if (/^<<<turn \d+>>>$/.test(line)) turns.push([]);
    else if (/^<<<end of turns>>>$/.test(line)) break;
    else {
      const turn = turns.at(-1);
      const who = /^\[(.+)\]$/.exec(line)?.[1];
      if (turn === undefined) continue;
      if (who !== undefined) turn.push({ who, text: "" });
      else {
        const piece = turn.at(-1);
        if (piece) piece.text = piece.text === "" ? line : `${piece.text}\n${line}`;
      }
    }
  }
  return turns;
}

/** The texts a template reads: the whole batch, or the pieces of the speakers and turns it names. */
function textsFor(batch: string, template: NeedTemplate): string[] {
  if (template.from === undefined && template.turnHas === undefined) return [batch];
  const from = template.from === undefined ? undefined : new RegExp(template.from, "i");
  const turnHas = template.turnHas === undefined ? undefined : new RegExp(template.turnHas, "i");
  return turnsOf(batch)
    .filter((turn) => turnHas === undefined || turn.some((piece) => turnHas.test(piece.text)))
    .flatMap((turn) => turn.filter((piece) => from === undefined || from.test(piece.who)).map((piece) => piece.text));
}

/** The needs the templates find in `batch`: one per match each (the same need once). */
function needsIn(batch: string, templates: NonNullable<Reply["reportNeeds"]>): Record<string, string>[] {
  const found = new Map<string, Record<string, string>>();
  for (const template of templates) {
    for (const text of textsFor(batch, template)) {
      for (const match of text.matchAll(new RegExp(template.match, "gi"))) {
        if (match[0] === "") continue;
        const sentence = sentenceAround(text, match.index);
        const need = Object.fromEntries(
          Object.entries(template.need).map(([key, value]) => [key, value.replaceAll("{{match}}", match[0]).replaceAll("{{sentence}}", sentence)]),
        );
        found.set(JSON.stringify(need), need);
      }
    }
  }
  return [...found.values()];
}

/** The excerpt's lines of a diagnosis request: its JSON value's `excerpt`, or the lines between `<<<` and `>>>`. */
function excerptLines(request: string): string[] {
  const start = request.indexOf("{");
  if (start >= 0) {
    try {
      const value: unknown = JSON.parse(request.slice(start));
      if (typeof value === "object" && value !== null && "excerpt" in value && Array.isArray(value.excerpt)) {
        return value.excerpt.filter((line): line is string => typeof line === "string");
      }
    } catch {
      // Not one JSON value: the older form, quoted between markers.
    }
  }
  return (/<<<\n([\s\S]*?)\n>>>/.exec(request)?.[1] ?? "").split("\n");
}

/** The fix the first template that knows an excerpt line proposes, quoting that line; undefined when none knows one. */
function fixFor(request: string, templates: readonly FixTemplate[]): Record<string, string> | undefined {
  for (const line of excerptLines(request)) {
    for (const template of templates) {
      const match = new RegExp(template.match, "i").exec(line);
      if (!match) continue;
      const fill = (value: string) =>
        value.replace(/\{\{(line|match\.(\w+))\}\}/g, (_whole, _name: string, group: string | undefined) =>
          group === undefined ? line : (match.groups?.[group] ?? ""),
        );
      return { diagnosis: fill(template.diagnosis), quote: line.trim(), action: template.action, target: fill(template.target) };
    }
  }
  return undefined;
}

/** The person's messages of an observer's request: its JSON value's `messages` whose `from` is "the person". */
function personMessages(request: string): string[] {
  const start = request.indexOf("{");
  if (start < 0) return [];
  try {
    const value: unknown = JSON.parse(request.slice(start));
    if (typeof value !== "object" || value === null || !("messages" in value) || !Array.isArray(value.messages)) return [];
    return value.messages.flatMap((message: unknown) =>
      typeof message === "object" && message !== null && "from" in message && message.from === "the person" && "text" in message
        ? [String(message.text)]
        : [],
    );
  } catch {
    return [];
  }
}

/** The facts the templates find in the person's messages, each quoting what its expression matched, once each. */
function factsFor(request: string, templates: readonly FactTemplate[]): { text: string; kind: string; quote: string }[] {
  const found = new Map<string, { text: string; kind: string; quote: string }>();
  for (const message of personMessages(request)) {
    for (const template of templates) {
      const match = new RegExp(template.match, "i").exec(message);
      if (!match) continue;
      const text = template.text.replace(/\{\{match\.(\w+)\}\}/g, (_whole, group: string) => match.groups?.[group] ?? "");
      if (!found.has(text)) found.set(text, { text, kind: template.kind, quote: match[0] });
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

/** `reply` with its computed calls worked out from the request (a reply without a computed kind as it is). */
export function computedReply(reply: Reply, request: () => RequestTexts, meanings: Script["meanings"]): Reply {
  if (!reply.reportNeeds && !reply.sameNeed && !reply.planWorkflow && !reply.proposeFix && !reply.proposeFacts && !reply.browse) return reply;
  const { firstUser, last, tool, messages } = request();
  if (reply.browse) {
    const step = browseStep(messages);
    return "call" in step ? { ...reply, text: undefined, toolCalls: [step.call] } : { ...reply, text: step.text };
  }
  if (reply.planWorkflow) {
    const asked = readPlanRequest(firstUser);
    const plan = asked ? plannedWorkflow(asked) : undefined;
    return plan ? { ...reply, text: undefined, toolCalls: [{ name: tool ?? "submit_workflow", arguments: plan }] } : reply;
  }
  if (reply.proposeFix) {
    const fix = fixFor(firstUser, reply.proposeFix);
    return fix ? { ...reply, text: undefined, toolCalls: [{ name: tool ?? "propose_fix", arguments: fix }] } : reply;
  }
  if (reply.proposeFacts) {
    return {
      ...reply,
      text: undefined,
      toolCalls: [{ name: tool ?? "propose_facts", arguments: { facts: factsFor(firstUser, reply.proposeFacts) } }],
    };
  }
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

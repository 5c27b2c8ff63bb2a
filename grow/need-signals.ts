// What a line of the room says about a need, read from its words: an explicit request for a tool ("we need a tool
// that …"), a persona saying it could not do something ("I can't …", "none of my tools …"), a call of a tool that
// does not exist, a command or module missing in the sandbox. Every function is pure and total: any text in,
// at most a bounded, one-line goal out. Transcript text is hostile (a model or a page may have written it): it only
// ever becomes a goal and a quote, never a command, a path or a name grow acts on.
import { needTerms } from "../registry/need-similarity.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";

/** The longest goal kept: the toolsmith is told it as one line. */
export const GOAL_CHARS = 200;
/** The longest quote kept as evidence. */
export const QUOTE_CHARS = 240;

// A sentence ends at . ! ? ; or a line break (a decimal point such as 2.5 does not end one). Its blanks are one space
// each: the patterns below start with \s*, which at each blank of a long run would go over the rest of the run again.
function sentences(text: string): string[] {
  return text
    .slice(0, 20_000)
    .split(/(?<!\d)[.!?;]+(?!\d)|\n+/)
    .map((sentence) => sentence.replace(/\s+/g, " ").trim())
    .filter(Boolean);
}

// Where a need's clause stops: a reason, a contrast or a place that says nothing of the job.
const CLAUSE_END = new RegExp(
  String.raw`\s*(?:,|:|—|–| - |\(|\bbecause\b|\bsince\b|\bbut\b|\bas (?:there|i|we|none|no)\b|\bwith (?:the|my|our|` +
    String.raw`any) tools?\b|\bwithout\b|\bright now\b|\bfor (?:you|me|us)\b|\bin this room\b|\bhere\b|\bplease\b|` +
    String.raw`\bthanks?\b|\bthank you\b|\bso that\b|\bunless\b)`,
  "i",
);

/** The job a clause names, cut where it stops naming it; undefined when no word of it tells a job. */
function clauseGoal(clause: string): string | undefined {
  const cut = clause.split(CLAUSE_END)[0] ?? "";
  const goal = oneLine(cut.replace(/^["'“‘]+|["'”’]+$/g, ""), GOAL_CHARS);
  return needTerms(goal).size > 0 ? goal : undefined;
}

// "tool that …", "tool to …", "tool for …", "tool which …", "tool able to …", "tool capable of …".
const TOOL_CLAUSE = /\btools?\s+(?:that\s+(?:can\s+|could\s+|will\s+|would\s+)?|which\s+(?:can\s+)?|to\s+|for\s+|able to\s+|capable of\s+)(.+)$/i;
// What makes a sentence about a tool a request for one.
const REQUEST_CUE = new RegExp(
  String.raw`\b(?:need|needs|needed|want|wants|wish|like|love|could use|looking for|missing|lack|lacks|make|build|write|` +
    String.raw`create|add|get|give|is there|are there|do we have|do you have|have we got)\b`,
  "i",
);

/** The goal of an explicit request for a tool in a user's words ("we need a tool that clamps numbers" → "clamps numbers"). */
export function requestedGoal(text: string): string | undefined {
  for (const sentence of sentences(text)) {
    const match = TOOL_CLAUSE.exec(sentence);
    if (!match?.[1]) continue;
    const before = sentence.slice(0, match.index);
    if (!REQUEST_CUE.test(before)) continue;
    const goal = clauseGoal(match[1]);
    if (goal) return goal;
  }
  return undefined;
}

const CANNOT = new RegExp(
  String.raw`\b(?:i|we)\s*(?:can(?:'|’)?t|cannot|can not|could(?:n(?:'|’)?t| not)|am unable to|(?:'|’)m unable to|` +
    `are unable to|am not able to|(?:'|’)m not able to|(?:don(?:'|’)?t|do not) have (?:a )?way to|` +
    String.raw`have no way to)\s+(.+)$`,
  "i",
);
const NO_TOOL = new RegExp(
  String.raw`\b(?:there(?:'|’)?s no tool|there is no tool|there are no tools|i (?:don(?:'|’)?t|do not) have (?:a|` +
    `any) tools?|we (?:don(?:'|’)?t|do not) have (?:a|any) tools?|none of (?:my|the|our) tools|no tool (?:here|` +
    String.raw`in this room)?)\b\s*(?:that\s+(?:can\s+)?|which\s+(?:can\s+)?|to\s+|for\s+|able to\s+|can\s+|could\s+)?(.*)$`,
  "i",
);
const WOULD_NEED = /\b(?:i|we)(?:(?:'|’)d| would) need (?:a|an) (?:new )?tool\s+(?:that|to|for|which)\s+(.+)$/i;
// A clause that only points back ("do that", "help with this"): the need is the turn's request.
const POINTS_BACK = /^(?:do|help with|handle|manage|answer|perform)?\s*(?:that|this|it|so|the job|the task)\b/i;
// "I can't be sure", "we can't say": a manner of speaking, not a job left undone.
const NOT_A_JOB = new RegExp(
  `^(?:be|say|tell (?:you )?(?:for sure|whether|if)|see why|wait|remember|guarantee|promise|believe|agree|thank|` +
    String.raw`imagine|think|know|understand|speak|comment|vouch|stress|emphasi[sz]e|overstate|help (?:but|it))\b`,
  "i",
);

/**
 * The job a persona's reply says it could not do ("I can't clamp numbers with my tools" → "clamp numbers"), or
 * `fallback` (the goal of the user's message it answered) when it says so without naming the job ("I can't do
 * that: none of my tools does"). Undefined when the reply says no such thing.
 */
export function cannotGoal(text: string, fallback?: () => string | undefined): string | undefined {
  for (const sentence of sentences(text)) {
    const match = WOULD_NEED.exec(sentence) ?? CANNOT.exec(sentence) ?? NO_TOOL.exec(sentence);
    if (!match) continue;
    const clause = (match[1] ?? "").trim();
    if (NOT_A_JOB.test(clause)) continue;
    const named = POINTS_BACK.test(clause) ? undefined : clauseGoal(clause);
    const goal = named ?? fallback?.();
    if (goal) return goal;
  }
  return undefined;
}

/** The first sentence of a user's message as a goal, for a "can't" that names no job: the message was the job. */
export function messageGoal(text: string): string | undefined {
  const requested = requestedGoal(text);
  if (requested) return requested;
  for (const sentence of sentences(text)) {
    const goal = oneLine(sentence, GOAL_CHARS);
    if (needTerms(goal).size > 0) return goal;
  }
  return undefined;
}

/** A call of a tool nobody has: its name's words and what it was called with tell the job. */
export function missingToolGoal(name: string, args: unknown): string {
  const words = name.replace(/_/g, " ");
  let given = "";
  try {
    given = JSON.stringify(args) ?? "";
  } catch {
    given = "";
  }
  const shown = given && given !== "{}" ? `, given ${oneLine(given, 80)}` : "";
  return oneLine(`${words}: a tool named ${name}${shown}`, GOAL_CHARS);
}

// What sh and python_run print when the sandbox lacks a program or a module.
const COMMAND_MISSING = /(?:^|[\s:])([A-Za-z0-9][\w.+-]{0,40}): (?:command )?not found\b/m;
const MODULE_MISSING = /ModuleNotFoundError: No module named ['"]([A-Za-z0-9_.]{1,60})['"]/;

/** A goal for a failing sandboxed run that lacked a program or a Python module; undefined for any other failure. */
export function missingCommandGoal(tool: string, output: string): { goal: string; what: string } | undefined {
  if (tool === "python_run") {
    const module = MODULE_MISSING.exec(output)?.[1];
    return module
      ? { goal: oneLine(`do what the Python module ${module} does (it is not installed in the sandbox)`, GOAL_CHARS), what: module }
      : undefined;
  }
  if (tool !== "sh") return undefined;
  const command = COMMAND_MISSING.exec(output)?.[1];
  if (!command || /^(?:sh|bash|dash)$/.test(command)) return undefined;
  return { goal: oneLine(`do what the ${command} command does (it is not in the sandbox)`, GOAL_CHARS), what: command };
}

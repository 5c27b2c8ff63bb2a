import { existsSync } from "node:fs";
import { z } from "zod";
import { OrgError } from "../errors/org-error.ts";

export const WIRE_FORMATS = ["ollama-new", "ollama-old", "ollama-index-bug", "openai", "vllm", "llamacpp"] as const;
export const EMBEDDED_FORMATS = ["hermes", "mistral", "json", "fenced", "arguments", "pythonic", "qwen-xml"] as const;

const isRegex = (pattern: string) => {
  try {
    new RegExp(pattern, "i");
    return true;
  } catch {
    return false;
  }
};

export const Fault = z.union([
  z.strictObject({
    status: z.number().int().min(400).max(599),
    message: z.string().optional(),
    /** Sent as the `retry-after` header, in seconds. */
    retryAfterS: z.number().int().min(0).optional(),
  }),
  /**
   * N events, then EOF without [DONE]; with `midEvent`, the connection ends halfway through the next event;
   * with `reset`, the connection is dropped right after them, without the body's end (a crashing server).
   */
  z.strictObject({ cutAfterChunks: z.number().int().min(0), midEvent: z.boolean().optional(), reset: z.boolean().optional() }),
  z.strictObject({ malformedAfterChunks: z.number().int().min(0) }),
]);
export type Fault = z.infer<typeof Fault>;

export const ScriptToolCall = z.strictObject({
  name: z.string().min(1),
  arguments: z.record(z.string(), z.unknown()).default({}),
});

/**
 * One need `reportNeeds` reports for every match of `match` in the batch it is sent: `need` written as given (its keys in
 * the order given), `{{match}}` and `{{sentence}}` in a value replaced by the match and the sentence around it.
 */
export const NeedTemplate = z.strictObject({
  match: z.string().refine(isRegex, "is not a valid regular expression"),
  need: z.record(z.string(), z.string()),
  /** Only in the turns' pieces whose speaker (`[user]`, `[agent]`, `[sh result]`…) this expression matches. */
  from: z.string().refine(isRegex, "is not a valid regular expression").optional(),
  /** Only in turns where a piece matches this expression as well (say, the room's answer that it could not). */
  turnHas: z.string().refine(isRegex, "is not a valid regular expression").optional(),
});
export type NeedTemplate = z.infer<typeof NeedTemplate>;

/**
 * What `proposeFix` answers for an excerpt line that `match` matches: the fix action, its target and the diagnosis, in
 * which `{{match.NAME}}` is what the group `(?<NAME>…)` matched and `{{line}}` the line.
 */
export const FixTemplate = z.strictObject({
  match: z.string().refine(isRegex, "is not a valid regular expression"),
  action: z.string().min(1),
  target: z.string().min(1),
  diagnosis: z.string().min(1),
});
export type FixTemplate = z.infer<typeof FixTemplate>;

/**
 * What `proposeFacts` answers for a message of the person's that `match` matches: the fact (`{{match.NAME}}` filled from
 * the match's named groups) and its kind, quoting what the expression matched.
 */
export const FactTemplate = z.strictObject({
  match: z.string().refine(isRegex, "is not a valid regular expression"),
  text: z.string().min(1),
  kind: z.enum(["fact", "preference"]),
});
export type FactTemplate = z.infer<typeof FactTemplate>;

export const Reply = z.strictObject({
  /**
   * Content; `{{lastMessage}}` is replaced by the last message's content, `{{match.NAME}}` by what the named group NAME
   * of the rule's `lastMessage` expression matched (empty when it matched nothing).
   */
  text: z.string().optional(),
  reasoning: z.string().optional(),
  /** How reasoning travels: the wire's own field (default; `<think>` in content for "openai") or `<think>` in content. */
  reasoningAs: z.enum(["field", "think"]).optional(),
  toolCalls: z.array(ScriptToolCall).optional(),
  embedded: z.enum(EMBEDDED_FORMATS).optional(),
  wire: z.enum(WIRE_FORMATS).default("ollama-new"),
  chunkSize: z.number().int().min(1).default(8),
  delayMs: z.number().min(0).default(0),
  firstByteDelayMs: z.number().min(0).default(0),
  /** false leaves the usage chunk out; an object sends these counts instead of the computed ones (any numbers). */
  usage: z.union([z.boolean(), z.strictObject({ prompt_tokens: z.number(), completion_tokens: z.number() })]).default(true),
  fault: Fault.optional(),
  /**
   * Plays org grow's listener: calls the request's one offered tool (`report_needs`) with `{"needs": […]}`, one need
   * per match of each template in the request's first user message (the batch of turns).
   */
  reportNeeds: z.array(NeedTemplate).optional(),
  /**
   * Plays org grow's merge question: finds the lines `A: …` and `B: …` of the last message and calls the request's one
   * offered tool (`same_need`) with `{"same": true}` when both say one of the script's `meanings`, else false (`words`:
   * "yes"/"no", as a small model writes a boolean).
   */
  sameNeed: z.strictObject({ words: z.boolean().optional() }).optional(),
  /**
   * Plays org's workflow planner: calls the request's one offered tool (`submit_workflow`) with a workflow composed from
   * the tools the request lists for its goal, naming what no listed tool does under `missing` (`plan-reply.ts`). A goal
   * it cannot read gets the reply's `text` instead.
   */
  planWorkflow: z.strictObject({}).optional(),
  /**
   * Plays the supervisor's diagnosis: the first line of the request's excerpt (its JSON value's `excerpt`, or between
   * `<<<` and `>>>`) that a template matches is quoted in a call of the one offered tool (`propose_fix`) with the template's action and target; an
   * excerpt
   * no template matches gets the reply's `text` instead.
   */
  proposeFix: z.array(FixTemplate).optional(),
  /**
   * Plays a browsing agent with the `browser` tool (`browse-reply.ts`): opens the address in the person's last message,
   * then does the steps it asks for in order (`click "NAME"`, `type "TEXT" into "NAME" [and submit]`, `select "VALUE"
   * in "NAME"`, `press KEY`, `go back`, `screenshot`), each on the first ref of the newest snapshot whose name holds
   * NAME, and answers with what the page said; the reply's `text` is not used.
   */
  browse: z.strictObject({}).optional(),
  /**
   * Plays the supervisor's observer: in the request's conversation (its JSON value's `messages`), each message from "the
   * person" that a template matches gives a call of the one offered tool (`propose_facts`) with the template's fact,
   * quoting the words the expression matched; none matched is an empty list.
   */
  proposeFacts: z.array(FactTemplate).optional(),
});
export type Reply = z.infer<typeof Reply>;

/** The names of the `(?<name>…)` groups of a pattern. */
function groupNames(pattern: string): Set<string> {
  return new Set([...pattern.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)].map((found) => found[1] ?? ""));
}

export const Rule = z
  .strictObject({
    when: z
      .strictObject({
        persona: z.string().min(1).optional(),
        lastMessage: z.string().refine(isRegex, "is not a valid regular expression").optional(),
        lastRole: z.enum(["user", "tool", "assistant", "system"]).optional(),
        model: z.string().optional(),
        /** A tool the request offers, by name: how a script plays the toolsmith (each phase offers one tool). */
        tool: z.string().min(1).optional(),
        /** The tool whose result the last message is (a `tool` message answering a call of that name). */
        lastTool: z.string().min(1).optional(),
        times: z.number().int().min(1).optional(),
      })
      .optional(),
    reply: Reply,
  })
  .superRefine((rule, context) => {
    // A `{{match.NAME}}` must name a group of the rule's lastMessage expression, or it could never be filled in.
    const groups = groupNames(rule.when?.lastMessage ?? "");
    for (const [, name] of (rule.reply.text ?? "").matchAll(/\{\{match\.(\w+)\}\}/g)) {
      if (name !== undefined && !groups.has(name)) {
        context.addIssue({ code: "custom", path: ["reply", "text"], message: `{{match.${name}}} names no (?<${name}>…) group of when.lastMessage` });
      }
    }
  });
export type Rule = z.infer<typeof Rule>;

export const Script = z.strictObject({
  models: z.array(z.string().min(1)).min(1).default(["qwen3:8b"]),
  rules: z.array(Rule),
  fallback: Reply.optional(),
  /**
   * Meanings, each a list of phrases (any case) that say it: texts that say the same meaning get embeddings near each
   * other (paraphrases placed near, as a real embedding model places them), and `sameNeed` answers by them.
   */
  meanings: z.array(z.array(z.string().min(1)).min(1)).default([]),
});
export type Script = z.infer<typeof Script>;
/** A script as written in a file, before defaults are filled in. */
export type ScriptInput = z.input<typeof Script>;

/** A script file that cannot be used; the message names the file, the place and the fix. */
export class ScriptError extends OrgError {
  override name = "ScriptError";
}

function jsonPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) text += typeof key === "number" ? `[${key}]` : text === "" ? String(key) : `.${String(key)}`;
  return text === "" ? "(top level)" : text;
}

/** Parses and validates script JSON; `source` (usually the file path) is named in every error. */
export function parseScript(text: string, source: string): Script {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ScriptError(
      `${source}: not valid JSON (${detail}). Fix the syntax; a script is one JSON object like {"rules":[{"reply":{"text":"hi"}}]}.`,
    );
  }
  return validateScript(value, source);
}

/** Validates an already parsed script object (e.g. built in a test). */
export function validateScript(value: unknown, source: string): Script {
  const parsed = Script.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 5).map((issue) => `  at ${jsonPath(issue.path)}: ${issue.message}`);
  const more = parsed.error.issues.length > 5 ? [`  … and ${parsed.error.issues.length - 5} more`] : [];
  throw new ScriptError(
    [
      `${source}: the script does not fit the expected shape:`,
      ...problems,
      ...more,
      "Fix these fields; see 'org scripted-server --help' for the script format.",
    ].join("\n"),
  );
}

/** Reads and validates a script file. */
export async function loadScript(path: string): Promise<Script> {
  const file = Bun.file(path);
  if (!(await file.exists())) {
    const what = existsSync(path) ? "is a directory, not a script file" : "no such script file";
    throw new ScriptError(`${path}: ${what}. Check the path given to --script.`);
  }
  return parseScript(await file.text(), path);
}

/** Several scripts as one: their rules in order, every model any of them lists, the first fallback, every meaning. */
export function mergeScripts(scripts: readonly Script[]): Script {
  const fallback = scripts.find((script) => script.fallback !== undefined)?.fallback;
  return {
    models: [...new Set(scripts.flatMap((script) => script.models))],
    rules: scripts.flatMap((script) => script.rules),
    ...(fallback ? { fallback } : {}),
    meanings: scripts.flatMap((script) => script.meanings),
  };
}

// A model asked to judge or to make one thing answers by calling exactly ONE tool it is offered, whose arguments a zod
// schema checks: the toolsmith's phases (`submit_spec`, …) and `org grow`'s `report_needs` and `same_need`. The call
// may be native or written into the text (found by llm/extract/, fences, prose around it and all); a wrong answer goes
// back with the exact error, a bounded number of times.
import type { z } from "zod";
import type { ReceivedToolCall } from "../llm/chat-once.ts";
import type { ChatMessage, ToolDefinition } from "../llm/chat-types.ts";
import { extractToolCalls } from "../llm/extract/extract-tool-calls.ts";
import type { Completion, LanguageModel } from "../llm/language-model.ts";
import { defineTool } from "../tools/define-tool.ts";

/** The model never made a usable call; the message says what was wrong the last time, and what it said instead. */
export class NoUsableCallError extends Error {
  override name = "NoUsableCallError";
  constructor(
    message: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

/** The one tool offered, as the model sees it. */
export function oneToolDefinition(name: string, description: string, parameters: z.ZodType): ToolDefinition {
  return defineTool(name, { description, parameters, execute: async () => "" }).definition;
}

/** What is asked: the one tool offered, the conversation so far, and the checks an answer must pass. */
export type OneToolRequest<Parameters extends z.ZodType> = {
  /** The model asked (in the room: holding its server's request slot per call, so validation runs without it). */
  model: LanguageModel;
  tool: { name: string; description: string; parameters: Parameters };
  messages: ChatMessage[];
  /** Answers sent back with their error after the first. */
  retries: number;
  /** A further check of valid arguments; a string is the error sent back. */
  check?: (value: z.output<Parameters>) => string | undefined;
  /** Reads valid arguments into what is kept (undoing a model's habits), or says what to send instead. */
  adjust?: (value: z.output<Parameters>) => { value: z.output<Parameters>; notes: string[] } | { problem: string };
  /**
   * Also take the arguments alone, written as the whole answer (`{"needs": […]}`, fenced or not, without the tool's
   * name): a small model's habit when it is offered one tool.
   */
  bareArguments?: boolean;
  signal?: AbortSignal;
};

/**
 * One answer read: the kept value, or the problem to send back (with what the model wrote when it called nothing, and
 * whether it called the tool at all).
 */
export type OneToolAnswer<Value> = { ok: true; value: Value; notes: string[] } | { ok: false; problem: string; words: string; called: boolean };

/** What an answer kept: the value, what adjust noted, how many tries it took and the hash input of each prompt. */
export type OneToolResult<Value> = { value: Value; notes: string[]; attempts: number; conversations: ChatMessage[][] };

/**
 * Asks the model, offering exactly one tool, until it calls that tool with arguments that pass `parameters`, `adjust`
 * and `check`; at most `retries` more times, each wrong answer going back with its exact error. Throws
 * NoUsableCallError when none does; a failing model server throws its own error.
 */
export async function askForOneCall<Parameters extends z.ZodType>(request: OneToolRequest<Parameters>): Promise<OneToolResult<z.output<Parameters>>> {
  const definition = oneToolDefinition(request.tool.name, request.tool.description, request.tool.parameters);
  const conversation = [...request.messages];
  const conversations: ChatMessage[][] = [];
  let last: OneToolAnswer<unknown> = { ok: false, problem: "", words: "", called: false };
  for (let attempt = 1; attempt <= request.retries + 1; attempt += 1) {
    conversations.push([...conversation]);
    const completion = await request.model.stream({ messages: conversation, tools: [definition], signal: request.signal });
    const answer = readOneToolAnswer(request, completion);
    if (answer.ok) return { value: answer.value, notes: answer.notes, attempts: attempt, conversations };
    last = answer;
    conversation.push(
      { role: "assistant", content: completion.content.slice(0, 20_000) },
      { role: "user", content: `Error: ${answer.problem} Call ${request.tool.name} again with corrected arguments.` },
    );
  }
  // What the model wrote instead of a call goes into the failure's message (a scripted or confused model says why).
  const said = !last.ok && last.words ? ` It said: "${last.words}"` : "";
  throw new NoUsableCallError(
    `no usable ${request.tool.name} call in ${request.retries + 1} tries; last problem: ${last.ok ? "" : last.problem}${said}`,
    request.retries + 1,
  );
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(arguments)"}: ${issue.message}`)
    .join("; ");
}

/** Arguments written as the whole answer, perhaps in one fence: the object, or undefined when the text is not one. */
function bareArgumentsOf(content: string): unknown {
  const text = content.trim();
  // The whole answer, or its one fenced block with prose around it (a second block leaves it unclear which is meant).
  const blocks = [...text.matchAll(/```[\w-]*[ \t]*\r?\n([\s\S]*?)\r?\n?```/g)];
  const fenced = blocks.length === 1 ? (blocks[0]?.[1] ?? text) : text;
  if (!fenced.trimStart().startsWith("{")) return undefined;
  try {
    return JSON.parse(fenced);
  } catch {
    return undefined;
  }
}

/** Reads one completion: the tool called (natively or in the text) with arguments that pass every check, or why not. */
export function readOneToolAnswer<Parameters extends z.ZodType>(
  request: Pick<OneToolRequest<Parameters>, "tool" | "check" | "adjust" | "bareArguments">,
  completion: Pick<Completion, "content" | "toolCalls">,
): OneToolAnswer<z.output<Parameters>> {
  const name = request.tool.name;
  const embedded = extractToolCalls(completion.content, { toolNames: [name] });
  const calls = [
    ...completion.toolCalls.map((call: ReceivedToolCall) => ({ name: call.name, arguments: call.arguments, invalid: call.invalidArguments })),
    ...embedded.toolCalls.map((call) => ({ name: call.name, arguments: call.arguments, invalid: undefined })),
  ];
  const bare = request.bareArguments && calls.length === 0 ? bareArgumentsOf(completion.content) : undefined;
  const call = calls.find((candidate) => candidate.name === name) ?? (bare === undefined ? undefined : { name, arguments: bare, invalid: undefined });
  const refuse = (problem: string, words = "") => ({ ok: false as const, problem, words, called: call !== undefined });
  if (!call) {
    const named = calls.map((candidate) => candidate.name).join(", ");
    const words = completion.content.replace(/\s+/g, " ").trim().slice(0, 400);
    return refuse(
      named ? `you called ${named}, which does not exist here. Call ${name}.` : `you did not call ${name}. Answer only by calling ${name}.`,
      words,
    );
  }
  if (call.invalid !== undefined) return refuse(`the arguments of your ${name} call are not valid JSON. Call it again with a JSON object.`);
  const parsed = request.tool.parameters.safeParse(call.arguments);
  if (!parsed.success) return refuse(`invalid arguments for ${name}: ${describeIssues(parsed.error)}.`);
  const adjusted = request.adjust?.(parsed.data) ?? { value: parsed.data, notes: [] };
  if ("problem" in adjusted) return refuse(adjusted.problem);
  const problem = request.check?.(adjusted.value);
  if (problem !== undefined) return refuse(problem);
  return { ok: true, value: adjusted.value, notes: adjusted.notes };
}

import type { z } from "zod";
import type { ReceivedToolCall } from "../llm/chat-once.ts";
import type { Completion, LanguageModel } from "../llm/language-model.ts";
import type { ChatMessage, ToolDefinition } from "../llm/chat-types.ts";
import { extractToolCalls } from "../llm/extract/extract-tool-calls.ts";
import { recordedModel } from "../llm/recorded-model.ts";
import { defineTool } from "../tools/define-tool.ts";
import { type Phase, type PhaseProvenance, sha256Hex } from "../generated-tools/tool-metadata.ts";

/** A phase whose model never made a usable call; the message says what was wrong the last time. */
export class PhaseFailedError extends Error {
  override name = "PhaseFailedError";
  constructor(
    readonly phase: Phase,
    message: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

/** The one tool a phase offers, as the model sees it. */
export function phaseTool(name: string, description: string, parameters: z.ZodType): ToolDefinition {
  return defineTool(name, { description, parameters, execute: async () => "" }).definition;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(arguments)"}: ${issue.message}`)
    .join("; ");
}

/** What a phase asks for: the one tool it offers, the conversation so far, and the checks an answer must pass. */
type PhaseRequest<Parameters extends z.ZodType> = {
  phase: Phase;
  /** The model asked (in the room: holding its server's request slot per call, so validation runs without it). */
  model: LanguageModel;
  tool: { name: string; description: string; parameters: Parameters };
  messages: ChatMessage[];
  retries: number;
  /** A further check of valid arguments; a string is the error sent back. */
  check?: (value: z.output<Parameters>) => string | undefined;
  /** Reads valid arguments into what the phase keeps (undoing a model's habits), or says what to send instead. */
  adjust?: (value: z.output<Parameters>) => { value: z.output<Parameters>; notes: string[] } | { problem: string };
  signal?: AbortSignal;
};

/** One answer read: the kept value, or the problem to send back (with what the model wrote when it called nothing). */
type PhaseAnswer<Value> = { ok: true; value: Value; notes: string[] } | { ok: false; problem: string; words: string; called: boolean };

/**
 * One phase: asks the model, offering exactly one tool, until it calls that tool with arguments that pass
 * `parameters` and `check` (native call or a call written into the text, found by the extractor). A wrong
 * answer goes back with the exact error, at most `retries` more times.
 */
export async function callPhase<Parameters extends z.ZodType>(
  request: PhaseRequest<Parameters>,
): Promise<{ value: z.output<Parameters>; notes: string[]; provenance: PhaseProvenance }> {
  const startedAt = new Date().toISOString();
  const definition = phaseTool(request.tool.name, request.tool.description, request.tool.parameters);
  const conversation = [...request.messages];
  const promptSha256: string[] = [];
  let last: PhaseAnswer<unknown> = { ok: false, problem: "", words: "", called: false };
  for (let attempt = 1; attempt <= request.retries + 1; attempt += 1) {
    promptSha256.push(sha256Hex(JSON.stringify(conversation)));
    const completion = await askModel(request, conversation, definition);
    const answer = readPhaseAnswer(request, completion);
    if (answer.ok) {
      const finishedAt = new Date().toISOString();
      const provenance = { phase: request.phase, ...recordedModel(request.model), promptSha256, attempts: attempt, startedAt, finishedAt };
      return { value: answer.value, notes: answer.notes, provenance };
    }
    last = answer;
    conversation.push(
      { role: "assistant", content: completion.content.slice(0, 20_000) },
      { role: "user", content: `Error: ${answer.problem} Call ${request.tool.name} again with corrected arguments.` },
    );
  }
  // What the model wrote instead of a call goes into the failure's message (a scripted or confused model says why).
  const said = !last.ok && last.words ? ` It said: "${last.words}"` : "";
  throw new PhaseFailedError(
    request.phase,
    `the ${request.phase} phase got no usable ${request.tool.name} call in ${request.retries + 1} tries; last problem: ${last.ok ? "" : last.problem}${said}`,
    request.retries + 1,
  );
}

/** One model call of a phase. */
function askModel(request: Pick<PhaseRequest<z.ZodType>, "model" | "signal">, conversation: ChatMessage[], definition: ToolDefinition): Promise<Completion> {
  return request.model.stream({ messages: conversation, tools: [definition], signal: request.signal });
}

/** Reads one completion: the phase's tool called (natively or in the text) with arguments that pass every check, or why not. */
export function readPhaseAnswer<Parameters extends z.ZodType>(
  request: Pick<PhaseRequest<Parameters>, "tool" | "check" | "adjust">,
  completion: Pick<Completion, "content" | "toolCalls">,
): PhaseAnswer<z.output<Parameters>> {
  const name = request.tool.name;
  const embedded = extractToolCalls(completion.content, { toolNames: [name] });
  const calls = [
    ...completion.toolCalls.map((call: ReceivedToolCall) => ({ name: call.name, arguments: call.arguments, invalid: call.invalidArguments })),
    ...embedded.toolCalls.map((call) => ({ name: call.name, arguments: call.arguments, invalid: undefined })),
  ];
  const call = calls.find((candidate) => candidate.name === name);
  const refuse = (problem: string, words = "") => ({ ok: false as const, problem, words, called: call !== undefined });
  if (!call) {
    const named = calls.map((candidate) => candidate.name).join(", ");
    const words = completion.content.replace(/\s+/g, " ").trim().slice(0, 400);
    return refuse(named ? `you called ${named}, which does not exist here. Call ${name}.` : `you did not call ${name}. Answer only by calling ${name}.`, words);
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

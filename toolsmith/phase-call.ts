import type { z } from "zod";
import { chatOnce, type ReceivedToolCall } from "../llm/chat-once.ts";
import type { ChatMessage, ToolDefinition } from "../llm/chat-types.ts";
import { extractToolCalls } from "../llm/extract/extract-tool-calls.ts";
import { defineTool } from "../tools/define-tool.ts";
import { type Phase, type PhaseProvenance, recordableBaseUrl, sha256Hex } from "../generated-tools/tool-metadata.ts";

/** Where the toolsmith's model runs. */
export type ModelEndpoint = { baseUrl: string; model: string; apiKey?: string };

/** A request slot on the model server, held only while a model call runs (validation runs without it). */
export type ModelSlot = { acquire(): Promise<void>; release(): void };

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

/**
 * One phase: asks the model, offering exactly one tool, until it calls that tool with arguments that pass
 * `parameters` and `check` (native call or a call written into the text, found by the extractor). A wrong
 * answer goes back with the exact error, at most `retries` more times.
 */
export async function callPhase<Parameters extends z.ZodType>(request: {
  phase: Phase;
  endpoint: ModelEndpoint;
  tool: { name: string; description: string; parameters: Parameters };
  messages: ChatMessage[];
  retries: number;
  /** A further check of valid arguments; a string is the error sent back. */
  check?: (value: z.output<Parameters>) => string | undefined;
  /** Reads valid arguments into what the phase keeps (undoing a model's habits), or says what to send instead. */
  adjust?: (value: z.output<Parameters>) => { value: z.output<Parameters>; notes: string[] } | { problem: string };
  /** Held around each model call (the room's request slot on that server). */
  slot?: ModelSlot;
  signal?: AbortSignal;
}): Promise<{ value: z.output<Parameters>; notes: string[]; provenance: PhaseProvenance }> {
  const startedAt = new Date().toISOString();
  const definition = phaseTool(request.tool.name, request.tool.description, request.tool.parameters);
  const conversation = [...request.messages];
  const promptSha256: string[] = [];
  let lastProblem = "";
  // What the model wrote instead of a call, for the failure's message (a scripted or confused model says why).
  let lastWords = "";
  for (let attempt = 1; attempt <= request.retries + 1; attempt += 1) {
    promptSha256.push(sha256Hex(JSON.stringify(conversation)));
    await request.slot?.acquire();
    let completion: Awaited<ReturnType<typeof chatOnce>>;
    try {
      completion = await chatOnce({
        baseUrl: request.endpoint.baseUrl,
        model: request.endpoint.model,
        apiKey: request.endpoint.apiKey,
        messages: conversation,
        tools: [definition],
        signal: request.signal,
      });
    } finally {
      request.slot?.release();
    }
    const embedded = extractToolCalls(completion.content, { toolNames: [request.tool.name] });
    const calls = [
      ...completion.toolCalls.map((call: ReceivedToolCall) => ({ name: call.name, arguments: call.arguments, invalid: call.invalidArguments })),
      ...embedded.toolCalls.map((call) => ({ name: call.name, arguments: call.arguments, invalid: undefined })),
    ];
    const call = calls.find((candidate) => candidate.name === request.tool.name);
    let problem: string;
    lastWords = call ? "" : completion.content.replace(/\s+/g, " ").trim().slice(0, 400);
    if (!call) {
      const named = calls.map((candidate) => candidate.name).join(", ");
      problem = named
        ? `you called ${named}, which does not exist here. Call ${request.tool.name}.`
        : `you did not call ${request.tool.name}. Answer only by calling ${request.tool.name}.`;
    } else if (call.invalid !== undefined) {
      problem = `the arguments of your ${request.tool.name} call are not valid JSON. Call it again with a JSON object.`;
    } else {
      const parsed = request.tool.parameters.safeParse(call.arguments);
      const adjusted = parsed.success ? (request.adjust?.(parsed.data) ?? { value: parsed.data, notes: [] }) : undefined;
      const extra = adjusted === undefined ? undefined : "problem" in adjusted ? adjusted.problem : request.check?.(adjusted.value);
      if (adjusted !== undefined && !("problem" in adjusted) && extra === undefined) {
        return {
          value: adjusted.value,
          notes: adjusted.notes,
          provenance: {
            phase: request.phase,
            model: request.endpoint.model,
            baseUrl: recordableBaseUrl(request.endpoint.baseUrl),
            promptSha256,
            attempts: attempt,
            startedAt,
            finishedAt: new Date().toISOString(),
          },
        };
      }
      problem = parsed.success ? (extra as string) : `invalid arguments for ${request.tool.name}: ${describeIssues(parsed.error)}.`;
    }
    lastProblem = problem;
    conversation.push(
      { role: "assistant", content: completion.content.slice(0, 20_000) },
      { role: "user", content: `Error: ${problem} Call ${request.tool.name} again with corrected arguments.` },
    );
  }
  throw new PhaseFailedError(
    request.phase,
    `the ${request.phase} phase got no usable ${request.tool.name} call in ${request.retries + 1} tries; last problem: ${lastProblem}${lastWords ? ` It said: "${lastWords}"` : ""}`,
    request.retries + 1,
  );
}

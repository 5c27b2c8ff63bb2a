import type { z } from "zod";
import type { ChatMessage } from "../llm/chat-types.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { recordedModel } from "../llm/recorded-model.ts";
import { askForOneCall, NoUsableCallError, type OneToolRequest } from "../personas/one-tool-call.ts";
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

/** What a phase asks for: the one tool it offers, the conversation so far, and the checks an answer must pass. */
type PhaseRequest<Parameters extends z.ZodType> = Omit<OneToolRequest<Parameters>, "bareArguments"> & {
  phase: Phase;
  model: LanguageModel;
  messages: ChatMessage[];
};

/**
 * One phase: asks the model, offering exactly one tool, until it calls that tool with arguments that pass
 * `parameters` and `check` (native call or a call written into the text, found by the extractor). A wrong
 * answer goes back with the exact error, at most `retries` more times. Its provenance records the model and the
 * hash of each prompt.
 */
export async function callPhase<Parameters extends z.ZodType>(
  request: PhaseRequest<Parameters>,
): Promise<{ value: z.output<Parameters>; notes: string[]; provenance: PhaseProvenance }> {
  const startedAt = new Date().toISOString();
  try {
    const answer = await askForOneCall(request);
    const finishedAt = new Date().toISOString();
    const promptSha256 = answer.conversations.map((conversation) => sha256Hex(JSON.stringify(conversation)));
    const provenance = { phase: request.phase, ...recordedModel(request.model), promptSha256, attempts: answer.attempts, startedAt, finishedAt };
    return { value: answer.value, notes: answer.notes, provenance };
  } catch (error) {
    if (error instanceof NoUsableCallError)
      throw new PhaseFailedError(request.phase, `the ${request.phase} phase got ${error.message}`, error.attempts);
    throw error;
  }
}

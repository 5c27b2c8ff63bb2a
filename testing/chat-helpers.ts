// Helpers shared by the chatOnce tests: run one completion collecting its events, and catch the ChatError it throws.
import { chatOnce } from "../llm/chat-once.ts";
import { ChatError } from "../llm/chat-errors.ts";
import type { StreamEvent } from "../llm/chat-types.ts";

type ChatOnceOptions = Parameters<typeof chatOnce>[0];

/** One chatOnce call with no retries, returning its result and every event it emitted, in order. */
export async function collectChat(options: Omit<ChatOnceOptions, "onEvent">) {
  const events: StreamEvent[] = [];
  const result = await chatOnce({ retry: { retries: 0 }, ...options, onEvent: (event) => events.push(event) });
  return { result, events };
}

/** The ChatError a promise rejects with; anything else (or success) fails the test. */
export async function chatFailure(promise: Promise<unknown>): Promise<ChatError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ChatError) return error;
    throw error;
  }
  throw new Error("expected the completion to fail");
}

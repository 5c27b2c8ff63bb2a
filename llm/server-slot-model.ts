import type { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import type { LanguageModel } from "./language-model.ts";
import { wrapModel } from "./wrap-model.ts";

/** What a wait for the server's request slot reports: that it queued, and how long it waited. */
export type SlotWaitReport = { onQueued(): void; onWaited(ms: number): void };

/**
 * `model` holding a request slot of its server (a stock Ollama serves one request at a time) only while a
 * completion streams: the tools a reply runs between completions leave the server to other personas.
 */
export function withServerSlot(model: LanguageModel, slots: FifoSemaphore, report: SlotWaitReport): LanguageModel {
  return wrapModel(model, {
    async wrapStream({ request, doStream }) {
      if (slots.isFull) report.onQueued();
      const from = performance.now();
      const release = await slots.acquire(request.signal ? { signal: request.signal } : {});
      report.onWaited(performance.now() - from);
      try {
        return await doStream();
      } finally {
        release();
      }
    },
  });
}

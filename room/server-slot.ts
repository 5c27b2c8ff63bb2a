import type { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import type { ServerSlot } from "../models/reply-host.ts";

/**
 * One reply's hold on its model server's request slots: `onQueued` when it has to wait, `onWaited` with how
 * long it waited. Acquiring while held and releasing while free do nothing.
 */
export function serverSlot(server: FifoSemaphore, signal: AbortSignal, report: { onQueued(): void; onWaited(ms: number): void }): ServerSlot {
  let release: (() => void) | undefined;
  return {
    async acquire() {
      if (release) return;
      if (server.isFull) report.onQueued();
      const from = performance.now();
      release = await server.acquire({ signal });
      report.onWaited(performance.now() - from);
    },
    release() {
      release?.();
      release = undefined;
    },
  };
}

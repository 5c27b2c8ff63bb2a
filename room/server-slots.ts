import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import { type OrgConfig, serverConcurrency } from "../config/org-config.ts";

/** Request slots per model server (a model's `server`), each sized by the config (`servers[url].concurrency`, else the limit). */
export function serverSlots(config: OrgConfig): (server: string) => FifoSemaphore {
  const slots = new Map<string, FifoSemaphore>();
  return (server) => {
    let found = slots.get(server);
    if (!found) {
      found = new FifoSemaphore(serverConcurrency(config, server));
      slots.set(server, found);
    }
    return found;
  };
}

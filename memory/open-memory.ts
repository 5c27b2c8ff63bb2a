import { MemoryStore } from "./memory-store.ts";

/**
 * The workspace's memory for a room, or undefined when it cannot be opened (a link where its folder should
 * be, no permission): the room runs without memory rather than not at all. `warn` hears why, and any rebuild.
 */
export function openMemoryForRoom(workspaceDir: string, warn: (line: string) => void): MemoryStore | undefined {
  try {
    const { store, notices } = MemoryStore.open(workspaceDir);
    for (const notice of notices) warn(`memory: ${notice}`);
    return store;
  } catch (error) {
    warn(`memory is off for this session: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

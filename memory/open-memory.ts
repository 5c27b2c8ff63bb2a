import { MemoryStore } from "./memory-store.ts";

/**
 * The workspace's memory for a room, redacting with the room's `secrets` (config.secrets), or undefined when
 * it cannot be opened (a link where its folder should be, no permission): the room runs without memory
 * rather than not at all. `warn` hears why, and any rebuild.
 */
export function openMemoryForRoom(workspaceDir: string, warn: (line: string) => void, secrets: readonly string[] = []): MemoryStore | undefined {
  try {
    const { store, notices } = MemoryStore.open(workspaceDir, { secrets });
    for (const notice of notices) warn(`memory: ${notice}`);
    return store;
  } catch (error) {
    warn(`memory is off for this session: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

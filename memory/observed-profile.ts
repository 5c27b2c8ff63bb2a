import { join } from "node:path";
import { MEMORY_DIR } from "../config/workspace-paths.ts";
import { writeProfile } from "../personas/user-profile.ts";
import { FactLog } from "./fact-log.ts";
import { OBSERVER } from "./facts-command.ts";
import { FACTS_FILE } from "./memory-store.ts";

/**
 * Writes the profile of `workspaceDir` (`.org/memory/profile.md`) from the active facts the observer learned (facts.jsonl,
 * so no database is opened), at most `maxChars`, keeping the person's notes. The weekly digest calls it.
 */
export function writeObservedProfile(workspaceDir: string, maxChars: number): { path: string; kept: number; left: number } {
  const { facts } = new FactLog(join(workspaceDir, MEMORY_DIR, FACTS_FILE)).read();
  const learned = facts
    .filter((fact) => fact.persona === OBSERVER)
    .map((fact) => ({
      id: fact.id,
      text: fact.text,
      kind: fact.tags.includes("preference") ? "preference" : "fact",
      time: fact.time,
      confirmed: fact.confirmed ?? 0,
    }));
  return writeProfile(workspaceDir, learned, maxChars);
}

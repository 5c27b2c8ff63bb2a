import { join } from "node:path";
import { MEMORY_DIR } from "../config/workspace-paths.ts";
import { writeProfile } from "../personas/user-profile.ts";
import { FactLog } from "./fact-log.ts";
import { OBSERVER } from "./facts-command.ts";
import { FACTS_FILE } from "./memory-store.ts";

/**
 * Writes the profile of `workspaceDir` (`.org/memory/profile.md`) from the active facts the observer learned (facts.jsonl,
 * so no database is opened; those org sealed here), at most `maxChars`, keeping the person's notes. The weekly digest calls it.
 */
export function writeObservedProfile(workspaceDir: string, maxChars: number): { path: string; kept: number; left: number } {
  const { facts, sealed } = new FactLog(join(workspaceDir, MEMORY_DIR, FACTS_FILE)).read();
  // Only facts org saved here: an "observer" line a clone or an archive brought is no one's word about the person.
  const ours = new Set(sealed);
  const learned = facts
    .filter((fact) => fact.persona === OBSERVER && ours.has(fact.id))
    .map((fact) => ({
      id: fact.id,
      text: fact.text,
      kind: fact.tags.includes("preference") ? "preference" : "fact",
      time: fact.time,
      confirmed: fact.confirmed ?? 0,
    }));
  return writeProfile(workspaceDir, learned, maxChars);
}

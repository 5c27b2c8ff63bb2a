import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const REPO_DIR = join(import.meta.dir, "..");

/**
 * Every production `.ts` file under `directory` (tests left out), as a path from the repository's root, skipping
 * the top folders in `exempt` (test, benchmark and shell code, and whatever a check leaves out).
 */
export function productionFiles(exempt: ReadonlySet<string>, directory = REPO_DIR): string[] {
  const found: string[] = [];
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    const rel = relative(REPO_DIR, path);
    if (exempt.has(rel.split("/")[0] ?? "")) continue;
    if (statSync(path).isDirectory()) found.push(...productionFiles(exempt, path));
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) found.push(rel);
  }
  return found;
}

import { readFileSync } from "node:fs";

/** A package.json's `scripts` (none when it cannot be read). */
export function packageScripts(path: string): Record<string, string> {
  const parsed = packageJson(path);
  const scripts = parsed?.scripts;
  if (typeof scripts !== "object" || scripts === null) return {};
  return Object.fromEntries(Object.entries(scripts).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}

/** What org reads of a package.json: its name and scripts (undefined when it cannot be read). */
export function packageJson(path: string): { name: unknown; scripts: unknown } | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8").slice(0, 1024 * 1024));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    return { name: "name" in parsed ? parsed.name : undefined, scripts: "scripts" in parsed ? parsed.scripts : undefined };
  } catch {
    return undefined;
  }
}

import { statSync } from "node:fs";
import { CODE_FILE } from "./command-arguments.ts";
import { type LaunchPlace, toHost } from "./launch-place.ts";
import type { LaunchPlan } from "./launch-plan.ts";

/**
 * An argument (or the value after a flag's `=`) naming a file of code, or an executable file: it may be loaded. With
 * `named`, a word that only looks like a path to code (`./hook.mjs`, `lib/x.py`) counts while it does not exist yet.
 */
export function addCodeFile(plan: LaunchPlan, arg: string, place: LaunchPlace, named = false): void {
  const value = arg.startsWith("-") && arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : arg;
  if (value === "" || value.startsWith("-") || value.includes("\0") || value.includes("$")) return;
  const path = toHost(place, value);
  try {
    const stat = statSync(path);
    if (stat.isFile() && (CODE_FILE.test(path) || (stat.mode & 0o111) !== 0)) plan.files.push(path);
    // Only the launch line itself says what is data: a script's own words may hand a file to an interpreter.
    else if (stat.isFile() && place.depth === 0) plan.data.push(path);
  } catch {
    // Not a file: a word, a URL, a folder the server works on; or code not written yet.
    if (named && CODE_FILE.test(value) && !/^[a-z][a-z0-9+.-]*:/i.test(value)) plan.files.push(path);
  }
}

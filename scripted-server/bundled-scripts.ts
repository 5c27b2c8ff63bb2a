import { join } from "node:path";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";

/** Where org's own scripts live. */
const SCRIPT_DIR = join(CHECKOUT_DIR, "demo");

/**
 * The scripts org ships, by the name `--script` takes in place of a file: each is its files, tried in order. The
 * roles' script (planner, listener, diagnosis: each answered by the one tool its request offers) comes first and the
 * toolsmith's last, so a room on the playground or the demo's script can plan, be heard by grow and build tools.
 */
export const BUNDLED_SCRIPTS = {
  /** An agent that looks at /workspace, runs the project's tests and writes NOTES.md; python counts lines. */
  playground: ["roles-script.json", "playground-script.json", "toolsmith-script.json"],
  /** The demo's personas (`org demo`): a few set phrases, and the toolsmith. */
  demo: ["roles-script.json", "demo-script.json", "toolsmith-script.json"],
  /** The toolsmith alone: eleven small tools, picked by the goal's words. */
  toolsmith: ["toolsmith-script.json"],
} as const;

export type BundledScriptName = keyof typeof BUNDLED_SCRIPTS;

/**
 * The files a `--script` value stands for: a bundled script's name (`playground`) is always that script, whatever files
 * the current directory holds (a project's own `playground` file does not stand in for org's); a file of such a name
 * is given as a path (`./playground`). Any other value is a file.
 */
export function scriptFiles(value: string): string[] {
  if (isBundled(value)) return BUNDLED_SCRIPTS[value].map((file) => join(SCRIPT_DIR, file));
  return [value];
}

function isBundled(value: string): value is BundledScriptName {
  return Object.hasOwn(BUNDLED_SCRIPTS, value);
}

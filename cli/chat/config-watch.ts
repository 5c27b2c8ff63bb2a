import { readFileSync, statSync } from "node:fs";
import type { OrgConfig } from "../../config/org-config.ts";

/** How often an open room looks at its config file. */
export const CONFIG_CHECK_MS = 1_000;

/** What the files hold now, each: "none" for one that is missing (or cannot be read). */
function fingerprint(paths: readonly string[]): string {
  return paths
    .map((path) => {
      try {
        return statSync(path).isFile() ? new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex") : "none";
      } catch {
        return "none";
      }
    })
    .join(" ");
}

/**
 * Looks at `paths` (the config file, and whatever else decides what of it applies) every `everyMs` and calls `onChange`
 * once their bytes differ from what they were (a file made, edited, replaced or removed); a change is said once,
 * however long it takes to be handled. Returns how to stop.
 */
export function watchConfigFile(paths: readonly string[], everyMs: number, onChange: () => void): () => void {
  let seen = fingerprint(paths);
  let statKey = statsOf(paths);
  const timer = setInterval(() => {
    // The files' stats first: their bytes are read again only when a stat moved.
    const now = statsOf(paths);
    if (now === statKey) return;
    statKey = now;
    const print = fingerprint(paths);
    if (print === seen) return;
    seen = print;
    onChange();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

function statsOf(paths: readonly string[]): string {
  return paths
    .map((path) => {
      const stat = statSync(path, { throwIfNoEntry: false });
      return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}` : "none";
    })
    .join(" ");
}

/** What a room says when its config file changed, the terminal's room and `org web`'s alike (`file` as the person names it). */
export const configNotice = {
  /** The file cannot be used: the room goes on as it was. */
  unusable: (file: string, why: string) =>
    `· ${file} changed, but this room cannot use it: ${why}\n  The room goes on with the settings it opened with; it ` +
    `reads the file again when it changes.`,
  /** Nothing the room runs on changed. */
  unchanged: (file: string) => `· ${file} changed; nothing this room runs on did, so it goes on as it is.`,
};

/** What a config says of itself rather than what a room runs on: where it came from, what of it waits for the person. */
const NOT_RUN_ON = new Set(["source", "unconfirmed"]);

/** Settings whose keys are the schema's own, named one level down; the rest (personas, servers…) by their name alone. */
const NAMED_FIELDS = new Set(["limits", "serve", "network", "toolsmith", "grow", "supervise", "backup", "workflow", "sandbox", "mcp"]);

/**
 * The settings that differ between two configs, as the file names them (`sandbox.workspace`, `personas`): the schema's
 * keys only, never a value (a server's key or a URL may be among them). Empty when the two run the same.
 */
export function changedSettings(before: OrgConfig, after: OrgConfig): string[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const changed: string[] = [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of [...keys].sort()) {
    if (NOT_RUN_ON.has(key)) continue;
    const a: unknown = Reflect.get(before, key);
    const b: unknown = Reflect.get(after, key);
    if (same(a, b)) continue;
    if (key === "authorizations" || key === "secrets") {
      if (!changed.includes("servers")) changed.push("servers");
      continue;
    }
    if (NAMED_FIELDS.has(key) && isRecord(a) && isRecord(b)) {
      const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const field of [...fields].sort()) if (!same(a[field], b[field])) changed.push(`${key}.${field}`);
    } else if (!changed.includes(key)) changed.push(key);
  }
  return changed;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

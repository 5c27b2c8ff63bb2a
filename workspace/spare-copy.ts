import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import type { PrivateCopy } from "./private-copy.ts";
import type { EntryState, TreeSnapshot } from "./tree-snapshot.ts";

/**
 * A session's private copy outlives its session as the workspace's one spare: `<root>/.spare/tree/` (the copy) and
 * `<root>/.spare/state.json` (both baselines, as they were when the session let it go). The next session takes it
 * and copies again only what changed since on either side, instead of the whole workspace. `.spare` is never a
 * session's folder name (those start with a letter or digit).
 */
export const SPARE_NAME = ".spare";

type Encoded = [string, ...(string | number)[]];

/**
 * Keeps `copy` as the spare under `root` (its baselines saved beside it), or removes it when a spare is there
 * already. Either way the copy's folder is gone afterwards. Never throws: a copy that cannot be kept is removed.
 */
export function releaseAsSpare(copy: PrivateCopy, root: string): void {
  const staging = join(root, `.release-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    mkdirSync(staging, { mode: 0o700 });
    writePrivateFile(join(staging, "state.json"), JSON.stringify({ workspace: encode(copy.workspaceBaseline), copy: encode(copy.copyBaseline) }));
    renameSync(copy.copyDir, join(staging, "tree"));
    // Fails when another session's copy is the spare already: one is enough.
    renameSync(staging, join(root, SPARE_NAME));
  } catch {
    rmSync(staging, { recursive: true, force: true });
    rmSync(copy.copyDir, { recursive: true, force: true });
  }
}

/**
 * Moves the spare (when there is one) to `copyDir` and returns the baselines it was saved with; undefined when
 * there is none or it cannot be read (then `copyDir` holds nothing of it). Two sessions never take the same one:
 * the spare is renamed away first.
 */
export function takeSpare(root: string, copyDir: string): { workspace: TreeSnapshot; copy: TreeSnapshot } | undefined {
  const taken = join(root, `.take-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    renameSync(join(root, SPARE_NAME), taken);
  } catch {
    return undefined;
  }
  try {
    const saved: unknown = JSON.parse(readPrivateFile(join(taken, "state.json")));
    if (typeof saved !== "object" || saved === null || !("workspace" in saved) || !("copy" in saved)) return undefined;
    const baselines = { workspace: decode(saved.workspace), copy: decode(saved.copy) };
    rmSync(copyDir, { recursive: true, force: true });
    renameSync(join(taken, "tree"), copyDir);
    return baselines;
  } catch {
    return undefined;
  } finally {
    rmSync(taken, { recursive: true, force: true });
  }
}

function encode(snapshot: TreeSnapshot): Encoded[] {
  const entries: Encoded[] = [];
  for (const [path, state] of snapshot) {
    if (state.type === "file")
      entries.push([path, "f", state.mode, state.size, `${state.mtimeNs}`, `${state.ctimeNs}`, `${state.ino}`, state.blocks]);
    else if (state.type === "symlink") entries.push([path, "l", state.target, state.blocks]);
    else if (state.type === "directory") entries.push([path, "d", state.mode, state.blocks]);
    else entries.push([path, state.type]);
  }
  return entries;
}

/** The saved snapshot; throws on anything org did not write, so a damaged save means a full copy, never a wrong one. */
function decode(value: unknown): TreeSnapshot {
  if (!Array.isArray(value)) throw new TypeError("not a saved snapshot");
  const snapshot: TreeSnapshot = new Map();
  for (const entry of value) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string") throw new TypeError("not a saved entry");
    snapshot.set(entry[0], decodeState(entry));
  }
  return snapshot;
}

function decodeState(entry: unknown[]): EntryState {
  const [, kind, a, b, c, d, e, f] = entry;
  const int = (value: unknown) => {
    if (typeof value !== "number" || !Number.isInteger(value)) throw new TypeError("not an integer");
    return value;
  };
  const big = (value: unknown) => {
    if (typeof value !== "string" || !/^\d+$/.test(value)) throw new TypeError("not a saved number");
    return BigInt(value);
  };
  // A spare saved before blocks were kept has none: it is no spare (the copy is made again whole), never a wrong count.
  if (kind === "f") return { type: "file", mode: int(a), size: int(b), mtimeNs: big(c), ctimeNs: big(d), ino: big(e), blocks: int(f) };
  if (kind === "l" && typeof a === "string") return { type: "symlink", target: a, blocks: int(b) };
  if (kind === "d") return { type: "directory", mode: int(a), blocks: int(b) };
  if (kind === "fifo" || kind === "device" || kind === "socket") return { type: kind };
  throw new TypeError("not a saved state");
}

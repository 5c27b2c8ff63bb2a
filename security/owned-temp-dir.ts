import { lstatSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processRuns, processStart } from "./process-start.ts";

// org's temporary folders carry their owner in their name, `org-<kind>-<pid>-<start>-XXXXXX` (the pid and the kernel's
// start time of that process, so a pid reused after a kill -9 is not taken for the owner): a run that died leaves its
// folder in $TMPDIR, and `org supervise` removes the folders whose owner is gone.

const KIND = /^[a-z]+(?:-[a-z]+)*$/;
const OWNED = /^org-([a-z]+(?:-[a-z]+)*)-(\d+)-(\d+)-[A-Za-z0-9]{6}$/;

/** This process as a folder's name carries it: `<pid>-<start time>` ("0" where /proc does not say). */
export function ownerTag(): string {
  return `${process.pid}-${processStart(process.pid) || "0"}`;
}

/** A new private folder (0700) in `parent` (the temp folder org uses by default), named after `kind` and this process. */
export function ownedTempDir(kind: string, parent: string = tmpdir()): string {
  if (!KIND.test(kind)) throw new Error(`a temporary folder's kind is lower-case words joined by '-', not ${JSON.stringify(kind)}`);
  return mkdtempSync(join(parent, `org-${kind}-${ownerTag()}-`));
}

/** The owner a temporary folder's name gives, or undefined when it is no name `ownedTempDir` makes. */
export function ownerOfTempDir(name: string): { kind: string; pid: number; start: string } | undefined {
  const owned = OWNED.exec(name);
  if (!owned?.[1] || !owned[2] || owned[3] === undefined) return undefined;
  const pid = Number(owned[2]);
  return Number.isSafeInteger(pid) && pid > 0 ? { kind: owned[1], pid, start: owned[3] } : undefined;
}

/** Whether the process a folder's name gives is gone: its pid is dead, or now another process's (started at another time). */
export function ownerGone(owner: { pid: number; start: string }): boolean {
  return !processRuns(owner.pid, owner.start === "0" ? "" : owner.start);
}

/** The folders in `parent` that `ownedTempDir` made for processes now gone, this user's own only. */
export function deadOwnersTempDirs(parent: string = tmpdir()): { path: string; kind: string; pid: number }[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const found: { path: string; kind: string; pid: number }[] = [];
  for (const name of names) {
    const owner = ownerOfTempDir(name);
    if (!owner || !ownerGone(owner)) continue;
    const stat = lstatSync(join(parent, name), { throwIfNoEntry: false });
    if (stat?.isDirectory() && (uid === undefined || stat.uid === uid)) found.push({ path: join(parent, name), kind: owner.kind, pid: owner.pid });
  }
  return found;
}

import { chmodSync, closeSync, constants, fchmodSync, fstatSync, openSync, readdirSync } from "node:fs";

// Linux's O_PATH (node:fs does not export it): a handle on the entry itself, with O_NOFOLLOW even on a symlink.
const O_PATH = 0o10000000;

/** Directories nested deeper than this are left as they are: each level holds a descriptor while it is walked. */
export const MAX_RESET_DEPTH = 1024;

/** The mode an entry keeps: no setuid, setgid or sticky bit, no write for group or others, the owner's access back. */
export function resetMode(mode: number, isDirectory: boolean): number {
  return (mode & 0o755) | (isDirectory ? 0o700 : 0o600);
}

type Frame = { fd: number; names: Buffer[]; next: number; depth: number };

const entries = (fd: number): Buffer[] => readdirSync(`/proc/self/fd/${fd}`, { encoding: "buffer" });

/**
 * After a run: strips setuid, setgid and sticky bits and group/other write from everything in the scratch
 * directory open at `scratchFd`, gives the owner back read and write (and search on directories) so the host
 * can measure and remove what is left, and makes scratch itself 0700. Every entry is opened O_PATH | O_NOFOLLOW
 * relative to its parent's descriptor and changed through that descriptor, so neither a symlink nor a rename by
 * another sandbox sharing this scratch can turn a change onto a file outside it. Returns how many directories
 * were too deep to reach.
 */
export function resetScratchModes(scratchFd: number): { tooDeep: number } {
  let tooDeep = 0;
  const root = fstatSync(scratchFd);
  if ((root.mode & 0o7777) !== 0o700) fchmodSync(scratchFd, 0o700);
  const stack: Frame[] = [{ fd: scratchFd, names: entries(scratchFd), next: 0, depth: 0 }];
  for (let frame = stack.at(-1); frame !== undefined; frame = stack.at(-1)) {
    const name = frame.names[frame.next++];
    if (name === undefined) {
      stack.pop();
      if (frame.fd !== scratchFd) closeSync(frame.fd);
      continue;
    }
    let fd: number;
    try {
      fd = openSync(Buffer.concat([Buffer.from(`/proc/self/fd/${frame.fd}/`), name]), O_PATH | constants.O_NOFOLLOW);
    } catch {
      continue; // Removed meanwhile.
    }
    let keep = false;
    try {
      const stat = fstatSync(fd);
      if (stat.isSymbolicLink()) continue;
      const wanted = resetMode(stat.mode & 0o7777, stat.isDirectory());
      if ((stat.mode & 0o7777) !== wanted) chmodSync(`/proc/self/fd/${fd}`, wanted);
      if (!stat.isDirectory()) continue;
      if (frame.depth + 1 > MAX_RESET_DEPTH) {
        tooDeep += 1;
        continue;
      }
      stack.push({ fd, names: entries(fd), next: 0, depth: frame.depth + 1 });
      keep = true;
    } catch {
      // Gone or changed meanwhile; what it held is walked no further.
    } finally {
      if (!keep) closeSync(fd);
    }
  }
  return { tooDeep };
}

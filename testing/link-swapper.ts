// A child process for race tests: swaps a path between a plain file and a symbolic link to somewhere else,
// as fast as it can, until killed. Each swap is a rename, so the path always exists as one or the other.
// Usage: bun testing/link-swapper.ts PATH LINK_TARGET [directory]
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";

const [path, linkTarget, kind] = process.argv.slice(2);
if (!path || !linkTarget) throw new Error("usage: link-swapper.ts PATH LINK_TARGET [directory]");
const spare = `${path}.swap-${process.pid}`;
process.stdout.write("swapping\n");
for (let swaps = 0; ; swaps += 1) {
  rmSync(spare, { recursive: true, force: true });
  if (swaps % 2 === 0) symlinkSync(linkTarget, spare);
  else if (kind === "directory") mkdirSync(spare);
  else writeFileSync(spare, "");
  try {
    renameSync(spare, path);
  } catch {
    // A directory cannot replace a non-empty one: clear it and go on.
    rmSync(path, { recursive: true, force: true });
  }
}

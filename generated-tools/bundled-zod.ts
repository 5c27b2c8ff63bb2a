import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { isolatedBunFlags } from "../config/org-bun-command.ts";

/** Per cache folder, the bundle's path once found or built in this process; "" when it could not be built. */
const known = new Map<string, string>();

/**
 * zod's own entry (`zod/index.js`, the only one generated code and the runner import) bundled by bun into one file.
 * Mounted over the entry in the sandbox, it is the same code with the same exports, but a fresh process loads it in
 * about half the CPU time of zod's own modules: the fixed runner, the examples and determinism runs (a fresh process
 * each) and every `bun test` start there load zod first.
 *
 * Built once per zod and bun version beside the installed packages (`node_modules/.cache/org-bundled-zod/`, or
 * `cacheDir`), written under a temporary name and renamed, so every org process after the first finds it ready and
 * none leaves a copy behind. Undefined when it cannot be built there (a read-only install): the sandbox then loads
 * zod's own files.
 */
export function bundledZodEntry(zodDir: string, cacheDir = join(dirname(zodDir), ".cache", "org-bundled-zod")): string | undefined {
  const before = known.get(cacheDir);
  if (before !== undefined) return before || undefined;
  known.set(cacheDir, "");
  try {
    const { version } = JSON.parse(readFileSync(join(zodDir, "package.json"), "utf8")) as { version?: unknown };
    const out = join(cacheDir, `zod-${String(version)}-bun-${Bun.version}.js`);
    if (!isRegularFile(out)) build(join(zodDir, "index.js"), out);
    known.set(cacheDir, out);
    return out;
  } catch {
    return undefined;
  }
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

function build(entry: string, out: string): void {
  mkdirSync(dirname(out), { recursive: true, mode: 0o755 });
  const partial = `${out}.${process.pid}.tmp`;
  try {
    // Run where zod is, with org's own bunfig and no .env: the directory org started in may hold either.
    const result = Bun.spawnSync([process.execPath, ...isolatedBunFlags(), "build", entry, "--outfile", partial, "--target", "bun"], {
      cwd: dirname(entry),
      stdout: "ignore",
      stderr: "ignore",
      env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" },
      timeout: 30_000,
    });
    if (!result.success || !isRegularFile(partial)) throw new Error(`bun could not bundle ${entry}`);
    // Readable by the sandbox's uid when org runs as root; the rename makes it whole or absent for every reader.
    chmodSync(partial, 0o444);
    renameSync(partial, out);
  } finally {
    rmSync(partial, { force: true });
  }
}

import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The bundle's path once built; "" when building failed. */
let built: string | undefined;

/**
 * zod's own entry (`zod/index.js`, the only one generated code and the runner import) bundled by bun into one file,
 * built once per org process into a fresh folder of its own and removed when org exits. Mounted over the entry in the
 * sandbox, it is the same code with the same exports, but a fresh process loads it in about half the CPU time of
 * zod's own modules: the fixed runner, the examples and determinism runs (a fresh process each) and every
 * `bun test` start there load zod first. Undefined when bun cannot build it: the sandbox then loads zod's own files.
 */
export function bundledZodEntry(zodDir: string): string | undefined {
  if (built !== undefined) return built || undefined;
  built = "";
  const dir = mkdtempSync(join(tmpdir(), "org-zod-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, "index.js");
  const result = Bun.spawnSync([process.execPath, "build", join(zodDir, "index.js"), "--outfile", out, "--target", "bun"], {
    stdout: "ignore",
    stderr: "ignore",
    env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" },
    timeout: 30_000,
  });
  if (!result.success || !existsSync(out)) return undefined;
  // Readable by the sandbox's uid when org runs as root; writable by no one else.
  chmodSync(dir, 0o755);
  chmodSync(out, 0o444);
  built = out;
  return out;
}

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { supportFiles } from "./bwrap-argv.ts";
import { buildSeccompFilter } from "./seccomp-filter.ts";

let supportDir: string | undefined;

/**
 * A private directory, made once per process, holding the seccomp program and the synthetic /etc files that
 * every sandbox mounts read-only. Readable by the sandbox uid, writable only by this process's uid.
 */
export function sandboxSupportDir(): string {
  if (supportDir) return supportDir;
  const directory = mkdtempSync(join(tmpdir(), "org-sandbox-"));
  chmodSync(directory, 0o755);
  writeFileSync(join(directory, "seccomp.bpf"), buildSeccompFilter(), { mode: 0o644 });
  for (const [name, content] of Object.entries(supportFiles())) {
    writeFileSync(join(directory, name), content, { mode: 0o644 });
  }
  process.once("exit", () => rmSync(directory, { recursive: true, force: true }));
  supportDir = directory;
  return directory;
}

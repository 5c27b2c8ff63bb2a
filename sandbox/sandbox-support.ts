import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { supportFiles } from "./bwrap-argv.ts";
import { egressScripts } from "./egress-run.ts";
import { buildSeccompFilter } from "./seccomp-filter.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";

/** An empty directory in the support dir where, as root, each launcher mounts its scratch in a namespace of its own. */
export const SCRATCH_MOUNT_POINT = "scratch-mount";

/**
 * Makes (or brings up to date) the directory holding the seccomp program and the synthetic /etc files every sandbox
 * mounts read-only, and the egress forwarders a run given egress links into its own folder, and returns it. Named after
 * its content and owner, so all org processes of one user share it and none leaves a copy behind (bun test does not run
 * exit handlers). Readable by the sandbox uid, writable only by this uid. A Sandbox prepares it once, at its first run.
 */
export function prepareSandboxSupport(): string {
  const files: Record<string, string | Uint8Array> = { "seccomp.bpf": buildSeccompFilter(), ...supportFiles(), ...egressScripts() };
  // Bun's own hasher: loading node:crypto costs tens of milliseconds, on the path of every `org sandbox run`.
  const hash = new Bun.CryptoHasher("sha256");
  for (const [name, content] of Object.entries(files)) hash.update(name).update("\0").update(content).update("\0");
  const uid = process.getuid?.() ?? 0;
  const shared = join(tmpdir(), `org-sandbox-${uid}-${hash.digest("hex").slice(0, 16)}`);
  const supportDir = isOwnPrivateDirectory(shared) ? shared : privateCopy();
  for (const [name, content] of Object.entries(files)) writeIfChanged(join(supportDir, name), content);
  try {
    mkdirSync(join(supportDir, SCRATCH_MOUNT_POINT), { mode: 0o755 });
  } catch (error) {
    if (errorCode(error) !== "EEXIST") throw error;
  }
  return supportDir;
}

// A shared name in a world-writable tmp dir is only safe if we made it and nobody else can write into it.
function isOwnPrivateDirectory(directory: string): boolean {
  try {
    mkdirSync(directory, { mode: 0o755 });
  } catch (error) {
    if (errorCode(error) !== "EEXIST") return false;
  }
  const stat = lstatSync(directory);
  return stat.isDirectory() && stat.uid === (process.getuid?.() ?? 0) && (stat.mode & 0o022) === 0;
}

function privateCopy(): string {
  const directory = ownedTempDir("sandbox");
  chmodSync(directory, 0o755);
  return directory;
}

// Replace by rename, so a sandbox starting in another process never reads a half-written file.
function writeIfChanged(path: string, content: string | Uint8Array): void {
  const wanted = typeof content === "string" ? Buffer.from(content) : Buffer.from(content);
  try {
    if (readFileSync(path).equals(wanted)) return;
  } catch {
    // Missing: write it.
  }
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, wanted, { mode: 0o644 });
  renameSync(temporary, path);
}

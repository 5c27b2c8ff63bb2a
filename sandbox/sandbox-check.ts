import { rmSync } from "node:fs";
import { join } from "node:path";
import { LAUNCHER_ENV, SANDBOX_HOST_UID } from "./bwrap-argv.ts";
import { checkEgress } from "./egress-check.ts";
import { type Sandbox, SandboxUnavailableError } from "./run-sandboxed.ts";
import type { SandboxResult } from "./sandbox-result.ts";
import type { SandboxPolicy } from "./sandbox-policy.ts";
import { scratchRootFor, scratchRootProblem } from "./scratch-dir.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";

export type SandboxCheckItem = { name: string; ok: boolean; detail: string };

/**
 * Checks, one by one, what the sandbox needs on this machine, saying what is missing and how to fix it;
 * with `workspaceDir`, also that its scratch directories are kept from other host users, under the caller's policy.
 */
export async function checkSandbox(options: {
  sandbox: Sandbox;
  workspaceDir?: string;
  policy: SandboxPolicy;
  /** Probe the egress guard too (a person's check always does; the supervisor only where `sandbox.egress` is set). */
  egress?: boolean;
}): Promise<SandboxCheckItem[]> {
  const { workspaceDir } = options;
  const items: SandboxCheckItem[] = [];
  const isRoot = process.getuid?.() === 0;
  const needed = [
    { tool: "bwrap", fix: "apt-get install -y bubblewrap" },
    { tool: "prlimit", fix: "apt-get install -y util-linux" },
  ];
  for (const { tool, fix } of needed) {
    const path = Bun.which(tool, { PATH: LAUNCHER_ENV.PATH });
    items.push({ name: tool, ok: path !== null, detail: path ?? `not installed; install it with: ${fix}` });
  }
  items.push({
    name: "launcher identity",
    ok: true,
    detail: isRoot
      ? `org runs as root, so sandboxes drop to uid ${SANDBOX_HOST_UID} (root would ignore the process limit)`
      : `sandboxes run as this user (uid ${process.getuid?.()})`,
  });
  if (workspaceDir !== undefined) {
    const problem = scratchRootProblem(workspaceDir);
    items.push({
      name: "workspace",
      ok: problem === undefined,
      detail: problem ?? `scratch under ${scratchRootFor(workspaceDir)} is private to this user (0700) and reaches each sandbox as an open directory`,
    });
  }
  if (!options.policy.enabled) {
    items.push({ name: "ORG_SANDBOX", ok: false, detail: "ORG_SANDBOX=off: model-made commands run UNSANDBOXED on the host" });
    return items;
  }
  // Without bwrap or prlimit there is nothing to probe; a workspace out of reach still leaves the probes.
  if (items.some((item) => !item.ok && item.name !== "workspace")) return items;
  // One sandbox, not two: the run proves the namespaces when it runs its command, and a run that fails before any
  // sandbox was known to work here is checked by the sandbox's probe, which throws saying what is missing.
  const scratchRoot = ownedTempDir("sandbox-check");
  try {
    let result: SandboxResult;
    try {
      result = await options.sandbox.run({
        policy: options.policy,
        argv: ["/bin/sh", "-c", "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status"],
        scratchDir: join(scratchRoot, "scratch"),
        timeoutMs: 10_000,
      });
    } catch (error) {
      if (!(error instanceof SandboxUnavailableError)) throw error;
      items.push({ name: "namespaces", ok: false, detail: error.message });
      return items;
    }
    items.push({ name: "namespaces", ok: true, detail: "bwrap can create user, pid, net, ipc, uts, mount namespaces" });
    const status = result.stdout;
    const seccomp = /Seccomp:\s*2/.test(status) && /NoNewPrivs:\s*1/.test(status) && /CapEff:\s*0+\b/.test(status);
    items.push({
      name: "seccomp and privileges",
      ok: seccomp,
      detail: seccomp ? "seccomp filter active, no_new_privs set, no capabilities" : `unexpected: ${status.trim() || result.stderr.trim()}`,
    });
    if (options.egress ?? true) items.push({ name: "egress guard", ...(await checkEgress(options.sandbox, options.policy, scratchRoot)) });
  } finally {
    rmSync(scratchRoot, { recursive: true, force: true });
  }
  return items;
}

import { readFileSync } from "node:fs";
import { z } from "zod";
import { sandboxPolicyFrom } from "../assembly/sandbox-policy-from.ts";
import { LAUNCHER_ENV } from "../sandbox/bwrap-argv.ts";
import { checkSandbox } from "../sandbox/sandbox-check.ts";
import type { Check, CheckResult, SuperviseContext } from "./supervise-check.ts";

/** How often the sandbox is really started to be checked (the cheap checks run every round). */
const PROBE_EVERY_MS = 15 * 60_000;
const PROBE_KEY = "sandbox:probe";
const Probe = z.object({ at: z.number(), problems: z.array(z.string()) });

function readSetting(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** What keeps sandboxes from starting that can be read without starting one, each with its fix. */
function cheapProblems(): string[] {
  const problems: string[] = [];
  for (const [tool, fix] of [
    ["bwrap", "apt-get install -y bubblewrap"],
    ["prlimit", "apt-get install -y util-linux"],
  ] as const) {
    if (!Bun.which(tool, { PATH: LAUNCHER_ENV.PATH })) problems.push(`${tool} is not installed (fix: ${fix})`);
  }
  if (readSetting("/proc/sys/kernel/unprivileged_userns_clone") === "0")
    problems.push(
      "user namespaces are off for unprivileged users (fix: sysctl -w kernel.unprivileged_userns_clone=1, and the same in /etc/sysctl.d/)",
    );
  if (readSetting("/proc/sys/user/max_user_namespaces") === "0")
    problems.push("user.max_user_namespaces is 0 (fix: sysctl -w user.max_user_namespaces=15000)");
  if (readSetting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1")
    problems.push(
      "AppArmor restricts unprivileged user namespaces (fix: an AppArmor profile for bwrap, or sysctl -w " +
        "kernel.apparmor_restrict_unprivileged_userns=0)",
    );
  return problems;
}

/**
 * Pattern 6: the sandbox unusable (bwrap missing, user namespaces off); reported with the fix, which is the user's to make.
 * The policy is the one org runs under with this round's config; the probe runs in the entry point's sandbox.
 */
async function runSandboxCheck(context: SuperviseContext): Promise<CheckResult> {
  const policy = sandboxPolicyFrom({ config: context.config });
  if (!policy.enabled) return { state: "off", detail: "ORG_SANDBOX=off: tools run unsandboxed, as the user chose", findings: [] };
  let problems = cheapProblems();
  if (problems.length === 0) {
    const cached = Probe.safeParse(JSON.parse(context.state.get(PROBE_KEY) ?? "null"));
    const now = context.now();
    if (cached.success && now - cached.data.at < PROBE_EVERY_MS) problems = cached.data.problems;
    else {
      // The guard is probed where a run may use it: a workspace without sandbox.egress gives no run any network.
      const egress = policy.egress !== undefined;
      const items = await checkSandbox({ sandbox: context.sandbox, workspaceDir: context.workspaceDir, policy, egress });
      problems = items.filter((item) => !item.ok).map((item) => `${item.name}: ${item.detail}`);
      context.state.set(PROBE_KEY, JSON.stringify({ at: now, problems }));
    }
  } else context.state.set(PROBE_KEY, "null");
  if (problems.length === 0) return { state: "ok", detail: "bwrap starts sandboxes here (user, pid and net namespaces, seccomp)", findings: [] };
  const detail = `model-made commands cannot run: ${problems.join("; ")}. See 'org sandbox check' and sandbox/README.md`;
  return { state: "fail", detail, findings: [{ key: "sandbox", title: "the sandbox is unusable", detail }] };
}

export const sandboxUsableCheck: Check = { name: "sandbox", run: runSandboxCheck, independent: true };

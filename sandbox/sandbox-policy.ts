import { EGRESS_PRESETS, type EgressRules } from "../config/egress-policy.ts";
import { DEFAULT_SECRET_PATHS } from "../config/secret-paths.ts";
import { WORKSPACE_VIEWS } from "../config/workspace-views.ts";
import { SCRATCH_MOUNT } from "./bwrap-argv.ts";
import { formatBytes as mib } from "./run-watchdog.ts";
import { DEFAULT_LIMITS, DEFAULT_TIMEOUT_MS, type SandboxLimits } from "./sandbox-limits.ts";
import { MAX_POOL_SIZE } from "./sandbox-pool.ts";
import { OrgError } from "../errors/org-error.ts";

/**
 * Everything the sandbox takes from org's settings, as one value (codex's `SandboxPolicy`): made once where
 * org is assembled from its config and environment, and handed to every run. sandbox/ reads no environment.
 */
export type SandboxPolicy = Readonly<{
  /** False only for `ORG_SANDBOX=off`: commands run on the host, unsandboxed, with a warning every time. */
  enabled: boolean;
  /**
   * Whether a run may ask for the host's network (`network: true`); a room's tools never may. A sandboxed MCP server
   * the user configured with `network` hosts is not a run: it reaches those hosts through an egress guard (trusted by
   * hash with its command).
   */
  network: boolean;
  /** A run's wall-clock timeout when it gives none. */
  timeoutMs: number;
  /** A run's bounds where it sets none (CPU seconds follow its timeout). */
  limits: Readonly<Omit<SandboxLimits, "cpuSeconds">>;
  /** Sandboxes started ahead of need that may wait (0 to MAX_POOL_SIZE; 0 for a process that runs one command). */
  poolSize: number;
  /** The values of org's secrets: a run's `env` may carry none of them into the sandbox. */
  secretValues: readonly string[];
  /**
   * How a session's commands (sh, python_run) see the workspace (`sandbox.workspace`): "read" at /workspace,
   * read-only, where they start; "write" on a private copy whose changes come back as patches; "none" not at all.
   */
  workspace: WorkspaceView;
  /**
   * Secret files (globs, `sandbox.secretPaths`) neither view shows: the read view covers each with an empty read-only
   * file (a folder with an empty one), the write view's copy leaves them out, and no change may write them.
   */
  secretPaths: readonly string[];
  /**
   * Where a run that asks for it (`egress` in its options) may connect, through org's egress guard
   * (`sandbox.egress`); undefined: no run reaches the network that way.
   */
  egress?: EgressRules;
}>;

export type WorkspaceView = (typeof WORKSPACE_VIEWS)[number];

/** Where a session's commands see the workspace, and start. */
export const WORKSPACE_MOUNT = "/workspace";

/** The policy when a caller gives none: sandboxed, no network, the default bounds, no secrets known. */
export const DEFAULT_SANDBOX_POLICY: SandboxPolicy = Object.freeze({
  enabled: true,
  network: false,
  timeoutMs: DEFAULT_TIMEOUT_MS,
  limits: Object.freeze({ ...DEFAULT_LIMITS }),
  poolSize: MAX_POOL_SIZE,
  secretValues: Object.freeze([]),
  workspace: "read",
  secretPaths: DEFAULT_SECRET_PATHS,
});

/** A policy field holds a value that would disable a bound; the message names the field and what it takes. */
export class SandboxPolicyError extends OrgError {
  override name = "SandboxPolicyError";
}

/** The default policy with `changes`, checked: each number must keep its bound. */
export function sandboxPolicy(changes: Partial<Omit<SandboxPolicy, "limits">> & { limits?: Partial<SandboxPolicy["limits"]> } = {}): SandboxPolicy {
  const limits = { ...DEFAULT_SANDBOX_POLICY.limits, ...definedOnly(changes.limits ?? {}) };
  const policy = { ...DEFAULT_SANDBOX_POLICY, ...definedOnly(changes), limits: Object.freeze(limits) };
  for (const [name, value] of [
    ["timeoutMs", policy.timeoutMs],
    ...Object.entries(limits).map(([key, bound]) => [`limits.${key}`, bound] as const),
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new SandboxPolicyError(`sandbox policy ${name} is ${value}: give a positive finite number, or leave it out for the default`);
    }
  }
  if (!WORKSPACE_VIEWS.includes(policy.workspace)) {
    throw new SandboxPolicyError(`sandbox policy workspace is ${JSON.stringify(policy.workspace)}: give one of ${WORKSPACE_VIEWS.join(", ")}`);
  }
  if (!Number.isInteger(policy.poolSize) || policy.poolSize < 0 || policy.poolSize > MAX_POOL_SIZE) {
    throw new SandboxPolicyError(
      `sandbox policy poolSize is ${policy.poolSize}: give a whole number from 0 to ${MAX_POOL_SIZE} (0 starts none ahead)`,
    );
  }
  return Object.freeze({ ...policy, secretValues: Object.freeze([...policy.secretValues]), secretPaths: Object.freeze([...policy.secretPaths]) });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}

/** The policy as lines for a person (`org doctor`): each says what it means; no secret value is shown. */
export function describeSandboxPolicy(policy: SandboxPolicy): { name: string; detail: string }[] {
  const { limits } = policy;
  return [
    {
      name: "sandbox",
      detail: policy.enabled
        ? "on: every model-made command runs in bubblewrap"
        : "OFF (ORG_SANDBOX=off): model-made commands run UNSANDBOXED on the host",
    },
    {
      name: "network",
      detail: policy.network
        ? "a run may share the host's network when it asks"
        : "none: no run may share the host's network (a sandboxed MCP server reaches its network hosts through an egress guard)",
    },
    {
      name: "egress",
      detail:
        policy.egress === undefined
          ? "none: no sandbox.egress, so commands reach no network"
          : `through org's egress guard: ${describeEgress(policy.egress)}`,
    },
    {
      name: "time",
      detail: `${policy.timeoutMs / 1000} s wall clock unless the call gives its own, and as many CPU seconds per process`,
    },
    {
      name: "memory",
      detail: `${mib(limits.memoryBytes)} address space per process, ${mib(limits.totalMemoryBytes)} resident for the whole sandbox`,
    },
    { name: "processes", detail: `${limits.processes} per sandbox, ${limits.openFiles} open files each` },
    {
      name: "mounts",
      detail:
        `/usr read-only, synthetic /etc, private /tmp (${mib(limits.tmpBytes)}) and /dev/shm ` +
        `(${mib(limits.shmBytes)}), ${SCRATCH_MOUNT} read-write (${mib(limits.scratchBytes)}, ` +
        `${limits.scratchFiles} entries), a tool's own folders read-only`,
    },
    {
      name: "output",
      detail:
        `${mib(limits.outputBytes)} of each stream kept, killed past ${mib(limits.outputKillBytes)} in ` +
        `all; files up to ${mib(limits.fileSizeBytes)}`,
    },
    {
      name: "workspace",
      detail:
        policy.workspace === "none"
          ? "not visible (sandbox.workspace: none)"
          : policy.workspace === "read"
            ? `read-only at ${WORKSPACE_MOUNT} (commands start there), .org/ hidden, secret files (${policy.secretPaths.join(", ")}) empty`
            : `a private copy at ${WORKSPACE_MOUNT}, .git/ read-only, .org/ and secret files ` +
              `(${policy.secretPaths.join(", ")}) absent; changes come back as patches under the workspace_write policy`,
    },
    { name: "started ahead", detail: policy.poolSize === 0 ? "none" : `up to ${policy.poolSize} sandboxes wait for a session's next call` },
    { name: "secrets", detail: `${policy.secretValues.length} secret value(s) may not be passed into a sandbox's environment` },
  ];
}

/** The egress rules in one line for a person. */
export function describeEgress(rules: EgressRules): string {
  const listed = [...rules.allow, ...rules.presets.map((name) => `${name} (${EGRESS_PRESETS[name].join(", ")})`)];
  return (
    `${listed.length === 0 ? "no host listed" : listed.join(", ")}` +
    `${rules.deny.length > 0 ? `, never ${rules.deny.join(", ")}` : ""}; ports ${rules.ports.join(", ")} ` +
    `(tunnels to ${rules.tlsPorts.join(", ")}); ` +
    `a host on neither list ${rules.unlisted === "ask" ? "is asked about in a room, refused elsewhere" : "is refused"}`
  );
}

import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { StaleMountsError } from "../sandbox/run-sandboxed.ts";
import type { SandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { CONFIG_FILE_NAME } from "../config/workspace-paths.ts";
import { sandboxAccessFrom } from "../assembly/sandbox-policy-from.ts";
import { type Command, UsageError } from "./command/command.ts";
import { nameAndSummary } from "./command/command-summaries.ts";
import { parseCommandArgs } from "./command/parse-command-args.ts";
import { prepareWorkspace } from "./command/workspace-dir.ts";
import { runSubcommand } from "./command/run-subcommand.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";
import type { ViewMounts } from "../workspace/workspace-view.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";

const HELP = `Usage:
  org sandbox run [--workspace DIR] [--config FILE] [--timeout-ms N] [--mem-mb N] [--net] [--scratch DIR] -- CMD [ARGS…]
  org sandbox check [--workspace DIR]

run    Runs CMD in the same sandbox the models' tools use, seeing the workspace as they see it, and prints the
       result as JSON: {"exitCode","signal","timedOut","isCanceled","stdout","stderr","truncated","durationMs",
       "workspace"}, where "workspace" is {"dir","view"} and, as it happened, "notShown" (why the workspace is
       not at /workspace) or "changed" (what the command changed on its private copy; never applied).
       The view is the config's sandbox.workspace, as in the room: "read" (the default) binds the workspace
       read-only at /workspace, where CMD starts, with .org/ hidden; "write" runs CMD on a private copy of it,
       writable at /workspace, and lists what CMD changed there without applying it (in the room those changes
       come to you as a patch to approve); "none" shows nothing and CMD starts in /scratch.
       Network: none, unless the config's sandbox.egress (confirmed with org config trust) lists hosts: CMD
       then reaches them, and only them, through org's egress guard (HTTP_PROXY/HTTPS_PROXY point at it), and
       the JSON's "egress" says what it reached and what was refused. A host on neither list is refused here.
       Exit status: 0 when the sandbox ran the command, whatever the command's own exit code was (read
       it from the JSON); 1 when the sandbox could not start; 2 for a wrong command line.
check  Says whether bwrap works on this machine and what is missing, and whether the scratch directories
       under the workspace are kept from other users (--workspace DIR, default: the current directory).
       Exit status 0 if all is well, else 1.

Options for run:
  --workspace DIR  the project the command sees at /workspace (default: the current directory, as the room)
  --config FILE    the config whose sandbox.workspace picks the view (default: org.config.json in the workspace)
  --timeout-ms N   wall-clock timeout in milliseconds (default 30000)
  --mem-mb N       address-space limit per process in MiB (default 1024)
  --net            share the host's WHOLE network, for a person at a terminal only: refused unless stdin
                   is a terminal (scripts and other unattended callers: use sandbox.egress instead)
  --scratch DIR    directory mounted read-write at /scratch, created if missing (default: a temporary one,
                   removed afterwards). When org runs as root, DIR is given to the sandbox user (uid 61234),
                   so it must be new, empty, or already the sandbox user's.

Example:
  org sandbox run --timeout-ms 2000 -- sh -c 'id; ls /'
  org sandbox run --workspace ~/project -- ls -la /workspace
  org sandbox run -- curl -sS https://registry.npmjs.org/zod   # with "sandbox": {"egress": {"presets": ["npm"]}}`;

type RunOptions = {
  timeoutMs?: number;
  memoryMb?: number;
  network: boolean;
  scratch?: string;
  workspace?: string;
  config?: string;
  argv: string[];
};

function parsePositive(flag: string, value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`${flag} needs a positive number, got ${value}`, "sandbox");
  return number;
}

const RUN_FLAGS = {
  "timeout-ms": { type: "string" },
  "mem-mb": { type: "string" },
  net: { type: "boolean" },
  scratch: { type: "string" },
  workspace: { type: "string" },
  config: { type: "string" },
} as const;

/** Parses `sandbox run`'s flags up to `--`; everything after it is the command. */
export function parseRunArgs(args: string[]): RunOptions {
  const separator = args.indexOf("--");
  if (separator === -1 || separator === args.length - 1) {
    throw new UsageError("sandbox run needs a command after --, e.g. sandbox run -- echo hi", "sandbox");
  }
  const { values, rest = [] } = parseCommandArgs("sandbox run", args, RUN_FLAGS, { rest: true });
  return {
    network: values.net ?? false,
    argv: rest,
    ...(values["timeout-ms"] !== undefined ? { timeoutMs: parsePositive("--timeout-ms", values["timeout-ms"]) } : {}),
    ...(values["mem-mb"] !== undefined ? { memoryMb: parsePositive("--mem-mb", values["mem-mb"]) } : {}),
    ...(values.scratch !== undefined ? { scratch: values.scratch } : {}),
    ...(values.workspace !== undefined ? { workspace: values.workspace } : {}),
    ...(values.config !== undefined ? { config: values.config } : {}),
  };
}

/** `--config`, or the workspace's config file when there is one; undefined when there is none to read. */
async function runConfig(options: RunOptions, workspaceDir: string) {
  // The config's schema takes longer to load than the run itself: read only when there is a file to read.
  return options.config !== undefined || existsSync(join(workspaceDir, CONFIG_FILE_NAME))
    ? (await import("./command/command-config.ts")).loadCommandConfig(options.config, workspaceDir)
    : undefined;
}

/**
 * The workspace as the room's commands see it for one run under `policy` (its view and secret paths): its mounts,
 * and what the run tells about it afterwards. With `checkLater`, the read view's masks come from the walk of secret
 * files kept in `.org/`, checked while the sandbox starts (the mounts' `ready`): an lstat of every folder, which a
 * project's thousand folders make the longest part of the call, done while the launcher's processes start.
 */
async function workspaceView(workspaceDir: string, policy: SandboxPolicy, checkLater: boolean) {
  const view = policy.workspace;
  const { readOnlyViewMounts, workspaceMounts } = await import("../workspace/workspace-view.ts");
  const session = { sessionId: `sandbox-run-${process.pid}`, sandboxPolicy: policy };
  // Only the write view keeps copies (loaded for it alone: a fifth of what `sandbox run` would load); the read
  // view's one scan of secret files is a fresh one, as a single call's would be anyway.
  let workspaceCopies: WorkspaceCopies | undefined;
  let viewMounts: ViewMounts;
  if (view === "write") {
    workspaceCopies = new (await import("../workspace/workspace-copies.ts")).WorkspaceCopies();
    viewMounts = workspaceMounts(view, workspaceDir, { ...session, workspaceCopies });
  } else viewMounts = readOnlyViewMounts(view, workspaceDir, { ...session, checkLater });
  const { copy, notShown, ...mounts } = viewMounts;
  return {
    // On the private copy, Python's bytecode caches would come back as changes to the project.
    mounts: { ...mounts, ...(copy ? { env: { PYTHONDONTWRITEBYTECODE: "1" } } : {}) },
    /** What the JSON says of the workspace: where it is, the view, and why it was not shown or what the command changed. */
    async describe() {
      const described: { dir: string; view: typeof view; notShown?: string; changed?: string[] } = {
        dir: workspaceDir,
        view,
        ...(notShown ? { notShown } : {}),
      };
      if (copy) described.changed = (await import("../workspace/private-copy.ts")).copyChangedPaths(copy);
      return described;
    },
    /** The copy becomes the workspace's spare, as a closed session's does: the next run copies only what changed. */
    release: () => workspaceCopies?.release(workspaceDir, session.sessionId),
  };
}

async function runCommand(args: string[], signal: AbortSignal): Promise<number> {
  const options = parseRunArgs(args);
  if (options.network && process.stdin.isTTY !== true) {
    throw new UsageError(
      "--net shares the host's whole network and is for a person at a terminal; this run has none (stdin is not a " +
        "terminal). List the hosts the command needs in sandbox.egress of org.config.json instead.",
      "sandbox",
    );
  }
  const workspaceDir = prepareWorkspace(options.workspace ?? process.cwd());
  const config = await runConfig(options, workspaceDir);
  // One call, then org exits: a sandbox started ahead for a next call would only cost time. `--net` is the
  // user's own ask, on their own command line: the only policy that lets a run share the network.
  const { sandbox, sandboxPolicy: policy } = sandboxAccessFrom({ ...(config ? { config } : {}), changes: { poolSize: 0, network: options.network } });
  let workspace = await workspaceView(workspaceDir, policy, true);
  const temporary = options.scratch ? undefined : ownedTempDir("sandbox-run");
  try {
    const run = () =>
      sandbox.run({
        argv: options.argv,
        scratchDir: options.scratch ?? join(temporary ?? tmpdir(), "scratch"),
        timeoutMs: options.timeoutMs,
        limits: options.memoryMb ? { memoryBytes: Math.round(options.memoryMb * 1024 * 1024) } : undefined,
        network: options.network,
        // Under sandbox.egress the command reaches the hosts listed through the guard; nobody is asked about others.
        egress: { command: options.argv.join(" ").slice(0, 200) },
        abortSignal: signal,
        policy,
        ...workspace.mounts,
      });
    let result: Awaited<ReturnType<typeof run>>;
    try {
      result = await run();
    } catch (error) {
      if (!(error instanceof StaleMountsError)) throw error;
      // A folder changed since the kept walk: its sandbox ended before the command, which runs under a new scan's masks.
      workspace = await workspaceView(workspaceDir, policy, false);
      result = await run();
    }
    console.log(JSON.stringify({ ...result, workspace: await workspace.describe() }, null, 2));
    return 0;
  } finally {
    workspace.release();
    if (temporary) rmSync(temporary, { recursive: true, force: true });
  }
}

async function checkCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs("sandbox check", args, { workspace: { type: "string" } });
  const workspace = values.workspace ?? process.cwd();
  // Loaded here only: `sandbox run` has no use for it.
  const { checkSandbox } = await import("../sandbox/sandbox-check.ts");
  const { sandbox, sandboxPolicy: policy } = sandboxAccessFrom();
  const items = await checkSandbox({ sandbox, workspaceDir: resolve(workspace), policy });
  for (const item of items) console.log(`${item.ok ? "ok  " : "FAIL"} ${item.name}: ${item.detail}`);
  const ok = items.every((item) => item.ok);
  const onlyWorkspace = items.every((item) => item.ok || item.name === "workspace");
  console.log(
    ok
      ? "The sandbox works here."
      : onlyWorkspace
        ? "The sandbox works, but not for this workspace: its tool calls will fail until the item above is fixed."
        : "The sandbox does not work here; model-made commands will be refused.",
  );
  return ok ? 0 : 1;
}

export const sandboxCommand: Command = {
  ...nameAndSummary("sandbox"),
  help: HELP,
  run: runSubcommand(
    "sandbox",
    { run: runCommand, check: checkCommand },
    (subcommand) => `sandbox needs 'run' or 'check', got ${subcommand ?? "nothing"}`,
  ),
};

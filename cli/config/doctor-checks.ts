import { routeLines } from "../../config/model-routes.ts";
import { statfsSync } from "node:fs";
import type { OrgConfig } from "../../config/org-config.ts";
import { workingStrace } from "../../fitness/folder-trace.ts";
import { installedGitVersion } from "../../git/installed-git-version.ts";
import { RepoGit } from "../../git/repo-git.ts";
import { checkSandbox } from "../../sandbox/sandbox-check.ts";
import { describeSandboxPolicy, type SandboxPolicy } from "../../sandbox/sandbox-policy.ts";
import type { SandboxAccess } from "../../sandbox/run-sandboxed.ts";
import type { ProbeResult } from "../../llm/language-model.ts";
import { toolCapability } from "../../llm/probe-model-server.ts";
import { noServerHint } from "../command/model-server-probe.ts";
import { hasModel, probeServers } from "../../personas/server-probe.ts";
import { PREBUILT_NAMES, prebuiltBundle, prebuiltDir } from "../build/prebuilt-bundle.ts";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { shellWord } from "../../security/shell-word.ts";
import { windowChecks } from "./doctor-window.ts";

/** One check of `org doctor`: what it found and, when it did not pass, how to fix it. */
export type DoctorCheck = { name: string; status: "ok" | "warn" | "fail"; detail: string; fix?: string };

/** Below this much free space in the workspace, sessions, worktrees and candidates run out. */
const MIN_FREE_BYTES = 1024 ** 3;

/** Runs `command --version`-like argv; its first output line, or undefined when it is not there. */
function versionOf(argv: string[]): string | undefined {
  try {
    const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
    return result.exitCode === 0 ? (result.stdout.toString() || result.stderr.toString()).trim().split("\n")[0] : undefined;
  } catch {
    return undefined;
  }
}

/** Whether each model server answers, and which models it has. */
export function serverCheck(probe: ProbeResult): DoctorCheck {
  const name = `server ${probe.server}`;
  if (!probe.reachable) {
    return {
      name,
      status: "fail",
      detail: `no answer (${probe.error})`,
      fix: noServerHint(probe.server, "doctor").join("\n"),
    };
  }
  if (probe.refused !== undefined) {
    return {
      name,
      status: "fail",
      detail: `answers, but refuses the credentials (${probe.refused})`,
      fix: "check the key: the variable its apiKeyEnv names in org.config.json (OPENAI_API_KEY for OLLAMA_BASE's server)",
    };
  }
  const models = `${probe.models.slice(0, 8).join(", ")}${probe.models.length > 8 ? ", …" : ""}`;
  return { name, status: "ok", detail: `answers; ${probe.models.length} model(s): ${models}` };
}

/** Whether a persona's model is on its server and can call tools. */
export async function modelCheck(
  config: OrgConfig,
  persona: OrgConfig["personas"][number],
  probe: ProbeResult | undefined,
  signal: AbortSignal,
): Promise<DoctorCheck> {
  const name = `${persona.name}'s model ${persona.model}`;
  if (!probe?.reachable)
    return { name, status: "fail", detail: `its server ${persona.server} does not answer`, fix: "start the server first (above)" };
  if (probe.models.length > 0 && !hasModel(probe.models, persona.model)) {
    return {
      name,
      status: "fail",
      detail: `not on ${persona.server}, which has: ${probe.models.join(", ")}`,
      fix:
        `${persona.api === "anthropic" ? "" : `ollama pull ${persona.model}, or `}pick one it has: org ` +
        `chat --model MODEL (or "model" in org.config.json)`,
    };
  }
  if (persona.api === "anthropic") {
    const listed = probe.models.length > 0 ? "present" : "not checked (the server lists no models)";
    return { name, status: "ok", detail: `${listed}; on Anthropic's Messages API (/v1/messages), which calls tools natively` };
  }
  const tools = await toolCapability(persona.server, persona.model, config.authorizations, signal);
  if (tools === false) {
    return {
      name,
      status: "fail",
      detail: `present, but the server says it cannot call tools (no "tools" in /api/show capabilities)`,
      fix: "pick a model that can call tools, e.g. qwen3:8b or llama3.1:8b (ollama pull qwen3:8b; org chat --model qwen3:8b)",
    };
  }
  const listed = probe.models.length > 0 ? "present" : "not checked (the server lists no models)";
  return {
    name,
    status: tools ? "ok" : "warn",
    detail: tools ? `${listed}; can call tools` : `${listed}; whether it can call tools is unknown (the server has no /api/show capabilities)`,
  };
}

/** The sandbox's own checks, each with the same fix. */
async function sandboxChecks(workspaceDir: string, access: SandboxAccess): Promise<DoctorCheck[]> {
  const items = await checkSandbox({ sandbox: access.sandbox, workspaceDir, policy: access.sandboxPolicy });
  return items.map(
    (item): DoctorCheck => ({
      name: `sandbox: ${item.name}`,
      status: item.ok ? "ok" : "fail",
      detail: item.detail,
      ...(item.ok ? {} : { fix: "see 'org sandbox check' and sandbox/README.md (Debian/Ubuntu: apt-get install -y bubblewrap)" }),
    }),
  );
}

/**
 * Whether the browser tool's Chromium starts in the sandbox. A warning, not a failure, where it does not: the browser
 * is one tool of many, and a room without it works.
 */
async function browserCheck(config: OrgConfig, access: SandboxAccess, signal: AbortSignal): Promise<DoctorCheck> {
  try {
    // Loaded here: the browser's modules are no part of a command that never asks for them.
    const { checkBrowser } = await import("../../tools/browser-check.ts");
    const found = await checkBrowser(access, config.browser, signal);
    return found.ok
      ? { name: "browser", status: "ok", detail: found.detail }
      : { name: "browser", status: "warn", detail: `the browser tool cannot start: ${found.detail}`, ...(found.fix ? { fix: found.fix } : {}) };
  } catch (error) {
    return { name: "browser", status: "warn", detail: `could not be checked (${error instanceof Error ? error.message : String(error)})` };
  }
}

/** The model router's routes (`models` in org.config.json), one line each: which calls go to which model. */
export function modelRoutesCheck(routes: readonly string[]): DoctorCheck {
  return { name: "model routes", status: "ok", detail: routes.join("\n") };
}

/** The sandbox policy as one check, a line per setting; a warning when ORG_SANDBOX=off turned the sandbox off. */
export function sandboxPolicyCheck(policy: SandboxPolicy): DoctorCheck {
  const lines = describeSandboxPolicy(policy).map((line) => `${line.name}: ${line.detail}`);
  return {
    name: "sandbox policy",
    status: policy.enabled ? "ok" : "warn",
    detail: lines.join("\n"),
    ...(policy.enabled ? {} : { fix: "unset ORG_SANDBOX (or set it to 'on') to run every tool in the sandbox" }),
  };
}

/** Whether tmux and git are installed. */
function programChecks(): DoctorCheck[] {
  const programs = [
    { tool: "tmux", version: versionOf(["tmux", "-V"]), why: "ops/run.sh and side-by-side instances run in tmux" },
    { tool: "git", version: installedGitVersion(), why: "candidate branches, promotion and rollback use git" },
  ];
  return programs.map(({ tool, version, why }): DoctorCheck => {
    return version
      ? { name: tool, status: "ok", detail: version }
      : { name: tool, status: "fail", detail: `not found: ${why}`, fix: `install ${tool} (Debian/Ubuntu: apt-get install -y ${tool})` };
  });
}

/** Whether the gate can trace which tests read the tool folders; optional, so a warning at worst. */
function straceCheck(): DoctorCheck {
  const strace = workingStrace();
  return strace
    ? { name: "strace", status: "ok", detail: `${strace}: the gate's tests stage runs only the tests that read the tool folders` }
    : {
        name: "strace",
        status: "warn",
        detail: "not found, or it cannot trace here: the gate's tests stage runs every test it selects (slower)",
        fix: "install strace (Debian/Ubuntu: apt-get install -y strace)",
      };
}

/** Whether org's checkout is on main with no changes, as promotion needs. */
async function checkoutCheck(repoDir: string, signal: AbortSignal): Promise<DoctorCheck> {
  try {
    const { checkCheckoutReady } = await import("../../cycle/checkout.ts");
    const main = await checkCheckoutReady(new RepoGit(repoDir), signal);
    return {
      name: "checkout",
      status: "ok",
      detail: `${repoDir} is on main (${main.slice(0, 12)}) with no changes: a candidate can be promoted into it`,
    };
  } catch (error) {
    return {
      name: "checkout",
      status: "fail",
      detail: error instanceof Error ? error.message : String(error),
      fix: "promotion needs org's checkout on main with no changes (git status): commit or stash them; chatting does not",
    };
  }
}

/** Commits of the workspace's history looked through for secret files that were ever added. */
const HISTORY_COMMITS = 10_000;

/**
 * Whether git tracks a secret file of the workspace (`sandbox.secretPaths`), or ever did: the views hide the file, but
 * `git show HEAD:.env` prints what was committed, and only the redactor stands between those values and the models.
 */
export async function trackedSecretsCheck(
  workspaceDir: string,
  secretPaths: readonly string[],
  signal: AbortSignal,
): Promise<DoctorCheck | undefined> {
  const [{ secretPathsInGit }, { secretPathMatcher }] = await Promise.all([
    import("../../cycle/checkout.ts"),
    import("../../workspace/check-change-set.ts"),
  ]);
  const isSecret = secretPathMatcher(secretPaths);
  let found: { tracked: string[]; committed: string[] } | undefined;
  try {
    found = await secretPathsInGit(workspaceDir, (path) => isSecret(path) !== undefined, HISTORY_COMMITS, signal);
  } catch (error) {
    return { name: "secret files in git", status: "warn", detail: `could not be read (${error instanceof Error ? error.message : String(error)})` };
  }
  if (found === undefined) return undefined;
  const { tracked, committed } = found;
  if (tracked.length + committed.length === 0)
    return {
      name: "secret files in git",
      status: "ok",
      detail: "none of the workspace's secret files (sandbox.secretPaths) is tracked or was committed",
    };
  const shown = (paths: readonly string[]) => `${paths.slice(0, 6).join(", ")}${paths.length > 6 ? `, and ${paths.length - 6} more` : ""}`;
  const said = [
    ...(tracked.length > 0 ? [`tracked by git: ${shown(tracked)}`] : []),
    ...(committed.length > 0 ? [`in git's history: ${shown(committed)}`] : []),
  ];
  return {
    name: "secret files in git",
    status: "warn",
    detail:
      `${said.join("; ")}. The views hide them, but git show prints what was committed, and only the ` +
      `redactor (the values it knows, in the forms it knows) keeps it from the models`,
    fix:
      "rotate what they hold; git rm --cached the file and add it to .gitignore; to keep the history out " +
      'of the agents\' reach too, add ".git" to sandbox.secretPaths (docs/workspace.md)',
  };
}

/** Whether the workspace's disk has room for sessions, scratch, worktrees and candidates. */
function diskCheck(workspaceDir: string): DoctorCheck {
  try {
    const stats = statfsSync(workspaceDir);
    const free = stats.bavail * stats.bsize;
    const shown = `${(free / 1024 ** 3).toFixed(1)} GiB free in ${workspaceDir}`;
    return free >= MIN_FREE_BYTES
      ? { name: "disk space", status: "ok", detail: shown }
      : { name: "disk space", status: "fail", detail: shown, fix: "free at least 1 GiB: sessions, scratch, worktrees and candidates live there" };
  } catch (error) {
    return { name: "disk space", status: "warn", detail: `could not be read (${error instanceof Error ? error.message : String(error)})` };
  }
}

/**
 * Each MCP server of the config: a confirmed one is started and its tools listed (then stopped); one not yet
 * confirmed is not started. Each says ok, or what failed and the fix.
 */
export async function mcpServerChecks(config: OrgConfig, workspaceDir: string, access: SandboxAccess, signal: AbortSignal): Promise<DoctorCheck[]> {
  if (config.mcpServers.length === 0) return [];
  const [{ probeMcpServers }, { describeCommand }] = await Promise.all([
    import("../../mcp-client/probe-mcp-servers.ts"),
    import("../../mcp-client/mcp-trust.ts"),
  ]);
  const { orgVersion } = await import("../../config/version.ts");
  const statuses = await probeMcpServers({
    servers: config.mcpServers,
    settings: config.mcp,
    workspaceDir,
    ...access,
    version: orgVersion(),
    signal,
  });
  const commandOf = (name: string) => {
    const server = config.mcpServers.find((candidate) => candidate.name === name);
    return server ? describeCommand(server) : name;
  };
  return statuses.map((status): DoctorCheck => {
    const name = `mcp server ${status.name}`;
    const where = status.transport === "http" ? "at its URL" : status.sandbox ? "in the sandbox" : "on this host as you";
    switch (status.state) {
      case "up": {
        const shown = status.tools.slice(0, 6).map((tool) => tool.name);
        const more = status.tools.length > shown.length ? ", …" : "";
        const skipped = status.skipped.length > 0 ? `; ${status.skipped.length} listed tool(s) not offered (org mcp servers says why)` : "";
        return { name, status: "ok", detail: `started ${where}; ${status.tools.length} tool(s): ${shown.join(", ")}${more}${skipped}` };
      }
      case "untrusted":
        return {
          name,
          status: "fail",
          detail: `not started: ${
            status.changed === undefined
              ? "new or changed since you last confirmed " + "it"
              : `what it runs changed since you confirmed it: ${status.changed}`
          } (${status.launch})`,
          fix: `check the command and the files it runs, then: org mcp trust ${status.name} (or answer its question in 'org chat')`,
        };
      case "off":
        return { name, status: "fail", detail: status.detail ?? "off", fix: "do what the line says, then run 'org doctor' again" };
      default:
        return {
          name,
          status: "fail",
          detail: status.detail ?? `it did not start ${where}`,
          fix:
            status.transport === "http"
              ? "check that the URL answers MCP (Streamable HTTP) and that its headers' variables are exported"
              : `run it yourself to see why: ${commandOf(status.name)}${
                  status.sandbox ? " (it runs in the " + 'sandbox: what it needs beyond /usr must be under "readOnlyPaths" or in the workspace)' : ""
                }`,
        };
    }
  });
}

/** Whether the config's settings that send something out or lower a guard are in effect, or wait for `org config trust`. */
export function configTrustCheck(config: OrgConfig, workspaceFlag: string): DoctorCheck {
  const name = "config trust";
  const file = config.source ?? "org.config.json";
  if (config.unconfirmed.length === 0)
    return {
      name,
      status: "ok",
      detail: config.source === undefined ? "no org.config.json: the defaults apply" : `${file}: nothing waits for your confirmation`,
    };
  return {
    name,
    status: "warn",
    detail:
      `${file}: ${config.unconfirmed.length} setting(s) that send something out or lower a guard are at ` +
      `their defaults until you confirm them: ${config.unconfirmed
        .map((setting) => `${setting.setting} = ` + `${setting.shown} (${setting.why})`)
        .join("; ")}`,
    fix: `check them with 'org config status${workspaceFlag}', then: org config trust${workspaceFlag}`,
  };
}

/**
 * Whether org's commands start from prebuilt bundles of exactly the code in `checkoutDir` (README: `npm run build`).
 * A stale one is never run, so org works either way, only slower: after an edit or a pull until the next build.
 */
export function prebuiltCheck(checkoutDir: string, setting: string | undefined): DoctorCheck {
  const name = "prebuilt bundle";
  if (setting === "off") return { name, status: "ok", detail: "ORG_PREBUILT=off: every command runs from org's files" };
  const dir = prebuiltDir(checkoutDir);
  const stale = PREBUILT_NAMES.filter((entry) => prebuiltBundle(checkoutDir, entry) === undefined);
  if (stale.length === 0) return { name, status: "ok", detail: `commands start from ${dir}, built from org's code as it is` };
  return {
    name,
    status: "warn",
    detail:
      `no bundle in ${dir} matches org's code as it is (${stale.join(", ")}: never built, or org's files, bun or ` +
      `node_modules changed since): every command starts from the files, \`org chat\` at about 1.7× the CPU and each ` +
      `sandboxed command about 1.3× the time`,
    fix: `cd ${shellWord(checkoutDir)} && npm run build`,
  };
}

/** Every check of `org doctor`, in order; none throws. */
export async function doctorChecks(
  options: SandboxAccess & {
    config: OrgConfig;
    workspaceDir: string;
    /** The checkout promotions go into; its readiness is a check. */
    repoDir: string;
    signal: AbortSignal;
    /** How a command names this workspace (` --workspace DIR`, or nothing for the current folder). */
    workspaceFlag?: string;
    /** ORG_PREBUILT as org was started with it. */
    prebuiltSetting?: string;
  },
): Promise<DoctorCheck[]> {
  // `sandboxPolicy`: the policy tools would run under here, shown as one check and used by the sandbox's own.
  const access = { sandbox: options.sandbox, sandboxPolicy: options.sandboxPolicy };
  const { config, signal } = options;
  const probes = await probeServers(config, signal);
  const checks = [configTrustCheck(config, options.workspaceFlag ?? ""), ...probes.map(serverCheck)];
  // In the config's order, one persona at a time.
  for (const persona of config.personas) {
    checks.push(
      await modelCheck(
        config,
        persona,
        probes.find((entry) => entry.server === persona.server),
        signal,
      ),
    );
  }
  checks.push(...(await windowChecks(config, probes, signal)));
  const routes = routeLines(config.models);
  if (routes.length > 0) checks.push(modelRoutesCheck(routes));
  checks.push(sandboxPolicyCheck(options.sandboxPolicy), ...(await sandboxChecks(options.workspaceDir, access)), ...programChecks(), straceCheck());
  checks.push(await browserCheck(config, access, signal));
  checks.push(await checkoutCheck(options.repoDir, signal), prebuiltCheck(CHECKOUT_DIR, options.prebuiltSetting), diskCheck(options.workspaceDir));
  const secretsInGit = await trackedSecretsCheck(options.workspaceDir, options.sandboxPolicy.secretPaths, signal);
  if (secretsInGit) checks.push(secretsInGit);
  checks.push(...(await mcpServerChecks(config, options.workspaceDir, access, signal)));
  return checks;
}

import { statfsSync } from "node:fs";
import { authorizationFor, type OrgConfig } from "../config/org-config.ts";
import { checkSandbox } from "../sandbox/sandbox-check.ts";
import { hasModel, probeModelServer } from "./model-server-probe.ts";

/** One check of `org doctor`: what it found and, when it did not pass, how to fix it. */
export type DoctorCheck = { name: string; status: "ok" | "warn" | "fail"; detail: string; fix?: string };

const SHOW_TIMEOUT_MS = 5_000;
/** Below this much free space in the workspace, sessions, worktrees and candidates run out. */
const MIN_FREE_BYTES = 1024 ** 3;

/**
 * Whether the model can call tools, from Ollama's `POST /api/show` (its `capabilities`); undefined when the
 * server does not say (not Ollama, or an Ollama older than capabilities).
 */
async function toolCapability(baseUrl: string, model: string, authorization: string | undefined, signal: AbortSignal): Promise<boolean | undefined> {
  try {
    const response = await fetch(new URL("/api/show", baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ model }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(SHOW_TIMEOUT_MS)]),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { capabilities?: unknown };
    return Array.isArray(body.capabilities) ? body.capabilities.includes("tools") : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `command --version`-like argv; its first output line, or undefined when it is not there. */
function versionOf(argv: string[]): string | undefined {
  try {
    const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
    return result.exitCode === 0 ? (result.stdout.toString() || result.stderr.toString()).trim().split("\n")[0] : undefined;
  } catch {
    return undefined;
  }
}

/** Every check of `org doctor`, in order; none throws. */
export async function doctorChecks(options: {
  config: OrgConfig;
  workspaceDir: string;
  /** The checkout promotions go into; its readiness is a check. */
  repoDir: string;
  sandboxDisabled: boolean;
  signal: AbortSignal;
}): Promise<DoctorCheck[]> {
  const { config, signal } = options;
  const checks: DoctorCheck[] = [];
  const baseUrls = [...new Set(config.personas.map((persona) => persona.baseUrl))];
  const probes = await Promise.all(baseUrls.map((baseUrl) => probeModelServer(baseUrl, signal)));
  for (const probe of probes) {
    checks.push(
      probe.reachable
        ? {
            name: `server ${probe.baseUrl}`,
            status: "ok",
            detail: `answers; ${probe.models.length} model(s): ${probe.models.slice(0, 8).join(", ")}${probe.models.length > 8 ? ", …" : ""}`,
          }
        : {
            name: `server ${probe.baseUrl}`,
            status: "fail",
            detail: `no answer (${probe.error})`,
            fix: "start Ollama ('ollama serve') or your OpenAI-compatible server, or set OLLAMA_BASE (or the persona's baseUrl) to where it listens",
          },
    );
  }
  for (const persona of config.personas) {
    const probe = probes.find((entry) => entry.baseUrl === persona.baseUrl);
    const name = `${persona.name}'s model ${persona.model}`;
    if (!probe?.reachable) {
      checks.push({ name, status: "fail", detail: `its server ${persona.baseUrl} does not answer`, fix: "start the server first (above)" });
      continue;
    }
    if (probe.models.length > 0 && !hasModel(probe.models, persona.model)) {
      checks.push({
        name,
        status: "fail",
        detail: `not on ${persona.baseUrl}, which has: ${probe.models.join(", ")}`,
        fix: `ollama pull ${persona.model}, or pick one it has: org chat --model MODEL (or "model" in org.config.json)`,
      });
      continue;
    }
    const tools = await toolCapability(persona.baseUrl, persona.model, authorizationFor(config, persona.baseUrl), signal);
    if (tools === false) {
      checks.push({
        name,
        status: "fail",
        detail: `present, but the server says it cannot call tools (no "tools" in /api/show capabilities)`,
        fix: "pick a model that can call tools, e.g. qwen3:8b or llama3.1:8b (ollama pull qwen3:8b; org chat --model qwen3:8b)",
      });
    } else {
      const listed = probe.models.length > 0 ? "present" : "not checked (the server lists no models)";
      checks.push({
        name,
        status: tools ? "ok" : "warn",
        detail: tools ? `${listed}; can call tools` : `${listed}; whether it can call tools is unknown (the server has no /api/show capabilities)`,
      });
    }
  }
  const sandbox = await checkSandbox({ workspaceDir: options.workspaceDir, sandboxDisabled: options.sandboxDisabled });
  for (const item of sandbox) {
    checks.push({
      name: `sandbox: ${item.name}`,
      status: item.ok ? "ok" : "fail",
      detail: item.detail,
      ...(item.ok ? {} : { fix: "see 'org sandbox check' and sandbox/README.md (Debian/Ubuntu: apt-get install -y bubblewrap)" }),
    });
  }
  for (const [tool, argv, why] of [
    ["tmux", ["tmux", "-V"], "ops/run.sh and side-by-side instances run in tmux"],
    ["git", ["git", "--version"], "candidate branches, promotion and rollback use git"],
  ] as const) {
    const version = versionOf([...argv]);
    checks.push(
      version
        ? { name: tool, status: "ok", detail: version }
        : { name: tool, status: "fail", detail: `not found: ${why}`, fix: `install ${tool} (Debian/Ubuntu: apt-get install -y ${tool})` },
    );
  }
  try {
    const { RepoGit } = await import("../git/repo-git.ts");
    const { checkCheckoutReady } = await import("../git/ref-change.ts");
    const main = await checkCheckoutReady(new RepoGit(options.repoDir), signal);
    checks.push({
      name: "checkout",
      status: "ok",
      detail: `${options.repoDir} is on main (${main.slice(0, 12)}) with no changes: a candidate can be promoted into it`,
    });
  } catch (error) {
    checks.push({
      name: "checkout",
      status: "fail",
      detail: error instanceof Error ? error.message : String(error),
      fix: "promotion needs org's checkout on main with no changes (git status): commit or stash them; chatting does not",
    });
  }
  try {
    const stats = statfsSync(options.workspaceDir);
    const free = stats.bavail * stats.bsize;
    const shown = `${(free / 1024 ** 3).toFixed(1)} GiB free in ${options.workspaceDir}`;
    checks.push(
      free >= MIN_FREE_BYTES
        ? { name: "disk space", status: "ok", detail: shown }
        : { name: "disk space", status: "fail", detail: shown, fix: "free at least 1 GiB: sessions, scratch, worktrees and candidates live there" },
    );
  } catch (error) {
    checks.push({ name: "disk space", status: "warn", detail: `could not be read (${error instanceof Error ? error.message : String(error)})` });
  }
  return checks;
}

import { isAbsolute, relative, resolve, sep } from "node:path";
import { z } from "zod";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import { openSealedRecords, saveTrustRecords, type SealedRecords, sealedRecords, trustRecords, workspaceKey } from "../config/trust-store.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { shellWord } from "../security/shell-word.ts";
import { escapeName } from "../workspace/check-change-set.ts";
import { changedStates, launchStates, type PathState, UNCOVERED, UNCOVERED_REASON } from "./launch-file-states.ts";
import { launchPlan } from "./launch-files.ts";
import { OrgError } from "../errors/org-error.ts";

// Every server comes from a file in the workspace, which anyone who wrote the folder (a clone, an archive, a model) may
// have written. A stdio server runs on the host; an HTTP server is sent the user's variables its headers name, and its
// tools get the policies the file gives them (`allow` runs them unasked), wherever its URL points (loopback included).
// So none starts until the user has confirmed exactly that launch, in the console or with `org mcp trust NAME`. For a
// stdio server that launch is also what it runs (launch-files.ts): the program its command finds, its script, the
// package a runner finds in the workspace; a change to any of them needs the user's confirmation again. Confirmations
// live in the user's own org folder (`config/trust-store.ts`), sealed with the user's key, never in the workspace: a
// `.org/` a repository, an archive or a backup brings carries none.

/** A server that cannot be confirmed as it is; the message says why and what to do. */
export class TrustError extends OrgError {
  override name = "TrustError";
}

const HEX64 = /^[0-9a-f]{64}$/;
const Confirmation = z.object({
  fingerprint: z.string().regex(HEX64),
  trustedAt: z.string(),
  /** The state of each path the launch depends on, by the sha256 of the path (the record names no path). */
  files: z.record(z.string().regex(HEX64), z.object({ digest: z.string().regex(HEX64), stat: z.string().max(200).optional() })),
});
export type Confirmation = z.infer<typeof Confirmation>;

/**
 * What is confirmed, as a sha256: the workspace's real path (a confirmation made for another folder names another
 * place), the server's name, and how it starts: command, args, env and headers as written (with their `${VAR}`
 * references, not the values), sandbox, network and the paths it may read, or its URL.
 */
export function launchFingerprint(server: McpServerConfig, workspaceDir: string): string {
  return fingerprintAt(server, workspaceKey(workspaceDir));
}

function fingerprintAt(server: McpServerConfig, workspace: string): string {
  const launch = {
    workspace,
    name: server.name,
    transport: server.transport,
    command: server.command ?? null,
    args: server.args ?? [],
    env: sorted(server.env ?? {}),
    sandbox: server.sandbox === true,
    network: server.network ?? [],
    readOnlyPaths: server.readOnlyPaths ?? [],
    url: server.url ?? null,
    headers: sorted(server.headers ?? {}),
  };
  return new Bun.CryptoHasher("sha256").update(JSON.stringify(launch)).digest("hex");
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The confirmations whose seal holds, by server name, that parse as one. */
function parsedConfirmations(records: ReadonlyMap<string, Record<string, unknown>>): Map<string, Confirmation> {
  const kept = new Map<string, Confirmation>();
  for (const [name, fields] of records) {
    const parsed = Confirmation.safeParse(fields);
    if (parsed.success) kept.set(name, parsed.data);
  }
  return kept;
}

/** The user's confirmations of this workspace's servers, from the user's org folder. */
function readTrust(workspaceDir: string): Map<string, Confirmation> {
  return parsedConfirmations(trustRecords(userOrgDir(), workspaceDir, "mcp"));
}

/** Why a server may not start as it is now: its launch is new or changed, or files it runs changed since it was confirmed. */
export type TrustProblem =
  | { kind: "launch" }
  | { kind: "files"; changed: { label: string; how: "new" | "changed" | "gone" }[]; gone: number }
  | { kind: "uncovered"; reason: string };

const keyOf = (label: string) => new Bun.CryptoHasher("sha256").update(label).digest("hex");

/** keyOf, each label's key made once: a server started from the workspace covers thousands of files, each looked up twice. */
function keysOnce(): (label: string) => string {
  const keys = new Map<string, string>();
  return (label) => {
    let key = keys.get(label);
    if (key === undefined) {
      key = keyOf(label);
      keys.set(label, key);
    }
    return key;
  };
}

/**
 * Why the user's confirmation of this server in this workspace does not cover it as it is now, or undefined when it
 * does: the launch as configured (`launchFingerprint`) and the state of every file it runs from (`launchPlan`), which
 * `env` (the process's when absent) helps find (PATH).
 */
export function trustProblem(server: McpServerConfig, workspaceDir: string, env?: NodeJS.ProcessEnv): TrustProblem | undefined {
  const entry = readTrust(workspaceDir).get(server.name);
  if (entry?.fingerprint !== launchFingerprint(server, workspaceDir)) return { kind: "launch" };
  const kept = entry.files;
  const key = keysOnce();
  const now = launchStates(launchPlan(server, workspaceDir, env), (label) => kept[key(label)]);
  if (now.has(UNCOVERED)) return { kind: "uncovered", reason: UNCOVERED_REASON };
  const { changed, gone } = changedStates(kept, now, key);
  return changed.length > 0 || gone > 0 ? { kind: "files", changed, gone } : undefined;
}

/** Whether the user confirmed this server, as it is configured now and with the files it runs as they are now, in this workspace. */
export function isTrusted(server: McpServerConfig, workspaceDir: string, env?: NodeJS.ProcessEnv): boolean {
  return trustProblem(server, workspaceDir, env) === undefined;
}

/**
 * Records the user's confirmation of this server as configured now, with the state of every file it runs from
 * (replacing an older one of the same name), in the user's org folder; returns how many paths that covers. Throws
 * UserOrgDirError when that folder cannot keep it.
 */
export function recordTrust(server: McpServerConfig, workspaceDir: string, options: { env?: NodeJS.ProcessEnv; now?: Date } = {}): number {
  const confirmations = readTrust(workspaceDir);
  // This server's earlier state of a path first, else another server's here: servers run by one interpreter (bun, node,
  // python: tens of MiB) would each hash it again. A state is kept only while the path's stat is the one it was taken at.
  const earlier = [confirmations.get(server.name), ...confirmations.values()].flatMap((entry) => (entry ? [entry.files] : []));
  const states = launchStates(launchPlan(server, workspaceDir, options.env), (label) => {
    const key = keyOf(label);
    return earlier.find((files) => files[key] !== undefined)?.[key];
  });
  if (states.has(UNCOVERED)) throw new TrustError(`${server.name} cannot be confirmed: ${UNCOVERED_REASON}`);
  saveConfirmation(server, workspaceDir, states, (options.now ?? new Date()).toISOString());
  return states.size;
}

function saveConfirmation(server: McpServerConfig, workspaceDir: string, states: ReadonlyMap<string, PathState>, trustedAt: string): void {
  const files: Record<string, PathState> = {};
  for (const [label, state] of states) files[keyOf(label)] = state;
  const confirmation: Confirmation = { fingerprint: launchFingerprint(server, workspaceDir), trustedAt, files };
  saveTrustRecords(userOrgDir(), workspaceDir, "mcp", new Map([[server.name, confirmation]]));
}

/** This workspace's confirmations as a backup carries them: sealed with the user's key, which stays behind. */
export function carriedTrust(workspaceDir: string): SealedRecords {
  return sealedRecords(userOrgDir(), workspaceDir, "mcp");
}

/**
 * The confirmations a backup carried (`carriedTrust`) that this user's org sealed, by server name, and the workspace
 * they were made for; one made up, altered or sealed by another user's key is left out.
 */
export function carriedConfirmations(carried: SealedRecords): { workspace: string; servers: Map<string, Confirmation> } {
  return { workspace: carried.workspace, servers: parsedConfirmations(openSealedRecords(userOrgDir(), carried, "mcp")) };
}

/**
 * Binds a confirmation a backup carried (`carriedConfirmations`, so sealed by this user) to the workspace it was restored
 * into. It holds only for exactly the launch confirmed in the backed-up workspace (`was`: its real path then, and the
 * path the backup named it by), and while every path the launch runs from is as it was confirmed (those in the
 * workspace read at their new place, their bytes hashed again; one outside read again only when its stat changed).
 * Then it is kept for this workspace, with its time; else the problem, and nothing is kept.
 */
export function rebindTrust(
  server: McpServerConfig,
  workspaceDir: string,
  carried: { workspace: string; confirmation: Confirmation; path: string },
  env?: NodeJS.ProcessEnv,
): TrustProblem | undefined {
  const entry = carried.confirmation;
  if (entry.fingerprint !== fingerprintAt(server, carried.workspace)) return { kind: "launch" };
  const kept = entry.files;
  const here = resolve(workspaceDir);
  const prefixes = [...new Set([carried.path, carried.workspace])];
  // A path in the workspace was kept under the workspace's name then (as given, or its real path).
  const keyThen = (label: string) => {
    if (!label.startsWith(`${here}${sep}`)) return keyOf(label);
    const rest = label.slice(here.length);
    return prefixes.map((prefix) => keyOf(`${prefix}${rest}`)).find((key) => kept[key] !== undefined) ?? keyOf(`${carried.path}${rest}`);
  };
  // A path outside the workspace whose stat is as confirmed (the same file on this machine) keeps its digest unread.
  const now = launchStates(launchPlan(server, workspaceDir, env), (label) => (label.startsWith(`${here}${sep}`) ? undefined : kept[keyOf(label)]));
  if (now.has(UNCOVERED)) return { kind: "uncovered", reason: UNCOVERED_REASON };
  const { changed, gone } = changedStates(kept, now, keyThen);
  if (changed.length > 0 || gone > 0) return { kind: "files", changed, gone };
  saveConfirmation(server, workspaceDir, now, entry.trustedAt);
  return undefined;
}

/** Files shown of a change, at most. */
const SHOWN_CHANGES = 6;

/** Why a server stays off, for a notice: what is new or changed, and the command that confirms it. */
export function describeTrustProblem(server: McpServerConfig, problem: TrustProblem, workspaceDir: string): string {
  const confirm = `run 'org mcp trust ${server.name}' (in the room: /mcp trust ${server.name})`;
  if (problem.kind === "uncovered") return `${server.name} stays off: ${problem.reason}.`;
  if (problem.kind === "launch")
    return `${server.name} stays off: ${
      server.transport === "stdio" ? "its command, args or env are" : "its " + "URL or headers are"
    } new or changed since you last confirmed it (${describeLaunch(server)}). Confirm it in 'org chat', or ${confirm}.`;
  return (
    `${server.name} stays off: what it runs changed since you confirmed it: ` +
    `${describeChangedFiles(problem, workspaceDir)}. Something other than you may have put code there: look at them, and to run them, ${confirm}.`
  );
}

/** The paths a `files` problem found changed, the workspace's relative to it, escaped, a few and how many more. */
export function describeChangedFiles(problem: Extract<TrustProblem, { kind: "files" }>, workspaceDir: string): string {
  const workspace = resolve(workspaceDir);
  const shown = problem.changed.slice(0, SHOWN_CHANGES).map(({ label, how }) => {
    const inside = relative(workspace, label);
    return `${escapeName(inside.startsWith("..") || isAbsolute(inside) ? label : inside)} (${how})`;
  });
  const more = problem.changed.length - shown.length + problem.gone;
  return `${shown.join(", ")}${more > 0 ? `${shown.length > 0 ? " and" : ""} ${more} more` : ""}`;
}

/** How the server starts, in one line for the user's question: the command as a shell would read it, its env, the sandbox and what it may read. */
export function describeLaunch(server: McpServerConfig): string {
  if (server.transport === "http") {
    const headers = Object.entries(server.headers ?? {}).map(([name, value]) => `${name}: ${value}`);
    return `${server.url}${headers.length > 0 ? ` with headers ${headers.join("; ")}` : ""}`;
  }
  // Everything the fingerprint covers is shown: the host paths a sandboxed server may read too.
  const reads = server.readOnlyPaths?.length ? `; reads ${server.readOnlyPaths.map(shellWord).join(", ")}` : "";
  const where =
    server.sandbox === true
      ? `in the sandbox (${server.network?.length ? `network: ${server.network.join(", ")}` : "no network"}${reads})`
      : "on this host as you, unsandboxed";
  return `${describeCommand(server)} — ${where}`;
}

/** A stdio server's command line as a shell would take it: its env, its command and args, each quoted. */
export function describeCommand(server: McpServerConfig): string {
  const command = [server.command ?? "", ...(server.args ?? [])].map(shellWord).join(" ");
  const env = Object.entries(server.env ?? {}).map(([name, value]) => `${name}=${shellWord(value)}`);
  return `${env.length > 0 ? `${env.join(" ")} ` : ""}${command}`;
}

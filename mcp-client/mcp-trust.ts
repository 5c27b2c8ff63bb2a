import { createHash } from "node:crypto";
import { lstatSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { type McpServerConfig, variableReferences } from "../config/mcp-servers.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { ensureOrgDir, orgDirIdentity, readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { shellWord } from "../security/shell-word.ts";

// A stdio server's command comes from a file in the workspace, which anyone who wrote the folder (a clone, an
// archive, a model) may have written; it runs on the host. So it starts only once the user has confirmed exactly
// that command, its args and env (and whether it is sandboxed), in the console or with `org mcp trust NAME`. The
// same holds for an HTTP server whose headers send the user's environment variables: where they go is confirmed.

/** Where confirmations are kept: `.org/mcp-trust.json`, one fingerprint per server name. */
export const MCP_TRUST_FILE = join(ORG_DIR, "mcp-trust.json");

const TrustFile = z.object({
  version: z.literal(1),
  servers: z.record(z.string(), z.object({ fingerprint: z.string().regex(/^[0-9a-f]{64}$/), trustedAt: z.string() })),
});
type TrustFile = z.infer<typeof TrustFile>;

/** Whether a server starts only once confirmed: every stdio server, and an HTTP server whose headers name variables. */
export function needsTrust(server: McpServerConfig): boolean {
  if (server.transport === "stdio") return true;
  return Object.values(server.headers ?? {}).some((value) => variableReferences(value).length > 0);
}

/**
 * What is confirmed, as a sha256: the workspace's real path (a confirmation copied in with someone else's folder
 * names another place), its `.org` folder as the kernel made it (device, inode, birth time: no clone or archive,
 * even one unpacked at the same path with the file 0600, can make them again), the server's name, and how it
 * starts: command, args, env and headers as written (with their `${VAR}` references, not the values), sandbox,
 * network and the paths it may read, or its URL.
 */
export function launchFingerprint(server: McpServerConfig, workspaceDir: string): string {
  let workspace = workspaceDir;
  try {
    workspace = realpathSync(workspaceDir);
  } catch {
    // A folder that does not exist yet is named as given.
  }
  const launch = {
    workspace,
    stateFolder: orgDirIdentity(workspaceDir),
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
  return createHash("sha256").update(JSON.stringify(launch)).digest("hex");
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The confirmations of this workspace; none when there is no file, or when the file is not one org wrote here: a
 * link, not a plain file of this user's, or readable by others (org writes it 0600; git and archives never make a
 * file 0600 unless the umask says so), or not what org writes.
 */
function readTrust(workspaceDir: string): TrustFile {
  const empty: TrustFile = { version: 1, servers: {} };
  const path = join(workspaceDir, MCP_TRUST_FILE);
  try {
    const stat = lstatSync(path);
    if (!stat.isFile() || (stat.mode & 0o077) !== 0 || stat.uid !== process.getuid?.()) return empty;
    const parsed = TrustFile.safeParse(JSON.parse(readPrivateFile(path)));
    return parsed.success ? parsed.data : empty;
  } catch {
    return empty;
  }
}

/** Whether the user confirmed this server, as it is configured now, in this workspace. */
export function isTrusted(server: McpServerConfig, workspaceDir: string): boolean {
  if (!needsTrust(server)) return true;
  return readTrust(workspaceDir).servers[server.name]?.fingerprint === launchFingerprint(server, workspaceDir);
}

/** Records the user's confirmation of this server as configured now (replacing an older one of the same name). */
export function recordTrust(server: McpServerConfig, workspaceDir: string, now: Date = new Date()): void {
  // The fingerprint names the `.org` folder the confirmation is kept in, so it is made first.
  ensureOrgDir(workspaceDir);
  const trust = readTrust(workspaceDir);
  trust.servers[server.name] = { fingerprint: launchFingerprint(server, workspaceDir), trustedAt: now.toISOString() };
  writePrivateFile(join(workspaceDir, MCP_TRUST_FILE), `${JSON.stringify(trust, null, 2)}\n`, { durable: true });
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

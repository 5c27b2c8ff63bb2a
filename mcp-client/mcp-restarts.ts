import { lstatSync, renameSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { numberedLines, readJsonLines } from "../config/json-lines.ts";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { appendPrivateFile, ensureOrgDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import { launchFingerprint } from "./mcp-trust.ts";

// What `org supervise` reads and writes of the room's MCP servers, from another process than the one that runs them:
// each restart (and each restart not made because the server is held) is a line of `.org/mcp-restarts.jsonl`, which
// every org process that runs servers of this workspace appends to; a server the supervisor found restarting too often
// is held in `.org/mcp-held.json`, for exactly the launch it was held for (a changed command, args or env releases it),
// and its connection goes off instead of restarting.

/** One line per restart of a server, or per restart not made because it is held. */
const MCP_RESTARTS_FILE = join(ORG_DIR, "mcp-restarts.jsonl");
/** The servers held, by name. */
const MCP_HELD_FILE = join(ORG_DIR, "mcp-held.json");
/** Past this the restart log is moved to `.1` (one kept): bounded, and a read of it too. */
const ROTATE_AT_BYTES = 1024 * 1024;

const RestartLine = z.object({
  t: z.iso.datetime(),
  server: z.string().max(200),
  event: z.enum(["restart", "held"]),
  reason: z.string().max(500).optional(),
});
export type McpRestartEvent = z.infer<typeof RestartLine>;

const HeldFile = z.object({
  version: z.literal(1),
  servers: z.record(z.string(), z.object({ fingerprint: z.string().regex(/^[0-9a-f]{64}$/), reason: z.string().max(1000), at: z.iso.datetime() })),
});
type HeldFile = z.infer<typeof HeldFile>;

/** Appends one event of `server`; a failure to write is not the connection's problem and is ignored. */
export function recordMcpRestart(workspaceDir: string, server: string, event: McpRestartEvent["event"], reason = "", now = new Date()): void {
  try {
    const path = join(workspaceDir, MCP_RESTARTS_FILE);
    if ((lstatSync(path, { throwIfNoEntry: false })?.size ?? 0) > ROTATE_AT_BYTES) renameSync(path, `${path}.1`);
    const line: McpRestartEvent = { t: now.toISOString(), server: server.slice(0, 200), event, ...(reason ? { reason: oneLine(reason, 500) } : {}) };
    appendPrivateFile(path, `${JSON.stringify(line)}\n`);
  } catch {
    // The log is for the supervisor; the server's restart goes on without it.
  }
}

/** The events since `sinceMs` (the current log and its one archive), oldest first; lines that do not parse are skipped. */
export function readMcpRestarts(workspaceDir: string, sinceMs: number): McpRestartEvent[] {
  const events: McpRestartEvent[] = [];
  for (const path of [join(workspaceDir, `${MCP_RESTARTS_FILE}.1`), join(workspaceDir, MCP_RESTARTS_FILE)]) {
    let text: string;
    try {
      if (!lstatSync(path, { throwIfNoEntry: false })) continue;
      text = readPrivateFile(path);
    } catch {
      continue;
    }
    // A torn or foreign line is passed over.
    for (const { value } of readJsonLines(numberedLines(text), RestartLine).values) if (Date.parse(value.t) >= sinceMs) events.push(value);
  }
  return events;
}

function readHeld(workspaceDir: string): HeldFile {
  const path = join(workspaceDir, MCP_HELD_FILE);
  try {
    if (!lstatSync(path, { throwIfNoEntry: false })) return { version: 1, servers: {} };
    return HeldFile.parse(JSON.parse(readPrivateFile(path)));
  } catch {
    return { version: 1, servers: {} };
  }
}

/** Holds `server` as it is configured now: its connection stops restarting it until its launch changes or the hold is lifted. */
export function holdMcpServer(workspaceDir: string, server: McpServerConfig, reason: string, now = new Date()): void {
  ensureOrgDir(workspaceDir);
  const held = readHeld(workspaceDir);
  held.servers[server.name] = { fingerprint: launchFingerprint(server, workspaceDir), reason: reason.slice(0, 1000), at: now.toISOString() };
  writePrivateFile(join(workspaceDir, MCP_HELD_FILE), `${JSON.stringify(held, null, 2)}\n`, { durable: true });
}

/** Lifts the hold of `name`; false when it was not held. */
export function releaseMcpServer(workspaceDir: string, name: string): boolean {
  const held = readHeld(workspaceDir);
  if (!(name in held.servers)) return false;
  delete held.servers[name];
  writePrivateFile(join(workspaceDir, MCP_HELD_FILE), `${JSON.stringify(held, null, 2)}\n`, { durable: true });
  return true;
}

/** Why `server` is held, when it is held for its launch as configured now. */
export function mcpHold(workspaceDir: string, server: McpServerConfig): { reason: string; at: string } | undefined {
  const entry = readHeld(workspaceDir).servers[server.name];
  if (!entry || entry.fingerprint !== launchFingerprint(server, workspaceDir)) return undefined;
  return { reason: entry.reason, at: entry.at };
}

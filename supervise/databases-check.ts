import { Database } from "bun:sqlite";
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { processesHolding } from "../concurrency/open-files.ts";
import { MEMORY_DIR } from "../config/workspace-paths.ts";
import { checkMemoryFile, isDamagedMemoryError } from "../memory/memory-database.ts";
import { MEMORY_DATABASE_FILE } from "../memory/memory-store.ts";
import { REGISTRY_DATABASE_PATH, recreateRegistryDatabase } from "../registry/registry-database.ts";
import { ToolRegistry } from "../registry/tool-registry.ts";
import { isDamagedDatabaseError } from "../security/stamped-database.ts";
import { restoreMemory } from "./restore-memory.ts";
import type { Check, CheckResult, Fix, Finding, SuperviseContext } from "./supervise-check.ts";

/** The databases watched: memory (restored from a backup), the registry (a cache, rebuilt), the supervisor's own state. */
export type WatchedDatabase = { role: "memory" | "registry" | "supervisor"; path: string };

export function watchedDatabases(context: SuperviseContext): WatchedDatabase[] {
  return [
    { role: "memory", path: join(context.workspaceDir, MEMORY_DIR, MEMORY_DATABASE_FILE) },
    { role: "registry", path: join(context.repoDir, REGISTRY_DATABASE_PATH) },
    { role: "supervisor", path: context.state.path },
  ];
}

/** A file's size and mtime with its -wal's: unchanged since a good check, the file needs no check again. */
function fingerprint(path: string): string {
  return ["", "-wal"]
    .map((suffix) => {
      const stat = lstatSync(`${path}${suffix}`, { throwIfNoEntry: false });
      return stat ? `${stat.size}:${stat.mtimeMs}` : "-";
    })
    .join("/");
}

function quickCheck(connection: Database): string[] {
  return connection
    .query<{ quick_check: string }, []>("PRAGMA quick_check")
    .all()
    .map((row) => row.quick_check);
}

/** What `quick_check` (memory: its own open check, FTS included) says of one file: ok, damaged, locked past the bound. */
export function checkDatabase(database: WatchedDatabase, context: SuperviseContext): { kind: "ok" | "damaged" | "locked" | "error"; detail: string } {
  let connection: Database | undefined;
  try {
    let rows = ["ok"];
    if (database.role === "memory") checkMemoryFile(database.path, context.config.supervise.lockBound);
    else if (database.role === "supervisor") {
      // Read afresh: the state's own connection answers from its page cache and misses damage to the file.
      const problem = context.state.problem();
      if (problem !== undefined) return { kind: "damaged", detail: problem };
    } else {
      connection = new Database(database.path, { readwrite: true, create: false, strict: true });
      connection.exec(`PRAGMA busy_timeout = ${Math.round(context.config.supervise.lockBound)}`);
      rows = quickCheck(connection);
    }
    if (rows.length !== 1 || rows[0] !== "ok") return { kind: "damaged", detail: `quick_check: ${rows.slice(0, 3).join("; ")}` };
    return { kind: "ok", detail: "quick_check ok" };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/SQLITE_BUSY|database is locked/i.test(message))
      return { kind: "locked", detail: `locked for more than ${Math.round(context.config.supervise.lockBound / 1000)} s (supervise.lockBound)` };
    if (isDamagedDatabaseError(error) || (database.role === "memory" && isDamagedMemoryError(error))) return { kind: "damaged", detail: message };
    return { kind: "error", detail: message };
  } finally {
    connection?.close();
  }
}

function findingOf(database: WatchedDatabase, found: { kind: string; detail: string }): Finding {
  const title = `${
    database.role === "memory" ? "memory's" : database.role === "registry" ? "the " + "registry's" : "the supervisor's"
  } database ${found.kind}`;
  if (found.kind === "locked") {
    const holders = processesHolding([database.path]).get(database.path) ?? [];
    const detail = `${database.path} is ${found.detail}; held open by pid ${holders.join(", ") || "none found"}`;
    return database.role === "registry"
      ? {
          key: database.path,
          title,
          detail,
          fix: { action: "rebuild-registry", target: database.path, detail: "the registry is a cache: make it anew" },
        }
      : { key: database.path, title, detail };
  }
  const detail = `${database.path}: ${found.detail}`;
  if (found.kind !== "damaged") return { key: database.path, title: `${database.path} could not be checked`, detail };
  const fix = DAMAGE_FIXES[database.role];
  return fix ? { key: database.path, title, detail, fix: { ...fix, target: database.path } } : { key: database.path, title, detail };
}

/** What a damaged database of each role gets; the supervisor's own state is kept aside and begun anew by the supervisor holding it, before its next
 * round.
 */
const DAMAGE_FIXES: Partial<Record<WatchedDatabase["role"], { action: "restore-memory" | "rebuild-registry"; detail: string }>> = {
  memory: { action: "restore-memory", detail: "restore it from the newest good backup, keeping the damaged file beside it" },
  registry: { action: "rebuild-registry", detail: "the registry is a cache: make it anew from the tools" },
};

/** Pattern 7: each watched database passes `quick_check` and is not locked past `supervise.lockBound`; unchanged files are not read again. */
async function runDatabasesCheck(context: SuperviseContext): Promise<CheckResult> {
  const findings: Finding[] = [];
  const checked: string[] = [];
  for (const database of watchedDatabases(context)) {
    if (!lstatSync(database.path, { throwIfNoEntry: false })) continue;
    const key = `db:${database.path}`;
    const print = fingerprint(database.path);
    if (database.role !== "supervisor" && context.state.get(key) === print) {
      checked.push(`${database.role} unchanged`);
      continue;
    }
    const found = checkDatabase(database, context);
    if (found.kind === "ok") {
      if (database.role !== "supervisor") context.state.set(key, fingerprint(database.path));
      checked.push(`${database.role} ok`);
    } else findings.push(findingOf(database, found));
  }
  if (findings.length > 0) return { state: "fail", detail: findings.map((finding) => finding.title).join("; "), findings };
  return { state: "ok", detail: checked.length > 0 ? checked.join(", ") : "no database yet", findings };
}

/** `rebuild-registry`: the registry's cache deleted, made anew and filled again from the tools (promoted and candidates). */
export const rebuildRegistry: Fix = {
  announce: true,
  target: "the registry's database path: make the cache anew",
  refuse: async (target, context) =>
    target === join(context.repoDir, REGISTRY_DATABASE_PATH)
      ? undefined
      : `rebuild-registry takes the registry's path, ${join(context.repoDir, REGISTRY_DATABASE_PATH)}`,
  async apply(target, context) {
    recreateRegistryDatabase(target).close();
    const { registry } = ToolRegistry.open(context.repoDir, target);
    try {
      const summary = await registry.refresh(context.signal);
      return { ok: true, detail: `made ${target} anew and indexed ${summary.added} tools again` };
    } finally {
      registry.close();
    }
  },
};

export const databasesCheck: Check = {
  name: "databases",
  run: runDatabasesCheck,
  fixes: { "rebuild-registry": rebuildRegistry, "restore-memory": restoreMemory },
};

import { renameSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { REPO_STATE_PREFIX, WORKSPACE_STATE_PREFIX } from "../backup/backup-manifest.ts";
import { backupDirOf, listBackups } from "../backup/backup-retention.ts";
import { MEMORY_DIR, ORG_DIR } from "../config/workspace-paths.ts";
import { checkMemoryFile, openMemoryDatabase } from "../memory/memory-database.ts";
import { MEMORY_DATABASE_FILE, MemoryStore } from "../memory/memory-store.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { keepDamaged } from "./state-file.ts";
import type { Fix, SuperviseContext } from "./supervise-check.ts";

/** Memory's database as a path under `.org/`: `memory/memory.sqlite`. */
const MEMORY_ENTRY = `${relative(ORG_DIR, MEMORY_DIR)}/${MEMORY_DATABASE_FILE}`;

/**
 * The workspace's memory database from the newest backup that checks out whole and holds a good one, written beside
 * the live file as a partial; undefined when no backup does. Older backups are tried when a newer one fails.
 */
async function memoryFromBackups(context: SuperviseContext, path: string): Promise<{ file: string; backup: string; takenAt: string } | undefined> {
  for (const backup of listBackups(backupDirOf(context.workspaceDir, context.config.backup))) {
    const places = new Map([
      [`${REPO_STATE_PREFIX}${MEMORY_ENTRY}`, `${path}.${process.pid}.repo.partial`],
      [`${WORKSPACE_STATE_PREFIX}${MEMORY_ENTRY}`, `${path}.${process.pid}.workspace.partial`],
    ]);
    try {
      // Loaded for a restore only: the backup reader brings node:zlib and node's streams into every round otherwise.
      const { extractEntries } = await import("../backup/extract-entries.ts");
      const { manifest, written } = await extractEntries(backup.path, (name) => places.get(name));
      const wanted = manifest.workspace.same ? [...places.keys()][0] : [...places.keys()][1];
      const file = wanted === undefined ? undefined : written.get(wanted);
      for (const [name, other] of written) if (name !== wanted) rmSync(other, { force: true });
      if (file === undefined) continue;
      try {
        openMemoryDatabase(file).close();
      } catch {
        rmSync(file, { force: true });
        continue;
      }
      return { file, backup: backup.path, takenAt: manifest.takenAt };
    } catch {
      // This backup does not check out; an older one may.
    }
  }
  return undefined;
}

/**
 * `restore-memory`: the damaged memory database is kept beside itself (`memory.sqlite.damaged-<time>`) and replaced by
 * the copy in the newest good backup; with no backup holding one, memory is rebuilt from the transcripts and saved facts.
 */
export const restoreMemory: Fix = {
  announce: true,
  target: "memory's database path: restore it from the newest good backup",
  refuse: async (target, context) => {
    const path = join(context.workspaceDir, MEMORY_DIR, MEMORY_DATABASE_FILE);
    return target === path ? undefined : `restore-memory takes the workspace's memory database, ${path}`;
  },
  async apply(target, context) {
    ensurePrivateDir(dirname(target));
    const restored = await memoryFromBackups(context, target);
    const kept = keepDamaged(target, context.now());
    if (restored) {
      renameSync(restored.file, target);
      checkMemoryFile(target);
      return {
        ok: true,
        detail:
          `restored ${target} from ${restored.backup} (taken ${restored.takenAt}); the damaged file is ` +
          `kept as ${kept}; 'org memory rebuild' indexes the sessions since`,
      };
    }
    const { store, notices } = MemoryStore.open(context.workspaceDir, { secrets: context.config.secrets });
    store.close();
    return {
      ok: true,
      detail:
        `no backup held a good memory database, so it was rebuilt from the transcripts and facts.jsonl ` +
        `(${notices.join("; ") || "done"}); the damaged file is kept as ${kept}`,
    };
  },
};

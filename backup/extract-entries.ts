import { closeSync, openSync, rmSync } from "node:fs";
import type { BackupManifest } from "./backup-manifest.ts";
import { checkBackup, hashEntry, writeEntryTo } from "./check-backup.ts";

/**
 * Reads a backup through, checking it whole as `org backup verify` does, and writes each entry `placeOf` gives a path
 * (a new file, 0600) to that path. Throws BadBackupError when the backup does not check out, after removing what it
 * wrote. Returns the manifest and what was written where.
 */
export async function extractEntries(
  file: string,
  placeOf: (name: string) => string | undefined,
): Promise<{ manifest: BackupManifest; written: Map<string, string> }> {
  const written = new Map<string, string>();
  try {
    const manifest = await checkBackup(file, async (name, entry) => {
      const path = placeOf(name);
      if (path === undefined) return hashEntry(entry);
      const fd = openSync(path, "wx", 0o600);
      written.set(name, path);
      try {
        return await writeEntryTo(entry, fd);
      } finally {
        closeSync(fd);
      }
    });
    return { manifest, written };
  } catch (error) {
    for (const path of written.values()) rmSync(path, { force: true });
    throw error;
  }
}

import { closeSync, openSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { formatBytes } from "../sandbox/run-watchdog.ts";
import type { BackupManifest } from "./backup-manifest.ts";
import { checkBackup, hashEntry, NoRoomError, shownName, writeEntryTo } from "./check-backup.ts";
import { expansionLimit } from "./expansion-limit.ts";
import { roomIn, SPARE_BYTES } from "./free-space.ts";

/**
 * Reads a backup through, checking it whole as `org backup verify` does, and writes each entry `placeOf` gives a path
 * (a new file, 0600) to that path, each only when its size (as the archive declares it, before a byte is read) fits in
 * what is free there. Throws BadBackupError when the backup does not check out, NoRoomError when an entry does not fit,
 * ImplausibleBackupError when its entries declare more than `expansionLimit` allows for its size (unless `allowLarge`,
 * with `override` saying how the person lifts that), after removing what it wrote. Returns the manifest and what was
 * written where.
 */
export async function extractEntries(
  file: string,
  placeOf: (name: string) => string | undefined,
  options: { allowLarge?: boolean; override?: string } = {},
): Promise<{ manifest: BackupManifest; written: Map<string, string> }> {
  const written = new Map<string, string>();
  try {
    const manifest = await checkBackup(file, {
      ...(options.allowLarge ? {} : { expansion: expansionLimit(file, options.override ?? "take it out of the backups folder") }),
      onFile: async (name, entry) => {
        const path = placeOf(name);
        if (path === undefined) return hashEntry(entry);
        const room = roomIn(dirname(path));
        if (entry.size > room)
          throw new NoRoomError(
            `${file}: the entry ${shownName(name)} holds ${formatBytes(entry.size)}, more than the ` +
              `${formatBytes(room)} free in ${dirname(path)} (less ${formatBytes(SPARE_BYTES)} kept free); free some space there`,
          );
        const fd = openSync(path, "wx", 0o600);
        written.set(name, path);
        try {
          return await writeEntryTo(entry, fd);
        } finally {
          closeSync(fd);
        }
      },
    });
    return { manifest, written };
  } catch (error) {
    for (const path of written.values()) rmSync(path, { force: true });
    throw error;
  }
}

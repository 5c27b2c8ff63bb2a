import { readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import type { BackupSettings } from "../config/supervise-settings.ts";

/** A backup's file name: `org-backup-<UTC second>.tar.gz`. Here, not with the backup's taking, so listing loads none of it. */
export const BACKUP_FILE = /^org-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.tar\.gz$/;

/** A backup file in a backup folder: when it was taken (its name) and when its file was last written (its mtime). */
export type BackupFile = { name: string; path: string; takenAt: Date; writtenAt: Date; bytes: number };

/** A backup made this recently (taken or written) is never removed by `backup.keep`: another may be under way beside it. */
export const FRESH_BACKUP_MS = 60_000;

/** The backups `org backup` wrote in `dir` (by their names), newest first; other files are not org's and are left alone. */
export function listBackups(dir: string): BackupFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: BackupFile[] = [];
  for (const name of names) {
    const match = BACKUP_FILE.exec(name);
    const stamp = match?.[1];
    if (stamp === undefined) continue;
    const takenAt = new Date(
      `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
    );
    const stat = statSync(join(dir, name), { throwIfNoEntry: false });
    if (!stat?.isFile() || Number.isNaN(takenAt.getTime())) continue;
    found.push({ name, path: join(dir, name), takenAt, writtenAt: stat.mtime, bytes: stat.size });
  }
  return found.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || (a.name < b.name ? 1 : -1));
}

/** The ISO week of a UTC day: `2026-W48`. */
export function isoWeek(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

/**
 * Which backups `backup.keep` keeps (newest first): the newest of each of the `daily` newest days that have one, the
 * newest of each of the `weekly` newest ISO weeks that have one, always the newest of all, and any made within the
 * minute before `now` (two of one day keep the newest once the older is a minute old: a person's `org backup` right
 * after the supervisor's daily one removes nothing).
 */
export function keptBackups(backups: readonly BackupFile[], keep: BackupSettings["keep"], now: number): Map<string, string[]> {
  const reasons = new Map<string, string[]>();
  const mark = (file: BackupFile | undefined, why: string) => {
    if (file) reasons.set(file.name, [...(reasons.get(file.name) ?? []), why]);
  };
  const newestOf = (key: (date: Date) => string, count: number, label: string) => {
    const seen = new Set<string>();
    for (const file of backups) {
      const group = key(file.takenAt);
      if (seen.has(group)) continue;
      if (seen.size >= count) break;
      seen.add(group);
      mark(file, `${label} ${group}`);
    }
  };
  newestOf((date) => date.toISOString().slice(0, 10), keep.daily, "daily");
  newestOf(isoWeek, keep.weekly, "weekly");
  mark(backups[0], "newest");
  for (const file of backups)
    if (now - Math.max(file.takenAt.getTime(), file.writtenAt.getTime()) < FRESH_BACKUP_MS) mark(file, "made within the minute");
  return reasons;
}

/** Removes the backups of `dir` that `backup.keep` does not keep at `now`; returns them. */
export function applyRetention(dir: string, keep: BackupSettings["keep"], now: number): BackupFile[] {
  const backups = listBackups(dir);
  const kept = keptBackups(backups, keep, now);
  const dropped = backups.filter((file) => !kept.has(file.name));
  for (const file of dropped) rmSync(file.path, { force: true });
  return dropped;
}

/** Where backups go: `backup.dir` (relative to the workspace), else `.org/backups/` of the workspace. */
export function backupDirOf(workspaceDir: string, settings: BackupSettings): string {
  return settings.dir === undefined ? join(workspaceDir, ORG_DIR, "backups") : resolve(workspaceDir, settings.dir);
}

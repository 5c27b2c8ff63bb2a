import { statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** What a restore or an extraction leaves free on a disk at least: it never fills one. */
export const SPARE_BYTES = 64 * 1024 * 1024;

/** The bytes this user may still write on the file system of `dir`, or of its nearest folder that exists. */
export function freeSpace(dir: string): number {
  for (let at = resolve(dir); ; at = dirname(at)) {
    try {
      const stats = statfsSync(at);
      return stats.bavail * stats.bsize;
    } catch (error) {
      if (dirname(at) === at) throw error;
    }
  }
}

/** What may be written into `dir`: the free space there, less SPARE_BYTES (none when less is free). */
export function roomIn(dir: string): number {
  return Math.max(0, freeSpace(dir) - SPARE_BYTES);
}

import { rmSync } from "node:fs";
import { join } from "node:path";
import { bundleRefs, emptyRepository, fetchBundle } from "../git/bundle.ts";
import { type BackupManifest, BUNDLE_ENTRY } from "./backup-manifest.ts";
import { BadBackupError } from "./check-backup.ts";
import { extractEntries } from "./extract-entries.ts";
import { mainTree } from "./main-tree.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";

export type VerifiedBackup = { manifest: BackupManifest; entries: number; bytes: number; refs: number };

/**
 * `org backup verify FILE`: every entry's size and SHA-256 against the manifest (nothing missing, nothing extra, plain
 * files and folders with plain names only), then the git bundle verified by git in a throw-away repository, its refs
 * compared with the manifest's, and main's tree read as a restore would check it out (no `.org` in it). Throws
 * BadBackupError naming what is wrong, ImplausibleBackupError for declared sizes no backup of its size has (unless
 * `allowLarge`).
 */
export async function verifyBackup(file: string, signal?: AbortSignal, options: { allowLarge?: boolean } = {}): Promise<VerifiedBackup> {
  const scratch = ownedTempDir("backup-verify");
  try {
    const bundle = join(scratch, "refs.bundle");
    const { manifest } = await extractEntries(file, (name) => (name === BUNDLE_ENTRY ? bundle : undefined), {
      ...(options.allowLarge ? { allowLarge: true } : {}),
      override: "verify it with 'org backup verify --allow-large'",
    });
    const git = await emptyRepository(join(scratch, "repo"), signal);
    const verified = await git.verifyBundle(bundle, signal);
    if (!verified.ok)
      throw new BadBackupError(`${file}: the entry "${BUNDLE_ENTRY}" is no whole git bundle: ${verified.problem.split("\n").slice(0, 3).join(" ")}`);
    const heads = await bundleRefs(git, bundle, signal);
    const wrong = Object.entries(manifest.repo.refs).find(([ref, id]) => heads.get(ref) !== id);
    if (wrong)
      throw new BadBackupError(`${file}: the git bundle has ${wrong[0]} at ${heads.get(wrong[0]) ?? "nothing"}, the manifest says ${wrong[1]}`);
    // What a restore would refuse to check out, verify refuses.
    const { main } = await fetchBundle(git, bundle, signal);
    await mainTree(git, main, signal).catch((error: unknown) => {
      throw error instanceof BadBackupError ? new BadBackupError(`${file}: ${error.message}`) : error;
    });
    const bytes = manifest.entries.reduce((sum, entry) => sum + entry.size, 0);
    return { manifest, entries: manifest.entries.length, bytes, refs: heads.size };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

import { z } from "zod";
import { OBJECT_ID_PATTERN } from "../git/ref-names.ts";

// `manifest.json`, the last entry of every backup: what the backup holds (each entry's size and SHA-256), the refs
// the bundle carries, and where the checkout and the workspace were. `verify` and `restore` trust nothing else.

/** The git bundle of every ref, inside the archive. */
export const BUNDLE_ENTRY = "git/refs.bundle";
/** The manifest, the archive's last entry. */
export const MANIFEST_ENTRY = "manifest.json";
/** Where the checkout's `.org/` state goes in the archive (the workspace's too, when they are one folder). */
export const REPO_STATE_PREFIX = "repo/.org/";
/** Where the workspace's `.org/` state goes when the workspace is not the checkout. */
export const WORKSPACE_STATE_PREFIX = "workspace/.org/";
/** The workspace's org.config.json as it was (restored into the workspace, where it waits for `org config trust` as any repository's would). */
export const CONFIG_ENTRY = "workspace/org.config.json";
/**
 * The workspace's MCP confirmations, under its state prefix: sealed with the key of the user whose org took the backup
 * (`config/trust-store.ts`), which stays behind, so a restore believes only those this user's org sealed.
 */
export const CARRIED_TRUST_FILE = "mcp-trust.json";

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const ObjectId = z.string().regex(OBJECT_ID_PATTERN);

export const ManifestEntry = z.strictObject({ name: z.string().min(1).max(4096), size: z.int().min(0), sha256: Sha256 });
export type ManifestEntry = z.infer<typeof ManifestEntry>;

export const BackupManifest = z.strictObject({
  format: z.literal(1),
  takenAt: z.iso.datetime(),
  org: z.string().max(100),
  repo: z.strictObject({
    path: z.string(),
    main: ObjectId,
    /** Every ref the bundle holds, as read under the promotion lock. */
    refs: z.record(z.string().max(1000), ObjectId),
  }),
  workspace: z.strictObject({
    path: z.string(),
    same: z.boolean(),
    /** Where an older org recorded the workspace's MCP confirmations were made; read by nothing now (confirmations are sealed, `CARRIED_TRUST_FILE`).
     *
     */
    trustPlace: z.strictObject({ workspace: z.string().max(4096), stateFolder: z.string().max(200) }).optional(),
  }),
  /** The interrupted promote or rollback the journal held when the refs were read (finished by the next one after a restore). */
  journal: z.strictObject({ op: z.string().max(20), tag: z.string().max(100), step: z.string().max(40) }).optional(),
  entries: z.array(ManifestEntry).max(10_000_000),
  /** Files left out, and why (a damaged database, a file that changed as it was read). */
  skipped: z.array(z.strictObject({ path: z.string(), reason: z.string().max(2000) })).max(100_000),
});
export type BackupManifest = z.infer<typeof BackupManifest>;

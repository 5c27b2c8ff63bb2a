import { realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { ensureUserOrgDir, readUserFile, userTrustKey, writeUserFile } from "./user-org-dir.ts";
import { canonicalJson } from "./canonical-json.ts";

// The person's confirmations, kept in their own org folder (`user-org-dir.ts`), one file per workspace
// (`trust/<sha256 of its real path>.json`), never in the workspace. Each record is sealed with the user's key
// (HMAC-SHA256 over its kind, the workspace, its id and its fields), so a record is believed only when this user's org
// wrote it: one a backup carries (`sealedRecords`) crosses a restore only when the seal holds (`openSealedRecords`).

/** What a confirmation is of: a setting of org.config.json (`config`), or an MCP server's launch (`mcp`). */
export type TrustKind = "config" | "mcp";

const Seal = z.string().regex(/^[0-9a-f]{64}$/);
const SealedRecord = z.object({ fields: z.record(z.string(), z.unknown()), seal: Seal });
export type SealedRecord = z.infer<typeof SealedRecord>;

/** A workspace's sealed records of one kind, as a backup carries them. */
export const SealedRecords = z.object({
  version: z.literal(1),
  workspace: z.string().min(1).max(4096),
  records: z.record(z.string().max(200), SealedRecord),
});
export type SealedRecords = z.infer<typeof SealedRecords>;

const StoreFile = z.object({
  version: z.literal(1),
  workspace: z.string(),
  config: z.record(z.string().max(200), SealedRecord).default({}),
  mcp: z.record(z.string().max(200), SealedRecord).default({}),
});
type StoreFile = z.infer<typeof StoreFile>;

/** The sha256 of a value's canonical JSON. */
export function valueDigest(value: unknown): string {
  return new Bun.CryptoHasher("sha256").update(canonicalJson(value)).digest("hex");
}

/** A workspace as confirmations name it: its real path (the path as given when it does not exist yet). */
export function workspaceKey(workspaceDir: string): string {
  try {
    return realpathSync(workspaceDir);
  } catch {
    return resolve(workspaceDir);
  }
}

function seal(key: Buffer, kind: TrustKind, workspace: string, id: string, fields: Record<string, unknown>): string {
  return new Bun.CryptoHasher("sha256", key).update(canonicalJson({ kind, workspace, id, fields })).digest("hex");
}

function sealHolds(key: Buffer, kind: TrustKind, workspace: string, id: string, record: SealedRecord): boolean {
  const expected = Buffer.from(seal(key, kind, workspace, id, record.fields), "hex");
  return crypto.timingSafeEqual(expected, Buffer.from(record.seal, "hex"));
}

const storePath = (home: string, workspace: string) =>
  join(home, "trust", `${new Bun.CryptoHasher("sha256").update(workspace).digest("hex").slice(0, 40)}.json`);

/** The file that keeps the user's confirmations for a workspace (in `home`, the user's org folder), made or not. */
export function trustStoreFile(home: string, workspaceDir: string): string {
  return storePath(home, workspaceKey(workspaceDir));
}

function readStore(home: string, workspace: string): StoreFile | undefined {
  const text = readUserFile(storePath(home, workspace), join(home, "trust"));
  if (text === undefined) return undefined;
  try {
    const parsed = StoreFile.safeParse(JSON.parse(text));
    return parsed.success && parsed.data.workspace === workspace ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the records whose seal holds under `key`, by id, with their fields. */
function opened(
  key: Buffer | undefined,
  kind: TrustKind,
  workspace: string,
  records: Record<string, SealedRecord>,
): Map<string, Record<string, unknown>> {
  const kept = new Map<string, Record<string, unknown>>();
  if (key === undefined) return kept;
  for (const [id, record] of Object.entries(records)) if (sealHolds(key, kind, workspace, id, record)) kept.set(id, record.fields);
  return kept;
}

/**
 * The user's confirmations of `kind` for the workspace, by id, each with its fields: only those sealed with the user's
 * key. None when `home` is undefined (the environment names no folder of the user's) or nothing was confirmed there.
 */
export function trustRecords(home: string | undefined, workspaceDir: string, kind: TrustKind): Map<string, Record<string, unknown>> {
  if (home === undefined) return new Map();
  const workspace = workspaceKey(workspaceDir);
  const store = readStore(home, workspace);
  return store ? opened(userTrustKey(home, false), kind, workspace, store[kind]) : new Map();
}

/**
 * Records the user's confirmations of `kind` for the workspace (an undefined fields value removes that id), each sealed
 * with the user's key (made on the first confirmation). Throws UserOrgDirError when the user's folder cannot keep them.
 */
export function saveTrustRecords(
  home: string | undefined,
  workspaceDir: string,
  kind: TrustKind,
  changes: ReadonlyMap<string, Record<string, unknown> | undefined>,
): void {
  const folder = ensureUserOrgDir(home, "trust");
  const key = userTrustKey(folder, true);
  const workspace = workspaceKey(workspaceDir);
  const store: StoreFile = readStore(folder, workspace) ?? { version: 1, workspace, config: {}, mcp: {} };
  for (const [id, fields] of changes) {
    if (fields === undefined) delete store[kind][id];
    else store[kind][id] = { fields, seal: seal(key, kind, workspace, id, fields) };
  }
  writeUserFile(storePath(folder, workspace), `${JSON.stringify(store, null, 2)}\n`);
}

/** The workspace's sealed records of `kind` as they are kept, for a backup to carry (their seals hold only under the user's key). */
export function sealedRecords(home: string | undefined, workspaceDir: string, kind: TrustKind): SealedRecords {
  const workspace = workspaceKey(workspaceDir);
  const store = home === undefined ? undefined : readStore(home, workspace);
  return { version: 1, workspace, records: store?.[kind] ?? {} };
}

/**
 * The records of a backup's `SealedRecords` whose seal holds under this user's key, with the workspace they were made
 * for; a record nobody's org sealed with this key (made up, altered, another user's) is left out.
 */
export function openSealedRecords(home: string | undefined, carried: SealedRecords, kind: TrustKind): Map<string, Record<string, unknown>> {
  return opened(userTrustKey(home, false), kind, carried.workspace, carried.records);
}

/**
 * A seal of `value` under the user's key (made on first use), for a backup to carry beside something it holds that
 * grants trust (the gate's key): a restore believes that only when `valueSealHolds` under the same user's key.
 */
export function sealValue(home: string | undefined, label: string, value: string): string {
  return new Bun.CryptoHasher("sha256", userTrustKey(ensureUserOrgDir(home), true))
    .update(canonicalJson({ kind: "value", label, value }))
    .digest("hex");
}

/** Whether `seal` is this user's seal of `value` under `label` (`sealValue`); false without a key, or for anything else. */
export function valueSealHolds(home: string | undefined, label: string, value: string, seal: string): boolean {
  const key = userTrustKey(home, false);
  if (key === undefined || !Seal.safeParse(seal).success) return false;
  const expected = new Bun.CryptoHasher("sha256", key).update(canonicalJson({ kind: "value", label, value })).digest();
  return crypto.timingSafeEqual(expected, Buffer.from(seal, "hex"));
}

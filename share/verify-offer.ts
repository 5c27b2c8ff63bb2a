import type { RepoGit } from "../git/repo-git.ts";
import { commitParents, type PersonGit, signatureOf } from "../git/share-git.ts";
import { FILES_DIR, fileSha256, OFFER_FILE, OfferManifest, RECALL_FILE, RecallManifest } from "./offer.ts";
import type { ShareState } from "./offer-state.ts";

const MAX_FILE_BYTES = 1024 * 1024;

/** Who signed a commit, once git found the signature good and the key among the trusted ones. */
export type Signer = { principal: string; fingerprint: string };

/** A verified offer: what it says, its files' bytes, and its signer; or why it is refused. */
export type VerifiedOffer =
  | { ok: true; manifest: OfferManifest; files: Map<string, Buffer>; signer: Signer }
  | { ok: false; reason: string; signer?: Signer };

const SIGNATURE_PROBLEMS: Record<string, string> = {
  N: "it is not signed",
  B: "its signature does not match its content (forged or altered)",
  U: "it is signed by a key you do not trust (org share trust KEY)",
  E: "its signature cannot be checked (a key you do not trust, or no ssh-keygen)",
  X: "its signature has expired",
  Y: "it was signed by an expired key",
  R: "it was signed by a revoked key",
};

/**
 * Whether `reason` refused an offer for this machine's trust rather than for the offer itself (a key not trusted yet):
 * such an offer is verified again by each pull, so that 'org share trust KEY', which the refusal asks for, lets it in.
 */
export function refusedForTrust(reason: string | undefined): boolean {
  return reason === SIGNATURE_PROBLEMS.U || reason === SIGNATURE_PROBLEMS.E;
}

/** The signer of `commit` when git finds its SSH signature good and its key trusted (`allowedSignersFile`), else why not. */
export async function trustedSigner(
  git: RepoGit,
  person: PersonGit,
  commit: string,
  allowedSignersFile: string,
): Promise<{ ok: true; signer: Signer } | { ok: false; reason: string }> {
  const check = await signatureOf(git, person, commit, allowedSignersFile);
  if (check.status === "G" && check.principal) return { ok: true, signer: { principal: check.principal, fingerprint: check.fingerprint } };
  return { ok: false, reason: SIGNATURE_PROBLEMS[check.status] ?? `git says its signature is ${JSON.stringify(check.status)}` };
}

/** The single-file content of a parentless commit's tree: each path and blob id; refused on links, submodules, folders other than `files/`. */
async function commitFiles(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Map<string, { id: string; size: number }> | string> {
  if ((await commitParents(git, commit, signal)).length > 0) return "it is not a commit of its own (it has parents)";
  const entries = await git.treeEntries(commit, { recursive: true, sizes: true, signal });
  const files = new Map<string, { id: string; size: number }>();
  for (const entry of entries) {
    if (entry.type !== "blob" || entry.mode !== "100644") return `${JSON.stringify(entry.path.slice(0, 100))} is not a plain file`;
    if ((entry.size ?? 0) > MAX_FILE_BYTES) return `${JSON.stringify(entry.path.slice(0, 100))} is larger than 1 MiB`;
    files.set(entry.path, { id: entry.id, size: entry.size ?? 0 });
  }
  return files;
}

/**
 * An offer fetched under `refs/org/incoming/offers/<tool>/<id>` checked as a whole: signed with a good signature by a
 * trusted key, a commit of its own whose `offer.json` names this very tool and id, its files exactly the ones listed
 * with the signed hashes, and no replay of an older offer of that signer's for that tool.
 */
export async function verifyOffer(
  git: RepoGit,
  person: PersonGit,
  offer: { tool: string; id: string; commit: string },
  allowedSignersFile: string,
  state: ShareState,
  /** Accepted by an earlier pull (not landed yet): what was seen since is no replay of it. */
  accepted = false,
): Promise<VerifiedOffer> {
  const signed = await trustedSigner(git, person, offer.commit, allowedSignersFile);
  if (!signed.ok) return signed;
  const { signer } = signed;
  const refuse = (reason: string): VerifiedOffer => ({ ok: false, reason, signer });
  const listed = await commitFiles(git, offer.commit, person.signal);
  if (typeof listed === "string") return refuse(listed);
  const manifestEntry = listed.get(OFFER_FILE);
  if (!manifestEntry) return refuse(`it holds no ${OFFER_FILE}`);
  const blobs = await git.readBlobs(
    [...listed.values()].map((entry) => entry.id),
    { signal: person.signal },
  );
  let manifest: OfferManifest;
  try {
    manifest = OfferManifest.parse(JSON.parse(blobs.get(manifestEntry.id)?.toString("utf8") ?? ""));
  } catch {
    return refuse(`its ${OFFER_FILE} is not an offer org writes`);
  }
  // The signed manifest names the ref it was published under: an old commit pushed again under a newer ref is a replay.
  if (manifest.tool !== offer.tool || manifest.id !== offer.id)
    return refuse(`replay: it was signed as offer ${manifest.id} of ${manifest.tool}, but stands under ${offer.tool}/${offer.id}`);
  const files = new Map<string, Buffer>();
  for (const [path, entry] of listed) {
    if (path === OFFER_FILE) continue;
    const name = path.startsWith(`${FILES_DIR}/`) ? path.slice(FILES_DIR.length + 1) : "";
    const hashes: Record<string, string | undefined> = manifest.files;
    const expected = Object.hasOwn(hashes, name) ? hashes[name] : undefined;
    if (expected === undefined) return refuse(`it carries ${JSON.stringify(path.slice(0, 100))}, which its offer.json does not list`);
    const bytes = blobs.get(entry.id) ?? Buffer.alloc(0);
    if (fileSha256(bytes) !== expected) return refuse(`${name} does not match the hash its signed offer.json gives (tampered)`);
    if (!Buffer.from(bytes.toString("utf8"), "utf8").equals(bytes)) return refuse(`${name} is not UTF-8 text, as a generated tool's files are`);
    files.set(name, bytes);
  }
  const missing = Object.keys(manifest.files).filter((name) => !files.has(name));
  if (missing.length > 0) return refuse(`it lacks ${missing.join(", ")}, which its offer.json lists`);
  if (!files.has("tool.ts")) return refuse("it offers no tool.ts");
  const newer = Object.values(state.offers).find(
    (record) => record.state !== "refused" && record.fingerprint === signer.fingerprint && record.tool === offer.tool && record.id > offer.id,
  );
  if (newer && !accepted) return refuse(`replay: ${signer.principal} already offered ${offer.tool} as ${newer.id}, newer than ${offer.id}`);
  return { ok: true, manifest, files, signer };
}

/** A recall fetched under `refs/org/incoming/recalls/<tool>/<offer id>`, checked: signed by a trusted key, naming this tool and offer. */
export async function verifyRecall(
  git: RepoGit,
  person: PersonGit,
  recall: { tool: string; id: string; commit: string },
  allowedSignersFile: string,
): Promise<{ ok: true; manifest: RecallManifest; signer: Signer } | { ok: false; reason: string }> {
  const signed = await trustedSigner(git, person, recall.commit, allowedSignersFile);
  if (!signed.ok) return signed;
  const listed = await commitFiles(git, recall.commit, person.signal);
  if (typeof listed === "string") return { ok: false, reason: listed };
  const entry = listed.get(RECALL_FILE);
  if (!entry || listed.size !== 1) return { ok: false, reason: `it is not one ${RECALL_FILE}` };
  try {
    const manifest = RecallManifest.parse(JSON.parse(await git.readBlob(entry.id, person.signal)));
    if (manifest.tool !== recall.tool || manifest.offer !== recall.id)
      return { ok: false, reason: `replay: it was signed as a recall of ${manifest.tool}/${manifest.offer}` };
    return { ok: true, manifest, signer: signed.signer };
  } catch {
    return { ok: false, reason: `its ${RECALL_FILE} is not a recall org writes` };
  }
}

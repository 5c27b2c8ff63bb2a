import { existsSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import { ensureUserOrgDir, readUserFile, UserOrgDirError, writeUserFile } from "../config/user-org-dir.ts";
import { OrgError } from "../errors/org-error.ts";

// What sharing keeps of the person, in their own org folder (never in a workspace, which a clone or a model may have
// written): the team's remote, their signing key, and whose offers they accept, as a git `allowed_signers` file that
// `git verify-commit` reads (`gpg.ssh.allowedSignersFile`).

/** The folder under the person's org folder that sharing keeps its files in. */
export const SHARE_DIR = "share";

/** `share/settings.json`: the team's remote and the person's own signing key (else git's `user.signingkey`). */
export const ShareSettings = z.strictObject({
  remote: z.string().trim().min(1).max(2000).optional(),
  signingKey: z.string().trim().min(1).max(4000).optional(),
});
export type ShareSettings = z.infer<typeof ShareSettings>;

/** A share setting or key that cannot be taken as given; the message says what to give instead. */
export class ShareSetupError extends OrgError {
  override name = "ShareSetupError";
}

/** The person's org folder as sharing uses it. */
export type ShareHome = { dir: string };

const settingsPath = (home: ShareHome) => join(home.dir, SHARE_DIR, "settings.json");
/** The allowed-signers file `git verify-commit` is pointed at. */
export const allowedSignersPath = (home: ShareHome) => join(home.dir, SHARE_DIR, "allowed_signers");

/** The share settings; none when nothing was set (a file that is not org's is refused, saying so). */
export function readShareSettings(home: ShareHome): ShareSettings {
  const path = settingsPath(home);
  if (!existsSync(path)) return {};
  const text = readUserFile(path, join(home.dir, SHARE_DIR));
  if (text === undefined) throw new UserOrgDirError(`${path} is not a plain 0600 file of yours: remove it and set the remote again`);
  const parsed = ShareSettings.safeParse(JSON.parse(text));
  if (!parsed.success) throw new ShareSetupError(`${path} is not share settings org wrote: remove it and set the remote again`);
  return parsed.data;
}

/** Writes `change` over the share settings, whole. */
export function updateShareSettings(home: ShareHome, change: ShareSettings): ShareSettings {
  ensureUserOrgDir(home.dir, SHARE_DIR);
  const next = ShareSettings.parse({ ...readShareSettings(home), ...change });
  writeUserFile(settingsPath(home), `${JSON.stringify(next, null, 2)}\n`);
  return next;
}

/** The remote a URL names, checked to be one git reads as a URL or a path, not an option. */
export function checkRemoteUrl(url: string): string {
  const trimmed = url.trim();
  if (trimmed === "" || trimmed.startsWith("-") || /[\0-\x1f\x7f]/.test(trimmed))
    throw new ShareSetupError(
      `${JSON.stringify(url.slice(0, 200))} is not a git URL: give one such as file:///srv/team.git or git@host:team/org.git`,
    );
  return trimmed;
}

/** The signing key as git takes it: a path made absolute (it must exist), or a literal `key::…`. */
export function checkSigningKey(key: string, cwd: string): string {
  if (key.startsWith("key::")) return key;
  const path = isAbsolute(key) ? key : resolve(cwd, key);
  if (!statSync(path, { throwIfNoEntry: false })?.isFile())
    throw new ShareSetupError(`${path} is no key file: give the private key (or its .pub) made by 'ssh-keygen -t ed25519 -f ${path}'`);
  return path;
}

const KEY_TYPES = new Set([
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);
const PRINCIPAL = /^[A-Za-z0-9][A-Za-z0-9@._+-]{0,99}$/;

/** One trusted key: the name offers are shown under, its type and base64 blob, and its SHA256 fingerprint. */
export type TrustedKey = { principal: string; type: string; key: string; fingerprint: string };

/** `SHA256:…` as `ssh-keygen -l` prints it for a key's base64 blob. */
export function keyFingerprint(base64: string): string {
  const digest = new Bun.CryptoHasher("sha256").update(Buffer.from(base64, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}

/**
 * A public key from `given` (an `ssh-… AAAA… comment` line, or a file holding one) with the name it is kept under
 * (`name`, else the key's comment, else its fingerprint); refused when it is no public key.
 */
export function parsePublicKey(given: string, name: string | undefined, cwd: string): TrustedKey {
  let line = given.trim();
  if (!/^\S+ [A-Za-z0-9+/=]+/.test(line)) {
    const path = isAbsolute(line) ? line : resolve(cwd, line);
    if (!statSync(path, { throwIfNoEntry: false })?.isFile())
      throw new ShareSetupError(`${JSON.stringify(given.slice(0, 200))} is neither a public key line (ssh-ed25519 AAAA…) nor a file holding one`);
    line = readFileSync(path, "utf8").trim().split("\n")[0] ?? "";
  }
  const [type = "", key = "", ...comment] = line.split(/\s+/);
  if (!KEY_TYPES.has(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(key) || Buffer.from(key, "base64").length < 32)
    throw new ShareSetupError(`that is not an SSH public key (give the .pub file, or its one line: ssh-ed25519 AAAA… name)`);
  const fingerprint = keyFingerprint(key);
  const principal = name ?? (comment.join("").replace(/[^A-Za-z0-9@._+-]/g, "") || fingerprint.replace(/[^A-Za-z0-9]/g, "").slice(0, 40));
  if (!PRINCIPAL.test(principal))
    throw new ShareSetupError(`${JSON.stringify(principal.slice(0, 100))} cannot name a key: use letters, digits and @._+- (--name NAME)`);
  return { principal, type, key, fingerprint };
}

/** The keys this person accepts offers from, as the allowed-signers file lists them. */
export function trustedKeys(home: ShareHome): TrustedKey[] {
  const path = allowedSignersPath(home);
  if (!existsSync(path)) return [];
  const text = readUserFile(path, join(home.dir, SHARE_DIR));
  if (text === undefined) throw new UserOrgDirError(`${path} is not a plain 0600 file of yours: remove it and trust the keys again`);
  return text.split("\n").flatMap((line) => {
    const found = /^(\S+) namespaces="git" (\S+) (\S+)$/.exec(line.trim());
    return found?.[1] && found[2] && found[3] ? [{ principal: found[1], type: found[2], key: found[3], fingerprint: keyFingerprint(found[3]) }] : [];
  });
}

function writeTrusted(home: ShareHome, keys: TrustedKey[]): void {
  ensureUserOrgDir(home.dir, SHARE_DIR);
  writeUserFile(allowedSignersPath(home), keys.map((entry) => `${entry.principal} namespaces="git" ${entry.type} ${entry.key}\n`).join(""));
}

/** Adds `key` to the allowed signers (a key already there keeps its place, under the new name); the list after. */
export function trustKey(home: ShareHome, key: TrustedKey): TrustedKey[] {
  const others = trustedKeys(home).filter((entry) => entry.fingerprint !== key.fingerprint);
  if (others.some((entry) => entry.principal === key.principal))
    throw new ShareSetupError(`another key is trusted as ${key.principal}: give this one another name with --name NAME`);
  const next = [...others, key];
  writeTrusted(home, next);
  return next;
}

/** Removes the key a name or fingerprint names; what was removed (none: nothing matched). */
export function untrustKey(home: ShareHome, which: string): TrustedKey | undefined {
  const keys = trustedKeys(home);
  const gone = keys.find((entry) => entry.principal === which || entry.fingerprint === which);
  if (gone)
    writeTrusted(
      home,
      keys.filter((entry) => entry !== gone),
    );
  return gone;
}

/** The allowed-signers file, made empty when the person trusts nobody yet (git then refuses every signer). */
export function allowedSignersFile(home: ShareHome): string {
  const path = allowedSignersPath(home);
  if (!existsSync(path)) writeTrusted(home, []);
  return path;
}

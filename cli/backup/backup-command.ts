import { resolve } from "node:path";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { type Command, UsageError } from "../command/command.ts";
import { loadCommandConfig } from "../command/command-config.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { alignColumns } from "../terminal/align-columns.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";
import { RepoGit } from "../../git/repo-git.ts";
import { backupHolds } from "../../backup/backup-holds.ts";
import { counted } from "../../config/counted.ts";

const HELP = `Usage:
  org backup [--to DIR] [--json] [--workspace DIR] [--repo DIR] [--config FILE]
  org backup verify FILE [--json] [--allow-large]
  org backup list [--json] [--dir DIR] [--workspace DIR] [--config FILE]

One file that gives back everything org knows: a git bundle of every ref of the checkout (main, cand/*,
promote/* and rollback/* tags, git notes and any other ref under refs/, read under the promotion lock so the refs
and the promotion journal agree), online
copies of its SQLite databases (memory, the supervisor's state; the registry is a cache and is rebuilt), the .org/
state of the checkout and of the workspace (sessions, changes, conflicts, grow, fitness reports and the signed
baseline, MCP trust, serve's jobs, the supervisor's reports), and a manifest with each entry's size and SHA-256.
It is a gzipped tar, org-backup-<UTC time>.tar.gz, written as .partial and renamed once whole. It holds org's
state about the workspace, never the workspace's own files: a project's code and data are not in it (keep those in
their own repository or backup), and in the checkout only what is committed is.

  (no subcommand)  takes a backup into backup.dir of org.config.json (default .org/backups/ of the workspace)
                   and then keeps what backup.keep says (default: the newest of each of the last 7 days and of
                   the last 4 weeks, and any made within the last minute); with --to DIR into DIR, which nothing
                   is ever removed from. Keep backups
                   on another disk than the workspace (--to, or backup.dir) to outlive the disk.
  verify FILE      checks every entry's SHA-256 and size against the manifest, that nothing is missing or extra,
                   and that git verifies the bundle; names the entry that is wrong. Exit 1 when it does not verify.
                   A file whose entries declare more than 200 times its size (and over 16 MiB) is refused unread,
                   as org restore refuses it; --allow-large reads it through.
  list             the backups of the backup folder, newest first, and why each is kept.

Restore with 'org restore FILE --to DIR' (org restore --help).

Options:
  --to DIR          the folder to write the backup to
  --json            one JSON object on stdout
  --workspace DIR   the workspace whose .org/ is backed up (default: current directory)
  --repo DIR        the checkout whose refs and .org/ are backed up (default: the checkout org runs from)
  --config FILE     room configuration with the "backup" settings (default: org.config.json in the workspace)
  --dir DIR         (list) the folder to list (default: backup.dir, else .org/backups/ of the workspace)

Examples:
  org backup --to /mnt/backups/org
  org backup verify /mnt/backups/org/org-backup-20261123T101500Z.tar.gz
  org backup list

Exit status: 0 done (verified); 1 it could not be taken, or the file does not verify; 2 wrong command line.`;

const say = (line: string) => process.stderr.write(`${sanitizeForTerminal(line)}\n`);

function repoOf(value: string | undefined): string {
  const directory = value ?? CHECKOUT_DIR;
  return RepoGit.openCheckout(directory, "give --repo the checkout of org to back up").repoDir;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function take(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseCommandArgs("backup", args, {
    to: { type: "string" },
    json: { type: "boolean" },
    workspace: { type: "string" },
    repo: { type: "string" },
    config: { type: "string" },
  });
  const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
  const config = loadCommandConfig(values.config, workspaceDir);
  const repoDir = repoOf(values.repo);
  const [{ takeBackup }, { applyRetention, backupDirOf }] = await Promise.all([
    import("../../backup/take-backup.ts"),
    import("../../backup/backup-retention.ts"),
  ]);
  const dir = values.to !== undefined ? resolve(values.to) : backupDirOf(workspaceDir, config.backup);
  const outcome = await takeBackup({ repoDir, workspaceDir, dir, onProgress: say, signal });
  const dropped = values.to === undefined ? applyRetention(dir, config.backup.keep, Date.now()) : [];
  const { manifest } = outcome;
  if (values.json) {
    console.log(
      terminalSafeJson({
        path: outcome.path,
        bytes: outcome.bytes,
        ms: outcome.ms,
        takenAt: manifest.takenAt,
        main: manifest.repo.main,
        refs: Object.keys(manifest.repo.refs).length,
        entries: manifest.entries.length,
        skipped: manifest.skipped,
        dropped: dropped.map((file) => file.path),
      }),
    );
    return 0;
  }
  console.log(
    sanitizeForTerminal(
      `backup: ${outcome.path} (${mib(outcome.bytes)}; ${Object.keys(manifest.repo.refs).length} refs, main ` +
        `${manifest.repo.main.slice(0, 12)}; ${counted(manifest.entries.length - 1, "state file")}) in ${(outcome.ms / 1000).toFixed(1)} s`,
    ),
  );
  console.log(sanitizeForTerminal(`  ${backupHolds(repoDir, workspaceDir)}`));
  for (const skipped of manifest.skipped) console.log(sanitizeForTerminal(`  left out: ${skipped.path}: ${skipped.reason}`));
  for (const file of dropped) console.log(sanitizeForTerminal(`  removed by backup.keep: ${file.name}`));
  return 0;
}

async function verify(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "backup verify",
    args,
    { json: { type: "boolean" }, "allow-large": { type: "boolean" } },
    { positionals: true },
  );
  const [file, ...more] = positionals;
  if (file === undefined || more.length > 0)
    throw new UsageError("backup verify takes one backup file, e.g. org backup verify .org/backups/org-backup-20261123T101500Z.tar.gz", "backup");
  const { verifyBackup } = await import("../../backup/verify-backup.ts");
  const verified = await verifyBackup(resolve(file), signal, { allowLarge: values["allow-large"] === true });
  if (values.json) {
    console.log(
      terminalSafeJson({
        ok: true,
        file: resolve(file),
        takenAt: verified.manifest.takenAt,
        entries: verified.entries,
        bytes: verified.bytes,
        refs: verified.refs,
      }),
    );
    return 0;
  }
  console.log(
    sanitizeForTerminal(
      `verified ${file}: ${verified.entries} entries (${mib(verified.bytes)}) match their SHA-256; the git ` +
        `bundle verifies with ${verified.refs} refs; taken ${verified.manifest.takenAt}`,
    ),
  );
  return 0;
}

async function list(args: string[]): Promise<number> {
  const { values } = parseCommandArgs("backup list", args, {
    json: { type: "boolean" },
    dir: { type: "string" },
    workspace: { type: "string" },
    config: { type: "string" },
  });
  const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
  const config = loadCommandConfig(values.config, workspaceDir);
  const { backupDirOf, keptBackups, listBackups } = await import("../../backup/backup-retention.ts");
  const dir = values.dir !== undefined ? resolve(values.dir) : backupDirOf(workspaceDir, config.backup);
  const backups = listBackups(dir);
  const kept = keptBackups(backups, config.backup.keep, Date.now());
  if (values.json) {
    console.log(
      terminalSafeJson(
        backups.map((file) => ({ path: file.path, takenAt: file.takenAt.toISOString(), bytes: file.bytes, keptAs: kept.get(file.name) ?? [] })),
      ),
    );
    return 0;
  }
  if (backups.length === 0) {
    console.log(sanitizeForTerminal(`no backups in ${dir} yet: org backup takes one (org supervise takes one a day)`));
    return 0;
  }
  const rows = [
    ["backup", "taken", "size", "kept as"],
    ...backups.map((file) => [
      file.name,
      file.takenAt.toISOString().slice(0, 19),
      mib(file.bytes),
      (kept.get(file.name) ?? ["(next backup.keep removes it)"]).join(", "),
    ]),
  ];
  console.log(sanitizeForTerminal(`backups in ${dir}:`));
  for (const line of alignColumns(rows)) console.log(sanitizeForTerminal(line));
  return 0;
}

/** `org backup`: take one, `verify FILE`, `list`. */
export const backupCommand: Command = {
  ...nameAndSummary("backup"),
  help: HELP,
  async run(args, signal) {
    const [first, ...rest] = args;
    if (first === "verify") return verify(rest, signal);
    if (first === "list") return list(rest);
    if (first !== undefined && !first.startsWith("-"))
      throw new UsageError(`unknown backup subcommand '${first}': give verify FILE or list, or options for a backup`, "backup");
    return take(args, signal);
  },
};

// docs/supervise.md in a project against the playground: a round after `org grow` was killed (its lock's process gone),
// a round with the model server stopped, the status, and a backup verified, restored, found altered, and restored with
// the MCP servers it had confirmed.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Walk, type WalkContext, walkShell } from "../doc-walk.ts";
import { deadPid, writeFailedGrowReport } from "../supervise-fixture.ts";
import { gitSync } from "../temp-git-repo.ts";

const DOC = "docs/supervise.md";
const project = (context: WalkContext) => join(context.home, "project");

/** A project (its own checkout, on main) whose `org grow` was killed with kill -9: its lock names a process that is gone. */
function killedGrow(context: WalkContext): void {
  const dir = project(context);
  mkdirSync(join(dir, ".org", "grow"), { recursive: true, mode: 0o700 });
  chmodSync(join(dir, ".org"), 0o700);
  writeFileSync(join(dir, "README.md"), "# project\n");
  writeFileSync(join(dir, ".gitignore"), ".org/\n");
  gitSync(dir, ["init", "--quiet", "--initial-branch=main"]);
  gitSync(dir, ["add", "-A"]);
  gitSync(dir, ["commit", "--quiet", "-m", "project"]);
  const lock = { pid: deadPid(), start: "1", since: "2026-11-23T09:00:00.000Z", command: `org grow --once (pid ${deadPid()})` };
  writeFileSync(join(dir, ".org", "grow", "grow.lock"), JSON.stringify(lock), { mode: 0o600 });
  context.cwd = dir;
}

/** The backup's entries, one altered: the same tar, but one state file's bytes are not what the manifest says. */
function alteredCopy(context: WalkContext): void {
  const backup = context.aliases.get("~/backups/org-backup-20261126T083350Z.tar.gz") ?? "";
  const entries = walkShell(context, context.cwd, `tar -tzf ${backup}`).trim().split("\n");
  const victim = entries.find((entry) => entry.startsWith("repo/.org/") && !entry.endsWith("/"));
  if (!victim) throw new Error(`no state file to alter in ${backup}: ${entries.join(", ")}`);
  walkShell(
    context,
    context.cwd,
    `rm -rf unpacked && mkdir unpacked && tar -xzf ${backup} -C unpacked && printf x | dd ` +
      `of='unpacked/${victim}' bs=1 count=1 conv=notrunc 2>/dev/null`,
  );
  writeFileSync(join(context.cwd, "order"), `${entries.filter((entry) => !entry.endsWith("/")).join("\n")}\n`);
  walkShell(context, context.cwd, "tar --no-recursion -czf altered.tar.gz -C unpacked -T order && rm -rf unpacked order");
}

/**
 * The MCP story: two servers confirmed, `kept` (a program of the host, reaching into no workspace file) and `changed`
 * (a script of the workspace), the script changed since, and a backup taken of that.
 */
function confirmedServers(context: WalkContext): void {
  const dir = project(context);
  mkdirSync(join(dir, "mcp"), { mode: 0o755 });
  writeFileSync(join(dir, "mcp", "changed.sh"), "exec cat\n");
  writeFileSync(
    join(dir, "org.config.json"),
    `${JSON.stringify({ mcpServers: { kept: { command: "cat" }, changed: { command: "sh", args: ["mcp/changed.sh"] } } }, null, 2)}\n`,
  );
  walkShell(context, context.cwd, "org mcp trust kept changed");
  writeFileSync(join(dir, "mcp", "changed.sh"), "exec cat # changed since it was confirmed\n");
  // The servers and their config are the project's files: the checkout a restore builds holds them.
  gitSync(dir, ["add", "-A"]);
  gitSync(dir, ["commit", "--quiet", "-m", "two MCP servers"]);
  const wrote = walkShell(context, context.cwd, "org backup --to ~/backups --repo .");
  context.aliases.set("~/backups/org-backup-20261126T104849Z.tar.gz", /^backup: (\S+\.tar\.gz)/m.exec(wrote)?.[1] ?? "");
}

export const superviseWalk: Walk = {
  name: "supervise",
  setup: (context) => {
    killedGrow(context);
    context.aliases.set("http://127.0.0.1:43111", context.playground.url);
  },
  steps: [
    {
      doc: DOC,
      command: "OLLAMA_BASE=http://127.0.0.1:43111 org supervise --once --repo .",
      says: [
        /incident i[0-9a-f]{10}: a lock of a dead process: \S+\/\.org\/grow\/grow\.lock: held by pid \d+/,
        /fix f[0-9a-f]{10} \(clear-stale-lock \S+grow\.lock\) verified: cleared/,
        /recovered i[0-9a-f]{10}: a lock of a dead process/,
        /daily backup \S+\/\.org\/backups\/org-backup-\d{8}T\d{6}Z\.tar\.gz/,
        /^ok +model-server answers: http:\/\/127\.0\.0\.1:\d+ \(2 models\); every persona's model is there$/m,
        /^ok +novel +no error outside the known patterns repeats$/m,
      ],
    },
    {
      doc: DOC,
      command: "org supervise --once --repo .",
      // The page's next round comes after the model server stopped.
      before: (context) => context.playground.stop(),
      says: [
        /incident i[0-9a-f]{10}: model server http:\/\/127\.0\.0\.1:\d+ unreachable: no model server answers at/,
        /fix f[0-9a-f]{10} \(pause-grow grow\) verified: unattended grow runs paused since/,
      ],
    },
    {
      doc: DOC,
      command: "org supervise status --repo .",
      says: [
        /^ +fail +model-server model server http:\/\/127\.0\.0\.1:\d+ unreachable$/m,
        /^open incidents \(1\):$/m,
        /^last backup: \S+org-backup-\d{8}T\d{6}Z\.tar\.gz/m,
        /^unattended grow runs paused since/m,
      ],
    },
    {
      doc: DOC,
      command: 'org supervise mute "template cache is locked" --for 2h',
      // The page's incident: a grow error that repeats, which a round made a novel incident.
      before: (context) => {
        const now = Date.now();
        for (const minutes of [3, 2, 1]) {
          writeFailedGrowReport(
            project(context),
            new Date(now - minutes * 60_000),
            "grow run failed: render step failed: the template cache is locked by pid 4001",
          );
        }
        walkShell(context, context.cwd, "org supervise --once --repo .");
      },
      says: [
        /^muted the text "template cache is locked" for 2h, until \S+$/m,
        /^ {2}incident i[0-9a-f]{10} \(open\): repeated error: grow reports: .*the template cache is locked by pid 4001/m,
      ],
    },
    {
      doc: DOC,
      command: 'org supervise mute "no such text here"',
      exit: 2,
      says: [/^org: nothing to mute named 'no such text here', and no incident or error the supervisor has seen holds that text/m],
    },
    {
      doc: DOC,
      command: "org backup --to ~/backups --repo .",
      says: [/^bundling 1 refs \(main, cand\/\*, promote\/\*, rollback\/\*/m, /^backup: \S+\/backups\/org-backup-\d{8}T\d{6}Z\.tar\.gz \(/m],
      after: (output, context) => {
        context.aliases.set("~/backups/org-backup-20261126T083350Z.tar.gz", /^backup: (\S+\.tar\.gz)/m.exec(output)?.[1] ?? "");
      },
    },
    {
      doc: DOC,
      command: "org backup verify ~/backups/org-backup-20261126T083350Z.tar.gz",
      says: [/^verified \S+\.tar\.gz: \d+ entries \([\d.]+ MiB\) match their SHA-256; the git bundle verifies with 1 refs; taken /m],
    },
    {
      doc: DOC,
      command: "org restore ~/backups/org-backup-20261126T083350Z.tar.gz --to ~/restored",
      says: [/^restored \S+'s backup into \S+\/restored:$/m, /^ {2}checkout: {2}\S+\/restored \(main [0-9a-f]{12}, 1 refs\)$/m],
      after: (_output, context) => {
        if (!readFileSync(join(context.home, "restored", "README.md"), "utf8").includes("# project"))
          throw new Error("the restored checkout has no README");
      },
    },
    {
      doc: DOC,
      command: "org backup verify altered.tar.gz",
      before: alteredCopy,
      exit: 1,
      says: [/^org: \S*altered\.tar\.gz: the entry "repo\/\.org\/\S+" does not match its SHA-256 in the manifest: it was altered$/m],
    },
    {
      doc: DOC,
      command: "org restore ~/backups/org-backup-20261126T104849Z.tar.gz --to ~/restored",
      before: confirmedServers,
      run: { command: "org restore ~/backups/org-backup-20261126T104849Z.tar.gz --to ~/restored-mcp", why: "~/restored holds the restore above" },
      says: [
        /^ {2}MCP servers confirmed as in the backup \(the same launch, the files they run unchanged\): kept$/m,
        /^ {2}changed stays off: what it runs changed since you confirmed it: "mcp\/changed\.sh" \(changed\)\./m,
      ],
    },
    {
      doc: DOC,
      command: "org restore ~/backups/org-backup-20261126T142835Z.tar.gz --to ~/project",
      // The page's folder: not empty, and holding a folder merely named like a restore's staging folder.
      before: (context) => {
        const folder = join(context.home, "not-empty");
        mkdirSync(join(folder, "org-restore-999999-0-abcdef"), { recursive: true });
        writeFileSync(join(folder, "README.md"), "# mine\n");
        context.aliases.set("--to ~/project", "--to ~/not-empty");
        context.aliases.set(
          "~/backups/org-backup-20261126T142835Z.tar.gz",
          context.aliases.get("~/backups/org-backup-20261126T083350Z.tar.gz") ?? "",
        );
      },
      exit: 1,
      says: [/is not empty \(it holds "README\.md", "org-restore-999999-0-abcdef"\); a restore writes only into a new or empty folder/],
    },
  ],
};

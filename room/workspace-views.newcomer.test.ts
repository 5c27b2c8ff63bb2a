// The newcomer review's item 2 through the room: secrets that reach the agents through `.git` in both views (a
// committed .env read back with `git show`, credentials in a remote's URL, an extra header, a credential helper)
// never reach the model or the transcript, as written, reversed or in base64. Real sandbox, real git, real room.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SECRET_PATHS } from "../config/secret-paths.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { agentRunsCommands } from "../testing/agent-commands.ts";
import { gitSync } from "../testing/temp-git-repo.ts";

const base = mkdtempSync(join(tmpdir(), "org-views-newcomer-"));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

const TOKEN = `ghp_${"A1b2C3d4E5".repeat(4).slice(0, 36)}`;
/** Each secret and where it sits: the hidden files' values (committed too), and the git config's credentials. */
const SECRETS = {
  envPassword: "committed-db-pass-77",
  envUrlPassword: "url-pass-in-env-99",
  envQuoted: "quoted value with spaces 31",
  npmToken: "npm-tok-abc123def456",
  netrcPassword: "netrc-pass-4242",
  gitCredential: "gitcred-pass-5151",
  remoteToken: TOKEN,
  extraHeader: Buffer.from("me:header-pass-6161").toString("base64"),
  helperPassword: "helper-pass-6262",
  insteadOfToken: "tok-in-insteadof-7373",
  nestedPassword: "nested-pass-8484",
  proxyPassword: "proxy-pass-9595",
};

/** A git repository whose secret files are committed, and whose configs (its own and a nested repository's) hold credentials. */
function repository(name: string, view: "read" | "write"): string {
  const dir = join(base, name);
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const files: Record<string, string> = {
    ".env": `DB_PASSWORD=${SECRETS.envPassword}\nexport API_URL=https://svc:${SECRETS.envUrlPassword}@api.example/v1\nGREETING="${SECRETS.envQuoted}" # a comment\nNODE_ENV=production\nPORT=3000\n`,
    ".npmrc": `//registry.example/:_authToken=${SECRETS.npmToken}\n`,
    ".netrc": `machine example.com\n  login me\n  password ${SECRETS.netrcPassword}\n`,
    ".git-credentials": `https://me:${SECRETS.gitCredential}@example.com\n`,
    "src/app.ts": "export const app = 1;\n",
    "org.config.json": JSON.stringify({ sandbox: { workspace: view } }),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, path), text);
  }
  gitSync(dir, ["init", "--quiet", "--initial-branch=main"]);
  gitSync(dir, ["add", "-f", "."]);
  gitSync(dir, ["commit", "--quiet", "-m", "the project, secrets and all"]);
  const config = [
    '[remote "origin"]',
    `\turl = https://x-access-token:${SECRETS.remoteToken}@github.com/acme/app.git`,
    "\tfetch = +refs/heads/*:refs/remotes/origin/*",
    "[http]",
    `\textraheader = AUTHORIZATION: basic ${SECRETS.extraHeader}`,
    `\tproxy = http://proxyuser:${SECRETS.proxyPassword}@proxy.example:3128`,
    "[credential]",
    `\thelper = "!f() { echo username=me; echo password=${SECRETS.helperPassword}; }; f"`,
    `[url "https://me:${SECRETS.insteadOfToken}@git.example/"]`,
    "\tinsteadOf = https://git.example/",
    '[branch "main"]',
    "\tremote = origin",
  ].join("\n");
  writeFileSync(join(dir, ".git", "config"), `${readFileSync(join(dir, ".git", "config"), "utf8")}${config}\n`);
  // A nested repository in a folder whose name a mount target could not otherwise take.
  const nested = join(dir, "vendor", "my lib");
  mkdirSync(nested, { recursive: true, mode: 0o755 });
  gitSync(nested, ["init", "--quiet", "--initial-branch=main"]);
  gitSync(nested, ["remote", "add", "upstream", `https://u:${SECRETS.nestedPassword}@git.example/lib.git`]);
  return dir;
}

const READS = [
  "git show HEAD:.env | base64 -w0; echo; git show HEAD:.env | rev; git show HEAD:.npmrc | rev; git show HEAD:.netrc | base64 -w0; echo; git show HEAD:.git-credentials | rev",
  "cat .git/config; cat .git/config | grep -i url | rev; git config --list | rev; cat 'vendor/my lib/.git/config' | rev; git remote -v",
];

/** Every secret, as written, reversed and in base64 at each alignment (the part no neighbouring byte changes). */
function expectNoSecret(text: string): void {
  for (const secret of Object.values(SECRETS)) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain([...secret].reverse().join(""));
    for (const shift of [0, 1, 2]) {
      const encoded = Buffer.from("\0".repeat(shift) + secret).toString("base64");
      expect(text).not.toContain(encoded.slice(4, -4));
    }
  }
}

for (const view of ["read", "write"] as const) {
  test(`${view} view: a committed .env, a remote's token, an extra header and a credential helper never reach the model`, async () => {
    const dir = repository(`git-${view}`, view);
    const { outputs } = await agentRunsCommands(dir, READS, sandboxPolicy({ workspace: view, poolSize: 0 }));
    const output = outputs.join("\n");
    expectNoSecret(output);
    // git still works in there, on a config without credentials.
    expect(output).toContain("url = https://github.com/acme/app.git");
    expect(output).toContain("origin\thttps://github.com/acme/app.git (fetch)");
    expect(output).toContain("[REDACTED]");
    // An ordinary value of .env is no secret: it is not hidden wherever it appears.
    expect(output).toContain("noitcudorp=VNE_EDON");
  }, 60_000);
}

for (const view of ["read", "write"] as const) {
  test(`${view} view: ".git" among sandbox.secretPaths hides the repository whole, its history too`, async () => {
    const dir = repository(`git-hidden-${view}`, view);
    const secretPaths = [...DEFAULT_SECRET_PATHS, ".git"];
    const { outputs } = await agentRunsCommands(
      dir,
      ["ls -A .git | wc -l; git log --oneline 2>&1 | head -1; cat src/app.ts"],
      sandboxPolicy({ workspace: view, poolSize: 0, secretPaths }),
    );
    expect(outputs[0]).toContain("stdout:\n0\nfatal: not a git repository");
    expect(outputs[0]).toContain("export const app = 1;");
  }, 60_000);
}

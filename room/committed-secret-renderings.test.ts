// Issue 51, items 8 and 9, through the room: a committed .env whose names say nothing of a secret (`STRIPE_LIVE`,
// `ADMIN_LOGIN`), read back from git's history by the agent in every rendering the review used (base32, gzip | base64,
// od -c, rot13, a separator between characters) and a few more of the kind, never reaches the model or the transcript.
// Real sandbox, real git, real room; each output read back with the rendering's own reader (`testing/rendered-text.ts`).
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { agentRunsCommands } from "../testing/agent-commands.ts";
import { RENDERINGS } from "../testing/rendered-text.ts";
import { gitSync } from "../testing/temp-git-repo.ts";

const base = mkdtempSync(join(tmpdir(), "org-committed-renderings-"));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

const VALUES = { stripe: "rkliveplainvalue", admin: "CorrectHorseBattery", short: "Tr0ub4" };
const ENV = `STRIPE_LIVE=${VALUES.stripe}\nADMIN_LOGIN=${VALUES.admin}\nPIN_CODE=${VALUES.short}\nNODE_ENV=production\nDEBUG=true\n`;

test("a committed .env read back from history in base32, gzip | base64, od -c, rot13, separated characters, dumps: no value reaches the model", async () => {
  const dir = join(base, "project");
  mkdirSync(dir, { mode: 0o755 });
  writeFileSync(join(dir, ".env"), ENV);
  writeFileSync(join(dir, "org.config.json"), JSON.stringify({ sandbox: { workspace: "read" } }));
  gitSync(dir, ["init", "--quiet", "--initial-branch=main"]);
  gitSync(dir, ["add", "-f", "."]);
  gitSync(dir, ["commit", "--quiet", "-m", "the project, its .env too"]);
  const commands = RENDERINGS.map((rendering) => `git show HEAD:.env | ${rendering.command}`);
  const { outputs } = await agentRunsCommands(dir, commands, sandboxPolicy({ workspace: "read", poolSize: 0 }));
  expect(outputs).toHaveLength(RENDERINGS.length);
  for (const [index, rendering] of RENDERINGS.entries()) {
    const output = outputs[index] ?? "";
    expect({ rendering: rendering.name, ran: output.includes("exit code: 0") }).toEqual({ rendering: rendering.name, ran: true });
    const read = rendering.readBack(output).join("\n");
    for (const value of Object.values(VALUES))
      expect({ rendering: rendering.name, leaked: read.includes(value) }).toEqual({ rendering: rendering.name, leaked: false });
    expect(output).toContain("[REDACTED]");
  }
  // A common setting is no secret: it stays readable wherever it appears.
  expect(outputs[RENDERINGS.findIndex((rendering) => rendering.name === "rot13")]).toContain("ABQR_RAI=cebqhpgvba");
}, 90_000);

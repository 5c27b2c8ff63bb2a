import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTime } from "./test-run-reaper.ts";
import { TmuxServer } from "./tmux.ts";
import { waitUntil } from "./wait-until.ts";

const PRELOAD = join(import.meta.dir, "test-run-preload.ts");

// What a stray org command in a test would do to the person's session: stop it and start its own. The server it reached
// is left running, as a test's org command leaves it, with its pid and folder written down for the test below.
const STRAY_TEST = `import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
test("stray", () => {
  Bun.spawnSync(["tmux", "kill-session", "-t", "=org"]);
  expect(Bun.spawnSync(["tmux", "new-session", "-d", "-s", "org", "sleep 600"]).exitCode).toBe(0);
  const pid = Bun.spawnSync(["tmux", "display-message", "-p", "-t", "=org", "#{pid}"]).stdout.toString().trim();
  writeFileSync(process.env.STRAY_REPORT ?? "", JSON.stringify({ pid: Number(pid), folder: process.env.TMUX_TMPDIR }));
});
`;

test("a test process's tmux is a server of its own, ended with its file: the person's org session is never reached", async () => {
  const dir = mkdtempSync(join(tmpdir(), "org-preload-tmux-"));
  // The person's tmux server, with the session org's commands use by default, as when they run npm test beside it.
  const person = await TmuxServer.start();
  try {
    await person.newSession("org", "sleep 600");
    const pane = (await person.tmux("list-panes", "-t", "=org", "-F", "#{pane_pid}")).trim();
    const socket = (await person.tmux("display-message", "-p", "-t", "=org", "#{socket_path}")).trim();
    writeFileSync(join(dir, "stray.test.ts"), STRAY_TEST);
    const report = join(dir, "stray.json");
    // Both ways a tmux client finds the person's server: TMUX_TMPDIR, and TMUX inside one of their sessions.
    const inner = Bun.spawnSync([process.execPath, "test", "--preload", PRELOAD, join(dir, "stray.test.ts")], {
      cwd: dir,
      env: { ...person.env, TMUX: `${socket},1,0`, STRAY_REPORT: report },
      stdout: "pipe",
      stderr: "pipe",
      timeout: 60_000,
    });
    expect({ code: inner.exitCode, out: inner.stderr.toString().slice(-2000) }).toMatchObject({ code: 0 });
    expect((await person.tmux("list-panes", "-t", "=org", "-F", "#{pane_pid}")).trim()).toBe(pane);
    const stray = JSON.parse(readFileSync(report, "utf8")) as { pid: number; folder: string };
    expect(stray.folder).not.toBe(person.env.TMUX_TMPDIR);
    // Its own server ended with the test file.
    await waitUntil(`the stray test's own tmux server (pid ${stray.pid}) has ended`, () => startTime(stray.pid) === undefined);
  } finally {
    await person.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

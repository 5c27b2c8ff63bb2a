// Preloaded into each `bun test` process by package.json's test scripts (`--preload`): the run's processes end with it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLifeline } from "./test-run-reaper.ts";

startLifeline();

// The person's own org folder (their confirmations and the key that seals them) is never the real one under HOME: each
// test process, and every org it starts, keeps them in a folder of its own.
const orgHome = mkdtempSync(join(tmpdir(), "org-home-"));
process.env.ORG_HOME = orgHome;
process.on("exit", () => rmSync(orgHome, { recursive: true, force: true }));

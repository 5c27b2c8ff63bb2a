// `npm run web:screenshots`: runs the web room's browser tests with their screenshots going to a fresh folder, then
// copies the pictures into web/screenshots/ for the READMEs. The tests themselves never write into the checkout.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..");
const shots = mkdtempSync(join(tmpdir(), "org-web-screenshots-"));
const run = Bun.spawn(
  [
    process.execPath,
    "test",
    "--preload",
    "./testing/test-run-preload.ts",
    "--timeout",
    "180000",
    "web/web-room.browser.test.ts",
    "web/web-views.browser.test.ts",
  ],
  { cwd: REPO, env: { ...process.env, ORG_WEB_SCREENSHOTS: shots }, stdout: "inherit", stderr: "inherit" },
);
const code = await run.exited;
const target = join(REPO, "web", "screenshots");
mkdirSync(target, { recursive: true });
const pictures = readdirSync(shots).filter((name) => name.endsWith(".png"));
for (const name of pictures) copyFileSync(join(shots, name), join(target, name));
rmSync(shots, { recursive: true, force: true });
console.log(`${pictures.length} screenshots in web/screenshots/${code === 0 ? "" : ` (the tests failed: exit ${code})`}`);
process.exit(code);

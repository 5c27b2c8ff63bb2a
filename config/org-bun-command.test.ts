import { expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolatedBunFlags, orgCommand, startedIsolated, startedIsolatedAsWritten } from "./org-bun-command.ts";
import { CHECKOUT_DIR } from "./workspace-paths.ts";

const elsewhere = tmpdir();

test("orgCommand runs this checkout's main.ts with the isolating flags before it, each --config one word", () => {
  const argv = orgCommand(["chat", "--once", "hi"]);
  expect(argv).toEqual([process.execPath, ...isolatedBunFlags(), join(CHECKOUT_DIR, "main.ts"), "chat", "--once", "hi"]);
  expect(argv).toContain("--no-env-file");
  expect(argv).toContain(`--config=${join(CHECKOUT_DIR, "bunfig.toml")}`);
  expect(argv).toContain(`--tsconfig-override=${join(CHECKOUT_DIR, "tsconfig.json")}`);
});

test("startedIsolated: only with every flag pointing at this checkout, or in the checkout itself", async () => {
  expect(await startedIsolated(isolatedBunFlags(), elsewhere)).toBe(true);
  expect(await startedIsolated([], CHECKOUT_DIR)).toBe(true);
  expect(await startedIsolated([], elsewhere)).toBe(false);
  const [noEnv, noInstall, config, tsconfig] = isolatedBunFlags();
  expect(await startedIsolated([noInstall as string, config as string, tsconfig as string], elsewhere)).toBe(false);
  expect(await startedIsolated([noEnv as string, config as string, tsconfig as string], elsewhere)).toBe(false);
  expect(await startedIsolated([noEnv as string, noInstall as string, tsconfig as string], elsewhere)).toBe(false);
  // bun takes `--config FILE` as two words for a bare --config and FILE as the script: not isolated.
  expect(
    await startedIsolated([noEnv as string, noInstall as string, "--config", join(CHECKOUT_DIR, "bunfig.toml"), tsconfig as string], elsewhere),
  ).toBe(false);
  expect(
    await startedIsolated([noEnv as string, noInstall as string, `--config=${join(elsewhere, "bunfig.toml")}`, tsconfig as string], elsewhere),
  ).toBe(false);
  // Another spelling of the same files is resolved (node:fs loads only then): still this checkout's.
  const respelled = [
    noEnv as string,
    noInstall as string,
    `--config=${CHECKOUT_DIR}/./bunfig.toml`,
    `--tsconfig-override=${CHECKOUT_DIR}/config/../tsconfig.json`,
  ];
  expect(await startedIsolated(respelled, elsewhere)).toBe(true);
  expect(await startedIsolated([], `${CHECKOUT_DIR}/config/..`)).toBe(true);
  // What `org --help` reads without a file: the launcher's spelling only; another is left to startedIsolated.
  expect(startedIsolatedAsWritten(isolatedBunFlags(), elsewhere)).toBe(true);
  expect(startedIsolatedAsWritten([], CHECKOUT_DIR)).toBe(true);
  expect(startedIsolatedAsWritten(respelled, elsewhere)).toBe(false);
  expect(startedIsolatedAsWritten([], `${CHECKOUT_DIR}/config/..`)).toBe(false);
  expect(startedIsolatedAsWritten([noEnv as string, config as string, tsconfig as string], elsewhere)).toBe(false);
  expect(startedIsolatedAsWritten([], elsewhere)).toBe(false);
});

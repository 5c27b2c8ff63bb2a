import { afterAll, expect, test } from "bun:test";
import { importersOf, modulesLoadedBy } from "../../testing/loaded-modules.ts";
import { tempGitRepo } from "../../testing/temp-git-repo.ts";
import { freePort } from "../../testing/free-port.ts";

// Each `org fitness` (every gate of every candidate) loaded node:crypto for a few hashes and signatures, which
// Bun.CryptoHasher and crypto.getRandomValues give, and node:stream for a bundle check no gate makes: together about
// 20 ms of CPU a start before the gate did anything.
const repo = tempGitRepo("org-fitness-loads-");

afterAll(() => repo[Symbol.dispose]());

test("org fitness loads no module that imports node:crypto, node's streams, zlib, net or tls", async () => {
  const { stdout, exitCode, modules } = await modulesLoadedBy(["fitness", String(freePort()), "--repo", repo.dir]);
  expect(exitCode).toBe(2);
  expect(stdout).toContain("could not read the candidate's commit");
  expect(modules).toContain("fitness/run-fitness.ts");
  expect(modules).toContain("fitness/gate-key.ts");
  const heavy = ["node:crypto", "node:stream", "node:stream/promises", "node:zlib", "node:net", "node:tls"];
  expect(importersOf(modules, heavy)).toEqual([]);
}, 60_000);

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EGRESS_PRESETS } from "./egress-policy.ts";

// What a person reads of the presets (sandbox/README.md, "Network") against the hosts the guard lets through for each.

test("sandbox/README.md's table of presets lists exactly the hosts of each preset", () => {
  const readme = readFileSync(join(import.meta.dir, "..", "sandbox", "README.md"), "utf8");
  const network = readme.slice(readme.indexOf("## Network"), readme.indexOf("\n## ", readme.indexOf("## Network") + 1));
  const rows = [...network.matchAll(/^ *\| `([a-z]+)` \| (`[^|]*`) \|$/gm)];
  const documented = Object.fromEntries(rows.map(([, preset, hosts]) => [preset, [...(hosts ?? "").matchAll(/`([^`]+)`/g)].map(([, host]) => host)]));
  expect(documented).toEqual(Object.fromEntries(Object.entries(EGRESS_PRESETS).map(([preset, hosts]) => [preset, [...hosts]])));
});

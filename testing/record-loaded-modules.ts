// A bun --preload for tests: when the process exits, writes the path of every module it loaded, one a line, to the
// file ORG_TEST_LOADED_MODULES names (see loaded-modules.ts).
import { writeFileSync } from "node:fs";

const out = process.env.ORG_TEST_LOADED_MODULES;
if (out) process.on("exit", () => writeFileSync(out, Object.keys(require.cache).join("\n")));

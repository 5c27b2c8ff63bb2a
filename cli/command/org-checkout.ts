import { existsSync } from "node:fs";
import { join } from "node:path";

/** What the gate and promote need of a checkout besides git: the launcher that serves a candidate, and current's start script. */
const ORG_CHECKOUT_FILES = ["bin/org", "ops/start-current.sh", "package.json"] as const;

/** The files of an org checkout that `dir` lacks (empty for an org checkout). */
export function missingOrgFiles(dir: string): string[] {
  return ORG_CHECKOUT_FILES.filter((file) => !existsSync(join(dir, file)));
}

import type { OrgConfigFile } from "./org-config-file.ts";
import { valueDigest } from "./trust-store.ts";

/** A guarded setting as the file gives it: where it is, what it is (shown), why it waits, and its confirmation's id. */
export type GuardedSetting = {
  /** Where it is in the file, e.g. `personas[agent].apiKeyEnv`. */
  setting: string;
  /** Its value as shown to the person (credentials left out). */
  shown: string;
  /** What it does, and what org does until it is confirmed. */
  why: string;
  /** The sha256 of the setting and its exact value: a confirmation holds for this value only. */
  id: string;
};

/** A guarded setting with how to put it back to its default in a file (what org runs with until it is confirmed). */
export type Guarded = GuardedSetting & { revert: (file: OrgConfigFile) => void };

/** A guarded setting of `setting` at `value`, its id bound to both. */
export function guarded(setting: string, value: unknown, shown: string, why: string, revert: (file: OrgConfigFile) => void): Guarded {
  return { setting, shown, why, id: valueDigest({ setting, value }), revert };
}

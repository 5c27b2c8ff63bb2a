import { loadConfirmedConfig } from "./confirmed-config.ts";
// A room's config for tests that run against a scripted model server: the file given (or the defaults when it is
// missing), with OLLAMA_BASE and OLLAMA_MODEL pointing at that server and nothing else of this machine's environment.
import type { OrgConfig } from "../config/org-config.ts";

/** `configFile` (missing: the defaults) as org reads it with only the scripted server in its environment. */
export function scriptedConfig(configFile: string, server: string, model = "scripted"): OrgConfig {
  return loadConfirmedConfig(configFile, { OLLAMA_BASE: server, OLLAMA_MODEL: model });
}

import type { OrgConfig } from "../config/org-config.ts";
import type { SandboxPolicy } from "../sandbox/sandbox-policy.ts";

/**
 * The config and sandbox policy serve's rooms open with. `org web` replaces them when the person edits the config
 * (cli/serve/serve-config-reload.ts); each replacement is a new generation, and the session pool opens a room made at an
 * older one again, from its transcript, before its next turn (as after a promotion).
 */
export class RoomConfig {
  #config: OrgConfig;
  #sandboxPolicy: SandboxPolicy;
  #generation = 0;

  constructor(config: OrgConfig, sandboxPolicy: SandboxPolicy) {
    this.#config = config;
    this.#sandboxPolicy = sandboxPolicy;
  }

  get config(): OrgConfig {
    return this.#config;
  }

  get sandboxPolicy(): SandboxPolicy {
    return this.#sandboxPolicy;
  }

  /** How many times the config was replaced. */
  get generation(): number {
    return this.#generation;
  }

  replace(config: OrgConfig, sandboxPolicy: SandboxPolicy): void {
    this.#config = config;
    this.#sandboxPolicy = sandboxPolicy;
    this.#generation += 1;
  }
}

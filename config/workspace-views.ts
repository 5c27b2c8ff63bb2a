/** `sandbox.workspace`'s values: how sandboxed commands see the workspace. A file of its own: the sandbox reads it without config's schemas. */
export const WORKSPACE_VIEWS = ["read", "write", "none"] as const;

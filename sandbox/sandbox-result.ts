/** The same flat shape on success and failure (execa's, plus `truncated`). */
export type SandboxResult = {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  isCanceled: boolean;
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs: number;
  /** What the run reached through org's egress guard and what was refused (a run given network only). */
  egress?: string;
};

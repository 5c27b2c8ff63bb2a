import { OrgError } from "../../errors/org-error.ts";

/** A subcommand of `org`: its help text and what it runs. */
export type Command = {
  name: string;
  summary: string;
  /** Full `--help` text: usage line, options, an example. */
  help: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[], signal: AbortSignal): Promise<number>;
};

/** Wrong words on the command line; main prints the message and the command's help hint, exit 2. */
export class UsageError extends OrgError {
  override name = "UsageError";
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

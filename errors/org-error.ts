/** One symbol across every copy of this module (the prebuilt bundle and the source, a tool's runner): the brand. */
const ORG_ERROR: unique symbol = Symbol.for("org.error");

/** What an `OrgError` may carry beyond its message. */
export interface OrgErrorOptions {
  /** What the person does next, printed on the line after the message when the message does not say it already. */
  readonly nextStep?: string;
  readonly cause?: unknown;
}

/**
 * An error a person reads: what went wrong (the message), what to do next, and a code a program can switch on. main
 * prints it as its message and next step, without a stack (`security/refusal.ts`); anything else that reaches main is a
 * bug. A subclass names itself (`override name = "…Error"`, kept explicit so a bundle that renames classes prints the
 * same) and says no more. Told apart by `instanceof`, or across copies of this module by `OrgError.isInstance`, as the
 * AI SDK's `AISDKError.isInstance` does.
 */
export class OrgError extends Error {
  override name = "OrgError";
  readonly [ORG_ERROR] = true;
  readonly nextStep: string | undefined;

  constructor(message: string, options: OrgErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.nextStep = options.nextStep;
  }

  /** The name in kebab case without "Error": `StateHeldError` is `state-held`; stable while the class keeps its name. */
  get code(): string {
    return this.name
      .replace(/Error$/, "")
      .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
      .toLowerCase();
  }

  /** Whether a value is an `OrgError` made by any copy of this module. */
  static isInstance(value: unknown): value is OrgError {
    return typeof value === "object" && value !== null && ORG_ERROR in value && value[ORG_ERROR] === true;
  }
}

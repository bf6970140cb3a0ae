/**
 * The error class for bad command-line input, which entrypoints map to exit code 2.
 *
 * @module
 */

/** Bad arguments, flags or input files: the entrypoint prints `error: <message>` and exits 2. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/**
 * Connection URIs for logs and errors, with the password hidden.
 *
 * @module
 */

/** The URI with its password replaced by `***`; an unparsable URI is hidden whole. */
export function maskUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.password) url.password = "***";
    for (const key of [...url.searchParams.keys()]) {
      if (key.toLowerCase() === "password") url.searchParams.set(key, "***");
    }
    return url.toString();
  } catch {
    return "<unparsable URI>";
  }
}

/**
 * Borrowing one pooled connection safely: its errors are caught while it is out (node-postgres
 * leaves that to the borrower, and an unheard error event would end the process), and a connection
 * that failed is destroyed instead of going back to the pool.
 *
 * @module
 */
import type { Pool, PoolClient } from "@neondatabase/serverless";

/** Runs `fn` with a connection from `pool`, inside a transaction when `transaction` is true. */
export async function withClient<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  { transaction = false }: { transaction?: boolean } = {},
): Promise<T> {
  const client = await pool.connect();
  let failure: Error | undefined;
  const onError = (error: Error) => (failure = error);
  client.on("error", onError);
  try {
    if (!transaction) return await fn(client);
    await client.query("BEGIN");
    try {
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch((rollbackError) => (failure ??= rollbackError));
      throw error;
    }
  } catch (error) {
    failure ??= error as Error;
    throw error;
  } finally {
    client.off("error", onError);
    client.release(failure !== undefined);
  }
}

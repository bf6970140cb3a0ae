/**
 * Benchmarks (monitor capacity, writer throughput, end-to-end latency): the end-to-end issue fills
 * this in. Until then it says so and fails, rather than print figures nobody measured.
 *
 * @module
 */
if (import.meta.main) {
  console.error(
    "error: no benchmarks yet; they arrive with the end-to-end issue (docs/benchmarks.md)",
  );
  Deno.exit(1);
}

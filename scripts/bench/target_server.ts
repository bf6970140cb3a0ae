/**
 * The loopback target server of the benchmarks, in a process of its own: answers every request
 * with a small 200 page. Usage: deno run --allow-net scripts/bench/target_server.ts PORT
 *
 * @module
 */
const port = Number(Deno.args[0] ?? 0);
const body = new TextEncoder().encode("<html><body>bench target: operational</body></html>");
Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, () => new Response(body, { headers: { "content-type": "text/html" } }));

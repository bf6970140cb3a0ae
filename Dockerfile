# availability-monitor and availability-writer from the official Deno image. One image, two
# programs: the command chooses (`deno task monitor TARGETS.tsv` or `deno task writer`), so the
# permissions are exactly those of the deno.json tasks.
FROM denoland/deno:2.9.6

WORKDIR /app
COPY deno.json deno.lock ./
COPY src/ src/
COPY example.tsv ./

# Fetch and cache the npm dependencies at build time, as the user that runs the programs.
RUN chown -R deno:deno /app
USER deno
RUN deno install --frozen --entrypoint src/monitor.ts src/writer.ts

CMD ["deno", "task", "monitor", "--help"]

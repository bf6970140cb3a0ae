/**
 * The status page, rendered on the server with hono's JSX: one section per target with its state,
 * a bar per day for 90 days coloured by uptime, a 24-hour latency sparkline (inline SVG) and the
 * recent incidents. Plain HTML and CSS: no JavaScript, readable on a phone, refreshed by a meta tag.
 *
 * @module
 */
import { raw } from "hono/html";
import type { FC } from "hono/jsx";
import type { DayBar, LatencyPoint, RecentIncident, TargetSummary } from "./read_store.ts";

/** What the page shows. */
export interface StatusPageProps {
  title: string;
  refreshSeconds: number;
  now: number;
  targets: TargetSummary[];
  counts: { total: number; down: number };
  page: { number: number; count: number };
  bars: Map<string, DayBar[]>;
  latency: Map<string, LatencyPoint[]>;
  incidents: (RecentIncident & { name: string })[];
}

const DAY_MS = 86_400_000;
const DAYS = 90;

/** The colour class of a day's uptime. */
export function uptimeClass(ok: number, checks: number): string {
  if (checks === 0) return "none";
  const ratio = ok / checks;
  if (ratio >= 0.999) return "good";
  if (ratio >= 0.99) return "fair";
  if (ratio >= 0.95) return "poor";
  return "bad";
}

/** A share as a percentage with enough digits to tell 99.9 from 100. */
export function percent(ratio: number | null): string {
  if (ratio === null) return "–";
  const value = ratio * 100;
  if (value === 100) return "100%";
  return `${value >= 99 ? value.toFixed(2) : value.toFixed(1)}%`;
}

/** "3 h 5 min", "42 s": a duration for people. */
export function humanDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function ms(value: number | null): string {
  return value === null ? "–" : `${Math.round(value)} ms`;
}

function utc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const STYLE = `
  :root { color-scheme: light dark; --good:#2f9e44; --fair:#94d82d; --poor:#f59f00; --bad:#e03131;
    --none:#ced4da; --muted:#6c757d; --line:#dee2e6; }
  * { box-sizing: border-box; }
  body { margin: 0 auto; max-width: 56rem; padding: 1rem; font: 16px/1.45 system-ui, sans-serif; }
  h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
  h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
  .banner { padding: .75rem 1rem; border-radius: .5rem; color: #fff; font-weight: 600; }
  .banner.up { background: var(--good); } .banner.down { background: var(--bad); }
  .meta, .url, .legend, footer { color: var(--muted); font-size: .85rem; }
  ol.targets, ol.incidents { list-style: none; padding: 0; margin: 0; }
  .target { border-bottom: 1px solid var(--line); padding: .9rem 0; }
  .head { display: flex; flex-wrap: wrap; gap: .25rem .75rem; align-items: baseline; }
  .name { font-weight: 600; overflow-wrap: anywhere; }
  .state { font-size: .8rem; font-weight: 700; padding: .05rem .45rem; border-radius: 1rem; color: #fff; }
  .state.up { background: var(--good); } .state.down { background: var(--bad); }
  .url { overflow-wrap: anywhere; }
  .bars { display: block; width: 100%; height: 2rem; margin: .35rem 0 .1rem; }
  .bars .good { fill: var(--good); } .bars .fair { fill: var(--fair); } .bars .poor { fill: var(--poor); }
  .bars .bad { fill: var(--bad); } .bars .none { fill: var(--none); }
  .axis { display: flex; justify-content: space-between; color: var(--muted); font-size: .75rem; }
  .figures { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; font-size: .85rem; margin-top: .3rem;
    align-items: center; }
  .spark { width: 8rem; height: 1.5rem; vertical-align: middle; }
  .spark polyline { fill: none; stroke: currentColor; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
  .incident { padding: .5rem 0; border-bottom: 1px solid var(--line); font-size: .9rem; }
  .ongoing { color: var(--bad); font-weight: 700; }
  nav.pages { margin: 1rem 0; display: flex; gap: 1rem; }
  @media (max-width: 30rem) { body { padding: .6rem; font-size: 15px; } }
`;

const Bars: FC<{ bars: DayBar[]; now: number }> = ({ bars, now }) => {
  const byDay = new Map(bars.map((b) => [b.day, b]));
  const today = now - (now % DAY_MS);
  // 90 elements per target, 50 targets a page: built as one string rather than JSX nodes, which
  // renders several times faster. Every value in it is a date or a number, nothing to escape.
  let rects = "";
  for (let i = 0; i < DAYS; i++) {
    const day = new Date(today - (DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10);
    const bar = byDay.get(day);
    const title = bar
      ? `${day}: ${percent(bar.ok / bar.checks)} of ${bar.checks} checks`
      : `${day}: no data`;
    rects += `<rect class="${uptimeClass(bar?.ok ?? 0, bar?.checks ?? 0)}" data-day="${day}" x="${
      i * 10 + 1
    }" width="8" height="40" rx="2"><title>${title}</title></rect>`;
  }
  return (
    <svg
      class="bars"
      viewBox={`0 0 ${DAYS * 10} 40`}
      preserveAspectRatio="none"
      role="img"
      aria-label={`Uptime per day for the last ${DAYS} days`}
    >
      {raw(rects)}
    </svg>
  );
};

const Sparkline: FC<{ points: LatencyPoint[] }> = ({ points }) => {
  if (points.length < 2) return <span class="meta">not enough data</span>;
  const max = Math.max(...points.map((p) => p.ms));
  const min = Math.min(...points.map((p) => p.ms));
  const span = max - min || 1;
  const coords = points.map((p, i) =>
    `${((i / (points.length - 1)) * 100).toFixed(1)},${
      (22 - ((p.ms - min) / span) * 20).toFixed(1)
    }`
  );
  return (
    <svg
      class="spark"
      viewBox="0 0 100 24"
      preserveAspectRatio="none"
      role="img"
      aria-label={`Mean latency per hour, ${Math.round(min)} to ${Math.round(max)} ms`}
    >
      <title>{`Mean latency per hour over 24 h: ${Math.round(min)}–${Math.round(max)} ms`}</title>
      <polyline points={coords.join(" ")} />
    </svg>
  );
};

const Target: FC<{ target: TargetSummary; bars: DayBar[]; latency: LatencyPoint[]; now: number }> =
  (
    { target, bars, latency, now },
  ) => {
    const checks = bars.reduce((n, b) => n + b.checks, 0);
    const ok = bars.reduce((n, b) => n + b.ok, 0);
    return (
      <li class="target" id={`target-${target.id}`} data-state={target.state}>
        <div class="head">
          <span class="name">{target.name}</span>
          <span class={`state ${target.state}`}>{target.state === "up" ? "Up" : "Down"}</span>
          <span class="meta">
            since {utc(target.since)}
            {target.state === "down" && target.last_check.error
              ? ` · ${target.last_check.error.kind}: ${target.last_check.error.message ?? ""}`
              : ""}
          </span>
        </div>
        <div class="url">{target.method} {target.url}</div>
        <Bars bars={bars} now={now} />
        <div class="axis">
          <span>{DAYS} days ago</span>
          <span class="uptime-90">{checks > 0 ? `${percent(ok / checks)} uptime` : "no data"}</span>
          <span>today</span>
        </div>
        <div class="figures">
          <span>24 h {percent(target.uptime["24h"])}</span>
          <span>7 d {percent(target.uptime["7d"])}</span>
          <span>30 d {percent(target.uptime["30d"])}</span>
          <span>
            {`p50 ${ms(target.latency_ms.p50)} · p95 ${ms(target.latency_ms.p95)}`}
          </span>
          <Sparkline points={latency} />
        </div>
      </li>
    );
  };

/** The whole page. */
export function StatusPage(props: StatusPageProps): ReturnType<FC> {
  const { counts, page } = props;
  const allUp = counts.down === 0;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta http-equiv="refresh" content={String(props.refreshSeconds)} />
        <title>{props.title}</title>
        <style>{STYLE}</style>
      </head>
      <body>
        <h1>{props.title}</h1>
        <p class={`banner ${allUp ? "up" : "down"}`} role="status">
          {counts.total === 0
            ? "No checks stored yet"
            : allUp
            ? `All ${counts.total} targets up`
            : `${counts.down} of ${counts.total} targets down`}
        </p>
        <p class="meta">
          Updated {utc(new Date(props.now).toISOString())}; refreshes every {props.refreshSeconds}
          {" "}
          s.
          <span class="legend">
            {" "}Bars: one per UTC day; green ≥ 99.9%, light green ≥ 99%, orange ≥ 95%, red below,
            grey no data.
          </span>
        </p>
        <h2>Targets</h2>
        <ol class="targets">
          {props.targets.map((target) => (
            <Target
              target={target}
              bars={props.bars.get(target.id) ?? []}
              latency={props.latency.get(target.id) ?? []}
              now={props.now}
            />
          ))}
        </ol>
        {page.count > 1
          ? (
            <nav class="pages" aria-label="Pages">
              {page.number > 1 ? <a href={`?page=${page.number - 1}`}>← Previous</a> : null}
              <span>Page {page.number} of {page.count}</span>
              {page.number < page.count ? <a href={`?page=${page.number + 1}`}>Next →</a> : null}
            </nav>
          )
          : null}
        <h2>Recent incidents</h2>
        {props.incidents.length === 0 ? <p class="meta">None recorded.</p> : (
          <ol class="incidents">
            {props.incidents.map((incident) => (
              <li class="incident">
                <strong>{incident.name}</strong> {incident.ended_at === null
                  ? <span class="ongoing">ongoing</span>
                  : <span>{humanDuration(incident.duration_s)}</span>}
                <div class="meta">
                  {utc(incident.started_at)}
                  {incident.ended_at ? ` – ${utc(incident.ended_at)}` : ""} ·{" "}
                  {incident.failed_checks} failed check{incident.failed_checks === 1 ? "" : "s"} ·
                  {" "}
                  {incident.error_kinds.join(", ")}
                  {incident.first_error ? ` · ${incident.first_error}` : ""}
                </div>
              </li>
            ))}
          </ol>
        )}
        <footer>
          <p>
            JSON:{" "}
            <a href="api/targets">api/targets</a>. Times in UTC. Served by availability-writer.
          </p>
        </footer>
      </body>
    </html>
  );
}

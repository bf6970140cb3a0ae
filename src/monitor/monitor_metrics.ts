/**
 * The monitor's Prometheus metrics: checks by result and error kind, per-phase durations, schedule
 * lag, and per target the blackbox-exporter style gauges (`probe_success`,
 * `probe_duration_seconds`, `probe_http_status_code`, `probe_ssl_earliest_cert_expiry`) of its
 * latest check.
 *
 * @module
 */
import type { CheckResult } from "../check/check_result.ts";
import { MetricsRegistry } from "../metrics/metrics_registry.ts";

const PHASE_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LAG_BOUNDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 10];
const PHASES = ["dns", "connect", "tls", "ttfb", "total"] as const;
const TARGET_LABELS = ["target_id", "name", "url"] as const;

/** Live figures the metrics read at each scrape. */
export interface MonitorGaugeSources {
  inFlight(): number;
  targets(): number;
  /** Results waiting for Kafka, dropped and sent so far (zeros with --stdout). */
  publisher(): { buffered: number; dropped: number; sent: number };
}

interface LatestCheck {
  labels: readonly [string, string, string];
  ok: boolean;
  seconds: number;
  status: number;
  certExpiry: number | null;
}

/** Records checks into a registry. */
export interface MonitorMetrics {
  readonly registry: MetricsRegistry;
  /** Records one finished check and when it was due. */
  observe(result: CheckResult, scheduledAt: number): void;
  /** Drops the per-target series of targets no longer checked. */
  keepTargets(ids: ReadonlySet<string>): void;
}

/** Creates the monitor's metrics; `sources` are read at each scrape. */
export function createMonitorMetrics(sources: MonitorGaugeSources): MonitorMetrics {
  const registry = new MetricsRegistry();
  const checks = registry.counter(
    "availability_monitor_checks_total",
    "Checks finished, by result (ok or failed) and error kind (empty when ok)",
    ["result", "error_kind"],
  );
  const phases = registry.histogram(
    "availability_monitor_check_phase_seconds",
    "Duration of each phase of a check (dns, connect, tls, ttfb, total); phases that did not happen are not observed",
    PHASE_BOUNDS,
    ["phase"],
  );
  const lag = registry.histogram(
    "availability_monitor_schedule_lag_seconds",
    "How late a check started compared with its planned slot",
    LAG_BOUNDS,
  );
  const inFlight = registry.gauge(
    "availability_monitor_checks_in_flight",
    "Checks running now",
  );
  const targets = registry.gauge("availability_monitor_targets", "Targets scheduled");
  const buffered = registry.gauge(
    "availability_monitor_results_buffered",
    "Results waiting to be sent to Kafka",
  );
  const dropped = registry.counter(
    "availability_monitor_results_dropped_total",
    "Results dropped because the buffer was full while Kafka was unavailable",
  );
  const sent = registry.counter(
    "availability_monitor_results_sent_total",
    "Results delivered: acknowledged by Kafka, or written with --stdout",
  );
  // The latest check of each target, read by the probe_* gauges at each scrape: one map entry per
  // target instead of four labelled series, and no label text built per check.
  const latest = new Map<string, LatestCheck>();
  const perTarget = (
    name: string,
    help: string,
    value: (check: LatestCheck) => number | null,
  ) =>
    registry.seriesGauge(name, help, TARGET_LABELS, function* () {
      for (const check of latest.values()) {
        const v = value(check);
        if (v !== null) yield [check.labels, v] as const;
      }
    });
  perTarget(
    "probe_success",
    "Whether the target's latest check passed (1) or failed (0)",
    (c) => c.ok ? 1 : 0,
  );
  perTarget(
    "probe_duration_seconds",
    "Total duration of the target's latest check",
    (c) => c.seconds,
  );
  perTarget(
    "probe_http_status_code",
    "HTTP status of the target's latest check (0 without a response)",
    (c) => c.status,
  );
  perTarget(
    "probe_ssl_earliest_cert_expiry",
    "Expiry of the target's TLS certificate as a Unix timestamp (https targets with a handshake)",
    (c) => c.certExpiry,
  );
  const phaseSeries = PHASES.map((phase) => [phase, phases.bind({ phase })] as const);
  const lagSeries = lag.bind();
  const okSeries = checks.bind({ result: "ok", error_kind: "" });
  const failedSeries = new Map<string, { inc(by?: number): void }>();

  registry.onCollect(() => {
    inFlight.set(undefined, sources.inFlight());
    targets.set(undefined, sources.targets());
    const p = sources.publisher();
    buffered.set(undefined, p.buffered);
    dropped.setTotal(undefined, p.dropped);
    sent.setTotal(undefined, p.sent);
  });

  return {
    registry,
    observe(result, scheduledAt) {
      if (result.ok) okSeries.inc();
      else {
        const kind = result.error?.kind ?? "";
        let series = failedSeries.get(kind);
        if (!series) {
          series = checks.bind({ result: "failed", error_kind: kind });
          failedSeries.set(kind, series);
        }
        series.inc();
      }
      for (const [phase, series] of phaseSeries) {
        const ms = result[`${phase}_ms`];
        if (ms !== null) series.observe(ms / 1000);
      }
      lagSeries.observe(Math.max(0, Date.parse(result.started_at) - scheduledAt) / 1000);
      let check = latest.get(result.target_id);
      if (!check || check.labels[1] !== result.name || check.labels[2] !== result.url) {
        check = {
          labels: [result.target_id, result.name, result.url],
          ok: false,
          seconds: 0,
          status: 0,
          certExpiry: null,
        };
        latest.set(result.target_id, check);
      }
      check.ok = result.ok;
      check.seconds = result.total_ms / 1000;
      check.status = result.status ?? 0;
      check.certExpiry = result.tls_expires_at ? Date.parse(result.tls_expires_at) / 1000 : null;
    },
    keepTargets(ids) {
      for (const id of latest.keys()) if (!ids.has(id)) latest.delete(id);
    },
  };
}

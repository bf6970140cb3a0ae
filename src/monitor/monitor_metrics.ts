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
  const success = registry.gauge(
    "probe_success",
    "Whether the target's latest check passed (1) or failed (0)",
    TARGET_LABELS,
  );
  const duration = registry.gauge(
    "probe_duration_seconds",
    "Total duration of the target's latest check",
    TARGET_LABELS,
  );
  const status = registry.gauge(
    "probe_http_status_code",
    "HTTP status of the target's latest check (0 without a response)",
    TARGET_LABELS,
  );
  const expiry = registry.gauge(
    "probe_ssl_earliest_cert_expiry",
    "Expiry of the target's TLS certificate as a Unix timestamp (https targets with a handshake)",
    TARGET_LABELS,
  );
  const perTarget = [success, duration, status, expiry];
  const labelsOf = new Map<string, Record<string, string>>();

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
      checks.inc({ result: result.ok ? "ok" : "failed", error_kind: result.error?.kind ?? "" });
      for (const phase of PHASES) {
        const ms = result[`${phase}_ms`];
        if (ms !== null) phases.observe({ phase }, ms / 1000);
      }
      lag.observe(undefined, Math.max(0, Date.parse(result.started_at) - scheduledAt) / 1000);
      const labels = { target_id: result.target_id, name: result.name, url: result.url };
      const previous = labelsOf.get(result.target_id);
      if (previous && (previous.name !== labels.name || previous.url !== labels.url)) {
        for (const gauge of perTarget) gauge.remove(previous);
      }
      labelsOf.set(result.target_id, labels);
      success.set(labels, result.ok ? 1 : 0);
      duration.set(labels, result.total_ms / 1000);
      status.set(labels, result.status ?? 0);
      if (result.tls_expires_at) expiry.set(labels, Date.parse(result.tls_expires_at) / 1000);
      else expiry.remove(labels);
    },
    keepTargets(ids) {
      for (const [id, labels] of labelsOf) {
        if (ids.has(id)) continue;
        for (const gauge of perTarget) gauge.remove(labels);
        labelsOf.delete(id);
      }
    },
  };
}

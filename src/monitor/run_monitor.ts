/**
 * The monitor: schedules the targets, checks them, hands every result to a sink, reloads the
 * targets file on request, and on abort stops scheduling, lets running checks finish and flushes.
 *
 * @module
 */
import { type CheckOptions, checkTarget } from "../check/check_target.ts";
import type { CheckResult } from "../check/check_result.ts";
import { RegexRunner } from "../check/regex_runner.ts";
import type { Logger } from "../log/logger.ts";
import { type ScheduledCheck, Scheduler } from "../schedule/scheduler.ts";
import { formatTargetsError } from "../targets/parse_tsv.ts";
import type { Target } from "../targets/target.ts";
import { loadTargets } from "./load_targets.ts";
import type { MonitorConfig } from "./monitor_config.ts";
import { createMonitorMetrics, type MonitorMetrics } from "./monitor_metrics.ts";

/** Where results go: Kafka or stdout. */
export interface ResultSink {
  publish(result: CheckResult): void;
  /** Delivers what is pending (waiting at most `timeoutMs`) and releases the sink; returns what was not delivered. */
  close(timeoutMs: number): Promise<number>;
  /** Results waiting, dropped and delivered so far (a sink without a buffer has none). */
  stats?(): { buffered: number; dropped: number; sent: number };
  /** Why the sink cannot deliver now, or null when it can (for /readyz). */
  problem?(): string | null;
}

/** Collaborators of the monitor. */
export interface MonitorDeps {
  sink: ResultSink;
  logger: Logger;
  readTextFile: (path: string) => Promise<string>;
  /** PEM of extra CAs for https targets, already read. */
  targetsCa?: string;
  now?: () => number;
}

/** Counters of a monitor run. */
export interface MonitorStats {
  checks: number;
  ok: number;
  failed: number;
}

/** A monitor (see the module comment). */
export interface Monitor {
  /** Runs until `signal` aborts (or, with --once, until every target was checked once). */
  run(targets: Target[], signal: AbortSignal): Promise<{ undelivered: number }>;
  /** Reloads the targets file; with errors, logs them and keeps the running targets. */
  reload(reason: string): Promise<boolean>;
  readonly stats: MonitorStats;
  readonly scheduler: Scheduler;
  readonly metrics: MonitorMetrics;
}

const FLUSH_TIMEOUT_MS = 10_000;

/** Wires a monitor from its config and collaborators. */
export function createMonitor(config: MonitorConfig, deps: MonitorDeps): Monitor {
  const now = deps.now ?? Date.now;
  const { logger, sink } = deps;
  const stats: MonitorStats = { checks: 0, ok: 0, failed: 0 };
  const checkOptions: CheckOptions = {
    location: config.location,
    monitor: config.instance,
    maxBodyBytes: config.maxBodyBytes,
    maxRedirects: config.maxRedirects,
    ca: deps.targetsCa,
    now,
  };
  const regexRunner = new RegexRunner(2);
  checkOptions.regexRunner = regexRunner;
  const lastOk = new Map<string, boolean>();
  let wake: (() => void) | undefined;

  async function runCheck({ target, scheduledAt }: ScheduledCheck): Promise<void> {
    const result = await checkTarget(target, scheduledAt, checkOptions);
    stats.checks++;
    metrics.observe(result, scheduledAt);
    if (result.ok) stats.ok++;
    else stats.failed++;
    sink.publish(result);
    const before = lastOk.get(target.id);
    lastOk.set(target.id, result.ok);
    if (before !== result.ok && (before !== undefined || !result.ok)) {
      const fields = {
        target: target.name,
        url: target.url,
        status: result.status,
        error: result.error,
      };
      if (result.ok) logger.info("target is up", fields);
      else logger.warn("target is down", fields);
    }
    logger.debug("check", {
      target: target.name,
      ok: result.ok,
      status: result.status,
      total_ms: result.total_ms,
      lag_ms: Date.parse(result.started_at) - scheduledAt,
    });
  }

  const scheduler = new Scheduler(runCheck, { maxInFlight: config.maxInFlight });
  const metrics = createMonitorMetrics({
    inFlight: () => scheduler.inFlight,
    targets: () => scheduler.size,
    publisher: () => sink.stats?.() ?? { buffered: 0, dropped: 0, sent: stats.checks },
  });

  async function reload(reason: string): Promise<boolean> {
    const { targets, errors } = await loadTargets(
      config.targetsFile,
      config.shard,
      deps.readTextFile,
    );
    if (errors.length > 0) {
      for (const error of errors) logger.error(`reload: ${formatTargetsError(error)}`);
      logger.warn("reload failed; keeping the running targets", {
        reason,
        errors: errors.length,
        targets: scheduler.size,
      });
      return false;
    }
    const changes = scheduler.setTargets(targets, now());
    const active = new Set(targets.map((t) => t.id));
    for (const id of lastOk.keys()) if (!active.has(id)) lastOk.delete(id);
    metrics.keepTargets(active);
    logger.info("targets reloaded", { reason, targets: targets.length, ...changes });
    wake?.();
    return true;
  }

  async function runOnce(targets: Target[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const target = targets[next++]!;
        await runCheck({ target, scheduledAt: now() });
      }
    };
    await Promise.all(Array.from({ length: Math.min(config.maxInFlight, targets.length) }, worker));
  }

  async function run(targets: Target[], signal: AbortSignal): Promise<{ undelivered: number }> {
    logger.info("monitor started", {
      targets: targets.length,
      location: config.location,
      instance: config.instance,
      shard: config.shard ? `${config.shard.index + 1}/${config.shard.count}` : null,
      once: config.once,
    });
    if (config.once) {
      await runOnce(targets);
    } else {
      scheduler.setTargets(targets, now());
      while (!signal.aborted) {
        const next = scheduler.tick(now());
        await sleep(Math.min(Math.max(next - now(), 0), 60_000), signal);
      }
      logger.info("stopping: no new checks; waiting for the ones running", {
        in_flight: scheduler.inFlight,
      });
      scheduler.clearWaiting();
      await scheduler.drained();
    }
    regexRunner.close();
    const undelivered = await sink.close(FLUSH_TIMEOUT_MS);
    if (undelivered > 0) {
      logger.error("results not delivered before exit", { undelivered });
    }
    logger.info("monitor stopped", { ...stats, skipped: scheduler.stats.skipped });
    return { undelivered };
  }

  function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
      wake = done;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      }
    });
  }

  return { run, reload, stats, scheduler, metrics };
}

/**
 * Counters, gauges and histograms with labels, rendered in the Prometheus text exposition format
 * (version 0.0.4). Small on purpose: an observation is a map lookup and a few additions, so the
 * monitor can record every check without measurable cost. Values read from elsewhere (a queue
 * length, a scheduler count) are set by `onCollect` callbacks just before each render.
 *
 * @module
 */

type LabelValues = Record<string, string | number>;

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  labelNames: readonly string[];
  render(lines: string[]): void;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Throws a TypeError for a name Prometheus would not accept. */
function checkNames(name: string, labelNames: readonly string[]): void {
  if (!NAME.test(name)) throw new TypeError(`Invalid metric name "${name}"`);
  for (const label of labelNames) {
    if (!LABEL.test(label) || label === "le") {
      throw new TypeError(`Invalid label name "${label}" of ${name}`);
    }
  }
}

/** `a="x",b="y"` for label names and their values, escaped. */
function formatLabels(names: readonly string[], values: readonly string[]): string {
  return names.map((name, i) => `${name}="${escapeLabel(values[i] ?? "")}"`).join(",");
}

function header(lines: string[], name: string, help: string, type: string): void {
  lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
  lines.push(`# TYPE ${name} ${type}`);
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

abstract class Metric<S> implements Family {
  abstract readonly type: "counter" | "gauge" | "histogram";
  protected readonly series = new Map<string, { labels: string; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    checkNames(name, labelNames);
  }

  protected abstract fresh(): S;

  #values(labels: LabelValues | undefined): string[] {
    return this.labelNames.map((name) => String(labels?.[name] ?? ""));
  }

  protected entry(labels: LabelValues | undefined): S {
    const values = this.#values(labels);
    const key = values.join("\u0000");
    let found = this.series.get(key);
    if (!found) {
      found = { labels: formatLabels(this.labelNames, values), state: this.fresh() };
      this.series.set(key, found);
    }
    return found.state;
  }

  /** Forgets the series with these labels (a target that was removed, say). */
  remove(labels: LabelValues): void {
    this.series.delete(this.#values(labels).join("\u0000"));
  }

  /** Forgets every series. */
  clear(): void {
    this.series.clear();
  }

  render(lines: string[]): void {
    header(lines, this.name, this.help, this.type);
    for (const { labels, state } of this.series.values()) this.renderSeries(lines, labels, state);
  }

  protected abstract renderSeries(lines: string[], labels: string, state: S): void;
}

/** A value that only goes up. */
export class Counter extends Metric<{ value: number }> {
  readonly type = "counter";
  protected fresh(): { value: number } {
    return { value: 0 };
  }
  /** Adds `by` (default 1). */
  inc(labels?: LabelValues, by = 1): void {
    this.entry(labels).value += by;
  }
  /** The series for fixed labels, to count without looking them up again on a hot path. */
  bind(labels?: LabelValues): { inc(by?: number): void } {
    const state = this.entry(labels);
    return {
      inc(by = 1) {
        state.value += by;
      },
    };
  }
  /** Sets the running total kept elsewhere (a count another component owns). */
  setTotal(labels: LabelValues | undefined, total: number): void {
    this.entry(labels).value = total;
  }
  protected renderSeries(lines: string[], labels: string, state: { value: number }): void {
    lines.push(`${this.name}${labels ? `{${labels}}` : ""} ${formatValue(state.value)}`);
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric<{ value: number }> {
  readonly type = "gauge";
  protected fresh(): { value: number } {
    return { value: 0 };
  }
  /** Sets the value. */
  set(labels: LabelValues | undefined, value: number): void {
    this.entry(labels).value = value;
  }
  protected renderSeries(lines: string[], labels: string, state: { value: number }): void {
    lines.push(`${this.name}${labels ? `{${labels}}` : ""} ${formatValue(state.value)}`);
  }
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram extends Metric<HistogramState> {
  readonly type = "histogram";
  readonly #bounds: readonly number[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
  ) {
    super(name, help, labelNames);
    if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) {
      throw new TypeError(`Buckets of ${name} must increase`);
    }
    this.#bounds = bounds;
  }

  protected fresh(): HistogramState {
    return { counts: new Array(this.#bounds.length).fill(0), sum: 0, count: 0 };
  }

  /** Records one observation. */
  observe(labels: LabelValues | undefined, value: number): void {
    this.#record(this.entry(labels), value);
  }

  /** The series for fixed labels, to observe without looking them up again on a hot path. */
  bind(labels?: LabelValues): { observe(value: number): void } {
    const state = this.entry(labels);
    return { observe: (value) => this.#record(state, value) };
  }

  #record(state: HistogramState, value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) state.counts[i]!++;
    state.sum += value;
    state.count++;
  }

  protected renderSeries(lines: string[], labels: string, state: HistogramState): void {
    const prefix = labels ? `${labels},` : "";
    let cumulative = 0;
    this.#bounds.forEach((bound, i) => {
      cumulative += state.counts[i]!;
      lines.push(`${this.name}_bucket{${prefix}le="${formatValue(bound)}"} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket{${prefix}le="+Inf"} ${state.count}`);
    const suffix = labels ? `{${labels}}` : "";
    lines.push(`${this.name}_sum${suffix} ${formatValue(state.sum)}`);
    lines.push(`${this.name}_count${suffix} ${state.count}`);
  }
}

/** A gauge whose series are read from elsewhere at each render (one per target, say). */
export class SeriesGauge implements Family {
  readonly type = "gauge";

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly collect: () => Iterable<readonly [readonly string[], number]>,
  ) {
    checkNames(name, labelNames);
  }

  render(lines: string[]): void {
    header(lines, this.name, this.help, this.type);
    for (const [values, value] of this.collect()) {
      lines.push(`${this.name}{${formatLabels(this.labelNames, values)}} ${formatValue(value)}`);
    }
  }
}

/** The metrics of one process. */
export class MetricsRegistry {
  readonly #families: Family[] = [];
  readonly #collectors: (() => void | Promise<void>)[] = [];

  #add<T extends Family>(metric: T): T {
    if (this.#families.some((f) => f.name === metric.name)) {
      throw new TypeError(`Metric ${metric.name} is registered twice`);
    }
    this.#families.push(metric);
    return metric;
  }

  /** Registers a counter; its name should end in `_total`. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }

  /** Registers a gauge. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#add(new Gauge(name, help, labelNames));
  }

  /** Registers a histogram with upper bucket bounds (`+Inf` is implied). */
  histogram(
    name: string,
    help: string,
    bounds: readonly number[],
    labelNames: readonly string[] = [],
  ): Histogram {
    return this.#add(new Histogram(name, help, labelNames, bounds));
  }

  /** Registers a gauge whose series `collect` yields (label values in `labelNames` order) at each render. */
  seriesGauge(
    name: string,
    help: string,
    labelNames: readonly string[],
    collect: () => Iterable<readonly [readonly string[], number]>,
  ): SeriesGauge {
    return this.#add(new SeriesGauge(name, help, labelNames, collect));
  }

  /** Runs `collect` before every render, to set values read from elsewhere. */
  onCollect(collect: () => void | Promise<void>): void {
    this.#collectors.push(collect);
  }

  /** The exposition text; a collector that fails leaves its metrics as they were. */
  async render(): Promise<string> {
    await Promise.all(this.#collectors.map(async (collect) => {
      try {
        await collect();
      } catch {
        // The stale values are still the best answer; /readyz reports the failure.
      }
    }));
    const lines: string[] = [];
    for (const family of this.#families) family.render(lines);
    return `${lines.join("\n")}\n`;
  }
}
